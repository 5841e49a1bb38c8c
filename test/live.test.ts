// Live filters on real processes: a C target whose main thread and second thread hold
// different stacks (TSYNC off for the second), read back with ptrace through `readLiveFilters`,
// `sysfence dump`, `sysfence ps` and `pid:` FILTER specs; every refusal this machine can produce.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readLiveFilters, listProcesses, stackHash } from "../src/live/index.js";
import { loadFilters } from "../src/formats/detect.js";
import { assemble } from "../src/text/asm.js";
import { writeRaw } from "../src/formats/raw.js";
import { hostArch } from "../src/syscalls/arches.js";
import { EnvironmentError } from "../src/errors.js";
import { runCli, bin } from "./support/cli.js";
import { repoRoot } from "./support/corpus.js";
import { skipReason, startTarget, threadState, work, type Target } from "./fixtures/live/support.js";

const why = skipReason();
if (why) console.warn(`[skip] live filters: ${why}`);

const arch = hostArch().name;
// A denies mkdirat with EPERM, B denies unlinkat with ENOENT; everything else (what the
// target needs: read, futex, pause, exit) is allowed.
const head = `.arch ${arch}\nld arch\njeq #${hostArch().tokenName}, next, allow\nld nr\n`;
const A = assemble(`${head}jeq #mkdirat, deny\nallow: ret ALLOW\ndeny: ret ERRNO(1)`);
const B = assemble(`${head}jeq #unlinkat, deny\nallow: ret ALLOW\ndeny: ret ERRNO(2)`);
// What the second thread's stack [A, B] does, as one filter.
const AB = assemble(`${head}jeq #mkdirat, eperm\njeq #unlinkat, enoent\nallow: ret ALLOW\neperm: ret ERRNO(1)\nenoent: ret ERRNO(2)`);

function file(name: string, bytes: Uint8Array | string): string {
  const f = join(work, name);
  writeFileSync(f, bytes);
  return f;
}

/** The target is running (not in a ptrace stop) and has no tracer. */
function expectReleased(t: Target): void {
  for (const tid of [t.pid, t.tid]) {
    const s = threadState(t.pid, tid);
    expect(s.tracer).toBe(0);
    expect(s.state).not.toBe("t");
    expect(s.state).not.toBe("T");
  }
}

describe.skipIf(why)("live filters of a multi-threaded process", () => {
  let t: Target;
  let fa: string, fb: string, fab: string;
  beforeAll(async () => {
    t = await startTarget("threads", [A, B]);
    fa = file("a.bpf", writeRaw(A));
    fb = file("b.bpf", writeRaw(B));
    fab = file("ab.bpf", writeRaw(AB));
  });
  afterAll(() => t?.stop());

  it("readLiveFilters: per-thread stacks, oldest first, flags, grouped by content", () => {
    const p = readLiveFilters(t.pid);
    expect(p.pid).toBe(t.pid);
    expect(p.name).toBe("stacks");
    expect(p.tids.sort()).toEqual([t.pid, t.tid].sort());
    expect(p.sharedByGroup).toBe(false);
    expect(p.stacks).toHaveLength(2);
    const main = p.stacks.find((s) => s.tids.includes(t.pid))!;
    const second = p.stacks.find((s) => s.tids.includes(t.tid))!;
    expect(main.filters.map((f) => f.program.equals(A))).toEqual([true]);
    expect(main.filters[0].flags).toEqual(["LOG"]);
    expect(second.filters.map((f) => [f.index, f.flags, f.program.equals(f.index === 0 ? A : B)])).toEqual([
      [0, ["LOG"], true],
      [1, [], true],
    ]);
    expect(main.hash).toBe(stackHash(main.filters));
    expect(main.hash).not.toBe(second.hash);
    expectReleased(t);
  });

  it("readLiveFilters with a tid reads that thread only", () => {
    const p = readLiveFilters(t.pid, { tid: t.tid });
    expect(p.tids).toEqual([t.tid]);
    expect(p.sharedByGroup).toBeUndefined();
    expect(p.stacks[0].filters.map((f) => f.program.length)).toEqual([A.length, B.length]);
    expect(() => readLiveFilters(t.pid, { tid: 1 })).toThrow(EnvironmentError);
    expectReleased(t);
  });

  it("the target keeps running through repeated reads (its stdin loop still answers)", () => {
    for (let i = 0; i < 50; i++) readLiveFilters(t.pid);
    expectReleased(t);
    expect(t.child.exitCode).toBeNull();
  });

  it("dump: summary, and files in every format that load back to the same bytes", () => {
    const r = runCli(work, ["dump", String(t.pid)]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^process ${t.pid} \\(stacks\\): 2 threads read, 2 distinct stacks \\(not shared by the thread group\\)`));
    expect(r.out).toContain(`thread ${t.tid}: 2 filters, oldest first`);
    expect(r.out).toMatch(/filter 0 \(oldest\): 6 instructions, flags LOG/);
    expect(r.out).toMatch(/filter 1 \(newest\): 6 instructions, flags none/);
    for (const format of ["raw", "bincode", "c", "json"]) {
      const dir = join(work, `dump-${format}`);
      const d = runCli(work, ["dump", `${t.pid}/${t.tid}`, "-o", dir, "--format", format]);
      expect(d.code, d.err).toBe(0);
      const names = readdirSync(dir).sort();
      const loaded = names.flatMap((n) => loadFilters(join(dir, n)));
      expect(loaded.map((f) => f.program.equals(A) ? "A" : f.program.equals(B) ? "B" : "?")).toEqual(["A", "B"]);
    }
    const dis = runCli(work, ["dump", String(t.pid), "--format", "disasm"]);
    expect(dis.out).toContain("jeq #unlinkat");
    const js = JSON.parse(runCli(work, ["dump", String(t.pid), "--format", "json"]).out);
    expect(js.stacks.map((s: { filters: unknown[] }) => s.filters.length).sort()).toEqual([1, 2]);
    expectReleased(t);
  });

  it("pid: specs in check, run, verify equal/stack/diff/lint, explain and the spec file", () => {
    const main = `pid:${t.pid}`;
    const second = `pid:${t.pid}/${t.tid}`;
    expect(runCli(work, ["check", second]).out).toBe(`${second}[0]: ok (6 instructions)\n${second}[1]: ok (6 instructions)\n`);
    const run = runCli(work, ["run", second, "--syscall", "unlinkat"]);
    expect(run.out).toMatch(/ERRNO\(2\)/);
    expect(runCli(work, ["verify", "equal", main, fa]).code).toBe(0);
    const ne = runCli(work, ["verify", "equal", main, fb]);
    expect(ne.code).toBe(1);
    expect(ne.out).toContain("does not hold");
    // The second thread's stack as the kernel combines it.
    expect(runCli(work, ["verify", "equal", second, fab]).out).toContain(`stack(${second}) = ${fab}: holds`);
    expect(runCli(work, ["verify", "stack", second, "--equals", fab]).code).toBe(0);
    expect(runCli(work, ["verify", "stack", second, "--equals", fa]).code).toBe(1);
    const diff = runCli(work, ["verify", "diff", main, fab]);
    expect(diff.code).toBe(1);
    expect(diff.out).toMatch(/unlinkat \(\d+\): A ALLOW, B ERRNO\(2\)$/m);
    // One filter of a stack needs N@.
    const many = runCli(work, ["explain", second]);
    expect(many.code).toBe(2);
    expect(many.err).toContain(`is a stack of 2 filters: pick one with N@${second}`);
    expect(runCli(work, ["explain", `1@${second}`]).code).toBe(0);
    expect(runCli(work, ["verify", "lint", `0@${second}`]).code).not.toBe(2);
    const spec = file("live.verify.json", JSON.stringify({
      arch, assertions: [{ stack: [second], equals: "ab.bpf" }, { equal: [main, "a.bpf"] }],
    }));
    const s = runCli(work, ["verify", "--spec", spec]);
    expect(s.code, s.out + s.err).toBe(0);
    expectReleased(t);
  });

  it("ps: mode, filters, no_new_privs, a stack hash equal to dump's, name, cgroup; --json", () => {
    const js = JSON.parse(runCli(work, ["ps", "--pid", String(t.pid), "--json"]).out);
    const row = js.processes[0];
    expect(row).toMatchObject({ pid: t.pid, name: "stacks", mode: "filter", filters: 1, noNewPrivs: true });
    expect(row.hash).toBe(readLiveFilters(t.pid, { tid: t.pid }).stacks[0].hash);
    expect(row.cgroup).toBe(readFileSync(`/proc/${t.pid}/cgroup`, "utf8").trim().split("\n").find((l) => l.startsWith("0::"))?.slice(3) ?? row.cgroup);
    const text = runCli(work, ["ps"]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(new RegExp(`^${t.pid}\\s+filter\\s+1\\s+yes\\s+${row.hash}\\s+stacks`, "m"));
    expect(listProcesses({ hash: false }).find((r) => r.pid === t.pid)?.hash).toBeNull();
    expectReleased(t);
  });

  it("SIGINT of sysfence at any moment leaves the target running and untraced", async () => {
    for (let i = 0; i < 8; i++) {
      const c = spawn(process.execPath, [bin, "dump", String(t.pid)], { stdio: "ignore" });
      // Listen before the wait: on a quiet machine the dump may finish before the signal.
      const exited = new Promise((r) => c.on("exit", r));
      await new Promise((r) => setTimeout(r, 40 + 25 * i));
      c.kill("SIGINT");
      await exited;
    }
    expectReleased(t);
  });
});

describe.skipIf(why)("refusals (exit 4 with the reason)", () => {
  it("a process that does not exist", () => {
    const r = runCli(work, ["dump", "1073741823"]);
    expect(r.code).toBe(4);
    expect(r.err).toBe("sysfence: process 1073741823 does not exist (or has exited)\n");
    expect(runCli(work, ["check", "pid:1073741823"]).code).toBe(4);
  });

  it("a process that has exited (a zombie)", async () => {
    // sh forks `true` and execs a sleep that never reaps it.
    const c = spawn("/bin/sh", ["-c", "true & exec sleep 30"], { stdio: "ignore" });
    let zombie: number | undefined;
    for (let i = 0; i < 200 && zombie === undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
      for (const p of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
        try {
          const s = readFileSync(`/proc/${p}/status`, "utf8");
          if (/^PPid:\s*(\d+)/m.exec(s)?.[1] === String(c.pid) && /^State:\s*Z/m.test(s)) zombie = Number(p);
        } catch { /* gone */ }
      }
    }
    try {
      expect(zombie).toBeDefined();
      const r = runCli(work, ["dump", String(zombie)]);
      expect(r.code).toBe(4);
      expect(r.err).toContain(`process ${zombie} has exited`);
    } finally {
      c.kill("SIGKILL");
    }
  });

  it("strict mode", async () => {
    const t = await startTarget("strict");
    try {
      // Wait until the target has entered strict mode.
      for (let i = 0; i < 200 && !/^Seccomp:\s*1/m.test(readFileSync(`/proc/${t.pid}/status`, "utf8")); i++) await new Promise((r) => setTimeout(r, 10));
      const r = runCli(work, ["dump", String(t.pid)]);
      expect(r.code).toBe(4);
      expect(r.err).toContain("is in strict seccomp mode");
      expect(runCli(work, ["ps", "--pid", String(t.pid), "--json"]).out).toContain('"mode":"strict"');
    } finally {
      t.stop();
    }
  });

  it("without CAP_SYS_ADMIN, in a rootless user namespace, and under seccomp", async () => {
    const t = await startTarget("threads", [A, B]);
    try {
      const args = [bin, "dump", String(t.pid)];
      const noCap = spawnSync("setpriv", ["--bounding-set=-sys_admin", "--inh-caps=-sys_admin", process.execPath, ...args], { encoding: "utf8" });
      if (noCap.error) console.warn(`[partial] no setpriv: ${noCap.error.message}`);
      else {
        expect(noCap.status).toBe(4);
        expect(noCap.stderr).toMatch(/needs root or CAP_SYS_ADMIN/);
      }
      const userns = spawnSync("unshare", ["--user", "--map-root-user", process.execPath, ...args], { encoding: "utf8" });
      if (userns.error || /unshare failed/.test(userns.stderr)) console.warn(`[partial] no user namespaces: ${userns.error?.message ?? userns.stderr}`);
      else {
        expect(userns.status).toBe(4);
        expect(userns.stderr).toMatch(/runs in a user namespace \(rootless\)/);
      }
      const filtered = spawnSync(process.execPath, [join(repoRoot, "test", "fixtures", "live", "under-seccomp.mjs"), "dump", String(t.pid)], { encoding: "utf8" });
      expect(filtered.status).toBe(4);
      expect(filtered.stderr).toMatch(/sysfence itself runs under seccomp/);
      expectReleased(t);
    } finally {
      t.stop();
    }
  });

  it("bad PID text is bad input (exit 2)", () => {
    expect(runCli(work, ["dump", "12x"]).code).toBe(2);
    expect(runCli(work, ["dump", "pid"]).err).toContain('expected PID or PID/TID, not "pid"');
    expect(runCli(work, ["dump", "1", "--format", "raw"]).code).toBe(2);
  });
});
