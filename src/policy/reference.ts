// The reference evaluator: the IR's meaning (src/policy/ir.ts), evaluated directly in
// TypeScript without BPF. Tests hold the compiled program, run by the engine's interpreter,
// equal to this on hundreds of thousands of inputs per policy.
import type { PolicyIR, ArgCondition, ArchPolicy } from "./ir.js";
import { X32_BIT, ownedNumbers } from "./ir.js";
import { AUDIT_ARCH_X86_64 } from "../engine/contract.generated.js";
import type { SeccompData } from "../engine/data.js";

const M32 = 0xffffffffn;
const M64 = (1n << 64n) - 1n;

/** Does one condition hold for a 64-bit argument value? */
export function conditionHolds(c: ArgCondition, arg: bigint): boolean {
  const m = c.width === 32 ? M32 : M64;
  const a = arg & m;
  const v = c.value & m;
  switch (c.op) {
    case "eq": return a === v;
    case "ne": return a !== v;
    case "lt": return a < v;
    case "le": return a <= v;
    case "gt": return a > v;
    case "ge": return a >= v;
    case "masked_eq": return (a & (c.mask ?? 0n) & m) === v;
  }
}

/** The section that handles (arch token, nr), or undefined for the mismatch/x32 actions. */
export function sectionFor(ir: PolicyIR, token: number, nr: number): ArchPolicy | "mismatch" | "x32" {
  const same = ir.arches.filter((a) => a.arch.token === token >>> 0);
  if (same.length === 0) return "mismatch";
  const n = nr >>> 0;
  // Who owns which numbers is ownedNumbers (src/policy/ir.ts, step 2), the compiler's rule too.
  const withMain = same.some((a) => a.arch.nrBase !== X32_BIT);
  const owner = same.find((a) => ownedNumbers(a.arch, withMain).some(([lo, hi]) => lo <= n && n <= hi));
  if (owner) return owner;
  // AUDIT_ARCH_X86_64 with one of its two sections: numbers of the missing one.
  return n >= X32_BIT && token >>> 0 === AUDIT_ARCH_X86_64 ? "x32" : "mismatch";
}

/** What number `nr` of section `sec` gets when no entry (or none of its rules) says otherwise. */
export function backgroundAction(sec: ArchPolicy, nr: number): number {
  const n = nr >>> 0;
  const r = sec.ranges?.find((x) => x.lo >>> 0 <= n && n <= x.hi >>> 0);
  return (r ? r.action : sec.defaultAction) >>> 0;
}

/** The policy's action for one input. */
export function evaluatePolicy(ir: PolicyIR, d: SeccompData): number {
  const sec = sectionFor(ir, d.arch, d.nr);
  if (sec === "mismatch") return ir.mismatchAction >>> 0;
  if (sec === "x32") return (ir.x32Action ?? ir.mismatchAction) >>> 0;
  const nr = d.nr >>> 0;
  const sys = sec.syscalls.find((s) => s.nr >>> 0 === nr);
  if (!sys) return backgroundAction(sec, nr);
  const args = d.args ?? [];
  for (const r of sys.rules) {
    if (r.conditions.every((c) => conditionHolds(c, args[c.index] ?? 0n))) return r.action >>> 0;
  }
  return backgroundAction(sec, nr);
}
