// `sysfence explain FILTER`: decompile a binary filter into a per-arch, per-syscall policy.
//
// The symbolic engine gives the exact partition of the inputs by return value. For every ABI
// the program checks and every syscall number of that ABI, each outcome's set restricted to
// (arch, nr) is a function of the argument words; its BDD paths are cubes (per word: the bits
// the path fixes and their values), and a cube is exactly a rule whose conditions are masked
// equalities on argument words (plain `eq` when every bit is fixed). The result is an IR
// (src/policy/ir.ts); it is compiled again and proven equal to the input before it is called
// an explanation. Every number an ABI's filter mentions is stated: the table's calls, ARM's
// private calls and -1 by name, and runs of numbers past the table (a runtime's ENOSYS stub)
// as ranges of their own (NrRange); a section's default is what the filter does on the calls
// of its table (sectionDefault). Behaviour the IR cannot state (conditions on the instruction
// pointer, an unknown-arch answer that depends on nr or arguments, huge runs of numbers with
// argument-dependent answers) is reported, never papered over. The IR is written in a
// policy dialect by the emitter layer (src/policy/emit/).
import type { Program } from "../engine/program.js";
import { formatRet } from "../engine/actions.js";
import { archTokens } from "../text/disasm.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallCount, syscallName, syscallNames, syscallNumber } from "../syscalls/index.js";
import { X32_BIT, ownedNumbers, type PolicyIR, type ArchPolicy, type SyscallPolicy, type Rule, type ArgCondition, type NrRange } from "../policy/ir.js";
import { compileIR } from "../policy/compile.js";
import { SymbolicSpace, Inconclusive, FALSE, TRUE, type Outcome } from "./symbolic.js";
import { equal } from "./relations.js";
import { minimiseSet, conditionRules, conditionText, comparisonText, wrapLine, wordRange } from "./minimise.js";

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
function constantOutcome(outs: Outcome[], restrict: (s: number) => number): number | undefined {
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

/** Most runs of syscall numbers read off one outcome's set. */
const RUN_CAP = 8192;
/** Most numbers with argument-dependent answers stated one by one per ABI. */
const MIXED_CAP = 4096;

/** A maximal run of numbers with one answer (`value`), or with answers that depend on arguments. */
interface NrRun {
  lo: number;
  hi: number;
  /** The one outcome of every input with these numbers; undefined: several (argument-dependent). */
  value?: number;
}

/**
 * The runs of `arch`'s numbers: every outcome's set projected on word 0, cut at every edge of
 * every projection (and at the table's edges), adjacent runs with one answer merged.
 */
function numberRuns(space: SymbolicSpace, outs: Outcome[], inArch: (s: number) => number, own: [number, number][]): NrRun[] | undefined {
  const runs: NrRun[] = [];
  for (const part of own) {
    const here = partRuns(space, outs, inArch, part);
    if (!here) return undefined;
    runs.push(...here);
  }
  return runs.length > RUN_CAP ? undefined : runs;
}

/** numberRuns over one interval of owned numbers. */
function partRuns(space: SymbolicSpace, outs: Outcome[], inArch: (s: number) => number, own: [number, number]): NrRun[] | undefined {
  const mine = wordRange(space, 0, own[0], own[1]);
  const proj: { value: number; ranges: [number, number][] }[] = [];
  for (const o of outs) {
    const r = space.wordRanges(space.existsAllBut(space.and(inArch(o.set), mine), 0), 0, RUN_CAP);
    if (!r) return undefined;
    if (r.length) proj.push({ value: o.value, ranges: r });
  }
  const cuts = new Set<number>([own[0]]);
  for (const { ranges } of proj) {
    for (const [lo, hi] of ranges) {
      cuts.add(lo);
      if (hi < own[1]) cuts.add(hi + 1);
    }
  }
  const starts = [...cuts].sort((a, b) => a - b);
  const runs: NrRun[] = [];
  for (let i = 0; i < starts.length; i++) {
    const lo = starts[i];
    const hi = i + 1 < starts.length ? starts[i + 1] - 1 : own[1];
    const here = proj.filter((x) => x.ranges.some(([a, b]) => a <= lo && lo <= b)).map((x) => x.value);
    const value = here.length === 1 ? here[0] : undefined;
    const last = runs[runs.length - 1];
    if (last && value !== undefined && last.value === value) last.hi = hi;
    else runs.push({ lo, hi, value });
  }
  return runs;
}

/**
 * The section default: "what the filter does on the syscalls of that section", not on the
 * numbers past its table (a runtime's ENOSYS stub answers those). The answer most of the
 * table's unnamed numbers get (no policy can single them out); else the answer of the topmost
 * run when numbers of the table below it also get it (a policy's default reaches past the
 * table); else the most common answer in the table.
 */
function sectionDefault(runs: NrRun[], table: [number, number], named: (nr: number) => boolean): number | undefined {
  const top = runs[runs.length - 1];
  const inTable = runs.filter((r) => r.value !== undefined && r.lo <= table[1] && r.hi >= table[0]);
  const tally = (unnamedOnly: boolean) => {
    const count = new Map<number, number>();
    for (const r of inTable) {
      const lo = Math.max(r.lo, table[0]), hi = Math.min(r.hi, table[1]);
      let n = 0;
      for (let nr = lo; nr <= hi; nr++) if (!unnamedOnly || !named(nr)) n++;
      if (n) count.set(r.value!, (count.get(r.value!) ?? 0) + n);
    }
    let best: number | undefined;
    for (const [v, n] of count) if (best === undefined || n > count.get(best)!) best = v;
    return best;
  };
  const unnamed = tally(true);
  if (unnamed !== undefined) return unnamed;
  if (top.value !== undefined && inTable.some((r) => r.value === top.value && r.lo < top.lo)) return top.value;
  return tally(false) ?? top.value;
}

/** Does every number of run `r` have a syscall name (ARM's private calls, runs in the table)? */
function allNamed(arch: ArchInfo, r: NrRun): boolean {
  if (r.hi - r.lo >= 64) return false;
  for (let nr = r.lo; nr <= r.hi; nr++) if (syscallName(arch, nr) === undefined && nr !== 0xffffffff) return false;
  return true;
}

/** What a number is called in a section: its syscall name, `-1`, or `nr N`. */
function numberName(arch: ArchInfo, nr: number): string {
  return syscallName(arch, nr) ?? (nr >>> 0 === 0xffffffff ? "-1" : `nr ${nr >>> 0}`);
}

/** One ABI's section: its IR, its lines, or undefined with a problem recorded. */
function explainSection(
  space: SymbolicSpace, outs: Outcome[], inArch: (s: number) => number, arch: ArchInfo, token: number,
  opts: ExplainOptions, problems: string[],
): { policy: ArchPolicy; lines: string[] } | undefined {
  const base = arch.nrBase >>> 0;
  const table: [number, number] = [base, base + Math.max(1, syscallCount(arch)) - 1];
  const own = ownedNumbers(arch);
  const runs = numberRuns(space, outs, inArch, own);
  if (!runs) {
    problems.push(`${arch.name}: more than ${RUN_CAP} runs of syscall numbers`);
    return undefined;
  }
  const named = (nr: number) => syscallName(arch, nr) !== undefined;
  const dflt = sectionDefault(runs, table, named);
  if (dflt === undefined) {
    problems.push(`${arch.name}: every syscall number gets argument-dependent answers`);
    return undefined;
  }
  // Runs unlike the default that reach past the table are ranges of their own; other numbers
  // unlike the default are listed one by one (named numbers past the table too: ARM's private
  // calls, and -1).
  const ranges: NrRange[] = [];
  const listed: number[] = [];
  let mixed = 0;
  for (const r of runs) {
    if (r.value === dflt) continue;
    const inTable = r.lo >= table[0] && r.hi <= table[1];
    if (r.value !== undefined && !inTable && !allNamed(arch, r)) {
      ranges.push({ lo: r.lo, hi: r.hi, action: r.value });
      continue;
    }
    if (r.value === undefined) mixed += r.hi - r.lo + 1;
    if (mixed > MIXED_CAP || (r.value !== undefined && r.hi - r.lo >= MIXED_CAP)) {
      problems.push(`${arch.name}: numbers ${r.lo}..${r.hi} get argument-dependent answers`);
      return undefined;
    }
    for (let nr = r.lo; nr <= r.hi; nr++) listed.push(nr);
  }
  const background = (nr: number) => ranges.find((x) => x.lo <= nr && nr <= x.hi)?.action ?? dflt;
  const lines = [`${arch.name}: default ${formatRet(dflt)}`];
  const syscalls: SyscallPolicy[] = [];
  for (const nr of listed) {
    const g = (s: number) => space.restrictWord(inArch(s), 0, nr);
    const bg = background(nr);
    const name = numberName(arch, nr);
    const rules: Rule[] = [];
    const descr: string[] = [];
    for (const o of outs) {
      if (o.value === bg) continue;
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
    lines.push(wrapLine(`  ${name} (${nr}): ${descr.join("; ")}${rules.every((r) => r.conditions.length) ? `; otherwise ${formatRet(bg)}` : ""}`));
  }
  if (ranges.length) {
    lines.push(`${arch.name}, ranges of numbers:`);
    for (const r of ranges) lines.push(`  ${rangeText(arch, r, table)}`);
  }
  return { policy: { arch, defaultAction: dflt, syscalls, ...(ranges.length ? { ranges } : {}) }, lines };
}

/** "numbers 451..4294967295: ERRNO(38) (with the table's last 16 calls, cachestat..removexattrat)". */
function rangeText(arch: ArchInfo, r: NrRange, table: [number, number]): string {
  const head = `numbers ${r.lo}..${r.hi}: ${formatRet(r.action)}`;
  const names: string[] = [];
  // Names in the range: calls of the table, and calls past it (ARM's private calls).
  for (const n of syscallNames(arch)) {
    const nr = syscallNumber(arch, n)! >>> 0;
    if (r.lo <= nr && nr <= r.hi && syscallName(arch, nr) === n) names.push(n);
  }
  if (names.length === 0) return head;
  const list = names.length <= 3 ? names.join(", ") : `${names[0]} … ${names[names.length - 1]}`;
  return `${head} (includes ${names.length} named call${names.length === 1 ? "" : "s"}: ${list})`;
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
  const mismatch = constantOutcome(outs, (s) => space.restrictWord(s, 1, UNUSED_TOKEN));
  if (mismatch === undefined) problems.push("the answer for unknown arch tokens depends on the syscall number or arguments");
  lines.push(`unknown arch: ${mismatch === undefined ? "depends on nr/args" : formatRet(mismatch)}`);
  const sections: ArchPolicy[] = [];
  let x32Action: number | undefined;
  for (const token of archTokens(p)) {
    const inArch = (s: number) => space.restrictWord(s, 1, token);
    for (const arch of archesByToken(token)) {
      const sec = explainSection(space, outs, inArch, arch, token, opts, problems);
      if (!sec) continue;
      if (arch.nrBase === X32_BIT && sec.policy.syscalls.length === 0 && !sec.policy.ranges) {
        // x32 calls all treated alike: the x32 range at large, not a section.
        x32Action = sec.policy.defaultAction;
        lines.push(`x32 (nr >= 0x40000000): ${formatRet(sec.policy.defaultAction)}`);
        continue;
      }
      lines.push(...sec.lines);
      sections.push(sec.policy);
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
