// Decoding one strace argument (bytes) into the 64-bit value the kernel saw, or "unknown".
//
// Known: numbers (decimal, 0x hex, 0-prefixed octal, negative), NULL, symbolic constants of the
// ABI and their `|` combinations (`O_RDONLY|O_CLOEXEC`, `0x1200000|SIGCHLD`), shifts
// (`FUTEX_OP_SET<<28`), `A or B` alternatives (`SNDCTL_TMR_START or TCSETS`), `makedev(…)`,
// `_IOC(…)`, a `key=` prefix (`flags=…`), `-y` decorations (`3</etc/passwd>`) and trailing
// comments (`0x7ffd… /* 39 vars */`).
// Unknown: strings, arrays, structs, signal sets, `=>` in/out pairs, anything with a name the
// ABI's table lacks (see constants.ts): strace hides the pointer value of everything it
// decodes, so the filter saw a number the trace does not show.
//
// Negative decimals are sign-extended to 64 bits (what libc puts in the register for an int
// such as AT_FDCWD or fd -1); strace prints int arguments from their low 32 bits, so the high
// half of an int argument is an assumption, not an observation (docs: replay limits).
import type { ArchInfo } from "../syscalls/arches.js";
import { constantTable, iocLayout, ioc } from "./constants.js";

const TWO32 = 4294967296;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isIdent(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}
function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Latin-1 text of b[s..e) (names and short tokens; never used for whole lines in the hot path). */
export function latin1(b: Uint8Array, s: number, e: number): string {
  // Buffer's native latin1Slice (untyped in @types/node) is several times faster than a loop.
  const fast = (b as unknown as { latin1Slice?: (s: number, e: number) => string }).latin1Slice;
  if (fast) return fast.call(b, s, e);
  let out = "";
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i]);
  return out;
}

/**
 * Decodes values for one ABI. Results land in `lo`/`hi` (unsigned 32-bit halves); the parse
 * functions return the index after what they consumed, or -1 when the text is not a value
 * this module can decode exactly.
 */
export class ValueDecoder {
  lo = 0;
  hi = 0;
  private readonly consts: ReadonlyMap<string, number>;
  private readonly layout;
  /** Identifier bytes hash -> (bytes, value or undefined when unknown): no string per lookup. */
  private readonly byHash = new Map<number, { bytes: Buffer; value: number | undefined }[]>();
  /**
   * Whole symbolic arguments (`MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE`) by a hash of their bytes:
   * a trace repeats a few dozen of them millions of times.
   */
  private readonly argCache = new Map<number, { bytes: Buffer; known: boolean; lo: number; hi: number }[]>();
  private argCacheSize = 0;

  constructor(readonly arch: ArchInfo) {
    this.consts = constantTable(arch);
    this.layout = iocLayout(arch);
  }

  /** Sets lo/hi from a JS number (exact integers only; negatives sign-extend to 64 bits). */
  private setNumber(v: number): void {
    if (v >= 0) {
      this.lo = v % TWO32;
      this.hi = Math.floor(v / TWO32) >>> 0;
    } else {
      const lo = v % TWO32;
      this.lo = (lo === 0 ? 0 : lo + TWO32) >>> 0;
      this.hi = (Math.floor(v / TWO32) + TWO32) >>> 0;
    }
  }

  private setBig(v: bigint): void {
    const x = BigInt.asUintN(64, v);
    this.lo = Number(x & 0xffffffffn);
    this.hi = Number(x >> 32n);
  }

  /**
   * One whole argument b[s..e) (already split at top-level commas). True when known, with the
   * value in lo/hi.
   */
  decodeArg(b: Uint8Array, s: number, e: number): boolean {
    while (s < e && b[s] === 0x20) s++;
    while (e > s && b[e - 1] === 0x20) e--;
    if (s >= e) return false;
    const c = b[s];
    // Quick rejects: strings, arrays, structs, signal sets, strace's "..." and comments.
    if (c === 0x22 || c === 0x5b || c === 0x7b || c === 0x7e || c === 0x2e || c === 0x2f || c === 0x3c) return false;
    // key=value (clone's flags=…, child_stack=…): the value is what counts.
    if (c >= 0x61 && c <= 0x7a) {
      let i = s;
      while (i < e && isIdent(b[i])) i++;
      if (i < e && b[i] === 0x3d) {
        s = i + 1;
        if (s >= e) return false;
      }
    }
    if (c >= 0x41 && c <= 0x5a) return this.symbolic(b, s, e);
    const end = this.expr(b, s, e);
    if (end < 0) return false;
    return this.trailerOk(b, end, e);
  }

  /** A symbolic argument, through the whole-argument cache. */
  private symbolic(b: Uint8Array, s: number, e: number): boolean {
    const h = hashBytes(b, s, e);
    let list = this.argCache.get(h);
    if (list) {
      for (const ent of list) {
        if (sameBytes(ent.bytes, b, s, e)) {
          this.lo = ent.lo;
          this.hi = ent.hi;
          return ent.known;
        }
      }
    }
    const end = this.expr(b, s, e);
    const known = end >= 0 && this.trailerOk(b, end, e);
    if (this.argCacheSize < 4096) {
      if (!list) this.argCache.set(h, (list = []));
      list.push({ bytes: Buffer.from(b.subarray(s, e)), known, lo: this.lo, hi: this.hi });
      this.argCacheSize++;
    }
    return known;
  }

  /** What may follow a value: a -y decoration `<…>`, a comment, spaces. */
  private trailerOk(b: Uint8Array, i: number, e: number): boolean {
    while (i < e) {
      const c = b[i];
      if (c === 0x20) {
        i++;
      } else if (c === 0x3c) {
        // `3</path>` or `3<socket:[123]>`; the decoration is strace's, the value is the number.
        return true;
      } else if (c === 0x2f && b[i + 1] === 0x2a) {
        // `/* 39 vars */`: skip to the end of the comment.
        let j = i + 2;
        while (j + 1 < e && !(b[j] === 0x2a && b[j + 1] === 0x2f)) j++;
        if (j + 1 >= e) return false;
        i = j + 2;
      } else {
        return false;
      }
    }
    return true;
  }

  /** expr := term ('|' term)*; returns the index after it or -1. */
  private expr(b: Uint8Array, s: number, e: number): number {
    let i = this.term(b, s, e);
    if (i < 0) return -1;
    let lo = this.lo;
    let hi = this.hi;
    while (i < e && b[i] === 0x7c) {
      i = this.term(b, i + 1, e);
      if (i < 0) return -1;
      lo = (lo | this.lo) >>> 0;
      hi = (hi | this.hi) >>> 0;
    }
    this.lo = lo;
    this.hi = hi;
    return i;
  }

  /** term := atom ('<<' atom)?; returns the index after it or -1. */
  private term(b: Uint8Array, s: number, e: number): number {
    let i = this.atom(b, s, e);
    if (i < 0) return -1;
    if (i + 1 < e && b[i] === 0x3c && b[i + 1] === 0x3c) {
      const base = (BigInt(this.hi) << 32n) | BigInt(this.lo);
      i = this.atom(b, i + 2, e);
      if (i < 0 || this.hi !== 0 || this.lo > 63) return -1;
      this.setBig(base << BigInt(this.lo));
    }
    return i;
  }

  private atom(b: Uint8Array, s: number, e: number): number {
    if (s >= e) return -1;
    const c = b[s];
    if (isDigit(c)) return this.number(b, s, e, false);
    if (c === 0x2d && s + 1 < e && isDigit(b[s + 1])) return this.number(b, s + 1, e, true);
    if (!isIdentStart(c)) return -1;
    let i = s;
    while (i < e && isIdent(b[i])) i++;
    if (i < e && b[i] === 0x28) return this.call(latin1(b, s, i), b, i + 1, e);
    if (i - s === 4 && c === 0x4e && b[s + 1] === 0x55 && b[s + 2] === 0x4c && b[s + 3] === 0x4c) {
      // NULL
      this.lo = 0;
      this.hi = 0;
      return i;
    }
    let v = this.constant(b, s, i);
    // `SNDCTL_TMR_START or TCSETS`: strace prints every name of an ambiguous ioctl number.
    while (i + 4 < e && b[i] === 0x20 && b[i + 1] === 0x6f && b[i + 2] === 0x72 && b[i + 3] === 0x20) {
      let j = i + 4;
      const ns = j;
      while (j < e && isIdent(b[j])) j++;
      if (j === ns) return -1;
      v ??= this.consts.get(latin1(b, ns, j));
      i = j;
    }
    if (v === undefined) return -1;
    this.setNumber(v);
    return i;
  }

  /** The constant named by b[s..e), looked up by a hash of its bytes. */
  private constant(b: Uint8Array, s: number, e: number): number | undefined {
    const h = hashBytes(b, s, e);
    let list = this.byHash.get(h);
    if (list) {
      for (const ent of list) {
        if (sameBytes(ent.bytes, b, s, e)) return ent.value;
      }
    } else {
      this.byHash.set(h, (list = []));
    }
    const name = latin1(b, s, e);
    const value = this.consts.get(name);
    // Unknown names are cached too (as undefined), but not without bound: strace prints few
    // distinct names, and a hostile trace must not grow this map forever.
    if (this.byHash.size < 65536) list.push({ bytes: Buffer.from(name, "latin1"), value });
    return value;
  }

  /** Decimal, hex or octal digits at b[s..]; `neg` when a '-' preceded them. */
  private number(b: Uint8Array, s: number, e: number, neg: boolean): number {
    let i = s;
    if (b[i] === 0x30 && i + 1 < e && (b[i + 1] === 0x78 || b[i + 1] === 0x58)) {
      i += 2;
      const ds = i;
      let lo = 0;
      let hi = 0;
      while (i < e) {
        const h = hexVal(b[i]);
        if (h < 0) break;
        if (i - ds >= 16) return -1; // more than 64 bits
        hi = ((hi << 4) | (lo >>> 28)) >>> 0;
        lo = ((lo << 4) | h) >>> 0;
        i++;
      }
      if (i === ds) return -1;
      if (neg) this.setBig(-((BigInt(hi) << 32n) | BigInt(lo)));
      else {
        this.lo = lo;
        this.hi = hi;
      }
      return i;
    }
    if (b[i] === 0x30 && i + 1 < e && b[i + 1] >= 0x30 && b[i + 1] <= 0x37) {
      // Octal (file modes: 0666).
      let v = 0;
      while (i < e && b[i] >= 0x30 && b[i] <= 0x37) v = v * 8 + (b[i++] - 0x30);
      if (i < e && isDigit(b[i])) return -1;
      if (v > Number.MAX_SAFE_INTEGER) return -1;
      this.setNumber(neg ? -v : v);
      return i;
    }
    let v = 0;
    const ds = i;
    while (i < e && isDigit(b[i])) v = v * 10 + (b[i++] - 0x30);
    if (i - ds > 15) {
      const big = BigInt(latin1(b, ds, i));
      if (big >= 1n << 64n) return -1;
      this.setBig(neg ? -big : big);
      return i;
    }
    this.setNumber(neg ? -v : v);
    return i;
  }

  /** `makedev(maj, min)`, `_IOC(dir, type, nr, size)`, `_IO…(…)`. */
  private call(name: string, b: Uint8Array, s: number, e: number): number {
    const vals: number[] = [];
    const dirs: string[] = [];
    let i = s;
    for (;;) {
      while (i < e && b[i] === 0x20) i++;
      if (name === "_IOC" && vals.length === 0) {
        // The direction: _IOC_NONE, _IOC_READ, _IOC_WRITE, or READ|WRITE.
        const ds = i;
        while (i < e && (isIdent(b[i]) || b[i] === 0x7c)) i++;
        dirs.push(...latin1(b, ds, i).split("|"));
        vals.push(0);
      } else {
        const j = this.expr(b, i, e);
        if (j < 0 || this.hi !== 0) return -1;
        vals.push(this.lo);
        i = j;
      }
      while (i < e && b[i] === 0x20) i++;
      if (i < e && b[i] === 0x2c) {
        i++;
        continue;
      }
      if (i < e && b[i] === 0x29) {
        i++;
        break;
      }
      return -1;
    }
    let v: number;
    switch (name) {
      case "makedev": {
        if (vals.length !== 2) return -1;
        const [maj, min] = vals;
        // The kernel's u32 dev_t encoding (new_encode_dev).
        v = ((min & 0xff) | (maj << 8) | ((min & ~0xff) << 12)) >>> 0;
        break;
      }
      case "_IOC": {
        if (vals.length !== 4) return -1;
        let dir: "" | "r" | "w" | "rw" = "";
        for (const d of dirs) {
          if (d === "_IOC_READ") dir = dir === "w" ? "rw" : "r";
          else if (d === "_IOC_WRITE") dir = dir === "r" ? "rw" : "w";
          else if (d !== "_IOC_NONE" && d !== "0") return -1;
        }
        v = ioc(this.layout, dir, vals[1], vals[2], vals[3]);
        break;
      }
      case "_IO":
        if (vals.length !== 2) return -1;
        v = ioc(this.layout, "", vals[0], vals[1], 0);
        break;
      case "_IOR": case "_IOW": case "_IOWR":
        if (vals.length !== 3) return -1;
        v = ioc(this.layout, name === "_IOR" ? "r" : name === "_IOW" ? "w" : "rw", vals[0], vals[1], vals[2]);
        break;
      default:
        return -1;
    }
    this.lo = v;
    this.hi = 0;
    return i;
  }
}

/** FNV-1a of b[s..e): the key of the constant and argument caches. */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h;
}

/** Does `nb` equal b[s..e)? */
function sameBytes(nb: Uint8Array, b: Uint8Array, s: number, e: number): boolean {
  if (nb.length !== e - s) return false;
  for (let i = 0; i < nb.length; i++) if (nb[i] !== b[s + i]) return false;
  return true;
}
