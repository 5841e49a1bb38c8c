// The JIT (program -> Wasm module) against the interpreter on random programs of every opcode,
// including DIV by X == 0, shifts by X >= 32 and scratch memory.
import { describe, it, expect } from "vitest";
import { Program } from "../src/engine/program.js";
import { InputBatch } from "../src/engine/data.js";
import { evaluateBatch } from "../src/engine/run.js";
import { Rng, genValid, runSeed, soakFactor } from "./support/randprog.js";

const SEED = runSeed();

describe("jit", () => {
  it(`equals the interpreter (seed ${SEED})`, () => {
    const rng = new Rng(SEED);
    let pairs = 0;
    for (let i = 0; i < 300 * soakFactor(); i++) {
      const g = genValid(rng, { maxLen: rng.chance(0.1) ? 4096 : 150 });
      const p = Program.fromInsns(g.insns);
      const b = new InputBatch(200);
      for (let j = 0; j < b.words.length; j++) {
        b.words[j] = rng.chance(0.5) ? (rng.pick(g.pool) + rng.pick([-1, 0, 1])) >>> 0 : rng.chance(0.5) ? rng.int(64) : rng.u32();
      }
      const a = evaluateBatch(p, b, { engine: "interpreter" }).rets;
      const c = evaluateBatch(p, b, { engine: "jit" }).rets;
      expect(Buffer.from(c.buffer), `program ${i} (seed ${SEED})`).toEqual(Buffer.from(a.buffer));
      pairs += b.count;
    }
    expect(pairs).toBe(300 * soakFactor() * 200);
  });
});
