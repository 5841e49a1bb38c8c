// Audit logs in their three forms (auditd raw, syslog/dmesg, ausearch -i), SECCOMP+SYSCALL
// merging, and a real record captured from this kernel's log.
import { describe, it, expect } from "vitest";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { repoRoot } from "./support/corpus.js";
import { readTrace } from "../src/traces/reader.js";
import { KNOWN_IP, type TraceEvent } from "../src/traces/event.js";
import { findArch, hostArch, syscallNumber } from "../src/syscalls/index.js";
import { policy } from "../src/policy/builder.js";
import { compileIR } from "../src/policy/compile.js";
import { writeRaw } from "../src/formats/raw.js";
import { replayTraces } from "../src/replay/index.js";
import { seccompExec, seccompExecWhy } from "./fixtures/traces/native.js";
import { skipWhen } from "./support/skip.js";
import type { InputError } from "../src/errors.js";

const fx = (name: string) => join(repoRoot, "test/fixtures/traces", name);
const x86_64 = findArch("x86_64")!;

/** The one line the CLI would print for the error a promise rejects with. */
async function oneLine(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as InputError).oneLine();
  }
  return "no error";
}

async function events(file: string) {
  const out: { line: number; pid: number; arch: string; name: string; nr: number; args: (bigint | undefined)[]; ip?: bigint }[] = [];
  const s = await readTrace(file, {
    fileIndex: 0, arch: x86_64,
    sink: {
      event: (ev: TraceEvent) =>
        out.push({
          line: ev.line, pid: ev.pid, arch: ev.arch.name, name: ev.name, nr: ev.nr,
          args: [0, 1, 2, 3, 4, 5].map((i) => ev.arg(i)),
          ip: ev.known & KNOWN_IP ? (BigInt(ev.vals[1]) << 32n) | BigInt(ev.vals[0]) : undefined,
        }),
    },
  });
  return { out, s };
}

describe("audit records", () => {
  it("auditd raw log: SECCOMP records, a SYSCALL+SECCOMP pair merged, x32 and aarch64, ENRICHED", async () => {
    const { out, s } = await events(fx("audit-raw.log"));
    expect(s.format).toBe("audit");
    expect(out.map((e) => [e.line, e.arch, e.name])).toEqual([
      [1, "x86_64", "close"], [2, "x86_64", "socket"], [5, "x32", "write"], [6, "aarch64", "msync"], [7, "x86_64", "getpid"],
    ]);
    expect(out[0]).toMatchObject({ pid: 2039886, ip: 0x7f62dce3d4c7n, args: [undefined, undefined, undefined, undefined, undefined, undefined] });
    // SYSCALL gives a0-a3 (hex without 0x), SECCOMP of the same serial gives the ip.
    expect(out[1].args).toEqual([2n, 0x80001n, 0n, 0x7ffd1234n, undefined, undefined]);
    expect(out[1].ip).toBe(0x7f62dce3d500n);
    expect(out[2].nr).toBe(0x40000001);
    expect(s.stats.other).toBe(1); // PROCTITLE
  });

  it("syslog and dmesg forms; unrelated kernel lines are skipped", async () => {
    const { out, s } = await events(fx("audit-syslog.log"));
    expect(out.map((e) => [e.pid, e.name, e.ip])).toEqual([[4709, "rt_sigaction", 0x7f3c012e467bn], [22805, "exit_group", 0x7fcd52be9829n]]);
    expect(s.stats.other).toBe(2);
  });

  it("ausearch -i: names for arch and syscall, symbolic a0-a3", async () => {
    const { out } = await events(fx("audit-ausearch.log"));
    expect(out.map((e) => e.name)).toEqual(["ptrace", "openat"]);
    expect(out[1].args).toEqual([0xffffffffffffff9cn, 0x55d0c0a1b2c3n, 0x80000n, 0n, undefined, undefined]);
  });

  it("errors name the file and line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-audit-"));
    writeFileSync(join(dir, "a.log"), "type=SECCOMP msg=audit(1.0:1): pid=1 arch=c000003e syscall=ptrace code=0x0\ntype=SECCOMP msg=audit(1.0:2): pid=1 arch=c000003e syscall=nosuchcall code=0x0\n");
    expect(await oneLine(events(join(dir, "a.log")))).toBe(`${dir}/a.log:2: unknown syscall "nosuchcall" for arch x86_64`);
    writeFileSync(join(dir, "b.log"), "type=SECCOMP msg=audit(1.0:1): pid=1 arch=c000003e syscall=1 code=0x0\ntype=SECCOMP msg=audit(1.0:2): pid=1 code=0x0\n");
    expect(await oneLine(events(join(dir, "b.log")))).toBe(`${dir}/b.log:2: a type=SECCOMP record without arch= and syscall=`);
    writeFileSync(join(dir, "c.log"), "type=SECCOMP msg=audit(1.0:1): pid=1 arch=deadbeef syscall=1 code=0x0\n");
    expect(await oneLine(events(join(dir, "c.log")))).toBe(`${dir}/c.log:1: unknown arch "0xdeadbeef"`);
  });
});

describe("a record this kernel logged", () => {
  const host = hostArch();
  const noCalls = syscallNumber(host, "getppid") === undefined || syscallNumber(host, "uname") === undefined;
  const why = seccompExecWhy() ?? (noCalls ? `kernel audit test: ${host.name} has no getppid or uname` : undefined);
  it("LOG and ERRNO records from dmesg replay as allowed and denied", skipWhen(why), async (ctx) => {
    const helper = seccompExec();
    const probe = spawnSync("dmesg", [], { encoding: "utf8" });
    if (probe.status !== 0) ctx.skip(`kernel audit test: cannot read the kernel log (dmesg: ${probe.stderr.trim()})`);
    const dir = mkdtempSync(join(tmpdir(), "sf-kaudit-"));
    const filter = compileIR(policy({ arch: host.name, default: "allow" }).rule("getppid", [], "log").rule("uname", [], "errno(38)").build());
    writeFileSync(join(dir, "f.bpf"), writeRaw(filter, host.endian));
    // A name no other process uses, so the records are ours: sh running a copy of uname.
    const tag = `sf${process.pid}${Math.floor(Math.random() * 0xffff).toString(16)}`.slice(0, 15); // TASK_COMM_LEN
    spawnSync("cp", [spawnSync("sh", ["-c", "command -v uname"], { encoding: "utf8" }).stdout.trim(), join(dir, tag)]);
    // The kernel rate-limits audit lines in its log (other tests' filters kill thousands of
    // processes): try a few times, a few seconds apart, before giving up.
    let lines: string[] = [];
    for (let attempt = 0; attempt < 4 && lines.length === 0; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 2500));
      const run = spawnSync(helper, ["-l", join(dir, "f.bpf"), "sh", "-c", `${join(dir, tag)}; true`], { encoding: "utf8" });
      expect(run.stderr).toMatch(/Function not implemented/); // uname(2) got ENOSYS from the filter
      for (let i = 0; i < 20 && lines.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        // The kernel log is a ring buffer (often full): find the records by their unique comm.
        const now = spawnSync("dmesg", [], { encoding: "utf8" }).stdout.split("\n");
        lines = now.filter((l) => l.includes(`comm="${tag}"`));
      }
    }
    if (lines.length === 0) ctx.skip("kernel audit test: no audit record reached the kernel log (rate-limited, or auditd consumes them)");
    writeFileSync(join(dir, "kern.log"), lines.join("\n") + "\n");
    const { out } = await events(join(dir, "kern.log"));
    expect(out.some((e) => e.name === "uname" && e.ip !== undefined)).toBe(true);
    const r = await replayTraces([filter], [join(dir, "kern.log")], { arch: host });
    const uname = r.syscalls.find((s) => s.name === "uname")!;
    expect(uname.denied).toBeGreaterThan(0);
    expect(uname.outcomes[0].actions).toEqual(["ERRNO(38)"]);
  });
});
