// What a filter (or a stack) does with a call whose trace does not show every value: allowed,
// denied, or "depends on argN". One interface, two implementations:
//
//   SymbolicDecider  exact. The verifier's symbolic engine (src/verify) turns the program into
//                    an exact partition of the input space by return value (BDDs over the 16
//                    seccomp_data words). Fixing the known words (restrictWord) leaves the set of
//                    outcomes still possible; an unknown word matters when some outcome's set
//                    changes under existential quantification of that word.
//   ProbeDecider     the fallback when the symbolic engine is inconclusive (X-mixing arithmetic,
//                    budgets) or when asked for: the abstract walk of walk.ts says which words
//                    can be read and proposes probe values for each; the cartesian product of
//                    the probes of the unknown words (at most PROBE_LIMIT inputs, else each word
//                    varied alone plus pseudo-random combinations) is run through the
//                    interpreter, and the distinct results are the possible outcomes. Exact when
//                    the walk says its probes are (raw-word K-compares only) and the product was
//                    complete; otherwise a lower bound on what is possible (it may miss an
//                    outcome, never invent one: every result comes from a real evaluation).
//
// Both report per (arch token, nr) the words that can change the outcome at all, which is what
// lets the replay skip unknown values the filter never looks at, and cache by only the values it
// does look at.
//
// The engine has one BDD space at a time (src/verify/symbolic.ts): when another SymbolicSpace
// was created meanwhile (a verification or another replay running between two awaits), a
// SymbolicDecider notices on its next question and analyses its programs again in a fresh space,
// so concurrent replays give the answers they give one after another.
import type { Program } from "../engine/program.js";
import { InputBatch } from "../engine/data.js";
import { evaluateBatch, evaluateStack } from "../engine/run.js";
import { SymbolicSpace, Inconclusive, FALSE, DEFAULT_BUDGET, type Outcome } from "../verify/symbolic.js";
import { stackOutcomes } from "../verify/relations.js";
import { walk } from "./walk.js";
import { SysfenceError, ExitCode } from "../errors.js";

export interface Decision {
  /** The results still possible (raw 32-bit values, sorted); one when decided. */
  rets: number[];
  /** Arguments whose value decides between them: 0-5, or -1 for the instruction pointer. */
  args: number[];
  /** False when a probe fallback could not cover every case (see ProbeDecider). */
  exact: boolean;
}

export interface Decider {
  /** "symbolic" or "probe": how decisions are made (reports say so). */
  readonly method: "symbolic" | "probe";
  /** Bit w (2..15) set when word w can change the result for (token, nr). */
  relevantWords(token: number, nr: number): number;
  /**
   * The decision for an input of (token, nr) whose words in the bit set `unknown` are not known;
   * the other words of `words` (16, as the filter loads them) are.
   */
  decide(words: Uint32Array, unknown: number): Decision;
}

/** The argument (0-5, or -1 for ip) a seccomp_data word belongs to; the same in both byte orders. */
export function argOfWord(w: number): number {
  return w < 4 ? -1 : (w - 4) >> 1;
}

function argsOf(wordBits: number): number[] {
  const out = new Set<number>();
  for (let w = 2; w < 16; w++) if (wordBits & (1 << w)) out.add(argOfWord(w));
  return [...out].sort((a, b) => a - b);
}

/**
 * A map keyed by (arch token, nr). Not one number: token * 2^32 + nr is above 2^53, where
 * doubles stop being exact and different syscalls would share a key.
 */
class PairMap<V> {
  private readonly m = new Map<number, Map<number, V>>();
  get(token: number, nr: number): V | undefined {
    return this.m.get(token >>> 0)?.get(nr >>> 0);
  }
  set(token: number, nr: number, v: V): void {
    let inner = this.m.get(token >>> 0);
    if (!inner) this.m.set(token >>> 0, (inner = new Map()));
    inner.set(nr >>> 0, v);
  }
}

// ---------------------------------------------------------------------------------------------

interface NrSets {
  gen: number;
  outcomes: Outcome[];
  relevant: number;
}

/** Exact decisions on the verifier's symbolic engine. Create with `SymbolicDecider.create`. */
export class SymbolicDecider implements Decider {
  readonly method = "symbolic" as const;
  private space!: SymbolicSpace;
  private outcomes!: Outcome[];
  private gen = 0;
  private readonly perNr = new PairMap<NrSets>();
  private readonly relevance = new PairMap<number>();

  private constructor(private readonly programs: readonly Program[], private readonly budget?: number) {}

  /** The decider, or Inconclusive when the engine cannot analyse the programs. */
  static create(programs: readonly Program[], budget?: number): SymbolicDecider | Inconclusive {
    const d = new SymbolicDecider(programs, budget);
    const r = d.rebuild();
    return r instanceof Inconclusive ? r : d;
  }

  /**
   * (Re)analyses the programs in a fresh space. Restrictions add BDD nodes that are never freed,
   * so a long replay starts over when the space is half full; cached relevance survives.
   */
  private rebuild(): void | Inconclusive {
    this.space = new SymbolicSpace(this.budget);
    const o = stackOutcomes(this.space, this.programs);
    if (o instanceof Inconclusive) return o;
    this.outcomes = o;
    this.gen++;
  }

  private nrSets(token: number, nr: number): NrSets {
    // Another space (a concurrent replay or verification, across an await) or an engine
    // failure ended ours: analyse again in a fresh one. The answers are the same; only cached
    // BDD ids are lost (per-syscall relevance survives).
    if (!this.space.live) {
      const r = this.rebuild();
      if (r instanceof Inconclusive) throw r;
    }
    let s = this.perNr.get(token, nr);
    if (s && s.gen === this.gen) return s;
    if (this.space.nodeCount() > (this.budget ?? DEFAULT_BUDGET) / 2) {
      const r = this.rebuild();
      if (r instanceof Inconclusive) throw r;
    }
    const sp = this.space;
    const outcomes: Outcome[] = [];
    for (const o of this.outcomes) {
      const set = sp.restrictWord(sp.restrictWord(o.set, 1, token), 0, nr);
      if (set !== FALSE) outcomes.push({ value: o.value, set });
    }
    let relevant = 0;
    if (outcomes.length > 1) {
      for (let w = 2; w < 16; w++) {
        if (outcomes.some((o) => sp.existsWord(o.set, w) !== o.set)) relevant |= 1 << w;
      }
    }
    s = { gen: this.gen, outcomes, relevant };
    this.perNr.set(token, nr, s);
    this.relevance.set(token, nr, relevant);
    return s;
  }

  relevantWords(token: number, nr: number): number {
    return this.relevance.get(token, nr) ?? this.nrSets(token, nr).relevant;
  }

  decide(words: Uint32Array, unknown: number): Decision {
    const base = this.nrSets(words[1], words[0]);
    const sp = this.space; // after nrSets: it may have started a fresh space
    const fixed = base.relevant & ~unknown;
    let live: Outcome[] = [];
    for (const o of base.outcomes) {
      let set = o.set;
      for (let w = 2; w < 16 && set !== FALSE; w++) if (fixed & (1 << w)) set = sp.restrictWord(set, w, words[w]);
      if (set !== FALSE) live.push({ value: o.value, set });
    }
    if (live.length === 0) live = base.outcomes; // cannot happen: the outcomes partition the space
    if (live.length === 1) return { rets: [live[0].value >>> 0], args: [], exact: true };
    let matters = 0;
    for (let w = 2; w < 16; w++) {
      if (!(unknown & base.relevant & (1 << w))) continue;
      if (live.some((o) => sp.existsWord(o.set, w) !== o.set)) matters |= 1 << w;
    }
    return { rets: live.map((o) => o.value >>> 0).sort((a, b) => a - b), args: argsOf(matters), exact: true };
  }
}

// ---------------------------------------------------------------------------------------------

/** Most inputs one probe decision evaluates as a full cartesian product. */
export const PROBE_LIMIT = 4096;

interface NrWalk {
  relevant: number;
  probes: Map<number, number[]>;
  exact: boolean;
}

/** Decisions by evaluating probe inputs in the interpreter (the fallback; see the header). */
export class ProbeDecider implements Decider {
  readonly method = "probe" as const;
  private readonly perNr = new PairMap<NrWalk>();

  constructor(private readonly programs: readonly Program[]) {}

  private info(token: number, nr: number): NrWalk {
    let s = this.perNr.get(token, nr);
    if (s) return s;
    let relevant = 0;
    let exact = true;
    const probes = new Map<number, Set<number>>();
    for (const p of this.programs) {
      const r = walk(p, token, nr);
      relevant |= r.reads & 0xfffc;
      exact &&= r.exact;
      for (const [w, vs] of r.probes) {
        let set = probes.get(w);
        if (!set) probes.set(w, (set = new Set()));
        for (const v of vs) set.add(v);
      }
    }
    s = { relevant, exact, probes: new Map([...probes].map(([w, set]) => [w, [...set].sort((a, b) => a - b)])) };
    this.perNr.set(token, nr, s);
    return s;
  }

  relevantWords(token: number, nr: number): number {
    return this.info(token, nr).relevant;
  }

  private run(inputs: Uint32Array, n: number): Uint32Array {
    const batch = new InputBatch(n, inputs.subarray(0, n * 16));
    return this.programs.length === 1 ? evaluateBatch(this.programs[0], batch).rets : evaluateStack(this.programs, batch);
  }

  decide(words: Uint32Array, unknown: number): Decision {
    const info = this.info(words[1], words[0]);
    const ws: number[] = [];
    for (let w = 2; w < 16; w++) if (unknown & info.relevant & (1 << w)) ws.push(w);
    if (ws.length === 0) {
      const rets = this.run(Uint32Array.from(words), 1);
      return { rets: [rets[0] >>> 0], args: [], exact: true };
    }
    const vals = ws.map((w) => info.probes.get(w) ?? [0, 0xffffffff]);
    let total = 1;
    for (const v of vals) total *= v.length;
    const full = total <= PROBE_LIMIT;
    // Digits per input: full product, or "star" sampling (each word alone over its probes,
    // the others at their first probe) plus pseudo-random combinations.
    const digits: number[][] = [];
    if (full) {
      const d = new Array(ws.length).fill(0);
      for (let i = 0; i < total; i++) {
        digits.push(d.slice());
        for (let j = 0; j < d.length; j++) {
          if (++d[j] < vals[j].length) break;
          d[j] = 0;
        }
      }
    } else {
      for (let j = 0; j < ws.length; j++) {
        for (let v = 0; v < vals[j].length; v++) {
          const d = new Array(ws.length).fill(0);
          d[j] = v;
          digits.push(d);
        }
      }
      let seed = 0x9e3779b9;
      const rnd = (n: number): number => {
        seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
        return seed % n;
      };
      for (let i = 0; i < PROBE_LIMIT; i++) digits.push(vals.map((v) => rnd(v.length)));
    }
    const n = digits.length;
    const inputs = new Uint32Array(n * 16);
    for (let i = 0; i < n; i++) {
      inputs.set(words, i * 16);
      for (let j = 0; j < ws.length; j++) inputs[i * 16 + ws[j]] = vals[j][digits[i][j]];
    }
    const rets = this.run(inputs, n);
    const distinct = [...new Set(Array.from(rets, (r) => r >>> 0))].sort((a, b) => a - b);
    const exact = full && info.exact;
    if (distinct.length === 1) return { rets: distinct, args: [], exact };
    // An argument matters when two probes that differ only in its words give different results.
    const argIds = [...new Set(ws.map(argOfWord))];
    const matters: number[] = [];
    for (const a of argIds) {
      const seen = new Map<string, number>();
      let differs = false;
      for (let i = 0; i < n && !differs; i++) {
        const k = digits[i].map((d, j) => (argOfWord(ws[j]) === a ? "*" : d)).join(",");
        const prev = seen.get(k);
        if (prev === undefined) seen.set(k, rets[i] >>> 0);
        else if (prev !== rets[i] >>> 0) differs = true;
      }
      if (differs) matters.push(a);
    }
    // Star sampling may not pair probes that differ in one argument only; then name every
    // argument that varied (a superset, and the decision is not exact anyway).
    return { rets: distinct, args: matters.length ? matters : argIds.sort((x, y) => x - y), exact };
  }
}

export const DECIDER_CHOICES = ["auto", "symbolic", "probe"] as const;
export type DeciderChoice = (typeof DECIDER_CHOICES)[number];

/** The symbolic engine gave up and the caller asked for it alone (exit 3). */
export class InconclusiveDecisionError extends SysfenceError {
  constructor(reason: string) {
    super(`the symbolic engine cannot decide for this filter: ${reason} (--decider auto falls back to probing)`, {
      exitCode: ExitCode.INCONCLUSIVE,
    });
  }
}

/**
 * Symbolic first; if the engine gives up later (a budget, on some restriction), the probes
 * from then on. Relevance already computed symbolically stays valid (it is exact).
 */
class AutoDecider implements Decider {
  private probe: ProbeDecider | undefined;
  constructor(private readonly sym: SymbolicDecider, private readonly programs: readonly Program[]) {}
  get method(): "symbolic" | "probe" {
    return this.probe ? "probe" : "symbolic";
  }
  private fallback(): ProbeDecider {
    this.probe ??= new ProbeDecider(this.programs);
    return this.probe;
  }
  relevantWords(token: number, nr: number): number {
    if (!this.probe) {
      try {
        return this.sym.relevantWords(token, nr);
      } catch (e) {
        if (!(e instanceof Inconclusive)) throw e;
      }
    }
    return this.fallback().relevantWords(token, nr);
  }
  decide(words: Uint32Array, unknown: number): Decision {
    if (!this.probe) {
      try {
        return this.sym.decide(words, unknown);
      } catch (e) {
        if (!(e instanceof Inconclusive)) throw e;
      }
    }
    // `unknown` was cut to the exact relevance: words outside it cannot change the result.
    return this.fallback().decide(words, unknown);
  }
}

/** The symbolic decider, but an engine limit is an error (for --decider symbolic). */
class StrictSymbolic implements Decider {
  readonly method = "symbolic" as const;
  constructor(private readonly sym: SymbolicDecider) {}
  relevantWords(token: number, nr: number): number {
    try {
      return this.sym.relevantWords(token, nr);
    } catch (e) {
      throw e instanceof Inconclusive ? new InconclusiveDecisionError(e.reason) : e;
    }
  }
  decide(words: Uint32Array, unknown: number): Decision {
    try {
      return this.sym.decide(words, unknown);
    } catch (e) {
      throw e instanceof Inconclusive ? new InconclusiveDecisionError(e.reason) : e;
    }
  }
}

/**
 * The decider for a filter stack: symbolic when the engine can analyse it, else the probes
 * (also when it gives up later). `choice` forces one; "symbolic" then fails with
 * InconclusiveDecisionError (exit 3) where the engine cannot decide.
 */
export function makeDecider(programs: readonly Program[], choice: DeciderChoice = "auto", budget?: number): Decider {
  if (choice !== "probe") {
    const d = SymbolicDecider.create(programs, budget);
    if (!(d instanceof Inconclusive)) return choice === "symbolic" ? new StrictSymbolic(d) : new AutoDecider(d, programs);
    if (choice === "symbolic") throw new InconclusiveDecisionError(d.reason);
  }
  return new ProbeDecider(programs);
}
