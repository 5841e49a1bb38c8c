import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  parseOci, DOCKER_DEFAULT_CAPS, OCI_MISMATCH_ACTION, errnoNumber, dockerArchName, normalizeCap, policyName,
  type OciOptions, type OciResult,
} from "../src/policy/oci.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import type { PolicyIR } from "../src/policy/ir.js";
import { Action, formatRet } from "../src/engine/actions.js";
import { resolveArch, syscallNumber, type ArchInfo } from "../src/syscalls/index.js";
import { corpusPath } from "./support/corpus.js";
import { errorOf } from "./support/errors.js";

const A = (n: string): ArchInfo => resolveArch(n);
const X86_64 = A("x86_64");
const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/policies/${name}`, import.meta.url)), "utf8");


/** The result of `name(args…)` on ABI `arch` (a section of the policy), printed. */
function run(ir: PolicyIR, arch: ArchInfo, name: string, args: bigint[] = []): string {
  const nr = syscallNumber(arch, name);
  if (nr === undefined) throw new Error(`no ${name} on ${arch.name}`);
  return formatRet(evaluatePolicy(ir, { arch: arch.token, nr, args }));
}

function profile(syscalls: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls, ...extra }, null, 2);
}
function compile(text: string, opts: Partial<OciOptions> = {}): OciResult {
  return parseOci(text, "p.json", { arch: X86_64, kernel: "6.1", ...opts });
}
const msgs = (r: OciResult): string[] => r.warnings.map((w) => w.message);

describe("OCI: the moby default profile", () => {
  const file = corpusPath("profiles", "moby-profiles-seccomp-default.json");
  const text = file ? readFileSync(file, "utf8") : "";
  const load = (arch: string, opts: Partial<OciOptions> = {}): OciResult =>
    parseOci(text, "moby-default.json", { arch: A(arch), kernel: "6.1", ...opts });

  it("x86_64 gives x86_64 + x86 + x32 sections; bad arch KILL_THREAD", () => {
    const r = load("x86_64");
    const ir = r.policy;
    expect(ir.name).toBe("moby-default");
    expect(ir.arches.map((a) => a.arch.name)).toEqual(["x86_64", "x86", "x32"]);
    expect(r.meta.arches).toEqual(["x86_64", "x86", "x32"]);
    expect(ir.mismatchAction).toBe(Action.KILL_THREAD);
    expect(ir.x32Action).toBeUndefined(); // x32 has its own section
    for (const sec of ir.arches) {
      expect(sec.defaultAction).toBe(Action.ERRNO | 1);
      const nrs = sec.syscalls.map((s) => s.nr);
      expect(nrs).toEqual([...nrs].sort((a, b) => a - b));
      expect(new Set(nrs).size).toBe(nrs.length);
    }
    expect(r.meta.entriesUsed + r.meta.entriesSkipped).toBe(33);
    expect(formatRet(evaluatePolicy(ir, { arch: A("aarch64").token, nr: 63, args: [] }))).toBe("KILL_THREAD");
    expect(run(ir, A("x32"), "read")).toBe("ALLOW");
    expect(run(ir, A("x86"), "read")).toBe("ALLOW");
    expect(run(ir, X86_64, "read")).toBe("ALLOW");
    expect(run(ir, X86_64, "mount")).toBe("ERRNO(1)");
    // Conditions are 64-bit on x86_64 and 32-bit on x86 and x32.
    const w = (arch: string, name: string) =>
      ir.arches.find((a) => a.arch.name === arch)!.syscalls.find((s) => s.name === name)!.rules[0].conditions[0].width;
    expect([w("x86_64", "socket"), w("x86", "socket"), w("x32", "socket")]).toEqual([64, 32, 32]);
    // Names each ABI lacks are reported, not errors.
    expect(r.meta.missing.x86_64).toContain("socketcall");
    expect(r.meta.missing.x86).toContain("newfstatat");
    expect(msgs(r).some((m) => /^61 syscall names of the profile do not exist on x86_64 \(they belong to other ABIs the profile lists\) and were skipped there, as runtimes do$/.test(m))).toBe(true);
  });

  it("socket: three ORed rules allow a0 != 38 && != 40 (AF_ALG, AF_VSOCK)", () => {
    const ir = load("x86_64").policy;
    for (const arch of ["x86_64", "x86", "x32"]) {
      for (const [a0, want] of [[0n, "ALLOW"], [37n, "ALLOW"], [38n, "ERRNO(1)"], [39n, "ALLOW"], [40n, "ERRNO(1)"], [41n, "ALLOW"], [0xffffffffn, "ALLOW"]] as const) {
        expect(run(ir, A(arch), "socket", [a0, 1n, 0n]), `${arch} socket(${a0})`).toBe(want);
      }
    }
    // A 64-bit compare on an int argument (docs/evidence.md 9 row 3): 2^32 + 38 is AF_ALG to the kernel,
    // but "> 40" to the 64-bit x86_64 rule; on the 32-bit ABIs only the low word counts.
    expect(run(ir, X86_64, "socket", [0x1_00000026n])).toBe("ALLOW");
    expect(run(ir, A("x86"), "socket", [0x1_00000026n])).toBe("ERRNO(1)");
  });

  it("socket's argument checks on x86's socketcall: a warning naming the bypass", () => {
    const r = load("x86_64");
    const w = r.warnings.find((x) => /socket has argument-restricted rules/.test(x.message))!;
    expect(w.message).toContain("x86's multiplexed socketcall(102)");
    expect(w.message).toContain("socketcall(1, …) gets ALLOW");
    expect(w.message).toContain("bypasses these checks");
    expect(w.message).toMatch(/\(on x86\)$/);
    expect(w.source).toMatchObject({ pointer: "/syscalls/2" });
    // No socketcall rule was synthesised: socketcall is what the profile says (ALLOW).
    const x86 = r.policy.arches.find((a) => a.arch.name === "x86")!;
    expect(x86.syscalls.find((s) => s.name === "socketcall")!.rules).toHaveLength(1);
    expect(x86.syscalls.find((s) => s.name === "socketcall")!.rules[0].conditions).toEqual([]);
  });

  it("personality: only 0, 8, 0x20000, 0x20008 and 0xffffffff", () => {
    const ir = load("x86_64").policy;
    for (const arch of ["x86_64", "x86"]) {
      for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) expect(run(ir, A(arch), "personality", [v])).toBe("ALLOW");
      for (const v of [1n, 0x20001n, 0x400000n]) expect(run(ir, A(arch), "personality", [v])).toBe("ERRNO(1)");
    }
  });

  it("clone: (a0 & 0x7E020000) == 0 without CAP_SYS_ADMIN; anything with it", () => {
    const ir = load("x86_64").policy;
    const thread = 0x3d0f00n; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    const newuser = 0x10000000n;
    const clone = ir.arches[0].syscalls.find((s) => s.name === "clone")!;
    expect(clone.rules).toHaveLength(1);
    expect(clone.rules[0].conditions[0]).toMatchObject({ index: 0, op: "masked_eq", mask: 0x7e020000n, value: 0n, width: 64 });
    expect(run(ir, X86_64, "clone", [thread])).toBe("ALLOW");
    expect(run(ir, X86_64, "clone", [newuser | thread])).toBe("ERRNO(1)");
    expect(run(ir, A("x86"), "clone", [0x20000n])).toBe("ERRNO(1)"); // CLONE_NEWNS
    const admin = load("x86_64", { caps: [...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"] }).policy;
    expect(run(admin, X86_64, "clone", [newuser])).toBe("ALLOW");
    expect(run(admin, X86_64, "mount")).toBe("ALLOW");
  });

  it("clone3 gives ERRNO(38) (ENOSYS, so glibc falls back to clone) without CAP_SYS_ADMIN", () => {
    expect(run(load("x86_64").policy, X86_64, "clone3")).toBe("ERRNO(38)");
    expect(run(load("aarch64").policy, A("aarch64"), "clone3")).toBe("ERRNO(38)");
    expect(run(load("x86_64", { caps: ["SYS_ADMIN"] }).policy, X86_64, "clone3")).toBe("ALLOW");
  });

  it("s390x: s390x + s390 sections, clone flags on argument 1", () => {
    const r = load("s390x");
    const ir = r.policy;
    expect(ir.arches.map((a) => a.arch.name)).toEqual(["s390x", "s390"]);
    expect(ir.x32Action).toBeUndefined();
    for (const arch of [A("s390x"), A("s390")]) {
      const clone = ir.arches.find((a) => a.arch === arch)!.syscalls.find((s) => s.name === "clone")!;
      expect(clone.rules.map((x) => x.conditions.map((c) => c.index))).toEqual([[1]]);
      expect(run(ir, arch, "clone", [0x10000000n, 0n])).toBe("ALLOW"); // arg 0 is the stack on s390
      expect(run(ir, arch, "clone", [0n, 0x10000000n])).toBe("ERRNO(1)");
      expect(run(ir, arch, "s390_runtime_instr")).toBe("ALLOW");
    }
    expect(msgs(r).some((m) => /socket has argument-restricted rules .* s390x's multiplexed socketcall/.test(m))).toBe(true);
  });

  it("aarch64: aarch64 + arm sections; arm-only names allowed on arm", () => {
    const ir = load("aarch64").policy;
    expect(ir.arches.map((a) => a.arch.name)).toEqual(["aarch64", "arm"]);
    expect(ir.x32Action).toBeUndefined();
    expect(run(ir, A("arm"), "arm_fadvise64_64")).toBe("ALLOW");
    expect(run(ir, A("arm"), "socket", [38n])).toBe("ERRNO(1)");
    expect(run(ir, A("aarch64"), "socket", [2n])).toBe("ALLOW");
    expect(run(ir, A("aarch64"), "read")).toBe("ALLOW");
    // includes.arches is matched against the target: the ppc64le-only entry is skipped.
    expect(ir.arches[0].syscalls.some((s) => s.name === "swapcontext")).toBe(false);
    expect(run(load("x86_64").policy, X86_64, "arch_prctl")).toBe("ALLOW"); // [amd64, x32]
  });

  it("minKernel 4.8 gates ptrace and process_vm_*", () => {
    expect(run(load("x86_64", { kernel: "4.8" }).policy, X86_64, "ptrace")).toBe("ALLOW");
    expect(run(load("x86_64", { kernel: "5.15.0-91-generic" }).policy, X86_64, "process_vm_readv")).toBe("ALLOW");
    expect(run(load("x86_64", { kernel: "4.7" }).policy, X86_64, "ptrace")).toBe("ERRNO(1)");
    expect(run(load("x86_64", { kernel: "3.19" }).policy, X86_64, "process_vm_writev")).toBe("ERRNO(1)");
    // CAP_SYS_PTRACE allows them on any kernel.
    expect(run(load("x86_64", { kernel: "4.7", caps: ["sys_ptrace"] }).policy, X86_64, "ptrace")).toBe("ALLOW");
  });

  it("caps change the result; no caps at all drops chroot", () => {
    expect(run(load("x86_64").policy, X86_64, "chroot")).toBe("ALLOW"); // SYS_CHROOT is a default cap
    expect(run(load("x86_64", { caps: [] }).policy, X86_64, "chroot")).toBe("ERRNO(1)");
    expect(run(load("x86_64").policy, X86_64, "reboot")).toBe("ERRNO(1)");
    expect(run(load("x86_64", { caps: ["CAP_SYS_BOOT"] }).policy, X86_64, "reboot")).toBe("ALLOW");
    expect(run(load("x86_64", { caps: ["CAP_BPF"] }).policy, X86_64, "bpf")).toBe("ALLOW");
  });

  it("riscv64 has its own archMap entry without companions", () => {
    const r = load("riscv64");
    expect(r.policy.arches.map((a) => a.arch.name)).toEqual(["riscv64"]);
    expect(run(r.policy, A("riscv64"), "riscv_flush_icache")).toBe("ALLOW");
    expect(msgs(r).some((m) => /archMap/.test(m))).toBe(false);
  });
});

describe("OCI: the containers/common (Podman) profile", () => {
  const file = corpusPath("profiles", "containers-common-seccomp.json");
  const text = file ? readFileSync(file, "utf8") : "";
  const load = (arch: string, opts: Partial<OciOptions> = {}): OciResult =>
    parseOci(text, "containers-common-seccomp.json", { arch: A(arch), kernel: "6.1", ...opts });

  for (const [arch, sections] of [["x86_64", ["x86_64", "x86", "x32"]], ["aarch64", ["aarch64", "arm"]], ["s390x", ["s390x", "s390"]]] as const) {
    it(`${arch}: sections ${sections.join(" + ")}; ENOSYS default; EPERM list`, () => {
      const r = load(arch);
      const ir = r.policy;
      expect(ir.arches.map((a) => a.arch.name)).toEqual(sections);
      for (const sec of ir.arches) {
        expect(sec.defaultAction).toBe(Action.ERRNO | 38);
        expect(run(ir, sec.arch, "read")).toBe("ALLOW");
        expect(run(ir, sec.arch, "kexec_load")).toBe("ERRNO(1)"); // the explicit EPERM list
        expect(run(ir, sec.arch, "mount")).toBe("ALLOW");
      }
      expect(ir.x32Action).toBeUndefined();
      expect(msgs(r).some((m) => /disagree/.test(m))).toBe(false); // defaultErrno ENOSYS == 38 here
    });
  }

  it("setns: the ALLOW list absorbs the later ERRNO(EPERM) entry, with a warning", () => {
    const r = load("x86_64");
    expect(run(r.policy, X86_64, "setns")).toBe("ALLOW");
    const w = r.warnings.find((x) => /rule for setns/.test(x.message))!;
    expect(w.message).toMatch(/unconditional ERRNO\(1\) rule for setns at .*\(\/syscalls\/16\) is absorbed by the unconditional ALLOW rule at .*\(\/syscalls\/1\)/);
    expect(w.message).toMatch(/\(on x86_64, x86, x32\)$/);
  });

  it("socket: ERRNO(EINVAL) for audit netlink sockets without CAP_AUDIT_WRITE", () => {
    const withCap = load("x86_64").policy; // AUDIT_WRITE is a Docker default cap
    expect(run(withCap, X86_64, "socket", [16n, 3n, 9n])).toBe("ALLOW");
    const caps = DOCKER_DEFAULT_CAPS.filter((c) => c !== "AUDIT_WRITE");
    const r = load("x86_64", { caps });
    expect(run(r.policy, X86_64, "socket", [16n, 3n, 9n])).toBe("ERRNO(22)");
    expect(run(r.policy, X86_64, "socket", [16n, 3n, 0n])).toBe("ALLOW");
    expect(run(r.policy, X86_64, "socket", [2n, 1n, 9n])).toBe("ALLOW");
    expect(run(r.policy, A("x86"), "socket", [16n, 3n, 9n])).toBe("ERRNO(22)");
    // The ERRNO rule has more conditions but is disjoint from the ALLOW rules: no order warning.
    expect(msgs(r).some((m) => /can match the same arguments/.test(m))).toBe(false);
    const rules = r.policy.arches[0].syscalls.find((s) => s.name === "socket")!.rules;
    expect(rules.map((x) => x.conditions.length)).toEqual([1, 1, 2]); // fewer conditions first; the duplicate merged
  });

  it("MIPS: the numeric defaultErrnoRet wins over the name, with a warning that they disagree", () => {
    const r = load("mips64");
    expect(r.policy.arches.map((a) => a.arch.name)).toEqual(["mips64", "mips", "mips64n32"]);
    expect(r.policy.arches[0].defaultAction).toBe(Action.ERRNO | 38);
    expect(msgs(r).some((m) => /"defaultErrnoRet" 38 and "defaultErrno" "ENOSYS" \(= 89 on mips64\) disagree/.test(m))).toBe(true);
  });

  it("riscv64: no archMap entry -> the target alone, with a warning", () => {
    const r = load("riscv64");
    expect(r.policy.arches.map((a) => a.arch.name)).toEqual(["riscv64"]);
    expect(msgs(r)).toContain(`"archMap" has no entry for riscv64; the filter covers riscv64 only (as Docker does)`);
  });
});

describe("OCI: fields and semantics", () => {
  it("a small profile: architectures list, legacy name, MASKED_EQ, errnoRet, meta", () => {
    const r = parseOci(fixture("oci-small.json"), "dir/oci-small.json", { arch: X86_64, kernel: "6.1" });
    const ir = r.policy;
    expect(ir.name).toBe("oci-small");
    expect(ir.arches.map((a) => a.arch.name)).toEqual(["x86_64", "x86"]);
    expect(ir.x32Action).toBe(OCI_MISMATCH_ACTION); // x32 not listed
    expect(formatRet(evaluatePolicy(ir, { arch: X86_64.token, nr: 0x40000000, args: [] }))).toBe("KILL_THREAD");
    expect(r.meta).toMatchObject({
      flags: ["SECCOMP_FILTER_FLAG_LOG"], listenerPath: "/run/agent.sock", listenerMetadata: "opaque",
      arches: ["x86_64", "x86"], entriesUsed: 5, entriesSkipped: 0,
    });
    expect(r.meta.missing).toEqual({ x86_64: ["mmap2"] });
    expect(run(ir, X86_64, "kill")).toBe("TRAP(0)");
    expect(run(ir, X86_64, "ptrace")).toBe("ERRNO(38)");
    expect(run(ir, X86_64, "socket", [1n])).toBe("ALLOW");
    expect(run(ir, X86_64, "socket", [2n])).toBe("ERRNO(1)");
    expect(run(ir, X86_64, "mmap", [0n, 0n, 3n])).toBe("ALLOW");
    expect(run(ir, X86_64, "mmap", [0n, 0n, 7n])).toBe("ERRNO(1)");
    expect(run(ir, A("x86"), "mmap2", [0n, 0n, 3n])).toBe("ALLOW");
    expect(run(ir, A("x86"), "mmap2", [0n, 0n, 5n])).toBe("ERRNO(1)");
    const c = ir.arches[0].syscalls.find((s) => s.name === "mmap")!.rules[0].conditions[0];
    expect(c).toMatchObject({ index: 2, op: "masked_eq", mask: 4n, value: 0n, width: 64 });
    expect(c.source).toEqual({ file: "dir/oci-small.json", pointer: "/syscalls/2/args/0", line: 14 });
  });

  it("MASKED_EQ is (arg & value) == valueTwo; valueTwo outside the mask is pre-masked with a warning", () => {
    let r = compile(profile([{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0xf0, valueTwo: 0x30, op: "SCMP_CMP_MASKED_EQ" }] }]));
    expect(run(r.policy, X86_64, "read", [0x3fn])).toBe("ALLOW");
    expect(run(r.policy, X86_64, "read", [0x4fn])).toBe("ERRNO(1)");
    expect(r.warnings).toEqual([]);
    r = compile(profile([{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0xf0, valueTwo: 0x31, op: "SCMP_CMP_MASKED_EQ" }] }]));
    expect(run(r.policy, X86_64, "read", [0x30n])).toBe("ALLOW");
    expect(msgs(r)[0]).toMatch(/valueTwo 0x31 has bits outside the mask \(value\) 0xf0; they are ignored/);
  });

  it("every op, unsigned 64-bit on x86_64", () => {
    const ops: [string, bigint, bigint[], bigint[]][] = [
      ["SCMP_CMP_EQ", 5n, [5n], [4n, 0x1_00000005n]],
      ["SCMP_CMP_NE", 5n, [4n, 0x1_00000005n], [5n]],
      ["SCMP_CMP_LT", 5n, [4n, 0n], [5n, 0xffffffff_ffffffffn]],
      ["SCMP_CMP_LE", 5n, [5n], [6n]],
      ["SCMP_CMP_GT", 5n, [6n, 0xffffffff_ffffffffn], [5n]],
      ["SCMP_CMP_GE", 5n, [5n], [4n]],
    ];
    for (const [op, v, yes, no] of ops) {
      const r = compile(profile([{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: Number(v), op }] }]));
      for (const a of yes) expect(run(r.policy, X86_64, "read", [0n, a]), `${op} ${a}`).toBe("ALLOW");
      for (const a of no) expect(run(r.policy, X86_64, "read", [0n, a]), `${op} ${a}`).toBe("ERRNO(1)");
    }
  });

  it("32-bit ABIs compare the low word; truncation that changes a value warns once, naming the ABIs", () => {
    const text = profile(
      [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0x1_00000001, op: "SCMP_CMP_EQ" }] }],
      { architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
    );
    const r = compile(text);
    expect(run(r.policy, A("x86"), "read", [1n])).toBe("ALLOW");
    expect(run(r.policy, A("x32"), "read", [1n])).toBe("ALLOW");
    expect(run(r.policy, X86_64, "read", [1n])).toBe("ERRNO(1)");
    expect(run(r.policy, X86_64, "read", [0x1_00000001n])).toBe("ALLOW");
    const w = r.warnings.filter((x) => /does not fit/.test(x.message));
    expect(w).toHaveLength(1);
    expect(w[0].message).toBe("value 0x100000001 does not fit the 32-bit arguments of x86, x32; compared as 0x1 (libseccomp truncates it the same way)");
    expect(w[0].source?.pointer).toBe("/syscalls/0/args/0/value");
  });

  it("several conditions on one argument: split into separate (ORed) rules like runc, with a warning", () => {
    const r = compile(profile([{
      names: ["read"], action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 0, value: 2, op: "SCMP_CMP_EQ" }],
    }]));
    expect(run(r.policy, X86_64, "read", [1n])).toBe("ALLOW");
    expect(run(r.policy, X86_64, "read", [2n])).toBe("ALLOW");
    expect(run(r.policy, X86_64, "read", [3n])).toBe("ERRNO(1)");
    expect(msgs(r)[0]).toMatch(/each condition becomes a separate rule, so they are ORed, not ANDed/);
  });

  it("merging: the first unconditional rule wins; later ones are absorbed (warned when the action differs)", () => {
    const r = compile(profile([
      { names: ["read"], action: "SCMP_ACT_TRAP", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_ALLOW" },
      { names: ["read"], action: "SCMP_ACT_LOG" },
      { names: ["read"], action: "SCMP_ACT_ALLOW" },
    ]));
    expect(run(r.policy, X86_64, "read", [1n])).toBe("ALLOW");
    const rules = r.policy.arches[0].syscalls[0].rules;
    expect(rules).toHaveLength(1);
    expect(rules[0].source?.pointer).toBe("/syscalls/1");
    expect(msgs(r)).toHaveLength(2);
    expect(msgs(r)[0]).toMatch(/the conditional TRAP\(0\) rule for read at p.json:\d+ \(\/syscalls\/0\) is absorbed by the unconditional ALLOW rule/);
    expect(msgs(r)[1]).toMatch(/the unconditional LOG rule for read .* is absorbed/);
  });

  it("merging: a longer rule covered by a shorter one is dropped; fewer conditions first", () => {
    const r = compile(profile([
      { names: ["read"], action: "SCMP_ACT_TRAP", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_LOG", args: [{ index: 0, value: 3, op: "SCMP_CMP_EQ" }, { index: 2, value: 3, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_TRACE", args: [{ index: 0, value: 4, op: "SCMP_CMP_EQ" }] },
    ]));
    expect(run(r.policy, X86_64, "read", [1n, 2n])).toBe("ALLOW"); // the shorter chain wins
    expect(run(r.policy, X86_64, "read", [3n, 0n, 3n])).toBe("LOG");
    expect(run(r.policy, X86_64, "read", [4n])).toBe("TRACE(1)");
    const rules = r.policy.arches[0].syscalls[0].rules;
    expect(rules.map((x) => x.source?.pointer)).toEqual(["/syscalls/1", "/syscalls/3", "/syscalls/2"]);
    expect(msgs(r)).toHaveLength(1);
    expect(msgs(r)[0]).toMatch(/the TRAP\(0\) rule for read at .*\/syscalls\/0\) is covered by the shorter ALLOW rule/);
  });

  it("merging: overlapping rules with different actions warn that the order decides", () => {
    const r = compile(profile([
      { names: ["read"], action: "SCMP_ACT_TRAP", args: [{ index: 1, value: 5, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_LOG", args: [{ index: 1, value: 6, op: "SCMP_CMP_GE" }] },
    ]));
    expect(run(r.policy, X86_64, "read", [1n, 5n])).toBe("TRAP(0)"); // same length: file order
    const m = msgs(r);
    expect(m.filter((x) => /can match the same arguments/.test(x))).toHaveLength(2); // TRAP/ALLOW, ALLOW/LOG; TRAP/LOG disjoint
  });

  it("merging: identical conditions with different actions are an error (libseccomp EEXIST)", () => {
    const e = errorOf(() => compile(profile([
      { names: ["read"], action: "SCMP_ACT_TRAP", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
    ])));
    expect(e.message).toMatch(/read has the same argument conditions here \(ALLOW\) and at p.json:\d+ \(\/syscalls\/0\) \(TRAP\(0\)\) on x86_64/);
    expect(e.where).toMatch(/^p\.json:\d+ \(\/syscalls\/1\)$/);
  });

  it("an entry with the default action is skipped with a warning, as runc does", () => {
    const r = compile(profile([
      { names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
    ]));
    expect(run(r.policy, X86_64, "read", [1n, 2n])).toBe("ALLOW");
    expect(msgs(r)[0]).toMatch(/has the default action ERRNO\(1\); skipped, as runc skips it/);
  });

  it("includes/excludes: caps, arches (Docker names, matched against the target), minKernel", () => {
    const text = profile([
      { names: ["read"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"] } },
      { names: ["write"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_SYS_ADMIN", "CAP_BPF"] } },
      { names: ["close"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64"] } },
      { names: ["dup"], action: "SCMP_ACT_ALLOW", includes: { arches: ["x86"] } },
      { names: ["dup2"], action: "SCMP_ACT_ALLOW", excludes: { arches: ["amd64"] } },
      { names: ["dup3"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "5.10" } },
      { names: ["pipe"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "5.10" } },
    ], { architectures: ["SCMP_ARCH_X86"] });
    const at = (caps: string[], kernel: string) => compile(text, { caps, kernel }).policy;
    let ir = at(["SYS_ADMIN"], "6.1");
    expect(run(ir, X86_64, "read")).toBe("ERRNO(1)"); // all included caps are needed
    expect(run(ir, X86_64, "write")).toBe("ERRNO(1)"); // any excluded cap excludes
    expect(run(ir, X86_64, "close")).toBe("ALLOW");
    expect(run(ir, A("x86"), "close")).toBe("ALLOW"); // the entry applies to every section
    expect(run(ir, A("x86"), "dup")).toBe("ERRNO(1)"); // "x86" is not the target
    expect(run(ir, X86_64, "dup2")).toBe("ERRNO(1)");
    expect(run(ir, X86_64, "dup3")).toBe("ALLOW");
    expect(run(ir, X86_64, "pipe")).toBe("ERRNO(1)");
    ir = at(["cap_sys_admin", "net_admin"], "5.4");
    expect(run(ir, X86_64, "read")).toBe("ALLOW");
    expect(run(ir, X86_64, "dup3")).toBe("ERRNO(1)");
    expect(run(ir, X86_64, "pipe")).toBe("ALLOW");
    ir = at([], "6.1");
    expect(run(ir, X86_64, "write")).toBe("ALLOW");
  });

  it("Podman errno names, per ABI; numbers win; actions and their data", () => {
    expect(errnoNumber("ENOSYS", X86_64)).toBe(38);
    expect(errnoNumber("enosys", A("mips"))).toBe(89);
    expect(errnoNumber("ENOSYS", A("parisc"))).toBe(251);
    expect(errnoNumber("EPERM", A("mips"))).toBe(1);
    expect(errnoNumber("EINVAL", A("s390x"))).toBe(22);
    expect(errnoNumber("EACCES", X86_64)).toBe(13);
    expect(errnoNumber("ENOTSUP", X86_64)).toBeUndefined();
    const r = compile(JSON.stringify({
      defaultAction: "SCMP_ACT_ERRNO", defaultErrno: "ENOSYS",
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ERRNO", errno: "EACCES" },
        { names: ["write"], action: "SCMP_ACT_ERRNO", errnoRet: 5, errno: "EPERM" },
        { names: ["close"], action: "SCMP_ACT_ERRNO" },
        { names: ["dup"], action: "SCMP_ACT_TRACE", errnoRet: 9 },
        { names: ["dup2"], action: "SCMP_ACT_TRACE" },
        { names: ["dup3"], action: "SCMP_ACT_KILL" },
        { names: ["pipe"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["pipe2"], action: "SCMP_ACT_KILL_THREAD" },
        { names: ["getpid"], action: "SCMP_ACT_LOG" },
        { names: ["getppid"], action: "SCMP_ACT_NOTIFY" },
      ],
    }));
    const ir = r.policy;
    expect(ir.arches[0].defaultAction).toBe(Action.ERRNO | 38);
    expect(run(ir, X86_64, "read")).toBe("ERRNO(13)");
    expect(run(ir, X86_64, "write")).toBe("ERRNO(5)");
    expect(run(ir, X86_64, "close")).toBe("ERRNO(1)");
    expect(run(ir, X86_64, "dup")).toBe("TRACE(9)");
    expect(run(ir, X86_64, "dup2")).toBe("TRACE(1)");
    expect(run(ir, X86_64, "dup3")).toBe("KILL_THREAD");
    expect(run(ir, X86_64, "pipe")).toBe("KILL_PROCESS");
    expect(run(ir, X86_64, "pipe2")).toBe("KILL_THREAD");
    expect(run(ir, X86_64, "getpid")).toBe("LOG");
    expect(run(ir, X86_64, "getppid")).toBe("USER_NOTIF");
    expect(msgs(r)).toEqual([`"errnoRet" 5 and "errno" "EPERM" (= 1 on x86_64) disagree; the number is used`]);
  });

  it("duplicate keys warn and the last wins (Go's encoding/json); unknown top-level fields are ignored", () => {
    const r = compile(`{"defaultAction": "SCMP_ACT_ALLOW",\n"defaultAction": "SCMP_ACT_KILL", "whatever": 1, "syscalls": []}`);
    expect(r.policy.arches[0].defaultAction).toBe(Action.KILL_THREAD);
    expect(msgs(r)).toEqual([`duplicate key "defaultAction" (also on line 1); the last one is used, as Go's encoding/json does`]);
    expect(r.warnings[0].source).toEqual({ file: "p.json", pointer: "/defaultAction", line: 2 });
  });

  it("unknown flags and listenerMetadata without listenerPath warn", () => {
    const r = compile(profile([], { flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_NOPE"], listenerMetadata: "x" }));
    expect(r.meta.flags).toEqual(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_NOPE"]);
    expect(msgs(r)[0]).toMatch(/unknown seccomp flag "SECCOMP_FILTER_FLAG_NOPE"/);
    expect(msgs(r)[1]).toMatch(/listenerMetadata is set without listenerPath/);
  });

  it("unconditional socket- and ipc-family rules are mirrored on socketcall/ipc, as libseccomp does", () => {
    const r = compile(profile(
      [{ names: ["socket", "connect", "send", "semop", "shmat"], action: "SCMP_ACT_ALLOW" }],
      { architectures: ["SCMP_ARCH_X86"] },
    ));
    const x86 = A("x86");
    // socketcall(a0 == call): socket 1, connect 3, send 9 (x86 has no direct send: mirrored only).
    for (const [a0, want] of [[1n, "ALLOW"], [3n, "ALLOW"], [9n, "ALLOW"], [2n, "ERRNO(1)"], [18n, "ERRNO(1)"], [0x101n, "ERRNO(1)"]] as const) {
      expect(run(r.policy, x86, "socketcall", [a0]), `socketcall(${a0})`).toBe(want);
    }
    // ipc(a0 == call): semop 1 (no direct semop on x86), shmat 21; the direct shmat too.
    for (const [a0, want] of [[1n, "ALLOW"], [21n, "ALLOW"], [2n, "ERRNO(1)"]] as const) {
      expect(run(r.policy, x86, "ipc", [a0]), `ipc(${a0})`).toBe(want);
    }
    expect(run(r.policy, x86, "shmat")).toBe("ALLOW");
    expect(run(r.policy, x86, "socket")).toBe("ALLOW");
    expect(r.meta.missing.x86 ?? []).not.toContain("send");
    expect(msgs(r).filter((m) => /socketcall|ipc/.test(m))).toEqual([]);
  });

  it("the mirror compares a0 as 64 bits on s390x and ppc64le, and not on ABIs without socketcall", () => {
    for (const arch of ["s390x", "ppc64le"]) {
      const r = compile(profile([{ names: ["accept4"], action: "SCMP_ACT_ALLOW" }], { architectures: [`SCMP_ARCH_${arch.toUpperCase()}`] }), { arch: A(arch) });
      const sc = r.policy.arches[0].syscalls.find((s) => s.name === "socketcall")!;
      expect(sc.rules.map((x) => x.conditions.map((c) => [c.index, c.width, c.op, c.value]))).toEqual([[[0, 64, "eq", 18n]]]);
      expect(run(r.policy, A(arch), "socketcall", [18n])).toBe("ALLOW");
      expect(run(r.policy, A(arch), "socketcall", [0x1_00000012n])).toBe("ERRNO(1)");
    }
    const r = compile(profile([{ names: ["accept4"], action: "SCMP_ACT_ALLOW" }], { architectures: ["SCMP_ARCH_AARCH64"] }), { arch: A("aarch64") });
    expect(r.policy.arches[0].syscalls.map((s) => s.name)).toEqual(["accept4"]);
  });

  it("a mirrored rule meets socketcall's own entry through libseccomp's merge", () => {
    // An unconditional socketcall entry absorbs the mirrored "a0 == 18" rule (a warning when the
    // actions differ), as libseccomp keeps the unconditional rule.
    const r = compile(profile(
      [{ names: ["socketcall"], action: "SCMP_ACT_KILL" }, { names: ["accept4"], action: "SCMP_ACT_ALLOW" }],
      { architectures: ["SCMP_ARCH_X86"] },
    ));
    expect(run(r.policy, A("x86"), "socketcall", [18n])).toBe("KILL_THREAD");
    expect(run(r.policy, A("x86"), "accept4")).toBe("ALLOW");
    expect(msgs(r).some((m) => /ALLOW rule for socketcall .* is absorbed by the unconditional KILL_THREAD rule/.test(m))).toBe(true);
  });

  it("ipc-family argument checks on x86 are named too", () => {
    const r = compile(profile(
      [{ names: ["semget", "ipc"], action: "SCMP_ACT_ALLOW" }, { names: ["shmget"], action: "SCMP_ACT_ALLOW", args: [{ index: 2, value: 0, op: "SCMP_CMP_EQ" }] }],
      { architectures: ["SCMP_ARCH_X86"] },
    ));
    expect(msgs(r).some((m) => /shmget has argument-restricted rules .* x86's multiplexed ipc\(117\).* bypasses these checks/.test(m))).toBe(true);
  });

  it("helpers: Docker arch names, caps, policy names", () => {
    expect(dockerArchName(X86_64)).toBe("amd64");
    expect(dockerArchName(A("aarch64"))).toBe("arm64");
    expect(dockerArchName(A("loongarch64"))).toBe("loong64");
    expect(dockerArchName(A("s390x"))).toBe("s390x");
    expect(normalizeCap("cap_sys_admin")).toBe("SYS_ADMIN");
    expect(normalizeCap("NET_RAW")).toBe("NET_RAW");
    expect(policyName("a/b/default.json")).toBe("default");
    expect(DOCKER_DEFAULT_CAPS).toHaveLength(14);
  });

  it("the running kernel is the default for minKernel", () => {
    const r = parseOci(profile([{ names: ["read"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "2.6" } }]), "p.json", { arch: X86_64 });
    expect(run(r.policy, X86_64, "read")).toBe("ALLOW");
  });
});

describe("OCI: every error names FILE:LINE (POINTER)", () => {
  const S = (entry: Record<string, unknown>) => profile([{ names: ["read"], action: "SCMP_ACT_ALLOW", ...entry }]);
  const cases: [string, string, RegExp, string, Partial<OciOptions>?][] = [
    ["not an object", "[]", /an OCI seccomp profile must be an object/, "p.json:1 (root)"],
    ["no defaultAction", `{"syscalls": []}`, /the profile is missing the required field "defaultAction"/, "p.json:1 (root)"],
    ["unknown action", profile([], { defaultAction: "SCMP_ACT_DENY" }), /unknown action "SCMP_ACT_DENY" \(expected one of SCMP_ACT_KILL/, "p.json:2 (/defaultAction)"],
    ["errnoRet on ALLOW", S({ errnoRet: 1 }), /"errnoRet" is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW/, "p.json:10 (/syscalls/0/errnoRet)"],
    ["defaultErrnoRet on KILL", profile([], { defaultAction: "SCMP_ACT_KILL" }), /"defaultErrnoRet" is only valid/, "p.json:3 (/defaultErrnoRet)"],
    ["errnoRet too big", profile([{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 70000 }]), /"errnoRet" is out of range: 70000/, "p.json:10 (/syscalls/0/errnoRet)"],
    ["unknown errno name", profile([{ names: ["read"], action: "SCMP_ACT_ERRNO", errno: "EWHAT" }]), /unknown errno name "EWHAT"/, "p.json:10 (/syscalls/0/errno)"],
    ["syscalls not array", profile([], { syscalls: {} }), /"syscalls" must be an array/, "p.json:4 (/syscalls)"],
    ["entry not object", profile([null]), /a syscalls entry must be an object, got null/, "p.json:5 (/syscalls/0)"],
    ["name and names", S({ name: "write" }), /gives both "name" and "names"/, "p.json:10 (/syscalls/0/name)"],
    ["no names", profile([{ action: "SCMP_ACT_ALLOW" }]), /the entry has no "names"/, "p.json:5 (/syscalls/0)"],
    ["empty names", S({ names: [] }), /"names" is empty/, "p.json:6 (/syscalls/0/names)"],
    ["empty name", S({ names: [""] }), /an empty string is not a syscall name/, "p.json:7 (/syscalls/0/names/0)"],
    ["no action", profile([{ names: ["read"] }]), /the syscalls entry is missing the required field "action"/, "p.json:5 (/syscalls/0)"],
    ["index 6", S({ args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }), /"index" \(a syscall has six arguments, 0-5\) is out of range: 6/, "p.json:12 (/syscalls/0/args/0/index)"],
    ["missing value", S({ args: [{ index: 0, op: "SCMP_CMP_EQ" }] }), /the condition is missing the required field "value"/, "p.json:11 (/syscalls/0/args/0)"],
    ["negative value", S({ args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }] }), /"value" must not be negative, got -1/, "p.json:13 (/syscalls/0/args/0/value)"],
    ["unknown op", S({ args: [{ index: 0, value: 0, op: "SCMP_CMP_IN" }] }), /unknown op "SCMP_CMP_IN"/, "p.json:14 (/syscalls/0/args/0/op)"],
    ["includes not object", S({ includes: [] }), /"includes" must be an object/, "p.json:10 (/syscalls/0/includes)"],
    ["bad minKernel", S({ includes: { minKernel: "4" } }), /"minKernel" must be "major.minor" \(e.g. "4.8"\), got "4"/, "p.json:11 (/syscalls/0/includes/minKernel)"],
    ["caps not strings", S({ excludes: { caps: [1] } }), /an entry of "excludes.caps" must be a string/, "p.json:12 (/syscalls/0/excludes/caps/0)"],
    ["architectures and archMap", profile([], { architectures: ["SCMP_ARCH_X86_64"], archMap: [{ architecture: "SCMP_ARCH_X86_64" }] }),
      /gives both "architectures" and "archMap"/, "p.json:8 (/archMap)"],
    ["unknown architecture", profile([], { architectures: ["SCMP_ARCH_VAX"] }), /unknown architecture "SCMP_ARCH_VAX"/, "p.json:6 (/architectures/0)"],
    ["other byte order", profile([], { architectures: ["SCMP_ARCH_S390X"] }), /SCMP_ARCH_S390X is big-endian but the target x86_64 is not/, "p.json:6 (/architectures/0)"],
  ];
  for (const [name, text, msg, where, opts] of cases) {
    it(name, () => {
      const e = errorOf(() => compile(text, opts));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(msg);
      expect(e.where).toBe(where);
    });
  }

  it("an invalid kernel option", () => {
    const e = errorOf(() => compile(profile([]), { kernel: "six" }));
    expect(e.message).toMatch(/kernel version must be "major.minor", got "six"/);
  });
});
