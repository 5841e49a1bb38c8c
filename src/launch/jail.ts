// Jail options, declared once in JAIL_OPTIONS (name, type, CLI flag, SYSFENCE_JAIL_* variable,
// JSON key, launcher argument, doc line), and everything derived from that table: validation of
// JSON files and API objects (one schema: types, ranges from the C types the launcher uses,
// unknown keys refused with a suggestion, errors naming the file and JSON pointer), the launch
// command's flags, the variables, layering (file < environment < command line), the launcher's
// argument list and the README's table. Every option is off by default.
import { readBoundedText, SIZE_LIMITS } from "../read.js";
import { resolve } from "node:path";
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { INT, refuseUnknownKeys, suggestion, type IntRange } from "../validate.js";
import { parseBytes, parseCount, parseCpuMax, type CgroupOptions } from "./cgroup.js";
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
  /** New user namespace; maps default to "0 YOUR_UID 1" / "0 <your gid> 1". */
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

/** The largest uid/gid a jail may switch to: (uid_t)-1 = 4294967295 means "unchanged" to setresuid. */
export const MAX_ID = Number(INT.id.max);

/** setrlimit resources, as the launcher names them (launcher/src/creds.c). */
export const RLIMIT_NAMES = ["as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"] as const;

/** `NOFILE`, `nofile` and `RLIMIT_NOFILE` are one resource: its launcher name, or undefined. */
export function rlimitName(text: string): string | undefined {
  const n = text.trim().toLowerCase().replace(/^rlimit_/, "");
  return (RLIMIT_NAMES as readonly string[]).includes(n) ? n : undefined;
}

// ---- value types -----------------------------------------------------------------------------
// A type checks a JSON/API value (returning it as JailOptions holds it) and parses the text of a
// flag or a SYSFENCE_JAIL_* variable into such a value. `where` is the file and JSON pointer, the
// flag or the variable.

interface ValueType {
  /** How the value is written on a command line (empty for switches). */
  meta: string;
  /** Checks a value from JSON or code. */
  check(v: unknown, where: string): unknown;
  /** Parses flag or variable text (one flag occurrence, or one variable). */
  parse(text: string, where: string): unknown;
  /** Repeated flags append (and a variable holds a comma-separated list). */
  list?: boolean;
}

function fail(where: string, msg: string): never {
  throw new InputError(msg, where);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const split = (v: string, sep: RegExp = /,/) => v.split(sep).map((s) => s.trim()).filter(Boolean);

const bool: ValueType = {
  meta: "",
  check(v, where) {
    if (typeof v !== "boolean") fail(where, "must be true or false");
    return v;
  },
  parse(text, where) {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off|)$/i.test(text)) return false;
    return fail(where, `must be 1/true/yes/on or 0/false/no/off, not "${text}"`);
  },
};

/** An integer in `r`: JSON numbers must be exact (a safe integer), text is read as a BigInt. */
function int(r: IntRange, meta: string, message?: string): ValueType {
  const say = message ?? `must be an integer ${r.text}`;
  return {
    meta,
    check(v, where) {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || BigInt(v) < r.min || BigInt(v) > r.max) fail(where, say);
      return v;
    },
    parse(text, where) {
      if (!/^\d+$/.test(text.trim()) || BigInt(text.trim()) > r.max) fail(where, `${say}, not "${text}"`);
      return Number(text.trim());
    },
  };
}

// 4294967295 is (uid_t)-1, "unchanged" to setresuid; larger values wrap (2^32 is root).
const id = int(INT.id, "N", `must be an id 0..${INT.id.max} (4294967295 is (uid_t)-1, "unchanged")`);

function str(meta: string, absolute = false): ValueType {
  const say = absolute ? "must be an absolute path" : "must be a non-empty string";
  const ok = (v: unknown) => typeof v === "string" && v !== "" && (!absolute || v.startsWith("/"));
  return {
    meta,
    check(v, where) {
      if (!ok(v)) fail(where, say);
      return v;
    },
    parse(text, where) {
      if (!ok(text)) fail(where, `${say}, not "${text}"`);
      return text;
    },
  };
}

/** A list of strings (`allowed`: the only values). */
function strings(meta: string, allowed?: readonly string[], noun = "value"): ValueType {
  const one = (s: string, where: string) => {
    if (allowed && !allowed.includes(s)) fail(where, `unknown ${noun} "${s}"${suggestion(s, allowed)} (${allowed.join(" or ")})`);
    return s;
  };
  return {
    meta, list: true,
    check(v, where) {
      if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) fail(where, "must be an array of strings");
      return v.map((s, i) => one(s, `${where}/${i}`));
    },
    parse: (text, where) => split(text).map((s) => one(s, where)),
  };
}

function binds(mode: "ro" | "rw" | "dev"): ValueType {
  return {
    meta: "SRC[:DST]", list: true,
    check(v, where) {
      if (!Array.isArray(v)) fail(where, "must be an array of {src, dst?, mode?}");
      return v.map((b, i) => {
        const w = `${where}/${i}`;
        if (!isObj(b)) fail(w, "must be {src, dst?, mode?}");
        refuseUnknownKeys(b, ["src", "dst", "mode"], (k) => `${w}/${k}`, "option");
        if (typeof b.src !== "string" || !b.src.startsWith("/")) fail(`${w}/src`, "must be an absolute path");
        if (b.dst !== undefined && (typeof b.dst !== "string" || !b.dst.startsWith("/"))) fail(`${w}/dst`, "must be an absolute path");
        if (b.mode !== undefined && !["ro", "rw", "dev"].includes(b.mode as string)) fail(`${w}/mode`, 'must be "ro", "rw" or "dev"');
        return b;
      });
    },
    parse: (text) => split(text).map((s) => {
      const i = s.indexOf(":");
      return i < 0 ? { src: s, dst: undefined, mode } : { src: s.slice(0, i), dst: s.slice(i + 1) || undefined, mode };
    }),
  };
}

const idMap: ValueType = {
  meta: "INSIDE OUTSIDE COUNT", list: true,
  check(v, where) {
    if (!Array.isArray(v) || v.length === 0) fail(where, "must be a non-empty array of {inside, outside, count}");
    return v.map((m, i) => {
      if (!isObj(m)) fail(`${where}/${i}`, "must be {inside, outside, count}");
      refuseUnknownKeys(m, ["inside", "outside", "count"], (k) => `${where}/${i}/${k}`, "option");
      for (const f of ["inside", "outside", "count"]) {
        const n = m[f];
        if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > Number(INT.mapId.max)) fail(`${where}/${i}/${f}`, `must be an id (0..${INT.mapId.max})`);
      }
      return m;
    });
  },
  parse: (text, where) => split(text, /[;,]/).map((line) => {
    const p = line.split(/\s+/);
    if (p.length !== 3 || !p.every((x) => /^\d+$/.test(x) && BigInt(x) <= INT.mapId.max)) fail(where, `"${line}" is not "INSIDE OUTSIDE COUNT" (ids 0..${INT.mapId.max})`);
    return { inside: Number(p[0]), outside: Number(p[1]), count: Number(p[2]) };
  }),
};

/** One rlimit value: a count, "unlimited", or "SOFT:HARD" with SOFT <= HARD (rlim_t each). */
function checkLimit(lim: unknown, where: string): number | string {
  const say = `must be a count, "unlimited", or "SOFT:HARD" (each 0..${INT.rlim.max} or "unlimited")`;
  if (typeof lim === "number") {
    if (!Number.isSafeInteger(lim) || lim < 0) fail(where, say);
    return lim;
  }
  if (typeof lim !== "string") fail(where, say);
  const parts = lim.split(":");
  if (parts.length > 2) fail(where, say);
  const vals = parts.map((p) => {
    if (p === "unlimited") return INT.rlim.max + 1n;
    if (!/^\d+$/.test(p) || BigInt(p) > INT.rlim.max) fail(where, say);
    return BigInt(p);
  });
  if (vals.length === 2 && vals[0] > vals[1]) fail(where, `soft limit above the hard limit in "${lim}"`);
  return lim;
}

const rlimits: ValueType = {
  meta: "NAME=SOFT[:HARD]", list: true,
  check(v, where) {
    if (!isObj(v)) fail(where, 'must be an object like {"nofile": 1024, "core": "0:0"}');
    const out: Record<string, number | string> = {};
    for (const [name, lim] of Object.entries(v)) {
      const n = rlimitName(name);
      if (!n) fail(`${where}/${name}`, `unknown rlimit${suggestion(name.toLowerCase().replace(/^rlimit_/, ""), RLIMIT_NAMES)} (known: ${RLIMIT_NAMES.join(", ")}; NOFILE and RLIMIT_NOFILE work too)`);
      out[n] = checkLimit(lim, `${where}/${name}`);
    }
    return out;
  },
  parse(text, where) {
    const out: Record<string, number | string> = {};
    for (const item of split(text)) {
      const i = item.indexOf("=");
      if (i < 0) fail(where, `"${item}" is not NAME=SOFT[:HARD]`);
      const val = item.slice(i + 1);
      out[item.slice(0, i)] = /^\d+$/.test(val) && Number.isSafeInteger(Number(val)) ? Number(val) : val;
    }
    return out;
  },
};

/** A cgroup value checked by the same parser cgroup.ts applies (`test` throws on a bad one). */
function cgroupValue(meta: string, test: (v: string | number) => string, numbers = true): ValueType {
  const run = (v: unknown, where: string) => {
    if (typeof v !== "string" && !(numbers && typeof v === "number")) fail(where, numbers ? "must be a string or a number" : "must be a string");
    let r: string;
    try {
      r = test(v);
    } catch (e) {
      return fail(where, (e as Error).message.replace(/^\w+: /, ""));
    }
    if (/^\d+$/.test(r) && BigInt(r) > INT.s64.max) fail(where, `${r} is out of range 0..${INT.s64.max} (a cgroup limit)`);
    return v;
  };
  return { meta, check: run, parse: run };
}

const enumOf = (values: readonly (string | number)[], meta: string): ValueType => ({
  meta,
  check(v, where) {
    if (!values.includes(v as string | number)) fail(where, `must be ${values.map((x) => JSON.stringify(x)).join(", ")}`);
    return v;
  },
  parse(text, where) {
    const v = values.find((x) => String(x) === text);
    if (v === undefined) fail(where, `takes ${values.join(", ")}, not "${text}"`);
    return v;
  },
});

/** A switch that may also be an object of settings (cgroup, landlock): true, false or {...}. */
const onOrObject: ValueType = { ...bool, check: (v, where) => (isObj(v) ? v : bool.check(v, where)) };

// ---- the table ---------------------------------------------------------------------------------

/** Launcher arguments that come from the host, not from a jail option (see launcher/README.md). */
export const LAUNCHER_HOST_ARGS = [
  "--filter-fd", "--filter", "--no-tsync", "--log", "--spec-allow", "--diagnose", "--status-fd", "--parent-pid",
  "--chdir", "--cgroup-cleanup", "--probe",
] as const;

/** Launcher arguments for tests only (fault injection; launcher --help lists them apart): sysfence never passes them. */
export const LAUNCHER_TEST_ARGS = ["--fault-tsync"] as const;

/**
 * One jail option, declared once: its place in JailOptions (`key`, dotted for cgroup, landlock
 * and jailRoot fields), type, CLI flag, SYSFENCE_JAIL_* variable, launcher argument ("" when the
 * host applies it: cgroups, environment, the jail root) and doc line. Validation, flags,
 * variables, launcher arguments and the README table are all derived from JAIL_OPTIONS, in its
 * order (which is the order of the launcher's arguments).
 */
export interface JailOptionSpec {
  key: string;
  type: ValueType;
  flag: string;
  env: string;
  launcher: string;
  doc: string;
  /** `--no-…` flags: giving the flag sets the option to false. */
  negated?: boolean;
  /** Launcher arguments for the option's value (default: by type). */
  args?: (v: unknown, j: JailOptions, ctx: LauncherContext) => string[];
}

const none = () => [];

export const JAIL_OPTIONS: readonly JailOptionSpec[] = [
  { key: "dieWithParent", type: bool, flag: "--die-with-parent", env: "SYSFENCE_JAIL_DIE_WITH_PARENT", launcher: "--die-with-parent", doc: "SIGKILL the program when sysfence dies (PR_SET_PDEATHSIG, race-free)",
    args: (v, _j, ctx) => (v ? ["--die-with-parent", ...(ctx.parentPid ? ["--parent-pid", String(ctx.parentPid)] : [])] : []) },
  { key: "newSession", type: bool, flag: "--new-session", env: "SYSFENCE_JAIL_NEW_SESSION", launcher: "--new-session", doc: "setsid()" },
  { key: "userns", type: bool, flag: "--userns", env: "SYSFENCE_JAIL_USERNS", launcher: "--userns", doc: 'new user namespace (maps default to "0 YOUR_UID 1")' },
  { key: "uidMap", type: idMap, flag: "--uid-map", env: "SYSFENCE_JAIL_UID_MAP", launcher: "--uid-map", doc: "uid_map line (repeatable; needs userns)" },
  { key: "gidMap", type: idMap, flag: "--gid-map", env: "SYSFENCE_JAIL_GID_MAP", launcher: "--gid-map", doc: "gid_map line (repeatable; needs userns)" },
  { key: "pidns", type: bool, flag: "--pidns", env: "SYSFENCE_JAIL_PIDNS", launcher: "--pidns", doc: "new PID namespace with a minimal PID 1; /proc remounted" },
  { key: "mountns", type: bool, flag: "--mountns", env: "SYSFENCE_JAIL_MOUNTNS", launcher: "--mountns", doc: "private mount namespace (implied by every filesystem option)" },
  { key: "root", type: str("DIR"), flag: "--root", env: "SYSFENCE_JAIL_ROOT", launcher: "--root", doc: "pivot_root into DIR (default with binds or dev: a fresh tmpfs)",
    args: (v, _j, ctx) => (ctx.root ?? v ? ["--root", ctx.root ?? resolve(v as string)] : []) },
  // The three bind flags fill one list; the launcher gets them in list order (mount order matters).
  { key: "binds", type: binds("ro"), flag: "--ro-bind", env: "SYSFENCE_JAIL_RO_BINDS", launcher: "--ro-bind", doc: "read-only, nodev bind into the new root (repeatable)",
    args: (v) => ((v ?? []) as BindSpec[]).flatMap((b) => [b.mode === "rw" ? "--bind" : b.mode === "dev" ? "--dev-bind" : "--ro-bind", b.src, b.dst ?? b.src]) },
  { key: "binds", type: binds("rw"), flag: "--bind", env: "SYSFENCE_JAIL_BINDS", launcher: "--bind", doc: "read-write, nodev bind (repeatable)", args: none },
  { key: "binds", type: binds("dev"), flag: "--dev-bind", env: "SYSFENCE_JAIL_DEV_BINDS", launcher: "--dev-bind", doc: "bind with device access (repeatable)", args: none },
  { key: "dev", type: bool, flag: "--dev", env: "SYSFENCE_JAIL_DEV", launcher: "--dev", doc: "minimal /dev (null, zero, full, random, urandom, tty) in the new root" },
  { key: "proc", type: bool, flag: "--proc", env: "SYSFENCE_JAIL_PROC", launcher: "--proc", doc: "a new /proc" },
  { key: "tmp", type: bool, flag: "--tmp", env: "SYSFENCE_JAIL_TMP", launcher: "--tmp", doc: "private /tmp (tmpfs)" },
  { key: "shm", type: bool, flag: "--shm", env: "SYSFENCE_JAIL_SHM", launcher: "--shm", doc: "private /dev/shm (tmpfs)" },
  { key: "devices", type: strings("kvm|tun", ["kvm", "tun"], "device"), flag: "--device", env: "SYSFENCE_JAIL_DEVICES", launcher: "--device", doc: "create /dev/kvm or /dev/net/tun (repeatable)" },
  { key: "uid", type: id, flag: "--uid", env: "SYSFENCE_JAIL_UID", launcher: "--uid", doc: `switch to this uid (0..${INT.id.max}; inside the user namespace if any)` },
  { key: "gid", type: id, flag: "--gid", env: "SYSFENCE_JAIL_GID", launcher: "--gid", doc: `switch to this gid (0..${INT.id.max})` },
  { key: "clearCaps", type: bool, flag: "--clear-caps", env: "SYSFENCE_JAIL_CLEAR_CAPS", launcher: "--clear-caps", doc: "empty every capability set (bounding and ambient included)" },
  { key: "cgroup", type: onOrObject, flag: "--cgroup", env: "SYSFENCE_JAIL_CGROUP", launcher: "--cgroup-join", doc: "own cgroup, removed after exit (the host creates it; the launcher joins it)",
    args: (_v, _j, ctx) => [...(ctx.joins ?? []).flatMap((f) => ["--cgroup-join", f]), ...(ctx.cleanup ?? []).flatMap((d) => ["--cgroup-cleanup", d])] },
  { key: "cgroup.parent", type: str("PATH"), flag: "--cgroup-parent", env: "SYSFENCE_JAIL_CGROUP_PARENT", launcher: "", doc: "parent cgroup (default: sysfence's own)" },
  { key: "cgroup.version", type: enumOf(["auto", 1, 2], "auto|1|2"), flag: "--cgroup-version", env: "SYSFENCE_JAIL_CGROUP_VERSION", launcher: "", doc: "cgroup v2, v1, or auto (v2 where its controller is, else v1)" },
  { key: "cgroup.memoryMax", type: cgroupValue("SIZE", (v) => parseBytes(v, "memoryMax")), flag: "--memory-max", env: "SYSFENCE_JAIL_MEMORY_MAX", launcher: "", doc: 'memory.max: bytes, K/M/G/T suffix, or "max"' },
  { key: "cgroup.pidsMax", type: cgroupValue("N", (v) => parseCount(v, "pidsMax")), flag: "--pids-max", env: "SYSFENCE_JAIL_PIDS_MAX", launcher: "", doc: 'pids.max: a count or "max"' },
  { key: "cgroup.cpuMax", type: cgroupValue("QUOTA PERIOD", (v) => { const c = parseCpuMax(String(v)); return c.quota === "max" ? c.period : c.quota; }, false), flag: "--cpu-max", env: "SYSFENCE_JAIL_CPU_MAX", launcher: "", doc: 'cpu.max: "QUOTA PERIOD" in microseconds' },
  { key: "numaNode", type: int(INT.uint, "N"), flag: "--numa-node", env: "SYSFENCE_JAIL_NUMA_NODE", launcher: "", doc: "pin CPUs and memory to this NUMA node (cpuset, by the host)" },
  { key: "rlimits", type: rlimits, flag: "--rlimit", env: "SYSFENCE_JAIL_RLIMITS", launcher: "--rlimit", doc: "setrlimit: NOFILE, nofile or RLIMIT_NOFILE; \"unlimited\" allowed (repeatable)",
    args: (v) => Object.entries((v ?? {}) as Record<string, unknown>).flatMap(([name, lim]) => ["--rlimit", `${rlimitName(name) ?? name}=${lim}`]) },
  { key: "landlock", type: onOrObject, flag: "--landlock", env: "SYSFENCE_JAIL_LANDLOCK", launcher: "--landlock", doc: "Landlock: file access limited to the given paths", args: (v) => (v ? ["--landlock"] : []) },
  { key: "landlock.system", type: bool, flag: "--no-landlock-system", env: "SYSFENCE_JAIL_LANDLOCK_SYSTEM", launcher: "--landlock-system", negated: true,
    doc: "with false: leave out library directories and basic device nodes (default true)", args: (v, j) => (j.landlock && v !== false ? ["--landlock-system"] : []) },
  { key: "landlock.scope", type: bool, flag: "--no-landlock-scope", env: "SYSFENCE_JAIL_LANDLOCK_SCOPE", launcher: "--landlock-no-scope", negated: true,
    doc: "with false: do not scope abstract unix sockets and signals (default true)", args: (v, j) => (j.landlock && v === false ? ["--landlock-no-scope"] : []) },
  { key: "landlock.allowTcp", type: bool, flag: "--landlock-allow-tcp", env: "SYSFENCE_JAIL_LANDLOCK_ALLOW_TCP", launcher: "--landlock-allow-tcp", doc: "leave TCP bind/connect unrestricted" },
  { key: "landlock.ro", type: strings("PATH"), flag: "--landlock-ro", env: "SYSFENCE_JAIL_LANDLOCK_RO", launcher: "--landlock-ro", doc: "read-only path (repeatable)" },
  { key: "landlock.rx", type: strings("PATH"), flag: "--landlock-rx", env: "SYSFENCE_JAIL_LANDLOCK_RX", launcher: "--landlock-rx", doc: "read and execute path (repeatable)" },
  { key: "landlock.rw", type: strings("PATH"), flag: "--landlock-rw", env: "SYSFENCE_JAIL_LANDLOCK_RW", launcher: "--landlock-rw", doc: "read-write path (repeatable)" },
  { key: "clearEnv", type: bool, flag: "--clear-env", env: "SYSFENCE_JAIL_CLEAR_ENV", launcher: "", doc: "pass only --pass-env and --setenv variables (the host builds the environment)" },
  { key: "passEnv", type: strings("NAME"), flag: "--pass-env", env: "SYSFENCE_JAIL_PASS_ENV", launcher: "", doc: "keep this variable with clearEnv (repeatable)" },
  { key: "jailRoot.base", type: str("DIR"), flag: "--jail-base", env: "SYSFENCE_JAIL_BASE", launcher: "", doc: "per-VM jail root base directory, like Firecracker's jailer (with jailRoot.id)" },
  { key: "jailRoot.id", type: str("ID"), flag: "--jail-id", env: "SYSFENCE_JAIL_ID", launcher: "", doc: "VM id: the jail root is BASE/<cmd name>/ID/root" },
  { key: "jailRoot.files", type: strings("PATH"), flag: "--jail-file", env: "SYSFENCE_JAIL_FILES", launcher: "", doc: "file hard-linked into the jail root (repeatable)" },
  { key: "stopTimeoutMs", type: int(INT.uint, "MS"), flag: "--stop-timeout", env: "SYSFENCE_JAIL_STOP_TIMEOUT_MS", launcher: "--stop-timeout", doc: "supervisor: SIGKILL this long after SIGTERM/SIGINT (default 5000)",
    // The host passes it (and --chdir) last, and only to a supervisor.
    args: none },
];

/** The options of a jail object (or of its cgroup/landlock/jailRoot object when `parent` is given). */
function fieldsOf(parent?: string): Map<string, JailOptionSpec> {
  const m = new Map<string, JailOptionSpec>();
  for (const o of JAIL_OPTIONS) {
    const [a, b] = o.key.split(".");
    if (parent === undefined && !m.has(a)) m.set(a, b === undefined ? o : { ...o, key: a });
    if (parent !== undefined && a === parent && b !== undefined) m.set(b, o);
  }
  return m;
}

// ---- validation ------------------------------------------------------------------------------

function checkObject(v: Record<string, unknown>, fields: Map<string, JailOptionSpec>, where: string): Record<string, unknown> {
  refuseUnknownKeys(v, [...fields.keys()], (k) => `${where}/${k}`, "option");
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(v)) {
    if (value === undefined) continue;
    const spec = fields.get(k)!;
    const sub = fieldsOf(k);
    const w = `${where}/${k}`;
    if (spec.key.includes(".") || sub.size === 0) out[k] = spec.type.check(value, w);
    else if (isObj(value)) out[k] = checkObject(value, sub, w);
    else if (k === "jailRoot") fail(w, "must be {base, id, files?}");
    else out[k] = bool.check(value, w);
  }
  return out;
}

/**
 * Checks a jail object (from JSON, variables, flags or code) against JAIL_OPTIONS and returns it
 * typed, rlimit names normalised. Errors name `where` and the JSON pointer (`jail.json/uid`).
 * `layer`: one of several layers (file, variables, flags), so checks across options wait for
 * the merged jail (launch() validates it whole).
 */
export function validateJail(v: unknown, where = "jail", layer = false): JailOptions {
  if (!isObj(v)) fail(where, "a jail must be a JSON object");
  const j = checkObject(v, fieldsOf(), where) as JailOptions;
  if (j.jailRoot && (typeof j.jailRoot.base !== "string" || typeof j.jailRoot.id !== "string")) {
    fail(`${where}/jailRoot`, "base and id go together (both strings)");
  }
  // Accepted and ignored would be worse than refused: the maps only mean something in a user namespace.
  if (!layer) for (const k of ["uidMap", "gidMap"] as const) if (j[k] && !j.userns) fail(`${where}/${k}`, "needs userns: true");
  return j;
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
  return validateJail(json, path, true);
}

// ---- text (flags and variables) -> jail -------------------------------------------------------

/** `j` with one parsed option value added (through mergeJail: lists append, a cgroup/landlock field turns it on). */
function withOption(j: JailOptions, spec: JailOptionSpec, v: unknown, where: string): JailOptions {
  const [a, b] = spec.key.split(".");
  if (b !== undefined && (j as Record<string, unknown>)[a] === false) fail(where, `${a} is switched off here, so ${spec.key} would be ignored`);
  return mergeJail(j, { [a]: b === undefined ? v : { [b]: v } } as JailOptions);
}

/** Every SYSFENCE_JAIL_* variable and the value it takes (README: launch). */
export const JAIL_ENV: Record<string, string> = {
  SYSFENCE_JAIL_FILE: "a jail JSON file, read first",
  ...Object.fromEntries(JAIL_OPTIONS.map((o) => [o.env, o.type.meta ? (o.type.list ? `${o.type.meta},...` : o.type.meta) : "bool"])),
};

/**
 * The jail described by SYSFENCE_JAIL_* variables (SYSFENCE_JAIL_FILE first, the others on
 * top). An unknown SYSFENCE_JAIL_ name is an error, so a typo never silently weakens a jail.
 */
export function jailFromEnv(env: NodeJS.ProcessEnv = process.env): JailOptions {
  const known = Object.keys(JAIL_ENV);
  for (const n of Object.keys(env)) {
    if (n.startsWith("SYSFENCE_JAIL_") && !known.includes(n)) throw new InputError(`unknown jail variable${suggestion(n, known)} (known: ${known.join(", ")})`, n);
  }
  const file = env.SYSFENCE_JAIL_FILE;
  const base: JailOptions = file ? loadJailFile(file) : {};
  let o: JailOptions = {};
  for (const spec of JAIL_OPTIONS) {
    const text = env[spec.env];
    // An empty list or path variable is "not set"; an empty switch is false.
    if (text === undefined || (text === "" && spec.type !== bool)) continue;
    o = withOption(o, spec, spec.type.parse(text, spec.env), spec.env);
  }
  return mergeJail(base, validateJail(o, "SYSFENCE_JAIL_*", true));
}

/** commander's attribute for a flag: `--no-landlock-system` -> landlockSystem. */
function flagAttr(flag: string): string {
  return flag.replace(/^--(no-)?/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const many = (v: string, prev: string[]) => [...prev, v];

/** Adds every jail option's flag to a command (launch). */
export function addJailFlags(cmd: Command): Command {
  for (const o of JAIL_OPTIONS) {
    const meta = o.type.meta ? ` <${o.type.meta}>` : "";
    if (o.type.list) cmd.option(`${o.flag}${meta}`, o.doc, many, []);
    else cmd.option(`${o.flag}${meta}`, o.doc);
  }
  return cmd;
}

/** The jail given by the flags addJailFlags added (commander's parsed options). */
export function jailFromFlags(opts: Record<string, unknown>): JailOptions {
  let o: JailOptions = {};
  for (const spec of JAIL_OPTIONS) {
    const v = opts[flagAttr(spec.flag)];
    if (spec.negated) {
      if (v === false) o = withOption(o, spec, false, spec.flag);
    } else if (spec.type === bool || spec.type === onOrObject) {
      if (v === true) o = withOption(o, spec, true, spec.flag);
    } else {
      for (const text of Array.isArray(v) ? (v as string[]) : typeof v === "string" ? [v] : []) o = withOption(o, spec, spec.type.parse(text, spec.flag), spec.flag);
    }
  }
  if (o.jailRoot && !(o.jailRoot.base && o.jailRoot.id)) fail("--jail-base", "--jail-base and --jail-id go together (--jail-file needs both)");
  return validateJail(o, "command line", true);
}

/** The README's jail option table (markdown), rendered from JAIL_OPTIONS. */
export function jailOptionsMarkdown(): string {
  const rows = JAIL_OPTIONS.map((o) => {
    const meta = o.type.meta ? ` ${o.type.meta}` : "";
    const key = o.key.replace(".", "/");
    return `| \`${o.flag}${meta}\` | \`${key}\` | \`${o.env}\` | ${o.launcher ? `\`${o.launcher}\`` : "host"} | ${o.doc.replace(/\|/g, "\\|")} |`;
  });
  return ["| flag | JSON key | variable | launcher | what |", "|---|---|---|---|---|", ...rows].join("\n");
}

// ---- layering ------------------------------------------------------------------------------

/** One value over another: lists append, objects merge field by field, `true` keeps settings. */
function mergeValue(prev: unknown, v: unknown): unknown {
  if (Array.isArray(v) && Array.isArray(prev)) return [...prev, ...v];
  if (isObj(v) && (isObj(prev) || prev === true)) {
    const p = isObj(prev) ? prev : {};
    const m: Record<string, unknown> = { ...p };
    for (const [f, fv] of Object.entries(v)) if (fv !== undefined) m[f] = mergeValue(p[f], fv);
    return m;
  }
  if (v === true && isObj(prev)) return prev;
  return v;
}

/**
 * `over` on top of `base`: scalars replace, lists (binds, devices, passEnv, Landlock paths,
 * id maps) append, objects (cgroup, Landlock, rlimits, jailRoot) merge field by field, and a
 * plain `true` over an object keeps its settings.
 */
export function mergeJail(base: JailOptions, over: JailOptions): JailOptions {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = mergeValue(out[k], v);
  return out as JailOptions;
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

/** The value of a (dotted) JAIL_OPTIONS key in a jail. */
function valueAt(j: JailOptions, key: string): unknown {
  const [a, b] = key.split(".");
  const v = (j as Record<string, unknown>)[a];
  return b === undefined ? v : isObj(v) ? v[b] : undefined;
}

/** The launcher's arguments for a (validated) jail, in JAIL_OPTIONS order. */
export function jailArgs(j: JailOptions, ctx: LauncherContext = {}): string[] {
  const a: string[] = [];
  for (const spec of JAIL_OPTIONS) {
    const v = valueAt(j, spec.key);
    if (spec.args) a.push(...spec.args(v, j, ctx));
    else if (!spec.launcher || v === undefined || v === false) continue;
    else if (v === true) a.push(spec.launcher);
    else if (Array.isArray(v)) for (const x of v) a.push(spec.launcher, isObj(x) ? `${x.inside} ${x.outside} ${x.count}` : String(x));
    else a.push(spec.launcher, String(v));
  }
  if (ctx.chdir) a.push("--chdir", ctx.chdir);
  if (ctx.stopTimeoutMs) a.push("--stop-timeout", String(ctx.stopTimeoutMs));
  return a;
}
