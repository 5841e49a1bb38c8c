import { describe, it, expect } from "vitest";
import { policy, arg, abiArgWidth, parseActionSpec, toArgCondition, lookupSyscall, type ArgIndex } from "../src/policy/builder.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import type { PolicyIR } from "../src/policy/ir.js";
import { Action, formatRet } from "../src/engine/actions.js";
import { UnknownSyscallError } from "../src/errors.js";
import { ARCHES, resolveArch, syscallNumber, type ArchInfo } from "../src/syscalls/index.js";
import { errorOf } from "./support/errors.js";

const X86_64 = resolveArch("x86_64");


function run(ir: PolicyIR, name: string, args: bigint[] = [], arch: ArchInfo = ir.arches[0].arch): string {
  return formatRet(evaluatePolicy(ir, { arch: arch.token, nr: syscallNumber(arch, name)!, args }));
}

describe("policy builder", () => {
  it("the documented example", () => {
    const ir = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_process" })
      .allow("read", "write")
      .rule("socket", [arg(0).eq(1n)], "allow")
      .rule("mmap", [arg(2).dword().maskedEq(4n, 0n)], "allow")
      .build();
    expect(ir.arches).toHaveLength(1);
    expect(ir.arches[0].arch).toBe(X86_64);
    expect(ir.arches[0].defaultAction).toBe(Action.ERRNO | 1);
    expect(ir.mismatchAction).toBe(Action.KILL_PROCESS);
    expect(ir.x32Action).toBe(Action.KILL_PROCESS);
    expect(ir.arches[0].syscalls.map((s) => [s.name, s.nr])).toEqual([["read", 0], ["write", 1], ["mmap", 9], ["socket", 41]]);
    expect(run(ir, "read")).toBe("ALLOW");
    expect(run(ir, "socket", [1n])).toBe("ALLOW");
    expect(run(ir, "socket", [0x1_00000001n])).toBe("ERRNO(1)"); // qword by default on x86_64
    expect(run(ir, "socket", [2n])).toBe("ERRNO(1)");
    expect(run(ir, "mmap", [0n, 0n, 3n])).toBe("ALLOW");
    expect(run(ir, "mmap", [0n, 0n, 0xffff_0000_0000_0003n])).toBe("ALLOW"); // dword
    expect(run(ir, "mmap", [0n, 0n, 7n])).toBe("ERRNO(1)");
    expect(run(ir, "execve")).toBe("ERRNO(1)");
    const c = ir.arches[0].syscalls.find((s) => s.name === "mmap")!.rules[0].conditions[0];
    expect(c).toEqual({ index: 2, width: 32, op: "masked_eq", value: 0n, mask: 4n });
  });

  it("every comparison, in call order (first match wins, no merging)", () => {
    const ir = policy({ arch: X86_64, default: Action.TRAP, name: "t" })
      .rule("read", [arg(0).lt(3n)], "allow")
      .rule("read", [arg(0).le(3n)], "log")
      .rule("read", [arg(0).ge(10n), arg(1).ne(0n)], "kill_thread")
      .rule("read", [arg(0).gt(20n)], "ERRNO(5)")
      .rule("read", [], "trace(9)")
      .build();
    expect(ir.name).toBe("t");
    expect(run(ir, "read", [2n])).toBe("ALLOW");
    expect(run(ir, "read", [3n])).toBe("LOG");
    expect(run(ir, "read", [11n, 1n])).toBe("KILL_THREAD");
    expect(run(ir, "read", [21n, 0n])).toBe("ERRNO(5)");
    expect(run(ir, "read", [5n])).toBe("TRACE(9)");
    expect(run(ir, "write")).toBe("TRAP(0)");
  });

  it("options: mismatch defaults to kill_process, x32 to mismatch; only x86_64 gets x32Action", () => {
    let ir = policy({ arch: "x86_64", default: "allow" }).build();
    expect(ir.mismatchAction).toBe(Action.KILL_PROCESS);
    expect(ir.x32Action).toBe(Action.KILL_PROCESS);
    ir = policy({ arch: "x86_64", default: "allow", mismatch: "kill", x32: "errno(38)" }).build();
    expect(ir.mismatchAction).toBe(Action.KILL_THREAD);
    expect(ir.x32Action).toBe(Action.ERRNO | 38);
    ir = policy({ arch: "aarch64", default: "allow" }).build();
    expect(ir.x32Action).toBeUndefined();
  });

  it("build() returns fresh data each time", () => {
    const b = policy({ arch: "x86_64", default: "allow" }).rule("read", [arg(0).eq(1n)], "trap");
    const one = b.build();
    one.arches[0].syscalls[0].rules[0].conditions.length = 0;
    expect(b.build().arches[0].syscalls[0].rules[0].conditions).toHaveLength(1);
  });

  it("32-bit ABIs compare the low word", () => {
    const ir = policy({ arch: "x86", default: "errno(1)" }).rule("socket", [arg(0).eq(1n)], "allow").build();
    expect(ir.arches[0].syscalls[0].rules[0].conditions[0].width).toBe(32);
    expect(run(ir, "socket", [0x1_00000001n])).toBe("ALLOW");
    expect(ir.x32Action).toBeUndefined();
  });

  it("abiArgWidth: 32 for 32-bit ABIs and x32 / mips n32", () => {
    const w32 = ARCHES.filter((a) => abiArgWidth(a) === 32).map((a) => a.name);
    expect(w32).toEqual(["x86", "x32", "arm", "s390", "ppc", "mips", "mipsel", "mips64n32", "mipsel64n32", "parisc", "m68k", "sh", "sheb"]);
  });

  it("action specs", () => {
    expect(parseActionSpec("allow")).toBe(Action.ALLOW);
    expect(parseActionSpec("KILL_PROCESS")).toBe(Action.KILL_PROCESS);
    expect(parseActionSpec("user_notif")).toBe(Action.USER_NOTIF);
    expect(parseActionSpec("errno(0x10)")).toBe((Action.ERRNO | 16) >>> 0);
    expect(parseActionSpec(Action.LOG)).toBe(Action.LOG);
    expect(parseActionSpec(-1)).toBe(0xffffffff);
  });
});

describe("policy builder: validation", () => {
  it("argument index 0-5", () => {
    const e = errorOf(() => arg(6 as ArgIndex));
    expect(e.message).toBe("argument index must be 0-5 (a syscall has six arguments), got 6");
  });

  it("values are bigint in 0..2^64-1", () => {
    expect(errorOf(() => arg(0).eq(1 as unknown as bigint)).message).toMatch(/must be a bigint \(write 1n, not 1/);
    expect(errorOf(() => arg(0).eq(-1n)).message).toMatch(/outside 0..2\^64-1 .*BigInt.asUintN\(64, -1n\)/);
    expect(errorOf(() => arg(0).maskedEq(1n << 64n, 0n)).message).toMatch(/mask .* is outside/);
    expect(arg(0).eq((1n << 64n) - 1n).value).toBe(0xffff_ffff_ffff_ffffn);
  });

  it("dword values above 32 bits, qword values on 32-bit ABIs, masked_eq values outside the mask", () => {
    let e = errorOf(() => policy({ arch: "x86_64", default: "allow" }).rule("read", [arg(0).dword().eq(1n << 32n)], "trap"));
    expect(e.message).toMatch(/a dword value above 32 bits \(0x100000000\) can never mean what it says/);
    expect(e.where).toBe(`policy(x86_64) rule #1 ("read")`);
    e = errorOf(() => policy({ arch: "x86_64", default: "allow" }).rule("read", [arg(0).dword().maskedEq(1n << 40n, 0n)], "trap"));
    expect(e.message).toMatch(/a dword mask above 32 bits/);
    e = errorOf(() => policy({ arch: "arm", default: "allow" }).rule("read", [arg(0).qword().eq(1n << 32n)], "trap"));
    expect(e.message).toMatch(/arm is a 32-bit ABI: its arguments are 32 bits, so a value of 0x100000000 can never match/);
    e = errorOf(() => policy({ arch: "x86_64", default: "allow" }).rule("read", [arg(0).maskedEq(4n, 5n)], "trap"));
    expect(e.message).toMatch(/masked_eq value 0x5 has bits outside the mask 0x4: \(arg & mask\) == value can never hold/);
    expect(toArgCondition(arg(1).qword().ge(1n << 40n), X86_64)).toEqual({ index: 1, width: 64, op: "ge", value: 1n << 40n });
  });

  it("unknown syscalls name the arch", () => {
    const e = errorOf(() => policy({ arch: "aarch64", default: "allow" }).allow("read", "open"));
    expect(e).toBeInstanceOf(UnknownSyscallError);
    expect(e.message).toBe(`unknown syscall "open" for arch aarch64`);
    expect(e.where).toBe(`policy(aarch64) rule #2 ("open")`);
    expect(() => lookupSyscall(X86_64, "nope", "here")).toThrow(/unknown syscall "nope" for arch x86_64/);
  });

  it("unknown arch and action", () => {
    expect(errorOf(() => policy({ arch: "vax", default: "allow" })).message).toMatch(/unknown arch "vax"/);
    const e = errorOf(() => policy({ arch: "x86_64", default: "deny" }));
    expect(e.message).toMatch(/unknown action "deny"/);
    expect(e.where).toBe("policy() default");
    expect(errorOf(() => policy({ arch: "x86_64", default: "errno(70000)" })).message).toMatch(/unknown action/);
    expect(errorOf(() => policy({ arch: "x86_64", default: 1.5 })).message).toMatch(/not a 32-bit seccomp return value/);
  });
});
