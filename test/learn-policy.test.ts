// Policy learning: the corpus QEMU traces (learn -> compile -> replay: nothing denied), the
// curated argument narrowing, --widen, --base-set, --within, output formats and warnings.
import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpusPath } from "./support/corpus.js";
import { learnPolicy, allowAllProgram } from "../src/learn/index.js";
import { compilePolicyText } from "../src/policy/index.js";
import { check } from "../src/engine/check.js";
import { evaluate } from "../src/engine/run.js";
import { replayTraces } from "../src/replay/index.js";
import { subset, allows } from "../src/verify/relations.js";
import { findArch, syscallNumber } from "../src/syscalls/index.js";
import { policy, arg } from "../src/policy/builder.js";
import { compileIR } from "../src/policy/compile.js";
import { Action } from "../src/engine/actions.js";

const x86_64 = findArch("x86_64")!;
const dir = mkdtempSync(join(tmpdir(), "sf-learn-"));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** seccompiler rules of a learned policy: syscall -> list of "index=val" condition strings. */
function rulesOf(text: string): Map<string, string[]> {
  const j = JSON.parse(text);
  const thread = Object.values(j)[0] as { filter: { syscall: string; args?: { index: number; val: number }[] }[] };
  const m = new Map<string, string[]>();
  for (const r of thread.filter) {
    const l = m.get(r.syscall) ?? [];
    l.push((r.args ?? []).map((a) => `${a.index}=${a.val}`).join("&"));
    m.set(r.syscall, l);
  }
  return m;
}

describe("learning from QEMU booting a guest (corpus)", () => {
  const traces = ["qemu-tcg-boot.strace.txt", "qemu-tcg-microvm-boot.strace.txt"].map((t) => corpusPath("traces", t));

  it("learn -> compile -> check -> replay: nothing denied, stricter than allow-all", async () => {
    for (const format of ["seccompiler", "oci"] as const) {
      const r = await learnPolicy(traces as string[], { arch: x86_64, format });
      expect(r.accepted).toBe(true);
      expect(r.lint.filter((f) => f.severity === "error")).toEqual([]);
      // QEMU uses io_uring_setup, which lint rightly points out next to restricted open/socket.
      expect(r.lint.map((f) => f.id)).toContain("io-uring-bypass");
      expect(r.stricterThanAllowAll.ok).toBe(true);
      expect(r.replay!.totals).toMatchObject({ denied: 0, depends: 0 });
      expect(r.replay!.totals.evaluated).toBe(r.events);
      // The text compiles with sysfence's own frontends to the program that was verified.
      const again = compilePolicyText(r.text, "learned.json", { arch: x86_64 });
      expect(again.programs[0].program.equals(r.program)).toBe(true);
      expect(check(again.programs[0].program)).toEqual([]);
      // Independently: replaying the traces from the written file.
      const f = write(`learned-${format}.json`, r.text);
      const replay = await replayTraces([compilePolicyText(readFileSync(f, "utf8"), f, { arch: x86_64 }).programs[0].program], traces as string[], { arch: x86_64 });
      expect(replay.totals.denied).toBe(0);
      // 46 syscalls seen + exit, rt_sigreturn, restart_syscall always.
      expect(r.syscalls).toBe(49);
    }
  });

  it("narrows the curated arguments to the values seen", async () => {
    const r = await learnPolicy([traces[0]!], { arch: x86_64 });
    const rules = rulesOf(r.text);
    expect(r.narrowed).toEqual(["fcntl", "futex", "ioctl", "mmap", "mprotect", "prctl"]);
    expect(rules.get("ioctl")).toEqual(["1=21505", "1=21506"]); // TCGETS, TCSETS
    expect(rules.get("prctl")).toEqual(["0=29", "0=33"]); // PR_SET_TIMERSLACK, PR_MCE_KILL
    expect(rules.get("fcntl")).toEqual(["1=3", "1=4"]);
    expect(rules.get("futex")).toEqual(["1=0", "1=1", "1=128", "1=129", "1=393"]);
    expect(rules.get("mmap")).toEqual(["2=0", "2=1", "2=3", "2=5"]);
    expect(rules.get("mprotect")).toEqual(["2=0", "2=1", "2=3", "2=7"]); // QEMU's TCG buffer is W+X
    expect(rules.get("openat")).toEqual([""]);
    for (const always of ["exit", "exit_group", "rt_sigreturn", "restart_syscall"]) expect(rules.has(always)).toBe(true);
    // Comments name the values.
    expect(r.text).toContain('"comment": "TCGETS"');
    expect(r.text).toContain('"comment": "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"');
    // What was not seen is refused: mmap W+X, an unseen ioctl, an unseen syscall.
    const d = (name: string, ...args: bigint[]) => evaluate(r.program, { nr: syscallNumber(x86_64, name)!, arch: x86_64.token, args });
    expect(d("mmap", 0n, 4096n, 7n).action).toBe("KILL_PROCESS");
    expect(d("mmap", 0n, 4096n, 3n).action).toBe("ALLOW");
    expect(d("mmap", 0n, 4096n, 0xffffffff00000003n).action).toBe("ALLOW"); // dword: garbage high half
    expect(d("ioctl", 0n, 0xae80n).action).toBe("KILL_PROCESS");
    expect(d("socket", 1n, 1n, 0n).action).toBe("KILL_PROCESS");
  });

  it("--widen: names only; --base-set: start-up calls added, narrowed where curated", async () => {
    const wide = await learnPolicy([traces[0]!], { arch: x86_64, widen: true, verify: false });
    expect(wide.narrowed).toEqual([]);
    expect([...rulesOf(wide.text).values()].every((l) => l.length === 1 && l[0] === "")).toBe(true);
    const base = await learnPolicy([traces[0]!], { arch: x86_64, baseSet: true, verify: false });
    const rules = rulesOf(base.text);
    expect(rules.get("getpid")).toEqual([""]); // not in the QEMU trace
    expect(rules.get("mmap")).toEqual(["2=0", "2=1", "2=3", "2=5"]);
    expect(rules.get("futex")).toEqual(["1=0", "1=1", "1=128", "1=129", "1=393"]);
    expect(rules.has("mmap2")).toBe(false); // not an x86_64 syscall
    expect(base.text).toContain('"comment": "start-up base set"');
  });

  it("--within BASE: leaves out what BASE denies and proves the result a subset", async () => {
    const fc = corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json");
    const vmm = compilePolicyText(readFileSync(fc, "utf8"), fc, { arch: x86_64, thread: "vmm" }).programs[0].program;
    const r = await learnPolicy([traces[0]!], { arch: x86_64, within: { program: vmm, label: "vmm" } });
    expect(r.withinBase).toEqual({ ok: true });
    expect(subset(r.program, vmm)).toMatchObject({ holds: true });
    expect(r.warnings.some((w) => /^vmm denies openat \(TRAP\(0\)\) \(seen 75 times, first at .*:5\): left out/.test(w))).toBe(true);
    expect(r.warnings.some((w) => /^vmm denies futex\(arg1=0x189\)/.test(w))).toBe(true);
    const rules = rulesOf(r.text);
    expect(rules.has("openat")).toBe(false);
    expect(rules.get("futex")).toEqual(["1=0", "1=1", "1=128", "1=129"]);
    // Replaying the traces under it now denies exactly what the baseline denied.
    const base = await replayTraces([vmm], [traces[0]!], { arch: x86_64 });
    expect(r.replay!.totals.denied).toBe(base.totals.denied + base.totals.depends);
  });
});

describe("learning details", () => {
  it("a curated argument the trace does not show: allowed by name, with a warning", async () => {
    const t = write("unk.strace", [
      "1  ioctl(3, TCGETS, 0x7ffc) = 0",
      "1  ioctl(3, SOME_DRIVER_IOCTL, 0x7ffc) = 0",
      "1  socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 4",
      "1  socket(AF_INET6, SOCK_DGRAM, 0) = 5",
      "1  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 2",
    ].join("\n") + "\n");
    const r = await learnPolicy([t], { arch: x86_64 });
    expect(r.warnings).toContain(`ioctl: allowed by name only: the trace does not show arg1 at ${t}:2`);
    const rules = rulesOf(r.text);
    expect(rules.get("ioctl")).toEqual([""]);
    expect(rules.get("socket")).toEqual(["0=1&1=524289", "0=10&1=2"]); // pairs, not a cross product
    expect(rules.get("clone")).toEqual([`0=${0x1200000 | 17}`]);
    const d = (args: bigint[]) => allows(evaluate(r.program, { nr: syscallNumber(x86_64, "socket")!, arch: x86_64.token, args }).ret);
    expect([d([1n, 0x80001n]), d([10n, 2n]), d([1n, 2n]), d([10n, 0x80001n])]).toEqual([true, true, false, false]);
    expect(r.text).toContain('"comment": "SOCK_STREAM|SOCK_CLOEXEC"');
    expect(r.replay!.totals.denied).toBe(0);
  });

  it("calls of another ABI are left out with a warning", async () => {
    const t = write("mixed.strace", "5  getpid() = 5\n[ Process PID=5 runs in 32 bit mode. ]\n5  getpid() = 5\n5  socketcall(0x1, 0xffd0) = 3\n");
    const r = await learnPolicy([t], { arch: x86_64, verify: false });
    expect(r.warnings).toContain(`2 calls of ABI x86 (first at ${t}:3) left out: the policy is for x86_64`);
    expect(rulesOf(r.text).has("socketcall")).toBe(false);
  });

  it("default actions and formats", async () => {
    const t = write("tiny.strace", "1  getpid() = 1\n");
    const e = await learnPolicy([t], { arch: x86_64, defaultAction: (Action.ERRNO | 1) >>> 0 });
    expect(JSON.parse(e.text).main.default_action).toEqual({ errno: 1 });
    expect(evaluate(e.program, { nr: syscallNumber(x86_64, "socket")!, arch: x86_64.token }).action).toBe("ERRNO");
    const o = await learnPolicy([t], { arch: x86_64, format: "oci", defaultAction: (Action.ERRNO | 38) >>> 0, thread: "ignored" });
    expect(JSON.parse(o.text)).toMatchObject({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, architectures: ["SCMP_ARCH_X86_64"] });
    await expect(learnPolicy([t], { arch: x86_64, defaultAction: Action.ALLOW >>> 0 })).rejects.toThrow(/would allow everything/);
    const a64 = findArch("aarch64")!;
    const oa = await learnPolicy([write("a64.jsonl", '{"arch":"aarch64","syscall":"ioctl","args":[3,21505]}\n')], { arch: a64, format: "oci" });
    expect(JSON.parse(oa.text).syscalls[1]).toMatchObject({ names: ["ioctl"], args: [{ index: 1, value: 0xffffffff, valueTwo: 21505, op: "SCMP_CMP_MASKED_EQ" }] });
    expect(oa.replay!.totals.denied).toBe(0);
  });

  it("--within: arguments the baseline checks are narrowed too (64-bit where it compares 64)", async () => {
    const t = write("w.strace", "1  openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3\n1  getpid() = 1\n1  kill(1, SIGTERM) = 0\n");
    const base = compileIR(
      policy({ arch: "x86_64", default: "errno(1)" })
        .rule("openat", [arg(2).dword().eq(0n)], "allow")
        .rule("kill", [arg(0).eq(1n)], "allow") // qword: all 64 bits
        .allow("getpid", "exit", "exit_group", "rt_sigreturn", "restart_syscall")
        .build(),
    );
    const r = await learnPolicy([t], { arch: x86_64, within: { program: base, label: "base" } });
    expect(r.withinBase).toEqual({ ok: true });
    const j = JSON.parse(r.text).main.filter as { syscall: string; args?: { index: number; type: string; val: number }[] }[];
    expect(j.find((x) => x.syscall === "openat")!.args).toEqual([{ index: 2, type: "dword", op: "eq", val: 0 }]);
    expect(j.find((x) => x.syscall === "kill")!.args).toEqual([{ index: 0, type: "qword", op: "eq", val: 1 }]);
    // Names only cannot stay inside: said, and shown with a counterexample.
    const w = await learnPolicy([t], { arch: x86_64, widen: true, within: { program: base, label: "base" } });
    expect(w.warnings).toContain("base allows openat only for some values of arg2; the learned rule is wider there");
    expect(w.withinBase!.ok).toBe(false);
    if (w.withinBase!.ok === false) expect(["openat", "kill"]).toContain(w.withinBase!.counterexample!.syscall);
    expect(allowAllProgram().length).toBe(1);
  });
});
