// What this kernel supports, for `sysfence doctor`: seccomp modes and actions, filter flags,
// the calling process's seccomp state. Reads /proc where it can and asks the kernel (through
// koffi, with NULL programs that can never install anything) where it must.
import { readFileSync, existsSync } from "node:fs";
import { release, arch as osArch } from "node:os";
import { Action, type ActionName } from "../engine/actions.js";
import { loadLibc } from "./libc.js";
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
