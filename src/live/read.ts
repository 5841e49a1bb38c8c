// Live filters: the seccomp stacks of running threads as Programs, oldest first, with their
// flags, grouped by content across the threads of a process. Every refusal is an
// EnvironmentError (exit 4) saying why, checked up front from /proc where possible (so the
// target is not even stopped) and else mapped from the kernel's errno.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { Program } from "../engine/program.js";
import { EnvironmentError, InputError } from "../errors.js";
import { processState } from "../native/probe.js";
import { readThreadStack, PtraceError, SECCOMP_FILTER_FLAG_LOG } from "./ptrace.js";

/** One filter of a stack. */
export interface LiveFilter {
  /** Position in the stack, oldest first (the kernel's own PTRACE_SECCOMP_GET_FILTER index). */
  index: number;
  program: Program;
  /** Flags the kernel keeps per filter (PTRACE_SECCOMP_GET_METADATA): today only "LOG". */
  flags: string[];
  /** SHA-256 of the canonical little-endian bytes. */
  sha256: string;
}

/** Threads whose stacks have identical content. */
export interface LiveStack {
  tids: number[];
  filters: LiveFilter[];
  /** Content hash of the whole stack (flags and bytes of every filter, in order); 16 hex digits. */
  hash: string;
}

export interface LiveProcess {
  pid: number;
  /** The process name (`/proc/PID/comm`). */
  name: string;
  /** Threads read, in /proc/PID/task order. */
  tids: number[];
  /** The distinct stacks, in order of their first thread. */
  stacks: LiveStack[];
  /**
   * Every thread of the thread group has the same stack. Undefined when only one thread was
   * read (`tid` given): the others were not stopped to compare.
   */
  sharedByGroup: boolean | undefined;
}

export interface ReadLiveOptions {
  /** Read this thread only (it must belong to `pid`). */
  tid?: number;
}

const CAP_SYS_ADMIN = 21;

/** Why this process cannot read filters of others, or undefined when it can. */
export function liveReadRefusal(): string | undefined {
  if (process.platform !== "linux") return `reading live filters needs Linux (this is ${process.platform})`;
  let status: string;
  try {
    status = readFileSync("/proc/self/status", "utf8");
  } catch {
    return "cannot read /proc/self/status (is /proc mounted?)";
  }
  const field = (n: string) => new RegExp(`^${n}:\\s*(\\S+)`, "m").exec(status)?.[1];
  const mode = Number(field("Seccomp") ?? 0);
  if (mode !== 0) {
    return "sysfence itself runs under seccomp; the kernel hands filters only to an unfiltered tracer (EACCES)";
  }
  const uidMap = readOr("/proc/self/uid_map").trim().split(/\s+/).join(" ");
  if (uidMap !== "" && uidMap !== "0 0 4294967295") {
    return "sysfence runs in a user namespace (rootless); the kernel requires CAP_SYS_ADMIN in the initial user namespace";
  }
  const capEff = BigInt("0x" + (field("CapEff") ?? "0"));
  if (((capEff >> BigInt(CAP_SYS_ADMIN)) & 1n) === 0n) {
    return `needs root or CAP_SYS_ADMIN (this is uid ${process.getuid?.()} without it)`;
  }
  return undefined;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function statusField(status: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1].trim();
}

/** Refusals about the target thread, from its /proc status (nothing is stopped). */
function targetRefusal(pid: number, tid: number): string | undefined {
  const label = tid === pid ? `process ${pid}` : `thread ${pid}/${tid}`;
  if (tid === process.pid) return `${label} is sysfence itself`;
  const status = readOr(`/proc/${pid}/task/${tid}/status`);
  if (status === "") return `${label} does not exist (or has exited)`;
  const state = statusField(status, "State") ?? "";
  if (state.startsWith("Z") || state.startsWith("X")) return `${label} has exited`;
  const tracer = Number(statusField(status, "TracerPid") ?? 0);
  if (tracer !== 0) return `${label} is already traced by process ${tracer} (a debugger or strace); a thread has one tracer at a time`;
  if (statusField(status, "Seccomp") === "1") {
    return `${label} is in strict seccomp mode: it has no filters to read (the kernel answers EINVAL)`;
  }
  return undefined;
}

function errnoSentence(label: string, e: PtraceError): string {
  switch (e.errno) {
    case 1: return `${label}: not permitted to trace it (${e.step}: EPERM; Yama ptrace_scope, a foreign user namespace, or another tracer)`;
    case 3: return `${label} exited while being read (${e.step}: ESRCH)`;
    case 5: return `this kernel cannot hand out filters (${e.step}: EIO): it lacks CONFIG_CHECKPOINT_RESTORE`;
    case 13: return `${label}: the kernel refused (${e.step}: EACCES): needs CAP_SYS_ADMIN in the initial user namespace and sysfence not under seccomp`;
    case 22: return `${label} is not in seccomp filter mode (${e.step}: EINVAL; strict mode has no filters to read)`;
    case 110: return `${label} did not stop within the time limit (uninterruptible sleep?); nothing was read`;
    default: return `${label}: ${e.step} failed with errno ${e.errno}`;
  }
}

/** The threads of `pid` (`/proc/PID/task`), main thread first. */
export function threadsOf(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/task`);
  } catch {
    throw new EnvironmentError(`process ${pid} does not exist (or has exited)`);
  }
  return names.map(Number).filter((t) => Number.isInteger(t)).sort((a, b) => (a === pid ? -1 : b === pid ? 1 : a - b));
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The content hash of a stack: flags, length and bytes of each filter, oldest first. */
export function stackHash(filters: readonly LiveFilter[]): string {
  const h = createHash("sha256");
  for (const f of filters) {
    h.update(`${f.flags.join(",")}:${f.program.length}:`);
    h.update(f.program.bytes);
  }
  return h.digest("hex").slice(0, 16);
}

/** Reads one thread's stack, oldest first. Throws EnvironmentError with the reason. */
export function readThread(pid: number, tid: number): LiveFilter[] {
  const label = tid === pid ? `process ${pid}` : `thread ${pid}/${tid}`;
  const why = liveReadRefusal() ?? targetRefusal(pid, tid);
  if (why) throw new EnvironmentError(why);
  if (processState(pid).mode === 0) return [];
  let raw;
  try {
    raw = readThreadStack(tid);
  } catch (e) {
    if (e instanceof PtraceError) throw new EnvironmentError(errnoSentence(label, e));
    throw e;
  }
  return raw.map((r, index) => {
    // The kernel hands out the bytes it was given, in the machine's order: canonical LE here.
    const program = new Program(r.bytes);
    return {
      index, program,
      flags: r.flags & SECCOMP_FILTER_FLAG_LOG ? ["LOG"] : [],
      sha256: sha256(r.bytes),
    };
  });
}

/**
 * The seccomp filters of a running process: every thread's stack (or only `opts.tid`'s),
 * oldest first, grouped where the content is identical. Each thread is stopped only while
 * its filters are read, and always resumed.
 */
export function readLiveFilters(pid: number, opts: ReadLiveOptions = {}): LiveProcess {
  checkId(pid, "pid");
  const name = readOr(`/proc/${pid}/comm`).trim();
  let tids: number[];
  if (opts.tid !== undefined) {
    checkId(opts.tid, "tid");
    const all = threadsOf(pid);
    if (!all.includes(opts.tid)) throw new EnvironmentError(`thread ${opts.tid} is not a thread of process ${pid} (or has exited)`);
    tids = [opts.tid];
  } else {
    tids = threadsOf(pid);
  }
  const stacks: LiveStack[] = [];
  const byHash = new Map<string, LiveStack>();
  for (const tid of tids) {
    let filters: LiveFilter[];
    try {
      filters = readThread(pid, tid);
    } catch (e) {
      // A non-main thread that ended between listing and reading is not an error.
      if (tid !== pid && opts.tid === undefined && readOr(`/proc/${pid}/task/${tid}/status`) === "") continue;
      throw e;
    }
    const hash = stackHash(filters);
    const seen = byHash.get(hash);
    if (seen) seen.tids.push(tid);
    else {
      const s = { tids: [tid], filters, hash };
      byHash.set(hash, s);
      stacks.push(s);
    }
  }
  const read = stacks.flatMap((s) => s.tids);
  return {
    pid, name, tids: read, stacks,
    sharedByGroup: opts.tid !== undefined ? undefined : stacks.length <= 1,
  };
}

function checkId(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n <= 0 || n > 0x3fffffff) throw new InputError(`${what} must be a positive process id, not ${n}`);
}

/** Parses `PID` or `PID/TID` (the CLI's and `pid:` specs' form). */
export function parsePidSpec(text: string, where?: string): { pid: number; tid?: number } {
  const m = /^(\d{1,10})(?:\/(\d{1,10}))?$/.exec(text);
  if (!m) throw new InputError(`expected PID or PID/TID, not "${text}"`, where);
  const pid = Number(m[1]);
  const tid = m[2] === undefined ? undefined : Number(m[2]);
  checkId(pid, "pid");
  if (tid !== undefined) checkId(tid, "tid");
  return { pid, tid };
}
