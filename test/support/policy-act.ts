// The action a compiled policy gives one concrete syscall: run by the engine's interpreter and
// checked equal to the IR's reference evaluator (shared by the dialect snippet tests).
import { expect } from "vitest";
import type { CompiledPolicy } from "../../src/policy/index.js";
import { evaluatePolicy } from "../../src/policy/index.js";
import { evaluateBatch } from "../../src/engine/run.js";
import { InputBatch } from "../../src/engine/data.js";
import { findArch, type ArchInfo } from "../../src/syscalls/arches.js";
import { syscallNumber } from "../../src/syscalls/index.js";

/** `syscall(args…)` on `arch` (default: the policy's first ABI) through program and reference. */
export function actOf(p: CompiledPolicy, syscall: string, args: bigint[] = [], archName?: string): number {
  const arch: ArchInfo = archName ? findArch(archName)! : p.ir.arches[0].arch;
  const nr = syscallNumber(arch, syscall);
  expect(nr, `${syscall} on ${arch.name}`).toBeDefined();
  const d = { arch: arch.token, nr: nr!, args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) };
  const ret = evaluateBatch(p.program, InputBatch.of([d], arch.endian)).rets[0] >>> 0;
  expect(ret, `${syscall}(${args}) on ${arch.name}: program vs reference`).toBe(evaluatePolicy(p.ir, d) >>> 0);
  return ret;
}
