// Bench section "live": live filters end to end.
//   - `sysfence verify equal pid:N POLICY`, a whole CLI run (Node start, read-back through
//     ptrace, compile of the policy, proof): N is a process launched under Docker's default
//     profile as sysfence compiles it (~1,000 instructions on x86_64, the size runc and crun
//     install for it), POLICY the profile. Target: under 1 s.
//   - `sysfence dump N -o DIR`, a whole CLI run.
//   - `launch({ attest: true })`: spawn-to-ready with and without attest (round-robin), and the
//     attest step alone (read-back + byte compare) timed in-process. Target: under 1 ms added.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, formatTable, repoRoot } from "./lib.mjs";

export const name = "live";
export const title = "Live filters: verify equal / dump of a running process, launch --attest latency";

const PROFILE = join(repoRoot, "test", "corpus", "profiles", "moby-profiles-seccomp-default.json");
const BIN = join(repoRoot, "bin", "sysfence.js");

function cliMs(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

const cols = (first) => [{ title: first, align: "l" }, { title: "time" }, { title: "target", align: "l" }];
const fmt = (x) => `${x.toFixed(x < 10 ? 3 : 0)} ms`;

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

  // 1. CLI end to end against a launched process.
  const h = api.launch({ filter: program, argv: ["/bin/sleep", "600"], stdio: "ignore" });
  const pid = await h.ready;
  const dir = mkdtempSync(join(tmpdir(), "sysfence-bench-live-"));
  try {
    const verify = [];
    const dump = [];
    let last;
    for (let i = 0; i < runs; i++) {
      log(`live: run ${i + 1}/${runs}`);
      last = cliMs(["verify", "equal", `pid:${pid}`, PROFILE]);
      if (last.code !== 0) throw new Error(`verify equal failed: ${last.out} ${last.err}`);
      verify.push(last.ms);
      const d = cliMs(["dump", String(pid), "-o", dir]);
      if (d.code !== 0) throw new Error(`dump failed: ${d.err}`);
      dump.push(d.ms);
    }
    const version = cliMs(["--version"]);
    lines.push(`process: /bin/sleep launched under ${PROFILE.slice(repoRoot.length + 1)} compiled by sysfence (${program.length} instructions)`);
    lines.push(formatTable(cols(`CLI run (median of ${runs})`), [
      ["sysfence verify equal pid:N PROFILE", fmt(median(verify)), median(verify) < 1000 ? "< 1 s: met" : `< 1 s: missed by ${fmt(median(verify) - 1000)}`],
      ["sysfence dump N -o DIR", fmt(median(dump)), ""],
      ["sysfence --version (Node start + bundle load)", fmt(version.ms), ""],
    ]));
    lines.push(`answer: ${last.out}`);
  } finally {
    h.kill("SIGKILL");
    await h.exit;
    rmSync(dir, { recursive: true, force: true });
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
  lines.push(formatTable(cols(`launch() spawn to ready (median of ${n}, round-robin)`), [
    ["without attest", fmt(median(plain)), ""],
    ["with attest", fmt(median(attested)), ""],
    ["difference of the medians", fmt(added), added < 1 ? "< 1 ms: met" : `< 1 ms: missed by ${fmt(added - 1)}`],
    ["attest step alone (read-back + compare, in-process)", fmt(median(step)), median(step) < 1 ? "< 1 ms: met" : `< 1 ms: missed by ${fmt(median(step) - 1)}`],
  ]));
  return { title, text: lines.join("\n") };
}
