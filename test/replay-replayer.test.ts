// The replay engine: per-syscall counts equal direct evaluation, across cache hits, batch flushes
// and key-table growth; stacks; --after-install (installs, TSYNC, children, failed installs);
// first lines; the text and JSON reports.
import { describe, it, expect } from "vitest";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Replayer, BATCH, replayTraces, formatReplayText, replayJson } from "../src/replay/index.js";
import { TraceEvent } from "../src/traces/event.js";
import { InputBatch } from "../src/engine/data.js";
import { evaluateBatch, evaluateStack } from "../src/engine/run.js";
import { allows } from "../src/verify/relations.js";
import { assemble } from "../src/text/asm.js";
import { findArch, syscallName, syscallNumber } from "../src/syscalls/index.js";
import { rng } from "./support/policygen.js";
import type { Program } from "../src/engine/program.js";

const x86_64 = findArch("x86_64")!;
const nr = (n: string) => syscallNumber(x86_64, n)!;

// mmap: PROT_EXEC denied (ERRNO(1)); futex: ops 128/129 allowed, else TRAP; socket: domain 1
// allowed, 2 ERRNO(13), else KILL; kill: a 64-bit compare on arg0; everything else allowed.
const filter = assemble(`
  .arch x86_64
  ld arch
  jeq #AUDIT_ARCH_X86_64, ok, kill
ok: ld nr
  jeq #mmap, mmap
  jeq #futex, futex
  jeq #socket, sock
  jeq #kill, kl
  ret ALLOW
mmap: ld args[2].lo
  jset #4, eperm, allow
futex: ld args[1].lo
  jeq #128, allow
  jeq #129, allow, trap
sock: ld args[0].lo
  jeq #1, allow
  jeq #2, eacces, kill
kl: ld args[0].hi
  jeq #0, allow, eperm
allow: ret ALLOW
eperm: ret ERRNO(1)
eacces: ret ERRNO(13)
trap: ret TRAP(0)
kill: ret KILL_PROCESS
`);

function ev(fields: { name: string; args?: (bigint | undefined)[]; line: number; pid?: number; ret?: number; file?: string; fileIndex?: number }): TraceEvent {
  const e = new TraceEvent();
  e.file = fields.file ?? "t";
  e.fileIndex = fields.fileIndex ?? 0;
  e.line = fields.line;
  e.pid = fields.pid ?? 1;
  e.arch = x86_64;
  e.nr = nr(fields.name);
  e.name = fields.name;
  e.textCache = `${fields.name}(${(fields.args ?? []).map((a) => (a === undefined ? "?" : a)).join(", ")})`;
  (fields.args ?? []).forEach((a, i) => a !== undefined && e.setArg(i, a));
  e.ret = fields.ret;
  return e;
}

/** Expected per-syscall [allowed, denied] counts by direct evaluation of fully known events. */
function expected(programs: Program[], events: TraceEvent[]): Map<string, [number, number]> {
  const batch = new InputBatch(events.length);
  events.forEach((e, i) => batch.set(i, { nr: e.nr, arch: x86_64.token, args: [0, 1, 2, 3, 4, 5].map((k) => e.arg(k) ?? 0n), instructionPointer: 0n }));
  const rets = programs.length === 1 ? evaluateBatch(programs[0], batch).rets : evaluateStack(programs, batch);
  const m = new Map<string, [number, number]>();
  events.forEach((e, i) => {
    const c = m.get(e.name) ?? [0, 0];
    c[allows(rets[i]) ? 0 : 1]++;
    m.set(e.name, c);
  });
  return m;
}

describe("counts equal direct evaluation", () => {
  it("random fully known calls, many distinct keys (several flushes, table growth)", () => {
    const rand = rng(4242);
    const names = ["mmap", "futex", "socket", "kill", "read", "write", "close"];
    const events: TraceEvent[] = [];
    for (let i = 0; i < 3 * BATCH + 777; i++) {
      const name = names[Math.floor(rand() * names.length)];
      const big = () => BigInt(Math.floor(rand() * 2 ** 32)) << BigInt(rand() < 0.5 ? 32 : 0);
      const args = [0, 1, 2, 3, 4, 5].map((k) => {
        if (name === "socket" && k === 0) return BigInt(Math.floor(rand() * 4));
        if (name === "futex" && k === 1) return [128n, 129n, 0n, 393n][Math.floor(rand() * 4)];
        if (name === "mmap" && k === 2) return BigInt(Math.floor(rand() * 8));
        return big();
      });
      events.push(ev({ name, args, line: i + 1 }));
    }
    const r = new Replayer([filter]);
    for (const e of events) r.event(e);
    const got = r.finish();
    const want = expected([filter], events);
    for (const s of got) expect([s.allowed, s.denied], s.name).toEqual(want.get(s.name));
    expect(got.reduce((a, s) => a + s.depends, 0)).toBe(0);
    expect(r.totals.events).toBe(events.length);
  });

  it("a stack: the older filter's refusal wins", () => {
    const older = assemble(".arch x86_64\nld nr\njeq #read, no, yes\nno: ret ERRNO(5)\nyes: ret ALLOW\n");
    const events = [ev({ name: "read", args: [0n, 0n, 0n], line: 1 }), ev({ name: "socket", args: [2n], line: 2 }), ev({ name: "write", args: [1n], line: 3 })];
    const r = new Replayer([older, filter]);
    events.forEach((e) => r.event(e));
    const got = r.finish();
    expect(got.map((s) => [s.name, s.outcomes.map((o) => o.actions.join("|"))])).toEqual([
      ["read", ["ERRNO(5)"]], ["socket", ["ERRNO(13)"]], ["write", ["ALLOW"]],
    ]);
    const want = expected([older, filter], events);
    for (const s of got) expect([s.allowed, s.denied]).toEqual(want.get(s.name));
  });
});

describe("unknown values", () => {
  it("depends only when the filter looks at an unknown value; first line of each outcome", () => {
    const r = new Replayer([filter]);
    const evs = [
      ev({ name: "read", args: [undefined, undefined], line: 1 }), // nothing looked at: allowed
      ev({ name: "socket", args: [undefined, 1n], line: 2 }), // domain unknown
      ev({ name: "socket", args: [undefined, 1n], line: 3 }),
      ev({ name: "socket", args: [2n], line: 4 }),
      ev({ name: "kill", args: [5n], line: 5 }),
      ev({ name: "futex", args: [0x55n, undefined], line: 6 }),
      ev({ name: "socket", args: [undefined], line: 7, fileIndex: 1, file: "u" }),
    ];
    evs.forEach((e) => r.event(e));
    const got = r.finish();
    const sock = got.find((s) => s.name === "socket")!;
    expect(sock).toMatchObject({ allowed: 0, denied: 1, depends: 3 });
    const dep = sock.outcomes.find((o) => o.kind === "depends")!;
    expect(dep).toMatchObject({ dependsOn: ["arg0"], count: 3, exact: true, actions: ["KILL_PROCESS", "ERRNO(13)", "ALLOW"] });
    expect(dep.first).toEqual({ fileIndex: 0, file: "t", line: 2, text: "socket(?, 1)" });
    const den = sock.outcomes.find((o) => o.kind === "denied")!;
    expect(den.first!.line).toBe(4);
    expect(got.find((s) => s.name === "futex")!.outcomes[0]).toMatchObject({ kind: "depends", dependsOn: ["arg1"] });
    expect(got.find((s) => s.name === "read")!.allowed).toBe(1);
  });
});

describe("--after-install", () => {
  const dir = mkdtempSync(join(tmpdir(), "sf-after-"));
  const trace = [
    "100  socket(AF_INET, SOCK_STREAM, 0) = 3", // 1: before any install
    "100  seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, NULL) = -1 EFAULT (Bad address)", // 2: a probe, not an install
    "100  socket(AF_INET, SOCK_STREAM, 0) = 3", // 3: still unfiltered
    "100  clone3({flags=CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, exit_signal=0} <unfinished ...>", // 4
    "101  socket(AF_INET, SOCK_STREAM, 0) = 4", // 5: the new thread, before its parent's clone3 returns
    "100  <... clone3 resumed> => {parent_tid=[101]}, 88) = 101", // 6
    "101  seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, {len=1, filter=0x1}) = 0", // 7: install, TSYNC
    "100  socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES (Permission denied)", // 8: filtered (TSYNC)
    "100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00) = 200", // 9
    "200  socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES (Permission denied)", // 10: child process inherits
    "300  socket(AF_INET, SOCK_STREAM, 0) = 3", // 11: unrelated process: unfiltered
    "300  prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 0x7ffc) = 0", // 12: prctl install
    "300  socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES (Permission denied)", // 13
  ].join("\n") + "\n";
  writeFileSync(join(dir, "t.strace"), trace);

  it("applies the filter per thread from its install on, with TSYNC and to children", async () => {
    const r = await replayTraces([filter], [join(dir, "t.strace")], { arch: x86_64, afterInstall: true });
    expect(r.installs).toBe(2);
    // 13 lines, 12 calls (the clone3 halves are one); before install: lines 1-7 (the install
    // itself included), 11 and 12.
    expect(r.totals).toMatchObject({ events: 12, beforeInstall: 8, evaluated: 4 });
    const sock = r.syscalls.find((s) => s.name === "socket")!;
    expect(sock.denied).toBe(3); // lines 8, 10, 13
    expect(sock.outcomes[0].first!.line).toBe(8);
    const text = formatReplayText(r, ["f.bpf"], { afterInstall: true });
    expect(text).toContain("after-install: 2 installs seen; 8 calls before them not evaluated");
  });
  it("without it every call is evaluated", async () => {
    const r = await replayTraces([filter], [join(dir, "t.strace")], { arch: x86_64 });
    expect(r.totals).toMatchObject({ events: 12, evaluated: 12, beforeInstall: 0 });
    expect(r.syscalls.find((s) => s.name === "socket")!.denied).toBe(7);
  });
  it("JSON lines with pid and ret: installs and clones work there too", async () => {
    writeFileSync(join(dir, "t.jsonl"), [
      '{"syscall":"socket","args":[2,1,0],"pid":5}',
      '{"syscall":"seccomp","args":[1,0,null],"pid":5,"ret":0}',
      '{"syscall":"clone","args":["0x1200011"],"pid":5,"ret":6}',
      '{"syscall":"socket","args":[2,1,0],"pid":6}',
    ].join("\n") + "\n");
    const r = await replayTraces([filter], [join(dir, "t.jsonl")], { arch: x86_64, afterInstall: true });
    expect(r.installs).toBe(1);
    expect(r.totals).toMatchObject({ events: 4, beforeInstall: 2, evaluated: 2 });
    expect(r.syscalls.find((s) => s.name === "socket")!.denied).toBe(1);
  });
  it("says so when the trace has no install", async () => {
    writeFileSync(join(dir, "none.strace"), "1  read(0, \"\", 1) = 0\n");
    const r = await replayTraces([filter], [join(dir, "none.strace")], { arch: x86_64, afterInstall: true });
    expect(formatReplayText(r, ["f.bpf"], { afterInstall: true })).toContain("the traces show no successful seccomp filter install: none of 1 call was evaluated");
  });
});

describe("reports", () => {
  it("text: table, denied and depends with first lines, totals; JSON: the same facts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-rep-"));
    writeFileSync(join(dir, "a.strace"), [
      "7  mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE, 3, 0) = 0x7f00",
      "7  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f00",
      "7  futex(0x7f10, FUTEX_WAIT, 0, NULL) = 0",
      "7  socket(AF_MYSTERY, SOCK_STREAM, 0) = 3",
    ].join("\n") + "\n");
    const r = await replayTraces([filter], [join(dir, "a.strace")], { arch: x86_64 });
    const text = formatReplayText(r, ["f.bpf"]);
    expect(text).toMatch(/^replay: f\.bpf \(decided by the symbolic engine\)$/m);
    expect(text).toMatch(/^mmap +1 +1 +0$/m);
    expect(text).toContain(`  mmap: ERRNO(1), 1 call, first at ${dir}/a.strace:1\n      7  mmap(NULL, 4096, PROT_READ|PROT_EXEC`);
    expect(text).toContain("  futex: TRAP(0), 1 call");
    expect(text).toContain("  socket: KILL_PROCESS or ERRNO(13) or ALLOW, depending on arg0, 1 call");
    expect(text).toMatch(/^total: 4 calls evaluated: 1 allowed, 2 denied, 1 depends$/m);
    const j = replayJson(r, [{ file: "f.bpf" }]) as { totals: Record<string, number>; syscalls: { name: string; outcomes: { kind: string; rets: string[]; first: { line: number } | null }[] }[] };
    expect(j.totals).toMatchObject({ events: 4, evaluated: 4, allowed: 1, denied: 2, depends: 1 });
    const mmap = j.syscalls.find((s) => s.name === "mmap")!;
    expect(mmap.outcomes.map((o) => [o.kind, o.rets, o.first?.line ?? null])).toEqual([["denied", ["0x00050001"], 1], ["allowed", ["0x7fff0000"], null]]);
    expect(syscallName(x86_64, nr("mmap"))).toBe("mmap");
  });
});
