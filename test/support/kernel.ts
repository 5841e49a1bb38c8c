// Whether tests that need the real kernel can run here, and why not when they cannot.
import { readFileSync, existsSync } from "node:fs";

export function kernelSkipReason(): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (!existsSync("/proc/sys/kernel/seccomp/actions_avail")) return "kernel has no seccomp filter mode";
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const m = /^Seccomp:\s*(\d)/m.exec(status);
    if (m && m[1] === "1") return "this process runs in seccomp strict mode";
  } catch {
    return "cannot read /proc/self/status";
  }
  return undefined;
}

/** Logs the reason once and returns true when kernel tests must be skipped. */
export function skipKernel(what: string): boolean {
  const why = kernelSkipReason();
  if (why) console.warn(`[skip] ${what}: ${why}`);
  return why !== undefined;
}
