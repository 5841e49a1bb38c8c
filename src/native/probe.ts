// What this kernel supports, for `sysfence doctor`: seccomp modes and actions, filter flags,
// the calling process's seccomp state. Reads /proc where it can and asks the kernel (through
// koffi, with NULL programs that can never install anything) where it must.
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { release, arch as osArch } from "node:os";
import { Action, type ActionName } from "../engine/actions.js";
import { loadLibc, ERRNO_NAMES } from "./libc.js";
import { hostArch } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";
import { SECCOMP_GET_ACTION_AVAIL, SECCOMP_SET_MODE_FILTER, SECCOMP_GET_NOTIF_SIZES, FilterFlag } from "./install.js";

const PR_GET_SECCOMP = 21;

export interface ProcessSeccompState {
  /** 0 disabled, 1 strict, 2 filter. */
  mode: number | undefined;
  filters: number | undefined;
  noNewPrivs: boolean | undefined;
}

export interface KernelReport {
  kernel: string;
  machine: string;
  /** prctl(PR_GET_SECCOMP) works: the kernel has seccomp (strict mode) at all. */
  strictMode: boolean | undefined;
  filterMode: boolean;
  actionsAvail: string[] | undefined;
  actionsLogged: string[] | undefined;
  /** Per action, from SECCOMP_GET_ACTION_AVAIL; undefined where the probe could not run. */
  actionProbe: Partial<Record<ActionName, boolean>> | undefined;
  /** Per filter flag: accepted by this kernel (probe with a NULL program gives EFAULT). */
  flags: Partial<Record<keyof typeof FilterFlag, boolean>> | undefined;
  notifSizes: { notif: number; resp: number; data: number } | undefined;
  self: ProcessSeccompState;
  probeError?: string;
}

function readList(path: string): string[] | undefined {
  try {
    return readFileSync(path, "utf8").trim().split(/\s+/);
  } catch {
    return undefined;
  }
}

export function processState(pid: number | "self" = "self"): ProcessSeccompState {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (n: string) => /^(\S+):\s*(\d+)/m.exec(s.split("\n").find((l) => l.startsWith(n + ":")) ?? "")?.[2];
    const mode = field("Seccomp");
    const filters = field("Seccomp_filters");
    const nnp = field("NoNewPrivs");
    return {
      mode: mode === undefined ? undefined : Number(mode),
      filters: filters === undefined ? undefined : Number(filters),
      noNewPrivs: nnp === undefined ? undefined : nnp === "1",
    };
  } catch {
    return { mode: undefined, filters: undefined, noNewPrivs: undefined };
  }
}

export function probeKernel(): KernelReport {
  const report: KernelReport = {
    kernel: release(),
    machine: osArch(),
    strictMode: undefined,
    filterMode: existsSync("/proc/sys/kernel/seccomp/actions_avail"),
    actionsAvail: readList("/proc/sys/kernel/seccomp/actions_avail"),
    actionsLogged: readList("/proc/sys/kernel/seccomp/actions_logged"),
    actionProbe: undefined,
    flags: undefined,
    notifSizes: undefined,
    self: processState(),
  };
  try {
    const c = loadLibc();
    report.strictMode = c.prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
    const actions: Partial<Record<ActionName, boolean>> = {};
    for (const [name, value] of Object.entries(Action) as [ActionName, number][]) {
      const buf = Buffer.alloc(4);
      buf.writeUInt32LE(value >>> 0);
      actions[name] = c.seccomp(SECCOMP_GET_ACTION_AVAIL, 0, buf) === 0;
    }
    report.actionProbe = actions;
    // A flag the kernel knows gets past the flag check and fails copying the NULL program
    // (EFAULT); an unknown flag fails first with EINVAL. Nothing is ever installed.
    const flags: Partial<Record<keyof typeof FilterFlag, boolean>> = {};
    for (const [name, bit] of Object.entries(FilterFlag) as [keyof typeof FilterFlag, number][]) {
      const probeBits = name === "WAIT_KILLABLE_RECV" ? bit | FilterFlag.NEW_LISTENER : bit;
      const rc = c.seccomp(SECCOMP_SET_MODE_FILTER, probeBits, null);
      flags[name] = rc === -1 && c.errno() === 14;
    }
    report.flags = flags;
    const sizes = Buffer.alloc(6);
    if (c.seccomp(SECCOMP_GET_NOTIF_SIZES, 0, sizes) === 0) {
      report.notifSizes = { notif: sizes.readUInt16LE(0), resp: sizes.readUInt16LE(2), data: sizes.readUInt16LE(4) };
    }
  } catch (e) {
    report.probeError = (e as Error).message;
  }
  return report;
}

// ---- sandboxing: what the launcher's jail options can use here (`sysfence doctor`) -------------

/** Reads a small file (a sysctl); undefined when absent. Injectable for tests. */
export type FileReader = (path: string) => string | undefined;

const readText: FileReader = (p) => {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return undefined;
  }
};

export interface UsernsDiagnosis {
  /** unshare(CLONE_NEWUSER) as root / as an unprivileged user: "ok", an errno name, or undefined (not probed). */
  root?: string;
  unprivileged?: string;
  /** Why it is blocked (when it is), naming the knob. */
  cause?: string;
  /** What to do about it. */
  fix?: string;
  /** AppArmor blocks it: a profile for the launcher lifts that. */
  apparmorBlocks: boolean;
  sysctls: Record<string, string | undefined>;
}

/**
 * Names the cause and the fix of a blocked user namespace from the sysctls that govern it:
 * user.max_user_namespaces, kernel.unprivileged_userns_clone (Debian and older Ubuntu kernels)
 * and kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10 and later).
 */
export function diagnoseUserns(probe: { root?: string; unprivileged?: string }, read: FileReader = readText): UsernsDiagnosis {
  const sysctls = {
    "user.max_user_namespaces": read("/proc/sys/user/max_user_namespaces"),
    "kernel.unprivileged_userns_clone": read("/proc/sys/kernel/unprivileged_userns_clone"),
    "kernel.apparmor_restrict_unprivileged_userns": read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
  };
  const d: UsernsDiagnosis = { ...probe, apparmorBlocks: false, sysctls };
  const probed = probe.root !== undefined || probe.unprivileged !== undefined;
  const rootBlocked = probe.root !== undefined && probe.root !== "ok";
  const unprivBlocked = probe.unprivileged !== undefined && probe.unprivileged !== "ok";
  if (probed && !rootBlocked && !unprivBlocked) return d; // works: nothing to explain
  if (sysctls["user.max_user_namespaces"] === "0") {
    d.cause = "user.max_user_namespaces is 0: no user namespace can be created, not even by root";
    d.fix = "sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)";
  } else if (sysctls["kernel.unprivileged_userns_clone"] === "0" && !rootBlocked) {
    d.cause = "kernel.unprivileged_userns_clone is 0: only privileged users may create user namespaces";
    d.fix = "sysctl -w kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/), or run the launcher as root";
  } else if (sysctls["kernel.apparmor_restrict_unprivileged_userns"] === "1" && !rootBlocked) {
    d.apparmorBlocks = true;
    d.cause = "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)";
    d.fix = "load an AppArmor profile for the launcher that allows userns (`sysfence doctor --apparmor-dir /etc/apparmor.d` writes it), or run the launcher as root";
  } else if (probed) {
    const e = rootBlocked ? probe.root : probe.unprivileged;
    const limit = e === "ENOSPC" || e === "EUSERS";
    d.cause = limit
      ? `unshare(CLONE_NEWUSER) failed with ${e}: the user.max_user_namespaces limit (or the nesting depth of 32) is reached`
      : `unshare(CLONE_NEWUSER) failed with ${e} and no sysctl forbids it: a container's seccomp profile (Docker's default denies unshare without CAP_SYS_ADMIN) or an LSM policy does`;
    d.fix = limit
      ? "raise user.max_user_namespaces"
      : "allow unshare/clone with CLONE_NEWUSER in the container's seccomp profile, or run the launcher outside the container";
  }
  return d;
}

/** The AppArmor profile that lets the launcher binary create user namespaces. */
export function apparmorProfile(launcher: string): string {
  return [
    "# AppArmor profile for sysfence's native launcher, written by `sysfence doctor`: it lets the",
    "# launcher create user namespaces where kernel.apparmor_restrict_unprivileged_userns is 1.",
    "# Load it with: apparmor_parser -r /etc/apparmor.d/sysfence-launcher",
    "abi <abi/4.0>,",
    "include <tunables/global>",
    "",
    `profile sysfence-launcher ${launcher} flags=(unconfined) {`,
    "  userns,",
    "",
    "  include if exists <local/sysfence-launcher>",
    "}",
    "",
  ].join("\n");
}

export interface LaunchEnvironmentReport {
  launcher: { path: string; built: boolean };
  userns: UsernsDiagnosis;
  pidns?: string;
  mountns?: string;
  landlockAbi?: number;
  landlockError?: string;
  pidfdGetfd?: string;
  cgroupV2?: { mountpoint: string; controllers: string[] };
  cgroupV1Controllers: string[];
  numaNodes: number[];
  apparmorProfile?: { path: string; written: boolean; command: string; error?: string };
}

/** Runs `sysfence-launcher --probe` (when built) and parses its "key value" lines. */
export function launcherProbe(path: string): Record<string, string> | undefined {
  if (!existsSync(path)) return undefined;
  const r = spawnSync(path, ["--probe"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const out: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const i = line.indexOf(" ");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

function landlockAbiViaKoffi(): { abi?: number; error?: string } {
  try {
    const c = loadLibc();
    const nr = syscallNumber(hostArch(), "landlock_create_ruleset");
    if (nr === undefined) return { error: "no landlock_create_ruleset on this arch" };
    const syscall = c.koffi.load("libc.so.6").func("long syscall(long number, ...)");
    const v = Number(syscall(nr, "void *", null, "size_t", 0, "uint32_t", 1));
    return v > 0 ? { abi: v } : { error: `landlock_create_ruleset: ${ERRNO_NAMES[c.koffi.errno()] ?? c.koffi.errno()}` };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * What the launcher's jail can use on this machine. With `writeApparmorTo` (a directory), the
 * AppArmor profile is written there when AppArmor blocks user namespaces (or always, with
 * `forceApparmor`).
 */
export function probeLaunchEnvironment(opts: {
  launcher: string;
  read?: FileReader;
  writeApparmorTo?: string;
  forceApparmor?: boolean;
  cgroup?: { v2?: { mountpoint: string; controllers: string[] }; v1: string[] };
  numaNodes?: number[];
}): LaunchEnvironmentReport {
  const probe = launcherProbe(opts.launcher);
  const userns = diagnoseUserns({ root: probe?.userns_root, unprivileged: probe?.userns_unprivileged }, opts.read ?? readText);
  const report: LaunchEnvironmentReport = {
    launcher: { path: opts.launcher, built: probe !== undefined },
    userns,
    pidns: probe?.pidns,
    mountns: probe?.mountns,
    pidfdGetfd: probe?.pidfd_getfd,
    cgroupV2: opts.cgroup?.v2,
    cgroupV1Controllers: opts.cgroup?.v1 ?? [],
    numaNodes: opts.numaNodes ?? [],
  };
  if (probe?.landlock_abi && /^\d+$/.test(probe.landlock_abi)) report.landlockAbi = Number(probe.landlock_abi);
  else if (probe?.landlock_abi) report.landlockError = probe.landlock_abi;
  else {
    const k = landlockAbiViaKoffi();
    report.landlockAbi = k.abi;
    report.landlockError = k.error;
  }
  if (opts.writeApparmorTo && (userns.apparmorBlocks || opts.forceApparmor)) {
    const path = join(opts.writeApparmorTo, "sysfence-launcher");
    const command = `apparmor_parser -r ${path}`;
    try {
      writeFileSync(path, apparmorProfile(opts.launcher));
      report.apparmorProfile = { path, written: true, command };
    } catch (e) {
      report.apparmorProfile = { path, written: false, command, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
  }
  return report;
}
