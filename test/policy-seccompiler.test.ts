import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parseSeccompiler, SECCOMPILER_MISMATCH_ACTION } from "../src/policy/seccompiler.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import type { PolicyIR } from "../src/policy/ir.js";
import { Action, formatRet } from "../src/engine/actions.js";
import { UnknownSyscallError } from "../src/errors.js";
import { resolveArch, syscallNumber, type ArchInfo } from "../src/syscalls/index.js";
import { corpusPath } from "./support/corpus.js";
import { errorOf } from "./support/errors.js";

const X86_64 = resolveArch("x86_64");
const AARCH64 = resolveArch("aarch64");
const X86 = resolveArch("x86");
const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/policies/${name}`, import.meta.url)), "utf8");


/** The result for `name(args…)` on the policy's (first) arch. */
function run(ir: PolicyIR, name: string, args: bigint[] = [], arch: ArchInfo = ir.arches[0].arch): string {
  const nr = syscallNumber(arch, name);
  if (nr === undefined) throw new Error(`no ${name} on ${arch.name}`);
  return formatRet(evaluatePolicy(ir, { arch: arch.token, nr, args }));
}

/** One thread with the given filter entries, as JSON text. */
function thread(filter: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ t: { default_action: "trap", filter_action: "allow", filter, ...extra } }, null, 2);
}
function one(text: string, arch: ArchInfo = X86_64): PolicyIR {
  return parseSeccompiler(text, "p.json", arch).policies.get("t")!;
}
const cond = (c: Record<string, unknown>) => ({ index: 0, type: "dword", op: "eq", val: 0, ...c });

// docs/evidence.md section 2: rule entries, unique syscalls, syscalls with arg rules (their entries).
type Row = [thread: string, entries: number, unique: number, withArgs: number, argEntries: number];
const TABLE: Record<string, { arch: ArchInfo; rows: Row[] }> = {
  "x86_64-unknown-linux-musl.json": {
    arch: X86_64,
    rows: [["vmm", 76, 50, 13, 39], ["api", 36, 31, 9, 14], ["vcpu", 49, 27, 7, 29]],
  },
  "aarch64-unknown-linux-musl.json": {
    arch: AARCH64,
    rows: [["vmm", 75, 50, 13, 38], ["api", 36, 31, 9, 14], ["vcpu", 39, 27, 7, 19]],
  },
  "v1.10.1/x86_64-unknown-linux-musl.json": {
    arch: X86_64,
    rows: [["vmm", 58, 43, 9, 24], ["api", 34, 28, 9, 15], ["vcpu", 53, 22, 7, 38]],
  },
  "v1.10.1/aarch64-unknown-linux-musl.json": {
    arch: AARCH64,
    rows: [["vmm", 58, 44, 9, 23], ["api", 34, 28, 9, 15], ["vcpu", 36, 22, 7, 21]],
  },
};

describe("seccompiler: the Firecracker corpus", () => {
  const dir = corpusPath("filters", "firecracker");

  for (const [file, { arch, rows }] of Object.entries(TABLE)) {
    it(`${file} for ${arch.name}: every thread matches docs/evidence.md section 2`, () => {
      const r = parseSeccompiler(readFileSync(`${dir}/${file}`, "utf8"), file, arch);
      expect([...r.policies.keys()]).toEqual(["vmm", "api", "vcpu"]);
      expect(r.warnings).toEqual([]); // no bare+args mixes, no odd values
      for (const [name, entries, unique, withArgs, argEntries] of rows) {
        const ir = r.policies.get(name)!;
        expect(ir.name).toBe(name);
        expect(ir.arches).toHaveLength(1);
        const sec = ir.arches[0];
        expect(sec.arch).toBe(arch);
        expect(sec.defaultAction).toBe(Action.TRAP);
        expect(ir.mismatchAction).toBe(Action.KILL_PROCESS);
        expect(ir.x32Action).toBe(arch === X86_64 ? Action.KILL_PROCESS : undefined);
        const rules = sec.syscalls.flatMap((s) => s.rules);
        expect(rules).toHaveLength(entries);
        expect(sec.syscalls).toHaveLength(unique);
        const restricted = sec.syscalls.filter((s) => s.rules.some((x) => x.conditions.length > 0));
        expect(restricted).toHaveLength(withArgs);
        expect(restricted.flatMap((s) => s.rules)).toHaveLength(argEntries);
        // Sorted by nr, one entry per nr, every rule allows, every condition is a dword.
        const nrs = sec.syscalls.map((s) => s.nr);
        expect(nrs).toEqual([...nrs].sort((a, b) => a - b));
        expect(new Set(nrs).size).toBe(nrs.length);
        expect(rules.every((x) => x.action === Action.ALLOW)).toBe(true);
        expect(rules.flatMap((x) => x.conditions).every((c) => c.width === 32)).toBe(true);
        for (const s of sec.syscalls) expect(syscallNumber(arch, s.name)).toBe(s.nr);
      }
    });
  }

  it("main x86_64 vmm: the 50 syscalls and the arg-restricted ones of docs/evidence.md", () => {
    const r = parseSeccompiler(readFileSync(`${dir}/x86_64-unknown-linux-musl.json`, "utf8"), "fc.json", X86_64);
    const vmm = r.policies.get("vmm")!.arches[0];
    expect(vmm.syscalls.map((s) => s.name).sort()).toEqual(
      ("accept4 brk clock_gettime close connect epoll_ctl epoll_pwait eventfd2 exit exit_group fcntl fstat fsync " +
        "ftruncate futex getrandom gettid io_uring_enter io_uring_register io_uring_setup ioctl lseek madvise " +
        "memfd_create mincore mmap mprotect mremap msync munmap open read readv recvfrom recvmsg restart_syscall " +
        "rt_sigaction rt_sigprocmask rt_sigreturn sched_yield sendmsg sendto sigaltstack socket stat " +
        "timerfd_create timerfd_settime tkill write writev").split(" "),
    );
    const restricted = Object.fromEntries(
      vmm.syscalls.filter((s) => s.rules.some((x) => x.conditions.length)).map((s) => [s.name, s.rules.length]),
    );
    expect(restricted).toEqual({
      accept4: 1, fcntl: 2, futex: 5, ioctl: 14, memfd_create: 1, mmap: 8, mprotect: 1, msync: 1,
      rt_sigaction: 1, socket: 1, timerfd_create: 1, timerfd_settime: 1, tkill: 2,
    });
    // The {"masked_eq": 4} "PROT_EXEC not set" rules: 11 in the file.
    const masked = r.policies.size && [...r.policies.values()]
      .flatMap((p) => p.arches[0].syscalls.flatMap((s) => s.rules.flatMap((x) => x.conditions)))
      .filter((c) => c.op === "masked_eq");
    expect(masked).toHaveLength(11);
    expect((masked as { mask?: bigint; value: bigint }[]).every((c) => c.mask === 4n && c.value === 0n)).toBe(true);
  });

  it("main x86_64 vmm: dword rules evaluate on the low word (musl's garbage high halves pass)", () => {
    const r = parseSeccompiler(readFileSync(`${dir}/x86_64-unknown-linux-musl.json`, "utf8"), "fc.json", X86_64);
    const vmm = r.policies.get("vmm")!;
    const mmap = vmm.arches[0].syscalls.find((s) => s.name === "mmap")!;
    const okArgs = mmap.rules[0].conditions.reduce((a, c) => {
      a[c.index] = c.op === "masked_eq" ? 0n : c.value;
      return a;
    }, [0n, 0n, 0n, 0n, 0n, 0n]);
    expect(run(vmm, "mmap", okArgs)).toBe("ALLOW");
    const withGarbage = okArgs.map((v) => v | 0xdead_beef_0000_0000n);
    expect(run(vmm, "mmap", withGarbage)).toBe("ALLOW");
    const exec = [...okArgs];
    exec[2] |= 4n; // PROT_EXEC
    expect(run(vmm, "mmap", exec)).toBe("TRAP(0)");
    expect(run(vmm, "read")).toBe("ALLOW");
    expect(run(vmm, "execve")).toBe("TRAP(0)");
    // x32 read on AUDIT_ARCH_X86_64 and a foreign arch: KILL_PROCESS.
    expect(formatRet(evaluatePolicy(vmm, { arch: X86_64.token, nr: 0x40000000, args: [] }))).toBe("KILL_PROCESS");
    expect(formatRet(evaluatePolicy(vmm, { arch: AARCH64.token, nr: 63, args: [] }))).toBe("KILL_PROCESS");
  });

  for (const sub of ["unimplemented.json", "v1.10.1/unimplemented.json"]) {
    it(`${sub}: allow-everything threads with no rules`, () => {
      for (const arch of [X86_64, AARCH64]) {
        const r = parseSeccompiler(readFileSync(`${dir}/${sub}`, "utf8"), sub, arch);
        expect(r.warnings).toEqual([]);
        expect([...r.policies.keys()]).toEqual(["vmm", "api", "vcpu"]);
        for (const ir of r.policies.values()) {
          expect(ir.arches[0].syscalls).toEqual([]);
          expect(ir.arches[0].defaultAction).toBe(Action.ALLOW);
          expect(run(ir, "execve")).toBe("ALLOW");
        }
      }
    });
  }

  it("x86_64 names resolved for aarch64 give an UnknownSyscallError naming the arch", () => {
    const e = errorOf(() =>
      parseSeccompiler(readFileSync(`${dir}/x86_64-unknown-linux-musl.json`, "utf8"), "fc.json", AARCH64),
    );
    expect(e).toBeInstanceOf(UnknownSyscallError);
    expect(e.message).toMatch(/^unknown syscall "\w+" for arch aarch64$/);
    expect(e.where).toMatch(/^fc\.json:\d+ \(\/vmm\/filter\/\d+\/syscall\)$/);
  });
});

describe("seccompiler: semantics", () => {
  it("docs/formats.md 2.1 example: bare, dword eq and masked_eq rules", () => {
    const r = parseSeccompiler(fixture("seccompiler-example.json"), "ex.json", X86_64);
    expect(r.warnings).toEqual([]);
    const vmm = r.policies.get("vmm")!;
    expect(vmm.source).toEqual({ file: "ex.json", pointer: "/vmm", line: 2 });
    const ioctl = vmm.arches[0].syscalls.find((s) => s.name === "ioctl")!;
    expect(ioctl.rules[0].source).toEqual({ file: "ex.json", pointer: "/vmm/filter/1", line: 7 });
    expect(ioctl.rules[0].conditions[0]).toMatchObject({ index: 1, width: 32, op: "eq", value: 21505n });
    expect(ioctl.rules[0].conditions[0].source).toEqual({ file: "ex.json", pointer: "/vmm/filter/1/args/0", line: 8 });
    expect(run(vmm, "ioctl", [3n, 21505n])).toBe("ALLOW");
    expect(run(vmm, "ioctl", [3n, 0xffffffff_00005401n])).toBe("ALLOW");
    expect(run(vmm, "ioctl", [3n, 21506n])).toBe("TRAP(0)");
    expect(run(vmm, "mmap", [0n, 4096n, 3n])).toBe("ALLOW");
    expect(run(vmm, "mmap", [0n, 4096n, 7n])).toBe("TRAP(0)");
    expect(run(vmm, "mmap", [0n, 4096n, 0x4_00000003n])).toBe("ALLOW"); // dword: high bits ignored
  });

  it("dword compares the low 32 bits for every op; qword compares 64 (docs/formats.md 2.3)", () => {
    const ir = one(thread([
      { syscall: "read", args: [cond({ index: 2, op: "gt", val: 100 })] },
      { syscall: "write", args: [cond({ index: 2, op: "ne", val: 7 })] },
      { syscall: "close", args: [cond({ type: "qword", op: "eq", val: 1 })] },
      { syscall: "dup", args: [cond({ type: "qword", op: "lt", val: 0x1_00000000 })] },
    ]));
    expect(run(ir, "read", [0n, 0n, 0x1_00000001n])).toBe("TRAP(0)"); // low word 1 is not > 100
    expect(run(ir, "read", [0n, 0n, 101n])).toBe("ALLOW");
    expect(run(ir, "write", [0n, 0n, 0x1_00000007n])).toBe("TRAP(0)"); // low word is 7
    expect(run(ir, "write", [0n, 0n, 8n])).toBe("ALLOW");
    expect(run(ir, "close", [1n])).toBe("ALLOW");
    expect(run(ir, "close", [0x1_00000001n])).toBe("TRAP(0)");
    expect(run(ir, "dup", [0xffffffffn])).toBe("ALLOW");
    expect(run(ir, "dup", [0x1_00000000n])).toBe("TRAP(0)");
  });

  it("bare + conditional for one syscall: the bare entry wins, with a warning naming both places", () => {
    const r = parseSeccompiler(fixture("seccompiler-mixed.json"), "mixed.json", X86_64);
    const ir = r.policies.get("main")!;
    expect(ir.arches[0].defaultAction).toBe(Action.ERRNO | 1);
    expect(run(ir, "ioctl", [0n, 9n])).toBe("ALLOW");
    const ioctl = ir.arches[0].syscalls.find((s) => s.name === "ioctl")!;
    expect(ioctl.rules).toEqual([{ conditions: [], action: Action.ALLOW, source: { file: "mixed.json", pointer: "/main/filter/2", line: 8 } }]);
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0];
    expect(w.source).toEqual({ file: "mixed.json", pointer: "/main/filter/2", line: 8 });
    expect(w.message).toContain(`"ioctl" is listed without arguments at mixed.json:8 (/main/filter/2)`);
    expect(w.message).toContain("with argument conditions at mixed.json:6 (/main/filter/0)");
    expect(w.message).toContain("any arguments are allowed");
    expect(w.message).toContain("rust-vmm seccompiler 0.4/0.5 would instead drop the bare entry");
    expect(w.message).toContain("Firecracker <= 1.10 would refuse the file");
    // "args": [] is unconditional; a qword val of 2^64-1 is read exactly.
    expect(run(ir, "write", [1n, 2n, 3n])).toBe("ALLOW");
    expect(run(ir, "close", [0xffff_ffff_ffff_ffffn])).toBe("ALLOW");
    expect(run(ir, "close", [0xffff_ffff_ffff_fffen])).toBe("ERRNO(1)");
    expect(ir.arches[0].syscalls.find((s) => s.name === "close")!.rules[0].conditions[0].value).toBe(18446744073709551615n);
  });

  it("aliases, every action, errno/trace data", () => {
    const actions: [unknown, number][] = [
      ["allow", Action.ALLOW], ["trap", Action.TRAP], ["log", Action.LOG], ["kill_thread", Action.KILL_THREAD],
      ["kill_process", Action.KILL_PROCESS], ["user_notif", Action.USER_NOTIF], [{ errno: 0 }, Action.ERRNO],
      [{ errno: 65535 }, (Action.ERRNO | 0xffff) >>> 0], [{ trace: 7 }, (Action.TRACE | 7) >>> 0],
    ];
    for (const [a, v] of actions) {
      const ir = one(JSON.stringify({ t: { mismatch_action: a, match_action: a === "trap" ? "allow" : "trap", filter: [] } }));
      expect(ir.arches[0].defaultAction).toBe(v >>> 0);
    }
  });

  it("masked_eq pre-masks val, with a warning when val has bits outside the mask", () => {
    const r = parseSeccompiler(thread([{ syscall: "mmap", args: [cond({ index: 2, op: { masked_eq: 4 }, val: 5 })] }]), "m.json", X86_64);
    const c = r.policies.get("t")!.arches[0].syscalls[0].rules[0].conditions[0];
    expect(c).toMatchObject({ op: "masked_eq", mask: 4n, value: 4n, width: 32 });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0].message).toMatch(/bits outside the mask 0x4; they are ignored/);
    expect(r.warnings[0].source?.pointer).toBe("/t/filter/0/args/0/val");
  });

  it("default_action == filter_action with rules: a warning; with an empty filter: none", () => {
    let r = parseSeccompiler(thread([{ syscall: "read" }], { default_action: "allow" }), "s.json", X86_64);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0].message).toMatch(/both ALLOW, so every rule is redundant/);
    r = parseSeccompiler(thread([], { default_action: "allow" }), "s.json", X86_64);
    expect(r.warnings).toEqual([]);
  });

  it("a bare syscall listed twice warns; grouping keeps file order; syscalls sorted by nr", () => {
    const r = parseSeccompiler(thread([{ syscall: "write" }, { syscall: "read" }, { syscall: "write" }]), "d.json", X86_64);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0].message).toMatch(/"write" is listed without arguments 2 times/);
    expect(r.policies.get("t")!.arches[0].syscalls.map((s) => s.name)).toEqual(["read", "write"]);
  });

  it("on a 32-bit ABI every condition is on the low word (width 32)", () => {
    const ir = one(thread([{ syscall: "read", args: [cond({ type: "qword", op: "eq", val: 5 })] }]), X86);
    expect(ir.arches[0].syscalls[0].rules[0].conditions[0].width).toBe(32);
    expect(ir.x32Action).toBeUndefined();
  });

  it("property: evaluation equals the documented meaning for random conditions", () => {
    const ops = ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"] as const;
    const M32 = 0xffffffffn;
    fc.assert(
      fc.property(
        fc.constantFrom(...ops), fc.constantFrom("dword", "qword"), fc.bigInt(0n, M32), fc.bigInt(0n, (1n << 64n) - 1n),
        fc.bigInt(0n, (1n << 64n) - 1n), fc.bigInt(0n, M32),
        (op, type, val32, val64, arg, mask) => {
          const val = type === "dword" ? val32 : val64;
          const opJson = op === "masked_eq" ? `{"masked_eq": ${mask}}` : `"${op}"`;
          const text = `{"t": {"default_action": "trap", "filter_action": "allow", "filter": [
            {"syscall": "read", "args": [{"index": 3, "type": "${type}", "op": ${opJson}, "val": ${val}}]}]}}`;
          const ir = parseSeccompiler(text, "p.json", X86_64).policies.get("t")!;
          const m = type === "dword" ? M32 : (1n << 64n) - 1n;
          const a = arg & m;
          const v = val & m;
          const expected = {
            eq: a === v, ne: a !== v, lt: a < v, le: a <= v, gt: a > v, ge: a >= v,
            masked_eq: (a & mask) === (v & mask),
          }[op];
          expect(run(ir, "read", [0n, 0n, 0n, arg])).toBe(expected ? "ALLOW" : "TRAP(0)");
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("seccompiler: every error names FILE:LINE (POINTER)", () => {
  const cases: [string, string, RegExp, string][] = [
    ["not an object", `[1]`, /must be an object mapping thread names/, "p.json:1 (root)"],
    ["no threads", `{}`, /defines no threads/, "p.json:1 (root)"],
    ["thread not an object", `{"t": 3}`, /thread "t" must be an object, got the number 3/, "p.json:1 (/t)"],
    ["duplicate thread", `{"t": {"default_action":"trap","filter_action":"allow","filter":[]},\n"t": {}}`,
      /duplicate thread "t" \(first given on line 1\)/, "p.json:2 (/t)"],
    ["duplicate field", `{"t": {"default_action":"trap",\n"default_action":"trap","filter_action":"allow","filter":[]}}`,
      /duplicate field "default_action"/, "p.json:2 (/t/default_action)"],
    ["unknown filter field", thread([], { filters: [] }), /unknown field "filters" in the filter of thread "t"/, "p.json:6 (/t/filters)"],
    ["both spellings", thread([], { mismatch_action: "trap" }), /gives both "default_action" and its alias "mismatch_action"/, "p.json:6 (/t/mismatch_action)"],
    ["missing default", JSON.stringify({ t: { filter_action: "allow", filter: [] } }), /missing the required field "default_action" \(or its alias "mismatch_action"\)/, "p.json:1 (/t)"],
    ["missing filter", JSON.stringify({ t: { default_action: "trap", filter_action: "allow" } }), /missing the required field "filter"/, "p.json:1 (/t)"],
    ["filter not array", thread([], { filter: {} }), /"filter" must be an array, got an object/, "p.json:5 (/t/filter)"],
    ["kill", thread([], { default_action: "kill" }), /unknown action "kill" \(there is no "kill": use "kill_thread" or "kill_process"\)/, "p.json:3 (/t/default_action)"],
    ["bad action object", thread([], { filter_action: { errno: 1, trace: 2 } }), /invalid action an object/, "p.json:4 (/t/filter_action)"],
    ["errno too big", thread([], { filter_action: { errno: 65536 } }), /the errno value is out of range: 65536 \(allowed 0..65535/, "p.json:5 (/t/filter_action/errno)"],
    ["errno negative", thread([], { filter_action: { errno: -1 } }), /must not be negative, got -1/, "p.json:5 (/t/filter_action/errno)"],
    ["trace fraction", thread([], { filter_action: { trace: 1.5 } }), /without fraction or exponent, got 1.5/, "p.json:5 (/t/filter_action/trace)"],
    ["rule not object", thread(["read"]), /a rule must be an object, got the string "read"/, "p.json:6 (/t/filter/0)"],
    ["unknown rule field", thread([{ syscall: "read", agrs: [] }]), /unknown field "agrs" in a rule \(accepted: syscall, args, comment\)/, "p.json:8 (/t/filter/0/agrs)"],
    ["missing syscall", thread([{ comment: "x" }]), /the rule is missing the required field "syscall"/, "p.json:6 (/t/filter/0)"],
    ["syscall number", thread([{ syscall: 0 }]), /"syscall" must be a string, got the number 0/, "p.json:7 (/t/filter/0/syscall)"],
    ["comment not string", thread([{ syscall: "read", comment: 1 }]), /"comment" must be a string/, "p.json:8 (/t/filter/0/comment)"],
    ["args not array", thread([{ syscall: "read", args: {} }]), /"args" must be an array/, "p.json:8 (/t/filter/0/args)"],
    ["unknown cond field", thread([{ syscall: "read", args: [cond({ value: 1 })] }]), /unknown field "value" in a condition/, "p.json:14 (/t/filter/0/args/0/value)"],
    ["missing op", thread([{ syscall: "read", args: [{ index: 0, type: "dword", val: 0 }] }]), /missing the required field "op"/, "p.json:9 (/t/filter/0/args/0)"],
    ["index 6", thread([{ syscall: "read", args: [cond({ index: 6 })] }]), /"index" \(a syscall has six arguments, 0-5\) is out of range: 6/, "p.json:10 (/t/filter/0/args/0/index)"],
    ["bad type", thread([{ syscall: "read", args: [cond({ type: "word" })] }]), /"type" must be "dword" \(low 32 bits\) or "qword" \(64 bits\), got "word"/, "p.json:11 (/t/filter/0/args/0/type)"],
    ["bad op", thread([{ syscall: "read", args: [cond({ op: "lte" })] }]), /"op" must be one of .* got the string "lte"/, "p.json:12 (/t/filter/0/args/0/op)"],
    ["bad op object", thread([{ syscall: "read", args: [cond({ op: { masked: 4 } })] }]), /unknown field "masked" in the op object/, "p.json:13 (/t/filter/0/args/0/op/masked)"],
    ["val above u64", thread([{ syscall: "read", args: [cond({ type: "qword", val: "X" })] }]).replace(`"X"`, "18446744073709551616"),
      /"val" is out of range: 18446744073709551616/, "p.json:13 (/t/filter/0/args/0/val)"],
    ["val float", thread([{ syscall: "read", args: [cond({ val: 1e21 })] }]), /without fraction or exponent, got 1e\+21/, "p.json:13 (/t/filter/0/args/0/val)"],
    ["dword val > 32 bits", thread([{ syscall: "read", args: [cond({ val: 0x1_00000001 })] }]),
      /a dword val above 32 bits \(0x100000001\) can never mean what it says/, "p.json:13 (/t/filter/0/args/0/val)"],
    ["dword mask > 32 bits", thread([{ syscall: "read", args: [cond({ op: { masked_eq: 0x1_00000000 } })] }]),
      /a dword mask above 32 bits \(0x100000000\)/, "p.json:13 (/t/filter/0/args/0/op/masked_eq)"],
    ["unknown syscall", thread([{ syscall: "frobnicate" }]), /^unknown syscall "frobnicate" for arch x86_64$/, "p.json:7 (/t/filter/0/syscall)"],
  ];
  for (const [name, text, msg, where] of cases) {
    it(name, () => {
      const e = errorOf(() => parseSeccompiler(text, "p.json", X86_64));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(msg);
      expect(e.where).toBe(where);
    });
  }

  it("a qword val above 32 bits on a 32-bit ABI names the arch", () => {
    const text = thread([{ syscall: "read", args: [cond({ type: "qword", val: 0x1_00000000 })] }]);
    const e = errorOf(() => parseSeccompiler(text, "p.json", X86));
    expect(e.message).toMatch(/x86 is a 32-bit ABI: every argument is 32 bits, so a qword val of 0x100000000 can never match/);
    expect(e.where).toBe("p.json:13 (/t/filter/0/args/0/val)");
  });

  it("a syntax error points at line and column", () => {
    const e = errorOf(() => parseSeccompiler(`{"t": {"default_action": "trap",,}}`, "p.json", X86_64));
    expect(e.where).toBe("p.json:1:33");
  });

  it("mismatch action constant is rust-vmm's KILL_PROCESS", () => {
    expect(SECCOMPILER_MISMATCH_ACTION).toBe(Action.KILL_PROCESS);
  });
});
