// What every emitter shares: its result, the way it says "does not fit", and exact JSON text.
import { decodeRet, formatRet, type ActionName } from "../../engine/actions.js";
import type { ArchPolicy } from "../ir.js";

export interface EmitResult {
  /** The policy text (absent when the IR does not fit the dialect). */
  text?: string;
  /** Why the IR does not fit, when it does not. */
  reason?: string;
  /** What a reader must pass to get the IR's meaning back (minijail: e.g. --default-action). */
  flags: string[];
  /** What a reader should know about the text (OCI: one target per ABI). */
  notes: string[];
}

/** Thrown inside an emitter when the IR does not fit; `fit` turns it into a reason. */
export class NoFit extends Error {}

/** Runs an emitter body: its text, or the NoFit reason. Other errors propagate. */
export function fit(body: (flags: string[], notes: string[]) => string, flags: string[] = []): EmitResult {
  const notes: string[] = [];
  try {
    return { text: body(flags, notes), flags, notes };
  } catch (e) {
    if (e instanceof NoFit) return { reason: e.message, flags, notes };
    throw e;
  }
}

/**
 * An action word from a dialect's table, for actions whose data the dialect can carry (`data`:
 * ERRNO/TRACE) or that carry none. Anything else does not fit, with the dialect's name.
 */
export function spellAction<T>(ret: number, dialect: string, spell: (action: ActionName, data: number) => T | undefined): T {
  const v = decodeRet(ret);
  if (v.unknown) throw new NoFit(`${formatRet(ret)} is not a seccomp action ${dialect} can state`);
  const out = spell(v.action, v.data);
  if (out === undefined) throw new NoFit(`${formatRet(ret)} has no spelling in ${dialect}`);
  return out;
}

/**
 * JSON text with BigInt values written as exact integers (JSON.stringify cannot, and a double
 * would round values above 2^53; sysfence's frontends read integers exactly).
 */
export function stringifyBig(doc: unknown): string {
  const text = JSON.stringify(doc, (_k, v) => (typeof v === "bigint" ? `\u0000big:${v}` : v), 2);
  return text.replace(/"\\u0000big:(\d+)"/g, "$1");
}

/**
 * Policies name syscalls: a section whose ranges of numbers (a runtime's ENOSYS stub, numbers
 * past the table unlike the default) have their own answer does not fit any dialect.
 */
export function requireNoRanges(sec: ArchPolicy, dialect: string): void {
  const r = sec.ranges?.[0];
  if (r) {
    throw new NoFit(`${sec.arch.name} numbers ${r.lo >>> 0}..${r.hi >>> 0} get ${formatRet(r.action)}, unlike the default ${formatRet(sec.defaultAction)}; ${dialect} names syscalls, not ranges of numbers`);
  }
}
