// The condition minimiser (src/verify/minimise.ts): sets built from policy comparisons come back
// as the comparisons a person writes, proven equal (minimiseSet returns nothing otherwise), and
// never with more comparisons than the rules they were built from.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import type { ArgCondition, CompareOp } from "../src/policy/ir.js";
import { SymbolicSpace, FALSE, TRUE } from "../src/verify/symbolic.js";
import {
  minimiseSet, conditionSet, conditionSetOf, conditionText, conditionCost, conditionRules, type Endian,
} from "../src/verify/minimise.js";

type C = Omit<ArgCondition, "value" | "mask"> & { value: bigint | number; mask?: bigint | number };
const c = (index: number, width: 32 | 64, op: CompareOp, value: bigint | number, mask?: bigint | number): C => ({ index, width, op, value, mask });
const norm = ({ mask, value, ...rest }: C): ArgCondition => ({ ...rest, value: BigInt(value), ...(mask !== undefined ? { mask: BigInt(mask) } : {}) });

/** The set of "any rule holds" (each rule an AND of comparisons). */
function rulesSet(space: SymbolicSpace, rules: C[][], endian: Endian): number {
  let r = FALSE;
  for (const rule of rules) {
    let all = TRUE;
    for (const x of rule) all = space.and(all, conditionSetOf(space, norm(x), endian));
    r = space.or(r, all);
  }
  return r;
}

function minimise(rules: C[][], endian: Endian = "le", oneCompPerArg = false) {
  const space = new SymbolicSpace();
  const set = rulesSet(space, rules, endian);
  const m = minimiseSet(space, set, endian, { oneCompPerArg });
  expect(m, "minimised and proven").toBeDefined();
  // Independent check of the proof: the rules it gives build the same set again.
  expect(rulesSet(space, conditionRules(m!), endian)).toBe(set);
  expect(conditionSet(space, m!, endian)).toBe(set);
  return { text: conditionText(m!), cost: conditionCost(m!), source: rules.reduce((n, r) => n + r.length, 0) };
}

describe("condition minimiser", () => {
  it("states a 64-bit != as one comparison (Docker's socket family)", () => {
    const r = minimise([[c(0, 64, "ne", 40)]]);
    expect(r.text).toBe("args[0] != 40");
    expect(r.cost).toBe(1);
  });

  it("states a product of a mask and a value list as the policy wrote it (Firecracker's mmap)", () => {
    const flags = [50, 1, 34, 32769, 16385, 16418, 16401];
    const rules = flags.map((f) => [c(3, 32, "eq", f), c(2, 32, "masked_eq", 0, 4)]);
    rules.push([c(3, 32, "eq", 17), c(2, 32, "eq", 3)]);
    const r = minimise(rules);
    expect(r.text).toBe("(args[2].lo & 4 == 0 and args[3].lo in {1, 34, 50, 0x4001, 0x4011, 0x4022, 0x8001}) or (args[2].lo == 3 and args[3].lo == 17)");
    expect(r.cost).toBeLessThanOrEqual(r.source);
  });

  it("keeps one comparison per argument of a disjunction over two arguments", () => {
    const r = minimise([[c(0, 32, "eq", 1)], [c(1, 32, "eq", 2)]]);
    expect(r.text).toBe("args[0].lo == 1 or args[1].lo == 2");
    expect(r.cost).toBe(2);
  });

  it("states one-sided compares and ranges", () => {
    expect(minimise([[c(1, 32, "le", 1000)]]).text).toBe("args[1].lo <= 0x3e8");
    expect(minimise([[c(1, 64, "gt", 0xffffffffn)]]).text).toBe("args[1] >= 0x100000000");
    expect(minimise([[c(1, 32, "ge", 100), c(1, 32, "lt", 200)]]).text).toBe("args[1].lo in 100..199");
    expect(minimise([[c(1, 32, "ge", 100), c(1, 32, "lt", 200)]], "le", true).text).toMatch(/&/); // no range in OCI: mask cubes
  });

  it("states masked compares on 64 bits (Docker's clone flags) on both byte orders", () => {
    for (const e of ["le", "be"] as const) {
      expect(minimise([[c(0, 64, "masked_eq", 0, 0x7e020000)]], e).text).toBe("args[0].lo & 0x7e020000 == 0");
      expect(minimise([[c(2, 64, "masked_eq", 0x100000000n, 0xffffffff00000001n)]], e).text).toBe("args[2] & 0xffffffff00000001 == 0x100000000");
      expect(minimise([[c(2, 64, "lt", 0x100000005n)]], e).text).toBe("args[2] <= 0x100000004");
    }
  });

  it("says always and never", () => {
    const space = new SymbolicSpace();
    expect(conditionText(minimiseSet(space, TRUE, "le")!)).toBe("always");
    expect(conditionText(minimiseSet(space, FALSE, "le")!)).toBe("never");
  });

  it("proves every answer on random rule sets and never needs more comparisons than a single rule had", () => {
    const op = fc.constantFrom<CompareOp>("eq", "ne", "lt", "le", "gt", "ge", "masked_eq");
    const val = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0xffffffff, 0x80000000, 0x100000000, 0xfffffffffffffffn));
    const cmp = fc.record({ index: fc.integer({ min: 0, max: 2 }), width: fc.constantFrom<32 | 64>(32, 64), op, value: val, mask: val });
    fc.assert(
      fc.property(fc.array(fc.array(cmp, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), fc.constantFrom<Endian>("le", "be"), (rules, endian) => {
        const fit = (x: typeof rules[0][0]): C => {
          const max = x.width === 32 ? 0xffffffffn : (1n << 64n) - 1n;
          return c(x.index, x.width, x.op, BigInt(x.value) & max, x.op === "masked_eq" ? BigInt(x.mask) & max : undefined);
        };
        const rs = rules.map((r) => r.map(fit));
        const r = minimise(rs, endian);
        if (rs.length === 1 && rs[0].length === 1) expect(r.cost).toBeLessThanOrEqual(1);
      }),
      { numRuns: 60, seed: 12 },
    );
  });
});
