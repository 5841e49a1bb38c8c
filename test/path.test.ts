// The executed path of one input (src/engine/path.ts), checked against its definition on random
// programs of every opcode: an instruction is on the path exactly when replacing it with
// `ret MARK` makes the program return MARK. That test asks the engine about every instruction,
// not only the branch targets the path walk asks about, so a wrong branch choice shows.
import { describe, it, expect } from "vitest";
import { Rng, runSeed, genValid, genInputs, INPUT_WORDS } from "./support/randprog.js";
import { Program } from "../src/engine/program.js";
import { executedPath } from "../src/engine/path.js";
import { evaluateBatch } from "../src/engine/run.js";
import { accepted } from "../src/engine/check.js";
import { InputBatch, type SeccompData } from "../src/engine/data.js";
import { opcodeInfo, Form } from "../src/engine/opcodes.js";

const X86_64 = 0xc000003e;
const seed = runSeed();

function dataOf(words: Uint32Array, at: number): SeccompData {
  const args: bigint[] = [];
  for (let a = 0; a < 6; a++) args.push((BigInt(words[at + 3 + 2 * a]) << 32n) | BigInt(words[at + 2 + 2 * a]));
  return { nr: words[at], arch: X86_64, args, instructionPointer: 0n };
}

describe(`executed path (seed ${seed})`, () => {
  it("is exactly the set of instructions whose replacement by a return changes the result", () => {
    const rng = new Rng(seed);
    let checked = 0;
    for (let n = 0; n < 60; n++) {
      const g = genValid(rng, { maxLen: 60 });
      const p = Program.fromInsns(g.insns);
      const words = genInputs(rng, g.pool, 8);
      for (let i = 0; i < 8; i++) {
        const data = dataOf(words, i * INPUT_WORDS);
        const { path, ret } = executedPath(p, data);
        expect(ret).toBe(evaluateBatch(p, InputBatch.of([data])).rets[0]);
        // A walk from 0, ending at a return or at a division by X (X == 0 ends the program).
        expect(path[0]).toBe(0);
        const last = opcodeInfo(g.insns[path[path.length - 1]].code)!;
        expect(last.form === Form.RET_K || last.form === Form.RET_A || (last.form === Form.ALU_X && /^(div|mod)$/.test(last.mnemonic))).toBe(true);
        expect(new Set(path).size).toBe(path.length);
        const on = new Set(path);
        const mark = (ret + 1) >>> 0;
        for (let pc = 0; pc < g.insns.length; pc++) {
          const insns = g.insns.slice();
          insns[pc] = { code: 0x06, jt: 0, jf: 0, k: mark };
          const q = Program.fromInsns(insns);
          if (!accepted(q)) continue; // a removed scratch store: the kernel's check refuses the copy
          const r = evaluateBatch(q, InputBatch.of([data])).rets[0];
          expect(r === mark, `seed ${seed} program ${n} input ${i} pc ${pc}`).toBe(on.has(pc));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });
});
