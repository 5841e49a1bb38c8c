// `sysfence explain FILTER`: decompile a binary filter into a per-arch, per-syscall policy.
//
// The symbolic engine gives the exact partition of the inputs by return value. For every ABI
// the program checks and every syscall number of that ABI, each outcome's set restricted to
// (arch, nr) is a function of the argument words; its BDD paths are cubes (per word: the bits
// the path fixes and their values), and a cube is exactly a rule whose conditions are masked
// equalities on argument words (plain `eq` when every bit is fixed). The result is an IR
// (src/policy/ir.ts); it is compiled again and proven equal to the input before it is called
// an explanation. Behaviour the IR cannot state (conditions on the instruction pointer,
// syscall numbers outside an ABI's table behaving unlike its default, an unknown-arch answer
// that depends on nr or arguments) is reported, never papered over.
import type { Program } from "../engine/program.js";
import { formatRet, decodeRet, Action } from "../engine/actions.js";
import { archTokens } from "../text/disasm.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallCount, syscallName } from "../syscalls/index.js";
import type { PolicyIR, ArchPolicy, SyscallPolicy, Rule, ArgCondition } from "../policy/ir.js";
import { compileIR } from "../policy/compile.js";
import { SymbolicSpace, Inconclusive, FALSE, TRUE, type Outcome } from "./symbolic.js";
import { equal } from "./relations.js";
import { stringifyBig } from "../learn/emit.js";
import { abiArgWidth } from "../policy/builder.js";
import { minimiseSet, conditionRules, conditionText, comparisonText, wrapLine } from "./minimise.js";

export interface Explanation {
  /** The decompiled policy (present when every behaviour could be stated). */
  ir?: PolicyIR;
  /** Why the program cannot be stated as a policy, if it cannot. */
  problems: string[];
  /** Readable per-arch, per-syscall listing. */
  text: string;
}

export interface ExplainOptions {
  budget?: number;
  /** Cap on the argument patterns of one syscall and outcome when a set is not minimised. */
  maxRules?: number;
  /** At most one comparison per argument in a rule (what an OCI profile can hold). */
  oneCompPerArg?: boolean;
}

const UNUSED_TOKEN = 0x12345678; // no ABI uses it: stands for "any unknown arch"

/** The outcome that covers all of `f`'s inputs (restricted set == TRUE), if one does. */
function constantOutcome(space: SymbolicSpace, outs: Outcome[], restrict: (s: number) => number): number | undefined {
  for (const o of outs) if (restrict(o.set) === TRUE) return o.value;
  return undefined;
}

/** Conditions of one cube over the argument words of an ABI (undefined: it tests the ip). */
function cubeConditions(mask: Uint32Array, value: Uint32Array, arch: ArchInfo): ArgCondition[] | undefined {
  if (mask[2] || mask[3]) return undefined;
  const out: ArgCondition[] = [];
  for (let i = 0; i < 6; i++) {
    const w0 = 4 + 2 * i;
    const [loW, hiW] = arch.endian === "le" ? [w0, w0 + 1] : [w0 + 1, w0];
    const ml = mask[loW], mh = mask[hiW];
    if (!ml && !mh) continue;
    if (!mh) {
      const v = BigInt(value[loW] >>> 0);
      out.push(ml === 0xffffffff ? { index: i, width: 32, op: "eq", value: v } : { index: i, width: 32, op: "masked_eq", value: v, mask: BigInt(ml >>> 0) });
    } else {
      const m = (BigInt(mh >>> 0) << 32n) | BigInt(ml >>> 0);
      const v = (BigInt(value[hiW] >>> 0) << 32n) | BigInt(value[loW] >>> 0);
      out.push(m === (1n << 64n) - 1n ? { index: i, width: 64, op: "eq", value: v } : { index: i, width: 64, op: "masked_eq", value: v, mask: m });
    }
  }
  return out;
}

export function explain(p: Program, opts: ExplainOptions = {}): Explanation | Inconclusive {
  try {
    return explainInner(p, opts);
  } catch (e) {
    if (e instanceof Inconclusive) return e;
    throw e;
  }
}

function explainInner(p: Program, opts: ExplainOptions): Explanation | Inconclusive {
  const space = new SymbolicSpace(opts.budget);
  const outs = space.analyze(p);
  if (outs instanceof Inconclusive) return outs;
  const problems: string[] = [];
  const lines: string[] = [];
  const mismatch = constantOutcome(space, outs, (s) => space.restrictWord(s, 1, UNUSED_TOKEN));
  if (mismatch === undefined) problems.push("the answer for unknown arch tokens depends on the syscall number or arguments");
  lines.push(`unknown arch: ${mismatch === undefined ? "depends on nr/args" : formatRet(mismatch)}`);
  const sections: ArchPolicy[] = [];
  let x32Action: number | undefined;
  for (const token of archTokens(p)) {
    const inArch = (s: number) => space.restrictWord(s, 1, token);
    for (const arch of archesByToken(token)) {
      const base = arch.nrBase >>> 0;
      const count = syscallCount(arch);
      // The section's default: what a number beyond its table gets.
      const probe = (base + count + 64) >>> 0;
      const dflt = constantOutcome(space, outs, (s) => space.restrictWord(inArch(s), 0, probe));
      if (dflt === undefined) {
        problems.push(`${arch.name}: numbers beyond the syscall table get argument-dependent answers`);
        continue;
      }
      if (arch.nrBase === 0x40000000) {
        // x32: a section only if some x32 syscall is treated unlike the x32 range at large.
        let special = false;
        for (let nr = base; nr < base + count && !special; nr++) {
          if (constantOutcome(space, outs, (s) => space.restrictWord(inArch(s), 0, nr)) !== dflt) special = true;
        }
        if (!special) {
          x32Action = dflt;
          lines.push(`x32 (nr >= 0x40000000): ${formatRet(dflt)}`);
          continue;
        }
      }
      const syscalls: SyscallPolicy[] = [];
      lines.push(`${arch.name}: default ${formatRet(dflt)}`);
      for (let nr = base; nr < base + count; nr++) {
        const g = (s: number) => space.restrictWord(inArch(s), 0, nr);
        if (constantOutcome(space, outs, g) === dflt) continue;
        const name = syscallName(arch, nr) ?? `nr ${nr}`;
        const rules: Rule[] = [];
        const descr: string[] = [];
        for (const o of outs) {
          if (o.value === dflt) continue;
          const set = g(o.set);
          if (set === FALSE) continue;
          if (set === TRUE) {
            rules.push({ conditions: [], action: o.value });
            descr.push(formatRet(o.value));
            continue;
          }
          const min = minimiseSet(space, set, arch.endian, { oneCompPerArg: opts.oneCompPerArg });
          if (min) {
            for (const cs of conditionRules(min)) rules.push({ conditions: cs, action: o.value });
            descr.push(`${formatRet(o.value)} when ${conditionText(min)}`);
            continue;
          }
          const cubes = space.cubes(set, opts.maxRules ?? 256);
          if (!cubes) {
            problems.push(`${arch.name} ${name}: too many argument patterns for ${formatRet(o.value)}`);
            continue;
          }
          const conds: string[] = [];
          for (const c of cubes) {
            const cs = cubeConditions(c.mask, c.value, arch);
            if (!cs) {
              problems.push(`${arch.name} ${name}: depends on the instruction pointer`);
              continue;
            }
            rules.push({ conditions: cs, action: o.value });
            conds.push(cs.map(comparisonText).join(" and "));
          }
          descr.push(`${formatRet(o.value)} when ${conds.join(" or ")}`);
        }
        syscalls.push({ nr, name, rules });
        lines.push(wrapLine(`  ${name} (${nr}): ${descr.join("; ")}${rules.every((r) => r.conditions.length) ? `; otherwise ${formatRet(dflt)}` : ""}`));
      }
      sections.push({ arch, defaultAction: dflt, syscalls });
    }
  }
  if (sections.length === 0) problems.push("no arch check: the program does not say which ABI its numbers belong to");
  let ir: PolicyIR | undefined;
  if (problems.length === 0 && mismatch !== undefined) {
    ir = { name: "explained", arches: sections, mismatchAction: mismatch, x32Action };
    const back = compileIR(ir);
    const v = equal(back, p, { budget: opts.budget });
    if (v instanceof Inconclusive) problems.push(`could not prove the explanation equal: ${v.reason}`);
    else if (!v.holds) {
      const cx = v.counterexample;
      problems.push(`the explanation differs on ${cx.arch?.name ?? "?"} ${cx.syscall ?? "nr " + cx.data.nr}: ${cx.results.map(formatRet).join(" vs ")}`);
    }
    if (problems.length) ir = undefined;
  }
  return { ir, problems, text: lines.join("\n") };
}

/**
 * The IR as seccompiler JSON, when it fits that dialect: one ABI, one action besides the
 * default, KILL_PROCESS for unknown arches and x32. Otherwise the reason it does not.
 */
export function toSeccompiler(ir: PolicyIR, thread = "main"): { text?: string; reason?: string } {
  if (ir.arches.length !== 1) return { reason: "seccompiler JSON holds one ABI per file" };
  const sec = ir.arches[0];
  const actions = new Set(sec.syscalls.flatMap((s) => s.rules.map((r) => r.action >>> 0)));
  if (actions.size > 1) return { reason: `the filter uses ${actions.size} actions besides the default; seccompiler JSON has one filter_action` };
  if ((ir.mismatchAction >>> 0) !== (Action.KILL_PROCESS >>> 0) || (ir.x32Action !== undefined && ir.x32Action >>> 0 !== Action.KILL_PROCESS >>> 0)) {
    return { reason: "seccompiler JSON kills the process on unknown arches and x32; this filter does something else" };
  }
  const filterAction = actions.size ? [...actions][0] : (Action.ALLOW >>> 0) === (sec.defaultAction >>> 0) ? Action.TRAP : Action.ALLOW;
  const act = (ret: number): unknown => {
    const v = decodeRet(ret);
    switch (v.action) {
      case "ALLOW": return "allow";
      case "LOG": return "log";
      case "TRAP": return "trap";
      case "KILL_PROCESS": return "kill_process";
      case "KILL_THREAD": return "kill_thread";
      case "USER_NOTIF": return "user_notif";
      case "ERRNO": return { errno: v.data };
      case "TRACE": return { trace: v.data };
    }
  };
  if (decodeRet(filterAction).action === "TRAP" && decodeRet(filterAction).data !== 0) return { reason: "seccompiler's trap carries no data" };
  const filter = sec.syscalls.flatMap((s) => s.rules.map((r) => ({
    syscall: s.name,
    ...(r.conditions.length ? {
      args: r.conditions.map((c) => ({
        index: c.index, type: c.width === 32 ? "dword" : "qword",
        op: c.op === "masked_eq" ? { masked_eq: c.mask } : c.op, val: c.value,
      })),
    } : {}),
  })));
  const doc = { [thread]: { default_action: act(sec.defaultAction), filter_action: act(filterAction), filter } };
  return { text: stringifyBig(doc) + "\n" };
}

const OCI_OPS: Record<Exclude<ArgCondition["op"], "masked_eq">, string> = {
  eq: "SCMP_CMP_EQ", ne: "SCMP_CMP_NE", lt: "SCMP_CMP_LT", le: "SCMP_CMP_LE", gt: "SCMP_CMP_GT", ge: "SCMP_CMP_GE",
};

/**
 * The IR as an OCI / Docker profile, when it fits: one ABI (an OCI entry applies to every
 * listed ABI alike), KILL_THREAD for unknown arches and x32 (libseccomp's answer, which the
 * runtime-spec cannot change). Conditions: 64-bit compares as SCMP_CMP_EQ / MASKED_EQ, 32-bit
 * ones as MASKED_EQ with the low-word mask.
 */
export function toOci(ir: PolicyIR): { text?: string; reason?: string } {
  if (ir.arches.length !== 1) return { reason: "an OCI entry applies to every listed ABI alike; this filter treats its ABIs differently or has several" };
  if ((ir.mismatchAction >>> 0) !== (Action.KILL_THREAD >>> 0) || (ir.x32Action !== undefined && ir.x32Action >>> 0 !== Action.KILL_THREAD >>> 0)) {
    return { reason: "OCI runtimes kill the thread on unknown arches and x32; this filter does something else" };
  }
  const sec = ir.arches[0];
  const act = (ret: number): { action: string; errnoRet?: number } | undefined => {
    const v = decodeRet(ret);
    if (v.unknown) return undefined;
    switch (v.action) {
      case "ALLOW": return { action: "SCMP_ACT_ALLOW" };
      case "LOG": return { action: "SCMP_ACT_LOG" };
      case "TRAP": return v.data === 0 ? { action: "SCMP_ACT_TRAP" } : undefined;
      case "KILL_PROCESS": return { action: "SCMP_ACT_KILL_PROCESS" };
      case "KILL_THREAD": return { action: "SCMP_ACT_KILL_THREAD" };
      case "USER_NOTIF": return { action: "SCMP_ACT_NOTIFY" };
      case "ERRNO": return { action: "SCMP_ACT_ERRNO", errnoRet: v.data };
      case "TRACE": return { action: "SCMP_ACT_TRACE", errnoRet: v.data };
    }
  };
  const d = act(sec.defaultAction);
  if (!d) return { reason: `${formatRet(sec.defaultAction)} has no OCI spelling` };
  const syscalls: unknown[] = [];
  for (const s of sec.syscalls) {
    for (const r of s.rules) {
      const a = act(r.action);
      if (!a) return { reason: `${formatRet(r.action)} has no OCI spelling` };
      // An OCI comparison reads the whole argument on a 64-bit ABI: a 32-bit equality becomes a
      // masked one; a 32-bit order or `!=` has no spelling there.
      const wide = abiArgWidth(sec.arch) === 64;
      if (r.conditions.some((c) => wide && c.width === 32 && c.op !== "eq" && c.op !== "masked_eq")) {
        return { reason: `${s.name}: a comparison of an argument's low 32 bits other than == or & has no OCI spelling on ${sec.arch.name}` };
      }
      const args = r.conditions.map((c) => {
        if (c.width === 32 && wide) {
          const m = (c.op === "masked_eq" ? c.mask! : 0xffffffffn) & 0xffffffffn;
          return { index: c.index, value: m, valueTwo: c.value & m, op: "SCMP_CMP_MASKED_EQ" };
        }
        return c.op === "masked_eq"
          ? { index: c.index, value: c.mask!, valueTwo: c.value, op: "SCMP_CMP_MASKED_EQ" }
          : { index: c.index, value: c.value, op: OCI_OPS[c.op] };
      });
      if (new Set(args.map((x) => x.index)).size !== args.length) return { reason: "OCI allows one comparison per argument in an entry" };
      syscalls.push({ names: [s.name], action: a.action, ...(a.errnoRet !== undefined ? { errnoRet: a.errnoRet } : {}), ...(args.length ? { args } : {}) });
    }
  }
  const doc = {
    defaultAction: d.action,
    ...(d.errnoRet !== undefined ? { defaultErrnoRet: d.errnoRet } : {}),
    architectures: [`SCMP_ARCH_${sec.arch.name.toUpperCase()}`],
    syscalls,
  };
  return { text: stringifyBig(doc) + "\n" };
}

/** How an explanation compares with the policy a filter was compiled from (bench and tests). */
export interface ExplanationSize {
  /** Characters and lines of the text, and its longest line. */
  chars: number;
  lines: number;
  longestLine: number;
  /** Argument comparisons in the explained policy, and in the source policy. */
  terms: number;
  sourceTerms: number;
  /** The largest per-syscall ratio explained/source comparisons (syscalls with conditions). */
  worstSyscallRatio: number;
  /** Where that ratio occurs ("x86_64 mmap"). */
  worstSyscall?: string;
  /** Instructions of the explanation compiled again, and of the original filter. */
  recompiled: number;
  original: number;
}

/** Sizes of explanation `e` of `program`, compiled from `source`. */
export function explanationSize(source: PolicyIR, program: Program, e: Explanation): ExplanationSize {
  const count = (ir: PolicyIR) => {
    const m = new Map<string, number>();
    for (const a of ir.arches) {
      for (const s of a.syscalls) m.set(`${a.arch.name} ${s.name}`, s.rules.reduce((n, r) => n + r.conditions.length, 0));
    }
    return m;
  };
  const src = count(source);
  const got = e.ir ? count(e.ir) : new Map<string, number>();
  let worst = 0;
  let worstSyscall: string | undefined;
  for (const [k, n] of got) {
    const base = src.get(k) ?? 0;
    const r = base === 0 ? (n === 0 ? 0 : Infinity) : n / base;
    if (r > worst) [worst, worstSyscall] = [r, k];
  }
  const lines = e.text.split("\n");
  return {
    chars: e.text.length,
    lines: lines.length,
    longestLine: Math.max(...lines.map((l) => l.length)),
    terms: [...got.values()].reduce((a, b) => a + b, 0),
    sourceTerms: [...src.values()].reduce((a, b) => a + b, 0),
    worstSyscallRatio: worst,
    worstSyscall,
    recompiled: e.ir ? compileIR(e.ir).length : 0,
    original: program.length,
  };
}
