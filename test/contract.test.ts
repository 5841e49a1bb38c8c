// The engine <-> host contract (assembly/contract.ts): the host's generated copy is current, and
// every value equals the global the built engine exports, so the two sides cannot drift.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
// @ts-expect-error: a plain ESM script without declarations
import { render, parseContract, OUTPUT } from "../scripts/gen-contract.mjs";
import * as C from "../src/engine/contract.generated.js";
import { check } from "../src/engine/check.js";
import { classicName } from "../src/engine/check.js";
import { Program } from "../src/engine/program.js";
import { opcodes, successors, Form } from "../src/engine/opcodes.js";

interface Const { name: string; type: string; value: number }

const wasm = new WebAssembly.Module(readFileSync(join(repoRoot, "build", "sysfence.wasm")));

describe("engine <-> host contract", () => {
  const consts = parseContract() as Const[];

  it("the committed host module is what scripts/gen-contract.mjs writes", () => {
    expect(readFileSync(OUTPUT, "utf8")).toBe(render());
  });

  it("every constant equals the engine's exported global", () => {
    const inst = new WebAssembly.Instance(wasm, { env: { abort() {}, seed: () => 0 } });
    expect(consts.length).toBeGreaterThan(80);
    for (const c of consts) {
      const g = inst.exports[c.name] as WebAssembly.Global | undefined;
      expect(g, c.name).toBeInstanceOf(WebAssembly.Global);
      const v = c.type === "i32" ? Number(g!.value) | 0 : Number(g!.value) >>> 0;
      expect([c.name, v]).toEqual([c.name, c.value]);
      expect([c.name, (C as Record<string, number>)[c.name]]).toEqual([c.name, c.value]);
    }
  });

  it("the host names every code the engine reports as classic-only, from the code's fields", () => {
    const classicOnly: number[] = [];
    for (let code = 0; code < 0x10000; code++) {
      const errs = check(Program.fromInsns([{ code, jt: 0, jf: 0, k: 1 }, { code: 0x06, jt: 0, jf: 0, k: 0 }]));
      if (errs.some((e) => e.kind === "not-seccomp-opcode")) classicOnly.push(code);
    }
    // The engine's list (assembly/opcodes.ts CLASSIC_ONLY) is the one list; the host names each
    // code from its fields.
    expect(classicOnly.map((c) => [c, classicName(c)])).toEqual([
      [0x28, "ld h abs (packet load)"], [0x30, "ld b abs (packet load)"], [0x40, "ld w ind (indexed packet load)"],
      [0x48, "ld h ind (indexed packet load)"], [0x50, "ld b ind (indexed packet load)"], [0x94, "mod k"],
      [0x9c, "mod x"], [0xb1, "ldx b msh (IP header length load)"],
    ]);
  });

  it("the opcode table read from the engine uses the contract's forms", () => {
    const forms = new Set(opcodes().map((o) => o.form));
    expect(opcodes()).toHaveLength(41);
    for (const f of forms) expect(Object.values(Form)).toContain(f);
    expect(forms.has(Form.NONE)).toBe(false);
  });

  it("successors: ret ends, ja jumps, conditionals branch true then false, the rest falls through", () => {
    const code = (m: string, f: number) => opcodes().find((o) => o.mnemonic === m && o.form === f)!.code;
    // Targets as [to, kind] pairs: where control goes and how (the graph labels edges by kind).
    const succ = (ins: { code: number; jt: number; jf: number; k: number }, pc: number) => successors(ins, pc).map((e) => [e.to, e.kind]);
    expect(succ({ code: code("ret", Form.RET_K), jt: 0, jf: 0, k: 0 }, 3)).toEqual([]);
    expect(succ({ code: code("ret", Form.RET_A), jt: 0, jf: 0, k: 0 }, 3)).toEqual([]);
    expect(succ({ code: code("ja", Form.JA), jt: 0, jf: 0, k: 5 }, 3)).toEqual([[9, "jump"]]);
    expect(succ({ code: code("jeq", Form.JCOND_K), jt: 1, jf: 2, k: 5 }, 3)).toEqual([[5, "true"], [6, "false"]]);
    expect(succ({ code: code("jgt", Form.JCOND_X), jt: 0, jf: 7, k: 0 }, 0)).toEqual([[1, "true"], [8, "false"]]);
    expect(succ({ code: code("add", Form.ALU_K), jt: 9, jf: 9, k: 5 }, 3)).toEqual([[4, "next"]]);
    expect(succ({ code: 0x28, jt: 0, jf: 0, k: 0 }, 3)).toEqual([]);
  });
});
