// Live filters: read back the seccomp stacks of running processes (read.ts over ptrace.ts),
// list the processes of the host (ps.ts), and the `pid:PID[/TID]` FILTER spec, registered
// with the loader on import so every command that takes a FILTER accepts it.
import { registerLiveLoader, type LoadedFilter } from "../formats/detect.js";
import { InputError } from "../errors.js";
import { readThread, parsePidSpec, threadsOf } from "./read.js";
import { EnvironmentError } from "../errors.js";

export { readLiveFilters, readThread, parsePidSpec, stackHash, liveReadRefusal, threadsOf } from "./read.js";
export type { LiveFilter, LiveStack, LiveProcess, ReadLiveOptions } from "./read.js";
export { listProcesses, type ProcessRow, type ListOptions } from "./ps.js";
export { attestStack, attestOrKill, AttestMismatchError } from "./attest.js";

/**
 * The stack of thread `pid:PID[/TID]` (PID alone: the main thread), oldest first, one
 * LoadedFilter per filter labelled by its position; `N@pid:…` picks filter N (0 = oldest).
 * A thread name that is not a number is an option meant for the other FILTERs (--thread).
 */
export function loadLiveSpec(text: string, thread: string | undefined): LoadedFilter[] {
  const where = `pid:${text}`;
  const { pid, tid } = parsePidSpec(text, where);
  const t = tid ?? pid;
  if (tid !== undefined && !threadsOf(pid).includes(tid)) {
    throw new EnvironmentError(`thread ${tid} is not a thread of process ${pid} (or has exited)`);
  }
  const filters = readThread(pid, t);
  if (filters.length === 0) throw new InputError("runs without a seccomp filter (nothing to check)", where);
  const all = filters.map((f) => ({
    file: where, thread: String(f.index), container: "raw" as const, endian: "le" as const, program: f.program,
  }));
  if (thread === undefined || !/^\d+$/.test(thread)) return all;
  const one = all[Number(thread)];
  if (!one) throw new InputError(`has ${all.length} filter(s); ${thread}@ picks one of 0 (oldest) to ${all.length - 1}`, where);
  return [one];
}

registerLiveLoader(loadLiveSpec);
