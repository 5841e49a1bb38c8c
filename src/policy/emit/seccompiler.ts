// PolicyIR → seccompiler JSON (Firecracker's dialect, docs/formats.md 2): one thread, one ABI,
// one action for every rule (`filter_action`) besides the default, and the process killed on
// unknown arches and x32 calls (src/policy/seccompiler.ts, which reads the text back).
import { Action, type ActionName } from "../../engine/actions.js";
import type { PolicyIR } from "../ir.js";
import { SECCOMPILER_MISMATCH_ACTION } from "../seccompiler.js";
import { fit, NoFit, requireNoRanges, spellAction, stringifyBig, type EmitResult } from "./fit.js";
import { syscallNumber } from "../../syscalls/index.js";

const DIALECT = "seccompiler JSON";

function word(action: ActionName, data: number): unknown {
  switch (action) {
    case "ALLOW": return "allow";
    case "LOG": return "log";
    case "TRAP": return data === 0 ? "trap" : undefined; // seccompiler's trap carries no data
    case "KILL_PROCESS": return "kill_process";
    case "KILL_THREAD": return "kill_thread";
    case "USER_NOTIF": return "user_notif";
    case "ERRNO": return { errno: data };
    case "TRACE": return { trace: data };
  }
}

/**
 * The IR as seccompiler JSON `{THREAD: {default_action, filter_action, filter}}`, when it fits:
 * one ABI, one action besides the default, KILL_PROCESS for unknown arches and x32. Rule and
 * condition comments are written as seccompiler's `comment` fields.
 */
export function toSeccompiler(ir: PolicyIR, thread = "main"): EmitResult {
  return fit(() => {
    if (ir.arches.length !== 1) throw new NoFit("seccompiler JSON holds one ABI per file");
    const kill = SECCOMPILER_MISMATCH_ACTION >>> 0;
    if (ir.mismatchAction >>> 0 !== kill || (ir.x32Action !== undefined && ir.x32Action >>> 0 !== kill)) {
      throw new NoFit("seccompiler JSON kills the process on unknown arches and x32; this filter does something else");
    }
    const sec = ir.arches[0];
    requireNoRanges(sec, DIALECT);
    const unnamed = sec.syscalls.find((s) => syscallNumber(sec.arch, s.name) !== s.nr);
    if (unnamed) throw new NoFit(`${sec.arch.name} syscall ${unnamed.nr >>> 0} has no name seccompiler JSON could use`);
    const actions = new Set(sec.syscalls.flatMap((s) => s.rules.map((r) => r.action >>> 0)));
    if (actions.size > 1) throw new NoFit(`the filter uses ${actions.size} actions besides the default; seccompiler JSON has one filter_action`);
    // No rules: any filter_action other than the default will do.
    const filterAction = actions.size ? [...actions][0] : Action.ALLOW >>> 0 === sec.defaultAction >>> 0 ? Action.TRAP : Action.ALLOW;
    const filter = sec.syscalls.flatMap((s) => s.rules.map((r) => ({
      syscall: s.name,
      ...(r.conditions.length ? {
        args: r.conditions.map((c) => ({
          index: c.index, type: c.width === 32 ? "dword" : "qword",
          op: c.op === "masked_eq" ? { masked_eq: c.mask } : c.op, val: c.value,
          ...(c.comment ? { comment: c.comment } : {}),
        })),
      } : {}),
      ...(r.comment ? { comment: r.comment } : {}),
    })));
    const doc = {
      [thread]: {
        default_action: spellAction(sec.defaultAction, DIALECT, word),
        filter_action: spellAction(filterAction, DIALECT, word),
        filter,
      },
    };
    return stringifyBig(doc) + "\n";
  });
}
