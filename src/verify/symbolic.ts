// The host side of the symbolic engine (assembly/bdd.ts, assembly/sym*.ts): analyse programs into
// exact partitions of the input space by return value, combine them, and turn a non-empty set
// into a concrete counterexample. BDD ids are only meaningful inside one SymbolicSpace.
import { engine, engineGeneration, Region } from "../engine/wasm.js";
import { InternalError, InputError, Inconclusive } from "../errors.js";
import type { Program } from "../engine/program.js";
import { requireAccepted } from "../engine/run.js";
import { DATA_WORDS } from "../engine/data.js";
import * as C from "../engine/contract.generated.js";

/** Why an analysis could not decide: a typed error, exit 3 (src/errors.ts). */
export { Inconclusive };

/** The engine's limit codes (assembly/contract.ts LIMIT_*), as reasons. */
const LIMITS: Record<number, string> = {
  [C.LIMIT_NODES]: "the BDD node budget was exceeded",
  [C.LIMIT_STATES]: "too many distinct register states",
  [C.LIMIT_OUTCOMES]: "too many distinct return values (RET A)",
  [C.LIMIT_VECTORS]: "the symbolic vector pool was exceeded",
};

/**
 * A costly relational analysis stopped early: on these inputs the two programs may differ
 * (each still has to be re-run; see relate).
 */
export class Witnesses {
  readonly kind = "witnesses";
  constructor(readonly inputs: Uint32Array[]) {}
}

export interface Outcome {
  /** The 32-bit return value. */
  value: number;
  /** BDD of the inputs that reach it. */
  set: number;
}

/** How the engine computes a partition: backward (suffix functions), forward (path conditions), or auto. */
export type AnalysisMethod = "auto" | "forward" | "backward";
const METHODS: Record<AnalysisMethod, number> = { auto: C.METHOD_AUTO, forward: C.METHOD_FORWARD, backward: C.METHOD_BACKWARD };

/** Inputs on which one program returns `a` and the other `b` (a !== b). */
export interface PairOutcome {
  a: number;
  b: number;
  set: number;
}

/** The BDD of no input and of every input (the engine's terminal nodes). */
export const FALSE = C.BDD_FALSE;
export const TRUE = C.BDD_TRUE;

/** Default BDD node budget (2^21 nodes, 24 MiB): the engine's largest. */
export const DEFAULT_BUDGET = C.BDD_NODE_CAP;

/**
 * A space used after it stopped being the engine's current one: its BDD ids now name nodes of
 * another space (or of a discarded engine instance). Answering would be silently wrong, so it
 * fails loudly; code that keeps a space across `await`s checks `live` and starts over.
 */
export class StaleSpaceError extends InternalError {
  constructor() {
    super("a symbolic space was used after another one replaced it (the engine holds one at a time)");
  }
}

/** The space that owns the engine's BDD state now. */
let current: SymbolicSpace | undefined;

/**
 * One BDD universe: programs analysed in the same space can be compared by node id. The engine
 * holds one space at a time: creating a space ends the previous one, and any later use of the
 * previous one throws StaleSpaceError instead of answering from someone else's nodes.
 */
export class SymbolicSpace {
  private slots = 0;
  private words = new Region(C.DATA_SIZE);
  private readonly gen: number;
  constructor(budget = DEFAULT_BUDGET) {
    if (!Number.isInteger(budget) || budget < 1 || budget > C.BDD_NODE_CAP) {
      throw new InputError(`budget must be a whole number of BDD nodes from 1 to ${C.BDD_NODE_CAP}, not ${String(budget)}`, "options.budget");
    }
    const e = engine();
    e.bddReset(budget);
    e.symReset();
    this.gen = engineGeneration();
    current = this;
  }

  /** False once another space was created or the engine was re-instantiated after a failure. */
  get live(): boolean {
    engine(); // re-instantiates after a failure, so the generation below is current
    return current === this && this.gen === engineGeneration();
  }

  /** The engine, after checking that this space still owns its state. */
  private e(): ReturnType<typeof engine> {
    if (!this.live) throw new StaleSpaceError();
    return engine();
  }

  /**
   * The exact outcome partition of `p`, or why it could not be computed. `method` picks the
   * engine's analysis (see assembly/sympart.ts); every method gives the same sets (the same BDD
   * ids), only the cost differs.
   */
  analyze(p: Program, method: AnalysisMethod = "auto"): Outcome[] | Inconclusive {
    requireAccepted(p);
    if (this.slots >= C.SYM_SLOTS) return new Inconclusive(`more than ${C.SYM_SLOTS} filters in one analysis`);
    const e = this.e();
    const slot = this.slots++;
    const prog = new Region(p.bytes.length);
    try {
      prog.u8().set(p.bytes);
      const rc = e.symAnalyze(prog.ptr, p.length, slot, METHODS[method]);
      if (rc <= C.ERR_BAD_PROGRAM) return new Inconclusive("program refused by the symbolic engine");
      if (rc > 0) return new Inconclusive(LIMITS[rc] ?? `limit ${rc}`);
      const out: Outcome[] = [];
      const n = e.symOutcomeCount(slot);
      for (let i = 0; i < n; i++) out.push({ value: e.symOutcomeValue(slot, i) >>> 0, set: e.symOutcomeSet(slot, i) });
      return out;
    } finally {
      prog.free();
    }
  }

  /**
   * Where `p` and `q` return different values: for each pair of values (P's, Q's), the inputs
   * on which they occur. On every other input the two programs return the same value. Shared
   * code (a filter and an edited copy) is compared structurally instead of being analysed; see
   * the relational analysis in assembly/symrel.ts. Uses no result slot.
   */
  relate(p: Program, q: Program): PairOutcome[] | Inconclusive {
    return this.relateRaw(p, q, false) as PairOutcome[] | Inconclusive;
  }

  /**
   * As relate, but an analysis that grows costly while it already knows of differences may
   * stop and return candidate inputs instead; the caller re-runs them and, when none settles
   * its question, asks relate.
   */
  relateOrWitnesses(p: Program, q: Program): PairOutcome[] | Inconclusive | Witnesses {
    return this.relateRaw(p, q, true);
  }

  private relateRaw(p: Program, q: Program, witnesses: boolean): PairOutcome[] | Inconclusive | Witnesses {
    requireAccepted(p);
    requireAccepted(q);
    const e = this.e();
    const rp = new Region(p.bytes.length);
    const rq = new Region(q.bytes.length);
    try {
      rp.u8().set(p.bytes);
      rq.u8().set(q.bytes);
      const rc = e.symRelate(rp.ptr, p.length, rq.ptr, q.length, witnesses ? 1 : 0);
      if (rc === C.STOPPED_WITNESS) {
        const inputs: Uint32Array[] = [];
        for (let i = 0; i < e.symRelWitnessCount(); i++) {
          inputs.push(Uint32Array.from({ length: DATA_WORDS }, (_, w) => e.symRelWitness(i, w) >>> 0));
        }
        return new Witnesses(inputs);
      }
      if (rc <= C.ERR_BAD_PROGRAM) return new Inconclusive("program refused by the symbolic engine");
      if (rc > 0) return new Inconclusive(LIMITS[rc] ?? `limit ${rc}`);
      const out: PairOutcome[] = [];
      const n = e.symRelCount();
      for (let i = 0; i < n; i++) out.push({ a: e.symRelP(i) >>> 0, b: e.symRelQ(i) >>> 0, set: e.symRelSet(i) });
      return out;
    } finally {
      rp.free();
      rq.free();
    }
  }

  and(a: number, b: number): number { return this.check(this.e().bddAnd(a, b)); }
  or(a: number, b: number): number { return this.check(this.e().bddOr(a, b)); }
  not(a: number): number { return this.check(this.e().bddNot(a)); }
  diff(a: number, b: number): number { return this.check(this.e().bddDiff(a, b)); }
  existsWord(f: number, word: number): number { return this.check(this.e().bddExistsWord(f, word)); }
  restrictWord(f: number, word: number, value: number): number { return this.check(this.e().bddRestrictWord(f, word, value >>> 0)); }

  /**
   * The paths of f to TRUE as cubes: per input word, the bits the path fixes (mask) and their
   * values. Undefined when there are more than `cap`.
   */
  cubes(f: number, cap = 256): { mask: Uint32Array; value: Uint32Array }[] | undefined {
    const e = this.e();
    const out: { mask: Uint32Array; value: Uint32Array }[] = [];
    const mask = new Uint32Array(DATA_WORDS);
    const value = new Uint32Array(DATA_WORDS);
    let over = false;
    const walk = (n: number) => {
      if (over || n === FALSE) return;
      if (n === TRUE) {
        if (out.length >= cap) over = true;
        else out.push({ mask: mask.slice(), value: value.slice() });
        return;
      }
      const v = e.bddNodeVar(n) >>> 0;
      const w = v >> 5;
      const bit = 31 - (v & 31);
      const m = (1 << bit) >>> 0;
      mask[w] = (mask[w] | m) >>> 0;
      value[w] = (value[w] & ~m) >>> 0;
      walk(e.bddNodeLo(n));
      value[w] = (value[w] | m) >>> 0;
      walk(e.bddNodeHi(n));
      mask[w] = (mask[w] & ~m) >>> 0;
      value[w] = (value[w] & ~m) >>> 0;
    };
    walk(f);
    return over ? undefined : out;
  }

  /** The set "word == value". */
  wordEquals(word: number, value: number): number {
    return this.check(this.e().bddWordEquals(word, value >>> 0));
  }

  /** f with every word but `keep` quantified away: the values of `keep` f allows. */
  existsAllBut(f: number, keep: number): number {
    let r = f;
    for (let w = DATA_WORDS - 1; w >= 0; w--) if (w !== keep) r = this.existsWord(r, w);
    return r;
  }

  /** Union of many sets. */
  union(sets: Iterable<number>): number {
    let r = FALSE;
    for (const s of sets) r = this.or(r, s);
    return r;
  }

  /** True when a budget was exceeded: every result since is meaningless. */
  get overflowed(): boolean {
    return this.e().bddOverflowed() !== 0;
  }

  private check(r: number): number {
    if (this.e().bddOverflowed()) throw new Inconclusive(LIMITS[C.LIMIT_NODES]);
    return r;
  }

  /** One input (16 seccomp_data words) in `f`, free bits 0; undefined when f is empty. */
  satOne(f: number): Uint32Array | undefined {
    if (f === FALSE) return undefined;
    this.e().bddSatOne(f, this.words.ptr);
    return this.words.u32().slice(0, DATA_WORDS);
  }

  /** The values of `word` for which f (over that word only) holds, as [lo, hi] ranges. */
  wordRanges(f: number, word: number, cap = 256): [number, number][] | undefined {
    const buf = new Region(cap * 8);
    try {
      const n = this.e().bddWordRanges(f, word, buf.ptr, cap);
      if (n < 0) return undefined;
      const w = buf.u32();
      const out: [number, number][] = [];
      for (let i = 0; i < n; i++) out.push([w[2 * i] >>> 0, w[2 * i + 1] >>> 0]);
      return out;
    } finally {
      buf.free();
    }
  }

  nodeCount(): number {
    return this.e().bddNodeCount();
  }
}
