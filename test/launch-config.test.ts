// Jail configuration (JSON files, SYSFENCE_JAIL_* variables, layering, launcher arguments), the
// doctor's user-namespace diagnosis and AppArmor profile, and the diagnosis parsers. No root or
// launcher needed.
import { describe, it, expect } from "vitest";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jailArgs, jailFromEnv, loadJailFile, mergeJail, validateJail } from "../src/launch/jail.js";
import { parseMountinfo, parseBytes } from "../src/launch/cgroup.js";
import { parseKmsgRecord, recordToCall, parseNotification, confirmWithStack } from "../src/launch/diagnose.js";
import { rewriteKillsToNotify, returnedActions } from "../src/launch/filters.js";
import { sanitiseId } from "../src/launch/jailroot.js";
import { diagnoseUserns, apparmorProfile, probeLaunchEnvironment } from "../src/native/probe.js";
import { assemble } from "../src/text/asm.js";
import { InputError } from "../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "sysfence-jailcfg-"));

/** The one-line CLI form of the error `fn` throws. */
function line(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as InputError).oneLine();
  }
  return "(no error)";
}

describe("jail configuration", () => {
  it("reads a JSON file and names the JSON pointer of a bad field", () => {
    const f = join(dir, "jail.json");
    writeFileSync(f, JSON.stringify({ userns: true, binds: [{ src: "/usr" }], cgroup: { memoryMax: "256M" }, rlimits: { nofile: 1024 } }));
    expect(loadJailFile(f)).toEqual({ userns: true, binds: [{ src: "/usr" }], cgroup: { memoryMax: "256M" }, rlimits: { nofile: 1024 } });
    writeFileSync(f, JSON.stringify({ binds: [{ src: "usr" }] }));
    expect(line(() => loadJailFile(f))).toMatch(/jail.json\/binds\/0\/src: must be an absolute path/);
    writeFileSync(f, JSON.stringify({ userNS: true }));
    expect(() => loadJailFile(f)).toThrow(/unknown option "userNS"/);
    expect(() => validateJail({ rlimits: { files: 3 } })).toThrow(/unknown rlimit/);
    expect(() => validateJail({ devices: ["kvm", "gpu"] })).toThrow(/unknown device "gpu"/);
  });

  it("reads SYSFENCE_JAIL_* variables; an unknown one is an error", () => {
    const j = jailFromEnv({
      SYSFENCE_JAIL_USERNS: "1", SYSFENCE_JAIL_UID_MAP: "0 100000 65536", SYSFENCE_JAIL_PIDNS: "yes",
      SYSFENCE_JAIL_RO_BINDS: "/usr,/lib:/lib", SYSFENCE_JAIL_BINDS: "/srv/vm:/data", SYSFENCE_JAIL_DEVICES: "kvm,tun",
      SYSFENCE_JAIL_UID: "1000", SYSFENCE_JAIL_MEMORY_MAX: "512M", SYSFENCE_JAIL_PIDS_MAX: "64", SYSFENCE_JAIL_RLIMITS: "nofile=1024,core=0:0",
      SYSFENCE_JAIL_LANDLOCK_RO: "/etc", SYSFENCE_JAIL_BASE: "/srv/jailer", SYSFENCE_JAIL_ID: "vm-1", SYSFENCE_JAIL_FILES: "/k,/r",
      SYSFENCE_JAIL_DIE_WITH_PARENT: "true", PATH: "/bin",
    });
    expect(j).toEqual({
      userns: true, uidMap: [{ inside: 0, outside: 100000, count: 65536 }], pidns: true,
      binds: [{ src: "/usr", dst: undefined, mode: "ro" }, { src: "/lib", dst: "/lib", mode: "ro" }, { src: "/srv/vm", dst: "/data", mode: "rw" }],
      devices: ["kvm", "tun"], uid: 1000, cgroup: { memoryMax: "512M", pidsMax: "64" }, rlimits: { nofile: 1024, core: "0:0" },
      landlock: { ro: ["/etc"] }, jailRoot: { base: "/srv/jailer", id: "vm-1", files: ["/k", "/r"] }, dieWithParent: true,
    });
    expect(() => jailFromEnv({ SYSFENCE_JAIL_USRENS: "1" })).toThrow(InputError);
    expect(line(() => jailFromEnv({ SYSFENCE_JAIL_PIDNS: "maybe" }))).toMatch(/SYSFENCE_JAIL_PIDNS: must be/);
    expect(() => jailFromEnv({ SYSFENCE_JAIL_ID: "x" })).toThrow(/go together/);
  });

  it("SYSFENCE_JAIL_FILE is read first, the variables on top", () => {
    const f = join(dir, "base.json");
    writeFileSync(f, JSON.stringify({ uid: 1, binds: [{ src: "/usr" }] }));
    expect(jailFromEnv({ SYSFENCE_JAIL_FILE: f, SYSFENCE_JAIL_UID: "2", SYSFENCE_JAIL_RO_BINDS: "/etc" })).toEqual({
      uid: 2, binds: [{ src: "/usr" }, { src: "/etc", dst: undefined, mode: "ro" }],
    });
  });

  it("layers: scalars replace, lists append, cgroup and Landlock merge field by field", () => {
    expect(mergeJail(
      { uid: 1, binds: [{ src: "/a" }], cgroup: { memoryMax: "1G" }, landlock: { ro: ["/etc"] } },
      { uid: 2, binds: [{ src: "/b" }], cgroup: { pidsMax: 5 }, landlock: { ro: ["/usr"], scope: false } },
    )).toEqual({ uid: 2, binds: [{ src: "/a" }, { src: "/b" }], cgroup: { memoryMax: "1G", pidsMax: 5 }, landlock: { ro: ["/etc", "/usr"], scope: false } });
  });

  it("becomes launcher arguments", () => {
    expect(jailArgs({
      userns: true, uidMap: [{ inside: 0, outside: 1000, count: 1 }], pidns: true, binds: [{ src: "/usr" }, { src: "/d", dst: "/data", mode: "rw" }],
      devices: ["kvm"], uid: 5, clearCaps: true, rlimits: { nofile: "64:128" }, landlock: { ro: ["/etc"], scope: false }, newSession: true,
    }, { joins: ["/cg/cgroup.procs"], chdir: "/", stopTimeoutMs: 100 })).toEqual([
      "--new-session", "--userns", "--uid-map", "0 1000 1", "--pidns", "--ro-bind", "/usr", "/usr", "--bind", "/d", "/data",
      "--device", "kvm", "--uid", "5", "--clear-caps", "--cgroup-join", "/cg/cgroup.procs", "--rlimit", "nofile=64:128",
      "--landlock", "--landlock-system", "--landlock-no-scope", "--landlock-ro", "/etc", "--chdir", "/", "--stop-timeout", "100",
    ]);
    expect(jailArgs({})).toEqual([]);
  });

  it("VM ids are sanitised like Firecracker's jailer", () => {
    expect(sanitiseId("vm-1")).toBe("vm-1");
    for (const bad of ["", "../x", "a/b", "x".repeat(65), "a b"]) expect(() => sanitiseId(bad)).toThrow(InputError);
  });
});

describe("cgroup helpers", () => {
  it("finds cgroup2 in mountinfo wherever it is mounted", () => {
    const m = parseMountinfo([
      "35 24 0:30 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755",
      "36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate",
      "38 35 0:33 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory",
    ].join("\n"));
    expect(m.find((x) => x.fstype === "cgroup2")?.mountpoint).toBe("/sys/fs/cgroup/unified");
    expect(m.find((x) => x.superOptions.includes("memory"))?.mountpoint).toBe("/sys/fs/cgroup/memory");
  });
  it("parses sizes", () => {
    expect(parseBytes("64M", "m")).toBe(String(64 << 20));
    expect(parseBytes("1G", "m")).toBe(String(1 << 30));
    expect(parseBytes("max", "m")).toBe("max");
    expect(parseBytes(4096, "m")).toBe("4096");
    expect(() => parseBytes("lots", "memoryMax")).toThrow(/memoryMax/);
  });
});

describe("diagnosis parsing", () => {
  it("reads an audit SECCOMP record from /dev/kmsg", () => {
    const rec = parseKmsgRecord('5,2228096,2824257783,-;audit: type=1326 audit(1795403421.488:2228096): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=22798 comm="qemu" exe="/usr/bin/qemu" sig=31 arch=c000003e syscall=290 compat=0 ip=0x7fcd52be9829 code=0x80000000\n');
    expect(rec?.time).toBe(1795403421488);
    const c = recordToCall(rec!);
    expect(c).toMatchObject({ source: "kmsg", pid: 22798, nr: 290, name: "eventfd2", arch: "x86_64", ip: 0x7fcd52be9829n, action: "KILL_PROCESS" });
    expect(parseKmsgRecord("6,1,2,-;random: crng init done")).toBeUndefined();
  });
  it("reads a supervisor notification and confirms it with the original stack", () => {
    const c = parseNotification("N 4242 83 0xc000003e 0x7f0184ce8f37 0x7ffce266c586 0x1ff 0x0 0x0 0x0 0x0", "notify")!;
    expect(c).toMatchObject({ pid: 4242, nr: 83, name: "mkdir", arch: "x86_64" });
    expect(c.args).toEqual([0x7ffce266c586n, 0x1ffn, 0n, 0n, 0n, 0n]);
    const stack = [assemble(".arch x86_64\nld nr\njeq #mkdir, kill\nret ALLOW\nkill: ret KILL_PROCESS")];
    confirmWithStack([c], stack);
    expect(c.action).toBe("KILL_PROCESS");
  });
  it("the diagnose rewrite turns kills (and non-actions) into USER_NOTIF and leaves the rest", () => {
    const p = assemble("ld nr\njeq #1, a\njeq #2, b\njeq #3, c\nret ALLOW\na: ret KILL_PROCESS\nb: ret KILL_THREAD\nc: ret ERRNO(5)");
    const r = rewriteKillsToNotify(p);
    expect(r.rewritten).toBe(2);
    expect([...returnedActions(r.program).actions].map((a) => a.toString(16)).sort()).toEqual(["50000", "7fc00000", "7fff0000"]);
  });
});

describe("doctor: user namespaces", () => {
  const sys = (over: Record<string, string>) => (p: string) => over[p];
  it("names AppArmor's restriction and its fix", () => {
    const d = diagnoseUserns({ root: "ok", unprivileged: "EPERM" }, sys({ "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1", "/proc/sys/user/max_user_namespaces": "63000" }));
    expect(d.apparmorBlocks).toBe(true);
    expect(d.cause).toMatch(/kernel.apparmor_restrict_unprivileged_userns is 1/);
    expect(d.fix).toMatch(/AppArmor profile/);
  });
  it("names user.max_user_namespaces and kernel.unprivileged_userns_clone", () => {
    expect(diagnoseUserns({ root: "ENOSPC", unprivileged: "ENOSPC" }, sys({ "/proc/sys/user/max_user_namespaces": "0" })).fix).toMatch(/sysctl -w user.max_user_namespaces=/);
    expect(diagnoseUserns({ root: "ok", unprivileged: "EPERM" }, sys({ "/proc/sys/kernel/unprivileged_userns_clone": "0" })).fix).toMatch(/sysctl -w kernel.unprivileged_userns_clone=1/);
    expect(diagnoseUserns({ root: "ok", unprivileged: "EPERM" }, sys({})).cause).toMatch(/container's seccomp profile/);
    expect(diagnoseUserns({ root: "ok", unprivileged: "ok" }, sys({ "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1" })).cause).toBeUndefined();
  });
  it("writes an AppArmor profile for the launcher and prints the apparmor_parser command", () => {
    const fake = join(dir, "fake-launcher");
    writeFileSync(fake, "#!/bin/sh\necho userns_root ok\necho userns_unprivileged EPERM\necho landlock_abi 6\n");
    chmodSync(fake, 0o755);
    const r = probeLaunchEnvironment({ launcher: fake, read: sys({ "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1" }), writeApparmorTo: dir });
    expect(r.landlockAbi).toBe(6);
    expect(r.apparmorProfile).toEqual({ path: join(dir, "sysfence-launcher"), written: true, command: `apparmor_parser -r ${join(dir, "sysfence-launcher")}` });
    const text = readFileSync(join(dir, "sysfence-launcher"), "utf8");
    expect(text).toBe(apparmorProfile(fake));
    expect(text).toContain(`profile sysfence-launcher ${fake} flags=(unconfined) {\n  userns,`);
  });
});
