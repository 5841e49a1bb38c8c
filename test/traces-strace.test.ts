// The strace parser on every shape of docs/formats.md section 7: prefixes, pairing of split calls,
// decoded values and unknowns, signals, exits, personality switches, errors with file:line.
import { describe, it, expect } from "vitest";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { repoRoot } from "./support/corpus.js";
import { readTrace } from "../src/traces/reader.js";
import { TraceEvent, KNOWN_IP, type TraceSink } from "../src/traces/event.js";
import { findArch, syscallNumber } from "../src/syscalls/index.js";
import { InputError, UnknownSyscallError } from "../src/errors.js";

const fx = (name: string) => join(repoRoot, "test/fixtures/traces", name);
const x86_64 = findArch("x86_64")!;

interface Ev {
  pid: number;
  line: number;
  arch: string;
  name: string;
  nr: number;
  args: (bigint | undefined)[];
  ip?: bigint;
  ret?: number;
  cloneFlags?: number;
  text: string;
}

function snapshot(ev: TraceEvent): Ev {
  return {
    pid: ev.pid, line: ev.line, arch: ev.arch.name, name: ev.name, nr: ev.nr,
    args: [0, 1, 2, 3, 4, 5].map((i) => ev.arg(i)),
    ip: ev.known & KNOWN_IP ? (BigInt(ev.vals[1]) << 32n) | BigInt(ev.vals[0]) : undefined,
    ret: ev.ret, cloneFlags: ev.cloneFlags, text: ev.lineText(),
  };
}

async function collect(file: string, extra: Partial<TraceSink> = {}) {
  const events: Ev[] = [];
  const signals: unknown[] = [];
  const exits: unknown[] = [];
  const sink: TraceSink = {
    event: (ev) => events.push(snapshot(ev)),
    signal: (pid, sig, _f, line, seccomp) => signals.push({ pid, sig, line, seccomp }),
    exited: (pid, how, sup) => exits.push({ pid, how, sup }),
    ...extra,
  };
  const summary = await readTrace(file, { fileIndex: 0, arch: x86_64, sink });
  return { events, signals, exits, summary };
}

const U64 = (v: bigint) => BigInt.asUintN(64, v);

describe("strace: call shapes", () => {
  it("decodes numbers, constants and flags; strings, arrays and structs are unknown", async () => {
    const { events, summary } = await collect(fx("shapes.strace"));
    expect(summary.format).toBe("strace");
    const byLine = new Map(events.map((e) => [e.line, e]));
    const execve = byLine.get(1)!;
    expect(execve).toMatchObject({ pid: 4349, name: "execve", nr: 59 });
    expect(execve.args.slice(0, 3)).toEqual([undefined, undefined, 0x7fff56e7c058n]); // comment dropped
    const openat = byLine.get(2)!;
    expect(openat.args.slice(0, 3)).toEqual([U64(-100n), undefined, 0x80000n]); // AT_FDCWD sign-extended
    expect(openat.args[3]).toBeUndefined(); // not printed: whatever the register held
    const mmap = byLine.get(3)!;
    expect(mmap.args).toEqual([0n, 8192n, 3n, 0x22n, U64(-1n), 0n]);
    expect(byLine.get(4)!.args.slice(0, 3)).toEqual([3n, undefined, 832n]); // truncated string
    expect(byLine.get(5)!.args.slice(0, 4)).toEqual([3n, undefined, undefined, 0x1000n]);
    expect(byLine.get(6)!.args.slice(0, 2)).toEqual([undefined, 4n]); // R_OK
    expect(byLine.get(12)!.args.slice(0, 3)).toEqual([0n, 0x5402n, undefined]); // "SNDCTL_TMR_START or TCSETS"
    expect(byLine.get(13)!.args.slice(0, 5)).toEqual([4n, undefined, 0n, 0n, 0n]); // select with "= 1 (in [3])"
    expect(byLine.get(14)).toMatchObject({ name: "read", ret: undefined }); // = ? ERESTARTSYS
    const restart = byLine.get(15)!;
    expect(restart).toMatchObject({ name: "restart_syscall", nr: syscallNumber(x86_64, "restart_syscall") });
    expect(restart.args[0]).toBeUndefined();
    expect(byLine.get(16)).toMatchObject({ name: "syscall_0xbad", nr: 0xbad, args: [1n, 2n, 3n, 4n, 5n, 6n] });
  });

  it("pairs <unfinished ...> with <... resumed>: arguments of both halves, line of the first", async () => {
    const { events } = await collect(fx("shapes.strace"));
    const futex = events.find((e) => e.name === "futex" && e.pid === 4349)!;
    expect(futex.line).toBe(7);
    expect(futex.text).toContain("<unfinished ...>");
    // FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME = 9 | 128 | 256; FUTEX_BITSET_MATCH_ANY.
    expect(futex.args).toEqual([0x7fb08f0f7a70n, 393n, 0n, 0n, 0xffffffffn, undefined]);
    const mask = events.find((e) => e.name === "rt_sigprocmask")!;
    expect(mask).toMatchObject({ pid: 4350, line: 8 });
    expect(mask.args.slice(0, 4)).toEqual([2n, undefined, 0n, 8n]); // NULL, 8 come from the resumed half
    // Events come out when the call completes: the resumed futex (line 10) after line 8's call.
    const order = events.map((e) => e.line);
    expect(order.indexOf(7)).toBeGreaterThan(order.indexOf(8));
  });

  it("emits a call that never resumes (thread killed) and counts resumed halves without a start", async () => {
    const { events, summary } = await collect(fx("shapes.strace"));
    const killed = events.find((e) => e.pid === 4351 && e.name === "futex")!;
    expect(killed.args.slice(0, 4)).toEqual([0x55a2n, 128n, 2n, 0n]);
    const p = await collect(fx("prefixes.strace"));
    expect(p.summary.stats.orphanResumed).toBe(1); // "<... select resumed> ) = 1" with no start
    expect(summary.stats.orphanResumed).toBe(0);
  });

  it("clone3's flags come from its struct (for thread tracking); the struct itself is unknown", async () => {
    const { events } = await collect(fx("shapes.strace"));
    const c = events.find((e) => e.name === "clone3")!;
    expect(c.args[0]).toBeUndefined();
    expect(c.args[1]).toBe(88n);
    expect(c.ret).toBe(4351);
    expect(c.cloneFlags! & 0x10000).toBe(0x10000); // CLONE_THREAD
  });

  it("signals (SIGSYS with the seccomp syscall) and exits reach the sink", async () => {
    const { signals, exits } = await collect(fx("shapes.strace"));
    expect(signals).toEqual([
      { pid: 4349, sig: "SIGINT", line: 17, seccomp: undefined },
      { pid: 4349, sig: "SIGSYS", line: 18, seccomp: { syscall: "socket" } },
      { pid: 4349, sig: "stopped by SIGSTOP", line: 19, seccomp: undefined },
    ]);
    expect(exits).toEqual([
      { pid: 4351, how: "exited with 0", sup: undefined },
      { pid: 4349, how: "killed by SIGSYS (core dumped)", sup: undefined },
    ]);
  });
});

describe("strace: prefixes and raw output", () => {
  it("reads [pid N], -tt, -n, -i (ip known), -T, -y and -r in both forms", async () => {
    const { events } = await collect(fx("prefixes.strace"));
    const l1 = events.find((e) => e.line === 1)!;
    expect(l1).toMatchObject({ pid: 1234, name: "execve", ip: 0x7f9c34b94ad7n });
    const l2 = events.find((e) => e.line === 2)!;
    expect(l2.args.slice(0, 3)).toEqual([U64(-100n), undefined, 0x80000n]); // AT_FDCWD</srv/vm>
    expect(l2.ip).toBe(0x7fc1ad3deb1dn);
    expect(events.find((e) => e.line === 3)!.args[0]).toBe(3n); // 3</etc/ld.so.cache>
    expect(events.find((e) => e.line === 4)!.args).toEqual([0n, 0x2000n, 3n, 0x22n, 0xffffffffn, 0n]); // -e raw=all
    expect(events.find((e) => e.line === 5)).toMatchObject({ pid: 0, name: "getpid" }); // -tt -r
    expect(events.find((e) => e.line === 6)).toMatchObject({ name: "getppid" }); // -r alone
    expect(events.find((e) => e.line === 7)!.args.slice(0, 4)).toEqual([U64(-100n), undefined, 0x241n, 0o666n]); // -X raw, octal
  });

  it("clone's key=value arguments land at the kernel's positions", async () => {
    const { events } = await collect(fx("prefixes.strace"));
    const raw = events.find((e) => e.line === 8)!;
    expect(raw.args).toEqual([0x1200011n, 0n, undefined, 0x7f7723b2fa10n, undefined, undefined]);
    expect(raw.cloneFlags).toBe(0x1200011);
    const sym = events.find((e) => e.line === 9)!;
    expect(sym.args[0]).toBe(0x200000n | 0x1000000n | 17n);
  });

  it("decodes shifts, makedev, _IOC, flag sets and 64-bit decimals", async () => {
    const { events } = await collect(fx("prefixes.strace"));
    const futex = events.find((e) => e.line === 10)!;
    expect(futex.args[1]).toBe(5n | 128n); // FUTEX_WAKE_OP_PRIVATE
    expect(futex.args[5]).toBe((0n << 28n) | (0n << 12n) | (4n << 24n) | 1n);
    expect(events.find((e) => e.line === 11)!.args.slice(2, 4)).toEqual([0o20000n | 0o600n, 0x103n]);
    expect(events.find((e) => e.line === 12)!.args[1]).toBe(0xc008ae05n); // KVM_GET_SUPPORTED_CPUID
    expect(events.find((e) => e.line === 13)!.args.slice(0, 3)).toEqual([1n, 0x80801n, 0n]);
    expect(events.find((e) => e.line === 14)!.args.slice(0, 2)).toEqual([15n, undefined]);
    expect(events.find((e) => e.line === 15)!.args[1]).toBe(0xffffffffffffffffn);
  });

  it("switches ABI on personality lines: 32-bit calls resolve in the x86 table", async () => {
    const { events } = await collect(fx("prefixes.strace"));
    const p = events.filter((e) => e.pid === 1235);
    expect(p.map((e) => [e.arch, e.name, e.nr])).toEqual([
      ["x86", "getpid", 20], ["x86", "socketcall", 102], ["x86_64", "getpid", 39],
    ]);
  });

  it("-ff files take the pid from the FILE.PID name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-ff-"));
    writeFileSync(join(dir, "trace.4242"), "brk(NULL) = 0x55\nexit_group(0) = ?\n+++ exited with 0 +++\n");
    const { events, exits } = await collect(join(dir, "trace.4242"));
    expect(events.map((e) => e.pid)).toEqual([4242, 4242]);
    expect(exits).toEqual([{ pid: 4242, how: "exited with 0", sup: undefined }]);
  });
});

describe("strace: only the arguments the sink wants are decoded", () => {
  it("argsWanted limits decoding; installs and clones always decode", async () => {
    const { events } = await collect(fx("prefixes.strace"), { argsWanted: () => 1 << 3 }); // arg2 only
    const l7 = events.find((e) => e.line === 7)!;
    expect(l7.args).toEqual([undefined, undefined, 0x241n, undefined, undefined, undefined]);
    const clone = events.find((e) => e.line === 8)!;
    expect(clone.args[0]).toBe(0x1200011n); // special: decoded anyway
  });
});

describe("strace: bad input is one error naming file and line", () => {
  it("garbage line", async () => {
    const err = await collect(fx("garbage.strace")).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.oneLine()).toMatch(/garbage\.strace:3: not a strace line: "this is not strace output"/);
  });
  it("unknown syscall for the arch", async () => {
    const err = await collect(fx("unknown-syscall.strace")).catch((e) => e);
    expect(err).toBeInstanceOf(UnknownSyscallError);
    expect(err.oneLine()).toMatch(/unknown-syscall\.strace:2: unknown syscall "frobnicate" for arch x86_64/);
  });
  it("a call cut off in the middle of a file is an error; at the very end it is not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-cut-"));
    writeFileSync(join(dir, "mid.strace"), "1  brk(NULL) = 0x55\n1  read(3, \"abc\n1  close(3) = 0\n");
    const err = await collect(join(dir, "mid.strace")).catch((e) => e);
    expect(err.oneLine()).toMatch(/mid\.strace:2: unterminated argument list/);
    writeFileSync(join(dir, "end.strace"), "1  brk(NULL) = 0x55\n1  read(3, \"abc");
    const ok = await collect(join(dir, "end.strace"));
    expect(ok.events.map((e) => e.name)).toEqual(["brk"]);
  });
});
