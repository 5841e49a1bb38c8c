// Each lint finding on a filter that has the flaw and on one that does not.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Program } from "../src/engine/program.js";
import { assemble } from "../src/text/asm.js";
import { readRaw } from "../src/formats/raw.js";
import { policy, arg } from "../src/policy/builder.js";
import { compileIR } from "../src/policy/compile.js";
import { lint, lintPolicy, type Finding } from "../src/verify/lint.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { corpusPath, repoRoot } from "./support/corpus.js";
import { loadFilters } from "../src/formats/detect.js";
import { findArch } from "../src/syscalls/arches.js";
import "../src/policy/index.js";

const ids = (p: Program, under?: Program[]): string[] => {
  const r = lint(p, { stackedUnder: under });
  if (r instanceof Inconclusive) throw new Error(r.reason);
  return r.map((f: Finding) => f.id);
};
const asm = (body: string) => assemble(".arch x86_64\n" + body);
const GUARD = "ld arch\njeq #AUDIT_ARCH_X86_64, next, kill\nld nr\njge #0x40000000, kill, next\n";
const TAIL = "allow: ret ALLOW\nkill: ret KILL_PROCESS\n";

describe("lint", () => {
  it("no-arch-check", () => {
    expect(ids(asm("ld nr\njeq #execve, kill\n" + TAIL))).toContain("no-arch-check");
    expect(ids(asm(GUARD + "jeq #execve, kill\n" + TAIL))).not.toContain("no-arch-check");
  });
  it("x32-reachable under a permissive default", () => {
    expect(ids(asm("ld arch\njeq #AUDIT_ARCH_X86_64, next, kill\nld nr\njeq #execve, kill\n" + TAIL))).toContain("x32-reachable");
    expect(ids(asm(GUARD + "jeq #execve, kill\n" + TAIL))).not.toContain("x32-reachable");
  });
  it("int-arg-high-word: a 64-bit compare on socket's family", () => {
    const wide = policy({ arch: "x86_64", default: "errno(1)" }).rule("socket", [arg(0).qword().eq(1n)], "allow").build();
    const low = policy({ arch: "x86_64", default: "errno(1)" }).rule("socket", [arg(0).dword().eq(1n)], "allow").build();
    expect(ids(compileIR(wide))).toContain("int-arg-high-word");
    expect(ids(compileIR(low))).not.toContain("int-arg-high-word");
  });
  it("int-arg-high-word finds the sandbox-runtime v1 bypass and not v2", () => {
    const dir = corpusPath("golden");
    const v1 = readRaw(readFileSync(join(dir, "srt-unix-block-v1-x86_64.bpf")));
    const v2 = readRaw(readFileSync(join(dir, "srt-unix-block-v2-x86_64.bpf")));
    expect(ids(v1)).toContain("int-arg-high-word");
    expect(ids(v2)).toEqual([]);
  });
  it("io-uring-bypass", () => {
    const base = () => policy({ arch: "x86_64", default: "errno(1)" }).rule("socket", [arg(0).dword().eq(1n)], "allow");
    expect(ids(compileIR(base().allow("io_uring_setup", "io_uring_enter").build()))).toContain("io-uring-bypass");
    expect(ids(compileIR(base().build()))).not.toContain("io-uring-bypass");
  });
  it("unreachable instructions", () => {
    expect(ids(asm(GUARD + "ja allow\nld #1\n" + TAIL))).toContain("unreachable");
    expect(ids(asm(GUARD + TAIL))).not.toContain("unreachable");
  });
  it("odd return values: ERRNO above 4095, restart codes, TRACE/USER_NOTIF, unknown actions", () => {
    expect(ids(asm(GUARD + "jeq #read, allow\nret ERRNO(5000)\n" + TAIL))).toContain("errno-range");
    expect(ids(asm(GUARD + "jeq #read, allow\nret ERRNO(512)\n" + TAIL))).toContain("errno-restart");
    expect(ids(asm(GUARD + "jeq #read, allow\nret TRACE(1)\n" + TAIL))).toContain("nothing-answers");
    expect(ids(asm(GUARD + "jeq #read, allow\nret USER_NOTIF\n" + TAIL))).toContain("nothing-answers");
    expect(ids(asm(GUARD + "jeq #read, allow\nret #0x00010000\n" + TAIL))).toContain("unknown-action");
    expect(ids(asm(GUARD + "jeq #read, allow\njeq #rt_sigreturn, allow\njeq #restart_syscall, allow\nret ERRNO(1)\n" + TAIL))).toEqual([]);
  });
  it("signal-return-denied: rt_sigreturn or restart_syscall never allowed", () => {
    const found = (body: string) => {
      const r = lint(asm(GUARD + body + "ret ERRNO(1)\n" + TAIL));
      if (r instanceof Inconclusive) throw new Error(r.reason);
      return r.filter((f) => f.id === "signal-return-denied");
    };
    const none = found("jeq #read, allow\n");
    expect(none).toHaveLength(1);
    expect(none[0].syscall).toBe("rt_sigreturn,restart_syscall");
    expect(none[0].message).toContain("at its first signal handler return and when a sleep interrupted by a stop is continued");
    const noRestart = found("jeq #read, allow\njeq #rt_sigreturn, allow\n");
    expect(noRestart.map((f) => f.syscall)).toEqual(["restart_syscall"]);
    expect(found("jeq #read, allow\njeq #rt_sigreturn, allow\njeq #restart_syscall, allow\n")).toEqual([]);
    // An ABI the filter allows nothing common on (no read/write/exit) is not in use: no finding.
    expect(found("jeq #getpid, allow\n")).toEqual([]);
  });
  it("signal-return-denied on 32-bit x86 names sigreturn too", () => {
    const r = lint(assemble(".arch x86\nld arch\njeq #AUDIT_ARCH_I386, next, kill\nld nr\njeq #read, allow\njeq #rt_sigreturn, allow\njeq #restart_syscall, allow\nret ERRNO(1)\n" + TAIL));
    if (r instanceof Inconclusive) throw new Error(r.reason);
    expect(r.filter((f) => f.id === "signal-return-denied").map((f) => [f.arch, f.syscall])).toEqual([["x86", "sigreturn"]]);
  });
  it("the bundled QEMU filter allows restart_syscall and rt_sigreturn (it died with SIGSYS on a stop/continue)", () => {
    const list = loadFilters(join(repoRoot, "filters", "qemu-microvm.seccompiler.json"), { thread: "qemu", arch: findArch("x86_64")! });
    const r = lint(list[0].program);
    if (r instanceof Inconclusive) throw new Error(r.reason);
    expect(r.map((f) => f.id)).not.toContain("signal-return-denied");
  });
  it("too long, and a stack over the kernel's total", () => {
    const ret = { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 };
    expect(ids(Program.fromInsns(new Array(4097).fill(ret)))).toContain("too-long");
    const big = Program.fromInsns(new Array(4096).fill(ret));
    const clean = asm(GUARD + TAIL);
    expect(ids(clean, new Array(8).fill(big))).toContain("stack-too-large");
    expect(ids(clean, [big])).not.toContain("stack-too-large");
  });
  it("conditions that always or never hold (policy source)", () => {
    const ir = policy({ arch: "x86_64", default: "errno(1)" })
      .rule("read", [arg(0).dword().ge(0n)], "allow")
      .rule("write", [arg(0).dword().lt(0n)], "allow")
      .rule("close", [arg(0).dword().ge(3n)], "allow")
      .build();
    const found = lintPolicy(ir).map((f) => `${f.syscall}:${f.id}`);
    expect(found).toEqual(["read:always-true", "write:never-true"]);
  });
});
