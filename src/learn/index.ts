// Policy learning end to end:
//   1. read every trace into a Learner (syscalls seen on the target ABI, curated values);
//   2. build rules: per syscall its value tuples for the curated arguments (a value a call did
//      not show leaves that argument unchecked in its rule; none shown: by name) or, with
//      --widen or for other syscalls, its name; plus exit/exit_group/rt_sigreturn/
//      restart_syscall always, and the start-up base set with --base-set;
//   3. with --within BASE: also narrow on the arguments BASE looks at (64-bit where BASE
//      compares the high half), leave out what BASE denies (decided like replay: known values
//      fixed, the rest unknown), and warn where BASE allows a rule only for some values;
//   4. emit seccompiler JSON or an OCI profile, compile it back with sysfence's own frontend,
//      check it (the kernel's acceptance rules), lint it (verify lint: no errors allowed), and
//      verify with the symbolic engine that it is stricter than allow-all and, with BASE, a
//      subset of BASE (counterexample otherwise);
//   5. replay the traces under the compiled policy: nothing may be denied.
import type { Program } from "../engine/program.js";
import { assemble } from "../text/asm.js";
import { InputError } from "../errors.js";
import { check } from "../engine/check.js";
import { Action, formatRet } from "../engine/actions.js";
import { allowRulesToMinijail } from "../policy/minijail/emit.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";
import { compilePolicyText } from "../policy/index.js";
import { subset, allows, Inconclusive, type Counterexample } from "../verify/relations.js";
import { lint, lintPolicy, type Finding } from "../verify/lint.js";
import { readTrace, type TraceFormat, type TraceFileSummary } from "../traces/reader.js";
import { constantName } from "../traces/constants.js";
import { makeDecider, type Decider } from "../replay/decide.js";
import { replayTraces, type ReplayResult } from "../replay/index.js";
import { Learner, type LearnedSyscall } from "./learner.js";
import { ALWAYS, BASE_SET, type CuratedArg } from "./curated.js";
import { seccompilerText, ociText, DEFAULT_LEARN_ACTION, type LearnFormat, type LearnedRule } from "./emit.js";

export { Learner, type LearnedSyscall, type Tuple, type Where } from "./learner.js";
export { curatedArgs, cloneFlagsIndex, ALWAYS, BASE_SET, type CuratedArg } from "./curated.js";
export { seccompilerText, ociText, LEARN_FORMATS, DEFAULT_LEARN_ACTION, type LearnFormat, type LearnedRule, type LearnedCond } from "./emit.js";

export interface LearnOptions {
  /** Target ABI (also the ABI of traces that do not say). */
  arch: ArchInfo;
  format?: LearnFormat;
  /** seccompiler thread name (default "main"). */
  thread?: string;
  /** Names only: no argument narrowing. */
  widen?: boolean;
  /** Add the process start-up base set. */
  baseSet?: boolean;
  /** The learned policy must stay within this filter. */
  within?: { program: Program; label: string };
  /** Action for everything not learned (default KILL_PROCESS). */
  defaultAction?: number;
  traceFormat?: TraceFormat;
  /** Replay the traces under the learned policy (default true). */
  verify?: boolean;
}

/** A verifier answer: holds (with a witness where one helps), does not (with a counterexample), or inconclusive. */
export type Check =
  | { ok: true; witness?: Counterexample }
  | { ok: false; counterexample?: Counterexample }
  | { ok: "inconclusive"; reason: string };

export interface LearnResult {
  text: string;
  program: Program;
  rules: LearnedRule[];
  traces: TraceFileSummary[];
  /** Calls read (all ABIs). */
  events: number;
  syscalls: number;
  narrowed: string[];
  warnings: string[];
  /** check(): the kernel's acceptance rules. */
  accepted: boolean;
  /** verify lint findings on the learned program and policy (errors make learning fail). */
  lint: Finding[];
  /** Verifier: the learned policy denies some input (it is not allow-all). */
  stricterThanAllowAll: Check;
  /** Verifier: learned ⊆ BASE, when --within. */
  withinBase?: Check;
  /** Replay of the traces under the learned policy, unless verify is false. */
  replay?: ReplayResult;
}

function where(w: { file: string; line: number }): string {
  return `${w.file}:${w.line}`;
}

/** A readable name for a curated value, for comments. */
function valueComment(arch: ArchInfo, names: readonly string[], flags: readonly string[] | undefined, v: number): string | undefined {
  return constantName(arch, v, names, flags ?? []);
}

function rulesFor(s: LearnedSyscall, arch: ArchInfo, widen: boolean, extra: readonly (readonly number[])[] | undefined, warnings: string[]): LearnedRule[] {
  const seen = `seen ${s.count} time${s.count === 1 ? "" : "s"}`;
  if (!s.args || widen) return [{ name: s.name, comment: seen }];
  if (s.unknownAt) {
    // A call that showed none of the narrowed arguments allows the syscall by name (one bare
    // rule: a bare rule beside conditional ones would make them pointless); one that showed
    // some of them gives a rule checking only those.
    const a = s.unknownAt.arg;
    const bare = [...s.tuples!.values()].some((t) => t.values.every((v) => v === undefined));
    if (bare) {
      warnings.push(`${s.name}: allowed by name only: the trace does not show arg${a < 0 ? "?" : a} at ${where(s.unknownAt)}`);
      return [{ name: s.name, comment: `${seen}; by name: arg${a} not shown at ${where(s.unknownAt)}` }];
    }
    warnings.push(`${s.name}: the trace does not show arg${a} at ${where(s.unknownAt)}: the rules for such calls do not check it`);
  }
  const tuples = new Map<string, { values: (bigint | undefined)[]; count: number }>();
  for (const [k, t] of s.tuples!) tuples.set(k, { values: t.values, count: t.count });
  for (const vals of extra ?? []) {
    // Base-set values fill the curated arguments only when nothing else is narrowed.
    if (vals.length !== s.args.length) continue;
    const big = vals.map((v) => BigInt(v >>> 0));
    const k = big.join(",");
    if (!tuples.has(k)) tuples.set(k, { values: big, count: 0 });
  }
  // Sorted by value, a not-shown value (no condition) after the shown ones.
  const ord = (v: bigint | undefined) => (v === undefined ? 1n << 64n : v);
  const sorted = [...tuples.values()].sort((x, y) => {
    for (let i = 0; i < x.values.length; i++) if (x.values[i] !== y.values[i]) return ord(x.values[i]) < ord(y.values[i]) ? -1 : 1;
    return 0;
  });
  return sorted.map((t) => ({
    name: s.name,
    conds: s.args!.flatMap((a, i) => {
      const v = t.values[i];
      if (v === undefined) return [];
      const comment = a.names.length && v <= 0xffffffffn ? valueComment(arch, a.names, a.flags, Number(v)) : undefined;
      return [{ index: a.index, width: a.width ?? 32, value: v, ...(comment ? { comment } : {}) }];
    }),
    comment: t.count ? `seen ${t.count} time${t.count === 1 ? "" : "s"}` : "start-up base set",
  }));
}

/** Learns, emits, compiles and verifies a policy from traces. */
export async function learnPolicy(traces: readonly string[], opts: LearnOptions): Promise<LearnResult> {
  const arch = opts.arch;
  const defaultAction = opts.defaultAction ?? DEFAULT_LEARN_ACTION;
  if (defaultAction === (Action.ALLOW >>> 0)) {
    throw new InputError("a learned policy with default action allow would allow everything", "--default-action");
  }
  // With a baseline, also narrow on every argument the baseline looks at (unless --widen): a
  // rule that allowed any value there would not be inside the baseline.
  const baseDecider = opts.within ? makeDecider([opts.within.program]) : undefined;
  const extra = baseDecider && !opts.widen ? (nr: number) => baseArgs(baseDecider, arch, nr) : undefined;
  const learner = new Learner(arch, extra);
  const summaries: TraceFileSummary[] = [];
  for (let i = 0; i < traces.length; i++) {
    summaries.push(await readTrace(traces[i], { fileIndex: i, arch, format: opts.traceFormat, sink: learner }));
  }
  const warnings: string[] = [];
  for (const [name, o] of learner.otherArch) {
    warnings.push(`${o.count} call${o.count === 1 ? "" : "s"} of ABI ${name} (first at ${where(o.first)}) left out: the policy is for ${arch.name}`);
  }
  const byName = new Map<string, LearnedSyscall>();
  for (const s of learner.syscalls.values()) {
    // A number our table has no name for cannot be written in a policy (both dialects name
    // syscalls): said, and left to the default action.
    if (syscallNumber(arch, s.name) === undefined) {
      warnings.push(`${s.name} (nr ${s.nr}, seen ${s.count} time${s.count === 1 ? "" : "s"}, first at ${where(s.first)}) has no name on ${arch.name}: a policy cannot allow it by name, left out`);
      continue;
    }
    byName.set(s.name, s);
  }
  // Always-needed and base-set names that the traces did not show.
  const extras = new Map<string, readonly (readonly number[])[] | undefined>();
  if (opts.baseSet) for (const b of BASE_SET) extras.set(b.name, b.values);
  for (const name of [...ALWAYS, ...(opts.baseSet ? BASE_SET.map((b) => b.name) : [])]) {
    if (byName.has(name)) continue;
    const nr = syscallNumber(arch, name);
    if (nr === undefined) continue;
    const args = learner.argsFor(name, nr);
    const tuples = args ? new Map() : undefined;
    const why = ALWAYS.includes(name) ? "always allowed" : "start-up base set";
    byName.set(name, { name, nr, count: 0, first: { file: why, line: 0 }, ...(args ? { args, tuples } : {}) });
  }
  let rules: LearnedRule[] = [];
  const narrowed: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const s = byName.get(name)!;
    let rs = rulesFor(s, arch, !!opts.widen, extras.get(name), warnings);
    if (s.count === 0) {
      const why = ALWAYS.includes(name) ? "always allowed (exit paths, signal return, restarts)" : "start-up base set";
      rs = rs.map((r) => ({ ...r, comment: why }));
    }
    if (rs.some((r) => r.conds?.length)) narrowed.push(name);
    rules.push(...rs);
  }

  // --within BASE: drop what BASE denies.
  if (opts.within && baseDecider) rules = withinBase(rules, byName, arch, opts.within.label, baseDecider, warnings);

  const format = opts.format ?? "seccompiler";
  const thread = opts.thread ?? "main";
  const text = format === "oci" ? ociText(rules, arch, defaultAction)
    : format === "minijail" ? allowRulesToMinijail(rules, arch, defaultAction) : seccompilerText(rules, thread, defaultAction);
  const compiled = compilePolicyText(text, "<learned policy>", { arch, thread: format === "seccompiler" ? thread : undefined });
  for (const w of compiled.warnings) warnings.push(`learned policy: ${w.message}`);
  const program = compiled.programs[0].program;
  const accepted = check(program).length === 0;
  // verify lint on the program and the policy: errors fail the learning, the rest are told.
  const linted = lint(program);
  const lintFindings: Finding[] = [...(linted instanceof Inconclusive ? [] : linted), ...lintPolicy(compiled.programs[0].ir)];
  if (linted instanceof Inconclusive) warnings.push(`lint: inconclusive (${linted.reason})`);

  // The verifier: the learned policy denies something, and stays within BASE.
  const allowAll = allowAllProgram();
  const notAll = subset(allowAll, program);
  // allow-all ⊆ learned would mean the learned policy allows everything; its counterexample
  // is an input the learned policy denies.
  const stricterThanAllowAll: Check = notAll instanceof Inconclusive
    ? { ok: "inconclusive", reason: notAll.reason }
    : notAll.holds ? { ok: false } : { ok: true, witness: notAll.counterexample };
  let withinBaseCheck: Check | undefined;
  if (opts.within) {
    const v = subset(program, opts.within.program);
    withinBaseCheck = v instanceof Inconclusive
      ? { ok: "inconclusive", reason: v.reason }
      : v.holds ? { ok: true } : { ok: false, counterexample: v.counterexample };
  }

  let replay: ReplayResult | undefined;
  if (opts.verify !== false) {
    replay = await replayTraces([program], traces, { arch, format: opts.traceFormat });
  }
  return {
    text, program, rules, traces: summaries, events: learner.events, syscalls: byName.size, narrowed, warnings,
    accepted, lint: lintFindings, stricterThanAllowAll, withinBase: withinBaseCheck, replay,
  };
}

/**
 * The arguments a baseline looks at for (arch, nr), as extra narrowing: 64-bit when it
 * compares the high half too. The instruction pointer cannot be narrowed by a policy.
 */
function baseArgs(decider: Decider, arch: ArchInfo, nr: number): CuratedArg[] {
  const rel = decider.relevantWords(arch.token, nr);
  const out: CuratedArg[] = [];
  for (let i = 0; i < 6; i++) {
    const lo = 4 + 2 * i + (arch.endian === "le" ? 0 : 1);
    const hi = 4 + 2 * i + (arch.endian === "le" ? 1 : 0);
    if (!(rel & ((1 << lo) | (1 << hi)))) continue;
    out.push({ index: i, names: [], ...(rel & (1 << hi) ? { width: 64 as const } : {}) });
  }
  return out;
}

/** `ret ALLOW`: the policy every learned policy must be stricter than. */
export function allowAllProgram(): Program {
  return assemble("ret ALLOW");
}

/**
 * Leaves out of `rules` what BASE denies. Each rule is decided against BASE with its curated
 * values known (low 32 bits) and everything else unknown, as replay decides a call.
 */
function withinBase(
  rules: LearnedRule[], byName: Map<string, LearnedSyscall>, arch: ArchInfo, label: string, decider: Decider, warnings: string[],
): LearnedRule[] {
  const kept: LearnedRule[] = [];
  const words = new Uint32Array(16);
  for (const r of rules) {
    const nr = syscallNumber(arch, r.name)!;
    words.fill(0);
    words[0] = nr >>> 0;
    words[1] = arch.token;
    let unknown = 0xfffc;
    for (const c of r.conds ?? []) {
      // The low word of argument i is word 4 + 2i on little-endian ABIs, 5 + 2i on big-endian.
      const lo = 4 + 2 * c.index + (arch.endian === "le" ? 0 : 1);
      const hi = 4 + 2 * c.index + (arch.endian === "le" ? 1 : 0);
      words[lo] = Number(c.value & 0xffffffffn);
      unknown &= ~(1 << lo);
      if (c.width === 64) {
        words[hi] = Number(c.value >> 32n);
        unknown &= ~(1 << hi);
      }
    }
    const relevant = decider.relevantWords(arch.token, nr);
    const d = decider.decide(words, unknown & relevant);
    const shown = r.conds?.length ? `${r.name}(${r.conds.map((c) => `arg${c.index}=0x${c.value.toString(16)}`).join(", ")})` : r.name;
    const s = byName.get(r.name);
    const seen = s && s.count ? ` (seen ${s.count} time${s.count === 1 ? "" : "s"}, first at ${where(s.first)})` : "";
    const allowed = d.rets.map(allows);
    if (allowed.every((a) => !a)) {
      warnings.push(`${label} denies ${shown} (${d.rets.map(formatRet).join(" or ")})${seen}: left out of the learned policy`);
      continue;
    }
    if (!allowed.every((a) => a)) {
      const on = d.args.map((a) => (a < 0 ? "ip" : `arg${a}`)).join(" and ");
      warnings.push(`${label} allows ${shown} only for some values of ${on}; the learned rule is wider there`);
    }
    kept.push(r);
  }
  return kept;
}
