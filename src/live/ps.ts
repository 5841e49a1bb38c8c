// `sysfence ps`: the processes of this host with their seccomp state from /proc (mode, number
// of filters, no_new_privs, name, cgroup) and a content hash of each process's stack, so one
// policy shared by many processes shows as one hash. Hashing reads the main thread's stack,
// which stops it briefly (see read.ts); `hash: false` reads /proc only.
import { readFileSync, readdirSync } from "node:fs";
import { processState } from "../native/probe.js";
import { SysfenceError } from "../errors.js";
import { liveReadRefusal, readThread, stackHash } from "./read.js";

export interface ProcessRow {
  pid: number;
  name: string;
  mode: "disabled" | "strict" | "filter";
  filters: number;
  noNewPrivs: boolean;
  /** Content hash of the main thread's stack; null when not read (`hashError` says why). */
  hash: string | null;
  hashError?: string;
  /** The process's cgroup (v2 path, else the first v1 line's path). */
  cgroup: string;
}

export interface ListOptions {
  /** Only this process. */
  pid?: number;
  /** Also processes without seccomp (default: only those under seccomp, or `pid`). */
  all?: boolean;
  /** Read the stacks to hash them (default true). */
  hash?: boolean;
}

const MODES = ["disabled", "strict", "filter"] as const;

function cgroupOf(pid: number): string {
  try {
    const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
    const v2 = lines.find((l) => l.startsWith("0::"));
    return (v2 ?? lines[0] ?? "").split(":").slice(2).join(":");
  } catch {
    return "";
  }
}

function pids(): number[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
}

/** The processes of this host (or `opts.pid`), in pid order. */
export function listProcesses(opts: ListOptions = {}): ProcessRow[] {
  const refusal = opts.hash === false ? "not asked" : liveReadRefusal();
  const rows: ProcessRow[] = [];
  for (const pid of opts.pid !== undefined ? [opts.pid] : pids()) {
    const st = processState(pid);
    if (st.mode === undefined) continue; // exited while listing
    if (opts.pid === undefined && !opts.all && st.mode === 0) continue;
    let name = "";
    try {
      name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    const row: ProcessRow = {
      pid, name, mode: MODES[st.mode] ?? "filter", filters: st.filters ?? 0, noNewPrivs: st.noNewPrivs ?? false,
      hash: null, cgroup: cgroupOf(pid),
    };
    if (st.mode === 2 && pid !== process.pid) {
      if (refusal) row.hashError = refusal;
      else {
        try {
          row.hash = stackHash(readThread(pid, pid));
        } catch (e) {
          if (!(e instanceof SysfenceError)) throw e;
          row.hashError = e.message;
        }
      }
    }
    rows.push(row);
  }
  return rows;
}
