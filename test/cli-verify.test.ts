// `sysfence verify`: outputs, counterexamples and exit codes (0 holds, 1 does not hold, 3
// inconclusive, 2 bad input).
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, copyFileSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";

let dir: string;
const sf = (...args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-verify-"));
  copyFileSync(join(repoRoot, "test/fixtures/policies/seccompiler-example.json"), join(dir, "fc.json"));
  const j = JSON.parse(readFileSync(join(dir, "fc.json"), "utf8"));
  j.vmm.filter.push({ syscall: "getpid" });
  writeFileSync(join(dir, "more.json"), JSON.stringify(j));
  // Many more argument rules: a superset whose compiled tree shares little with the original.
  for (const name of ["write", "close", "fstat", "lseek", "munmap", "brk", "pread64", "pwrite64", "readv", "writev", "dup", "fcntl", "futex", "epoll_wait", "madvise"]) {
    for (let v = 0; v < 6; v++) j.vmm.filter.push({ syscall: name, args: [{ index: v % 3, type: "dword", op: "eq", val: 100 + v }] });
  }
  writeFileSync(join(dir, "big.json"), JSON.stringify(j));
});

describe("sysfence verify", () => {
  it("subset holds (exit 0) and fails with a confirmed counterexample (exit 1)", () => {
    expect(sf("verify", "subset", "vmm@fc.json", "vmm@more.json", "--arch", "x86_64")).toMatchObject({ code: 0 });
    const r = sf("verify", "subset", "vmm@more.json", "vmm@fc.json", "--arch", "x86_64", "--json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.result).toBe("does not hold");
    expect(j.counterexample).toMatchObject({ arch: "x86_64", syscall: "getpid", nr: 39 });
    expect(Object.values(j.counterexample.results)).toEqual(["ALLOW", "TRAP(0)"]);
  });
  it("--stricter compares by kernel precedence", () => {
    expect(sf("verify", "subset", "--stricter", "vmm@fc.json", "vmm@more.json", "--arch", "x86_64").code).toBe(0);
    expect(sf("verify", "subset", "--stricter", "vmm@more.json", "vmm@fc.json", "--arch", "x86_64").code).toBe(1);
  });
  it("equal across containers: a compiled bpf equals its policy", () => {
    expect(sf("compile", "fc.json", "--arch", "x86_64", "--thread", "vmm", "-o", "vmm.bpf").code).toBe(0);
    expect(sf("verify", "equal", "vmm.bpf", "vmm@fc.json", "--arch", "x86_64").out).toMatch(/: holds$/m);
    expect(sf("verify", "equal", "vmm.bpf", "api@fc.json", "--arch", "x86_64").code).toBe(1);
  });
  it("stack: the effective policy, and --equals", () => {
    const r = sf("verify", "stack", "vmm@more.json", "vmm@fc.json", "--arch", "x86_64", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.outcomes.map((o: { action: string }) => o.action).sort()).toEqual(["ALLOW", "KILL_PROCESS", "TRAP(0)"]);
    // The api thread (empty filter) under vmm allows nothing at all.
    const api = JSON.parse(sf("verify", "stack", "api@fc.json", "vmm@fc.json", "--arch", "x86_64", "--json").out);
    expect(api.outcomes.map((o: { action: string }) => o.action).sort()).toEqual(["KILL_PROCESS", "TRAP(0)"]);
    // A permissive phase under a restrictive one: the effective policy is the restrictive one.
    expect(sf("verify", "stack", "vmm@more.json", "vmm@fc.json", "--equals", "vmm@fc.json", "--arch", "x86_64").code).toBe(0);
    expect(sf("verify", "stack", "vmm@more.json", "vmm@fc.json", "--equals", "vmm@more.json", "--arch", "x86_64").code).toBe(1);
  });
  it("diff lists each syscall where the filters differ, with the argument condition", () => {
    const j = JSON.parse(readFileSync(join(dir, "fc.json"), "utf8"));
    j.vmm.filter.find((r: { syscall: string }) => r.syscall === "ioctl").args[0].val = 21506; // TCGETS -> TCSETS
    writeFileSync(join(dir, "ioctl.json"), JSON.stringify(j));
    const r = sf("verify", "diff", "vmm@more.json", "vmm@ioctl.json", "--arch", "x86_64", "--json");
    expect(r.code).toBe(1);
    const d = JSON.parse(r.out).differences;
    expect(d).toContainEqual({ arch: "x86_64", syscall: "getpid", nr: [39, 39], a: "ALLOW", b: "TRAP(0)", when: "always" });
    expect(d).toContainEqual({ arch: "x86_64", syscall: "ioctl", nr: [16, 16], a: "ALLOW", b: "TRAP(0)", when: "args[1].lo == 0x5401" });
    expect(d).toContainEqual({ arch: "x86_64", syscall: "ioctl", nr: [16, 16], a: "TRAP(0)", b: "ALLOW", when: "args[1].lo == 0x5402" });
    expect(d).toHaveLength(3);
    const same = sf("verify", "diff", "vmm@fc.json", "vmm@fc.json", "--arch", "x86_64");
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/no difference/);
  });
  it("explain prints the policy and writes seccompiler JSON that compiles back to an equal filter", () => {
    const t = sf("explain", "vmm@fc.json", "--arch", "x86_64");
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^ {2}ioctl \(16\): ALLOW when args\[1\]\.lo == 0x5401; otherwise TRAP\(0\)$/m);
    expect(sf("explain", "vmm@fc.json", "--arch", "x86_64", "--format", "seccompiler", "-o", "ex.json").code).toBe(0);
    expect(sf("verify", "equal", "main@ex.json", "vmm@fc.json", "--arch", "x86_64").code).toBe(0);
    const asm = "ld nr\njeq #0, allow, kill\nallow: ret ALLOW\nkill: ret KILL_PROCESS\n";
    writeFileSync(join(dir, "noarch.asm"), asm);
    expect(sf("asm", "noarch.asm", "-o", "noarch.bpf").code).toBe(0);
    const r = sf("explain", "noarch.bpf", "--format", "seccompiler");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no arch check/);
  });
  it("says inconclusive (exit 3) when the budget is too small, never yes or no", () => {
    // A relation that holds, so no input can refute it and the symbolic engine must decide.
    const r = sf("verify", "subset", "vmm@fc.json", "vmm@big.json", "--arch", "x86_64", "--budget", "1000");
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/inconclusive: the BDD node budget was exceeded/);
    expect(sf("verify", "subset", "vmm@fc.json", "vmm@big.json", "--arch", "x86_64").code).toBe(0);
  });
  it("bad input exits 2", () => {
    expect(sf("verify", "equal", "missing.bpf", "vmm@fc.json").code).toBe(2);
  });
});
