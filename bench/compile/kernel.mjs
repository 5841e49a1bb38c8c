// Kernel-measured syscall cost under a filter (bench/native/cost.c), for the "compile" section.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { benchDir } from "../lib.mjs";

/** Builds bench/native/cost.c into `out`; returns { bin, cc } or { skip }. */
export function buildCost(out) {
  const src = join(benchDir, "native", "cost.c");
  const bin = join(out, "cost");
  const cc = process.env.CC ?? "cc";
  try {
    execFileSync(cc, ["-O2", "-o", bin, src], { stdio: ["ignore", "ignore", "pipe"] });
    return { bin, cc };
  } catch (e) {
    const why = e.code === "ENOENT" ? `no C compiler (${cc} not found)` : `${cc} failed: ${String(e.stderr ?? e.message).trim().split("\n")[0]}`;
    return { skip: why };
  }
}

/**
 * Runs cost: `filters` = raw BPF paths or "none", `calls` = "nr,a0,…" strings. Returns
 * { ns: [filter][call][batch], ret, err, fail }.
 */
export function runCost(bin, { iters, batches, filters, calls }) {
  const json = execFileSync(bin, [String(iters), String(batches), String(filters.length), ...filters, ...calls], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    timeout: 600_000,
  });
  return JSON.parse(json);
}

/** Whether the kernel JITs BPF (1/2) or interprets it (0), or "unknown". */
export function jitState() {
  try {
    return readFileSync("/proc/sys/net/core/bpf_jit_enable", "utf8").trim();
  } catch {
    return "unknown";
  }
}
