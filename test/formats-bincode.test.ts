import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readBincode, writeBincode, BINCODE_DEFAULT_LIMIT } from "../src/formats/bincode.js";
import { loadFilterBytes } from "../src/formats/detect.js";
import { Program } from "../src/engine/program.js";
import { check } from "../src/engine/check.js";
import { InputError } from "../src/errors.js";
import { errorOf } from "./support/errors.js";

/** The 4-instruction allow-all program of docs/formats.md 5.2, built by hand. */
const ALLOW_ALL = Program.fromInsns([
  { code: 0x20, jt: 0, jf: 0, k: 4 }, // ld [4] (arch)
  { code: 0x15, jt: 1, jf: 0, k: 0xc000003e }, // jeq AUDIT_ARCH_X86_64, +1
  { code: 0x06, jt: 0, jf: 0, k: 0x80000000 }, // ret KILL_PROCESS
  { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, // ret ALLOW
]);

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));
}

/** docs/formats.md 5.2, verbatim. */
const VCPU_60 = hex(`
  01 00 00 00 00 00 00 00  04 00 00 00 00 00 00 00
  76 63 70 75 04 00 00 00  00 00 00 00 20 00 00 00
  04 00 00 00 15 00 01 00  3e 00 00 c0 06 00 00 00
  00 00 00 80 06 00 00 00  00 00 ff 7f`);

function u64(n: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}
function entry(key: string, program: Program): string {
  const k = [...new TextEncoder().encode(key)].map((x) => x.toString(16).padStart(2, "0")).join(" ");
  const p = [...program.bytes].map((x) => x.toString(16).padStart(2, "0")).join(" ");
  return `${u64(key.length)} ${k} ${u64(program.length)} ${p}`;
}


describe("bincode thread map: docs/formats.md 5.2 examples", () => {
  it("writes the 60-byte single-thread example exactly", () => {
    const out = writeBincode(new Map([["vcpu", ALLOW_ALL]]));
    expect(out.length).toBe(60);
    expect([...out]).toEqual([...VCPU_60]);
  });
  it("reads it back", () => {
    const m = readBincode(VCPU_60);
    expect([...m.keys()]).toEqual(["vcpu"]);
    expect(m.get("vcpu")!.equals(ALLOW_ALL)).toBe(true);
    expect(check(m.get("vcpu")!)).toEqual([]);
  });
  it("writes the 162-byte three-thread file, keys sorted", () => {
    const out = writeBincode(new Map([["vmm", ALLOW_ALL], ["vcpu", ALLOW_ALL], ["api", ALLOW_ALL]]));
    expect(out.length).toBe(162);
    expect(out.length).toBe(8 + (8 + 3 + 8 + 32) + (8 + 4 + 8 + 32) + (8 + 3 + 8 + 32));
    const expected = hex(`${u64(3)} ${entry("api", ALLOW_ALL)} ${entry("vcpu", ALLOW_ALL)} ${entry("vmm", ALLOW_ALL)}`);
    expect([...out]).toEqual([...expected]);
    const m = readBincode(out);
    expect([...m.keys()]).toEqual(["api", "vcpu", "vmm"]);
    for (const p of m.values()) expect(p.equals(ALLOW_ALL)).toBe(true);
  });
  it("keeps file order on read (no re-sorting)", () => {
    const bytes = hex(`${u64(2)} ${entry("vmm", ALLOW_ALL)} ${entry("api", ALLOW_ALL)}`);
    expect([...readBincode(bytes).keys()]).toEqual(["vmm", "api"]);
  });
});

describe("writeBincode", () => {
  it("lower-cases keys and accepts maps, pairs and records", () => {
    const a = writeBincode(new Map([["VCPU", ALLOW_ALL]]));
    expect([...a]).toEqual([...VCPU_60]);
    expect([...writeBincode([["Vcpu", ALLOW_ALL]])]).toEqual([...VCPU_60]);
    expect([...writeBincode({ vCpU: ALLOW_ALL })]).toEqual([...VCPU_60]);
  });
  it("refuses keys that collide after lower-casing", () => {
    const e = errorOf(() => writeBincode(new Map([["vcpu", ALLOW_ALL], ["VCPU", ALLOW_ALL]])));
    expect(e.message).toContain('"vcpu" and "VCPU" collide');
  });
  it("sorts by UTF-8 bytes like Rust's BTreeMap, not by UTF-16 units", () => {
    // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    const m = readBincode(writeBincode(new Map([["\u{1F600}", ALLOW_ALL], ["\uFF61", ALLOW_ALL]])));
    expect([...m.keys()]).toEqual(["\uFF61", "\u{1F600}"]);
  });
  it("writes an empty map as a zero count", () => {
    expect([...writeBincode(new Map())]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(readBincode(new Uint8Array(8)).size).toBe(0);
  });
  it("round-trips random maps (property)", () => {
    const insn = fc.record({
      code: fc.integer({ min: 0, max: 0xffff }),
      jt: fc.integer({ min: 0, max: 255 }),
      jf: fc.integer({ min: 0, max: 255 }),
      k: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ maxLength: 12 }), fc.array(insn, { maxLength: 40 })), {
        selector: ([k]) => k.toLowerCase(), maxLength: 6,
      }), (entries) => {
        const input = new Map(entries.map(([k, insns]) => [k, Program.fromInsns(insns)]));
        const back = readBincode(writeBincode(input), { limit: Infinity });
        expect(back.size).toBe(input.size);
        for (const [k, p] of input) expect(back.get(k.toLowerCase())!.bytes).toEqual(p.bytes);
        const keys = [...back.keys()];
        expect(keys).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
  });
});

describe("readBincode errors", () => {
  it("refuses input over the limit, which the caller may raise", () => {
    const big = writeBincode(new Map([["vmm", Program.fromInsns(Array.from({ length: 12_500 }, () => ({ code: 6, jt: 0, jf: 0, k: 0 })))]]));
    expect(big.length).toBeGreaterThan(BINCODE_DEFAULT_LIMIT);
    const e = errorOf(() => readBincode(big, { where: "fc.bin" }));
    expect(e.where).toBe("fc.bin");
    expect(e.message).toContain(`over the bincode reader's limit of ${BINCODE_DEFAULT_LIMIT} bytes`);
    expect(readBincode(big, { limit: 200_000 }).get("vmm")!.length).toBe(12_500);
    expect(errorOf(() => readBincode(VCPU_60, { limit: 59 })).message).toContain("limit of 59 bytes");
    expect(readBincode(VCPU_60, { limit: 60 }).size).toBe(1);
  });

  it("names the byte offset and what was being read on truncation", () => {
    const cases: [number, RegExp][] = [
      [0, /at byte offset 0: truncated while reading the entry count/],
      [5, /at byte offset 0: truncated while reading the entry count \(u64 needs 8 bytes, 5 left\)/],
      [8, /at byte offset 0: entry count 1 cannot fit in the 0 bytes that follow/],
      [18, /at byte offset 0: entry count 1 cannot fit in the 10 bytes that follow/],
      [26, /at byte offset 20: truncated while reading the instruction count of entry 0 \("vcpu"\) \(u64 needs 8 bytes, 6 left\)/],
      [24, /at byte offset 20: truncated while reading the instruction count of entry 0 \("vcpu"\)/],
      [40, /at byte offset 20: instruction count 4 of entry 0 \("vcpu"\) needs 32 bytes; 12 are left/],
      [59, /at byte offset 20: instruction count 4 .* 31 are left/],
    ];
    for (const [len, re] of cases) {
      const e = errorOf(() => readBincode(VCPU_60.subarray(0, len), { where: "cut.bin" }));
      expect(e.message, `cut at ${len}`).toMatch(re);
      expect(e.where).toBe("cut.bin");
    }
  });

  it("refuses counts that cannot fit", () => {
    const huge = hex(`ff ff ff ff ff ff ff ff ${u64(0)} ${u64(0)}`);
    expect(errorOf(() => readBincode(huge)).message).toMatch(/entry count 18446744073709551615 cannot fit/);
    const hugeKey = hex(`${u64(1)} ff ff ff ff ff ff ff 7f ${u64(0)}`);
    expect(errorOf(() => readBincode(hugeKey)).message).toMatch(/at byte offset 8: key length 9223372036854775807 of entry 0 exceeds the 8 bytes left/);
    const hugeN = hex(`${u64(1)} ${u64(1)} 61 ff ff ff ff ff ff ff ff`);
    expect(errorOf(() => readBincode(hugeN)).message).toMatch(/instruction count 18446744073709551615 of entry 0 \("a"\) needs 147573952589676412920 bytes; 0 are left/);
  });

  it("refuses invalid UTF-8 keys", () => {
    const bad = hex(`${u64(1)} ${u64(2)} c3 28 ${u64(0)}`);
    expect(errorOf(() => readBincode(bad)).message).toBe("bincode: at byte offset 16: the key of entry 0 is not valid UTF-8");
  });

  it("refuses duplicate keys", () => {
    const dup = hex(`${u64(2)} ${entry("vmm", ALLOW_ALL)} ${entry("vmm", ALLOW_ALL)}`);
    expect(errorOf(() => readBincode(dup)).message).toMatch(/at byte offset 67: duplicate key "vmm" \(entry 1\)/);
  });

  it("refuses trailing bytes", () => {
    const extra = new Uint8Array([...VCPU_60, 0, 0, 0]);
    expect(errorOf(() => readBincode(extra, { where: "x" })).oneLine()).toBe("x: bincode: at byte offset 60: 3 trailing bytes after the last entry");
  });

  it("copies programs out of the input (a Buffer's slice would alias it)", () => {
    const buf = Buffer.from(VCPU_60);
    const m = readBincode(buf);
    buf.fill(0);
    expect(m.get("vcpu")!.equals(ALLOW_ALL)).toBe(true);
  });
});

describe("bincode fuzz", () => {
  const base = writeBincode(new Map([["api", ALLOW_ALL], ["vcpu", ALLOW_ALL], ["vmm", ALLOW_ALL]]));

  it("truncations, bit flips and junk never throw anything but InputError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: base.length }).map((n) => base.slice(0, n)),
          fc.array(fc.tuple(fc.nat(base.length * 8 - 1)), { minLength: 1, maxLength: 8 }).map((flips) => {
            const b = base.slice();
            for (const [bit] of flips) b[bit >> 3] ^= 1 << (bit & 7);
            return b;
          }),
          fc.uint8Array({ maxLength: 64 }).map((tail) => new Uint8Array([...base, ...tail])),
          fc.uint8Array({ maxLength: 200 }),
        ),
        (bytes) => {
          for (const run of [() => readBincode(bytes), () => loadFilterBytes(bytes, "fuzz.bin")]) {
            try {
              run();
            } catch (e) {
              if (!(e instanceof InputError)) throw e;
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
