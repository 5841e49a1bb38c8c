// Jail options: the API type, validation (for JSON files), SYSFENCE_JAIL_* environment
// variables, layering (file < environment < command line) and the launcher arguments they
// become. Every option is off by default.
import { readBoundedText, SIZE_LIMITS } from "../read.js";
import { resolve } from "node:path";
import { InputError } from "../errors.js";
import type { CgroupOptions } from "./cgroup.js";
import type { JailRootOptions } from "./jailroot.js";

export interface BindSpec {
  src: string;
  /** Path inside the new root (default: the same as src). */
  dst?: string;
  /** ro (default): read-only and nodev; rw: writable, nodev; dev: device nodes usable. */
  mode?: "ro" | "rw" | "dev";
}

/** One line of a uid_map/gid_map: `count` ids from `inside` map to ids from `outside`. */
export interface IdMapEntry {
  inside: number;
  outside: number;
  count: number;
}

export interface LandlockOptions {
  /** Read-only paths (files and directories beneath). */
  ro?: string[];
  /** Read and execute. */
  rx?: string[];
  /** Everything (read, write, create, remove, ioctl on devices). */
  rw?: string[];
  /** Scope abstract unix sockets and signals to the sandbox (Landlock ABI 6+). Default true. */
  scope?: boolean;
  /** Leave TCP bind/connect unrestricted (by default they are denied on ABI 4+). */
  allowTcp?: boolean;
  /**
   * Add what any dynamically linked program needs: library directories (rx), /etc/ld.so.cache
   * (ro), /dev/null, zero, full, random, urandom and requested kvm/tun nodes (rw). Default true.
   */
  system?: boolean;
}

export type DeviceName = "kvm" | "tun";

export interface JailOptions {
  /** New user namespace; maps default to "0 <your uid> 1" / "0 <your gid> 1". */
  userns?: boolean;
  uidMap?: IdMapEntry[];
  gidMap?: IdMapEntry[];
  /** New PID namespace with a minimal PID 1 (supervisor mode) and /proc remounted. */
  pidns?: boolean;
  /** Private mount namespace (implied by every filesystem option). */
  mountns?: boolean;
  /** pivot_root into this directory (default with binds or dev: a fresh tmpfs). */
  root?: string;
  binds?: BindSpec[];
  /** Minimal /dev (null, zero, full, random, urandom, tty) in the new root. */
  dev?: boolean;
  /** A new /proc. */
  proc?: boolean;
  /** Private /tmp (tmpfs). */
  tmp?: boolean;
  /** Private /dev/shm (tmpfs). */
  shm?: boolean;
  /** Device nodes to create: /dev/kvm, /dev/net/tun. */
  devices?: DeviceName[];
  /** Switch to this uid/gid (inside the user namespace when there is one). */
  uid?: number;
  gid?: number;
  /** Empty every capability set (bounding and ambient included). */
  clearCaps?: boolean;
  /** cgroup placement and limits, removed after exit (true: placement only). */
  cgroup?: boolean | CgroupOptions;
  /** Pin CPUs and memory to this NUMA node (cpuset). */
  numaNode?: number;
  /** setrlimit: NAME -> SOFT or "SOFT:HARD" ("unlimited" allowed). */
  rlimits?: Record<string, number | string>;
  /** SIGKILL the program when the process that launched it dies (PR_SET_PDEATHSIG, race-free). */
  dieWithParent?: boolean;
  /** setsid(). */
  newSession?: boolean;
  /** Only pass the environment given in `env` and the names in passEnv. */
  clearEnv?: boolean;
  passEnv?: string[];
  landlock?: boolean | LandlockOptions;
  /** Per-VM jail root like Firecracker's jailer. */
  jailRoot?: JailRootOptions;
  /** Supervisor mode: SIGKILL this long after forwarding SIGTERM/SIGINT (default 5000). */
  stopTimeoutMs?: number;
}

const RLIMITS = new Set(["as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"]);

/** The largest uid/gid a jail may switch to: (uid_t)-1 = 4294967295 means "unchanged" to setresuid. */
export const MAX_ID = 4294967294;

// ---- validation ------------------------------------------------------------------------------

type Kind = "bool" | "uint" | "id" | "string" | "strings" | "binds" | "idmap" | "devices" | "rlimits" | "cgroup" | "landlock" | "jailRoot";

const FIELDS: Record<keyof JailOptions, Kind> = {
  userns: "bool", uidMap: "idmap", gidMap: "idmap", pidns: "bool", mountns: "bool", root: "string",
  binds: "binds", dev: "bool", proc: "bool", tmp: "bool", shm: "bool", devices: "devices", uid: "id",
  gid: "id", clearCaps: "bool", cgroup: "cgroup", numaNode: "uint", rlimits: "rlimits",
  dieWithParent: "bool", newSession: "bool", clearEnv: "bool", passEnv: "strings", landlock: "landlock",
  jailRoot: "jailRoot", stopTimeoutMs: "uint",
};

function fail(where: string, msg: string): never {
  throw new InputError(msg, where);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${where}/${k}`, `unknown option "${k}" (known: ${allowed.join(", ")})`);
}

function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) fail(where, "must be an array of strings");
  return v as string[];
}

/** Checks a jail object (from JSON or code) and returns it typed; errors name the JSON pointer. */
export function validateJail(v: unknown, where = "jail"): JailOptions {
  if (!isObj(v)) fail(where, "a jail must be a JSON object");
  checkKeys(v, Object.keys(FIELDS), where);
  for (const [key, value] of Object.entries(v)) {
    const w = `${where}/${key}`;
    if (value === undefined) continue;
    switch (FIELDS[key as keyof JailOptions]) {
      case "bool":
        if (typeof value !== "boolean") fail(w, "must be true or false");
        break;
      case "uint":
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(w, "must be a non-negative integer");
        break;
      case "id":
        // 4294967295 is (uid_t)-1, "unchanged" to setresuid; larger values wrap (2^32 is root).
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > MAX_ID) fail(w, `must be an id 0..${MAX_ID} (4294967295 is (uid_t)-1, "unchanged")`);
        break;
      case "string":
        if (typeof value !== "string" || value === "") fail(w, "must be a non-empty string");
        break;
      case "strings":
        strList(value, w);
        break;
      case "binds":
        if (!Array.isArray(value)) fail(w, "must be an array of {src, dst?, mode?}");
        value.forEach((b, i) => {
          if (!isObj(b)) fail(`${w}/${i}`, "must be {src, dst?, mode?}");
          checkKeys(b, ["src", "dst", "mode"], `${w}/${i}`);
          if (typeof b.src !== "string" || !b.src.startsWith("/")) fail(`${w}/${i}/src`, "must be an absolute path");
          if (b.dst !== undefined && (typeof b.dst !== "string" || !b.dst.startsWith("/"))) fail(`${w}/${i}/dst`, "must be an absolute path");
          if (b.mode !== undefined && !["ro", "rw", "dev"].includes(b.mode as string)) fail(`${w}/${i}/mode`, 'must be "ro", "rw" or "dev"');
        });
        break;
      case "idmap":
        if (!Array.isArray(value) || value.length === 0) fail(w, "must be a non-empty array of {inside, outside, count}");
        value.forEach((m, i) => {
          if (!isObj(m)) fail(`${w}/${i}`, "must be {inside, outside, count}");
          checkKeys(m, ["inside", "outside", "count"], `${w}/${i}`);
          for (const f of ["inside", "outside", "count"]) {
            const n = m[f];
            if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) fail(`${w}/${i}/${f}`, "must be an id (0..4294967295)");
          }
        });
        break;
      case "devices":
        strList(value, w).forEach((d, i) => {
          if (d !== "kvm" && d !== "tun") fail(`${w}/${i}`, `unknown device "${d}" (kvm or tun)`);
        });
        break;
      case "rlimits":
        if (!isObj(value)) fail(w, 'must be an object like {"nofile": 1024, "core": "0:0"}');
        for (const [name, lim] of Object.entries(value)) {
          if (!RLIMITS.has(name)) fail(`${w}/${name}`, `unknown rlimit (known: ${[...RLIMITS].join(", ")})`);
          if (!(typeof lim === "number" && Number.isSafeInteger(lim) && lim >= 0) &&
              !(typeof lim === "string" && /^(\d+|unlimited)(:(\d+|unlimited))?$/.test(lim))) {
            fail(`${w}/${name}`, 'must be a count, "unlimited", or "SOFT:HARD"');
          }
        }
        break;
      case "cgroup":
        if (typeof value === "boolean") break;
        if (!isObj(value)) fail(w, "must be true or {parent?, memoryMax?, pidsMax?, cpuMax?, version?}");
        checkKeys(value, ["parent", "memoryMax", "pidsMax", "cpuMax", "version"], w);
        if (value.version !== undefined && !["auto", 1, 2].includes(value.version as string | number)) fail(`${w}/version`, 'must be "auto", 1 or 2');
        break;
      case "landlock":
        if (typeof value === "boolean") break;
        if (!isObj(value)) fail(w, "must be true or {ro?, rx?, rw?, scope?, allowTcp?, system?}");
        checkKeys(value, ["ro", "rx", "rw", "scope", "allowTcp", "system"], w);
        for (const f of ["ro", "rx", "rw"]) if (value[f] !== undefined) strList(value[f], `${w}/${f}`);
        for (const f of ["scope", "allowTcp", "system"]) if (value[f] !== undefined && typeof value[f] !== "boolean") fail(`${w}/${f}`, "must be true or false");
        break;
      case "jailRoot":
        if (!isObj(value)) fail(w, "must be {base, id, files?}");
        checkKeys(value, ["base", "id", "files"], w);
        if (typeof value.base !== "string" || typeof value.id !== "string") fail(w, "needs base and id (strings)");
        if (value.files !== undefined) strList(value.files, `${w}/files`);
        break;
    }
  }
  return v as JailOptions;
}

/** Reads a jail JSON file. */
export function loadJailFile(path: string): JailOptions {
  const text = readBoundedText(path, SIZE_LIMITS.jail, "a jail file");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`not JSON: ${(e as Error).message}`, path);
  }
  return validateJail(json, path);
}

// ---- environment ---------------------------------------------------------------------------

function envBool(name: string, v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw new InputError(`must be 1/true/yes/on or 0/false/no/off, not "${v}"`, name);
}

function envUint(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new InputError(`must be a non-negative integer, not "${v}"`, name);
  return Number(v.trim());
}

const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);

function envBinds(v: string, mode: "ro" | "rw" | "dev"): BindSpec[] {
  return list(v).map((s) => {
    const [src, dst] = s.split(":");
    return { src, dst: dst || undefined, mode };
  });
}

function envMap(name: string, v: string): IdMapEntry[] {
  return v.split(/[;,]/).map((s) => s.trim()).filter(Boolean).map((line) => {
    const p = line.split(/\s+/);
    if (p.length !== 3 || !p.every((x) => /^\d+$/.test(x))) throw new InputError(`"${line}" is not "INSIDE OUTSIDE COUNT"`, name);
    return { inside: Number(p[0]), outside: Number(p[1]), count: Number(p[2]) };
  });
}

/** Every SYSFENCE_JAIL_* variable and what it sets (README: launch). */
export const JAIL_ENV: Record<string, string> = {
  SYSFENCE_JAIL_FILE: "a jail JSON file, read first",
  SYSFENCE_JAIL_USERNS: "bool", SYSFENCE_JAIL_UID_MAP: '"IN OUT COUNT;..."', SYSFENCE_JAIL_GID_MAP: '"IN OUT COUNT;..."',
  SYSFENCE_JAIL_PIDNS: "bool", SYSFENCE_JAIL_MOUNTNS: "bool", SYSFENCE_JAIL_ROOT: "dir",
  SYSFENCE_JAIL_RO_BINDS: "SRC[:DST],...", SYSFENCE_JAIL_BINDS: "SRC[:DST],...", SYSFENCE_JAIL_DEV_BINDS: "SRC[:DST],...",
  SYSFENCE_JAIL_DEV: "bool", SYSFENCE_JAIL_PROC: "bool", SYSFENCE_JAIL_TMP: "bool", SYSFENCE_JAIL_SHM: "bool",
  SYSFENCE_JAIL_DEVICES: "kvm,tun", SYSFENCE_JAIL_UID: "uint", SYSFENCE_JAIL_GID: "uint", SYSFENCE_JAIL_CLEAR_CAPS: "bool",
  SYSFENCE_JAIL_CGROUP: "bool", SYSFENCE_JAIL_CGROUP_PARENT: "path", SYSFENCE_JAIL_CGROUP_VERSION: "auto|1|2",
  SYSFENCE_JAIL_MEMORY_MAX: "size", SYSFENCE_JAIL_PIDS_MAX: "count", SYSFENCE_JAIL_CPU_MAX: '"QUOTA PERIOD"',
  SYSFENCE_JAIL_NUMA_NODE: "uint", SYSFENCE_JAIL_RLIMITS: "NAME=SOFT[:HARD],...", SYSFENCE_JAIL_DIE_WITH_PARENT: "bool",
  SYSFENCE_JAIL_NEW_SESSION: "bool", SYSFENCE_JAIL_CLEAR_ENV: "bool", SYSFENCE_JAIL_PASS_ENV: "NAME,...",
  SYSFENCE_JAIL_LANDLOCK: "bool", SYSFENCE_JAIL_LANDLOCK_RO: "PATH,...", SYSFENCE_JAIL_LANDLOCK_RX: "PATH,...",
  SYSFENCE_JAIL_LANDLOCK_RW: "PATH,...", SYSFENCE_JAIL_LANDLOCK_SCOPE: "bool", SYSFENCE_JAIL_LANDLOCK_ALLOW_TCP: "bool",
  SYSFENCE_JAIL_LANDLOCK_SYSTEM: "bool", SYSFENCE_JAIL_BASE: "dir", SYSFENCE_JAIL_ID: "id", SYSFENCE_JAIL_FILES: "PATH,...",
  SYSFENCE_JAIL_STOP_TIMEOUT_MS: "uint",
};

/**
 * The jail described by SYSFENCE_JAIL_* variables (SYSFENCE_JAIL_FILE first, the others on
 * top). An unknown SYSFENCE_JAIL_ name is an error, so a typo never silently weakens a jail.
 */
export function jailFromEnv(env: NodeJS.ProcessEnv = process.env): JailOptions {
  const names = Object.keys(env).filter((k) => k.startsWith("SYSFENCE_JAIL_"));
  for (const n of names) if (!(n in JAIL_ENV)) throw new InputError(`unknown jail variable (known: ${Object.keys(JAIL_ENV).join(", ")})`, n);
  const get = (n: string) => env[n];
  let j: JailOptions = get("SYSFENCE_JAIL_FILE") ? loadJailFile(get("SYSFENCE_JAIL_FILE")!) : {};
  const o: JailOptions = {};
  const b = (n: string, set: (v: boolean) => void) => { const v = get(n); if (v !== undefined) set(envBool(n, v)); };
  const u = (n: string, set: (v: number) => void) => { const v = get(n); if (v !== undefined) set(envUint(n, v)); };
  const s = (n: string, set: (v: string) => void) => { const v = get(n); if (v !== undefined && v !== "") set(v); };
  b("SYSFENCE_JAIL_USERNS", (v) => (o.userns = v));
  s("SYSFENCE_JAIL_UID_MAP", (v) => (o.uidMap = envMap("SYSFENCE_JAIL_UID_MAP", v)));
  s("SYSFENCE_JAIL_GID_MAP", (v) => (o.gidMap = envMap("SYSFENCE_JAIL_GID_MAP", v)));
  b("SYSFENCE_JAIL_PIDNS", (v) => (o.pidns = v));
  b("SYSFENCE_JAIL_MOUNTNS", (v) => (o.mountns = v));
  s("SYSFENCE_JAIL_ROOT", (v) => (o.root = v));
  const binds: BindSpec[] = [];
  s("SYSFENCE_JAIL_RO_BINDS", (v) => binds.push(...envBinds(v, "ro")));
  s("SYSFENCE_JAIL_BINDS", (v) => binds.push(...envBinds(v, "rw")));
  s("SYSFENCE_JAIL_DEV_BINDS", (v) => binds.push(...envBinds(v, "dev")));
  if (binds.length) o.binds = binds;
  b("SYSFENCE_JAIL_DEV", (v) => (o.dev = v));
  b("SYSFENCE_JAIL_PROC", (v) => (o.proc = v));
  b("SYSFENCE_JAIL_TMP", (v) => (o.tmp = v));
  b("SYSFENCE_JAIL_SHM", (v) => (o.shm = v));
  s("SYSFENCE_JAIL_DEVICES", (v) => (o.devices = list(v) as DeviceName[]));
  u("SYSFENCE_JAIL_UID", (v) => (o.uid = v));
  u("SYSFENCE_JAIL_GID", (v) => (o.gid = v));
  b("SYSFENCE_JAIL_CLEAR_CAPS", (v) => (o.clearCaps = v));
  const cg: CgroupOptions = {};
  let cgOn: boolean | undefined;
  b("SYSFENCE_JAIL_CGROUP", (v) => (cgOn = v));
  s("SYSFENCE_JAIL_CGROUP_PARENT", (v) => (cg.parent = v));
  s("SYSFENCE_JAIL_CGROUP_VERSION", (v) => (cg.version = v === "1" ? 1 : v === "2" ? 2 : (v as "auto")));
  s("SYSFENCE_JAIL_MEMORY_MAX", (v) => (cg.memoryMax = v));
  s("SYSFENCE_JAIL_PIDS_MAX", (v) => (cg.pidsMax = v));
  s("SYSFENCE_JAIL_CPU_MAX", (v) => (cg.cpuMax = v));
  if (Object.keys(cg).length) o.cgroup = cg;
  else if (cgOn !== undefined) o.cgroup = cgOn;
  if (cgOn === false) o.cgroup = false;
  u("SYSFENCE_JAIL_NUMA_NODE", (v) => (o.numaNode = v));
  s("SYSFENCE_JAIL_RLIMITS", (v) => {
    o.rlimits = {};
    for (const item of list(v)) {
      const [k, val] = item.split("=");
      if (val === undefined) throw new InputError(`"${item}" is not NAME=SOFT[:HARD]`, "SYSFENCE_JAIL_RLIMITS");
      o.rlimits[k] = /^\d+$/.test(val) ? Number(val) : val;
    }
  });
  b("SYSFENCE_JAIL_DIE_WITH_PARENT", (v) => (o.dieWithParent = v));
  b("SYSFENCE_JAIL_NEW_SESSION", (v) => (o.newSession = v));
  b("SYSFENCE_JAIL_CLEAR_ENV", (v) => (o.clearEnv = v));
  s("SYSFENCE_JAIL_PASS_ENV", (v) => (o.passEnv = list(v)));
  const ll: LandlockOptions = {};
  let llOn: boolean | undefined;
  b("SYSFENCE_JAIL_LANDLOCK", (v) => (llOn = v));
  s("SYSFENCE_JAIL_LANDLOCK_RO", (v) => (ll.ro = list(v)));
  s("SYSFENCE_JAIL_LANDLOCK_RX", (v) => (ll.rx = list(v)));
  s("SYSFENCE_JAIL_LANDLOCK_RW", (v) => (ll.rw = list(v)));
  b("SYSFENCE_JAIL_LANDLOCK_SCOPE", (v) => (ll.scope = v));
  b("SYSFENCE_JAIL_LANDLOCK_ALLOW_TCP", (v) => (ll.allowTcp = v));
  b("SYSFENCE_JAIL_LANDLOCK_SYSTEM", (v) => (ll.system = v));
  if (Object.keys(ll).length) o.landlock = llOn === false ? false : ll;
  else if (llOn !== undefined) o.landlock = llOn;
  const base = get("SYSFENCE_JAIL_BASE");
  const id = get("SYSFENCE_JAIL_ID");
  if (base !== undefined || id !== undefined) {
    if (!base || !id) throw new InputError("SYSFENCE_JAIL_BASE and SYSFENCE_JAIL_ID go together", base ? "SYSFENCE_JAIL_ID" : "SYSFENCE_JAIL_BASE");
    o.jailRoot = { base, id, files: get("SYSFENCE_JAIL_FILES") ? list(get("SYSFENCE_JAIL_FILES")!) : undefined };
  }
  u("SYSFENCE_JAIL_STOP_TIMEOUT_MS", (v) => (o.stopTimeoutMs = v));
  j = mergeJail(j, validateJail(o, "SYSFENCE_JAIL_*"));
  return j;
}

// ---- layering ------------------------------------------------------------------------------

/**
 * `over` on top of `base`: scalars replace, lists (binds, devices, passEnv, Landlock paths,
 * id maps) append, cgroup and Landlock objects merge field by field.
 */
export function mergeJail(base: JailOptions, over: JailOptions): JailOptions {
  const out: JailOptions = { ...base };
  for (const [k, v] of Object.entries(over) as [keyof JailOptions, unknown][]) {
    if (v === undefined) continue;
    const prev = out[k] as unknown;
    if (Array.isArray(v) && Array.isArray(prev)) {
      (out as Record<string, unknown>)[k] = [...prev, ...v];
    } else if ((k === "cgroup" || k === "landlock") && isObj(v) && (isObj(prev) || prev === true)) {
      const p = isObj(prev) ? prev : {};
      const merged: Record<string, unknown> = { ...p };
      for (const [f, fv] of Object.entries(v)) {
        merged[f] = Array.isArray(fv) && Array.isArray(p[f]) ? [...(p[f] as unknown[]), ...fv] : fv;
      }
      (out as Record<string, unknown>)[k] = merged;
    } else {
      (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

/** True when the jail has no option switched on. */
export function jailIsEmpty(j: JailOptions | undefined): boolean {
  if (!j) return true;
  return Object.entries(j).every(([, v]) => v === undefined || v === false || (Array.isArray(v) && v.length === 0));
}

/** Whether the launch builds a new root (so `cwd` is a path inside it). */
export function hasNewRoot(j: JailOptions): boolean {
  return !!(j.root || j.jailRoot || (j.binds && j.binds.length) || j.dev);
}

// ---- launcher arguments ------------------------------------------------------------------------

export interface LauncherContext {
  /** cgroup.procs files to join. */
  joins?: string[];
  /** Directories the supervisor removes after exit. */
  cleanup?: string[];
  /** The prepared jail root (overrides `root`). */
  root?: string;
  /** The pid to die with (dieWithParent). */
  parentPid?: number;
  /** Working directory inside the new root. */
  chdir?: string;
  /** The supervisor escalates to SIGKILL after this (0: never). */
  stopTimeoutMs?: number;
}

export function jailArgs(j: JailOptions, ctx: LauncherContext = {}): string[] {
  const a: string[] = [];
  if (j.dieWithParent) {
    a.push("--die-with-parent");
    if (ctx.parentPid) a.push("--parent-pid", String(ctx.parentPid));
  }
  if (j.newSession) a.push("--new-session");
  if (j.userns) {
    a.push("--userns");
    for (const m of j.uidMap ?? []) a.push("--uid-map", `${m.inside} ${m.outside} ${m.count}`);
    for (const m of j.gidMap ?? []) a.push("--gid-map", `${m.inside} ${m.outside} ${m.count}`);
  }
  if (j.pidns) a.push("--pidns");
  if (j.mountns) a.push("--mountns");
  const root = ctx.root ?? (j.root ? resolve(j.root) : undefined);
  if (root) a.push("--root", root);
  for (const b of j.binds ?? []) {
    const flag = b.mode === "rw" ? "--bind" : b.mode === "dev" ? "--dev-bind" : "--ro-bind";
    a.push(flag, b.src, b.dst ?? b.src);
  }
  if (j.dev) a.push("--dev");
  if (j.proc) a.push("--proc");
  if (j.tmp) a.push("--tmp");
  if (j.shm) a.push("--shm");
  for (const d of j.devices ?? []) a.push("--device", d);
  if (j.uid !== undefined) a.push("--uid", String(j.uid));
  if (j.gid !== undefined) a.push("--gid", String(j.gid));
  if (j.clearCaps) a.push("--clear-caps");
  for (const f of ctx.joins ?? []) a.push("--cgroup-join", f);
  for (const d of ctx.cleanup ?? []) a.push("--cgroup-cleanup", d);
  for (const [name, lim] of Object.entries(j.rlimits ?? {})) a.push("--rlimit", `${name}=${lim}`);
  if (j.landlock) {
    const l: LandlockOptions = j.landlock === true ? {} : j.landlock;
    a.push("--landlock");
    if (l.system ?? true) a.push("--landlock-system");
    if (l.scope === false) a.push("--landlock-no-scope");
    if (l.allowTcp) a.push("--landlock-allow-tcp");
    for (const p of l.ro ?? []) a.push("--landlock-ro", p);
    for (const p of l.rx ?? []) a.push("--landlock-rx", p);
    for (const p of l.rw ?? []) a.push("--landlock-rw", p);
  }
  if (ctx.chdir) a.push("--chdir", ctx.chdir);
  if (ctx.stopTimeoutMs) a.push("--stop-timeout", String(ctx.stopTimeoutMs));
  return a;
}
