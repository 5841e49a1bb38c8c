// The one shape every trace parser (strace, audit, JSON lines) produces: a syscall event with
// the seccomp_data values the trace shows, and which of them it does not show. Parsers fill ONE
// reusable TraceEvent per file and hand it to a sink synchronously (no allocation per line: the
// replay path reads a million lines a second); a sink that keeps anything copies it.
import type { ArchInfo } from "../syscalls/arches.js";

/** `known` bit for the instruction pointer; argument i is bit 1 + i. */
export const KNOWN_IP = 1;
export function knownArgBit(i: number): number {
  return 2 << i;
}

/** Syscalls whose meaning the replay needs beyond their filter outcome (installs, new tasks). */
export const Special = {
  NONE: 0,
  SECCOMP: 1,
  PRCTL: 2,
  CLONE: 3,
  CLONE3: 4,
  FORK: 5,
  VFORK: 6,
} as const;
export type Special = (typeof Special)[keyof typeof Special];

export function specialOf(name: string): Special {
  switch (name) {
    case "seccomp": return Special.SECCOMP;
    case "prctl": return Special.PRCTL;
    case "clone": return Special.CLONE;
    case "clone3": return Special.CLONE3;
    case "fork": return Special.FORK;
    case "vfork": return Special.VFORK;
    default: return Special.NONE;
  }
}

export class TraceEvent {
  /** Label of the trace file (as given), and its position in the list of traces. */
  file = "";
  fileIndex = 0;
  /** 1-based line of the record that carries the arguments (the `<unfinished ...>` line). */
  line = 0;
  /** Thread id (strace pid column, audit pid=); 0 when the trace has none. */
  pid = 0;
  arch!: ArchInfo;
  /** seccomp_data.nr (x32 bit and MIPS base included). */
  nr = 0;
  /** Syscall name as resolved for `arch` (or `syscall_0x…`). */
  name = "";
  /** Which values the trace shows: KNOWN_IP | knownArgBit(i). Unknown ones are not in `vals`. */
  known = 0;
  /**
   * ip, arg0 … arg5 as (low word, high word) pairs: vals[0..1] = ip, vals[2 + 2i .. 3 + 2i] =
   * argument i. Low word first whatever the ABI's byte order (the replay lays words out).
   */
  readonly vals = new Uint32Array(14);
  /** Return value when the trace shows a number (undefined for `?`, or when not parsed). */
  ret: number | undefined = undefined;
  /** Special meaning for the replay (installs, clones). */
  special: Special = Special.NONE;
  /** Clone flags for clone/clone3 when shown (for thread-group tracking). */
  cloneFlags: number | undefined = undefined;
  /** The text of the line, as a string, when the parser already has one. */
  textCache: string | undefined = undefined;
  /** Otherwise the bytes it came from. */
  buf: Uint8Array | undefined = undefined;
  start = 0;
  end = 0;

  /** The source line, for reports (computed only when asked: most events never need it). */
  lineText(): string {
    if (this.textCache !== undefined) return this.textCache;
    if (!this.buf) return "";
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + this.start, this.end - this.start).toString("latin1");
  }

  /** Argument i as a BigInt, or undefined when the trace does not show it. */
  arg(i: number): bigint | undefined {
    if ((this.known & knownArgBit(i)) === 0) return undefined;
    return (BigInt(this.vals[3 + 2 * i]) << 32n) | BigInt(this.vals[2 + 2 * i]);
  }

  setArg(i: number, v: bigint): void {
    const x = BigInt.asUintN(64, v);
    this.vals[2 + 2 * i] = Number(x & 0xffffffffn);
    this.vals[3 + 2 * i] = Number(x >> 32n);
    this.known |= knownArgBit(i);
  }

  reset(): void {
    // vals are not cleared: only values whose `known` bit is set are ever read.
    this.known = 0;
    this.ret = undefined;
    this.special = Special.NONE;
    this.cloneFlags = undefined;
    this.textCache = undefined;
    this.buf = undefined;
  }
}

/** What a parser reports besides syscall events (all optional). */
export interface TraceSink {
  event(ev: TraceEvent): void;
  /**
   * Which arguments of (arch, nr) the sink will read (`known` bits). Parsers decode only those
   * (and every argument of the calls the replay needs: installs, clones); the others stay
   * unknown. Decoding every argument of every line is most of a parser's time, and a filter
   * usually looks at none of them. Absent: every argument.
   */
  argsWanted?(arch: ArchInfo, nr: number): number;
  /** A clone-family call started and has not returned yet (`<unfinished ...>`). */
  cloneStarted?(pid: number, special: Special, flags: number | undefined): void;
  /** `+++ exited … +++` / `+++ killed by … +++` / `+++ superseded by execve in pid N +++`. */
  exited?(pid: number, how: string, supersededBy?: number): void;
  /** A signal line; `seccomp` is set for `--- SIGSYS {… si_code=SYS_SECCOMP …} ---`. */
  signal?(pid: number, signal: string, file: string, line: number, seccomp?: { syscall: string }): void;
}

/** Counts a parser keeps about the lines it saw. */
export interface ParseStats {
  lines: number;
  events: number;
  signals: number;
  exits: number;
  /** `<... x resumed>` lines with no `<unfinished ...>` line before them (trace started mid-call). */
  orphanResumed: number;
  /** Lines that carry no syscall (strace messages, blank lines, audit records of other types). */
  other: number;
}

export function emptyStats(): ParseStats {
  return { lines: 0, events: 0, signals: 0, exits: 0, orphanResumed: 0, other: 0 };
}
