// A plain-JS classic-BPF interpreter for the bench: the straightforward switch loop one would
// write in JavaScript, with the kernel's run-time semantics (docs/kernel.md section 10) for
// the 41 seccomp opcodes. Programs are assumed accepted by the kernel's checker (the engine has
// checked them before the bench runs them), so there are no bounds checks.
//
// Program: the canonical little-endian sock_filter bytes, decoded once into typed arrays.
// Inputs: 16 u32 words per seccomp_data (what `ld [4*w]` loads), back to back.

/** Decodes sock_filter bytes (code u16 LE, jt u8, jf u8, k u32 LE) into parallel arrays. */
export function decode(bytes) {
  const n = bytes.length >>> 3;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = new Uint16Array(n), jt = new Uint8Array(n), jf = new Uint8Array(n), k = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    code[i] = v.getUint16(i * 8, true);
    jt[i] = v.getUint8(i * 8 + 2);
    jf[i] = v.getUint8(i * 8 + 3);
    k[i] = v.getUint32(i * 8 + 4, true);
  }
  return { code, jt, jf, k, length: n };
}

const M = new Uint32Array(16); // scratch memory

/** Runs the program on the input at word offset `base`; returns the 32-bit result. */
export function run(p, words, base) {
  const { code, jt, jf, k } = p;
  let A = 0, X = 0, pc = 0;
  for (;;) {
    const i = pc++;
    const K = k[i];
    switch (code[i]) {
      case 0x20: A = words[base + (K >>> 2)]; break; // ld [k]
      case 0x80: A = 64; break; // ld len
      case 0x81: X = 64; break; // ldx len
      case 0x00: A = K; break; // ld #k
      case 0x01: X = K; break; // ldx #k
      case 0x60: A = M[K]; break; // ld M[k]
      case 0x61: X = M[K]; break; // ldx M[k]
      case 0x02: M[K] = A; break; // st
      case 0x03: M[K] = X; break; // stx
      case 0x04: A = (A + K) >>> 0; break;
      case 0x14: A = (A - K) >>> 0; break;
      case 0x24: A = Math.imul(A, K) >>> 0; break;
      case 0x34: A = Math.floor(A / K) >>> 0; break; // k != 0 (load-time rule)
      case 0x44: A = (A | K) >>> 0; break;
      case 0x54: A = (A & K) >>> 0; break;
      case 0x64: A = (A << K) >>> 0; break; // k < 32 (load-time rule)
      case 0x74: A = A >>> K; break;
      case 0xa4: A = (A ^ K) >>> 0; break;
      case 0x0c: A = (A + X) >>> 0; break;
      case 0x1c: A = (A - X) >>> 0; break;
      case 0x2c: A = Math.imul(A, X) >>> 0; break;
      case 0x3c: if (X === 0) return 0; A = Math.floor(A / X) >>> 0; break; // div by 0 kills
      case 0x4c: A = (A | X) >>> 0; break;
      case 0x5c: A = (A & X) >>> 0; break;
      case 0x6c: A = (A << (X & 31)) >>> 0; break;
      case 0x7c: A = A >>> (X & 31); break;
      case 0xac: A = (A ^ X) >>> 0; break;
      case 0x84: A = (0 - A) >>> 0; break; // neg
      case 0x07: X = A; break; // tax
      case 0x87: A = X; break; // txa
      case 0x05: pc += K; break; // ja
      case 0x15: pc += A === K ? jt[i] : jf[i]; break;
      case 0x25: pc += A > K ? jt[i] : jf[i]; break;
      case 0x35: pc += A >= K ? jt[i] : jf[i]; break;
      case 0x45: pc += (A & K) !== 0 ? jt[i] : jf[i]; break;
      case 0x1d: pc += A === X ? jt[i] : jf[i]; break;
      case 0x2d: pc += A > X ? jt[i] : jf[i]; break;
      case 0x3d: pc += A >= X ? jt[i] : jf[i]; break;
      case 0x4d: pc += (A & X) !== 0 ? jt[i] : jf[i]; break;
      case 0x06: return K; // ret #k
      case 0x16: return A; // ret a
      default: return 0; // unreachable for an accepted program
    }
  }
}

/** The same loop, also counting executed instructions into `counts[at]`. Used to verify. */
export function runCounting(p, words, base, counts, at) {
  const { code, jt, jf, k } = p;
  let A = 0, X = 0, pc = 0, n = 0;
  for (;;) {
    const i = pc++;
    n++;
    const K = k[i];
    switch (code[i]) {
      case 0x20: A = words[base + (K >>> 2)]; break;
      case 0x80: A = 64; break;
      case 0x81: X = 64; break;
      case 0x00: A = K; break;
      case 0x01: X = K; break;
      case 0x60: A = M[K]; break;
      case 0x61: X = M[K]; break;
      case 0x02: M[K] = A; break;
      case 0x03: M[K] = X; break;
      case 0x04: A = (A + K) >>> 0; break;
      case 0x14: A = (A - K) >>> 0; break;
      case 0x24: A = Math.imul(A, K) >>> 0; break;
      case 0x34: A = Math.floor(A / K) >>> 0; break;
      case 0x44: A = (A | K) >>> 0; break;
      case 0x54: A = (A & K) >>> 0; break;
      case 0x64: A = (A << K) >>> 0; break;
      case 0x74: A = A >>> K; break;
      case 0xa4: A = (A ^ K) >>> 0; break;
      case 0x0c: A = (A + X) >>> 0; break;
      case 0x1c: A = (A - X) >>> 0; break;
      case 0x2c: A = Math.imul(A, X) >>> 0; break;
      case 0x3c: if (X === 0) { counts[at] = n; return 0; } A = Math.floor(A / X) >>> 0; break;
      case 0x4c: A = (A | X) >>> 0; break;
      case 0x5c: A = (A & X) >>> 0; break;
      case 0x6c: A = (A << (X & 31)) >>> 0; break;
      case 0x7c: A = A >>> (X & 31); break;
      case 0xac: A = (A ^ X) >>> 0; break;
      case 0x84: A = (0 - A) >>> 0; break;
      case 0x07: X = A; break;
      case 0x87: A = X; break;
      case 0x05: pc += K; break;
      case 0x15: pc += A === K ? jt[i] : jf[i]; break;
      case 0x25: pc += A > K ? jt[i] : jf[i]; break;
      case 0x35: pc += A >= K ? jt[i] : jf[i]; break;
      case 0x45: pc += (A & K) !== 0 ? jt[i] : jf[i]; break;
      case 0x1d: pc += A === X ? jt[i] : jf[i]; break;
      case 0x2d: pc += A > X ? jt[i] : jf[i]; break;
      case 0x3d: pc += A >= X ? jt[i] : jf[i]; break;
      case 0x4d: pc += (A & X) !== 0 ? jt[i] : jf[i]; break;
      case 0x06: counts[at] = n; return K;
      case 0x16: counts[at] = n; return A;
      default: counts[at] = n; return 0;
    }
  }
}

/** Runs the program on `n` inputs; results into `out`, instruction counts into `counts` if given. */
export function runBatch(p, words, n, out, counts) {
  if (counts) {
    for (let i = 0; i < n; i++) out[i] = runCounting(p, words, i << 4, counts, i);
  } else {
    for (let i = 0; i < n; i++) out[i] = run(p, words, i << 4);
  }
}
