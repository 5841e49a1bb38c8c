// Every counterexample the verifier prints for a native (x86_64) input is confirmed by the real
// kernel: both programs are installed in the oracle (test/native/oracle.c) and given the
// counterexample's nr and arguments; the kernel's answers must be the results the verifier
// reported. Programs here never read the instruction pointer (the oracle fixes it).
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { Program, type Insn } from "../src/engine/program.js";
import { subset, equal, Inconclusive } from "../src/verify/relations.js";
import { Rng, genValid, runSeed, soakFactor } from "./support/randprog.js";
import {
  oracleSkipReason, kernelEval, rewriteForEval, originalAnswer, agreesWithOriginal, EVAL_FLOOR, WIRE_WORDS,
  type EvalJob,
} from "./support/oracle.js";

const why = oracleSkipReason();
const SEED = runSeed();

/** A native arch check in front, and no instruction-pointer loads. */
function native(insns: Insn[]): Insn[] {
  const body = insns.map((x) => (x.code === 0x20 && (x.k === 8 || x.k === 12) ? { ...x, k: 16 } : x));
  return [
    { code: 0x20, jt: 0, jf: 0, k: 4 },
    { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
    { code: 0x06, jt: 0, jf: 0, k: 0x00050fff },
    ...body,
  ];
}

describe("verifier counterexamples on the real kernel", skipWhen(why), () => {
  it(`are what the kernel does (seed ${SEED})`, async () => {
    const rng = new Rng(SEED ^ 0x4b45524e);
    const cases: { a: Insn[]; b: Insn[]; words: number[]; results: number[] }[] = [];
    for (let i = 0; i < 300 * soakFactor() && cases.length < 60 * soakFactor(); i++) {
      const a = native(genValid(rng, { maxLen: 30 }).insns);
      const b = rng.chance(0.5) ? native(genValid(rng, { maxLen: 30 }).insns) : a.map((x) => (x.code === 0x06 && rng.chance(0.3) ? { ...x, k: 0x7fff0000 } : x));
      // Half the counterexamples come from the symbolic engine alone, half may come from
      // falsification first: the kernel must confirm both kinds.
      const opts = { budget: 1 << 18, falsify: rng.chance(0.5) };
      const v = rng.chance(0.5) ? equal(Program.fromInsns(a), Program.fromInsns(b), opts) : subset(Program.fromInsns(a), Program.fromInsns(b), opts);
      if (v instanceof Inconclusive || v.holds) continue;
      const cx = v.counterexample;
      if ((cx.words[1] >>> 0) !== 0xc000003e) continue; // only native inputs can be replayed
      if (cx.words[0] === 335 || cx.words[0] === 336) continue; // these bypass seccomp
      cases.push({ a, b, words: cx.words, results: cx.results });
    }
    expect(cases.length).toBeGreaterThan(10);
    const jobs: EvalJob[] = [];
    const rws: ReturnType<typeof rewriteForEval>[] = [];
    for (const c of cases) {
      const wire = new Uint32Array(WIRE_WORDS);
      wire[0] = c.words[0];
      for (let a = 0; a < 6; a++) {
        wire[2 + 2 * a] = c.words[4 + 2 * a]; // little-endian: low word first
        wire[3 + 2 * a] = c.words[5 + 2 * a];
      }
      for (const side of [c.a, c.b]) {
        const rw = rewriteForEval(side);
        rws.push(rw);
        jobs.push({ floor: EVAL_FLOOR, bodies: [rw.body], inputs: wire });
      }
    }
    const ans = await kernelEval(jobs);
    let confirmed = 0;
    cases.forEach((c, i) => {
      for (let s = 0; s < 2; s++) {
        const r = ans.results[2 * i + s];
        expect(r.install, `case ${i} side ${s}`).toBe(0);
        const got = originalAnswer(r.obs[0], rws[2 * i + s]);
        expect(agreesWithOriginal(got, c.results[s]), `case ${i} side ${s}: kernel ${JSON.stringify(got)} vs verifier 0x${c.results[s].toString(16)} (seed ${SEED})`).toBe(true);
        confirmed++;
      }
    });
    console.log(`[verify-kernel] ${cases.length} counterexamples, ${confirmed} results confirmed by the kernel`);
  });
});
