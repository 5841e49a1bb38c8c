// Reading the seccomp filters of a running thread with ptrace, in-process through koffi:
// PTRACE_SEIZE, PTRACE_INTERRUPT, wait for the stop, PTRACE_SECCOMP_GET_FILTER and
// PTRACE_SECCOMP_GET_METADATA per filter, PTRACE_DETACH. The target is stopped only for the
// reads (microseconds per filter); every path out of `readThreadStack` detaches, and if
// sysfence itself dies meanwhile the kernel detaches its tracees (exit_ptrace), which resumes
// a thread held in a PTRACE_INTERRUPT stop.
//
// Why koffi and not the launcher: ptrace is per tracer *thread*, and koffi calls run on Node's
// main thread synchronously, so seize, wait, read and detach all come from one thread with
// no process to start (a helper binary would cost a fork+exec per read and a build step
// for `sysfence dump` users). See docs/architecture.md.
import { openLibc } from "../native/libc.js";

// <linux/ptrace.h>
export const PTRACE_DETACH = 17;
export const PTRACE_SEIZE = 0x4206;
export const PTRACE_INTERRUPT = 0x4207;
export const PTRACE_SECCOMP_GET_FILTER = 0x420c;
export const PTRACE_SECCOMP_GET_METADATA = 0x420d;
const WNOHANG = 1;
const __WALL = 0x40000000;

/** The flag the metadata call reports (the only one the kernel keeps per filter). */
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;

interface Ptrace {
  /** ptrace(request, pid, addr, data): data is a Buffer (its address) or null. */
  ptrace: (request: number, pid: number, addr: number, data: Buffer | null) => number;
  waitpid: (pid: number, status: Buffer, options: number) => number;
  schedYield: () => number;
  errno: () => number;
}

let api: Ptrace | undefined;

function load(): Ptrace {
  if (api) return api;
  const { koffi, lib } = openLibc("reading live filters");
  // glibc declares ptrace variadic: each call passes its argument types.
  const ptrace = lib.func("long ptrace(int request, ...)");
  const waitpid = lib.func("int waitpid(int pid, void *status, int options)");
  api = {
    ptrace: (request, pid, addr, data) =>
      Number(ptrace(request, "int", pid, "unsigned long", addr, "void *", data)),
    waitpid: (pid, status, options) => waitpid(pid, status, options),
    schedYield: lib.func("int sched_yield(void)"),
    errno: () => koffi.errno(),
  };
  return api;
}

/** The errno of a failed ptrace step, with the step's name (turned into sentences by read.ts). */
export class PtraceError extends Error {
  constructor(readonly step: string, readonly errno: number) {
    super(`${step}: errno ${errno}`);
  }
}

/** One filter as the kernel holds it: canonical sock_filter bytes and the metadata flags. */
export interface RawFilter {
  bytes: Uint8Array;
  flags: number;
}

/** How long a thread may take to reach the interrupt stop before sysfence gives up. */
export const STOP_TIMEOUT_MS = 5000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Waits for `tid` to stop after PTRACE_INTERRUPT. Polls with WNOHANG so a thread that never
 * stops (uninterruptible sleep on a dead NFS server) costs at most STOP_TIMEOUT_MS. The target
 * has to run to enter the stop, so for the first 2 ms the polls only sched_yield() between them
 * (giving it the CPU; a 1 ms sleep would be most of an attested launch's cost); after that,
 * 1-5 ms sleeps.
 * Returns "stopped", or "exited" when the thread died instead.
 */
function waitStop(p: Ptrace, tid: number): "stopped" | "exited" {
  const status = Buffer.alloc(4);
  const start = process.hrtime.bigint();
  let delay = 0;
  for (;;) {
    const r = p.waitpid(tid, status, __WALL | WNOHANG);
    if (r === tid) {
      const s = status.readInt32LE(0);
      return (s & 0xff) === 0x7f ? "stopped" : "exited"; // WIFSTOPPED, else WIFEXITED/WIFSIGNALED
    }
    if (r < 0) throw new PtraceError("waitpid", p.errno());
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms > STOP_TIMEOUT_MS) throw new PtraceError("waitpid (timed out)", 110 /* ETIMEDOUT */);
    if (ms <= 2) p.schedYield();
    else {
      delay = Math.min(delay * 2 || 1, 5);
      Atomics.wait(sleeper, 0, 0, delay);
    }
  }
}

/**
 * The filters of thread `tid`, oldest first: the kernel's get_nth_filter counts index 0 as the
 * first filter installed (walking `prev` from the newest, count - index steps), whatever its
 * uapi comments suggest; tested against known stacks in test/live.test.ts. Stops the thread for
 * the duration of the reads and always detaches. Throws PtraceError with the failing step.
 */
export function readThreadStack(tid: number, maxFilters = 4096): RawFilter[] {
  const p = load();
  // data = 0: no PTRACE_O_* options (no event stops beyond the one interrupt).
  if (p.ptrace(PTRACE_SEIZE, tid, 0, null) !== 0) throw new PtraceError("PTRACE_SEIZE", p.errno());
  let attached = true;
  try {
    if (p.ptrace(PTRACE_INTERRUPT, tid, 0, null) !== 0) throw new PtraceError("PTRACE_INTERRUPT", p.errno());
    if (waitStop(p, tid) === "exited") {
      attached = false;
      throw new PtraceError("wait for the stop (the thread exited)", 3 /* ESRCH */);
    }
    const filters: RawFilter[] = [];
    for (let i = 0; i < maxFilters; i++) {
      const n = p.ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, null);
      if (n < 0) {
        const e = p.errno();
        // ENOENT past the last filter (EINVAL on kernels before 4.x for "no filter": mode != 2).
        if (e === 2) break;
        throw new PtraceError("PTRACE_SECCOMP_GET_FILTER", e);
      }
      const buf = Buffer.alloc(n * 8);
      const got = p.ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, buf);
      if (got !== n) throw new PtraceError("PTRACE_SECCOMP_GET_FILTER (length changed)", p.errno());
      // struct seccomp_metadata { __u64 filter_off; __u64 flags; }
      const meta = Buffer.alloc(16);
      meta.writeBigUInt64LE(BigInt(i), 0);
      const m = p.ptrace(PTRACE_SECCOMP_GET_METADATA, tid, 16, meta);
      if (m < 0) throw new PtraceError("PTRACE_SECCOMP_GET_METADATA", p.errno());
      filters.push({ bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.length), flags: Number(meta.readBigUInt64LE(8)) });
    }
    return filters;
  } finally {
    if (attached) detach(p, tid);
  }
}

/** Detaches, leaving the thread running (PTRACE_DETACH from the interrupt stop resumes it). */
function detach(p: Ptrace, tid: number): void {
  if (p.ptrace(PTRACE_DETACH, tid, 0, null) === 0) return;
  // ESRCH: not in a stop we own (it died meanwhile, or the wait timed out). Nothing left to
  // undo once it exits; a thread still in D state stays traced until it stops or sysfence
  // exits, and the kernel detaches then.
}
