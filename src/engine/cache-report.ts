// What the kernel's action cache (Linux 5.11+) will do with a program: per ABI, the syscall
// numbers its emulator proves always allowed, so the filter never runs for them.
import { cacheScan } from "./run.js";
import { X32_SYSCALL_BIT } from "./contract.generated.js";
import type { Program } from "./program.js";
import { archTokens } from "../text/disasm.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallCount } from "../syscalls/index.js";

export interface CacheReport {
  arch: string;
  /** Syscall numbers (seccomp_data.nr) the kernel caches as always allowed. */
  cached: number[];
  /** Numbers examined: 0 .. total-1 (the size of the kernel's bitmap for this ABI). */
  total: number;
  note?: string;
}

/**
 * What the kernel's action cache will do with a program, per ABI it checks (or `arch`): the
 * syscall numbers it proves always allowed, so the filter never runs for them.
 */
export function cacheReport(p: Program, arch?: ArchInfo): CacheReport[] {
  const arches = arch ? [arch] : archTokens(p).flatMap((t) => archesByToken(t));
  return arches.map((a) => {
    if (a.nrBase === X32_SYSCALL_BIT) {
      return { arch: a.name, cached: [], total: 0, note: "x32 calls are never cached (their numbers are outside the bitmap)" };
    }
    const total = syscallCount(a);
    const bits = cacheScan(p, a.token, a.nrBase + total);
    const cached: number[] = [];
    for (let nr = a.nrBase; nr < a.nrBase + total; nr++) if (bits[nr]) cached.push(nr);
    return { arch: a.name, cached, total };
  });
}
