// Writing a learned policy as text that sysfence's own frontends (and Firecracker / runc) read
// back: seccompiler JSON (one thread) or an OCI / Docker profile.
import { InputError } from "../errors.js";
import { Action, decodeRet, formatRet } from "../engine/actions.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { abiArgWidth } from "../policy/builder.js";

export interface LearnedCond {
  index: number;
  /** 32: the low half of the argument (`dword`); 64: all of it (`qword`). */
  width: 32 | 64;
  value: bigint;
  comment?: string;
}

/**
 * JSON text with BigInt values written as exact integers (JSON.stringify cannot, and a double
 * would round values above 2^53; sysfence's frontends read integers exactly).
 */
export function stringifyBig(doc: unknown): string {
  const text = JSON.stringify(doc, (_k, v) => (typeof v === "bigint" ? `\u0000big:${v}` : v), 2);
  return text.replace(/"\\u0000big:(\d+)"/g, "$1");
}

export interface LearnedRule {
  name: string;
  /** Conditions (ANDed); absent = allowed by name. */
  conds?: LearnedCond[];
  comment?: string;
}

export type LearnFormat = "seccompiler" | "oci" | "minijail";
export const LEARN_FORMATS: readonly LearnFormat[] = ["seccompiler", "oci", "minijail"];

function seccompilerAction(ret: number): unknown {
  const v = decodeRet(ret);
  if (v.unknown) throw new InputError(`${formatRet(ret)} is not an action seccompiler JSON can express`, "--default-action");
  switch (v.action) {
    case "ALLOW": return "allow";
    case "KILL_PROCESS": return "kill_process";
    case "KILL_THREAD": return "kill_thread";
    case "LOG": return "log";
    case "USER_NOTIF": return "user_notif";
    case "TRAP":
      if (v.data !== 0) throw new InputError(`seccompiler JSON has no TRAP data (${formatRet(ret)}); use trap`, "--default-action");
      return "trap";
    case "ERRNO": return { errno: v.data };
    case "TRACE": return { trace: v.data };
  }
}

/** seccompiler JSON with one thread: `{THREAD: {default_action, filter_action: "allow", filter}}`. */
export function seccompilerText(rules: readonly LearnedRule[], thread: string, defaultAction: number): string {
  const filter = rules.map((r) => {
    const o: Record<string, unknown> = { syscall: r.name };
    if (r.conds?.length) {
      o.args = r.conds.map((c) => ({
        index: c.index, type: c.width === 64 ? "qword" : "dword", op: "eq", val: c.value,
        ...(c.comment ? { comment: c.comment } : {}),
      }));
    }
    if (r.comment) o.comment = r.comment;
    return o;
  });
  const doc = { [thread]: { default_action: seccompilerAction(defaultAction), filter_action: "allow", filter } };
  return stringifyBig(doc) + "\n";
}

function ociAction(ret: number): { action: string; errnoRet?: number } {
  const v = decodeRet(ret);
  if (v.unknown) throw new InputError(`${formatRet(ret)} is not an action an OCI profile can express`, "--default-action");
  switch (v.action) {
    case "ALLOW": return { action: "SCMP_ACT_ALLOW" };
    case "KILL_PROCESS": return { action: "SCMP_ACT_KILL_PROCESS" };
    case "KILL_THREAD": return { action: "SCMP_ACT_KILL_THREAD" };
    case "LOG": return { action: "SCMP_ACT_LOG" };
    case "USER_NOTIF": return { action: "SCMP_ACT_NOTIFY" };
    case "TRAP":
      if (v.data !== 0) throw new InputError(`OCI profiles have no TRAP data (${formatRet(ret)}); use trap`, "--default-action");
      return { action: "SCMP_ACT_TRAP" };
    case "ERRNO": return { action: "SCMP_ACT_ERRNO", errnoRet: v.data };
    case "TRACE": return { action: "SCMP_ACT_TRACE", errnoRet: v.data };
  }
}

/**
 * An OCI runtime-spec / Docker profile: names allowed outright in one entry, each narrowed
 * rule in its own entry. On 64-bit ABIs a 32-bit compare is SCMP_CMP_MASKED_EQ with mask
 * 0xffffffff (OCI compares all 64 bits otherwise); on 32-bit ABIs a plain SCMP_CMP_EQ.
 */
export function ociText(rules: readonly LearnedRule[], arch: ArchInfo, defaultAction: number): string {
  const def = ociAction(defaultAction);
  const wide = abiArgWidth(arch) === 64;
  const bare = rules.filter((r) => !r.conds?.length).map((r) => r.name);
  const syscalls: unknown[] = [];
  if (bare.length) syscalls.push({ names: bare, action: "SCMP_ACT_ALLOW" });
  for (const r of rules) {
    if (!r.conds?.length) continue;
    syscalls.push({
      names: [r.name],
      action: "SCMP_ACT_ALLOW",
      args: r.conds.map((c) =>
        wide && c.width !== 64
          ? { index: c.index, value: 0xffffffff, valueTwo: c.value, op: "SCMP_CMP_MASKED_EQ" }
          : { index: c.index, value: c.value, valueTwo: 0, op: "SCMP_CMP_EQ" },
      ),
      ...(r.comment ? { comment: r.comment } : {}),
    });
  }
  const doc: Record<string, unknown> = { defaultAction: def.action };
  if (def.errnoRet !== undefined) doc.defaultErrnoRet = def.errnoRet;
  doc.architectures = [`SCMP_ARCH_${arch.name.toUpperCase()}`];
  doc.syscalls = syscalls;
  return stringifyBig(doc) + "\n";
}

/** The default action of learned policies: a call nobody saw should not run. */
export const DEFAULT_LEARN_ACTION = Action.KILL_PROCESS >>> 0;
