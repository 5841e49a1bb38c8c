// Relations between filters, decided exactly on the BPF itself with the symbolic engine:
// subset (what A allows, B allows), stricter (A at least as restrictive as B on every input,
// by kernel precedence), equal (same effective action and data on every input), and the
// effective policy of a stack. Each "does not hold" carries a concrete input that shows it,
// re-run through the interpreter before it is returned; each limit hit is "inconclusive".
import type { Program } from "../engine/program.js";
import { InputBatch, decodeData, endianOfToken, type SeccompData } from "../engine/data.js";
import { evaluateSide } from "../engine/run.js";
import { decodeRet, Action, rank } from "../engine/actions.js";
import { archTokens } from "../text/disasm.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallName, syscallNames, syscallNumber } from "../syscalls/index.js";
import { InternalError, InputError } from "../errors.js";
import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";
import { falsify } from "./falsify.js";
import { SymbolicSpace, Inconclusive, Witnesses, FALSE, type Outcome } from "./symbolic.js";

export { Inconclusive };

export interface Counterexample {
  /** The 16 words of seccomp_data as the filter loads them. */
  words: number[];
  data: SeccompData;
  arch?: ArchInfo;
  syscall?: string;
  /** Each side's raw return value on this input (re-run through the interpreter). */
  results: number[];
}

export interface VerifyOptions {
  /** BDD node budget (default 2^21); past it the answer is "inconclusive". */
  budget?: number;
  /**
   * How two filters are compared: "relational" (default) analyses only where they can differ,
   * comparing shared code structurally; "partitions" computes each filter's whole outcome
   * partition first. Both are exact; the tests check that they agree.
   */
  strategy?: "relational" | "partitions";
  /**
   * Try the filters on inputs built from their constants first (default true): a difference
   * found there is the answer, with that input as the counterexample. See falsify.ts.
   */
  falsify?: boolean;
}

export type Verdict =
  | { holds: true; nodes: number }
  | { holds: false; counterexample: Counterexample; nodes: number }
  | Inconclusive;

/** Does the syscall run? ALLOW and LOG let it through; everything else stops it. */
export function allows(ret: number): boolean {
  const v = decodeRet(ret);
  return !v.unknown && (v.action === "ALLOW" || v.action === "LOG");
}

/**
 * What the kernel does with a return value, as one number: unknown actions kill the process,
 * ERRNO data is capped at 4095, and data is dropped where the kernel ignores it.
 */
export function effective(ret: number): number {
  const v = decodeRet(ret);
  if (v.unknown) return Action.KILL_PROCESS >>> 0;
  switch (v.action) {
    case "ERRNO": return (Action.ERRNO | Math.min(v.data, 4095)) >>> 0;
    case "TRAP": case "TRACE": return ((Action[v.action] | v.data) >>> 0);
    default: return Action[v.action] >>> 0;
  }
}

function analyzeAll(space: SymbolicSpace, progs: readonly Program[]): Outcome[][] | Inconclusive {
  const out: Outcome[][] = [];
  for (const p of progs) {
    const r = space.analyze(p);
    if (r instanceof Inconclusive) return r;
    out.push(r);
  }
  return out;
}

/** Inputs where the pair (a's value, b's value) satisfies `bad`. */
function badPairs(space: SymbolicSpace, a: Outcome[], b: Outcome[], bad: (x: number, y: number) => boolean): number {
  let r = FALSE;
  for (const oa of a) for (const ob of b) if (bad(oa.value, ob.value)) r = space.or(r, space.and(oa.set, ob.set));
  return r;
}

/**
 * A readable witness from a non-empty set: a known arch token of the filters and a real
 * syscall number where the set allows it, otherwise any member.
 */
function witness(space: SymbolicSpace, f: number, progs: readonly Program[]): Uint32Array {
  const tokens = [...new Set(progs.flatMap((p) => archTokens(p)))];
  for (const token of tokens) {
    const g = space.restrictWord(f, 1, token);
    if (g === FALSE) continue;
    for (const arch of archesByToken(token)) {
      for (const name of syscallNames(arch)) {
        const nr = syscallNumber(arch, name)!;
        const h = space.restrictWord(g, 0, nr);
        if (h === FALSE) continue;
        const w = space.satOne(h)!;
        w[0] = nr >>> 0;
        w[1] = token >>> 0;
        return w;
      }
    }
    const w = space.satOne(g)!;
    w[1] = token >>> 0;
    return w;
  }
  return space.satOne(f)!;
}

/** Builds the counterexample and re-runs it on each side (a stack counts as one side). */
function confirm(words: Uint32Array, sides: readonly (readonly Program[])[]): Counterexample {
  const batch = new InputBatch(1, Uint32Array.from(words));
  const results = sides.map((side) => evaluateSide(side, batch)[0] >>> 0);
  const token = words[1] >>> 0;
  const data = decodeData(Uint32Array.from(words), 0, endianOfToken(token));
  const arches = archesByToken(token);
  const arch = arches.length > 1 ? arches.find((a) => (a.nrBase === X32_SYSCALL_BIT) === ((words[0] >>> 0) >= X32_SYSCALL_BIT)) : arches[0];
  const syscall = arch ? syscallName(arch, words[0] >>> 0) : undefined;
  return { words: [...words].map((w) => w >>> 0), data, arch, syscall, results };
}

function verdict(space: SymbolicSpace, bad: number, progs: readonly Program[], sides: readonly (readonly Program[])[], ok: (results: number[]) => boolean): Verdict {
  const nodes = space.nodeCount();
  if (bad === FALSE) return { holds: true, nodes };
  const cx = confirm(witness(space, bad, progs), sides);
  if (ok(cx.results)) {
    throw new InternalError(`counterexample did not reproduce in the interpreter (results ${cx.results.map((r) => "0x" + r.toString(16)).join(", ")})`);
  }
  return { holds: false, counterexample: cx, nodes };
}

function guarded(fn: () => Verdict): Verdict {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Inconclusive) return e;
    throw e;
  }
}

/**
 * Decides "no input has bad(A's value, B's value)"; `bad` must be false for equal values
 * (every relation here is reflexive). In order: falsification on boundary inputs; then the
 * relational analysis (default) or the two whole partitions (strategy "partitions"). A costly
 * relational analysis may stop early with candidate inputs: one that shows `bad` is the
 * answer, otherwise the analysis runs again to the end without stopping.
 */
function decide(a: Program, b: Program, opts: VerifyOptions, bad: (x: number, y: number) => boolean): Verdict {
  if (opts.strategy !== undefined && opts.strategy !== "relational" && opts.strategy !== "partitions") {
    throw new InputError(`unknown strategy "${String(opts.strategy)}"; one of relational, partitions`, "options.strategy");
  }
  const holdsOn = ([ra, rb]: number[]) => !bad(ra, rb);
  const quick = falsified([a], [b], opts, bad);
  if (quick) return quick;
  return guarded(() => {
    if (opts.strategy === "partitions") {
      const space = new SymbolicSpace(opts.budget);
      const outs = analyzeAll(space, [a, b]);
      if (outs instanceof Inconclusive) return outs;
      return verdict(space, badPairs(space, outs[0], outs[1], bad), [a, b], [[a], [b]], holdsOn);
    }
    let space = new SymbolicSpace(opts.budget);
    let r = space.relateOrWitnesses(a, b);
    if (r instanceof Witnesses) {
      for (const words of r.inputs) {
        const cx = confirm(words, [[a], [b]]);
        if (!holdsOn(cx.results)) return { holds: false, counterexample: cx, nodes: space.nodeCount() };
      }
      space = new SymbolicSpace(opts.budget);
      r = space.relate(a, b);
    }
    if (r instanceof Inconclusive) return r;
    const set = space.union(r.filter((p) => bad(p.a, p.b)).map((p) => p.set));
    return verdict(space, set, [a, b], [[a], [b]], holdsOn);
  });
}

/**
 * Falsification (falsify.ts) unless opts.falsify is false: "does not hold", with the input
 * re-run as the counterexample, when boundary inputs show `bad`; undefined otherwise.
 */
function falsified(sideA: readonly Program[], sideB: readonly Program[], opts: VerifyOptions, bad: (x: number, y: number) => boolean): Verdict | undefined {
  if (opts.falsify === false) return undefined;
  const words = falsify(sideA, sideB, bad);
  if (!words) return undefined;
  const cx = confirm(words, [sideA, sideB]);
  if (!bad(cx.results[0], cx.results[1])) throw new InternalError("falsification input did not reproduce");
  return { holds: false, counterexample: cx, nodes: 0 };
}

/** Every input that A allows, B allows. */
export function subset(a: Program, b: Program, opts: VerifyOptions = {}): Verdict {
  return decide(a, b, opts, (x, y) => allows(x) && !allows(y));
}

/** On every input, A's action is at least as restrictive as B's (kernel precedence). */
export function stricter(a: Program, b: Program, opts: VerifyOptions = {}): Verdict {
  return decide(a, b, opts, (x, y) => rank(effective(x)) > rank(effective(y)));
}

/** Same effective action and data on every input. */
export function equal(a: Program, b: Program, opts: VerifyOptions = {}): Verdict {
  return decide(a, b, opts, (x, y) => effective(x) !== effective(y));
}

/**
 * The effective outcome partition of a stack (oldest first), combined by the kernel's rule:
 * every filter runs, the strictly most restrictive action wins, ties go to the newest.
 */
export function stackOutcomes(space: SymbolicSpace, progs: readonly Program[]): Outcome[] | Inconclusive {
  const outs = analyzeAll(space, progs);
  if (outs instanceof Inconclusive) return outs;
  // Start with the newest filter, then fold in older ones: an older result replaces the
  // running one only when strictly more restrictive.
  let cur: Outcome[] = outs[outs.length - 1];
  for (let i = outs.length - 2; i >= 0; i--) {
    const next = new Map<number, number>();
    for (const run of cur) {
      for (const older of outs[i]) {
        const s = space.and(run.set, older.set);
        if (s === FALSE) continue;
        const v = rank(older.value) < rank(run.value) ? older.value : run.value;
        next.set(v, space.or(next.get(v) ?? FALSE, s));
      }
    }
    cur = [...next.entries()].map(([value, set]) => ({ value, set }));
  }
  // A single filter's ALLOW with data still means ALLOW once combined with the initial ALLOW.
  const merged = new Map<number, number>();
  for (const o of cur) {
    const v = rank(o.value) < rank(Action.ALLOW) ? o.value : Action.ALLOW >>> 0;
    merged.set(v, space.or(merged.get(v) ?? FALSE, o.set));
  }
  return [...merged.entries()].map(([value, set]) => ({ value, set }));
}

/** One effective action of a stack of filters, and the arch tokens under which it happens. */
export interface StackEffect {
  /** The return value the kernel acts on (the stack folded by precedence, ALLOW data dropped). */
  action: number;
  /** seccomp_data.arch values for which some input gets `action`, as [lo, hi] ranges; undefined: more than 64 ranges. */
  arches: [number, number][] | undefined;
}

/**
 * The effective actions of a stack (oldest first) as the kernel combines it, each with the arch
 * tokens that reach it (`verify stack` without --equals). Inconclusive when the analysis is.
 */
export function stackEffects(stack: readonly Program[], opts: VerifyOptions = {}): StackEffect[] | Inconclusive {
  try {
    const space = new SymbolicSpace(opts.budget);
    const outs = stackOutcomes(space, stack);
    if (outs instanceof Inconclusive) return outs;
    return outs.map((oc) => ({ action: oc.value >>> 0, arches: space.wordRanges(space.existsAllBut(oc.set, 1), 1, 64) }));
  } catch (e) {
    if (e instanceof Inconclusive) return e;
    throw e;
  }
}

/**
 * A stack is equal to a single filter: the stack's effective policy is `b`'s. Boundary inputs
 * first (as for the pair relations), then the stack's folded partition against b's.
 */
export function stackEquals(stack: readonly Program[], b: Program, opts: VerifyOptions = {}): Verdict {
  const differ = (x: number, y: number) => effective(x) !== effective(y);
  const quick = falsified(stack, [b], opts, differ);
  if (quick) return quick;
  return guarded(() => {
    const space = new SymbolicSpace(opts.budget);
    const s = stackOutcomes(space, stack);
    if (s instanceof Inconclusive) return s;
    const ob = space.analyze(b);
    if (ob instanceof Inconclusive) return ob;
    const bad = badPairs(space, s, ob, differ);
    return verdict(space, bad, [...stack, b], [stack, [b]], ([rs, rb]) => !differ(rs, rb));
  });
}
