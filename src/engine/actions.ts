// Seccomp return values: the eight actions, their precedence, and how results are printed
// (`ALLOW`, `ERRNO(1)`, …). docs/kernel.md sections 3-4.

import * as C from "./contract.generated.js";

export const RET_ACTION_FULL = C.RET_ACTION_FULL;
export const RET_DATA = C.RET_DATA;

/** The eight actions, by name: the ACT_* values of the engine <-> host contract. */
export const Action = {
  KILL_PROCESS: C.ACT_KILL_PROCESS,
  KILL_THREAD: C.ACT_KILL_THREAD,
  TRAP: C.ACT_TRAP,
  ERRNO: C.ACT_ERRNO,
  USER_NOTIF: C.ACT_USER_NOTIF,
  TRACE: C.ACT_TRACE,
  LOG: C.ACT_LOG,
  ALLOW: C.ACT_ALLOW,
} as const;
export type ActionName = keyof typeof Action;

/** Actions whose 16-bit data is meaningful and printed as NAME(n). */
const WITH_DATA = new Set<ActionName>(["TRAP", "ERRNO", "TRACE"]);

const BY_VALUE = new Map<number, ActionName>(
  (Object.entries(Action) as [ActionName, number][]).map(([k, v]) => [v >>> 0, k]),
);

/**
 * A decoded filter result: what the kernel does with one return value. (A verifier's answer is
 * a `Verdict`, src/verify/relations.ts.)
 */
export interface FilterResult {
  /** The action the kernel takes. Unknown action values are handled as KILL_PROCESS. */
  action: ActionName;
  /** SECCOMP_RET_DATA (low 16 bits). */
  data: number;
  /** The raw 32-bit value. */
  ret: number;
  /** True when the action bits are not one of the eight actions. */
  unknown: boolean;
}

export function decodeRet(ret: number): FilterResult {
  ret >>>= 0;
  const act = BY_VALUE.get((ret & RET_ACTION_FULL) >>> 0);
  if (act === undefined) return { action: "KILL_PROCESS", data: ret & RET_DATA, ret, unknown: true };
  return { action: act, data: ret & RET_DATA, ret, unknown: false };
}

/** `ALLOW`, `ERRNO(1)`, `TRAP(0)`, `TRACE(5)`; unknown values print as `KILL_PROCESS(0x…)`. */
export function formatResult(v: FilterResult): string {
  if (v.unknown) return `KILL_PROCESS(unknown 0x${hex8(v.ret)})`;
  if (WITH_DATA.has(v.action)) return `${v.action}(${v.data})`;
  return v.action;
}

export function formatRet(ret: number): string {
  return formatResult(decodeRet(ret));
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The kernel's rank of a return value's action: smaller is more restrictive (signed compare). */
export function rank(ret: number): number {
  return (ret & RET_ACTION_FULL) | 0;
}

/** The kernel's precedence: true when `a` beats `b` (strictly more restrictive). */
export function stronger(a: number, b: number): boolean {
  return rank(a) < rank(b);
}

/** A sort order of return values: the most restrictive action first, then by data. */
export function byPrecedence(a: number, b: number): number {
  return rank(a) - rank(b) || (a & RET_DATA) - (b & RET_DATA);
}

/**
 * Parses an action as written in text (`ALLOW`, `KILL`, `ERRNO(5)`, `TRACE(1)`, `USER_NOTIF`)
 * and returns its 32-bit value, or undefined when the text is not an action.
 */
export function parseAction(text: string): number | undefined {
  const m = /^([A-Z_]+)(?:\((0x[0-9a-fA-F]+|\d+)\))?$/.exec(text.trim());
  if (!m) return undefined;
  const name = m[1] === "KILL" ? "KILL_THREAD" : m[1];
  if (!(name in Action)) return undefined;
  const base = Action[name as ActionName];
  if (m[2] === undefined) return base >>> 0;
  const data = Number(m[2]);
  if (!Number.isInteger(data) || data < 0 || data > RET_DATA) return undefined;
  return (base | data) >>> 0;
}
