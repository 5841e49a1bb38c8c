// Bench section "live": live filters end to end.
//   - A runc container under Docker's default profile (as Docker's daemon converts it; 1,015
//     instructions on x86_64), when runc and busybox are installed and this is root:
//     `sysfence verify subset pid:N PROFILE` (holds: the proof over the whole filter) and
//     `verify equal pid:N PROFILE` (does not hold: runc's ENOSYS stub), whole CLI runs (Node
//     start, read-back through ptrace, compile of the policy, proof). Target: under 1 s.
//   - `sysfence verify equal pid:N POLICY` for a process launched under sysfence's own compile
//     of the profile (holds), and `sysfence dump N -o DIR`.
//   Each CLI row gives wall time and the run's CPU time (user + system, measured inside the run
//   by bench/cpu-at-exit.cjs): on a loaded machine the wall time mostly measures the others.
//   - `launch({ attest: true })`: spawn-to-ready with and without attest (round-robin), and the
//     attest step alone (read-back + byte compare) timed in-process. Target: under 1 ms added.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync, mkdirSync, copyFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, formatTable, repoRoot } from "./lib.mjs";

export const name = "live";
export const title = "Live filters: verify equal / dump of a running process, launch --attest latency";

const PROFILE = join(repoRoot, "test", "corpus", "profiles", "moby-profiles-seccomp-default.json");
const BIN = join(repoRoot, "bin", "sysfence.js");

const CPU_HOOK = join(repoRoot, "bench", "cpu-at-exit.cjs");

/** One CLI run: wall time from spawn to exit, and the run's own CPU time. */
function cliMs(args, scratch) {
  const cpuFile = join(scratch, "cpu");
  rmSync(cpuFile, { force: true });
  const env = { ...process.env, NODE_OPTIONS: `--require ${CPU_HOOK}`, SYSFENCE_BENCH_CPU_FILE: cpuFile };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = existsSync(cpuFile) ? Number(readFileSync(cpuFile, "utf8").trim()) : NaN;
  return { ms, cpu, code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** Runs `args` `runs` times; medians of wall and CPU time, the last answer. */
function cliRuns(args, runs, scratch, okCodes, log) {
  const wall = [];
  const cpu = [];
  let last;
  for (let i = 0; i < runs; i++) {
    log(`live: ${args.slice(0, 2).join(" ")} run ${i + 1}/${runs}`);
    last = cliMs(args, scratch);
    if (!okCodes.includes(last.code)) throw new Error(`sysfence ${args.join(" ")} exited ${last.code}: ${last.out} ${last.err}`);
    wall.push(last.ms);
    cpu.push(last.cpu);
  }
  return { wall: median(wall), cpu: median(cpu), last };
}

const cols = (first) => [{ title: first, align: "l" }, { title: "wall" }, { title: "CPU" }, { title: "target", align: "l" }];
const fmt = (x) => `${x.toFixed(x < 10 ? 3 : 0)} ms`;
const target1s = (ms) => (ms < 1000 ? "< 1 s: met" : `< 1 s: missed by ${fmt(ms - 1000)}`);
const firstLine = (s) => s.split("\n")[0];

/** Why a runc container cannot be started here, or undefined. */
function runcSkipReason() {
  if (process.getuid?.() !== 0) return "needs root";
  if (spawnSync("runc", ["--version"]).error) return "runc is not installed (scripts/ci.d/30-runtimes.sh installs it)";
  if (!existsSync("/bin/busybox")) return "busybox-static is not installed";
  return undefined;
}

/**
 * A detached runc container sleeping under `seccomp` (runtime-spec JSON text), as
 * test/fixtures/live/runtimes.ts builds it. Returns { pid, remove }; remove() kills and deletes.
 */
function runcContainer(seccomp, scratch) {
  const dir = join(scratch, "bundle");
  const id = `sysfence-bench-${process.pid}`;
  mkdirSync(join(dir, "rootfs", "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(dir, "rootfs", "bin", "busybox"));
  symlinkSync("busybox", join(dir, "rootfs", "bin", "sleep"));
  for (const d of ["proc", "dev", "tmp"]) mkdirSync(join(dir, "rootfs", d));
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["/bin/sleep", "600"], env: ["PATH=/bin"], cwd: "/", noNewPrivileges: true },
    root: { path: "rootfs", readonly: true },
    hostname: "bench",
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }], seccomp: JSON.parse(seccomp) },
  }));
  const base = ["--root", join(dir, "state")];
  const remove = () => {
    spawnSync("runc", [...base, "kill", id, "KILL"], { stdio: "ignore" });
    spawnSync("runc", [...base, "delete", "--force", id], { stdio: "ignore" });
  };
  const r = spawnSync("runc", [...base, "run", "--detach", "--bundle", dir, id], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", timeout: 30_000 });
  const pid = Number(/"pid":\s*(\d+)/.exec(spawnSync("runc", [...base, "state", id], { encoding: "utf8" }).stdout)?.[1]);
  if (r.status !== 0 || !pid) {
    remove();
    throw new Error(`runc run failed (${r.status}): ${r.stderr}`);
  }
  return { pid, remove };
}

export async function run(ctx) {
  const { api, quick, log } = ctx;
  const why = api.liveReadRefusal?.();
  if (why) return { title, text: `skipped: ${why}` };
  execFileSync(process.execPath, [join(repoRoot, "launcher", "build.mjs"), "--quiet"], { stdio: "inherit" });
  try {
    api.requireLauncher();
  } catch (e) {
    return { title, text: `skipped: ${e.message}` };
  }
  const program = api.compilePolicyText(readFileSync(PROFILE, "utf8"), PROFILE).programs[0].program;
  const runs = quick ? 3 : 9;
  const lines = [];

  const scratch = mkdtempSync(join(tmpdir(), "sysfence-bench-live-"));
  const dir = join(scratch, "dump");
  const hostArchName = api.hostArch().name;
  try {
    // 1. a runc container's filter against its policy.
    const noRunc = runcSkipReason();
    if (noRunc) lines.push(`runc container: skipped: ${noRunc}`);
    else {
      const c = runcContainer(api.dockerRuntimeSeccomp(readFileSync(PROFILE, "utf8"), PROFILE, { arch: api.hostArch() }), scratch);
      try {
        const n = api.readLiveFilters(c.pid).stacks[0].filters[0].program.length;
        const sub = cliRuns(["verify", "subset", `pid:${c.pid}`, PROFILE, "--arch", hostArchName], runs, scratch, [0], log);
        const eq = cliRuns(["verify", "equal", `pid:${c.pid}`, PROFILE, "--arch", hostArchName], runs, scratch, [1], log);
        lines.push(`runc container under ${PROFILE.slice(repoRoot.length + 1)} as Docker converts it (${n} instructions)`);
        lines.push(formatTable(cols(`CLI run (median of ${runs})`), [
          ["sysfence verify subset pid:N PROFILE", fmt(sub.wall), fmt(sub.cpu), target1s(sub.wall)],
          ["sysfence verify equal pid:N PROFILE", fmt(eq.wall), fmt(eq.cpu), target1s(eq.wall)],
        ]));
        lines.push(`answers: ${firstLine(sub.last.out)} / ${firstLine(eq.last.out)}`);
        lines.push("");
      } finally {
        c.remove();
      }
    }

    // 2. a process launched under sysfence's compile of the profile.
    const h = api.launch({ filter: program, argv: ["/bin/sleep", "600"], stdio: "ignore" });
    const pid = await h.ready;
    try {
      const verify = cliRuns(["verify", "equal", `pid:${pid}`, PROFILE], runs, scratch, [0], log);
      const dump = cliRuns(["dump", String(pid), "-o", dir], runs, scratch, [0], log);
      const version = cliRuns(["--version"], runs, scratch, [0], log);
      lines.push(`process: /bin/sleep launched under ${PROFILE.slice(repoRoot.length + 1)} compiled by sysfence (${program.length} instructions)`);
      lines.push(formatTable(cols(`CLI run (median of ${runs})`), [
        ["sysfence verify equal pid:N PROFILE", fmt(verify.wall), fmt(verify.cpu), target1s(verify.wall)],
        ["sysfence dump N -o DIR", fmt(dump.wall), fmt(dump.cpu), ""],
        ["sysfence --version (Node start + bundle load)", fmt(version.wall), fmt(version.cpu), ""],
      ]));
      lines.push(`answer: ${firstLine(verify.last.out)}`);
    } finally {
      h.kill("SIGKILL");
      await h.exit;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  // 2. attest latency.
  const n = quick ? 10 : 40;
  const plain = [];
  const attested = [];
  const step = [];
  for (let i = 0; i < n; i++) {
    for (const attest of [false, true]) {
      const t0 = process.hrtime.bigint();
      const l = api.launch({ filter: program, argv: ["/bin/sleep", "5"], stdio: "ignore", attest });
      const p = await l.ready;
      (attest ? attested : plain).push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!attest) {
        const s0 = process.hrtime.bigint();
        api.attestStack(p, [program]);
        step.push(Number(process.hrtime.bigint() - s0) / 1e6);
      }
      l.kill("SIGKILL");
      await l.exit;
    }
  }
  const added = median(attested) - median(plain);
  lines.push("");
  const acols = [{ title: `launch() spawn to ready (median of ${n}, round-robin)`, align: "l" }, { title: "time" }, { title: "target", align: "l" }];
  lines.push(formatTable(acols, [
    ["without attest", fmt(median(plain)), ""],
    ["with attest", fmt(median(attested)), ""],
    ["difference of the medians", fmt(added), added < 1 ? "< 1 ms: met" : `< 1 ms: missed by ${fmt(added - 1)}`],
    ["attest step alone (read-back + compare, in-process)", fmt(median(step)), median(step) < 1 ? "< 1 ms: met" : `< 1 ms: missed by ${fmt(median(step) - 1)}`],
  ]));
  return { title, text: lines.join("\n") };
}
