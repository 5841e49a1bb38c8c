// cgroups for a launch: a cgroup v2 placement (found through /proc/self/mountinfo, wherever the
// v2 hierarchy is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid
// ones) with memory.max, pids.max, cpu.max and cpuset (NUMA) where the v2 hierarchy has those
// controllers; on hybrid hosts whose controllers are bound to v1 hierarchies, the same limits
// through v1 (memory.limit_in_bytes, pids.max, cpu.cfs_quota_us/cfs_period_us, cpuset.*), like
// Firecracker's jailer with --cgroup-version 1. The cgroups are created under the caller's own
// cgroup (or `parent`), joined by the launcher before it execs, and removed after exit.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EnvironmentError, InputError } from "../errors.js";

export interface CgroupOptions {
  /** Parent cgroup, relative to each hierarchy's root (default: this process's own cgroup). */
  parent?: string;
  /** memory.max: bytes, or with a K/M/G suffix, or "max". */
  memoryMax?: string | number;
  /** pids.max: a count or "max". */
  pidsMax?: string | number;
  /** cpu.max: "QUOTA PERIOD" in microseconds ("max 100000" for no limit), or QUOTA alone. */
  cpuMax?: string;
  /** 2 (v2 only), 1 (v1 only), "auto" (v2 where its controller is there, else v1). Default auto. */
  version?: "auto" | 1 | 2;
}

export interface Mount {
  mountpoint: string;
  root: string;
  fstype: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  for (const line of text.split("\n")) {
    if (!line) continue;
    const parts = line.split(" ");
    const dash = parts.indexOf("-");
    if (dash < 6) continue;
    out.push({
      root: unescape(parts[3]),
      mountpoint: unescape(parts[4]),
      fstype: parts[dash + 1],
      superOptions: (parts[dash + 3] ?? "").split(","),
    });
  }
  return out;
}

function mounts(): Mount[] {
  try {
    return parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {
    return [];
  }
}

/** Where the cgroup v2 hierarchy is mounted, if it is. */
export function cgroupV2Mount(all = mounts()): Mount | undefined {
  return all.find((m) => m.fstype === "cgroup2");
}

/** The v1 hierarchy carrying `controller`, if mounted. */
export function cgroupV1Mount(controller: string, all = mounts()): Mount | undefined {
  return all.find((m) => m.fstype === "cgroup" && m.superOptions.includes(controller));
}

/** This process's cgroup path per hierarchy: "" for v2, controller names for v1. */
export function ownCgroups(): Map<string, string> {
  const map = new Map<string, string>();
  try {
    for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
      const m = /^(\d+):([^:]*):(.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === "0" && m[2] === "") map.set("", m[3]);
      else for (const c of m[2].split(",")) map.set(c.replace(/^name=/, "name="), m[3]);
    }
  } catch {
    // no /proc: nothing known
  }
  return map;
}

function hierarchyDir(m: Mount, cgPath: string): string {
  const rel = m.root !== "/" && cgPath.startsWith(m.root) ? cgPath.slice(m.root.length) : cgPath;
  return join(m.mountpoint, rel);
}

/** Controllers the v2 hierarchy offers at `dir` (its cgroup.controllers). */
export function v2Controllers(dir: string): string[] {
  try {
    return readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export function parseBytes(v: string | number, what: string): string {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new InputError(`${what}: ${v} is not a byte count`);
    return String(v);
  }
  const s = v.trim();
  if (s === "max") return "max";
  const m = /^(\d+)\s*([kKmMgGtT]?)i?[bB]?$/.exec(s);
  if (!m) throw new InputError(`${what}: "${v}" is not a size (bytes, or a number with K, M, G or T, or "max")`);
  const mult = { "": 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n }[m[2].toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return String(BigInt(m[1]) * mult);
}

export function parseCount(v: string | number, what: string): string {
  if (v === "max") return "max";
  const n = typeof v === "number" ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`${what}: "${v}" is not a count or "max"`);
  return String(n);
}

export function parseCpuMax(v: string): { quota: string; period: string } {
  const parts = v.trim().split(/\s+/);
  const quota = parts[0];
  const period = parts[1] ?? "100000";
  if (!(quota === "max" || /^\d+$/.test(quota)) || !/^\d+$/.test(period) || parts.length > 2) {
    throw new InputError(`cpuMax: "${v}" is not "QUOTA PERIOD" (microseconds; QUOTA may be "max")`);
  }
  return { quota, period };
}

/** The CPUs of a NUMA node (its cpulist), or undefined when the machine has no such node. */
export function numaNodeCpus(node: number): string | undefined {
  try {
    return readFileSync(`/sys/devices/system/node/node${node}/cpulist`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The NUMA nodes this machine has (empty when it exposes none). */
export function numaNodes(): number[] {
  try {
    return readdirSync("/sys/devices/system/node").filter((n) => /^node\d+$/.test(n)).map((n) => Number(n.slice(4))).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** One setting: a controller and its value in v2 and v1 terms. */
interface Setting {
  controller: string;
  v2: [string, string][];
  v1: [string, string][];
}

function settings(o: CgroupOptions, numaNode: number | undefined): Setting[] {
  const out: Setting[] = [];
  if (o.memoryMax !== undefined) {
    const b = parseBytes(o.memoryMax, "memoryMax");
    out.push({ controller: "memory", v2: [["memory.max", b]], v1: [["memory.limit_in_bytes", b === "max" ? "-1" : b]] });
  }
  if (o.pidsMax !== undefined) {
    const c = parseCount(o.pidsMax, "pidsMax");
    out.push({ controller: "pids", v2: [["pids.max", c]], v1: [["pids.max", c]] });
  }
  if (o.cpuMax !== undefined) {
    const { quota, period } = parseCpuMax(o.cpuMax);
    out.push({
      controller: "cpu",
      v2: [["cpu.max", `${quota} ${period}`]],
      v1: [["cpu.cfs_period_us", period], ["cpu.cfs_quota_us", quota === "max" ? "-1" : quota]],
    });
  }
  if (numaNode !== undefined) {
    const cpus = numaNodeCpus(numaNode);
    if (cpus === undefined) {
      throw new EnvironmentError(`NUMA node ${numaNode} does not exist here (nodes: ${numaNodes().join(", ") || "none"})`);
    }
    out.push({ controller: "cpuset", v2: [["cpuset.cpus", cpus], ["cpuset.mems", String(numaNode)]], v1: [["cpuset.cpus", cpus], ["cpuset.mems", String(numaNode)]] });
  }
  return out;
}

export interface CgroupPlacement {
  /** Directories created, children first for removal. */
  dirs: string[];
  /** cgroup.procs files the launcher writes its pid into before exec. */
  joins: string[];
  /** Which hierarchy each controller's limit went to. */
  where: Record<string, string>;
}

let seq = 0;

/** A fresh cgroup name: sysfence-<pid>-<n>-<random>. */
export function cgroupName(): string {
  return `sysfence-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new EnvironmentError(`cannot write "${value}" to ${path}: ${code}`);
  }
}

/**
 * Creates the cgroup(s) for one launch and writes the limits. On failure, removes whatever it
 * created and throws an EnvironmentError naming the file and the cause.
 */
export function createCgroups(o: CgroupOptions, numaNode: number | undefined, name = cgroupName()): CgroupPlacement {
  const version = o.version ?? "auto";
  const all = mounts();
  const own = ownCgroups();
  const v2 = cgroupV2Mount(all);
  const placement: CgroupPlacement = { dirs: [], joins: [], where: {} };
  const wanted = settings(o, numaNode);
  try {
    let v2dir: string | undefined;
    let v2parent: string | undefined;
    if (v2 && version !== 1) {
      v2parent = hierarchyDir(v2, o.parent ?? own.get("") ?? "/");
      v2dir = join(v2parent, name);
    } else if (version === 2) {
      throw new EnvironmentError("cgroup v2 is not mounted here (no cgroup2 entry in /proc/self/mountinfo)");
    }
    const v2avail = v2parent ? v2Controllers(v2parent) : [];
    const v1dirs = new Map<string, string>();
    const plan: { dir: string; kv: [string, string][]; v2: boolean }[] = [];
    for (const s of wanted) {
      if (v2dir && v2avail.includes(s.controller) && version !== 1) {
        plan.push({ dir: v2dir, kv: s.v2, v2: true });
        placement.where[s.controller] = "v2";
        continue;
      }
      if (version === 2) {
        throw new EnvironmentError(
          `the cgroup v2 hierarchy at ${v2?.mountpoint} has no ${s.controller} controller at ${v2parent} ` +
            `(available: ${v2avail.join(" ") || "none"}); on a hybrid host use version "auto" or 1`,
        );
      }
      const m1 = cgroupV1Mount(s.controller, all);
      if (!m1) {
        throw new EnvironmentError(
          `no ${s.controller} controller: not in cgroup v2${v2 ? ` at ${v2parent} (available: ${v2avail.join(" ") || "none"})` : ""} and no v1 hierarchy mounts it`,
        );
      }
      let dir = v1dirs.get(m1.mountpoint);
      if (!dir) {
        dir = join(hierarchyDir(m1, o.parent ?? own.get(s.controller) ?? "/"), name);
        v1dirs.set(m1.mountpoint, dir);
      }
      plan.push({ dir, kv: s.v1, v2: false });
      placement.where[s.controller] = `v1 (${m1.mountpoint})`;
    }
    // Create: v2 first (placement even without limits), then v1 directories.
    const dirs = [...new Set([...(v2dir ? [v2dir] : []), ...v1dirs.values()])];
    for (const d of dirs) {
      if (existsSync(d)) throw new EnvironmentError(`cgroup ${d} already exists`);
      try {
        mkdirSync(d);
      } catch (e) {
        throw new EnvironmentError(`cannot create cgroup ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      placement.dirs.unshift(d);
      placement.joins.push(join(d, "cgroup.procs"));
    }
    if (dirs.length === 0) throw new EnvironmentError("no cgroup hierarchy is mounted here");
    // v2 controllers must be enabled in the parent's subtree_control.
    if (v2parent) {
      const need = [...new Set(plan.filter((p) => p.v2).map((p) => p.kv[0][0].split(".")[0]))];
      const enabled = new Set(readFileSync(join(v2parent, "cgroup.subtree_control"), "utf8").trim().split(/\s+/));
      for (const c of need) {
        if (enabled.has(c)) continue;
        try {
          writeFileSync(join(v2parent, "cgroup.subtree_control"), `+${c}`);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw new EnvironmentError(
            `cannot enable the ${c} controller in ${v2parent}/cgroup.subtree_control: ${code}` +
              (code === "EBUSY" ? " (the parent cgroup has processes of its own: give a parent cgroup without processes)" : ""),
          );
        }
      }
    }
    for (const p of plan) for (const [k, v] of p.kv) write(join(p.dir, k), v);
    return placement;
  } catch (e) {
    removeCgroupsSync(placement.dirs);
    throw e;
  }
}

/** The pids left in a cgroup. */
function procs(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function tryRemove(dir: string): boolean {
  if (!existsSync(dir)) return true;
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    return false;
  }
}

function killAll(dir: string): void {
  if (existsSync(join(dir, "cgroup.kill"))) {
    try {
      writeFileSync(join(dir, "cgroup.kill"), "1");
    } catch {
      // fall back to signals below
    }
  }
  for (const pid of procs(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Removes the cgroups, killing whatever is left in them; waits up to `timeoutMs`. */
export async function removeCgroups(dirs: readonly string[], timeoutMs = 3000): Promise<string[]> {
  const failed: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (const d of dirs) {
    let done = tryRemove(d);
    while (!done) {
      killAll(d);
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
      done = tryRemove(d);
    }
    if (!done) failed.push(d);
  }
  return failed;
}

/** Synchronous removal for error paths (no process has joined yet). */
export function removeCgroupsSync(dirs: readonly string[]): void {
  for (const d of dirs) tryRemove(d);
}
