// Collecting what a policy needs from traces: every syscall seen on the target ABI, and for
// the curated syscalls (curated.ts) the distinct values, or combinations of values, of their
// curated arguments. A TraceSink, so it reads any trace format at trace speed.
import type { ArchInfo } from "../syscalls/arches.js";
import type { TraceEvent, TraceSink } from "../traces/event.js";
import { knownArgBit } from "../traces/event.js";
import { syscallName } from "../syscalls/index.js";
import { curatedArgs, type CuratedArg } from "./curated.js";

export interface Where {
  file: string;
  line: number;
}

export interface Tuple {
  /**
   * Each narrowed argument, in the order of `args` (64-bit; only the low half for width 32);
   * undefined where the call did not show it (its rule then does not check that argument).
   */
  values: (bigint | undefined)[];
  count: number;
  first: Where;
}

export interface LearnedSyscall {
  name: string;
  nr: number;
  count: number;
  first: Where;
  /** Curated arguments of this syscall on the ABI (absent: allowed by name). */
  args?: readonly CuratedArg[];
  /** Distinct value tuples seen, by key. */
  tuples?: Map<string, Tuple>;
  /** The first call that did not show one of the narrowed arguments (for warnings). */
  unknownAt?: Where & { arg: number };
}

export class Learner implements TraceSink {
  readonly syscalls = new Map<number, LearnedSyscall>();
  /** Calls of other ABIs (a 32-bit personality, another arch in an audit log): not learned. */
  readonly otherArch = new Map<string, { count: number; first: Where }>();
  events = 0;

  private readonly wantedByNr = new Map<number, number>();

  /**
   * `extra(nr)`: more arguments to narrow on for a syscall, beyond the curated ones (--within:
   * the arguments the baseline looks at, so that the learned rule can stay inside it).
   */
  constructor(readonly arch: ArchInfo, private readonly extra?: (nr: number) => readonly CuratedArg[]) {}

  /** Curated and extra arguments of a syscall, one entry per index (extra wins: it may be 64-bit). */
  argsFor(name: string, nr: number): readonly CuratedArg[] | undefined {
    const curated = curatedArgs(name, this.arch) ?? [];
    const extra = this.extra?.(nr) ?? [];
    if (curated.length === 0 && extra.length === 0) return undefined;
    const byIndex = new Map<number, CuratedArg>();
    for (const a of curated) byIndex.set(a.index, a);
    for (const a of extra) {
      const c = byIndex.get(a.index);
      byIndex.set(a.index, { ...a, names: c?.names ?? a.names, ...(c?.flags ? { flags: c.flags } : {}) });
    }
    return [...byIndex.values()].sort((x, y) => x.index - y.index);
  }

  /** Parsers decode only the curated arguments (learning reads nothing else). */
  argsWanted(arch: ArchInfo, nr: number): number {
    if (arch !== this.arch) return 0;
    let w = this.wantedByNr.get(nr);
    if (w === undefined) {
      const name = syscallName(arch, nr);
      const args = name ? this.argsFor(name, nr) : undefined;
      w = 0;
      for (const a of args ?? []) if (a.index >= 0) w |= knownArgBit(a.index);
      this.wantedByNr.set(nr, w);
    }
    return w;
  }

  event(ev: TraceEvent): void {
    this.events++;
    if (ev.arch !== this.arch) {
      const o = this.otherArch.get(ev.arch.name);
      if (o) o.count++;
      else this.otherArch.set(ev.arch.name, { count: 1, first: { file: ev.file, line: ev.line } });
      return;
    }
    let s = this.syscalls.get(ev.nr);
    if (!s) {
      // strace prints calls it has no name for as syscall_0x1b6: learned by number, named by our table.
      const name = syscallName(this.arch, ev.nr) ?? ev.name;
      const args = this.argsFor(name, ev.nr);
      s = { name, nr: ev.nr, count: 0, first: { file: ev.file, line: ev.line } };
      if (args) {
        s.args = args;
        s.tuples = new Map();
      }
      this.syscalls.set(ev.nr, s);
    }
    s.count++;
    if (!s.args) return;
    const values: (bigint | undefined)[] = [];
    for (const a of s.args) {
      if (a.index < 0 || !(ev.known & knownArgBit(a.index))) {
        s.unknownAt ??= { file: ev.file, line: ev.line, arg: a.index };
        values.push(undefined);
        continue;
      }
      const lo = BigInt(ev.vals[2 + 2 * a.index]);
      values.push(a.width === 64 ? (BigInt(ev.vals[3 + 2 * a.index]) << 32n) | lo : lo);
    }
    const key = values.map((v) => (v === undefined ? "*" : v)).join(",");
    const t = s.tuples!.get(key);
    if (t) t.count++;
    else s.tuples!.set(key, { values, count: 1, first: { file: ev.file, line: ev.line } });
  }
}
