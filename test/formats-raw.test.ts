import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readRaw, writeRaw, guessEndian, MAX_RAW_BYTES } from "../src/formats/raw.js";
import { Program, type Insn } from "../src/engine/program.js";
import { opcodes } from "../src/engine/opcodes.js";
import { check } from "../src/engine/check.js";
import { corpusPath } from "./support/corpus.js";
import { errorOf } from "./support/errors.js";

const ALLOW_ALL = Program.fromInsns([
  { code: 0x20, jt: 0, jf: 0, k: 4 },
  { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
  { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
  { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
]);

const anyInsn = fc.record({
  code: fc.integer({ min: 0, max: 0xffff }),
  jt: fc.integer({ min: 0, max: 255 }),
  jf: fc.integer({ min: 0, max: 255 }),
  k: fc.integer({ min: 0, max: 0xffffffff }),
});
const validCodes = opcodes().map((o) => o.code);
const retCodes = validCodes.filter((c) => (c & 7) === 6);
/** Programs made of accepted opcodes that end in a ret: what real files hold. */
const plausibleProgram = fc
  .tuple(
    fc.array(fc.record({
      code: fc.constantFrom(...validCodes),
      jt: fc.integer({ min: 0, max: 255 }),
      jf: fc.integer({ min: 0, max: 255 }),
      k: fc.integer({ min: 0, max: 0xffffffff }),
    }), { maxLength: 60 }),
    fc.constantFrom(...retCodes),
    fc.integer({ min: 0, max: 0xffffffff }),
  )
  .map(([body, ret, k]) => Program.fromInsns([...body, { code: ret, jt: 0, jf: 0, k }]));


describe("raw sock_filter arrays", () => {
  it("writes little-endian as the canonical bytes and big-endian with code and k swapped", () => {
    expect([...writeRaw(ALLOW_ALL, "le").subarray(0, 16)]).toEqual([
      0x20, 0, 0, 0, 4, 0, 0, 0, 0x15, 0, 1, 0, 0x3e, 0, 0, 0xc0,
    ]);
    // docs/formats.md section 1: the _be goldens start 00 20 00 00 00 00 00 04.
    expect([...writeRaw(ALLOW_ALL, "be").subarray(0, 16)]).toEqual([
      0, 0x20, 0, 0, 0, 0, 0, 4, 0, 0x15, 1, 0, 0xc0, 0, 0, 0x3e,
    ]);
    expect(writeRaw(ALLOW_ALL)).toEqual(ALLOW_ALL.bytes);
  });

  it("reads both orders into the canonical layout", () => {
    expect(readRaw(writeRaw(ALLOW_ALL, "be"), "be").equals(ALLOW_ALL)).toBe(true);
    expect(readRaw(writeRaw(ALLOW_ALL, "le"), "le").equals(ALLOW_ALL)).toBe(true);
    expect(readRaw(ALLOW_ALL.bytes).insns()).toEqual(ALLOW_ALL.insns());
  });

  it("copies: neither read nor write aliases the caller's buffer", () => {
    const buf = writeRaw(ALLOW_ALL, "le");
    const p = readRaw(buf, "le");
    buf.fill(0xff);
    expect(p.equals(ALLOW_ALL)).toBe(true);
    const out = writeRaw(p, "le");
    out.fill(0);
    expect(p.equals(ALLOW_ALL)).toBe(true);
  });

  it("round-trips any instructions in either order (property)", () => {
    fc.assert(
      fc.property(fc.array(anyInsn, { maxLength: 300 }), fc.constantFrom("le" as const, "be" as const), (insns: Insn[], e) => {
        const p = Program.fromInsns(insns);
        const bytes = writeRaw(p, e);
        expect(bytes.length).toBe(insns.length * 8);
        expect(readRaw(bytes, e).bytes).toEqual(p.bytes);
      }),
    );
  });

  it("reports a trailing partial instruction with its byte offset and the file", () => {
    const bytes = new Uint8Array(8 * 3 + 5);
    const e = errorOf(() => readRaw(bytes, "le", "short.bpf"));
    expect(e.where).toBe("short.bpf");
    expect(e.message).toContain("size 29 is not a multiple of 8");
    expect(e.message).toContain("5 bytes starts at byte offset 24");
    expect(e.oneLine()).toMatch(/^short\.bpf: /);
    expect(errorOf(() => readRaw(new Uint8Array(1), "be", "x")).message).toContain("1 byte starts at byte offset 0");
  });

  it("refuses absurd sizes but reads programs over the kernel's 4096 instructions", () => {
    const big = new Uint8Array(MAX_RAW_BYTES + 8);
    const e = errorOf(() => readRaw(big, "le", "disk.img"));
    expect(e.message).toContain("too large");
    expect(e.where).toBe("disk.img");
    const long = Program.fromInsns(Array.from({ length: 5000 }, () => ({ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 })));
    const p = readRaw(writeRaw(long, "be"), "be");
    expect(p.length).toBe(5000);
    expect(check(p).map((x) => x.kind)).toEqual(["too-long"]);
    expect(readRaw(new Uint8Array(MAX_RAW_BYTES)).length).toBe(MAX_RAW_BYTES / 8);
  });

  it("reads an empty buffer as an empty program (the checker reports it)", () => {
    expect(readRaw(new Uint8Array(0)).length).toBe(0);
  });
});

describe("guessEndian", () => {
  it("finds the order of plausible programs (property)", () => {
    fc.assert(
      fc.property(plausibleProgram, (p) => {
        expect(guessEndian(writeRaw(p, "le"))).toBe("le");
        expect(guessEndian(writeRaw(p, "be"))).toBe("be");
      }),
    );
  });
  it("defaults to little-endian when nothing tells", () => {
    expect(guessEndian(new Uint8Array(0))).toBe("le");
    expect(guessEndian(new Uint8Array(16))).toBe("le"); // ld #0 twice: valid both ways
    expect(guessEndian(new Uint8Array(16).fill(0xff))).toBe("le");
    expect(guessEndian(new Uint8Array(5))).toBe("le");
  });

  const golden = corpusPath("libseccomp", "golden-2.5.4");
  it("gets all 34 libseccomp goldens right (33 and 37 are big-endian)", () => {
    const files = readdirSync(golden!).filter((f) => f.endsWith(".bpf")).sort();
    expect(files.length).toBe(34);
    const be = files.filter((f) => guessEndian(readFileSync(join(golden!, f))) === "be");
    expect(be).toEqual(["33-sim-socket_syscalls_be.bpf", "37-sim-ipc_syscalls_be.bpf"]);
    for (const f of files) {
      const bytes = readFileSync(join(golden!, f));
      const p = readRaw(bytes, guessEndian(bytes), f);
      expect(check(p), f).toEqual([]);
      expect(writeRaw(p, guessEndian(bytes))).toEqual(new Uint8Array(bytes));
      // Reading a Buffer must not alias it (Buffer.slice is a view).
      bytes.fill(0xee);
      expect(check(p), f).toEqual([]);
    }
  });
});
