// Jail options, one by one, as root: each is off by default and does what it says, checked from
// inside the jailed program.
import { describe, it, expect, afterAll } from "vitest";
import { skipWhen } from "./support/skip.js";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, type LaunchOptions } from "../src/launch/index.js";
import { numaNodes } from "../src/launch/cgroup.js";
import { InputError } from "../src/errors.js";
import { rootSkipReason, denyFilter, collect, within } from "./fixtures/launch/support.js";

const why = rootSkipReason();
const work = mkdtempSync(join(tmpdir(), "sysfence-jail-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a shell script in a jail; returns exit code, stdout and stderr. */
async function sh(script: string, o: Partial<LaunchOptions> = {}): Promise<{ code: number | null; signal: string | null; out: string; err: string; h: ReturnType<typeof launch> }> {
  const h = launch({ filter: denyFilter(["kexec_load"]), argv: ["/bin/sh", "-c", script], stdio: ["ignore", "pipe", "pipe"], ...o });
  const out = collect(h.stdout);
  const err = collect(h.stderr);
  const r = await within(h.exit, 10_000, `exit of: ${script}`);
  if (r.error) throw r.error;
  return { code: r.code, signal: r.signal, out: await out, err: await err, h };
}

const SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc"].filter((p) => existsSync(p)).map((src) => ({ src }));

describe("jail options", skipWhen(why), () => {
  it("defaults: no option changes anything (same namespaces, uid, caps)", async () => {
    const r = await sh("readlink /proc/self/ns/user /proc/self/ns/pid /proc/self/ns/mnt; grep CapEff /proc/self/status");
    const mine = ["user", "pid", "mnt"].map((n) => readlinkSync(`/proc/self/ns/${n}`));
    expect(r.out.split("\n").slice(0, 3)).toEqual(mine);
    expect(r.out).not.toMatch(/CapEff:\s+0{16}/);
  });

  it("user namespace with uid/gid maps", async () => {
    const r = await sh("cat /proc/self/uid_map /proc/self/gid_map; id -u", {
      jail: { userns: true, uidMap: [{ inside: 0, outside: 100000, count: 65536 }], gidMap: [{ inside: 0, outside: 100000, count: 65536 }] },
    });
    const lines = r.out.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(lines).toEqual(["0 100000 65536", "0 100000 65536", "0"]);
    const d = await sh("cat /proc/self/uid_map", { jail: { userns: true } });
    expect(d.out.trim().split(/\s+/)).toEqual(["0", "0", "1"]);
  });

  it("user + PID namespaces together (maps written by the supervisor)", async () => {
    const r = await sh("echo $$; cat /proc/self/uid_map; id -u", { jail: { userns: true, pidns: true, uidMap: [{ inside: 0, outside: 200000, count: 1000 }], gidMap: [{ inside: 0, outside: 200000, count: 1000 }] } });
    const [pid, map, uid] = r.out.trim().split("\n");
    expect(uid).toBe("0");
    expect(pid).toBe("2");
    expect(map.trim().split(/\s+/)).toEqual(["0", "200000", "1000"]);
  });

  it("PID namespace: a minimal PID 1, /proc remounted, exits as soon as the program exits", async () => {
    const t0 = Date.now();
    const r = await sh("echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'; sleep 60 & exit 4", { jail: { pidns: true } });
    const [pid, init, count] = r.out.trim().split("\n");
    expect(pid).toBe("2");
    expect(init).toBe("sysfence-init");
    expect(Number(count)).toBeLessThanOrEqual(4); // init, sh, ls, grep
    expect(r.code).toBe(4);
    expect(Date.now() - t0).toBeLessThan(5000); // the background sleep did not keep it alive
    expect(r.h.mode).toBe("supervisor");
    expect(r.h.vmmPid).not.toBe(r.h.pid);
  });

  it("PID namespace: a signal death is mirrored by the launcher", async () => {
    const r = await sh("kill -USR1 $$", { jail: { pidns: true } });
    expect(r.signal).toBe("SIGUSR1");
  });

  it("mount namespace: read-only binds and pivot_root into a fresh root", async () => {
    const r = await sh("ls /; touch /usr/sysfence-x 2>&1; echo; ls /dev; cat /proc/self/mountinfo | wc -l", {
      jail: { binds: SYSTEM, dev: true, proc: true, tmp: true },
    });
    const [rootList] = r.out.split("\n\n");
    const entries = rootList.trim().split("\n");
    expect(entries).toEqual(expect.arrayContaining(["usr", "dev", "proc", "tmp"]));
    expect(entries).not.toContain("home");
    expect(entries).not.toContain("root");
    expect(r.out).toMatch(/Read-only file system/);
    expect(r.out).toMatch(/\bnull\b[\s\S]*\burandom\b/);
  });

  it("pivot_root into a prepared root with a read-write bind", async () => {
    const root = join(work, "prepared");
    mkdirSync(join(root, "data"), { recursive: true });
    writeFileSync(join(root, "marker"), "prepared\n");
    const data = join(work, "data");
    mkdirSync(data, { recursive: true });
    const r = await sh("cat /marker; echo written > /data/out; cd /; pwd", { jail: { root, binds: [...SYSTEM, { src: data, dst: "/data", mode: "rw" }] } });
    expect(r.out).toBe("prepared\n/\n");
    expect(readFileSync(join(data, "out"), "utf8")).toBe("written\n");
  });

  it("creates /dev/kvm and /dev/net/tun nodes when asked", async () => {
    const r = await sh("stat -c '%n %t:%T %F' /dev/kvm /dev/net/tun", { jail: { binds: SYSTEM, devices: ["kvm", "tun"] } });
    expect(r.out).toBe("/dev/kvm a:e8 character special file\n/dev/net/tun a:c8 character special file\n");
  });

  it("drops uid and gid", async () => {
    const r = await sh("id -u; id -g; id -G", { jail: { uid: 65534, gid: 65534 } });
    expect(r.out).toBe("65534\n65534\n65534\n");
  });

  it("clears capabilities (CapEff=0 and every other set, even as uid 0)", async () => {
    const r = await sh("grep ^Cap /proc/self/status; id -u", { jail: { clearCaps: true } });
    for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) expect(r.out).toMatch(new RegExp(`^${set}:\\s+0{16}$`, "m"));
    expect(r.out).toMatch(/^0$/m);
  });

  it("cgroup placement with memory, pids and cpu limits, removed after exit", async () => {
    const h = launch({
      filter: denyFilter([]), argv: ["/bin/sh", "-c", "cat /proc/self/cgroup; sleep 0.3"], stdio: ["ignore", "pipe", "inherit"],
      jail: { cgroup: { memoryMax: "64M", pidsMax: 32, cpuMax: "50000 100000" } },
    });
    const out = collect(h.stdout);
    await within(h.ready, 5000, "ready");
    expect(h.cgroups.length).toBeGreaterThan(0);
    const files = new Map<string, string>();
    for (const d of h.cgroups) {
      for (const f of ["memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cgroup.procs"]) {
        if (existsSync(join(d, f))) files.set(f, (files.get(f) ?? "") + readFileSync(join(d, f), "utf8").trim());
      }
    }
    expect(files.get("memory.max") ?? files.get("memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(files.get("pids.max")).toBe("32");
    if (files.has("cpu.max")) expect(files.get("cpu.max")).toBe("50000 100000");
    else expect([files.get("cpu.cfs_quota_us"), files.get("cpu.cfs_period_us")]).toEqual(["50000", "100000"]);
    expect(files.get("cgroup.procs")).toContain(String(h.pid));
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(0);
    const name = h.cgroups[0].split("/").pop()!;
    expect(await out).toContain(name);
    for (const d of h.cgroups) expect(existsSync(d)).toBe(false);
    expect(r.leftovers).toEqual([]);
  });

  it("cgroup with a PID namespace: the supervisor places and removes it", async () => {
    const h = launch({ filter: denyFilter([]), argv: ["/bin/true"], jail: { pidns: true, cgroup: { pidsMax: 16 } }, stdio: "ignore" });
    const dirs = [...h.cgroups];
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(0);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });

  it("cgroup version 2 forced where v2 lacks the controller: refused before start, naming the cause", async (ctx) => {
    const { cgroupV2Mount, v2Controllers } = await import("../src/launch/cgroup.js");
    const v2 = cgroupV2Mount();
    if (!v2 || v2Controllers(v2.mountpoint).includes("pids")) ctx.skip("forced cgroup v2: this host's cgroup v2 has the pids controller (nothing to refuse)");
    expect(() => launch({ argv: ["/bin/true"], jail: { cgroup: { pidsMax: 8, version: 2 } } })).toThrow(/has no pids controller/);
  });

  it("rlimits", async () => {
    const r = await sh("ulimit -n; ulimit -Hn; ulimit -c", { jail: { rlimits: { nofile: "64:128", core: 0 } } });
    expect(r.out).toBe("64\n128\n0\n");
  });

  it("new session", async () => {
    const field = (s: string) => s.slice(s.lastIndexOf(")") + 2).split(" ");
    const h = launch({ argv: ["cat", "/proc/self/stat"], jail: { newSession: true } });
    const out = await collect(h.stdout);
    await within(h.exit, 5000, "exit");
    expect(Number(field(out)[3])).toBe(h.pid); // session id == pid
    const h2 = launch({ argv: ["cat", "/proc/self/stat"] });
    const out2 = await collect(h2.stdout);
    await within(h2.exit, 5000, "exit");
    expect(Number(field(out2)[3])).not.toBe(h2.pid);
  });

  it("environment cleared unless passed", async () => {
    process.env.SYSFENCE_TEST_SECRET = "leak";
    try {
      const r = await sh("env | sort", { env: { FOO: "bar" }, jail: { clearEnv: true, passEnv: ["HOME"] } });
      const names = r.out.trim().split("\n").map((l) => l.split("=")[0]).filter((n) => n !== "PWD" && n !== "SHLVL" && n !== "_");
      expect(names.sort()).toEqual(["FOO", "HOME"]);
      const all = await sh("env");
      expect(all.out).toContain("SYSFENCE_TEST_SECRET=leak");
    } finally {
      delete process.env.SYSFENCE_TEST_SECRET;
    }
  });

  it("private /tmp and /dev/shm", async () => {
    const mark = join(tmpdir(), `sysfence-host-${process.pid}`);
    writeFileSync(mark, "host");
    try {
      const r = await sh(`ls ${mark} 2>&1 | grep -c 'No such'; echo in > /tmp/inside; echo shm > /dev/shm/sysfence-inside; ls /tmp /dev/shm`, { jail: { tmp: true, shm: true } });
      expect(r.out.split("\n")[0]).toBe("1");
      expect(existsSync("/dev/shm/sysfence-inside")).toBe(false);
    } finally {
      rmSync(mark, { force: true });
    }
  });

  it("Landlock: only the given paths, signals and abstract sockets scoped", async () => {
    const secret = join(work, "secret");
    writeFileSync(secret, "s");
    const r = await sh(`cat /etc/hostname >/dev/null && echo etc-ok; cat ${secret} 2>&1 | grep -c 'Permission denied'; kill -0 ${process.pid} 2>&1 | grep -c 'not permitted'; ls /usr/bin/env >/dev/null && echo usr-ok`, {
      jail: { landlock: { ro: ["/etc"], rx: ["/usr/bin", "/bin"] } },
    });
    expect(r.out).toBe("etc-ok\n1\n1\nusr-ok\n");
  });

  it("Landlock scopes abstract unix sockets to the sandbox (ABI 6+)", async (ctx) => {
    if (!existsSync("/usr/bin/python3")) ctx.skip("Landlock abstract socket scope: no python3 to connect with");
    const { createServer } = await import("node:net");
    const name = `sysfence-scope-${process.pid}`;
    const server = createServer((c) => {
      c.on("error", () => undefined);
      c.end();
    });
    await new Promise<void>((res) => server.listen(`\0${name}`, res));
    try {
      // Node binds abstract names with the whole 108-byte sun_path (NUL-padded): connect to that.
      const py = `import socket\nn=b'\\0${name}'\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect(n + b'\\0' * (108 - len(n))); print('connected')\nexcept OSError as e:\n  print(e.errno)`;
      const open = launch({ argv: ["/usr/bin/python3", "-c", py], stdio: ["ignore", "pipe", "inherit"] });
      const o1 = collect(open.stdout);
      await within(open.exit, 10_000, "python");
      expect((await o1).trim()).toBe("connected");
      const scoped = launch({ argv: ["/usr/bin/python3", "-c", py], stdio: ["ignore", "pipe", "inherit"], jail: { landlock: { ro: ["/usr", "/etc"] } } });
      const o2 = collect(scoped.stdout);
      await within(scoped.exit, 10_000, "python");
      expect((await o2).trim()).toBe("1"); // EPERM
    } finally {
      server.close();
    }
  });

  it("per-VM jail root: files hard-linked and owned by the dropped uid, removed on teardown", async () => {
    const base = join(work, "jails");
    const kernel = join(work, "vmlinux");
    writeFileSync(kernel, "kernel image");
    const r = await sh("ls -ln /vmlinux | awk '{print $3, $4, $5}'; cat /vmlinux; echo; id -u", {
      jail: { jailRoot: { base, id: "vm-42", files: [kernel] }, binds: SYSTEM, uid: 1234, gid: 1234 },
    });
    expect(r.out).toBe("1234 1234 12\nkernel image\n1234\n");
    expect(r.h.jailFiles[kernel]).toBe("/vmlinux");
    expect(existsSync(join(base, "sh", "vm-42"))).toBe(false);
    expect(() => launch({ argv: ["/bin/true"], jail: { jailRoot: { base, id: "../etc" } } })).toThrow(InputError);
  });

  it("NUMA pinning through cpuset where the machine has nodes", async (ctx) => {
    const nodes = numaNodes();
    if (nodes.length === 0) ctx.skip("NUMA pinning: this machine exposes no NUMA nodes");
    const node = nodes[0];
    const cpus = readFileSync(`/sys/devices/system/node/node${node}/cpulist`, "utf8").trim();
    const r = await sh("grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status", { jail: { numaNode: node } });
    expect(r.out).toMatch(new RegExp(`Cpus_allowed_list:\\s+${cpus}`));
    expect(r.out).toMatch(new RegExp(`Mems_allowed_list:\\s+${node}\\b`));
  });

  it("graceful stop: SIGTERM first, SIGKILL after the timeout (exec mode)", async () => {
    const soft = launch({ argv: ["sleep", "30"], stdio: "ignore" });
    await within(soft.ready, 5000, "ready");
    expect((await within(soft.stop(2000), 5000, "stop")).signal).toBe("SIGTERM");
    const hard = launch({ argv: ["/bin/sh", "-c", "trap '' TERM; exec sleep 30"], stdio: "ignore" });
    await within(hard.ready, 5000, "ready");
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    expect((await within(hard.stop(300), 5000, "stop")).signal).toBe("SIGKILL");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it("graceful stop: the supervisor forwards SIGTERM and escalates after stopTimeoutMs", async () => {
    const soft = launch({ argv: ["sleep", "30"], stdio: "ignore", jail: { pidns: true, stopTimeoutMs: 3000 } });
    await within(soft.ready, 5000, "ready");
    soft.kill("SIGTERM");
    expect((await within(soft.exit, 5000, "exit")).signal).toBe("SIGTERM");
    const hard = launch({ argv: ["/bin/sh", "-c", "trap '' TERM; exec sleep 30"], stdio: "ignore", jail: { pidns: true, stopTimeoutMs: 300 } });
    await within(hard.ready, 5000, "ready");
    await new Promise((r) => setTimeout(r, 50));
    hard.kill("SIGTERM");
    expect((await within(hard.exit, 5000, "exit")).signal).toBe("SIGKILL");
  });
});
