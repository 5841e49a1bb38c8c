// explain: decompile -> compile -> equal, over the corpus (Firecracker threads through
// seccompiler JSON text, Docker and containers-common through the IR), plus the cases it must
// refuse to state as a policy.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { compilePolicyText } from "../src/policy/index.js";
import { compileIR } from "../src/policy/compile.js";
import { findArch } from "../src/syscalls/arches.js";
import { explain, toSeccompiler, toOci } from "../src/verify/explain.js";
import { policy, arg } from "../src/policy/builder.js";
import { equal } from "../src/verify/relations.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { assemble } from "../src/text/asm.js";
import { corpusPath } from "./support/corpus.js";

describe("explain round trip over the corpus", () => {
  it("Firecracker threads: explain -> seccompiler JSON -> compile -> equal", () => {
    const dir = corpusPath("filters", "firecracker");
    let n = 0;
    for (const [file, arch] of [["x86_64-unknown-linux-musl.json", "x86_64"], ["aarch64-unknown-linux-musl.json", "aarch64"], ["v1.10.1/x86_64-unknown-linux-musl.json", "x86_64"]] as const) {
      const a = findArch(arch)!;
      const text = readFileSync(`${dir}/${file}`, "utf8");
      for (const p of compilePolicyText(text, file, { arch: a }).programs) {
        const e = explain(p.program);
        if (e instanceof Inconclusive) throw new Error(e.reason);
        expect(e.problems, `${file} ${p.name}`).toEqual([]);
        const s = toSeccompiler(e.ir!, p.name);
        expect(s.reason, `${file} ${p.name}`).toBeUndefined();
        const back = compilePolicyText(s.text!, "explained.json", { arch: a }).programs[0].program;
        expect(equal(back, p.program), `${file} ${p.name}`).toMatchObject({ holds: true });
        n++;
      }
    }
    expect(n).toBe(9);
  });
  it("Docker and containers-common (three ABIs, several actions): explain -> IR -> compile -> equal", () => {
    const dir = corpusPath("profiles");
    for (const file of ["moby-profiles-seccomp-default.json", "containers-common-seccomp.json"]) {
      const p = compilePolicyText(readFileSync(`${dir}/${file}`, "utf8"), file, { arch: findArch("x86_64")!, kernel: "6.18" }).programs[0];
      const e = explain(p.program);
      if (e instanceof Inconclusive) throw new Error(e.reason);
      expect(e.problems, file).toEqual([]);
      expect(equal(compileIR(e.ir!), p.program), file).toMatchObject({ holds: true });
      expect(toSeccompiler(e.ir!).reason).toMatch(/one ABI|actions/);
    }
  });
  it("emits OCI JSON for a one-ABI filter with several actions, which compiles back to an equal filter", () => {
    const ir = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_thread" })
      .allow("read", "write")
      .rule("ioctl", [arg(1).dword().eq(0x5401n)], "allow")
      .rule("mmap", [arg(2).qword().maskedEq(4n, 0n)], "allow")
      .rule("ptrace", [], "errno(38)")
      .rule("kill", [], "trap")
      .build();
    ir.x32Action = 0; // KILL_THREAD, like libseccomp's x32 answer
    const p = compileIR(ir);
    const e = explain(p);
    if (e instanceof Inconclusive) throw new Error(e.reason);
    expect(e.problems).toEqual([]);
    expect(toSeccompiler(e.ir!).reason).toMatch(/actions|kills the process/);
    const oci = toOci(e.ir!);
    expect(oci.reason).toBeUndefined();
    const back = compilePolicyText(oci.text!, "explained-oci.json", { arch: findArch("x86_64")! }).programs[0].program;
    expect(equal(back, p)).toMatchObject({ holds: true });
  });
  it("states !=, <=, >= and ranges, and writes them in both dialects so that they compile back equal", () => {
    const ir = policy({ arch: "x86_64", default: "kill_thread", mismatch: "kill_thread" })
      .rule("socket", [arg(0).qword().ne(40n)], "allow")
      .rule("read", [arg(2).qword().le(4096n)], "allow")
      .rule("write", [arg(0).qword().ge(3n), arg(2).qword().lt(0x100000000n)], "allow")
      .rule("lseek", [arg(2).dword().ge(1n), arg(2).dword().le(2n)], "allow")
      .build();
    ir.x32Action = 0;
    const p = compileIR(ir);
    const e = explain(p);
    if (e instanceof Inconclusive) throw new Error(e.reason);
    expect(e.text).toContain("socket (41): ALLOW when args[0] != 40;");
    expect(e.text).toContain("read (0): ALLOW when args[2] <= 0x1000;");
    expect(e.text).toContain("write (1): ALLOW when args[0] >= 3 and args[2] <= 0xffffffff;");
    expect(e.text).toContain("lseek (8): ALLOW when args[2].lo in {1, 2};");
    const sec = toSeccompiler({ ...e.ir!, mismatchAction: 0x80000000, x32Action: 0x80000000 });
    expect(sec.reason).toBeUndefined();
    expect(sec.text).toMatch(/"op": "ne"/);
    const a = findArch("x86_64")!;
    const back = compilePolicyText(sec.text!, "explained.json", { arch: a }).programs[0].program;
    const q = compileIR({ ...ir, mismatchAction: 0x80000000, x32Action: 0x80000000 });
    expect(equal(back, q)).toMatchObject({ holds: true });
    const o = explain(p, { oneCompPerArg: true });
    if (o instanceof Inconclusive) throw new Error(o.reason);
    const oci = toOci(o.ir!);
    expect(oci.reason).toBeUndefined();
    expect(oci.text).toMatch(/SCMP_CMP_NE/);
    expect(equal(compilePolicyText(oci.text!, "explained-oci.json", { arch: a }).programs[0].program, p)).toMatchObject({ holds: true });
  });
  it("refuses to state what a policy cannot: no arch check, conditions on the instruction pointer", () => {
    const noArch = explain(assemble(".arch x86_64\nld nr\njeq #execve, kill\nret ALLOW\nkill: ret KILL_PROCESS"));
    expect(noArch).not.toBeInstanceOf(Inconclusive);
    expect((noArch as { problems: string[] }).problems.join()).toMatch(/arch/);
    const ip = explain(assemble(".arch x86_64\nld arch\njeq #AUDIT_ARCH_X86_64, next, kill\nld nr\njeq #read, next, allow\nld ip.lo\njeq #0x1000, allow, kill\nallow: ret ALLOW\nkill: ret KILL_PROCESS"));
    expect((ip as { problems: string[] }).problems.join()).toMatch(/instruction pointer/);
  });
});
