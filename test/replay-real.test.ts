// Replay on real data: traces this test records with Debian's strace (`strace -f -X raw`) of
// real programs running under real filters (installed by the seccomp-exec helper), compared
// with what actually happened; and the corpus strace of QEMU booting a kernel.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seccompExec, strace, recordingWhy } from "./fixtures/traces/native.js";
import { skipWhen } from "./support/skip.js";
import { corpusPath } from "./support/corpus.js";
import { policy, arg } from "../src/policy/builder.js";
import { compileIR } from "../src/policy/compile.js";
import { compilePolicyText } from "../src/policy/index.js";
import { writeRaw } from "../src/formats/raw.js";
import { replayTraces } from "../src/replay/index.js";
import { SymbolicDecider } from "../src/replay/decide.js";
import { readTrace } from "../src/traces/reader.js";
import { allows } from "../src/verify/relations.js";
import { hostArch, syscallNumber, findArch } from "../src/syscalls/index.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import type { Program } from "../src/engine/program.js";
import type { TraceEvent } from "../src/traces/event.js";

const host = hostArch();
const why = recordingWhy();
let helper: string | undefined;
let haveStrace: string | undefined;
let dir: string;

function saveFilter(name: string, p: Program): string {
  const f = join(dir, name);
  writeFileSync(f, writeRaw(p, host.endian));
  return f;
}

/** Runs `cmd` under FILTER (installed by the helper) with `strace -f -X raw …`; returns the trace path. */
function record(name: string, filter: string, cmd: string, straceArgs = ["-X", "raw"]): string {
  const out = join(dir, name);
  const r = spawnSync(haveStrace!, ["-f", ...straceArgs, "-o", out, helper!, filter, "sh", "-c", cmd], { encoding: "utf8", cwd: dir, timeout: 60_000 });
  if (r.error) throw r.error;
  return out;
}

/** Lines of a trace after the filter install, per syscall name, whose result is `-1 ERRNO`. */
function observedErrors(trace: string, errno: string): Map<string, number> {
  const lines = readFileSync(trace, "utf8").split("\n");
  const at = lines.findIndex((l) => /seccomp\((?:0x1|SECCOMP_SET_MODE_FILTER), .*\) = 0$/.test(l));
  const m = new Map<string, number>();
  for (const l of lines.slice(at + 1)) {
    const mm = /^\d+ +([a-z0-9_]+)\(.*= -1 (E[A-Z]+)/.exec(l);
    if (mm && mm[2] === errno) m.set(mm[1], (m.get(mm[1]) ?? 0) + 1);
  }
  return m;
}

beforeAll(() => {
  if (!why) {
    helper = seccompExec();
    haveStrace = strace();
  }
  dir = mkdtempSync(join(tmpdir(), "sf-real-"));
});

const has = (name: string) => syscallNumber(host, name) !== undefined;
/** Skip options for a recorded-run test that needs `names` on this host. */
const needs = (...names: string[]) => skipWhen(why ?? names.filter((n) => !has(n)).map((n) => `recorded-trace tests: ${host.name} has no ${n}`)[0]);

describe("recorded runs under real filters", () => {
  it("calls the kernel refused with EPERM/EACCES are exactly the ones replay reports denied", needs(), async () => {
    const perl = spawnSync("sh", ["-c", "command -v perl"]).status === 0;
    let b = policy({ arch: host.name, default: "allow" }).rule("mkdirat", [], "errno(1)");
    if (has("mkdir")) b = b.rule("mkdir", [], "errno(1)");
    b = b.rule("socket", [arg(0).dword().eq(2n)], "errno(13)"); // AF_INET
    const filter = compileIR(b.build());
    const f = saveFilter("deny.bpf", filter);
    const sock = perl ? ` perl -e 'socket(S,2,1,0) or print "inet refused\\n"; socket(T,1,1,0) and print "unix ok\\n"';` : "";
    const trace = record("deny.strace", f, `mkdir ${dir}/a 2>/dev/null; mkdir -p ${dir}/b/c 2>/dev/null; ls / >/dev/null;${sock} true`);
    const eperm = observedErrors(trace, "EPERM");
    const eacces = observedErrors(trace, "EACCES");
    const mkdirs = (eperm.get("mkdir") ?? 0) + (eperm.get("mkdirat") ?? 0);
    expect(mkdirs).toBeGreaterThanOrEqual(2); // the run did hit the filter
    if (perl) expect(eacces.get("socket")).toBe(1);

    for (const afterInstall of [true, false]) {
      const r = await replayTraces([filter], [trace], { arch: host, afterInstall });
      const denied = new Map(r.syscalls.filter((s) => s.denied).map((s) => [s.name, s.denied]));
      const want = new Map<string, number>();
      for (const [k, v] of eperm) if (k.startsWith("mkdir")) want.set(k, v);
      if (perl) want.set("socket", eacces.get("socket")!);
      expect(denied).toEqual(want);
      expect(r.totals.depends).toBe(0);
      expect(r.installs).toBe(1);
      if (afterInstall) expect(r.totals.beforeInstall).toBeGreaterThan(0); // the helper's own start-up
      // The first denied mkdir is the first EPERM mkdir line of the trace.
      const first = r.syscalls.find((s) => s.name.startsWith("mkdir") && s.denied)!.outcomes[0].first!;
      expect(first.text).toMatch(/= -1 EPERM/);
      expect(readFileSync(trace, "utf8").split("\n")[first.line - 1]).toBe(first.text);
    }
  });

  it("KILL: the process dies by SIGSYS right after the call; replay names it", needs("getppid"), async () => {
    const filter = compileIR(policy({ arch: host.name, default: "allow" }).rule("getppid", [], "kill_process").build());
    const trace = record("kill.strace", saveFilter("kill.bpf", filter), "echo $PPID");
    const lines = readFileSync(trace, "utf8").trim().split("\n");
    // docs/formats.md 7.3 expects `= ?`; strace 6.1 on Linux 6.18 prints whatever the register held.
    expect(lines[lines.length - 2]).toMatch(/^\d+ +getppid\(\)/);
    expect(lines[lines.length - 1]).toMatch(/\+\+\+ killed by SIGSYS/);
    const r = await replayTraces([filter], [trace], { arch: host, afterInstall: true });
    expect(r.syscalls.filter((s) => s.denied).map((s) => [s.name, s.outcomes[0].actions])).toEqual([["getppid", ["KILL_PROCESS"]]]);
  });

  it("TRAP: the SIGSYS line names the call replay reports denied", needs("uname"), async () => {
    const filter = compileIR(policy({ arch: host.name, default: "allow" }).rule("uname", [], "trap").build());
    const trace = record("trap.strace", saveFilter("trap.bpf", filter), "uname");
    const sigsys: string[] = [];
    await readTrace(trace, { fileIndex: 0, arch: host, sink: { event() {}, signal: (_p, _s, _f, _l, sc) => sc && sigsys.push(sc.syscall) } });
    expect(sigsys.length).toBeGreaterThan(0);
    const r = await replayTraces([filter], [trace], { arch: host, afterInstall: true });
    const denied = r.syscalls.filter((s) => s.denied);
    expect(denied.map((s) => [s.name, s.outcomes[0].actions])).toEqual([["uname", ["TRAP(0)"]]]);
    // -X raw prints si_syscall as a number or __NR_name: either way it is uname's.
    for (const s of sigsys) expect([String(syscallNumber(host, "uname")), "uname"]).toContain(s);
  });

  it("a pointer the trace hides gives `depends`; the same run under -e raw=all decides it", needs("openat"), async () => {
    // Refuses openat whose path pointer is NULL: never true in a real run, but the filter looks
    // at a value strace prints as a string.
    const filter = compileIR(policy({ arch: host.name, default: "allow" }).rule("openat", [arg(1).eq(0n)], "errno(14)").build());
    const f = saveFilter("ptr.bpf", filter);
    const dec = await replayTraces([filter], [record("ptr.strace", f, "cat /etc/hostname >/dev/null")], { arch: host, afterInstall: true });
    const openat = dec.syscalls.find((s) => s.name === "openat")!;
    expect(openat.depends).toBeGreaterThan(0);
    expect(openat.outcomes.find((o) => o.kind === "depends")).toMatchObject({ dependsOn: ["arg1"], exact: true });
    const raw = await replayTraces([filter], [record("ptr-raw.strace", f, "cat /etc/hostname >/dev/null", ["-e", "raw=all"])], { arch: host, afterInstall: true });
    const o2 = raw.syscalls.find((s) => s.name === "openat")!;
    expect([o2.depends, o2.denied]).toEqual([0, 0]);
    expect(o2.allowed).toBeGreaterThan(0);
  });
});

describe("the corpus strace of QEMU booting a guest", () => {
  it("against Firecracker's vmm filter: replay equals deciding every call on its own", async () => {
    const trace = corpusPath("traces", "qemu-tcg-boot.strace.txt");
    const fc = corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json");
    const x86_64 = findArch("x86_64")!;
    const program = compilePolicyText(readFileSync(fc, "utf8"), fc, { arch: x86_64, thread: "vmm" }).programs[0].program;
    const r = await replayTraces([program], [trace], { arch: x86_64 });
    expect(r.totals.events).toBe(4366); // docs/evidence.md §11: 4,366 calls
    expect(r.syscalls.length).toBe(46); // docs/evidence.md: 46 distinct syscalls
    // Every call decided on its own, every argument decoded (no lazy decoding, no cache).
    const decider = SymbolicDecider.create([program]);
    if (decider instanceof Inconclusive) throw new Error(decider.reason);
    const want = new Map<string, [number, number, number]>();
    await readTrace(trace, {
      fileIndex: 0, arch: x86_64,
      sink: {
        event(ev: TraceEvent) {
          const w = new Uint32Array(16);
          w[0] = ev.nr;
          w[1] = x86_64.token;
          let unknown = 0;
          for (let i = 0; i < 7; i++) {
            const known = ev.known & (1 << i);
            w[2 + 2 * i] = ev.vals[2 * i];
            w[3 + 2 * i] = ev.vals[2 * i + 1];
            if (!known) unknown |= 3 << (2 + 2 * i);
          }
          const d = decider.decide(w, unknown & decider.relevantWords(x86_64.token, ev.nr));
          const a = d.rets.map(allows);
          const c = want.get(ev.name) ?? [0, 0, 0];
          c[a.every((x) => x) ? 0 : a.some((x) => x) ? 2 : 1]++;
          want.set(ev.name, c);
        },
      },
    });
    for (const s of r.syscalls) expect([s.allowed, s.denied, s.depends], s.name).toEqual(want.get(s.name));
    // The probe fallback reaches the same counts on this trace (every value the filter looks
    // at is shown, or compared as a raw word).
    const probed = await replayTraces([program], [trace], { arch: x86_64, decider: "probe" });
    expect(probed.method).toBe("probe");
    for (const s of probed.syscalls) expect([s.allowed, s.denied, s.depends], `probe: ${s.name}`).toEqual(want.get(s.name));
    // A few facts worth pinning: file opening is not in Firecracker's vmm filter; futex with
    // FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME is not among its futex ops.
    expect(r.syscalls.find((s) => s.name === "openat")).toMatchObject({ allowed: 0, denied: 75 });
    expect(r.syscalls.find((s) => s.name === "futex")!.denied).toBe(5);
  });
});
