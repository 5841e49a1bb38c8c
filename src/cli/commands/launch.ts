// `sysfence launch [--policy P --thread T | --filter BPF] [--stack PHASE]... [jail flags] -- CMD ARGS…`
// Starts CMD under the filter(s) through the native launcher and exits with its status: the
// same code, or 128+N when it was killed by signal N (a diagnosis is printed for SIGSYS).
import type { Command } from "commander";
import { constants } from "node:os";
import { launch, launchStack, LaunchError } from "../../launch/launch.js";
import { refuseBeforeStart } from "../../launch/filters.js";
import { jailFromEnv, loadJailFile, mergeJail, validateJail, type BindSpec, type IdMapEntry, type JailOptions, type LandlockOptions } from "../../launch/jail.js";
import type { CgroupOptions } from "../../launch/cgroup.js";
import { formatCall, type DiagnoseMode } from "../../launch/diagnose.js";
import { InputError, SysfenceError } from "../../errors.js";
import { err, out } from "../common.js";

const many = (v: string, prev: string[]) => [...prev, v];

interface LaunchCliOptions {
  filter?: string;
  policy?: string;
  thread?: string;
  stack: string[];
  log?: boolean;
  attest?: boolean;
  specAllow?: boolean;
  tsync: boolean;
  diagnose: string;
  check?: boolean;
  jail?: string;
  userns?: boolean;
  uidMap: string[];
  gidMap: string[];
  pidns?: boolean;
  mountns?: boolean;
  root?: string;
  roBind: string[];
  bind: string[];
  devBind: string[];
  dev?: boolean;
  proc?: boolean;
  tmp?: boolean;
  shm?: boolean;
  device: string[];
  uid?: string;
  gid?: string;
  clearCaps?: boolean;
  cgroup?: boolean;
  cgroupParent?: string;
  cgroupVersion?: string;
  memoryMax?: string;
  pidsMax?: string;
  cpuMax?: string;
  numaNode?: string;
  rlimit: string[];
  dieWithParent?: boolean;
  newSession?: boolean;
  clearEnv?: boolean;
  passEnv: string[];
  setenv: string[];
  landlock?: boolean;
  landlockRo: string[];
  landlockRx: string[];
  landlockRw: string[];
  landlockSystem: boolean;
  landlockScope: boolean;
  landlockAllowTcp?: boolean;
  jailBase?: string;
  jailId?: string;
  jailFile: string[];
  stopTimeout?: string;
  chdir?: string;
}

function uint(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InputError(`${flag} takes a non-negative integer, not "${v}"`);
  return Number(v);
}

function binds(list: string[], mode: BindSpec["mode"]): BindSpec[] {
  return list.map((s) => {
    const i = s.indexOf(":");
    return i < 0 ? { src: s, mode } : { src: s.slice(0, i), dst: s.slice(i + 1), mode };
  });
}

function idMaps(list: string[], flag: string): IdMapEntry[] | undefined {
  if (list.length === 0) return undefined;
  return list.map((l) => {
    const p = l.trim().split(/\s+/);
    if (p.length !== 3 || !p.every((x) => /^\d+$/.test(x))) throw new InputError(`${flag} takes "INSIDE OUTSIDE COUNT", not "${l}"`);
    return { inside: Number(p[0]), outside: Number(p[1]), count: Number(p[2]) };
  });
}

/** The jail given by flags alone. */
export function jailFromFlags(o: LaunchCliOptions): JailOptions {
  const j: JailOptions = {};
  if (o.userns) j.userns = true;
  j.uidMap = idMaps(o.uidMap, "--uid-map");
  j.gidMap = idMaps(o.gidMap, "--gid-map");
  if (o.pidns) j.pidns = true;
  if (o.mountns) j.mountns = true;
  if (o.root) j.root = o.root;
  const b = [...binds(o.roBind, "ro"), ...binds(o.bind, "rw"), ...binds(o.devBind, "dev")];
  if (b.length) j.binds = b;
  if (o.dev) j.dev = true;
  if (o.proc) j.proc = true;
  if (o.tmp) j.tmp = true;
  if (o.shm) j.shm = true;
  if (o.device.length) j.devices = o.device as JailOptions["devices"];
  j.uid = uint(o.uid, "--uid");
  j.gid = uint(o.gid, "--gid");
  if (o.clearCaps) j.clearCaps = true;
  const cg: CgroupOptions = {};
  if (o.cgroupParent) cg.parent = o.cgroupParent;
  if (o.cgroupVersion) {
    if (!["auto", "1", "2"].includes(o.cgroupVersion)) throw new InputError(`--cgroup-version takes auto, 1 or 2, not "${o.cgroupVersion}"`);
    cg.version = o.cgroupVersion === "auto" ? "auto" : (Number(o.cgroupVersion) as 1 | 2);
  }
  if (o.memoryMax) cg.memoryMax = o.memoryMax;
  if (o.pidsMax) cg.pidsMax = o.pidsMax;
  if (o.cpuMax) cg.cpuMax = o.cpuMax;
  if (Object.keys(cg).length) j.cgroup = cg;
  else if (o.cgroup) j.cgroup = true;
  j.numaNode = uint(o.numaNode, "--numa-node");
  if (o.rlimit.length) {
    j.rlimits = {};
    for (const r of o.rlimit) {
      const i = r.indexOf("=");
      if (i < 0) throw new InputError(`--rlimit takes NAME=SOFT[:HARD], not "${r}"`);
      const v = r.slice(i + 1);
      j.rlimits[r.slice(0, i)] = /^\d+$/.test(v) ? Number(v) : v;
    }
  }
  if (o.dieWithParent) j.dieWithParent = true;
  if (o.newSession) j.newSession = true;
  if (o.clearEnv) j.clearEnv = true;
  if (o.passEnv.length) j.passEnv = o.passEnv;
  const ll: LandlockOptions = {};
  if (o.landlockRo.length) ll.ro = o.landlockRo;
  if (o.landlockRx.length) ll.rx = o.landlockRx;
  if (o.landlockRw.length) ll.rw = o.landlockRw;
  if (!o.landlockSystem) ll.system = false;
  if (!o.landlockScope) ll.scope = false;
  if (o.landlockAllowTcp) ll.allowTcp = true;
  if (o.landlock || Object.keys(ll).length) j.landlock = Object.keys(ll).length ? ll : true;
  if (o.jailBase || o.jailId) {
    if (!o.jailBase || !o.jailId) throw new InputError("--jail-base and --jail-id go together");
    j.jailRoot = { base: o.jailBase, id: o.jailId, files: o.jailFile.length ? o.jailFile : undefined };
  } else if (o.jailFile.length) {
    throw new InputError("--jail-file needs --jail-base and --jail-id");
  }
  j.stopTimeoutMs = uint(o.stopTimeout, "--stop-timeout");
  for (const k of Object.keys(j) as (keyof JailOptions)[]) if (j[k] === undefined) delete j[k];
  return validateJail(j, "command line");
}

export function launchCommand(program: Command): void {
  program
    .command("launch")
    .description("run CMD under a verified filter, in an optional jail, through the native launcher (exit status mirrors CMD's)")
    .argument("<cmd...>", "the program and its arguments, after --")
    .option("--filter <FILTER>", "filter for CMD (any container; T@FILE picks a thread)")
    .option("--policy <FILE>", "policy JSON (seccompiler or OCI), compiled for this machine")
    .option("--thread <T>", "thread of the policy or thread map")
    .option("--stack <FILTER>", "an older phase installed before the filter (repeatable, oldest first)", many, [])
    .option("--log", "SECCOMP_FILTER_FLAG_LOG")
    .option("--attest", "after the exec, read CMD's filters back and prove them byte-identical to the verified ones (root); a mismatch kills CMD")
    .option("--spec-allow", "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
    .option("--no-tsync", "install without TSYNC")
    .option("--diagnose <MODE>", "SIGSYS diagnosis: kmsg (default), notify, permissive, off", "kmsg")
    .option("--check", "refuse or accept the filters and jail, start nothing")
    .option("--jail <FILE>", "jail options from a JSON file (then SYSFENCE_JAIL_* variables, then these flags)")
    .option("--userns", "new user namespace")
    .option("--uid-map <MAP>", '"INSIDE OUTSIDE COUNT" (repeatable)', many, [])
    .option("--gid-map <MAP>", '"INSIDE OUTSIDE COUNT" (repeatable)', many, [])
    .option("--pidns", "new PID namespace with a minimal PID 1; /proc remounted")
    .option("--mountns", "private mount namespace")
    .option("--root <DIR>", "pivot_root into DIR")
    .option("--ro-bind <SRC[:DST]>", "read-only bind into the new root (repeatable)", many, [])
    .option("--bind <SRC[:DST]>", "read-write bind (repeatable)", many, [])
    .option("--dev-bind <SRC[:DST]>", "bind with device access (repeatable)", many, [])
    .option("--dev", "minimal /dev in the new root")
    .option("--proc", "new /proc")
    .option("--tmp", "private /tmp")
    .option("--shm", "private /dev/shm")
    .option("--device <NAME>", "create /dev/kvm (kvm) or /dev/net/tun (tun) (repeatable)", many, [])
    .option("--uid <N>", "switch to uid N")
    .option("--gid <N>", "switch to gid N")
    .option("--clear-caps", "clear every capability set")
    .option("--cgroup", "own cgroup, removed after exit")
    .option("--cgroup-parent <PATH>", "parent cgroup (default: ours)")
    .option("--cgroup-version <V>", "auto (default), 1 or 2")
    .option("--memory-max <SIZE>", "memory.max")
    .option("--pids-max <N>", "pids.max")
    .option("--cpu-max <QUOTA PERIOD>", "cpu.max")
    .option("--numa-node <N>", "pin CPUs and memory to NUMA node N (cpuset)")
    .option("--rlimit <NAME=SOFT[:HARD]>", "setrlimit (repeatable)", many, [])
    .option("--die-with-parent", "SIGKILL CMD when sysfence dies")
    .option("--new-session", "setsid()")
    .option("--clear-env", "pass only --pass-env and --setenv variables")
    .option("--pass-env <NAME>", "keep this variable with --clear-env (repeatable)", many, [])
    .option("--setenv <NAME=VALUE>", "set a variable (repeatable)", many, [])
    .option("--landlock", "Landlock: file access limited to the given paths")
    .option("--landlock-ro <PATH>", "read-only path (repeatable)", many, [])
    .option("--landlock-rx <PATH>", "read+execute path (repeatable)", many, [])
    .option("--landlock-rw <PATH>", "read-write path (repeatable)", many, [])
    .option("--no-landlock-system", "do not add library directories and basic device nodes")
    .option("--no-landlock-scope", "do not scope abstract unix sockets and signals")
    .option("--landlock-allow-tcp", "leave TCP bind/connect unrestricted")
    .option("--jail-base <DIR>", "per-VM jail root base directory (with --jail-id)")
    .option("--jail-id <ID>", "VM id: the jail root is DIR/<cmd name>/<ID>/root")
    .option("--jail-file <PATH>", "file hard-linked into the jail root (repeatable)", many, [])
    .option("--stop-timeout <MS>", "SIGKILL this long after SIGTERM/SIGINT (default 5000)")
    .option("--chdir <DIR>", "working directory of CMD")
    .action(async (cmd: string[], o: LaunchCliOptions) => {
      if (o.filter && o.policy) throw new InputError("give --filter or --policy, not both");
      const diagnose = o.diagnose as DiagnoseMode;
      if (!["off", "kmsg", "notify", "permissive"].includes(diagnose)) throw new InputError(`--diagnose takes kmsg, notify, permissive or off, not "${o.diagnose}"`);
      let jail: JailOptions = o.jail ? loadJailFile(o.jail) : {};
      jail = mergeJail(jail, jailFromEnv());
      jail = mergeJail(jail, jailFromFlags(o));
      const env: NodeJS.ProcessEnv = jail.clearEnv ? {} : { ...process.env };
      for (const s of o.setenv) {
        const i = s.indexOf("=");
        if (i <= 0) throw new InputError(`--setenv takes NAME=VALUE, not "${s}"`);
        env[s.slice(0, i)] = s.slice(i + 1);
      }
      for (const k of Object.keys(env)) if (k.startsWith("SYSFENCE_JAIL_")) delete env[k];
      const opts = {
        filter: o.filter, policy: o.policy, thread: o.thread, stack: o.stack, jail, argv: cmd, env,
        cwd: o.chdir, tsync: o.tsync, log: o.log, specAllow: o.specAllow, diagnose, stdio: "inherit" as const,
        attest: o.attest,
      };
      if (o.check) {
        const stack = launchStack(opts);
        for (const w of refuseBeforeStart(stack, { needsUserNotif: diagnose === "notify" || diagnose === "permissive" })) err(`sysfence: warning: ${w}`);
        out(`ok: ${stack.length} filter(s) (${stack.map((f) => `${f.label}: ${f.program.length} instructions`).join(", ") || "none"}); jail ${JSON.stringify(jail)}`);
        return;
      }
      const h = launch(opts);
      let attestError: SysfenceError | undefined;
      if (o.attest) {
        h.ready.then(
          (pid) => err(`sysfence: attest: process ${pid} runs the verified filters, byte-identical and in order`),
          (e) => { if (e instanceof SysfenceError && !(e instanceof LaunchError)) attestError = e; },
        );
      }
      const timeout = jail.stopTimeoutMs ?? 5000;
      let killTimer: NodeJS.Timeout | undefined;
      const forward = (sig: NodeJS.Signals) => {
        h.kill(sig);
        if ((sig === "SIGTERM" || sig === "SIGINT") && !killTimer && timeout > 0) {
          killTimer = setTimeout(() => h.kill("SIGKILL"), timeout);
        }
      };
      const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
      for (const s of sigs) process.on(s, forward);
      const r = await h.exit;
      for (const s of sigs) process.off(s, forward);
      if (killTimer) clearTimeout(killTimer);
      for (const w of r.warnings) err(`sysfence: warning: ${w}`);
      for (const l of r.leftovers) err(`sysfence: warning: could not remove ${l}`);
      if (r.error) err(`sysfence: launch: ${r.error.message}`);
      if (attestError) {
        err(`sysfence: ${attestError.oneLine()}`);
        process.exitCode = attestError.exitCode;
        return;
      }
      if (r.diagnosis) {
        const d = r.diagnosis;
        const head = r.signal === "SIGSYS" ? `${cmd[0]} was killed by SIGSYS (seccomp)` : `diagnose ${d.mode}`;
        if (d.calls.length === 0) err(`sysfence: ${head}; ${d.note ?? "no call was reported"}`);
        else {
          err(`sysfence: ${head}: ${d.mode === "permissive" ? "the filter would have killed" : "blocked"} ${d.calls.length === 1 ? "this call" : `${d.calls.length} calls`}:`);
          for (const c of d.calls) err(`  ${formatCall(c)}`);
        }
      }
      process.exitCode = r.code ?? 128 + ((r.signal && constants.signals[r.signal]) || 0);
    });
}
