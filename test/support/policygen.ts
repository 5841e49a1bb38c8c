// Random policies (IR) and boundary inputs for the compiler's differential tests: the compiled
// program, run by the interpreter, must equal the reference evaluator of the IR on every input.
import type { PolicyIR, ArchPolicy, Rule, ArgCondition, CompareOp } from "../../src/policy/ir.js";
import { X32_BIT } from "../../src/policy/ir.js";
import { ARCHES, type ArchInfo } from "../../src/syscalls/arches.js";
import { syscallNames, syscallNumber } from "../../src/syscalls/index.js";
import type { SeccompData } from "../../src/engine/data.js";

/** Small deterministic PRNG (mulberry32) so failures reproduce from the printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = [0x7fff0000, 0x00050001, 0x0005000d, 0x00030000, 0x80000000, 0x00000000, 0x7ffc0000, 0x7ff00005, 0x7fc00000];
const OPS: CompareOp[] = ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"];

function r64(rand: () => number): bigint {
  const pick = rand();
  if (pick < 0.3) return BigInt(Math.floor(rand() * 64));
  if (pick < 0.5) return BigInt(Math.floor(rand() * 0x100000000));
  if (pick < 0.6) return 0xffffffffn;
  if (pick < 0.7) return 0x100000000n;
  return (BigInt(Math.floor(rand() * 0x100000000)) << 32n) | BigInt(Math.floor(rand() * 0x100000000));
}

/** A random policy for one or more arches of one byte order. */
export function randomPolicy(rand: () => number, arches?: ArchInfo[]): PolicyIR {
  const pool = arches ?? [ARCHES[Math.floor(rand() * ARCHES.length)]];
  if (!arches && rand() < 0.3) {
    const x86_64 = ARCHES.find((a) => a.name === "x86_64")!;
    const x86 = ARCHES.find((a) => a.name === "x86")!;
    const x32 = ARCHES.find((a) => a.name === "x32")!;
    pool.splice(0, pool.length, x86_64, x86, ...(rand() < 0.5 ? [x32] : []));
  }
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const sections: ArchPolicy[] = pool.map((arch) => {
    const names = syscallNames(arch);
    const count = 1 + Math.floor(rand() * (rand() < 0.2 ? 300 : 40));
    const chosen = new Map<number, string>();
    for (let i = 0; i < count; i++) {
      const n = pick(names);
      chosen.set(syscallNumber(arch, n)! >>> 0, n);
    }
    const defaultAction = pick(ACTIONS);
    return {
      arch,
      defaultAction,
      syscalls: [...chosen.entries()].sort((a, b) => a[0] - b[0]).map(([nr, name]) => {
        const rules: Rule[] = [];
        const nrules = rand() < 0.6 ? 1 : 1 + Math.floor(rand() * 5);
        for (let i = 0; i < nrules; i++) {
          const conds: ArgCondition[] = [];
          const nc = rand() < 0.4 ? 0 : 1 + Math.floor(rand() * 3);
          for (let j = 0; j < nc; j++) {
            const width: 32 | 64 = arch.bits === 32 || arch.nrBase === X32_BIT || rand() < 0.5 ? 32 : 64;
            const mask = width === 32 ? 0xffffffffn : (1n << 64n) - 1n;
            const op = pick(OPS);
            let value = r64(rand) & mask;
            const m = op === "masked_eq" ? r64(rand) & mask : undefined;
            if (m !== undefined && rand() < 0.7) value &= m; // mostly satisfiable
            conds.push({ index: Math.floor(rand() * 6), width, op, value, ...(m !== undefined ? { mask: m } : {}) });
          }
          rules.push({ conditions: conds, action: rand() < 0.5 ? 0x7fff0000 : pick(ACTIONS) });
        }
        return { nr, name, rules };
      }),
    };
  });
  return { arches: sections, mismatchAction: pick(ACTIONS), x32Action: rand() < 0.5 ? undefined : pick(ACTIONS) };
}

/**
 * Inputs at the boundaries of every constant in the policy (c-1, c, c+1 in each word, garbage
 * in the high word of 32-bit compares), x32 numbers, foreign arches, and random ones.
 */
export function boundaryInputs(ir: PolicyIR, rand: () => number, count: number): SeccompData[] {
  const out: SeccompData[] = [];
  const tokens = [...new Set(ir.arches.map((a) => a.arch.token)), 0x40000003, 0xc00000b7, 0x80000016, 0xdeadbeef];
  const argVals: bigint[][] = [[], [], [], [], [], []];
  const nrs: number[] = [0xffffffff, 0, X32_BIT, X32_BIT - 1, 0x7fffffff];
  for (const s of ir.arches) {
    for (const sys of s.syscalls) {
      nrs.push(sys.nr >>> 0, (sys.nr + 1) >>> 0, (sys.nr - 1) >>> 0);
      for (const r of sys.rules) {
        for (const c of r.conditions) {
          const v = c.value;
          for (const d of [v - 1n, v, v + 1n, c.mask ?? 0n, (c.mask ?? 0n) ^ v]) {
            const x = BigInt.asUintN(64, d);
            argVals[c.index].push(x, x ^ (0xdead_beefn << 32n), x & 0xffffffffn, x | (0xffffffffn << 32n));
            // Each half at its own boundaries.
            const lo = x & 0xffffffffn;
            const hi = x >> 32n;
            argVals[c.index].push((hi << 32n) | ((lo + 1n) & 0xffffffffn), (((hi + 1n) & 0xffffffffn) << 32n) | lo);
          }
        }
      }
    }
  }
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const r32 = () => Math.floor(rand() * 0x100000000);
  for (let i = 0; i < count; i++) {
    const arch = rand() < 0.9 ? pick(ir.arches).arch.token : pick(tokens);
    let nr = rand() < 0.85 ? pick(nrs) : r32();
    if (rand() < 0.05) nr = (nr | X32_BIT) >>> 0;
    const args: bigint[] = [];
    for (let a = 0; a < 6; a++) {
      const vals = argVals[a];
      const p = rand();
      if (vals.length && p < 0.8) args.push(pick(vals));
      else if (p < 0.9) args.push(BigInt(r32()));
      else args.push((BigInt(r32()) << 32n) | BigInt(r32()));
    }
    out.push({ nr: nr | 0, arch, args, instructionPointer: BigInt(r32()) });
  }
  return out;
}
