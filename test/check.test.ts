// The checker against every kernel acceptance fact verified on Linux 6.18
// (docs/kernel.md sections 6-9, rows marked [V]). The differential test against the real
// kernel is test/kernel-check.test.ts; these pin down the named rules one by one.
import { describe, it, expect } from "vitest";
import { Program, type Insn } from "../src/engine/program.js";
import { check, accepted } from "../src/engine/check.js";
import { opcodes } from "../src/engine/opcodes.js";

const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k });
const RET_ALLOW = I(0x06, 0x7fff0000);
const prog = (...insns: Insn[]) => Program.fromInsns(insns);
const kinds = (p: Program) => check(p).map((e) => `${e.index}:${e.kind}`);

describe("length", () => {
  it("rejects 0, accepts 1 and 4096, rejects 4097", () => {
    expect(kinds(prog())).toEqual(["-1:empty"]);
    expect(accepted(prog(RET_ALLOW))).toBe(true);
    expect(accepted(Program.fromInsns(new Array(4096).fill(RET_ALLOW)))).toBe(true);
    expect(kinds(Program.fromInsns(new Array(4097).fill(RET_ALLOW)))).toEqual(["-1:too-long"]);
  });
});

describe("opcodes", () => {
  it("accepts exactly the 41 table codes out of all 65536", () => {
    const ok: number[] = [];
    for (let code = 0; code < 0x10000; code++) {
      // k=1 keeps DIV legal and scratch cells in range; LD ABS needs an aligned offset.
      const k = code === 0x20 ? 4 : code === 0x05 ? 0 : 1; // ja +0 stays inside
      const p = prog(I(0x02, 1), I(0x03, 1), I(code, k), RET_ALLOW); // cells written first
      if (accepted(p)) ok.push(code);
    }
    expect(ok.length).toBe(41);
    expect(new Set(ok)).toEqual(new Set(opcodes().map((o) => o.code)));
  });
  it("names valid classic BPF that seccomp refuses", () => {
    for (const code of [0x28, 0x30, 0x40, 0x48, 0x50, 0xb1, 0x94, 0x9c]) {
      expect(kinds(prog(I(code, 1), RET_ALLOW))).toEqual(["0:not-seccomp-opcode"]);
    }
    expect(kinds(prog(I(0x8006, 0)))).toEqual(["0:unknown-opcode", "0:last-not-ret"]);
    expect(kinds(prog(I(0x62, 0), RET_ALLOW))).toEqual(["0:unknown-opcode"]); // ST spelled with mode bits
    expect(kinds(prog(I(0x8c, 0), RET_ALLOW))).toEqual(["0:unknown-opcode"]); // NEG with the X bit
  });
});

describe("k rules", () => {
  it("LD W ABS: k < 64 and aligned", () => {
    expect(accepted(prog(I(0x20, 60), RET_ALLOW))).toBe(true);
    expect(kinds(prog(I(0x20, 64), RET_ALLOW))).toEqual(["0:load-offset"]);
    expect(kinds(prog(I(0x20, 2), RET_ALLOW))).toEqual(["0:load-alignment"]);
    expect(kinds(prog(I(0x20, 0xfffff000), RET_ALLOW))).toEqual(["0:load-offset"]); // ancillary
  });
  it("DIV by constant 0, shifts >= 32, scratch cells >= 16", () => {
    expect(kinds(prog(I(0x34, 0), RET_ALLOW))).toEqual(["0:div-by-zero"]);
    expect(accepted(prog(I(0x3c, 0), RET_ALLOW))).toBe(true); // div x: a run-time matter
    expect(accepted(prog(I(0x64, 31), RET_ALLOW))).toBe(true);
    expect(kinds(prog(I(0x64, 32), RET_ALLOW))).toEqual(["0:shift-range"]);
    expect(kinds(prog(I(0x74, 32), RET_ALLOW))).toEqual(["0:shift-range"]);
    expect(kinds(prog(I(0x02, 16), RET_ALLOW))).toEqual(["0:scratch-index"]);
    expect(accepted(prog(I(0x02, 15), RET_ALLOW))).toBe(true);
  });
});

describe("jumps", () => {
  it("JA may land on the last instruction, not past it", () => {
    expect(accepted(prog(I(0x05, 1), RET_ALLOW, RET_ALLOW))).toBe(true);
    expect(kinds(prog(I(0x05, 2), RET_ALLOW, RET_ALLOW))).toEqual(["0:ja-range"]);
    // 32-bit unsigned compare: a huge k is out of range, not negative.
    expect(kinds(prog(I(0x05, 0xffffffff), RET_ALLOW))).toEqual(["0:ja-range"]);
  });
  it("conditional targets must both be inside", () => {
    expect(accepted(prog(I(0x15, 0, 1, 0), RET_ALLOW, RET_ALLOW))).toBe(true);
    expect(kinds(prog(I(0x15, 0, 2, 0), RET_ALLOW, RET_ALLOW))).toEqual(["0:jt-range"]);
    expect(kinds(prog(I(0x1d, 0, 0, 2), RET_ALLOW, RET_ALLOW))).toEqual(["0:jf-range"]);
  });
  it("ignores jt/jf of JA and non-jumps", () => {
    expect(accepted(prog(I(0x05, 0, 5, 7), RET_ALLOW))).toBe(true);
    expect(accepted(prog(I(0x02, 0, 3, 3), RET_ALLOW))).toBe(true);
  });
  it("the last instruction must be RET K or RET A", () => {
    expect(kinds(prog(RET_ALLOW, I(0x00, 1)))).toEqual(["1:last-not-ret"]);
    expect(accepted(prog(I(0x16)))).toBe(true);
  });
});

describe("scratch memory: the kernel's linear pass", () => {
  it("rejects the RET quirk program a path-sensitive checker would accept", () => {
    const quirk = prog(I(0x15, 5, 0, 2), I(0x02, 0), I(0x05, 1), I(0x06, 0), I(0x60, 0), I(0x16));
    expect(kinds(quirk)).toEqual(["4:scratch-unwritten"]);
    // With pc 3 replaced by `ja +0`, also rejected.
    const quirk2 = prog(I(0x15, 5, 0, 2), I(0x02, 0), I(0x05, 1), I(0x05, 0), I(0x60, 0), I(0x16));
    expect(kinds(quirk2)).toEqual(["4:scratch-unwritten"]);
  });
  it("load without store, store on one branch only, store then load", () => {
    expect(kinds(prog(I(0x60, 0), I(0x16)))).toEqual(["0:scratch-unwritten"]);
    // jeq: true -> st M[0] -> join; false -> join; the join loads M[0].
    expect(kinds(prog(I(0x15, 1, 0, 1), I(0x02, 0), I(0x60, 0), I(0x16)))).toEqual(["2:scratch-unwritten"]);
    expect(accepted(prog(I(0x02, 0), I(0x60, 0), I(0x16)))).toBe(true);
    expect(accepted(prog(I(0x03, 15), I(0x61, 15), I(0x16)))).toBe(true);
  });
  it("a RET keeps the state: code after a RET still sees cells written before it", () => {
    // st M[3]; ret; ld M[3]; ret a: the kernel accepts (RET does not reset `valid`).
    expect(accepted(prog(I(0x02, 3), RET_ALLOW, I(0x60, 3), I(0x16)))).toBe(true);
  });
});

describe("every error is reported", () => {
  it("lists all problems with their instruction index, in order", () => {
    const p = prog(I(0x20, 2), I(0x34, 0), I(0x94, 1), I(0x15, 0, 9, 0), I(0x00, 1));
    expect(kinds(p)).toEqual(["0:load-alignment", "1:div-by-zero", "2:not-seccomp-opcode", "3:jt-range", "4:last-not-ret"]);
    for (const e of check(p)) expect(e.reason.length).toBeGreaterThan(10);
  });
});
