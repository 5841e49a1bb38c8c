// The assembly text: disasm -> asm is byte-exact (property test over random programs, every
// byte order), golden disassembly snapshots, and assembler errors that name file and line.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Program, type Insn } from "../src/engine/program.js";
import { opcodes } from "../src/engine/opcodes.js";
import { disassemble } from "../src/text/disasm.js";
import { assemble } from "../src/text/asm.js";
import { findArch, ARCHES } from "../src/syscalls/arches.js";
import { readRaw } from "../src/formats/raw.js";
import { InputError } from "../src/errors.js";
import { corpusPath, repoRoot } from "./support/corpus.js";

const codes = opcodes().map((o) => o.code);
const interesting = [0, 4, 16, 20, 60, 64, 2, 15, 16, 31, 32, 0x40000000, 0xc000003e, 0x40000003, 0x7fff0000, 0x00050001, 0x80000000, 59, 0xffffffff];

/** Random instructions: mostly accepted opcodes with small offsets, sometimes anything. */
const insnArb = (len: number): fc.Arbitrary<Insn> =>
  fc.record({
    code: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...codes) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
    jt: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: Math.max(0, len - 2) }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    jf: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: Math.max(0, len - 2) }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    k: fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: len }), fc.integer({ min: 0, max: 0xffffffff })),
  });
const programArb = fc.integer({ min: 1, max: 40 }).chain((len) => fc.array(insnArb(len), { minLength: len, maxLength: len }));

describe("disasm -> asm round trip", () => {
  it("gives back the same bytes for random programs (x86_64 names)", () => {
    const x86_64 = findArch("x86_64")!;
    fc.assert(
      fc.property(programArb, (insns) => {
        const p = Program.fromInsns(insns);
        const text = disassemble(p, { arch: x86_64 });
        expect(Buffer.from(assemble(text).bytes)).toEqual(Buffer.from(p.bytes));
      }),
      { numRuns: 2000 },
    );
  });
  it("gives back the same bytes with the arch inferred, for every ABI's byte order", () => {
    for (const arch of ARCHES) {
      fc.assert(
        fc.property(programArb, (insns) => {
          // Start with an arch check so names of this ABI appear.
          const all = [{ code: 0x20, jt: 0, jf: 0, k: 4 }, { code: 0x15, jt: 0, jf: 0, k: arch.token }, { code: 0x20, jt: 0, jf: 0, k: 0 }, ...insns];
          const p = Program.fromInsns(all);
          const text = disassemble(p);
          expect(text).toContain(`.arch ${arch.name === "x32" ? "x86_64" : arch.name}`);
          expect(Buffer.from(assemble(text).bytes)).toEqual(Buffer.from(p.bytes));
        }),
        { numRuns: 100 },
      );
    }
  });
  it("round-trips every libseccomp golden program", () => {
    const dir = corpusPath("libseccomp", "golden-2.5.4");
    const files = readdirSync(dir).filter((f) => f.endsWith(".bpf"));
    expect(files.length).toBe(34);
    for (const f of files) {
      const p = readRaw(readFileSync(join(dir, f)), f.includes("_be") ? "be" : "le", f);
      expect(Buffer.from(assemble(disassemble(p), { file: f }).bytes), f).toEqual(Buffer.from(p.bytes));
    }
  });
});

describe("golden disassembly", () => {
  it("prints the bundled demo filter", async () => {
    const p = assemble(readFileSync(join(repoRoot, "filters/vmm-demo.x86_64.asm"), "utf8"));
    await expect(disassemble(p)).toMatchFileSnapshot("__snapshots__/vmm-demo.disasm.txt");
  });
  it("prints a multi-arch libseccomp filter with per-path arch names", async () => {
    const dir = corpusPath("golden");
    const f = readdirSync(dir).find((n) => n.includes("multiarch") && n.endsWith(".bpf"));
    expect(f).toBeDefined();
    const p = readRaw(readFileSync(join(dir, f!)), "le");
    const text = disassemble(p);
    expect(text).toMatch(/#AUDIT_ARCH_I386/);
    expect(text).toMatch(/#x86\.\w+/); // i386 syscalls qualified on the i386 path
    await expect(text).toMatchFileSnapshot("__snapshots__/multiarch.disasm.txt");
  });
});

describe("assembler", () => {
  it("reads labels, next, names and actions", () => {
    const p = assemble(`
      .arch x86_64
      start: ld arch
             jeq #AUDIT_ARCH_X86_64, next, kill
             ld nr
             jeq #execve, kill
             jeq #x32.read, kill, ok
      ok:    ret ERRNO(1)
      kill:  ret KILL_PROCESS`);
    expect(p.insns().map((i) => [i.code, i.jt, i.jf, i.k >>> 0])).toEqual([
      [0x20, 0, 0, 4], [0x15, 0, 4, 0xc000003e], [0x20, 0, 0, 0], [0x15, 2, 0, 59], [0x15, 1, 0, 0x40000000],
      [0x06, 0, 0, 0x00050001], [0x06, 0, 0, 0x80000000],
    ]);
  });
  it("names file and line in every error", () => {
    const bad = [
      ["ld foo", /not a load operand/],
      ["jeq #read, x", /needs an arch/],
      [".arch x86_64\njeq #nosuchcall, 0", /unknown syscall "nosuchcall" for arch x86_64/],
      ["ret MAYBE", /not a return value/],
      ["ja nowhere\nret ALLOW", /not a label/],
      ["a: ret ALLOW\nja a", /backwards/],
      ["st M[16]", /M\[16\] does not exist/],
      ["frob #1", /unknown instruction "frob"/],
      ["a: ret ALLOW\na: ret ALLOW", /defined twice/],
    ] as const;
    for (const [text, re] of bad) {
      let e: unknown;
      try {
        assemble(text, { file: "t.asm" });
      } catch (x) {
        e = x;
      }
      expect(e, text).toBeInstanceOf(InputError);
      expect((e as InputError).oneLine(), text).toMatch(/^t\.asm:\d+: /);
      expect((e as InputError).message, text).toMatch(re);
    }
  });
  it("refuses conditional jumps beyond 255 and suggests ja", () => {
    const text = "jeq #1, far\n" + "ld #0\n".repeat(300) + "far: ret ALLOW";
    expect(() => assemble(text)).toThrow(/at most 255 \(use ja\)/);
  });
});
