// Raw `struct sock_filter` arrays (.bpf files): what libseccomp's seccomp_export_bpf(),
// bubblewrap's --seccomp FD, seccomp-tools and Firecracker's --split-output read and write.
// 8 bytes per instruction, no header, in the TARGET's byte order (docs/formats.md section 1), so a
// file made for s390x or ppc64 has its code and k fields big-endian. Program holds the canonical
// little-endian layout; this module is where the byte order is converted.
import { InputError } from "../errors.js";
import { Program } from "../engine/program.js";
import { opcodeInfo } from "../engine/opcodes.js";
import type { Endian } from "../syscalls/arches.js";

/**
 * Largest raw file accepted: 1 MiB = 131072 instructions, 32 times what the kernel installs.
 * Oversized-but-plausible programs (over 4096 instructions) are still read so the checker can
 * say why they are refused; anything this big is not a filter at all (a wrong file, a disk
 * image) and is refused before it is copied around.
 */
export const MAX_RAW_BYTES = 1 << 20;

/** Swaps code (u16) and k (u32) of every instruction in place; jt/jf are single bytes. */
function swapInPlace(b: Uint8Array): void {
  for (let o = 0; o + 8 <= b.length; o += 8) {
    let t = b[o];
    b[o] = b[o + 1];
    b[o + 1] = t;
    t = b[o + 4];
    b[o + 4] = b[o + 7];
    b[o + 7] = t;
    t = b[o + 5];
    b[o + 5] = b[o + 6];
    b[o + 6] = t;
  }
}

/**
 * Reads a raw filter in byte order `endian`. The Program gets its own copy of the bytes, so the
 * caller's buffer may be reused. `where` (usually the file name) prefixes every error.
 */
export function readRaw(bytes: Uint8Array, endian: Endian = "le", where?: string): Program {
  if (bytes.length > MAX_RAW_BYTES) {
    throw new InputError(
      `${bytes.length} bytes is too large for a seccomp filter (limit ${MAX_RAW_BYTES} bytes = ` +
        `${MAX_RAW_BYTES / 8} instructions; the kernel installs at most 4096)`,
      where,
    );
  }
  const rest = bytes.length % 8;
  if (rest !== 0) {
    const at = bytes.length - rest;
    throw new InputError(
      `size ${bytes.length} is not a multiple of 8 (one struct sock_filter is 8 bytes): ` +
        `a partial instruction of ${rest} byte${rest === 1 ? "" : "s"} starts at byte offset ${at} ` +
        `(instruction ${at / 8})`,
      where,
    );
  }
  // new Uint8Array copies; Buffer.prototype.slice would return a view of the caller's bytes
  // (and the big-endian swap below would then rewrite them).
  const copy = new Uint8Array(bytes);
  if (endian === "be") swapInPlace(copy);
  return new Program(copy);
}

/** The program as a raw file for a target of byte order `endian`. A fresh buffer. */
export function writeRaw(program: Program, endian: Endian = "le"): Uint8Array {
  const out = new Uint8Array(program.bytes);
  if (endian === "be") swapInPlace(out);
  return out;
}

/** How well the bytes read as a seccomp program in one byte order. */
function score(bytes: Uint8Array, endian: Endian): number {
  const n = bytes.length >>> 3;
  if (n === 0) return 0;
  const code = (i: number): number =>
    endian === "le" ? bytes[i * 8] | (bytes[i * 8 + 1] << 8) : (bytes[i * 8] << 8) | bytes[i * 8 + 1];
  let valid = 0;
  for (let i = 0; i < n; i++) if (opcodeInfo(code(i)) !== undefined) valid++;
  // A real filter ends with a ret (class 6): worth more than any single opcode, so that a tie in
  // valid opcodes is broken by the ending.
  const last = code(n - 1);
  const endsWithRet = (last & 0x07) === 0x06 && opcodeInfo(last) !== undefined;
  return valid * 2 + (endsWithRet ? 3 : 0);
}

/**
 * The byte order under which `bytes` make more sense as a seccomp program: more instructions
 * with an opcode the kernel accepts, and a ret at the end. Why this works: every accepted
 * opcode is below 0x100, so read in the wrong order nearly every code becomes 0xNN00 and is
 * invalid. Ties (empty input, garbage) give little-endian, the order of almost every target in
 * use. Only whole instructions are looked at; a partial tail is left for readRaw to report.
 */
export function guessEndian(bytes: Uint8Array): Endian {
  return score(bytes, "be") > score(bytes, "le") ? "be" : "le";
}
