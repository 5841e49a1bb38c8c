// A real process under the bundled QEMU filter survives SIGSTOP/SIGCONT during a sleep (the
// kernel resumes the sleep through restart_syscall); the same filter without restart_syscall
// is killed with SIGSYS, which is what lint's signal-return-denied warns about (issue 12 §4).
import { describe, it, expect } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipWhen } from "./support/skip.js";
import { repoRoot } from "./support/corpus.js";
import { bin } from "./support/cli.js";
import { launcherSkipReason } from "./fixtures/launch/support.js";

const SLEEP = "/bin/sleep";
const why = launcherSkipReason() ?? (existsSync(SLEEP) ? undefined : `no ${SLEEP}`);
const dir = mkdtempSync(join(tmpdir(), "sysfence-sigreturn-"));
const QEMU = join(repoRoot, "filters", "qemu-microvm.seccompiler.json");

/** The pid of the process running `sleep SECONDS` under a seccomp filter, once it exists. */
async function findSleeper(seconds: string, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8");
        if (cmd !== `${SLEEP}\0${seconds}\0`) continue;
        if (/^Seccomp:\s*2$/m.test(readFileSync(`/proc/${e}/status`, "utf8"))) return Number(e);
      } catch {
        // The process went away while we read it.
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no filtered ${SLEEP} ${seconds} appeared`);
}

/** Launches sleep under `policy`, stops and continues it mid-sleep; its exit status and stderr. */
async function stopContinue(policy: string, seconds: string): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [bin, "launch", "--policy", policy, "--thread", "qemu", "--", SLEEP, seconds], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const done = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const pid = await findSleeper(seconds, Date.now() + 20_000);
  await new Promise((r) => setTimeout(r, 300)); // inside clock_nanosleep
  process.kill(pid, "SIGSTOP");
  await new Promise((r) => setTimeout(r, 200));
  process.kill(pid, "SIGCONT");
  return { code: await done, err };
}

describe("stop and continue under a filter", skipWhen(why), () => {
  it("the bundled QEMU filter: sleep survives SIGSTOP/SIGCONT and exits 0", async () => {
    const r = await stopContinue(QEMU, "1.517");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  }, 30_000);
  it("without restart_syscall the process dies with SIGSYS on restart_syscall", async () => {
    const doc = JSON.parse(readFileSync(QEMU, "utf8"));
    doc.qemu.filter = doc.qemu.filter.filter((r: { syscall: string }) => r.syscall !== "restart_syscall");
    const policy = join(dir, "no-restart.json");
    writeFileSync(policy, JSON.stringify(doc));
    const r = await stopContinue(policy, "1.519");
    expect(r.code).toBe(128 + 31);
    expect(r.err).toContain("killed by SIGSYS");
    // The diagnosis names the call where the kernel log is readable (root); the death is the point.
    if (/blocked this call/.test(r.err)) expect(r.err).toContain("restart_syscall (nr 219, x86_64)");
  }, 30_000);
});
