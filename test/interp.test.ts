// The interpreter against the kernel's run-time facts (docs/kernel.md sections 2-4, 10, 12).
// The differential test against the real kernel is test/kernel-eval.test.ts.
import { describe, it, expect } from "vitest";
import { Program, type Insn } from "../src/engine/program.js";
import { evaluate, evaluateBatch, evaluateStack, cacheScan } from "../src/engine/run.js";
import { InputBatch, encodeData, decodeData, type SeccompData } from "../src/engine/data.js";
import { RejectedProgramError } from "../src/errors.js";

const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k });
const prog = (...insns: Insn[]) => Program.fromInsns(insns);
const X86_64 = 0xc000003e;
const d = (nr = 0, args: bigint[] = [], arch = X86_64, ip = 0n): SeccompData => ({ nr, arch, args, instructionPointer: ip });
const retOf = (p: Program, data: SeccompData = d()) => evaluateBatch(p, InputBatch.of([data])).rets[0];

describe("registers and ALU", () => {
  it("A and X start at 0", () => {
    expect(retOf(prog(I(0x87), I(0x16)))).toBe(0); // txa; ret a
    expect(retOf(prog(I(0x16)))).toBe(0);
  });
  it("wraps unsigned 32-bit", () => {
    expect(retOf(prog(I(0x00, 0x10000001), I(0x24, 0x10), I(0x16)))).toBe(0x10); // mul wraps
    expect(retOf(prog(I(0x00, 7), I(0x34, 2), I(0x16)))).toBe(3);
    expect(retOf(prog(I(0x00, 5), I(0x84), I(0x16)))).toBe(0xfffffffb); // neg
    expect(retOf(prog(I(0x00, 0xfffffffb), I(0x54, 0xfff), I(0x16)))).toBe(0xffb);
    expect(retOf(prog(I(0x00, 1), I(0x14, 2), I(0x16)))).toBe(0xffffffff); // sub wraps
    expect(retOf(prog(I(0x00, 0x80000000), I(0x74, 31), I(0x16)))).toBe(1); // logical rsh
  });
  it("division by X == 0 ends the filter with 0 (KILL_THREAD)", () => {
    expect(retOf(prog(I(0x00, 7), I(0x01, 0), I(0x3c), I(0x06, 0x7fff0000)))).toBe(0);
    expect(evaluate(prog(I(0x00, 7), I(0x01, 0), I(0x3c), I(0x06, 0x7fff0000)), d()).action).toBe("KILL_THREAD");
  });
  it("shifts by X use X mod 32", () => {
    expect(retOf(prog(I(0x00, 1), I(0x01, 33), I(0x6c), I(0x16)))).toBe(2);
    expect(retOf(prog(I(0x00, 0x800), I(0x01, 32), I(0x7c), I(0x16)))).toBe(0x800);
  });
  it("LEN loads 64; TAX/TXA move; scratch memory keeps values", () => {
    expect(retOf(prog(I(0x80), I(0x16)))).toBe(64);
    expect(retOf(prog(I(0x81), I(0x87), I(0x16)))).toBe(64);
    expect(retOf(prog(I(0x00, 9), I(0x02, 4), I(0x00, 1), I(0x60, 4), I(0x16)))).toBe(9);
    expect(retOf(prog(I(0x01, 11), I(0x03, 15), I(0x61, 15), I(0x87), I(0x16)))).toBe(11);
  });
});

describe("jumps", () => {
  it("compare unsigned", () => {
    const p = prog(I(0x00, 0xffffffff), I(0x25, 0x80000000, 0, 1), I(0x06, 1), I(0x06, 2));
    expect(retOf(p)).toBe(1);
  });
  it("jset, X sources, ja", () => {
    const p = prog(I(0x00, 6), I(0x45, 4, 1, 0), I(0x06, 0), I(0x01, 6), I(0x1d, 0, 0, 1), I(0x05, 1), I(0x06, 3), I(0x06, 4));
    expect(retOf(p)).toBe(4);
  });
});

describe("seccomp_data layout", () => {
  it("little-endian halves: args[0] = 0x123_00000456 reads 0x456 at 16 and 0x123 at 20", () => {
    const data = d(0, [0x12300000456n]);
    expect(retOf(prog(I(0x20, 16), I(0x16)), data)).toBe(0x456);
    expect(retOf(prog(I(0x20, 20), I(0x16)), data)).toBe(0x123);
  });
  it("big-endian arches put the high half first", () => {
    const S390X = 0x80000016;
    const data = d(0, [0x12300000456n], S390X);
    expect(retOf(prog(I(0x20, 16), I(0x16)), data)).toBe(0x123);
    expect(retOf(prog(I(0x20, 20), I(0x16)), data)).toBe(0x456);
  });
  it("nr, arch, ip", () => {
    const data = d(-1, [], X86_64, 0xdeadbeef_00001234n);
    expect(retOf(prog(I(0x20, 0), I(0x16)), data)).toBe(0xffffffff);
    expect(retOf(prog(I(0x20, 4), I(0x16)), data)).toBe(X86_64);
    expect(retOf(prog(I(0x20, 8), I(0x16)), data)).toBe(0x1234);
    expect(retOf(prog(I(0x20, 12), I(0x16)), data)).toBe(0xdeadbeef);
  });
  it("encodes 64-bit values exactly and decodes them back", () => {
    const w = new Uint32Array(16);
    const data = d(59, [0xffffffffffffffffn, 0x8000000000000001n, 1n, 0n, 2n ** 63n, 0x0123456789abcdefn], X86_64, 2n ** 64n - 2n);
    encodeData(data, w);
    expect(decodeData(w)).toEqual({ ...data });
  });
});

describe("stacked filters: precedence and ties", () => {
  const ret = (k: number) => prog(I(0x06, k));
  const stack = (...ks: number[]) => evaluateStack(ks.map(ret), InputBatch.of([d()]))[0] >>> 0;
  it("ties go to the newest filter", () => {
    expect(stack(0x00050005, 0x00050007)).toBe(0x00050007);
    expect(stack(0x00050007, 0x00050005)).toBe(0x00050005);
  });
  it("the most restrictive action wins whatever the order", () => {
    expect(stack(0x00050007, 0x7ffc0000)).toBe(0x00050007); // ERRNO vs LOG
    expect(stack(0x7ffc0000, 0x00050007)).toBe(0x00050007);
    expect(stack(0x00010000, 0x00050009)).toBe(0x00010000); // unknown 0x0001 beats ERRNO
    expect(stack(0x00050009, 0xfffe0000)).toBe(0xfffe0000); // negative beats everything
    expect(stack(0x80001234, 0x00050001)).toBe(0x80001234);
    expect(stack(0x7fff0000, 0x7fff0000)).toBe(0x7fff0000);
  });
  it("ALLOW with data collapses to plain ALLOW in a stack", () => {
    expect(stack(0x7fff1234)).toBe(0x7fff0000);
  });
});

describe("x86_64 uretprobe/uprobe exception", () => {
  const errnoAll = prog(I(0x06, 0x00050001));
  it("is off by default", () => {
    expect(evaluate(errnoAll, d(335)).action).toBe("ERRNO");
  });
  it("skips every filter for 335 (and 336 when asked) on native x86_64 only", () => {
    expect(evaluate(errnoAll, d(335), { probeBypass: "uretprobe" }).action).toBe("ALLOW");
    expect(evaluate(errnoAll, d(336), { probeBypass: "uretprobe" }).action).toBe("ERRNO");
    expect(evaluate(errnoAll, d(336), { probeBypass: "uretprobe+uprobe" }).action).toBe("ALLOW");
    expect(evaluate(errnoAll, d(335, [], 0x40000003), { probeBypass: "uretprobe+uprobe" }).action).toBe("ERRNO");
    expect(evaluate(errnoAll, d(335 | 0x40000000), { probeBypass: "uretprobe+uprobe" }).action).toBe("ERRNO");
  });
});

describe("batches", () => {
  it("evaluates across chunk boundaries and counts instructions", () => {
    // ld nr; jeq #7 -> ERRNO; ALLOW
    const p = prog(I(0x20, 0), I(0x15, 7, 0, 1), I(0x06, 0x00050007), I(0x06, 0x7fff0000));
    const n = 5000;
    const b = new InputBatch(n);
    for (let i = 0; i < n; i++) b.set(i, d(i % 10));
    const r = evaluateBatch(p, b, { counts: true });
    for (let i = 0; i < n; i++) {
      expect(r.rets[i] >>> 0).toBe(i % 10 === 7 ? 0x00050007 : 0x7fff0000);
      expect(r.counts![i]).toBe(3);
    }
  });
  it("refuses to run a program the kernel would reject", () => {
    expect(() => evaluate(prog(I(0x00, 1)), d())).toThrow(RejectedProgramError);
  });
});

describe("action cache emulator", () => {
  it("caches nr/arch-only allow paths, not argument loads or RET A", () => {
    // ld arch; jeq x86_64 else kill; ld nr; jeq 1 -> allow; jeq 2 -> args; kill
    const p = prog(
      I(0x20, 4), I(0x15, X86_64, 0, 6), I(0x20, 0), I(0x15, 1, 3, 0), I(0x15, 2, 0, 3),
      I(0x20, 16), I(0x15, 0, 0, 1), I(0x06, 0x7fff0000), I(0x06, 0x80000000),
    );
    const bits = cacheScan(p, X86_64, 10);
    expect([...bits]).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...cacheScan(p, 0x40000003, 3)]).toEqual([0, 0, 0]);
    expect([...cacheScan(prog(I(0x06, 0x7ffc0000)), X86_64, 2)]).toEqual([0, 0]); // LOG is not ALLOW
    expect([...cacheScan(prog(I(0x20, 0), I(0x54, 0xf0), I(0x15, 0x10, 0, 1), I(0x06, 0x7fff0000), I(0x06, 0)), X86_64, 34)].map((b, i) => (b ? i : -1)).filter((i) => i >= 0))
      .toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);
  });
});
