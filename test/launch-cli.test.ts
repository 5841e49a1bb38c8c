// `sysfence launch` and the doctor's launch lines, run as a user would (bin/sysfence.js).
import { describe, it, expect, beforeAll } from "vitest";
import { skipWhen } from "./support/skip.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { writeRaw } from "../src/formats/raw.js";
import { launcherSkipReason, denyFilter } from "./fixtures/launch/support.js";

const bin = join(repoRoot, "bin/sysfence.js");
const why = launcherSkipReason();
let dir: string;

function sf(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; signal: string | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir, timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-launch-cli-"));
  writeFileSync(join(dir, "deny-mkdir.bpf"), writeRaw(denyFilter(["mkdir", "mkdirat"])));
  writeFileSync(join(dir, "deny-execve.bpf"), writeRaw(denyFilter(["execve"])));
});

describe("sysfence launch", skipWhen(why), () => {
  it("exit status mirrors the program's", () => {
    const r = sf(["launch", "--filter", "deny-mkdir.bpf", "--", "/bin/sh", "-c", "echo out; exit 3"]);
    expect(r).toMatchObject({ code: 3, out: "out\n" });
  });

  it("a SIGSYS death exits 128+31 and names the syscall (notify)", () => {
    const r = sf(["launch", "--filter", "deny-mkdir.bpf", "--diagnose", "notify", "--", "/bin/mkdir", join(dir, "never")]);
    expect(r.code).toBe(159);
    expect(r.err).toMatch(/mkdir was killed by SIGSYS \(seccomp\): blocked this call:\n {2}mkdir \(nr 83, x86_64\) by pid \d+ args 0x/);
  });

  it("permissive lists the would-be kills and lets the program finish", () => {
    const r = sf(["launch", "--filter", "deny-mkdir.bpf", "--diagnose", "permissive", "--", "/bin/mkdir", join(dir, "made")]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/diagnose permissive: the filter would have killed this call:\n {2}mkdir \(nr 83/);
  });

  it("refusals exit 1 before anything starts; a missing program exits 127 with its path", () => {
    const r = sf(["launch", "--filter", "deny-execve.bpf", "--", "/bin/true"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^sysfence: deny-execve.bpf: the filter returns KILL_PROCESS for execve on x86_64/);
    const m = sf(["launch", "--", "/opt/none/vmm"]);
    expect(m.code).toBe(127);
    expect(m.err).toMatch(/launch: exec: \/opt\/none\/vmm \(ENOENT\)/);
  });

  it("--check accepts or refuses without starting anything", () => {
    expect(sf(["launch", "--check", "--policy", join(repoRoot, "filters/qemu-microvm.seccompiler.json"), "--thread", "qemu", "--", "qemu-system-x86_64"]).out)
      .toMatch(/^ok: 1 filter\(s\) \(.*qemu-microvm.seccompiler.json\[qemu\]: \d+ instructions\)/);
  });

  it("jail from --jail FILE, SYSFENCE_JAIL_* and flags, in that order", (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip(`needs root (this is uid ${process.getuid?.()})`);
    writeFileSync(join(dir, "jail.json"), JSON.stringify({ uid: 1, gid: 1, rlimits: { nofile: 100 } }));
    const r = sf(["launch", "--jail", "jail.json", "--uid", "3", "--", "/bin/sh", "-c", "id -u; id -g; ulimit -n"], { SYSFENCE_JAIL_UID: "2", SYSFENCE_JAIL_GID: "2" });
    expect(r.out).toBe("3\n2\n100\n");
    const bad = sf(["launch", "--", "/bin/true"], { SYSFENCE_JAIL_USRENS: "1" });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/SYSFENCE_JAIL_USRENS: unknown jail variable/);
  });

  it("doctor reports the launcher, user namespaces, Landlock and the cgroup v2 mount", () => {
    const r = sf(["doctor"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^launcher {10}\S+sysfence-launcher/m);
    expect(r.out).toMatch(/^user namespaces {3}root: /m);
    expect(r.out).toMatch(/^landlock {10}(ABI \d|unavailable)/m);
    expect(r.out).toMatch(/^cgroup v2 {9}/m);
    const j = JSON.parse(sf(["doctor", "--json"]).out);
    expect(j.launch.userns).toHaveProperty("sysctls");
  });
});
