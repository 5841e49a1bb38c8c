// struct seccomp_data on the host side, and its encoding as the 16 32-bit words a filter can
// load. 64-bit fields (instruction_pointer, args) are BigInt end to end: they never pass
// through a JS number. Where the two halves of a 64-bit field sit depends on the byte order of
// the machine the filter runs on (docs/kernel.md section 2), not on the host's.
import { AUDIT_ARCH_LE, type Endian } from "../syscalls/arches.js";
import { DATA_SIZE } from "./contract.generated.js";

export interface SeccompData {
  /** seccomp_data.nr: the low 32 bits of the syscall-number register (int). */
  nr: number;
  /** seccomp_data.arch: an AUDIT_ARCH_* token. */
  arch: number;
  instructionPointer?: bigint;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly bigint[];
}

/** The 32-bit words of one seccomp_data (16). */
export const DATA_WORDS = DATA_SIZE / 4;

/** The byte order implied by an AUDIT_ARCH token (its LE flag). */
export function endianOfToken(token: number): Endian {
  return (token & AUDIT_ARCH_LE) !== 0 ? "le" : "be";
}

/**
 * Writes one seccomp_data as 16 words into `out` at word index `at`. Word w is what
 * `ld [4*w]` returns on a machine of byte order `endian`.
 */
export function encodeData(d: SeccompData, out: Uint32Array, at = 0, endian: Endian = endianOfToken(d.arch)): void {
  out[at] = d.nr >>> 0;
  out[at + 1] = d.arch >>> 0;
  put64(out, at + 2, d.instructionPointer ?? 0n, endian);
  for (let i = 0; i < 6; i++) put64(out, at + 4 + 2 * i, d.args?.[i] ?? 0n, endian);
}

function put64(out: Uint32Array, w: number, v: bigint, endian: Endian): void {
  const x = BigInt.asUintN(64, v);
  const lo = Number(x & 0xffffffffn);
  const hi = Number(x >> 32n);
  if (endian === "le") {
    out[w] = lo;
    out[w + 1] = hi;
  } else {
    out[w] = hi;
    out[w + 1] = lo;
  }
}

/** The inverse of encodeData. */
export function decodeData(words: Uint32Array, at = 0, endian?: Endian): SeccompData {
  const arch = words[at + 1];
  const e = endian ?? endianOfToken(arch);
  const get = (w: number): bigint => {
    const a = BigInt(words[at + w]);
    const b = BigInt(words[at + w + 1]);
    return e === "le" ? (b << 32n) | a : (a << 32n) | b;
  };
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(get(4 + 2 * i));
  return { nr: words[at] | 0, arch, instructionPointer: get(2), args };
}

/** A batch of inputs, already encoded: 16 words per input. */
export class InputBatch {
  readonly words: Uint32Array;
  constructor(readonly count: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array(count * DATA_WORDS);
    if (this.words.length !== count * DATA_WORDS) throw new RangeError("batch size mismatch");
  }
  static of(items: readonly SeccompData[], endian?: Endian): InputBatch {
    const b = new InputBatch(items.length);
    items.forEach((d, i) => encodeData(d, b.words, i * DATA_WORDS, endian));
    return b;
  }
  set(i: number, d: SeccompData, endian?: Endian): void {
    encodeData(d, this.words, i * DATA_WORDS, endian);
  }
  get(i: number, endian?: Endian): SeccompData {
    return decodeData(this.words, i * DATA_WORDS, endian);
  }
}
