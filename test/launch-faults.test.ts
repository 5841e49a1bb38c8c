// Faults: repeated launches leave nothing behind; the launcher dies with its parent; corrupted
// filter bytes, TSYNC failures and missing programs are reported precisely.
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, type LaunchOptions } from "../src/launch/index.js";
import { cgroupV1Mount, cgroupV2Mount, ownCgroups } from "../src/launch/cgroup.js";
import { jailArgs } from "../src/launch/jail.js";
import {
  LAUNCHER, launcherSkipReason, rootSkipReason, denyFilter, allowAll, within, waitUntil, pidAlive, openFds, zombieChildren, mountCount, collect,
} from "./fixtures/launch/support.js";

const why = launcherSkipReason();

/** Runs the launcher binary directly, writing `filter` on descriptor 3. */
function runLauncher(args: string[], filter?: Uint8Array, opts: { statusFd?: boolean } = {}): Promise<{ code: number | null; signal: string | null; out: string; err: string; status: string }> {
  const c = spawn(LAUNCHER, args, { stdio: ["ignore", "pipe", "pipe", filter ? "pipe" : "ignore", opts.statusFd ? "pipe" : "ignore"] });
  if (filter) {
    const w = c.stdio[3] as NodeJS.WritableStream & { on: (e: string, f: () => void) => void };
    w.on("error", () => undefined);
    w.end(Buffer.from(filter));
  }
  const out = collect(c.stdout);
  const err = collect(c.stderr);
  const status = opts.statusFd ? collect(c.stdio[4] as NodeJS.ReadableStream) : Promise.resolve("");
  return within(new Promise((res) => {
    c.on("exit", async (code, signal) => res({ code, signal, out: await out, err: await err, status: await status }));
  }), 10_000, `launcher ${args.join(" ")}`);
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function ourCgroups(): string[] {
  const prefix = `sysfence-${process.pid}-`;
  const own = ownCgroups();
  const dirs: string[] = [];
  const v2 = cgroupV2Mount();
  if (v2) dirs.push(join(v2.mountpoint, own.get("") ?? "/"));
  for (const c of ["memory", "pids", "cpu", "cpuset"]) {
    const m = cgroupV1Mount(c);
    if (m) dirs.push(join(m.mountpoint, own.get(c) ?? "/"));
  }
  return dirs.flatMap((d) => {
    try {
      return readdirSync(d).filter((n) => n.startsWith(prefix)).map((n) => join(d, n));
    } catch {
      return [];
    }
  });
}

describe("launch faults", skipWhen(why), () => {
  it("200 launches leave no descriptors, cgroups, mounts, zombies or processes behind", async (ctx) => {
    const root = rootSkipReason();
    if (root) ctx.skip(root);
    const work = mkdtempSync(join(tmpdir(), "sysfence-200-"));
    const kinds: Partial<LaunchOptions>[] = [
      { filter: denyFilter(["ptrace"]) },
      { filter: denyFilter(["ptrace"]), jail: { userns: true, tmp: true, cgroup: { pidsMax: 64 } } },
      { filter: denyFilter(["ptrace"]), jail: { pidns: true, cgroup: { pidsMax: 64 }, dieWithParent: true } },
      { filter: denyFilter(["ptrace"]), diagnose: "notify", jail: { binds: [{ src: "/usr" }, { src: "/bin" }, { src: "/lib" }, { src: "/lib64" }].filter((b) => existsSync(b.src)), dev: true, proc: true } },
      { filter: denyFilter(["ptrace"]), jail: { jailRoot: { base: work, id: "vm-1" }, binds: [{ src: "/usr" }, { src: "/bin" }, { src: "/lib" }, { src: "/lib64" }].filter((b) => existsSync(b.src)) } },
    ];
    // Warm up (Node opens its own descriptors lazily), then take the baseline.
    await within(launch({ argv: ["/bin/true"], stdio: "ignore", ...kinds[1] }).exit, 10_000, "warm-up");
    const fds0 = openFds().length;
    const mounts0 = mountCount();
    const pids: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 200; i++) {
      const h = launch({ argv: ["/bin/true"], stdio: "ignore", ...kinds[i % kinds.length] });
      pids.push(h.pid);
      if (h.vmmPid) pids.push(h.vmmPid);
      const r = await within(h.exit, 10_000, `launch ${i}`);
      if (r.vmmPid) pids.push(r.vmmPid);
      expect(r.error).toBeUndefined();
      expect(r.code).toBe(0);
      expect(r.leftovers).toEqual([]);
    }
    const ms = Date.now() - t0;
    console.log(`[info] 200 launches (5 kinds) in ${ms} ms, ${(ms / 200).toFixed(1)} ms each`);
    expect(openFds().length).toBe(fds0);
    expect(mountCount()).toBe(mounts0);
    expect(ourCgroups()).toEqual([]);
    expect(zombieChildren()).toEqual([]);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("SIGKILL of the launcher's parent kills the program (exec mode)", async () => {
    const sh = spawn("/bin/sh", ["-c", `${LAUNCHER} --die-with-parent --parent-pid $$ -- sleep 100 & echo $!; wait`], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await within(new Promise<string>((res) => sh.stdout!.once("data", (d: Buffer) => res(d.toString()))), 5000, "pid");
    const vmm = Number(line.trim());
    await waitUntil(() => {
      try {
        return /sleep/.test(readFileSync(`/proc/${vmm}/comm`, "utf8"));
      } catch {
        return false;
      }
    }, 5000, "sleep to start");
    sh.kill("SIGKILL");
    await waitUntil(() => !pidAlive(vmm), 5000, `pid ${vmm} to die with its parent`);
  });

  it("SIGKILL of the launcher's parent kills the program (PID namespace, supervisor)", async () => {
    const sh = spawn("/bin/sh", ["-c", `${LAUNCHER} --die-with-parent --parent-pid $$ --pidns --status-fd 5 5>&1 -- sleep 100 & wait`], { stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    const vmm = await within(new Promise<number>((res) => sh.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /^P (\d+)$/m.exec(buf);
      if (m) res(Number(m[1]));
    })), 5000, "P line");
    await waitUntil(() => pidAlive(vmm), 5000, "vmm");
    sh.kill("SIGKILL");
    await waitUntil(() => !pidAlive(vmm), 5000, `pid ${vmm} to die with the launcher's parent`);
  });

  it("die-with-parent is race-free: a parent that is already gone stops the launch", async () => {
    const r = await runLauncher(["--die-with-parent", "--parent-pid", "1", "--", "/bin/echo", "should-not-run"]);
    expect(r.code).toBe(125);
    expect(r.out).toBe("");
    expect(jailArgs({ dieWithParent: true }, { parentPid: 4242 })).toEqual(["--die-with-parent", "--parent-pid", "4242"]);
  });

  it("corrupted filter bytes are refused (SHA-256, truncation, extra bytes)", async () => {
    const good = allowAll().bytes;
    const bad = new Uint8Array(good);
    bad[7] ^= 0x40;
    const r = await runLauncher(["--filter-fd", "3", "--filter", `${good.length}:${sha(good)}`, "--", "/bin/echo", "ran"], bad);
    expect(r.code).toBe(125);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/does not match its pinned SHA-256 .*refusing corrupted filter bytes/);
    const twice = new Uint8Array([...good, ...good]);
    const t = await runLauncher(["--filter-fd", "3", "--filter", `${twice.length}:${sha(twice)}`, "--", "/bin/echo", "ran"], good);
    expect(t.err).toMatch(/truncated: the host pinned 16 bytes, the descriptor gave 8/);
    const e = await runLauncher(["--filter-fd", "3", "--filter", `${good.length}:${sha(good)}`, "--", "/bin/echo", "ran"], twice);
    expect(e.err).toMatch(/more bytes than the 1 pinned filter/);
    const s = await runLauncher(["--filter-fd", "3", "--filter", `12:${sha(good)}`, "--", "/bin/echo", "ran"], good);
    expect(s.err).toMatch(/steps of 8/);
    // Through the status descriptor the host gets a parsed error line.
    const st = await runLauncher(["--status-fd", "4", "--filter-fd", "3", "--filter", `${good.length}:${sha(good)}`, "--", "/bin/echo", "ran"], bad, { statusFd: true });
    expect(st.status).toMatch(/^E 125 - filter\tfilter 1 does not match/m);
  });

  it("a TSYNC failure names the thread", async () => {
    const f = allowAll().bytes;
    const r = await runLauncher(["--fault-tsync", "--filter-fd", "3", "--filter", `${f.length}:${sha(f)}`, "--", "/bin/echo", "ran"], f);
    expect(r.code).toBe(125);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/TSYNC failed: thread \d+ \(sf-fault-tsync\)/);
  });

  it("a missing program gives ENOENT with its path, also inside a new root", async () => {
    const r = await runLauncher(["--", "/opt/nowhere/firecracker"]);
    expect(r.code).toBe(127);
    expect(r.err).toMatch(/exec: \/opt\/nowhere\/firecracker: No such file or directory/);
    if (process.getuid?.() === 0) {
      const h = launch({ argv: ["/usr/bin/qemu-system-x86_64"], jail: { binds: [{ src: "/etc" }] }, stdio: "ignore" });
      const res = await within(h.exit, 5000, "exit");
      expect(res.code).toBe(127);
      expect(res.error?.errno).toBe("ENOENT");
      expect(res.error?.message).toContain("/usr/bin/qemu-system-x86_64");
    }
  });
});
