// The compiler against the reference evaluator on random policies: every compiled program is
// accepted by the checker and, run by the interpreter, gives exactly the IR's action on
// boundary and random inputs.
import { describe, it, expect } from "vitest";
import { compileIR } from "../src/policy/compile.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import { check } from "../src/engine/check.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { disassemble } from "../src/text/disasm.js";
import { randomPolicy, boundaryInputs, rng } from "./support/policygen.js";

const SEED = Number(process.env.SYSFENCE_SEED ?? Date.now() % 1_000_000);
const FACTOR = Number(process.env.SYSFENCE_SOAK_FACTOR ?? 1);

describe("compiler vs reference evaluator (random policies)", () => {
  it(`agrees on every input (seed ${SEED})`, () => {
    const rand = rng(SEED);
    const policies = 200 * FACTOR;
    let inputs = 0;
    for (let i = 0; i < policies; i++) {
      const ir = randomPolicy(rand);
      const prog = compileIR(ir);
      expect(check(prog), `policy ${i} (seed ${SEED})`).toEqual([]);
      // Deterministic: compiling again gives the same bytes.
      expect(Buffer.from(compileIR(ir).bytes)).toEqual(Buffer.from(prog.bytes));
      const data = boundaryInputs(ir, rand, 2000);
      const endian = ir.arches[0].arch.endian;
      const rets = evaluateBatch(prog, InputBatch.of(data, endian)).rets;
      for (let j = 0; j < data.length; j++) {
        const want = evaluatePolicy(ir, data[j]);
        if ((rets[j] >>> 0) !== want) {
          throw new Error(`seed ${SEED} policy ${i} input ${JSON.stringify(data[j], (_, v) => (typeof v === "bigint" ? "0x" + v.toString(16) : v))}: ` +
            `program 0x${(rets[j] >>> 0).toString(16)} vs reference 0x${want.toString(16)}\n${disassemble(prog)}`);
        }
      }
      inputs += data.length;
    }
    expect(inputs).toBe(policies * 2000);
  });

  it(`agrees on 100,000 inputs per policy for 20 random policies (seed ${SEED})`, () => {
    const rand = rng(SEED ^ 0x5eed);
    for (let i = 0; i < 20 * FACTOR; i++) {
      const ir = randomPolicy(rand);
      const prog = compileIR(ir);
      const data = boundaryInputs(ir, rand, 100_000);
      const rets = evaluateBatch(prog, InputBatch.of(data, ir.arches[0].arch.endian)).rets;
      let bad = 0;
      for (let j = 0; j < data.length; j++) if ((rets[j] >>> 0) !== evaluatePolicy(ir, data[j])) bad++;
      expect(bad, `seed ${SEED} large policy ${i}`).toBe(0);
    }
  });
});
