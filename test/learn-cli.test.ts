// `sysfence learn` as a user runs it, and a learned policy put to the real kernel: learned from
// a recorded run, installed with seccomp-exec, the same program runs unchanged and its trace
// replays with nothing denied.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, corpusPath } from "./support/corpus.js";
import { seccompExec, strace, recordingWhy } from "./fixtures/traces/native.js";
import { skipWhen } from "./support/skip.js";
import { hostArch } from "../src/syscalls/index.js";

const bin = join(repoRoot, "bin/sysfence.js");
let dir: string;

function sf(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-learn-cli-"));
  writeFileSync(join(dir, "t.strace"), [
    "1  openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = 3",
    "1  read(3, \"host\\n\", 4096) = 5",
    "1  ioctl(1, TCGETS, 0x7ffc) = -1 ENOTTY (Inappropriate ioctl for device)",
    "1  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f00",
    "1  close(3) = 0",
    "1  exit_group(0) = ?",
  ].join("\n") + "\n");
  copyFileSync(join(repoRoot, "test/fixtures/traces/garbage.strace"), join(dir, "garbage.strace"));
});

describe("sysfence learn", () => {
  it("writes the policy, says what it proved, and the policy replays clean", () => {
    const r = sf(["learn", "t.strace", "--arch", "x86_64", "-o", "p.json"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^sysfence: learned 9 syscalls from 6 calls in 1 trace \(2 narrowed by argument: ioctl, mmap\); seccompiler policy for x86_64 written to p\.json$/m);
    expect(r.err).toMatch(/^sysfence: compiled: \d+ instructions, accepted by the checker$/m);
    expect(r.err).toContain("sysfence: lint: 0 errors, 0 other findings");
    expect(r.err).toContain("sysfence: stricter than allow-all: yes");
    expect(r.err).toContain("sysfence: replay of the traces under it: 6 calls, 6 allowed, 0 denied, 0 depends");
    expect(JSON.parse(readFileSync(join(dir, "p.json"), "utf8")).main.default_action).toBe("kill_process");
    expect(sf(["replay", "p.json", "t.strace", "--arch", "x86_64"]).code).toBe(0);
    expect(sf(["check", "p.json", "--arch", "x86_64"])).toMatchObject({ code: 0 });
  });
  it("stdout without -o; OCI; --thread; --default-action", () => {
    const r = sf(["learn", "t.strace", "--arch", "x86_64", "--thread", "vmm", "--default-action", "trap"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).vmm.default_action).toBe("trap");
    const o = sf(["learn", "t.strace", "--arch", "x86_64", "--format", "oci", "--default-action", "errno(1)"]);
    expect(JSON.parse(o.out)).toMatchObject({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1 });
  });
  it("--within T@FILE: holds, or exit 1 with a counterexample", () => {
    writeFileSync(join(dir, "base.json"), JSON.stringify({
      vmm: { default_action: "trap", filter_action: "allow", filter: ["openat", "read", "ioctl", "mmap", "close", "exit_group", "exit", "rt_sigreturn", "restart_syscall"].map((s) => ({ syscall: s })) },
    }));
    const ok = sf(["learn", "t.strace", "--arch", "x86_64", "--within", "vmm@base.json", "-o", "in.json"]);
    expect(ok.code).toBe(0);
    expect(ok.err).toContain("sysfence: within base.json[vmm]: yes");
    writeFileSync(join(dir, "narrow.json"), JSON.stringify({
      vmm: { default_action: "trap", filter_action: "allow", filter: [{ syscall: "read" }, { syscall: "mmap", args: [{ index: 3, type: "dword", op: "eq", val: 1 }] }] },
    }));
    const no = sf(["learn", "t.strace", "--arch", "x86_64", "--within", "narrow.json", "--widen", "-o", "out.json"]);
    expect(no.code).toBe(1);
    expect(no.err).toMatch(/^sysfence: warning: narrow\.json\[vmm\] denies openat \(TRAP\(0\)\) \(seen 1 time, first at t\.strace:1\): left out of the learned policy$/m);
    expect(no.err).toMatch(/^sysfence: within narrow\.json\[vmm\]: NO, e\.g\. mmap\(.*\) on x86_64: ALLOW vs TRAP\(0\)$/m);
  });
  it.each([
    [["t.strace"], /^sysfence: give --arch: the ABI the policy is for/],
    [["t.strace", "--arch", "x86_64", "--format", "xml"], /^sysfence: --format takes seccompiler, oci or minijail, not "xml"/],
    [["t.strace", "--arch", "x86_64", "--default-action", "allow"], /^sysfence: --default-action: a learned policy with default action allow would allow everything/],
    [["garbage.strace", "--arch", "x86_64"], /^sysfence: garbage\.strace:3: not a strace line/],
    [["t.strace", "--arch", "vax"], /^sysfence: --arch: unknown arch "vax"/],
  ])("bad input %j: one line, exit 2", (args, msg) => {
    const r = sf(["learn", ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
  it("the corpus QEMU trace through the CLI", () => {
    const t = corpusPath("traces", "qemu-tcg-microvm-boot.strace.txt");
    const r = sf(["learn", t, "--arch", "x86_64", "--format", "oci", "-o", "qemu.json"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/0 denied, 0 depends/);
    expect(sf(["replay", "qemu.json", t, "--arch", "x86_64"]).code).toBe(0);
  });
});

describe("a learned policy on the real kernel", skipWhen(recordingWhy()), () => {
  it("learned from a recorded run, installed for real: the same run works and is not refused anything", () => {
    const helper = seccompExec();
    const st = strace();
    const host = hostArch();
    const cmd = "ls / > /dev/null; cat /etc/hostname; head -c 16 /dev/urandom | od -An | wc -l";
    const plain = spawnSync(st, ["-f", "-X", "raw", "-o", join(dir, "run.strace"), "sh", "-c", cmd], { encoding: "utf8", cwd: dir });
    expect(plain.status).toBe(0);
    // Default ENOSYS rather than a kill: anything the policy lacks shows up in the trace.
    const l = sf(["learn", "run.strace", "--arch", host.name, "--default-action", "errno(38)", "-o", "learned.json"]);
    expect(l.code, l.err).toBe(0);
    expect(sf(["compile", "learned.json", "--arch", host.name, "-o", "learned.bpf"]).code).toBe(0);
    const filtered = spawnSync(st, ["-f", "-X", "raw", "-o", join(dir, "filtered.strace"), helper, join(dir, "learned.bpf"), "sh", "-c", cmd], { encoding: "utf8", cwd: dir });
    expect(filtered.status, filtered.stderr).toBe(0);
    expect(filtered.stdout).toBe(plain.stdout);
    const after = readFileSync(join(dir, "filtered.strace"), "utf8").split("\n");
    const installed = after.findIndex((x) => /seccomp\(0x1, .*\) = 0$/.test(x));
    expect(installed).toBeGreaterThan(0);
    expect(after.slice(installed + 1).filter((x) => /= -1 ENOSYS/.test(x))).toEqual([]);
    const r = sf(["replay", "learned.json", "filtered.strace", "--arch", host.name, "--after-install", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).totals).toMatchObject({ denied: 0, depends: 0, installs: 1 });
  });
});
