// Shared pieces of sysfence's assembly text (docs/asm.md): how the 16 words of seccomp_data
// are named for a byte order, how numbers are written, and how an arch-qualified syscall
// constant is spelled. The disassembler prints with these and the assembler parses with them,
// so the two cannot drift apart.
import type { Endian } from "../syscalls/arches.js";

/** Name of the 32-bit word at byte offset k (k < 64, k % 4 == 0) for a byte order. */
export function wordName(k: number, endian: Endian): string {
  if (k === 0) return "nr";
  if (k === 4) return "arch";
  const field = k < 16 ? "ip" : `args[${(k - 16) >> 3}]`;
  const firstHalf = (k & 4) === 0; // offset 8+8i: lower address
  const lo = endian === "le" ? firstHalf : !firstHalf;
  return `${field}.${lo ? "lo" : "hi"}`;
}

/** The inverse of wordName; undefined when `name` is not a word name. */
export function wordOffset(name: string, endian: Endian): number | undefined {
  if (name === "nr") return 0;
  if (name === "arch") return 4;
  const m = /^(?:ip|args\[([0-5])\])\.(lo|hi)$/.exec(name);
  if (!m) return undefined;
  const base = m[1] === undefined ? 8 : 16 + 8 * Number(m[1]);
  const lo = m[2] === "lo";
  const firstHalf = endian === "le" ? lo : !lo;
  return base + (firstHalf ? 0 : 4);
}

/** Numbers below 256 print in decimal, larger ones in hex: masks and tokens read better. */
export function num(n: number): string {
  n >>>= 0;
  return n < 256 ? String(n) : "0x" + n.toString(16);
}

/** Parses a 32-bit number written in decimal, 0x hex or as a negative decimal (wrapped). */
export function parseNum(text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) {
    const v = Number.parseInt(text.slice(2), 16);
    return v <= 0xffffffff ? v >>> 0 : undefined;
  }
  if (/^-?\d+$/.test(text)) {
    const v = Number(text);
    if (v > 0xffffffff || v < -0x80000000) return undefined;
    return v >>> 0;
  }
  return undefined;
}

/** Identifiers usable as labels. */
export const LABEL_RE = /^[A-Za-z_.$][\w.$]*$|^\d+$/;
