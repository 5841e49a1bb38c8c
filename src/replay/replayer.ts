// Replaying syscall events against a filter (or a stack): each event is allowed, denied (with
// the action) or depends (on which argument), counted per syscall with the first trace line of
// every denied or depends outcome. "Allowed" means the call runs: ALLOW or LOG. Everything else
// is denied, TRACE and USER_NOTIF included (a tracer or supervisor then decides, not the filter).
// "Depends" means some values of the unknown arguments allow the call and others do not; when
// all possible results deny it, the call is denied (with every action it may get).
//
// Throughput comes from never doing the same work twice:
//   1. per (arch, nr), the decider says which seccomp_data words can change the result at all
//      (for most syscalls of most filters: none, so the result is one per syscall number), and
//      parsers decode only the arguments holding those words (argsWanted);
//   2. events are keyed by (arch, nr, which of those words are unknown, their known values) in
//      an open-addressing table of 32-bit words, so identical calls hit a cached outcome;
//   3. a new key whose values are all known becomes one input of a batch for the engine's
//      interpreter (evaluateBatch / evaluateStack, BATCH inputs per flush); a new key with an
//      unknown relevant word goes to the decider (symbolic engine, else probes).
// Memory stays bounded: the key table is cleared when it reaches its cap, the batch is flushed
// when full, and per-syscall state is one entry per (arch, nr, outcome).
//
// --after-install (docs/formats.md 7.3 rule 5): the filter applies to a thread from its own
// successful `seccomp(SECCOMP_SET_MODE_FILTER, …)` or `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
// …)` on, to every thread of its thread group when the flags include TSYNC, and to threads
// and processes it creates afterwards; the install call itself is not filtered by the new
// filter. Events before that are counted as "before install" and not evaluated. A child whose
// first lines appear while its parent's clone is still unfinished (strace prints the child's
// first calls before the parent's `<... clone3 resumed>`) is attributed to that clone.
import type { Program } from "../engine/program.js";
import { InputBatch } from "../engine/data.js";
import { evaluateBatch, evaluateStack } from "../engine/run.js";
import { formatRet, byPrecedence } from "../engine/actions.js";
import { allows } from "../verify/relations.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { syscallName } from "../syscalls/index.js";
import { Special, KNOWN_IP, knownArgBit, type TraceEvent, type TraceSink } from "../traces/event.js";
import { makeDecider, argOfWord, type Decider, type DeciderChoice } from "./decide.js";

/** Inputs per engine flush. */
export const BATCH = 8192;
/** Key table slots (a power of two); cleared when half full. */
const TABLE_BITS_MAX = 18;
const STRIDE = 16;

export type OutcomeKind = "allowed" | "denied" | "depends";

export interface Outcome {
  kind: OutcomeKind;
  /** Possible raw results (one unless the result depends on an unknown value). */
  rets: number[];
  /** Arguments the result depends on (0-5; -1 = ip); empty when decided. */
  args: number[];
  exact: boolean;
}

export interface FirstSeen {
  fileIndex: number;
  file: string;
  line: number;
  text: string;
}

interface Group {
  outcome: number;
  count: number;
  first: FirstSeen | undefined;
  firstIndex: number;
  firstLine: number;
}

interface NrInfo {
  id: number;
  arch: ArchInfo;
  nr: number;
  name: string;
  /** Words (2..15) that can change the result. */
  relevant: number;
  /** The same as `known` bits (KNOWN_IP | knownArgBit(i)). */
  relevantKnown: number;
  /** Indices into TraceEvent.vals of the relevant words (low/high halves of arguments, ip). */
  relVals: number[];
  /** For relevant == 0: the outcome, once known (-1 before). */
  outcome: number;
  job: Job | undefined;
  groups: Group[];
}

interface Job {
  info: NrInfo;
  key: Uint32Array | undefined;
  input: number;
  count: number;
  fileIndex: number;
  line: number;
  file: string;
  text: string;
}

export interface SyscallOutcome {
  kind: OutcomeKind;
  /** Action per possible result: "ALLOW", "ERRNO(1)", … */
  actions: string[];
  rets: number[];
  /** "arg0".."arg5", "ip". */
  dependsOn: string[];
  exact: boolean;
  count: number;
  /** The first line with this outcome (kept for denied and depends outcomes). */
  first?: FirstSeen;
}

export interface SyscallReport {
  arch: string;
  name: string;
  nr: number;
  allowed: number;
  denied: number;
  depends: number;
  outcomes: SyscallOutcome[];
}

export interface ReplayTotals {
  /** Syscall events read from the traces. */
  events: number;
  /** Events the filter was applied to (all, unless --after-install). */
  evaluated: number;
  allowed: number;
  denied: number;
  depends: number;
  /** --after-install: events of threads that had not installed a filter yet. */
  beforeInstall: number;
}

export interface ReplayOptions {
  afterInstall?: boolean;
  decider?: DeciderChoice;
}

export function argLabel(a: number): string {
  return a < 0 ? "ip" : `arg${a}`;
}

/** Thread groups, parents and filter state, for --after-install. */
class Processes {
  private readonly filtered = new Set<number>();
  private readonly tgid = new Map<number, number>();
  private readonly seen = new Set<number>();
  private readonly inflight: { pid: number; flags: number | undefined }[] = [];
  installs = 0;

  private adopt(child: number, parent: number, flags: number | undefined): void {
    this.seen.add(child);
    const thread = flags !== undefined && (flags & 0x10000) !== 0; // CLONE_THREAD
    this.tgid.set(child, thread ? this.tgid.get(parent) ?? parent : child);
    if (this.filtered.has(parent)) this.filtered.add(child);
  }

  /** First sight of a thread: the child of a clone in flight, or a new root. */
  private see(pid: number): void {
    if (this.seen.has(pid)) return;
    const parent = this.inflight.pop();
    if (parent && parent.pid !== pid) {
      this.adopt(pid, parent.pid, parent.flags);
      return;
    }
    this.seen.add(pid);
    this.tgid.set(pid, pid);
  }

  isFiltered(pid: number): boolean {
    this.see(pid);
    return this.filtered.has(pid);
  }

  cloneStarted(pid: number, flags: number | undefined): void {
    this.see(pid);
    this.inflight.push({ pid, flags });
  }

  /** After an event was counted: installs and new tasks. */
  update(ev: TraceEvent): void {
    const pid = ev.pid;
    switch (ev.special) {
      case Special.SECCOMP: {
        if (ev.arg(0) !== 1n || ev.ret === undefined || ev.ret < 0) return;
        const tsync = ((ev.arg(1) ?? 0n) & 1n) !== 0n;
        this.install(pid, tsync);
        return;
      }
      case Special.PRCTL:
        if (ev.arg(0) === 22n && ev.arg(1) === 2n && ev.ret === 0) this.install(pid, false);
        return;
      case Special.CLONE: case Special.CLONE3: case Special.FORK: case Special.VFORK: {
        const i = this.inflight.findIndex((f) => f.pid === pid);
        if (i >= 0) this.inflight.splice(i, 1);
        const child = ev.ret;
        if (child === undefined || child <= 0 || this.seen.has(child)) return;
        this.adopt(child, pid, ev.special === Special.CLONE || ev.special === Special.CLONE3 ? ev.cloneFlags : undefined);
        return;
      }
    }
  }

  private install(pid: number, tsync: boolean): void {
    this.installs++;
    this.filtered.add(pid);
    if (!tsync) return;
    const g = this.tgid.get(pid) ?? pid;
    for (const [t, tg] of this.tgid) if (tg === g) this.filtered.add(t);
  }

  exited(pid: number, supersededBy: number | undefined): void {
    if (supersededBy !== undefined && this.filtered.has(pid)) this.filtered.add(supersededBy);
    // Forget the thread (memory follows live threads); a reused id is a new thread.
    if (supersededBy !== pid) {
      this.filtered.delete(pid);
      this.tgid.delete(pid);
      this.seen.delete(pid);
    }
  }
}

export class Replayer implements TraceSink {
  readonly decider: Decider;
  private readonly infos = new Map<ArchInfo, Map<number, NrInfo>>();
  private readonly infoList: NrInfo[] = [];
  private lastArch: ArchInfo | undefined;
  private lastMap: Map<number, NrInfo> | undefined;

  private readonly outcomes: Outcome[] = [];
  private readonly outcomeIds = new Map<string, number>();

  // Key table (open addressing over STRIDE-word keys).
  private bits = 12;
  private keys = new Uint32Array((1 << 12) * STRIDE);
  private lens = new Uint8Array(1 << 12);
  private vals = new Int32Array(1 << 12);
  private used = 0;
  private readonly key = new Uint32Array(STRIDE);

  // Pending engine batch.
  private readonly inputs = new Uint32Array(BATCH * 16);
  private jobs: Job[] = [];
  private readonly words = new Uint32Array(16);

  private readonly procs = new Processes();
  readonly totals: ReplayTotals = { events: 0, evaluated: 0, allowed: 0, denied: 0, depends: 0, beforeInstall: 0 };

  constructor(private readonly programs: readonly Program[], private readonly opts: ReplayOptions = {}) {
    if (programs.length === 0) throw new RangeError("replay needs at least one filter");
    this.decider = makeDecider(programs, opts.decider ?? "auto");
  }

  // -------------------------------------------------------------------------------------------
  // TraceSink

  event(ev: TraceEvent): void {
    this.totals.events++;
    if (this.opts.afterInstall && !this.procs.isFiltered(ev.pid)) {
      this.totals.beforeInstall++;
    } else {
      this.totals.evaluated++;
      this.evaluate(ev);
    }
    if (ev.special !== Special.NONE) this.procs.update(ev);
  }

  /** Only the arguments the filter can look at for this syscall need decoding. */
  argsWanted(arch: ArchInfo, nr: number): number {
    return this.info(arch, nr).relevantKnown;
  }

  cloneStarted(pid: number, _special: Special, flags: number | undefined): void {
    this.procs.cloneStarted(pid, flags);
  }

  exited(pid: number, _how: string, supersededBy?: number): void {
    this.procs.exited(pid, supersededBy);
  }

  /** Installs seen (for --after-install reports). */
  get installs(): number {
    return this.procs.installs;
  }

  // -------------------------------------------------------------------------------------------

  private lastInfo: NrInfo | undefined;

  private info(arch: ArchInfo, nr: number): NrInfo {
    const li = this.lastInfo;
    if (li !== undefined && li.nr === nr >>> 0 && li.arch === arch) return li;
    const found = this.lookupInfo(arch, nr);
    this.lastInfo = found;
    return found;
  }

  private lookupInfo(arch: ArchInfo, nr: number): NrInfo {
    let map: Map<number, NrInfo> | undefined;
    if (arch === this.lastArch) map = this.lastMap!;
    else {
      map = this.infos.get(arch);
      if (!map) this.infos.set(arch, (map = new Map()));
      this.lastArch = arch;
      this.lastMap = map;
    }
    let info = map.get(nr);
    if (info) return info;
    const relevant = this.decider.relevantWords(arch.token, nr >>> 0) & 0xfffc;
    let relevantKnown = 0;
    const relVals: number[] = [];
    for (let w = 2; w < 16; w++) {
      if (!(relevant & (1 << w))) continue;
      const a = argOfWord(w);
      relevantKnown |= a < 0 ? KNOWN_IP : knownArgBit(a);
      // vals holds (low, high) per value; word w is the high half on big-endian ABIs when even.
      const base = a < 0 ? 0 : 2 + 2 * a;
      const high = arch.endian === "le" ? (w & 1) === 1 : (w & 1) === 0;
      relVals.push(base + (high ? 1 : 0));
    }
    info = {
      id: this.infoList.length, arch, nr: nr >>> 0,
      name: syscallName(arch, nr >>> 0) ?? `syscall_0x${(nr >>> 0).toString(16)}`,
      relevant, relevantKnown, relVals, outcome: -1, job: undefined, groups: [],
    };
    this.infoList.push(info);
    map.set(nr, info);
    return info;
  }

  /** The 16 words the filter loads, for an event (unknown values as 0). */
  private fillWords(ev: TraceEvent, out: Uint32Array, at: number): void {
    const v = ev.vals;
    out[at] = ev.nr >>> 0;
    out[at + 1] = ev.arch.token;
    const le = ev.arch.endian === "le";
    for (let i = 0; i < 7; i++) {
      const lo = v[2 * i];
      const hi = v[2 * i + 1];
      out[at + 2 + 2 * i] = le ? lo : hi;
      out[at + 3 + 2 * i] = le ? hi : lo;
    }
  }

  private evaluate(ev: TraceEvent): void {
    // Flush before looking anything up: a flush may rehash the key table.
    if (this.jobs.length >= BATCH) this.flush();
    const info = this.info(ev.arch, ev.nr);
    if (info.relevant === 0) {
      if (info.outcome >= 0) {
        this.count(info, info.outcome, 1, ev.fileIndex, ev.line, ev);
        return;
      }
      if (info.job) {
        this.addToJob(info.job, ev);
        return;
      }
      info.job = this.newJob(info, undefined, ev);
      return;
    }
    // Key: info id, unknown relevant values, known relevant words.
    const unknownRel = info.relevantKnown & ~ev.known;
    const k = this.key;
    k[0] = info.id;
    k[1] = unknownRel;
    let len = 2;
    const rv = info.relVals;
    for (let j = 0; j < rv.length; j++) {
      const vi = rv[j];
      const bit = vi < 2 ? KNOWN_IP : knownArgBit((vi - 2) >> 1);
      if (ev.known & bit) k[len++] = ev.vals[vi];
    }
    let h = 0x811c9dc5;
    for (let j = 0; j < len; j++) h = Math.imul(h ^ k[j], 0x01000193);
    h ^= h >>> 15;
    const slot = this.find(k, len, h);
    if (slot >= 0) {
      const v = this.vals[slot];
      if (v >= 0) this.count(info, v, 1, ev.fileIndex, ev.line, ev);
      else this.addToJob(this.jobs[-v - 1], ev);
      return;
    }
    const at = -slot - 1;
    if (unknownRel !== 0) {
      // Unknown values the filter looks at: ask the decider (synchronously; rare by design).
      this.fillWords(ev, this.words, 0);
      let unknownWords = 0;
      for (let w = 2; w < 16; w++) {
        if (!(info.relevant & (1 << w))) continue;
        const a = argOfWord(w);
        if (!(ev.known & (a < 0 ? KNOWN_IP : knownArgBit(a)))) unknownWords |= 1 << w;
      }
      const d = this.decider.decide(this.words, unknownWords);
      const id = this.intern(d.rets, d.args, d.exact);
      this.insert(at, k, len, id);
      this.count(info, id, 1, ev.fileIndex, ev.line, ev);
      return;
    }
    this.newJob(info, k.slice(0, len), ev);
    this.insert(at, k, len, -this.jobs.length);
  }

  // Key table ---------------------------------------------------------------------------------

  /** Slot of the key, or -(insertion slot + 1). */
  private find(k: Uint32Array, len: number, h: number): number {
    const mask = (1 << this.bits) - 1;
    let i = h & mask;
    for (;;) {
      const l = this.lens[i];
      if (l === 0) return -i - 1;
      if (l === len) {
        const o = i * STRIDE;
        let j = 0;
        while (j < len && this.keys[o + j] === k[j]) j++;
        if (j === len) return i;
      }
      i = (i + 1) & mask;
    }
  }

  private insert(slot: number, k: Uint32Array, len: number, value: number): void {
    this.keys.set(k.subarray(0, len), slot * STRIDE);
    this.lens[slot] = len;
    this.vals[slot] = value;
    this.used++;
  }

  private hashOf(k: Uint32Array, len: number): number {
    let h = 0x811c9dc5;
    for (let j = 0; j < len; j++) h = Math.imul(h ^ k[j], 0x01000193);
    return h ^ (h >>> 15);
  }

  /** Grows the table, or clears it at the cap (only between batches: no job points into it). */
  private maintainTable(): void {
    if (this.used * 2 < 1 << this.bits) return;
    if (this.bits >= TABLE_BITS_MAX) {
      this.lens.fill(0);
      this.used = 0;
      return;
    }
    const oldKeys = this.keys;
    const oldLens = this.lens;
    const oldVals = this.vals;
    this.bits++;
    this.keys = new Uint32Array((1 << this.bits) * STRIDE);
    this.lens = new Uint8Array(1 << this.bits);
    this.vals = new Int32Array(1 << this.bits);
    this.used = 0;
    for (let i = 0; i < oldLens.length; i++) {
      const len = oldLens[i];
      if (len === 0) continue;
      const k = oldKeys.subarray(i * STRIDE, i * STRIDE + len);
      const s = this.find(k, len, this.hashOf(k, len));
      this.insert(-s - 1, k, len, oldVals[i]);
    }
  }

  // Batches -----------------------------------------------------------------------------------

  private newJob(info: NrInfo, key: Uint32Array | undefined, ev: TraceEvent): Job {
    const job: Job = {
      info, key, input: this.jobs.length, count: 1, fileIndex: ev.fileIndex, line: ev.line, file: ev.file,
      text: ev.lineText(),
    };
    this.fillWords(ev, this.inputs, job.input * 16);
    this.jobs.push(job);
    return job;
  }

  private addToJob(job: Job, ev: TraceEvent): void {
    job.count++;
    if (ev.fileIndex < job.fileIndex || (ev.fileIndex === job.fileIndex && ev.line < job.line)) {
      job.fileIndex = ev.fileIndex;
      job.line = ev.line;
      job.file = ev.file;
      job.text = ev.lineText();
    }
  }

  /** Evaluates the pending batch and settles its jobs. */
  flush(): void {
    const n = this.jobs.length;
    if (n === 0) return;
    const batch = new InputBatch(n, this.inputs.subarray(0, n * 16));
    const rets = this.programs.length === 1 ? evaluateBatch(this.programs[0], batch).rets : evaluateStack(this.programs, batch);
    const jobs = this.jobs;
    this.jobs = [];
    for (let i = 0; i < n; i++) {
      const job = jobs[i];
      const id = this.intern([rets[i] >>> 0], [], true);
      if (job.key) {
        const s = this.find(job.key, job.key.length, this.hashOf(job.key, job.key.length));
        if (s >= 0) this.vals[s] = id;
        else this.insert(-s - 1, job.key, job.key.length, id);
      } else {
        job.info.outcome = id;
        job.info.job = undefined;
      }
      this.count(job.info, id, job.count, job.fileIndex, job.line, undefined, job);
    }
    this.maintainTable();
  }

  // Outcomes and counts -----------------------------------------------------------------------

  private intern(rets: number[], args: number[], exact: boolean): number {
    const k = `${rets.join(",")}|${args.join(",")}|${exact ? 1 : 0}`;
    let id = this.outcomeIds.get(k);
    if (id !== undefined) return id;
    const allow = rets.map(allows);
    const kind: OutcomeKind = allow.every((a) => a) ? "allowed" : allow.some((a) => a) ? "depends" : "denied";
    id = this.outcomes.length;
    this.outcomes.push({ kind, rets, args, exact });
    this.outcomeIds.set(k, id);
    return id;
  }

  private count(info: NrInfo, outcome: number, n: number, fileIndex: number, line: number, ev?: TraceEvent, job?: Job): void {
    const groups = info.groups;
    let g: Group | undefined;
    for (let i = 0; i < groups.length; i++) {
      if (groups[i].outcome === outcome) {
        g = groups[i];
        break;
      }
    }
    if (!g) {
      g = { outcome, count: 0, first: undefined, firstIndex: Infinity, firstLine: Infinity };
      groups.push(g);
    }
    g.count += n;
    const kind = this.outcomes[outcome].kind;
    if (kind === "allowed") this.totals.allowed += n;
    else if (kind === "denied") this.totals.denied += n;
    else this.totals.depends += n;
    if (fileIndex < g.firstIndex || (fileIndex === g.firstIndex && line < g.firstLine)) {
      g.firstIndex = fileIndex;
      g.firstLine = line;
      // The text only for outcomes a report shows, and only when this line is a new first.
      if (kind !== "allowed") {
        g.first = job
          ? { fileIndex, file: job.file, line, text: job.text }
          : { fileIndex, file: ev!.file, line, text: ev!.lineText() };
      } else {
        g.first = undefined;
      }
    }
  }

  /** Settles everything pending and returns the per-syscall report, sorted by name. */
  finish(): SyscallReport[] {
    this.flush();
    const out: SyscallReport[] = [];
    for (const info of this.infoList) {
      if (info.groups.length === 0) continue;
      const r: SyscallReport = { arch: info.arch.name, name: info.name, nr: info.nr, allowed: 0, denied: 0, depends: 0, outcomes: [] };
      for (const g of info.groups) {
        const o = this.outcomes[g.outcome];
        r[o.kind] += g.count;
        // Most restrictive first, as the kernel ranks actions.
        const rets = [...o.rets].sort(byPrecedence);
        r.outcomes.push({
          kind: o.kind,
          actions: rets.map(formatRet),
          rets,
          dependsOn: o.args.map(argLabel),
          exact: o.exact,
          count: g.count,
          ...(g.first ? { first: g.first } : {}),
        });
      }
      const order = { denied: 0, depends: 1, allowed: 2 };
      r.outcomes.sort((a, b) => order[a.kind] - order[b.kind] || b.count - a.count);
      out.push(r);
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
    return out;
  }
}
