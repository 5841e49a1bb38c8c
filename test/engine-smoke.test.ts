import { describe, it, expect } from "vitest";
import { Program } from "../src/engine/program.js";
import { check } from "../src/engine/check.js";
import { evaluate } from "../src/engine/run.js";
import { opcodes } from "../src/engine/opcodes.js";

describe("engine smoke", () => {
  it("has 41 opcodes", () => {
    expect(opcodes().length).toBe(41);
  });
  it("checks and runs", () => {
    const p = Program.fromInsns([
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 0, jf: 1, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
      { code: 0x06, jt: 0, jf: 0, k: 0x00050001 },
    ]);
    expect(check(p)).toEqual([]);
    expect(evaluate(p, { nr: 1, arch: 0xc000003e }).action).toBe("ALLOW");
    expect(evaluate(p, { nr: 1, arch: 0x40000003 })).toMatchObject({ action: "ERRNO", data: 1 });
  });
});
