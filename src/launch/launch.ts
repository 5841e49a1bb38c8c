// launch(): start a program (a VMM) under verified seccomp filters, in an optional jail,
// through the native launcher. Everything that can be refused is refused before anything
// starts (launch throws); after that the handle reports readiness, streams, and the exit, with
// a diagnosis when the program died of SIGSYS.
import { spawn, type ChildProcess, type StdioNull, type StdioPipe } from "node:child_process";
import { createHash } from "node:crypto";
import type { Readable, Writable, Stream } from "node:stream";
import { writeRaw } from "../formats/raw.js";
import { hostArch } from "../syscalls/arches.js";
import { InputError, SysfenceError, ExitCode } from "../errors.js";
import type { Program } from "../engine/program.js";
import { loadOne, loadPolicy, refuseBeforeStart, rewriteKillsToNotify, type FilterSource, type NamedProgram } from "./filters.js";
import { hasNewRoot, jailArgs, validateJail, type JailOptions } from "./jail.js";
import { createCgroups, removeCgroups, type CgroupOptions, type CgroupPlacement } from "./cgroup.js";
import { prepareJailRoot, removeJailRoot, type PreparedJailRoot } from "./jailroot.js";
import { requireLauncher } from "./binary.js";
import { attestOrKill } from "../live/attest.js";
import {
  confirmWithStack, kmsgDiagnosis, parseNotification, type BlockedCall, type Diagnosis, type DiagnoseMode,
} from "./diagnose.js";

type StdioEntry = StdioPipe | StdioNull | "inherit" | Stream | number | null | undefined;

export interface LaunchOptions {
  /** The filter: a Program, raw host-order bytes, or a FILTER file (any container; T@FILE). */
  filter?: FilterSource;
  /** A policy (seccompiler or OCI JSON), compiled for this machine: a path or { text, file }. */
  policy?: string | { text: string; file?: string };
  /** The thread of a policy or a thread map. */
  thread?: string;
  /** Phases installed before the filter, oldest first (each must allow seccomp and execve). */
  stack?: FilterSource[];
  jail?: JailOptions;
  /** The program and its arguments; argv[0] is looked up in PATH when it has no "/". */
  argv: string[];
  /** Environment (default: this process's; with jail.clearEnv: only this plus jail.passEnv). */
  env?: NodeJS.ProcessEnv;
  /** Working directory (inside the new root when the jail builds one). */
  cwd?: string;
  /** stdin, stdout, stderr like child_process.spawn (default "pipe"). */
  stdio?: "pipe" | "inherit" | "ignore" | [StdioEntry, StdioEntry, StdioEntry];
  /** seccomp filter flags: TSYNC (default true), LOG, SPEC_ALLOW. */
  tsync?: boolean;
  log?: boolean;
  specAllow?: boolean;
  /** SIGSYS diagnosis (default "kmsg"; see launcher/README.md). */
  diagnose?: DiagnoseMode;
  /** The launcher binary (default: the package's). */
  launcher?: string;
  /**
   * After the exec, read the program's stack back (ptrace; root) and prove it byte-identical,
   * in order, to the installed filters before `ready` resolves; on a mismatch the program is
   * killed and `ready` rejects saying why (src/live/attest.ts).
   */
  attest?: boolean;
}

/** The launcher failed before the program started (missing binary, jail step, filter). */
export class LaunchError extends SysfenceError {
  constructor(
    message: string,
    /** The launcher step: exec, filter, seccomp, mount, userns, cgroup, landlock, … */
    readonly stage: string,
    /** errno name (ENOENT, EPERM, …) or undefined. */
    readonly errno: string | undefined,
    /** The launcher's exit status: 125 (its own failure), 126 (cannot execute), 127 (not found). */
    readonly status: number,
  ) {
    super(message, { exitCode: ExitCode.ENVIRONMENT });
  }
}

export interface LaunchResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The program's pid (in exec mode the launcher's own pid). */
  vmmPid?: number;
  /** Set when the launcher failed before exec. */
  error?: LaunchError;
  /** When the program died of SIGSYS, or diagnose notify/permissive reported calls. */
  diagnosis?: Diagnosis;
  /** Launcher warnings and refusal notes. */
  warnings: string[];
  /** cgroups or jail directories that could not be removed. */
  leftovers: string[];
}

export interface LaunchHandle {
  /** The launcher's pid: the program's pid in exec mode (no PID namespace, no notify/permissive). */
  readonly pid: number;
  /** The program's pid, once known. */
  readonly vmmPid: number | undefined;
  /** Exec mode or supervisor mode. */
  readonly mode: "exec" | "supervisor";
  readonly child: ChildProcess;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves with the program's pid when it has been exec'd; rejects with a LaunchError. */
  readonly ready: Promise<number>;
  /** Resolves when the launcher has exited and the jail is torn down. Never rejects. */
  readonly exit: Promise<LaunchResult>;
  /** Files of a jail root: host path -> path inside the jail. */
  readonly jailFiles: Record<string, string>;
  /** The cgroup directories (for inspection while the program runs). */
  readonly cgroups: string[];
  kill(signal?: NodeJS.Signals | number): boolean;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5000). */
  stop(timeoutMs?: number): Promise<LaunchResult>;
}

function sha256hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function buildEnv(o: LaunchOptions, jail: JailOptions): NodeJS.ProcessEnv {
  if (!jail.clearEnv) return o.env ?? process.env;
  const env: NodeJS.ProcessEnv = {};
  for (const n of jail.passEnv ?? []) if (process.env[n] !== undefined) env[n] = process.env[n];
  Object.assign(env, o.env ?? {});
  return env;
}

function stdioOf(s: LaunchOptions["stdio"]): StdioEntry[] {
  if (s === undefined || typeof s === "string") return [s ?? "pipe", s ?? "pipe", s ?? "pipe"];
  return [...s];
}

/** Loads and checks the filters of a launch (oldest first): what launch() installs. */
export function launchStack(o: Pick<LaunchOptions, "filter" | "policy" | "thread" | "stack">): NamedProgram[] {
  const arch = hostArch();
  if (o.filter !== undefined && o.policy !== undefined) throw new InputError("give a filter or a policy, not both");
  const stack = (o.stack ?? []).map((s, i) => loadOne(s, arch, `phase ${i + 1}`));
  if (o.filter !== undefined) stack.push(loadOne(o.filter, arch, "filter", o.thread));
  if (o.policy !== undefined) stack.push(loadPolicy(o.policy, o.thread, arch));
  return stack;
}

export function launch(o: LaunchOptions): LaunchHandle {
  if (!Array.isArray(o.argv) || o.argv.length === 0 || typeof o.argv[0] !== "string" || o.argv[0] === "") {
    throw new InputError("argv is empty: nothing to launch");
  }
  const arch = hostArch();
  const jail = validateJail(o.jail ?? {}, "jail");
  const diagnose: DiagnoseMode = o.diagnose ?? "kmsg";
  if (!["off", "kmsg", "notify", "permissive"].includes(diagnose)) throw new InputError(`diagnose must be off, kmsg, notify or permissive, not "${diagnose}"`);
  const notifyMode = diagnose === "notify" || diagnose === "permissive";

  // ---- refusals before anything starts ----
  const stack = launchStack(o);
  if (notifyMode && stack.length === 0) throw new InputError(`diagnose ${diagnose} needs a filter`);
  const warnings = refuseBeforeStart(stack, { arch, needsUserNotif: notifyMode });
  const original: Program[] = stack.map((f) => f.program);
  const installed = [...original];
  if (notifyMode) {
    const r = rewriteKillsToNotify(installed[installed.length - 1]);
    installed[installed.length - 1] = r.program;
    if (r.retA) warnings.push("diagnose: the newest filter returns computed values (RET A); kills it computes are not reported");
    if (installed.length > 1) warnings.push("diagnose: kills by older phases (--stack) stay kills; the kernel log (kmsg) still names them");
  }
  const launcher = requireLauncher(o.launcher);
  const supervisor = !!jail.pidns || notifyMode;
  const env = buildEnv(o, jail);
  const newRoot = hasNewRoot(jail);

  // ---- host-side jail pieces (undone on any failure) ----
  let jr: PreparedJailRoot | undefined;
  let cg: CgroupPlacement | undefined;
  try {
    if (jail.jailRoot) jr = prepareJailRoot(jail.jailRoot, o.argv[0], { uid: jail.uid, gid: jail.gid });
    if (jail.cgroup || jail.numaNode !== undefined) {
      const cgo: CgroupOptions = typeof jail.cgroup === "object" ? jail.cgroup : {};
      cg = createCgroups(cgo, jail.numaNode);
    }
  } catch (e) {
    if (jr) removeJailRoot(jr);
    throw e;
  }

  const bytes = installed.map((p) => writeRaw(p, arch.endian));
  const args: string[] = [];
  if (bytes.length) {
    args.push("--filter-fd", "3");
    for (const b of bytes) args.push("--filter", `${b.length}:${sha256hex(b)}`);
  }
  args.push("--status-fd", "4");
  if (o.tsync === false) args.push("--no-tsync");
  if (o.log) args.push("--log");
  if (o.specAllow) args.push("--spec-allow");
  if (notifyMode) args.push("--diagnose", diagnose);
  args.push(...jailArgs(jail, {
    joins: cg?.joins,
    cleanup: supervisor ? cg?.dirs : undefined,
    root: jr?.root,
    parentPid: process.pid,
    chdir: newRoot ? o.cwd ?? "/" : undefined,
    stopTimeoutMs: supervisor ? jail.stopTimeoutMs ?? 5000 : 0,
  }));
  args.push("--", ...o.argv);

  const startedAt = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(launcher, args, {
      stdio: [...stdioOf(o.stdio), bytes.length ? "pipe" : "ignore", "pipe"] as never,
      env,
      cwd: newRoot ? undefined : o.cwd,
    });
  } catch (e) {
    if (jr) removeJailRoot(jr);
    if (cg) void removeCgroups(cg.dirs);
    throw e;
  }

  let vmmPid: number | undefined = supervisor ? undefined : child.pid;
  let launchError: LaunchError | undefined;
  let sawReady = false;
  const calls: BlockedCall[] = [];
  let resolveReady!: (pid: number) => void;
  let rejectReady!: (e: Error) => void;
  let readySettled = false;
  const ready = new Promise<number>((res, rej) => {
    resolveReady = (p) => {
      if (!readySettled) {
        readySettled = true;
        res(p);
      }
    };
    rejectReady = (e) => {
      if (!readySettled) {
        readySettled = true;
        rej(e);
      }
    };
  });
  ready.catch(() => undefined); // callers that never look at ready must not see an unhandled rejection
  const readyOut = o.attest ? ready.then((pid) => (attestOrKill(pid, installed, () => child.kill("SIGKILL")), pid)) : ready;
  readyOut.catch(() => undefined);

  // Filters: written at once; the launcher checks length and SHA-256 against its arguments.
  if (bytes.length) {
    const w = child.stdio[3] as Writable;
    w.on("error", () => undefined); // the launcher may exit before reading (bad usage)
    w.end(Buffer.concat(bytes.map((b) => Buffer.from(b))));
  }

  // Status lines.
  const status = child.stdio[4] as Readable;
  let pending = "";
  const onLine = (line: string) => {
    const kind = line[0];
    if (kind === "E") {
      const m = /^E (\d+) (\S+) (\S+)\t(.*)$/.exec(line);
      if (m) {
        const errno = m[2] === "-" ? undefined : m[2];
        launchError = new LaunchError(`${m[3]}: ${m[4]}${errno ? ` (${errno})` : ""}`, m[3], errno, Number(m[1]));
        rejectReady(launchError);
      }
    } else if (kind === "W") {
      warnings.push(line.slice(2));
    } else if (kind === "R") {
      sawReady = true;
    } else if (kind === "P") {
      vmmPid = Number(line.slice(2));
    } else if (kind === "X") {
      if (!launchError && vmmPid) resolveReady(vmmPid);
    } else if (kind === "N") {
      const c = parseNotification(line, diagnose === "permissive" ? "permissive" : "notify");
      if (c) calls.push(c);
    }
  };
  const statusEnded = new Promise<void>((res) => {
    status.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    status.on("end", () => {
      if (pending) onLine(pending);
      pending = "";
      // Exec mode: EOF after "R" without an error line means the exec happened.
      if (!supervisor && sawReady && !launchError && child.pid) resolveReady(child.pid);
      res();
    });
    status.on("error", () => res());
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((res) => {
    child.once("exit", (code, signal) => res({ code, signal }));
    child.once("error", (e) => res({ code: null, signal: null, spawnError: e }));
  });

  const exit = (async (): Promise<LaunchResult> => {
    const { code, signal, spawnError } = await exited;
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([statusEnded, new Promise((r) => (graceTimer = setTimeout(r, 2000)))]);
    clearTimeout(graceTimer);
    if (spawnError && !launchError) {
      launchError = new LaunchError(`cannot start the launcher ${launcher}: ${spawnError.message}`, "spawn", (spawnError as NodeJS.ErrnoException).code, 125);
    }
    if (!readySettled) {
      rejectReady(launchError ?? new LaunchError(
        `the launcher ended (${signal ?? `exit ${code}`}) before the program started`, "launch", undefined, code ?? 125,
      ));
    }
    const leftovers: string[] = [];
    if (cg) leftovers.push(...(await removeCgroups(cg.dirs)));
    if (jr) {
      try {
        removeJailRoot(jr);
      } catch {
        leftovers.push(jr.vmDir);
      }
    }
    let diagnosis: Diagnosis | undefined;
    if (calls.length > 0) {
      confirmWithStack(calls, original);
      diagnosis = { mode: diagnose, calls };
    } else if (signal === "SIGSYS" && diagnose !== "off") {
      diagnosis = await kmsgDiagnosis([vmmPid ?? child.pid ?? -1, child.pid ?? -1], startedAt);
    }
    return { code, signal, vmmPid, error: launchError, diagnosis, warnings, leftovers };
  })();

  const handle: LaunchHandle = {
    pid: child.pid ?? -1,
    get vmmPid() {
      return vmmPid;
    },
    mode: supervisor ? "supervisor" : "exec",
    child,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    ready: readyOut,
    exit,
    jailFiles: jr?.files ?? {},
    cgroups: cg?.dirs ?? [],
    kill: (signal = "SIGTERM") => child.kill(signal),
    stop: (timeoutMs = 5000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        void exit.then(() => clearTimeout(t));
      }
      return exit;
    },
  };
  return handle;
}
