// The pieces every validation layer shares (spec files, jail options, trace records, CLI flags):
// integer ranges named after the C types the values end up in, exact range checks on BigInt,
// and unknown-key refusal with a "did you mean" suggestion. A value that does not fit is a
// located InputError (exit 2): nothing is cut to a narrower width on the way.
import { closest, distance } from "fastest-levenshtein";
import { InputError } from "./errors.js";

/** An inclusive integer range and the words an error uses for it. */
export interface IntRange {
  min: bigint;
  max: bigint;
  /** How an error describes the range, e.g. "0..4294967295 (u32)". */
  text: string;
}

function range(min: bigint, max: bigint, what: string): IntRange {
  return { min, max, text: `${min}..${max} (${what})` };
}

/** The widths values take in the kernel's and the launcher's C types. */
export const INT = {
  u32: range(0n, 0xffffffffn, "32 bits"),
  s32: range(-(1n << 31n), (1n << 31n) - 1n, "a 32-bit int"),
  u64: range(0n, (1n << 64n) - 1n, "64 bits"),
  s64: range(-(1n << 63n), (1n << 63n) - 1n, "a 64-bit signed value"),
  /** pid_t: thread and process ids are positive ints. */
  pid: range(0n, (1n << 31n) - 1n, "pid_t"),
  /** uid_t/gid_t a process may switch to: (uid_t)-1 = 4294967295 means "unchanged" to setresuid. */
  id: range(0n, 4294967294n, 'uid_t; 4294967295 is (uid_t)-1, "unchanged"'),
  /** A uid_map/gid_map field (the kernel's u32). */
  mapId: range(0n, 0xffffffffn, "an id"),
  /** rlim_t without RLIM_INFINITY (which is written "unlimited"). */
  rlim: range(0n, (1n << 64n) - 2n, 'rlim_t; "unlimited" for RLIM_INFINITY'),
  /** A C int that counts or sizes something (NUMA node number, milliseconds in the launcher). */
  uint: range(0n, (1n << 31n) - 1n, "a non-negative int"),
} as const;

/** `n` when it is within `r`, else a located error saying the range. */
export function inRange(n: bigint, r: IntRange, what: string, where: string): bigint {
  if (n < r.min || n > r.max) throw new InputError(`${what} ${n} is out of range ${r.text}`, where);
  return n;
}

/** Decimal digits (with an optional minus) as an exact BigInt within `r`. */
export function decimalIn(text: string, r: IntRange, what: string, where: string): bigint {
  const s = text.trim();
  if (!/^-?\d+$/.test(s)) throw new InputError(`${what} must be an integer, not "${text}"`, where);
  return inRange(BigInt(s), r, what, where);
}

/** ` (did you mean "x"?)` when one of `known` is a likely typo of `word`, else "". */
export function suggestion(word: string, known: readonly string[]): string {
  if (known.length === 0) return "";
  const lower = word.toLowerCase();
  const best = closest(lower, known.map((k) => k.toLowerCase()));
  const hit = known.find((k) => k.toLowerCase() === best)!;
  // A typo is a few edits away relative to the word's length; anything further is a different word.
  const d = distance(lower, best);
  return d <= Math.max(2, Math.floor(Math.max(word.length, hit.length) / 3)) ? ` (did you mean "${hit}"?)` : "";
}

/**
 * Refuses keys of `obj` outside `known`. `where(key)` places the error (file and JSON pointer);
 * the message lists the known keys and suggests the nearest one.
 */
export function refuseUnknownKeys(obj: object, known: readonly string[], where: (key: string) => string, noun = "field"): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new InputError(`unknown ${noun} "${k}"${suggestion(k, known)} (known: ${known.join(", ")})`, where(k));
  }
}
