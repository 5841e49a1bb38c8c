// The filters a launch installs, and the refusals made before anything starts: a program the
// kernel would reject, an action this kernel lacks, a stack over the kernel's 32768-instruction
// total, and an effective stack that would kill (or fail) the launcher's own last syscalls —
// the seccomp() call that installs the next phase, and the final execve.
import { readBoundedText, SIZE_LIMITS } from "../read.js";
import { readFileSync } from "node:fs";
import { Program } from "../engine/program.js";
import { check } from "../engine/check.js";
import { opcodeInfo, Form } from "../engine/opcodes.js";
import { MAX_INSNS_PER_PATH } from "../engine/contract.generated.js";
import { evaluateStack } from "../engine/run.js";
import { InputBatch } from "../engine/data.js";
import { Action, decodeRet, formatRet, RET_ACTION_FULL, type ActionName } from "../engine/actions.js";
import { loadFilters, parseFilterSpec } from "../formats/detect.js";
import { compilePolicyText, formatPolicyWarning } from "../policy/index.js";
import { hostArch, type ArchInfo } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";
import { EnvironmentError, InputError, RejectedProgramError } from "../errors.js";
import { processState } from "../native/probe.js";

/** A filter as the launch API takes it: a Program, raw host-order bytes, or a FILTER spec. */
export type FilterSource = Program | Uint8Array | string;

export interface NamedProgram {
  /** How the filter is named in messages: a file (with [thread]), or "filter N". */
  label: string;
  program: Program;
  /** A policy's compile warnings, one located line each (launch reports them before start). */
  warnings?: string[];
}

/** The kernel's limit on the instructions of all filters on a path (+4 per filter). */
export { MAX_INSNS_PER_PATH };
const SECCOMP_SET_MODE_FILTER = 1;

const ACTION_SYSCTL: Record<ActionName, string> = {
  KILL_PROCESS: "kill_process",
  KILL_THREAD: "kill_thread",
  TRAP: "trap",
  ERRNO: "errno",
  USER_NOTIF: "user_notif",
  TRACE: "trace",
  LOG: "log",
  ALLOW: "allow",
};

/** Loads one filter argument into exactly one program for `arch`. */
export function loadOne(src: FilterSource, arch: ArchInfo, label: string, thread?: string): NamedProgram {
  if (src instanceof Program) return { label, program: src };
  if (src instanceof Uint8Array) return { label, program: new Program(new Uint8Array(src)) };
  const { file, thread: t } = parseFilterSpec(src);
  const list = loadFilters(file, { thread: t ?? thread, arch });
  if (list.length !== 1) {
    throw new InputError(`holds ${list.length} filters (${list.map((f) => f.thread).join(", ")}): pick one with a thread (T@FILE or thread)`, file);
  }
  const f = list[0];
  return { label: f.thread === undefined ? f.file : `${f.file}[${f.thread}]`, program: f.program, ...(f.warnings ? { warnings: f.warnings } : {}) };
}

/** Compiles one thread of a policy (file path, or text) for `arch`. */
export function loadPolicy(
  policy: string | { text: string; file?: string }, thread: string | undefined, arch: ArchInfo,
): NamedProgram {
  const file = typeof policy === "string" ? policy : policy.file ?? "<policy>";
  let text: string;
  if (typeof policy === "string") {
    text = readBoundedText(policy, SIZE_LIMITS.policy, "a policy file", file);
  } else {
    text = policy.text;
  }
  const r = compilePolicyText(text, file, { arch, thread });
  if (r.programs.length !== 1) {
    throw new InputError(
      `the policy has ${r.programs.length} threads (${r.programs.map((p) => p.name).join(", ")}): pick one with --thread`, file,
    );
  }
  const warnings = r.warnings.map(formatPolicyWarning);
  return { label: `${file}[${r.programs[0].name}]`, program: r.programs[0].program, ...(warnings.length ? { warnings } : {}) };
}

function readActionsAvail(): Set<string> | undefined {
  try {
    return new Set(readFileSync("/proc/sys/kernel/seccomp/actions_avail", "utf8").trim().split(/\s+/));
  } catch {
    return undefined;
  }
}

/** Every action a program can return through RET K (RET A is data-dependent: not listed). */
export function returnedActions(p: Program): { actions: Set<number>; retA: boolean } {
  const actions = new Set<number>();
  let retA = false;
  for (let i = 0; i < p.length; i++) {
    const { code, k } = p.insn(i);
    const form = opcodeInfo(code)?.form;
    if (form === Form.RET_K) actions.add((k & RET_ACTION_FULL) >>> 0);
    else if (form === Form.RET_A) retA = true;
  }
  return { actions, retA };
}

export interface RefusalOptions {
  arch?: ArchInfo;
  /** Actions this kernel offers (default: /proc/sys/kernel/seccomp/actions_avail). */
  actionsAvail?: Set<string>;
  /** Also require USER_NOTIF (diagnose notify/permissive). */
  needsUserNotif?: boolean;
  /** Filters already on the calling process (their sizes are unknown); default: read /proc. */
  inheritedFilters?: number;
}

function verdictOk(ret: number): boolean {
  const a = decodeRet(ret).action;
  return !decodeRet(ret).unknown && (a === "ALLOW" || a === "LOG");
}

/**
 * Throws when the stack (oldest first) must not be launched; returns warnings otherwise.
 * Exit codes: a rejected program or an impossible stack is 1, a missing kernel feature is 4.
 */
export function refuseBeforeStart(stack: readonly NamedProgram[], opts: RefusalOptions = {}): string[] {
  // A policy's compile warnings come first: what the compiler decided is part of what is installed.
  const warnings: string[] = [...new Set(stack.flatMap((f) => f.warnings ?? []))];
  if (stack.length === 0) return warnings;
  const arch = opts.arch ?? hostArch();
  for (const { label, program } of stack) {
    const errs = check(program);
    if (errs.length > 0) {
      const e = errs[0];
      throw new RejectedProgramError(
        `the kernel would reject this filter: ${e.index >= 0 ? `instruction ${e.index}: ` : ""}${e.reason}` +
          (errs.length > 1 ? ` (and ${errs.length - 1} more)` : ""),
        label,
      );
    }
  }
  // Actions this kernel lacks.
  const avail = opts.actionsAvail ?? readActionsAvail();
  if (avail) {
    for (const { label, program } of stack) {
      const { actions, retA } = returnedActions(program);
      for (const a of actions) {
        const v = decodeRet(a);
        if (v.unknown) {
          warnings.push(`${label}: returns 0x${a.toString(16).padStart(8, "0")}, not an action: the kernel kills the process for it`);
          continue;
        }
        if (!avail.has(ACTION_SYSCTL[v.action])) {
          throw new EnvironmentError(
            `returns ${v.action}, which this kernel lacks (actions_avail: ${[...avail].join(" ")})`, label,
          );
        }
      }
      if (retA) warnings.push(`${label}: returns A (computed values): the actions it may return were not checked against actions_avail`);
    }
    if (opts.needsUserNotif && !avail.has("user_notif")) {
      throw new EnvironmentError(`diagnose notify/permissive needs the user_notif action, which this kernel lacks (actions_avail: ${[...avail].join(" ")})`);
    }
  }
  // The kernel's total: each new filter's length plus (length + 4) of every filter below it.
  const inherited = opts.inheritedFilters ?? processState().filters ?? 0;
  const total = stack.reduce((n, f) => n + f.program.length, 0) + 4 * (stack.length - 1);
  if (total > MAX_INSNS_PER_PATH) {
    throw new RejectedProgramError(
      `the stack of ${stack.length} filters totals ${total} instructions (lengths plus 4 per filter below the newest); ` +
        `the kernel refuses more than ${MAX_INSNS_PER_PATH} (ENOMEM)`,
    );
  }
  if (inherited > 0) {
    warnings.push(`this process already runs ${inherited} seccomp filter(s) of unknown size; they count toward the kernel's ${MAX_INSNS_PER_PATH}-instruction total and stay in force`);
  }
  // The launcher's own syscalls after each install: seccomp() for the next phase, then execve.
  const programs = stack.map((f) => f.program);
  const seccompNr = syscallNumber(arch, "seccomp");
  const execveNr = syscallNumber(arch, "execve");
  if (execveNr === undefined) throw new EnvironmentError(`no execve syscall number for ${arch.name}`);
  for (let k = 1; k < stack.length && seccompNr !== undefined; k++) {
    const ret = evaluateStack(programs.slice(0, k), InputBatch.of([{ nr: seccompNr, arch: arch.token, args: [BigInt(SECCOMP_SET_MODE_FILTER), 1n, 0n] }]))[0];
    if (!verdictOk(ret)) {
      throw new RejectedProgramError(
        `${k === 1 ? "the first phase" : `the first ${k} phases`} return ${formatRet(ret)} for seccomp() on ${arch.name}: ` +
          `the launcher could not install ${stack[k].label} (phase ${k + 1}); allow seccomp in the earlier phases`,
        stack[k - 1].label,
      );
    }
  }
  const ret = evaluateStack(programs, InputBatch.of([{ nr: execveNr, arch: arch.token, args: [0n, 0n, 0n] }]))[0];
  if (!verdictOk(ret)) {
    const what = decodeRet(ret).action === "ERRNO" ? "would fail" : "would never start";
    throw new RejectedProgramError(
      `the ${stack.length > 1 ? "stacked filters return" : "filter returns"} ${formatRet(ret)} for execve on ${arch.name}: ` +
        `the launcher installs the filter just before it execs the program, so the program ${what}; allow execve`,
      stack[stack.length - 1].label,
    );
  }
  return warnings;
}

/**
 * The diagnose rewrite: every RET K whose action kills (KILL_PROCESS, KILL_THREAD, or a value
 * that is not an action) becomes RET USER_NOTIF, so the supervisor sees the call instead of the
 * kernel killing the process. RET A is left alone (its value is computed at run time).
 */
export function rewriteKillsToNotify(p: Program): { program: Program; rewritten: number; retA: boolean } {
  const insns = p.insns();
  let rewritten = 0;
  let retA = false;
  for (const ins of insns) {
    const form = opcodeInfo(ins.code)?.form;
    if (form === Form.RET_A) retA = true;
    if (form !== Form.RET_K) continue;
    const v = decodeRet(ins.k);
    if (v.unknown || v.action === "KILL_PROCESS" || v.action === "KILL_THREAD") {
      ins.k = Action.USER_NOTIF >>> 0;
      rewritten++;
    }
  }
  return { program: Program.fromInsns(insns), rewritten, retA };
}
