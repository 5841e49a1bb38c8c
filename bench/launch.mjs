// Bench section "launch": median spawn-to-exec latency, measured from Node just before the
// spawn (process.hrtime, CLOCK_MONOTONIC) to the first line of main() of a tiny static probe
// (bench/.out/launch-probe, which prints its own CLOCK_MONOTONIC), for:
//   - direct spawn of the probe (no filter);
//   - sysfence launch() with the bundled QEMU filter, no jail (exec mode: pid = the probe's);
//   - sysfence launch() with the same filter and user + PID + mount namespaces;
//   - bwrap --seccomp FD with the same filter bytes (--ro-bind / /), and with
//     --unshare-user --unshare-pid (+ a new /proc), where bubblewrap is installed (as root the
//     section installs it with apt-get when it is missing).
// The variants are run round-robin (so drift hits all alike), after a warm-up. Targets (design
// goals, printed beside the numbers): no-jail within +2 ms of direct spawn, and no slower than
// bwrap with the same filter.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureOutDir, median, formatTable, repoRoot } from "./lib.mjs";

export const name = "launch";
export const title = "Launch latency: direct spawn vs sysfence launch vs bwrap --seccomp (spawn to exec)";

const TARGET_DELTA_MS = 2;

const PROBE_C = `
#include <stdio.h>
#include <time.h>
int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("%lld\\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  return 0;
}
`;

function buildProbe(out) {
  const src = join(out, "launch-probe.c");
  const bin = join(out, "launch-probe");
  writeFileSync(src, PROBE_C);
  const cc = process.env.CC ?? "cc";
  for (const extra of [["-static"], []]) {
    const r = spawnSync(cc, ["-O2", ...extra, "-o", bin, src], { encoding: "utf8" });
    if (r.status === 0) return { bin };
    if (r.error) return { skip: `no C compiler (${cc})` };
  }
  return { skip: `${cc} could not build the probe` };
}

function which(cmd) {
  const r = spawnSync("/bin/sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function ensureBwrap(log) {
  let bwrap = which("bwrap");
  if (bwrap) return { bwrap };
  if (process.getuid?.() !== 0 || !which("apt-get")) return { skip: "bwrap is not installed (apt-get install bubblewrap)" };
  log("installing bubblewrap with apt-get");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore", env });
  spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "bubblewrap"], { stdio: "ignore", env });
  bwrap = which("bwrap");
  return bwrap ? { bwrap } : { skip: "apt-get install bubblewrap failed" };
}

/** Runs one child; resolves with (probe's clock - t0) in ms. */
function measure(start) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = start();
    let out = "";
    const timer = setTimeout(() => {
      child.kill?.("SIGKILL");
      reject(new Error("launch took more than 10 s"));
    }, 10_000);
    child.stdout.on("data", (d) => (out += d));
    child.onDone((code) => {
      clearTimeout(timer);
      const ts = BigInt(out.trim() || "0");
      if (code !== 0 || ts === 0n) return reject(new Error(`probe failed (exit ${code}, output "${out.trim()}")`));
      resolve(Number(ts - t0) / 1e6);
    });
  });
}

function spawned(cmd, args, filter) {
  const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore", ...(filter ? ["pipe"] : [])] });
  if (filter) {
    c.stdio[3].on("error", () => {});
    c.stdio[3].end(filter);
  }
  c.onDone = (f) => c.on("close", (code) => f(code));
  return c;
}

function launched(api, opts) {
  const h = api.launch({ ...opts, stdio: ["ignore", "pipe", "ignore"] });
  return { stdout: h.stdout, kill: (s) => h.kill(s), onDone: (f) => h.exit.then((r) => f(r.code)) };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: median(xs), p10: q(0.1), p90: q(0.9), min: s[0] };
}

export async function run(ctx) {
  const { api, quick, log } = ctx;
  const out = ensureOutDir();
  const probe = buildProbe(out);
  if (probe.skip) return { title, text: `skipped: ${probe.skip}` };
  execFileSync(process.execPath, [join(repoRoot, "launcher", "build.mjs"), "--quiet"], { stdio: "inherit" });
  if (typeof api.launch !== "function") return { title, text: "skipped: this build of sysfence has no launch() (rebuild dist/)" };
  try {
    api.requireLauncher();
  } catch (e) {
    return { title, text: `skipped: ${e.message}` };
  }
  const policy = join(repoRoot, "filters", "qemu-microvm.seccompiler.json");
  // The same filter for every variant: the bundled QEMU policy plus wait4, which bwrap needs
  // because it installs the filter on its own PID 1 too (sysfence's PID 1 stays unfiltered).
  const doc = JSON.parse(readFileSync(policy, "utf8"));
  doc.qemu.filter.push({ syscall: "wait4" });
  const program = api.compilePolicyText(JSON.stringify(doc), policy, { thread: "qemu" }).programs[0].program;
  const bytes = Buffer.from(api.writeRaw(program, api.hostArch().endian));
  const root = process.getuid?.() === 0;
  const bw = ensureBwrap(log);

  const variants = [
    { name: "direct spawn (no filter)", start: () => spawned(probe.bin, []) },
    { name: "sysfence launch, no jail", start: () => launched(api, { filter: program, argv: [probe.bin] }) },
    { name: "sysfence launch, user+pid+mount ns", start: () => launched(api, { filter: program, argv: [probe.bin], jail: { userns: true, pidns: true, mountns: true } }) },
  ];
  if (bw.bwrap) {
    variants.push({ name: "bwrap --seccomp (--ro-bind / /)", start: () => spawned(bw.bwrap, ["--ro-bind", "/", "/", "--seccomp", "3", "--", probe.bin], bytes) });
    variants.push({
      name: "bwrap --seccomp, user+pid ns, new /proc",
      start: () => spawned(bw.bwrap, ["--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--seccomp", "3", "--", probe.bin], bytes),
    });
  }
  const runs = quick ? 30 : 200;
  const warmup = quick ? 5 : 20;
  log(`${variants.length} variants, ${warmup} warm-up + ${runs} timed runs each, round-robin`);
  const times = variants.map(() => []);
  for (let i = 0; i < warmup + runs; i++) {
    for (let v = 0; v < variants.length; v++) {
      let ms;
      try {
        ms = await measure(variants[v].start);
      } catch (e) {
        variants[v].error = e.message;
        continue;
      }
      if (i >= warmup) times[v].push(ms);
    }
  }
  const st = times.map((t) => (t.length ? stats(t) : undefined));
  const f = (x) => (x === undefined ? "-" : x.toFixed(2));
  const rows = variants.map((v, i) => [v.name, f(st[i]?.median), f(st[i]?.p10), f(st[i]?.p90), f(st[i]?.min), String(times[i].length), v.error ? `error: ${v.error}` : ""]);
  const table = formatTable(
    [{ title: "path (spawn to exec of the probe)", align: "l" }, { title: "median ms", align: "r" }, { title: "p10", align: "r" }, { title: "p90", align: "r" }, { title: "min", align: "r" }, { title: "runs", align: "r" }, { title: "", align: "l" }],
    rows,
  );
  const lines = [table, ""];
  const direct = st[0]?.median;
  const noJail = st[1]?.median;
  const bwrapMed = st[3]?.median;
  if (direct !== undefined && noJail !== undefined) {
    const d = noJail - direct;
    lines.push(`sysfence launch (no jail) - direct spawn: ${d >= 0 ? "+" : ""}${d.toFixed(2)} ms (target: at most +${TARGET_DELTA_MS} ms) ${d <= TARGET_DELTA_MS ? "MET" : "MISSED"}`);
  }
  if (bwrapMed !== undefined && noJail !== undefined) {
    lines.push(`sysfence launch (no jail) vs bwrap --seccomp: ${noJail.toFixed(2)} vs ${bwrapMed.toFixed(2)} ms (target: no slower) ${noJail <= bwrapMed ? "MET" : "MISSED"}`);
  } else {
    lines.push(`bwrap: ${bw.skip ?? "not measured"}`);
  }
  if (st[2] && st[4]) lines.push(`with namespaces: sysfence ${st[2].median.toFixed(2)} ms vs bwrap ${st[4].median.toFixed(2)} ms`);
  lines.push(`filter: filters/qemu-microvm.seccompiler.json (qemu thread) + wait4, ${program.length} instructions; ${root ? "as root" : "unprivileged"}`);
  return { title, text: lines.join("\n"), data: { variants: variants.map((v, i) => ({ name: v.name, ...st[i] })) } };
}
