// Bench section "load": reading and compiling large policies (targets: policy load at JSON-
// parsing speed, tens of MB/s; at most ~10x the policy's size in memory).
//
// Methodology. A seccompiler policy of about 10 MB is generated (threads of 2,000 rules over
// 14 common syscalls, one dword condition each, pretty-printed with two-space indentation, like
// the Firecracker files), then, each in a fresh child process (node --expose-gc):
//   load:           loadPolicy (parse, validate, build the IR) for x86_64;
//   load+compile:   compilePolicyText (the same, and every thread compiled by the engine);
//   JSON.parse:     the same text through JSON.parse, the speed anchor.
// Throughput is MB of policy text per second (median of 3 runs, after one warm-up run), on wall
// time and on the child's CPU time (user + system, GC threads included; the figure that does not
// depend on what else the machine runs).
// Memory: the growth of the child's peak resident set (maxRSS) across one loadPolicy, per MB
// of policy text; and the same at half the size, whose difference gives the cost of each
// further MB apart from the fixed part. Target: load+compile >= 20 MB/s (tens of MB/s, JSON-parsing speed); memory <= 10 MB per MB.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { repoRoot, formatTable } from "./lib.mjs";

export const name = "load";
export const title = "Policy load and compile: throughput and memory on a 10 MB policy";

const NAMES = ["read", "write", "openat", "close", "ioctl", "mmap", "munmap", "futex", "epoll_wait", "recvfrom", "sendto", "fcntl", "lseek", "pread64"];

/** A seccompiler policy of about `bytes` bytes. */
export function bigPolicy(bytes) {
  const threads = {};
  let size = 0;
  for (let t = 0; size < bytes; t++) {
    const filter = [];
    for (let i = 0; i < 2000; i++) {
      filter.push({ syscall: NAMES[i % NAMES.length], args: [{ index: i % 6, type: "dword", op: "eq", val: (i * 7919) % 100000 }] });
    }
    threads[`t${t}`] = { default_action: "trap", filter_action: "allow", filter };
    size += JSON.stringify(threads[`t${t}`], null, 2).length;
  }
  return JSON.stringify(threads, null, 2);
}

/** Runs in the child: `node bench/load.mjs --child MODE BYTES`. */
async function child(mode, bytes) {
  const api = await import(join(repoRoot, "dist", "index.js"));
  const text = bigPolicy(bytes);
  const mb = Buffer.byteLength(text) / 1e6;
  const once = () => {
    if (mode === "load") api.loadPolicy(text, "big.json", { arch: "x86_64" });
    else if (mode === "compile") api.compilePolicyText(text, "big.json", { arch: api.findArch("x86_64") });
    else JSON.parse(text);
  };
  global.gc();
  const rss0 = process.resourceUsage().maxRSS * 1024;
  const t0 = performance.now();
  once();
  const first = performance.now() - t0;
  const rss1 = process.resourceUsage().maxRSS * 1024;
  const times = [];
  const cpus = [];
  for (let i = 0; i < 3; i++) {
    global.gc();
    const c = cpuMs();
    const t = performance.now();
    once();
    times.push(performance.now() - t);
    cpus.push(cpuMs() - c);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[1];
  process.stdout.write(JSON.stringify({ mb, first, median: median(times), cpu: median(cpus), rssGrowth: rss1 - rss0 }));
}

/**
 * The process's CPU time (user + system, every thread: the garbage collector's helpers count),
 * in ms. On a shared machine wall time measures the neighbours as well; CPU time is the cost.
 */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function run(ctx) {
  const bytes = ctx.quick ? 2e6 : 10e6;
  const rows = [];
  let load;
  for (const mode of ["JSON.parse", "load", "compile"]) {
    const out = execFileSync(process.execPath, ["--expose-gc", "--max-old-space-size=4096", fileURLToPath(import.meta.url), "--child", mode, String(bytes)], { encoding: "utf8" });
    const r = JSON.parse(out);
    if (mode === "load") load = r;
    rows.push([
      mode === "compile" ? "load+compile" : mode, r.mb.toFixed(1), r.median.toFixed(0), (r.mb / (r.median / 1000)).toFixed(1),
      r.cpu.toFixed(0), (r.mb / (r.cpu / 1000)).toFixed(1),
      mode === "JSON.parse" ? "" : (r.rssGrowth / 1e6 / r.mb).toFixed(1),
    ]);
  }
  // The same load at half the size: the difference is what each further MB costs, without the
  // fixed part (the young generation, compiled code) that a per-MB figure of one size includes.
  const half = JSON.parse(execFileSync(process.execPath, ["--expose-gc", "--max-old-space-size=4096", fileURLToPath(import.meta.url), "--child", "load", String(bytes / 2)], { encoding: "utf8" }));
  const marginal = (load.rssGrowth - half.rssGrowth) / 1e6 / (load.mb - half.mb);
  const fixed = half.rssGrowth / 1e6 - marginal * half.mb;
  const text = formatTable([
    { title: "step", align: "l" }, { title: "MB" }, { title: "wall ms (median of 3)" }, { title: "MB/s wall" },
    { title: "CPU ms" }, { title: "MB/s CPU" }, { title: "peak RSS growth, MB per MB" },
  ], rows) +
    `\n\nTargets: load+compile >= 20 MB/s (tens of MB/s; on a loaded machine read the CPU column: wall time measures the neighbours too); policy load memory <= 10 MB per MB (measured ${(load.rssGrowth / 1e6 / load.mb).toFixed(1)} ` +
    `at ${load.mb.toFixed(1)} MB; ${marginal.toFixed(1)} MB per further MB between ${half.mb.toFixed(1)} and ${load.mb.toFixed(1)} MB, plus about ${fixed.toFixed(0)} MB fixed).`;
  return { title, text };
}

if (process.argv[2] === "--child") await child(process.argv[3], Number(process.argv[4]));
