import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readJsonArray, writeJsonArray } from "../src/formats/jsonarray.js";
import { Program, type Insn } from "../src/engine/program.js";
import { errorOf } from "./support/errors.js";

const ALLOW_ALL = Program.fromInsns([
  { code: 0x20, jt: 0, jf: 0, k: 4 },
  { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
  { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
  { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
]);


describe("JSON instruction arrays", () => {
  it("writes one object per line", () => {
    expect(writeJsonArray(ALLOW_ALL)).toBe(
      '[\n  {"code":32,"jt":0,"jf":0,"k":4},\n  {"code":21,"jt":1,"jf":0,"k":3221225534},\n' +
        '  {"code":6,"jt":0,"jf":0,"k":2147483648},\n  {"code":6,"jt":0,"jf":0,"k":2147418112}\n]\n',
    );
    expect(writeJsonArray(Program.fromInsns([]))).toBe("[]\n");
    expect(JSON.parse(writeJsonArray(ALLOW_ALL))[1]).toEqual({ code: 21, jt: 1, jf: 0, k: 0xc000003e });
  });

  it("reads objects, 4-arrays, hex and decimal strings, mixed", () => {
    const text = `[
      {"code": 32, "jt": 0, "jf": 0, "k": 4},
      [21, 1, 0, 3221225534],
      ["0x06", "0", "0x0", "0x80000000"],
      {"k": "2147418112", "jf": 0, "jt": 0, "code": "0X6"}
    ]`;
    expect(readJsonArray(text).equals(ALLOW_ALL)).toBe(true);
    expect(readJsonArray("\uFEFF[]").length).toBe(0);
  });

  it("round-trips any instructions (property)", () => {
    const insn = fc.record({
      code: fc.integer({ min: 0, max: 0xffff }),
      jt: fc.integer({ min: 0, max: 255 }),
      jf: fc.integer({ min: 0, max: 255 }),
      k: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(fc.array(insn, { maxLength: 200 }), (insns: Insn[]) => {
        const p = Program.fromInsns(insns);
        expect(readJsonArray(writeJsonArray(p)).bytes).toEqual(p.bytes);
      }),
    );
  });

  describe("errors name the file and the array index", () => {
    const cases: [string, string][] = [
      ['[{"code":32,"jt":0,"jf":0,"k":4294967296}]', 'instruction 0 (array index 0): "k" is out of range: 4294967296 (allowed 0..4294967295)'],
      ['[[6,0,0,0],{"code":65536,"jt":0,"jf":0,"k":0}]', 'instruction 1 (array index 1): "code" is out of range: 65536 (allowed 0..65535)'],
      ['[[6,256,0,0]]', 'instruction 0 (array index 0): "jt" is out of range: 256 (allowed 0..255)'],
      ['[[6,0,-1,0]]', 'instruction 0 (array index 0): "jf" is out of range: -1 (allowed 0..255)'],
      // lossless: no rounding to a nearby double that would pass the range check
      ['[[6,0,0,4294967295.5]]', 'instruction 0 (array index 0): "k" must be an integer, got 4294967295.5'],
      ['[[6,0,0,1e3]]', 'instruction 0 (array index 0): "k" must be an integer, got 1e3'],
      ['[[6,0,0,18446744073709551617]]', 'instruction 0 (array index 0): "k" is out of range: 18446744073709551617 (allowed 0..4294967295)'],
      ['[[6,0,0,"0x1ffffffff"]]', 'instruction 0 (array index 0): "k" is out of range: 0x1ffffffff (allowed 0..4294967295)'],
      ['[[6,0,0,"ret"]]', 'instruction 0 (array index 0): "k" must be an integer (decimal or "0x" hex), got "ret"'],
      ['[[6,0,0,null]]', 'instruction 0 (array index 0): "k" must be an integer, got null'],
      ['[[6,0,0,true]]', 'instruction 0 (array index 0): "k" must be an integer, got boolean'],
      ['[[6,0,0,[1]]]', 'instruction 0 (array index 0): "k" must be an integer, got an array'],
      ['[[6,0,0]]', "instruction 0 (array index 0): expected [code, jt, jf, k], got 3 values"],
      ['[[6,0,0,0,0]]', "instruction 0 (array index 0): expected [code, jt, jf, k], got 5 values"],
      ['[{"code":6,"jt":0,"k":0}]', 'instruction 0 (array index 0): missing field "jf"'],
      ['[{"code":6,"jt":0,"jf":0,"k":0,"comment":"x"}]', 'instruction 0 (array index 0): unknown field "comment" (expected code, jt, jf, k)'],
      ['[6]', 'instruction 0 (array index 0): expected an object {"code","jt","jf","k"} or an array [code, jt, jf, k]'],
      ['["0x06"]', 'instruction 0 (array index 0): expected an object {"code","jt","jf","k"} or an array [code, jt, jf, k]'],
      ['{"code":6}', "expected a JSON array of instructions"],
      ['[[6,0,0,0],\n [6,0,0,0]\n [6,0,0,0]]', "invalid JSON: Comma ',' expected after value but got '[' (line 3, column 2)"],
      ['[{"code":6,"code":7,"jt":0,"jf":0,"k":0}]', "invalid JSON: Duplicate key 'code' encountered (line 1, column 13)"],
      ["", "invalid JSON: JSON value expected but reached end of input (line 1, column 1)"],
    ];
    for (const [text, message] of cases) {
      it(message, () => {
        const e = errorOf(() => readJsonArray(text, "prog.json"));
        expect(e.message).toBe(message);
        expect(e.where).toBe("prog.json");
      });
    }
  });
});
