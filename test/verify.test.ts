// The symbolic verifier: exact partitions checked against the interpreter on random programs,
// relations on corpus policies, and agreement with random testing on random program pairs.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Program } from "../src/engine/program.js";
import { InputBatch } from "../src/engine/data.js";
import { evaluateBatch } from "../src/engine/run.js";
import { compilePolicyText } from "../src/policy/index.js";
import { findArch } from "../src/syscalls/arches.js";
import { SymbolicSpace, Inconclusive, Witnesses } from "../src/verify/symbolic.js";
import { subset, equal, stricter, stackEquals, effective, allows } from "../src/verify/relations.js";
import { Rng, genValid, runSeed, soakFactor } from "./support/randprog.js";
import { corpusPath } from "./support/corpus.js";

const SEED = runSeed();
// A smaller node budget than the CLI's keeps random programs that multiply input words from
// dominating the run time; they come back inconclusive, which the tests allow and count.
const BUDGET = 1 << 18;
const FACTOR = soakFactor();

/** 16-word inputs near the program's constants (arch fixed to x86_64 for half of them). */
function inputs(rng: Rng, pool: number[], n: number): InputBatch {
  const b = new InputBatch(n);
  for (let i = 0; i < n; i++) {
    for (let w = 0; w < 16; w++) {
      const r = rng.int(10);
      b.words[i * 16 + w] = r < 5 ? (rng.pick(pool) + rng.pick([-1, 0, 1])) >>> 0 : r < 7 ? rng.int(64) : rng.u32();
    }
    if (rng.chance(0.5)) b.words[i * 16 + 1] = 0xc000003e;
  }
  return b;
}

describe("symbolic partitions equal the interpreter", () => {
  it(`on random programs of every opcode (seed ${SEED})`, () => {
    const rng = new Rng(SEED);
    let checked = 0;
    let inconclusive = 0;
    for (let i = 0; i < 150 * FACTOR; i++) {
      const g = genValid(rng, { maxLen: 80 });
      const p = Program.fromInsns(g.insns);
      const space = new SymbolicSpace(BUDGET);
      const outs = space.analyze(p);
      if (outs instanceof Inconclusive) {
        inconclusive++;
        continue;
      }
      const batch = inputs(rng, g.pool, 300);
      const rets = evaluateBatch(p, batch).rets;
      for (let j = 0; j < batch.count; j++) {
        // The input lies in exactly one outcome set, and that outcome's value is the result.
        let f = 0;
        let hit: number | undefined;
        for (const o of outs) {
          let s = o.set;
          for (let w = 0; w < 16 && s > 1; w++) s = space.restrictWord(s, w, batch.words[j * 16 + w]);
          if (s === 1) {
            f++;
            hit = o.value;
          }
        }
        expect(f, `program ${i} input ${j} (seed ${SEED})`).toBe(1);
        expect(hit, `program ${i} input ${j} (seed ${SEED})`).toBe(rets[j] >>> 0);
        checked++;
      }
    }
    console.log(`[verify] ${checked} (program, input) pairs agree; ${inconclusive} programs inconclusive`);
    // Random programs multiply and divide input words; some exceed the budgets (reported, never
    // answered wrongly). Compiler-shaped filters never do (corpus tests).
    expect(inconclusive).toBeLessThan(50 * FACTOR); // typically 20-40 of 150
  });
});

describe("the backward and forward analyses give the same partition", () => {
  it(`as the same BDD ids in one space, on random programs (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0x5a5a);
    let both = 0;
    for (let i = 0; i < 150 * FACTOR; i++) {
      const g = genValid(rng, { maxLen: 80 });
      const p = Program.fromInsns(g.insns);
      const space = new SymbolicSpace(BUDGET);
      const back = space.analyze(p, "backward");
      if (space.overflowed) continue; // the space is spent; nothing to compare
      const fwd = space.analyze(p, "forward");
      if (back instanceof Inconclusive || fwd instanceof Inconclusive) continue;
      const norm = (o: { value: number; set: number }[]) => o.map((x) => [x.value, x.set]).sort((x, y) => x[0] - y[0]);
      expect(norm(back), `program ${i} (seed ${SEED})`).toEqual(norm(fwd));
      both++;
    }
    console.log(`[verify] ${both} programs: backward and forward partitions identical`);
    expect(both).toBeGreaterThan(100 * FACTOR);
  });
});

/**
 * The relational analysis of A and B and, in the same BDD space, what the two whole partitions
 * say: for each pair of differing values, the intersection of their sets (keyed "a/b").
 * Undefined when either side is inconclusive.
 */
function relateBoth(pa: Program, pb: Program) {
  const space = new SymbolicSpace(BUDGET);
  const rel = space.relate(pa, pb);
  if (rel instanceof Inconclusive || space.overflowed) return undefined;
  const oa = space.analyze(pa);
  const ob = space.analyze(pb);
  if (oa instanceof Inconclusive || ob instanceof Inconclusive || space.overflowed) return undefined;
  const expected = new Map<string, number>();
  for (const x of oa) for (const y of ob) {
    if (x.value === y.value) continue;
    const s = space.and(x.set, y.set);
    if (s !== 0) expected.set(`${x.value}/${y.value}`, s);
  }
  return { rel, expected, got: new Map(rel.map((r) => [`${r.a}/${r.b}`, r.set])) };
}

describe("the relational analysis", () => {
  it(`equals the difference of the two whole partitions, as BDD ids (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0x7e1a);
    const kinds = { mutated: 0, independent: 0, shifted: 0, same: 0 };
    let compared = 0;
    for (let i = 0; i < 200 * FACTOR; i++) {
      const a = genValid(rng, { maxLen: 60 });
      let bInsns = a.insns.map((x) => ({ ...x }));
      const kind = rng.pick(["mutated", "mutated", "independent", "shifted", "same"] as const);
      if (kind === "mutated") {
        // One constant changed: a comparison's k or a return value; the rest is shared code.
        const at = bInsns.map((x, j) => [x, j] as const).filter(([x]) => ((x.code & 7) === 5 && x.code !== 0x05) || x.code === 0x06);
        if (at.length) {
          const [x, j] = rng.pick(at);
          bInsns[j] = { ...x, k: (x.k + rng.pick([1, -1, 0x10000])) >>> 0 };
        }
      } else if (kind === "independent") bInsns = genValid(rng, { maxLen: 60 }).insns;
      else if (kind === "shifted") bInsns = [{ code: 0x05, jt: 0, jf: 0, k: 0 }, ...bInsns]; // ja +0: same code at other pcs
      kinds[kind]++;
      const pa = Program.fromInsns(a.insns);
      const pb = Program.fromInsns(bInsns);
      const r = relateBoth(pa, pb);
      if (!r) continue;
      expect(r.got, `pair ${i} (${kind}, seed ${SEED})`).toEqual(r.expected);
      if (kind === "same" || kind === "shifted") expect(r.rel, `pair ${i} (${kind})`).toEqual([]);
      compared++;
    }
    console.log(`[verify] relational = partitions on ${compared} pairs ${JSON.stringify(kinds)}`);
    expect(compared).toBeGreaterThan(120 * FACTOR);
  });
});

/**
 * Decision-DAG programs: word loads, masks and long forward K-jumps (the bench's random
 * shape, smaller), where an edited jump constant makes the relational analysis fork and
 * re-analyse suffixes under the cube "A == k".
 */
function dagProgram(rng: Rng, n: number): { code: number; jt: number; jf: number; k: number }[] {
  const insns = [{ code: 0x20, jt: 0, jf: 0, k: 0 }];
  while (insns.length < n - 1) {
    const room = n - 2 - insns.length;
    const r = rng.int(100);
    if (r < 30) insns.push({ code: 0x20, jt: 0, jf: 0, k: rng.pick([0, 4, 16, 20, 24, 28]) });
    else if (r < 38) insns.push({ code: 0x54, jt: 0, jf: 0, k: rng.pick([0xff, 0xffff, 0xfff0, 0x40000000]) });
    else if (r < 85) insns.push({ code: rng.pick([0x15, 0x25, 0x35, 0x45]), jt: Math.min(room, rng.int(40)), jf: Math.min(room, rng.int(40)), k: rng.int(60) });
    else insns.push({ code: 0x06, jt: 0, jf: 0, k: rng.pick([0x7fff0000, 0x00050001, 0x80000000, 0x00030000]) });
  }
  insns.push({ code: 0x06, jt: 0, jf: 0, k: rng.pick([0x7fff0000, 0x00050001, 0x80000000, 0x00030000]) });
  return insns;
}

describe("the relational analysis under cubes", () => {
  it(`equals the partitions on decision DAGs with one jump constant edited (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0xc0be);
    let compared = 0;
    let differing = 0;
    for (let i = 0; i < 150 * FACTOR; i++) {
      const a = dagProgram(rng, rng.range(20, 300));
      const b = a.map((x) => ({ ...x }));
      // An early jump, so that most inputs pass it.
      const jumps = b.map((x, j) => [x, j] as const).filter(([x, j]) => (x.code & 0xf0) !== 0 && (x.code & 7) === 5 && x.jt !== x.jf && j < 30);
      if (!jumps.length) continue;
      const [x, j] = rng.pick(jumps);
      b[j] = { ...x, k: (x.k + rng.pick([1, -1, 2])) >>> 0 };
      const pa = Program.fromInsns(a);
      const pb = Program.fromInsns(b);
      const r = relateBoth(pa, pb);
      if (!r) continue;
      expect(r.got, `pair ${i} (seed ${SEED})`).toEqual(r.expected);
      compared++;
      if (r.rel.length) differing++;
    }
    console.log(`[verify] relational = partitions on ${compared} edited decision DAGs (${differing} differ)`);
    expect(compared).toBeGreaterThan(100 * FACTOR);
    expect(differing).toBeGreaterThan(0);
  });
});

describe("witnesses of a stopped relational analysis", () => {
  it(`each make the two programs return different values (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0x3177);
    let stopped = 0;
    let inputs = 0;
    for (let i = 0; i < 500 * FACTOR; i++) {
      const a = dagProgram(rng, rng.range(100, 400));
      const b = a.map((x) => ({ ...x }));
      const jumps = b.map((x, j) => [x, j] as const).filter(([x, j]) => (x.code & 0xf0) !== 0 && (x.code & 7) === 5 && x.jt !== x.jf && j > 20);
      if (!jumps.length) continue;
      const [x, j] = rng.pick(jumps);
      b[j] = { ...x, k: (x.k + 1) >>> 0 };
      const pa = Program.fromInsns(a);
      const pb = Program.fromInsns(b);
      // A small budget, so that the analysis grows "costly" and searches for witnesses.
      const r = new SymbolicSpace(1 << 12).relateOrWitnesses(pa, pb);
      if (!(r instanceof Witnesses)) continue;
      stopped++;
      for (const w of r.inputs) {
        const batch = new InputBatch(1, Uint32Array.from(w));
        expect(evaluateBatch(pa, batch).rets[0], `pair ${i} (seed ${SEED})`).not.toBe(evaluateBatch(pb, batch).rets[0]);
        inputs++;
      }
    }
    console.log(`[verify] ${stopped} analyses stopped with ${inputs} witnesses, each a real difference`);
    expect(stopped).toBeGreaterThan(0);
  });
});

type Stats = { holds: number; fails: number; inconclusive: number; falsified: number; differing: number };

/**
 * Runs A and B on `n` inputs near `pool`; whenever that finds a difference (or an input A
 * allows and B does not), equal (subset) must say "does not hold". The symbolic engine is
 * asked alone (no falsification first) and then with falsification: the answers must match.
 */
function againstTesting(pa: Program, pb: Program, pool: number[], n: number, rng: Rng, stats: Stats, label: string): void {
  const batch = inputs(rng, pool, n);
  const ra = evaluateBatch(pa, batch).rets;
  const rb = evaluateBatch(pb, batch).rets;
  let differs = false;
  let leaks = false;
  for (let j = 0; j < batch.count; j++) {
    if (effective(ra[j]) !== effective(rb[j])) differs = true;
    if (allows(ra[j]) && !allows(rb[j])) leaks = true;
  }
  if (differs) stats.differing++;
  const eq = equal(pa, pb, { budget: BUDGET, falsify: false });
  const sub = subset(pa, pb, { budget: BUDGET, falsify: false });
  for (const [sym, fast] of [[eq, equal(pa, pb, { budget: BUDGET })], [sub, subset(pa, pb, { budget: BUDGET })]] as const) {
    if (sym instanceof Inconclusive || fast instanceof Inconclusive) continue;
    expect(fast.holds, `${label} with falsification`).toBe(sym.holds);
    if (!fast.holds && fast.nodes === 0) stats.falsified++;
  }
  for (const [v, found] of [[eq, differs], [sub, leaks]] as const) {
    if (v instanceof Inconclusive) {
      stats.inconclusive++;
      continue;
    }
    if (found) expect(v.holds, label).toBe(false);
    v.holds ? stats.holds++ : stats.fails++;
  }
}

/** B: a mutation of A half the time (close pairs are the interesting ones), else random. */
function pairOf(rng: Rng): { pa: Program; pb: Program; pool: number[] } {
  const a = genValid(rng, { maxLen: 40 });
  const bInsns = rng.chance(0.5) ? a.insns.map((x) => ({ ...x })) : genValid(rng, { maxLen: 40 }).insns;
  if (rng.chance(0.5) && bInsns.length > 1) {
    const j = rng.int(bInsns.length);
    if ((bInsns[j].code & 7) === 6) bInsns[j] = { ...bInsns[j], k: rng.pick([0x7fff0000, 0x00050001, 0]) };
  }
  return { pa: Program.fromInsns(a.insns), pb: Program.fromInsns(bInsns), pool: a.pool };
}

describe("relations on random program pairs agree with random testing", () => {
  it(`never says "holds" when testing finds a difference (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0xabc);
    const stats: Stats = { holds: 0, fails: 0, inconclusive: 0, falsified: 0, differing: 0 };
    for (let i = 0; i < 100 * FACTOR; i++) {
      const { pa, pb, pool } = pairOf(rng);
      againstTesting(pa, pb, pool, 2000, rng, stats, `pair ${i} (seed ${SEED})`);
    }
    console.log(`[verify] relations, 2,000 inputs per pair: ${JSON.stringify(stats)}`);
    expect(stats.holds).toBeGreaterThan(0);
    expect(stats.fails).toBeGreaterThan(0);
  });

  it(`with 100,000 inputs per pair (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0xdef);
    const stats: Stats = { holds: 0, fails: 0, inconclusive: 0, falsified: 0, differing: 0 };
    for (let i = 0; i < 15 * FACTOR; i++) {
      const { pa, pb, pool } = pairOf(rng);
      againstTesting(pa, pb, pool, 100_000, rng, stats, `pair ${i} (seed ${SEED})`);
    }
    console.log(`[verify] relations, 100,000 inputs per pair: ${JSON.stringify(stats)}`);
    expect(stats.holds + stats.fails).toBeGreaterThan(0);
  });
});

describe("relations on mutations of the corpus filters agree with random testing", () => {
  const file = corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json");
  it(`never say "holds" when 100,000 inputs find a difference (seed ${SEED})`, () => {
    const text = readFileSync(file!, "utf8");
    const x86_64 = findArch("x86_64")!;
    const rng = new Rng(SEED ^ 0xf1c);
    const stats: Stats = { holds: 0, fails: 0, inconclusive: 0, falsified: 0, differing: 0 };
    for (const thread of ["vmm", "api", "vcpu"]) {
      const pa = compilePolicyText(text, "fc.json", { arch: x86_64, thread }).programs[0].program;
      const insns = pa.insns();
      const pool = insns.filter((x) => (x.code & 7) === 5 || x.code === 0).map((x) => x.k >>> 0);
      for (let m = 0; m < 4 * FACTOR; m++) {
        // One edit: a comparison constant moved by one, a return value changed, or a
        // comparison's targets swapped.
        const b = insns.map((x) => ({ ...x }));
        const jumps = b.map((x, j) => [x, j] as const).filter(([x]) => (x.code & 7) === 5 && x.code !== 0x05);
        const rets = b.map((x, j) => [x, j] as const).filter(([x]) => x.code === 0x06);
        const kind = rng.int(3);
        if (kind === 0) { const [x, j] = rng.pick(jumps); b[j] = { ...x, k: (x.k + rng.pick([1, -1])) >>> 0 }; }
        else if (kind === 1) { const [x, j] = rng.pick(rets); b[j] = { ...x, k: x.k === 0x7fff0000 ? 0x00050001 : 0x7fff0000 }; }
        else { const [x, j] = rng.pick(jumps); b[j] = { ...x, jt: x.jf, jf: x.jt }; }
        againstTesting(pa, Program.fromInsns(b), pool, 100_000, rng, stats, `${thread} mutation ${m} (seed ${SEED})`);
      }
    }
    console.log(`[verify] corpus mutations, 100,000 inputs each: ${JSON.stringify(stats)}`);
    expect(stats.inconclusive).toBe(0);
    expect(stats.fails).toBeGreaterThan(0);
  });
});

describe("stack equality", () => {
  it(`gives the same answers with and without falsification first (seed ${SEED})`, () => {
    const rng = new Rng(SEED ^ 0x57ac);
    const allowAll = Program.fromInsns([{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]);
    const stats = { holds: 0, fails: 0, falsified: 0, inconclusive: 0 };
    for (let i = 0; i < 100 * FACTOR; i++) {
      const a = Program.fromInsns(genValid(rng, { maxLen: 30 }).insns);
      const b = Program.fromInsns(genValid(rng, { maxLen: 30 }).insns);
      // Against a random filter (usually differs), or with a permissive newer phase that
      // changes nothing (holds).
      const [stack, c] = rng.chance(0.5) ? [[a, b], Program.fromInsns(genValid(rng, { maxLen: 30 }).insns)] : [[a, allowAll], a];
      const sym = stackEquals(stack, c, { budget: BUDGET, falsify: false });
      const fast = stackEquals(stack, c, { budget: BUDGET });
      if (sym instanceof Inconclusive || fast instanceof Inconclusive) {
        stats.inconclusive++;
        continue;
      }
      expect(fast.holds, `stack ${i} (seed ${SEED})`).toBe(sym.holds);
      if (!fast.holds && fast.nodes === 0) stats.falsified++;
      sym.holds ? stats.holds++ : stats.fails++;
    }
    console.log(`[verify] stack equality: ${JSON.stringify(stats)}`);
    expect(stats.holds).toBeGreaterThan(0);
    expect(stats.falsified).toBeGreaterThan(0);
  });
});

describe("Firecracker corpus", () => {
  const file = corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json");
  const x86_64 = findArch("x86_64")!;
  const vmm = (text: string) => compilePolicyText(text, "fc.json", { arch: x86_64, thread: "vmm" }).programs[0].program;

  it("vmm ⊂ vmm plus one syscall holds; the reverse does not", () => {
    const text = readFileSync(file!, "utf8");
    const json = JSON.parse(text);
    json.vmm.filter.push({ syscall: "getpid" });
    const base = vmm(text);
    const more = vmm(JSON.stringify(json));
    const t0 = performance.now();
    const r = subset(base, more);
    const ms = performance.now() - t0;
    expect(r).toMatchObject({ holds: true });
    console.log(`[verify] vmm subset of vmm+getpid: ${ms.toFixed(1)} ms`);
    const back = subset(more, base);
    expect(back).toMatchObject({ holds: false });
    if (!(back instanceof Inconclusive) && !back.holds) {
      expect(back.counterexample.syscall).toBe("getpid");
      expect(back.counterexample.arch?.name).toBe("x86_64");
    }
    expect(stricter(base, more)).toMatchObject({ holds: true });
    expect(equal(base, base)).toMatchObject({ holds: true });
  });

  it("vmm ⊂ vmm with one argument condition narrowed does not hold, on that syscall", () => {
    const text = readFileSync(file!, "utf8");
    const json = JSON.parse(text);
    // Narrow the first ioctl rule's value: the original value is no longer allowed.
    const rule = json.vmm.filter.find((r: { syscall: string; args?: unknown[] }) => r.syscall === "ioctl" && r.args);
    rule.args[0].val = rule.args[0].val + 1_000_000;
    const r = subset(vmm(text), vmm(JSON.stringify(json)));
    expect(r).toMatchObject({ holds: false });
    if (!(r instanceof Inconclusive) && !r.holds) {
      const cx = r.counterexample;
      expect(cx.syscall).toBe("ioctl");
      expect(allows(cx.results[0])).toBe(true);
      expect(allows(cx.results[1])).toBe(false);
    }
  });
});
