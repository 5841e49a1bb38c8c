// strace text, every shape of docs/formats.md section 7, parsed at the byte level (no regular
// expression and no string per line on the common path: a million lines a second is the
// target, docs/evidence.md §11 "Traces").
//
//   line   := [pid] [timestamp] [relative] [nr] [ip] body [duration]
//   pid    := "1234  " (-f -o FILE) | "[pid  1234] " (-f on stderr); -ff: from the file name
//   stamps := "HH:MM:SS[.frac] " | "EPOCH.frac " (-t/-tt/-ttt) ; "(+ 0.000123) " | "  0.000123 " (-r)
//   nr     := "[ 59] " (-n)        ip := "[00007f2d01aa19e7] " (-i)
//   body   := name(args) = ret … | name(args <unfinished ...> | <... name resumed>args) = ret
//           | --- SIG… {…} --- | +++ exited/killed/superseded +++ | [ Process PID=N runs in … mode. ]
//
// Pairing (docs/formats.md 7.3 rule 1): an `<unfinished ...>` line starts a call whose input
// arguments it shows; the `<... name resumed>` line of the same pid finishes it with the output
// arguments and the return value. The event is emitted at the resumed line, with the arguments of
// both halves parsed as one list and the line number and text of the unfinished half. A call
// that never resumes (the thread died, the trace ends) is emitted with what it showed.
// Arguments a line does not show (decoded strings and structs, arguments past the last one
// printed: strace prints only a syscall's declared arguments, the other registers are whatever
// they hold) are unknown; see values.ts for what is decoded.
import { InputError, UnknownSyscallError } from "../errors.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { findArch, syscallNumber } from "../syscalls/index.js";
import { ValueDecoder, latin1 } from "./values.js";
import { TraceEvent, Special, specialOf, knownArgBit, KNOWN_IP, type TraceSink, type ParseStats } from "./event.js";

interface NameInfo {
  name: string;
  nr: number;
  special: Special;
}

/** Per-ABI name -> number cache (parsers of many files share it). */
const nameCaches = new Map<string, Map<string, NameInfo>>();

function nameCache(arch: ArchInfo): Map<string, NameInfo> {
  let m = nameCaches.get(arch.name);
  if (!m) nameCaches.set(arch.name, (m = new Map()));
  return m;
}

/** Resolves a syscall name as strace prints it; undefined when the ABI has no such call. */
export function resolveStraceName(arch: ArchInfo, name: string): NameInfo | undefined {
  const cache = nameCache(arch);
  let info = cache.get(name);
  if (info) return info;
  let nr: number | undefined;
  if (name.startsWith("syscall_0x")) {
    const v = parseInt(name.slice(10), 16);
    if (Number.isFinite(v) && v <= 0xffffffff && /^[0-9a-f]+$/i.test(name.slice(10))) nr = v >>> 0;
  } else {
    nr = syscallNumber(arch, name);
  }
  if (nr === undefined) return undefined;
  info = { name, nr, special: specialOf(name) };
  cache.set(name, info);
  return info;
}

/**
 * Argument positions of clone's `key=value` arguments: strace prints them in its own order,
 * the kernel's order depends on CONFIG_CLONE_BACKWARDS* (kernel/fork.c). Only ABIs whose order
 * is certain here get the pointer positions; flags and the stack are placed everywhere.
 */
function cloneKeyIndex(arch: ArchInfo, key: string): number {
  const s390 = arch.name === "s390" || arch.name === "s390x";
  if (key === "flags") return s390 ? 1 : 0;
  if (key === "child_stack" || key === "stack" || key === "newsp") return s390 ? 0 : 1;
  if (key === "parent_tid" || key === "parent_tidptr") return 2;
  const backwards = arch.name === "x86" || arch.name === "arm" || arch.name.startsWith("ppc");
  const normal = arch.name === "x86_64" || arch.name === "x32" || s390;
  if (key === "child_tidptr" || key === "child_tid") return normal ? 3 : backwards ? 4 : -1;
  if (key === "tls" || key === "newtls") return normal ? 4 : backwards ? 3 : -1;
  return -1;
}

/** The ABI a `[ Process PID=N runs in … mode. ]` line switches to, from `base`. */
function personality(base: ArchInfo, mode: string): ArchInfo | undefined {
  const compat: Record<string, string> = {
    x86_64: "x86", x32: "x86", aarch64: "arm", ppc64: "ppc", s390x: "s390", mips64: "mips",
    mipsel64: "mipsel", mips64n32: "mips", mipsel64n32: "mipsel", parisc64: "parisc",
  };
  if (mode === "32 bit") return findArch(compat[base.name] ?? base.name);
  if (mode === "x32") return findArch("x32");
  if (mode === "64 bit") return base.bits === 64 && base.name !== "x32" ? base : findArch("x86_64");
  return undefined;
}

interface Pending {
  info: NameInfo;
  arch: ArchInfo;
  /** A copy of the whole `<unfinished ...>` line; its arguments are line[argsStart..argsEnd). */
  line: Buffer;
  argsStart: number;
  argsEnd: number;
  lineNo: number;
  ipLo: number;
  ipHi: number;
  ipKnown: boolean;
}

interface NameEntry {
  bytes: Buffer;
  info: NameInfo;
}

interface PidState {
  arch: ArchInfo;
  pending?: Pending;
  /** Reused storage for this thread's unfinished line (no allocation per split call). */
  store?: Buffer;
}

const UNFINISHED = Buffer.from("<unfinished ...>");
const ALL_ARGS = 0x7e;
const RESUMED = Buffer.from(" resumed>");

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c >= 0x41 && c <= 0x5a);
}

/** src[s..e) into dst at `at`: a plain loop beats Buffer.copy for the ~100 bytes of a line. */
function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, at: number): void {
  if (e - s > 512) {
    dst.set(src.subarray(s, e), at);
    return;
  }
  for (let i = s; i < e; i++) dst[at++] = src[i];
}

function sameName(name: string, b: Buffer, s: number, e: number): boolean {
  if (name.length !== e - s) return false;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== b[s + i]) return false;
  return true;
}

/** True when b[..e) ends with "<unfinished ...>" (compared by hand: Buffer.compare costs more). */
function isUnfinished(b: Buffer, e: number): boolean {
  const o = e - UNFINISHED.length;
  for (let i = UNFINISHED.length - 2; i >= 0; i--) if (b[o + i] !== UNFINISHED[i]) return false;
  return true;
}

/** Index after the string literal starting at b[i] == '"' (escapes honoured), or `limit`. */
function skipString(b: Buffer, i: number, limit: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(0x22, j);
    if (q < 0 || q >= limit) return limit;
    let k = q - 1;
    let n = 0;
    while (k > i && b[k] === 0x5c) {
      n++;
      k--;
    }
    if ((n & 1) === 0) return q + 1;
    j = q + 1;
  }
}

export interface StraceOptions {
  file: string;
  fileIndex: number;
  /** ABI of calls until a personality line says otherwise. */
  arch: ArchInfo;
  /** Pid for lines without a pid column (-ff files: from the FILE.PID name). */
  pid?: number;
  sink: TraceSink;
  stats: ParseStats;
}

export class StraceParser {
  private readonly ev = new TraceEvent();
  private readonly pids = new Map<number, PidState>();
  private readonly decoders = new Map<string, ValueDecoder>();
  private readonly defaultPid: number;
  private ipLo = 0;
  private ipHi = 0;
  private ipKnown = false;
  /** Per ABI: name bytes hash -> names (no string per line on the hot path). */
  private readonly names = new Map<ArchInfo, Map<number, NameEntry[]>>();
  private lastNamesArch: ArchInfo | undefined;
  private lastNames: Map<number, NameEntry[]> | undefined;
  private scratch = Buffer.allocUnsafe(4096);

  constructor(private readonly o: StraceOptions) {
    this.ev.file = o.file;
    this.ev.fileIndex = o.fileIndex;
    this.defaultPid = o.pid ?? 0;
  }

  private where(line: number): string {
    return `${this.o.file}:${line}`;
  }

  private garbage(b: Buffer, s: number, e: number, line: number, why = "not a strace line"): never {
    const t = latin1(b, s, Math.min(e, s + 60)).replace(/[^\x20-\x7e]/g, "?");
    throw new InputError(`${why}: "${t}${e - s > 60 ? "…" : ""}"`, this.where(line));
  }

  private state(pid: number): PidState {
    let st = this.pids.get(pid);
    if (!st) this.pids.set(pid, (st = { arch: this.o.arch }));
    return st;
  }

  private decoder(arch: ArchInfo): ValueDecoder {
    let d = this.decoders.get(arch.name);
    if (!d) this.decoders.set(arch.name, (d = new ValueDecoder(arch)));
    return d;
  }

  /**
   * One line b[s..e) (no newline). `last` is true for a final line without a newline: if it is
   * cut short, it is counted, not an error (strace was killed mid-write).
   */
  line(b: Buffer, s: number, e: number, lineNo: number, last = false): void {
    const stats = this.o.stats;
    stats.lines++;
    if (e > s && b[e - 1] === 0x0d) e--;
    let p = s;
    // pid column
    let pid = this.defaultPid;
    if (b[p] === 0x5b && b[p + 1] === 0x70 && b[p + 2] === 0x69 && b[p + 3] === 0x64 && b[p + 4] === 0x20) {
      let q = p + 5;
      while (b[q] === 0x20) q++;
      let v = 0;
      const ds = q;
      while (isDigit(b[q])) v = v * 10 + (b[q++] - 0x30);
      if (q === ds || b[q] !== 0x5d) this.garbage(b, s, e, lineNo);
      pid = v;
      p = q + 1;
      while (b[p] === 0x20) p++;
    } else if (isDigit(b[p])) {
      let q = p;
      let v = 0;
      while (isDigit(b[q])) v = v * 10 + (b[q++] - 0x30);
      if (b[q] === 0x20) {
        pid = v;
        p = q;
        while (b[p] === 0x20) p++;
      }
    }
    // timestamps, relative times, -n numbers and -i addresses, in any order strace uses
    this.ipKnown = false;
    for (;;) {
      const c = b[p];
      if (isDigit(c)) {
        let q = p;
        while (isDigit(b[q]) || b[q] === 0x3a || b[q] === 0x2e) q++;
        if (b[q] !== 0x20) break;
        p = q;
        while (b[p] === 0x20) p++;
      } else if (c === 0x20) {
        p++;
      } else if (c === 0x28 && b[p + 1] === 0x2b) {
        const q = b.indexOf(0x29, p);
        if (q < 0 || q >= e) this.garbage(b, s, e, lineNo);
        p = q + 1;
      } else if (c === 0x5b) {
        // "[00007f…]" (-i) or "[ 59]" (-n); "[ Process PID=…" is a body.
        if (b[p + 1] === 0x20 && b[p + 2] === 0x50) break;
        const q = b.indexOf(0x5d, p);
        if (q < 0 || q >= e) this.garbage(b, s, e, lineNo);
        let ds = p + 1;
        while (b[ds] === 0x20) ds++;
        if (q === ds) this.garbage(b, s, e, lineNo);
        if (q - ds >= 8) {
          // an instruction pointer in hex
          let lo = 0;
          let hi = 0;
          for (let i = ds; i < q; i++) {
            const ch = b[i];
            const h = ch <= 0x39 ? ch - 0x30 : (ch | 0x20) - 0x57;
            if (h < 0 || h > 15) this.garbage(b, s, e, lineNo);
            hi = ((hi << 4) | (lo >>> 28)) >>> 0;
            lo = ((lo << 4) | h) >>> 0;
          }
          this.ipLo = lo;
          this.ipHi = hi;
          this.ipKnown = true;
        }
        p = q + 1;
      } else {
        break;
      }
    }
    if (p >= e) {
      stats.other++;
      return;
    }
    const c = b[p];
    if ((c >= 0x61 && c <= 0x7a) || c === 0x5f) {
      this.call(b, s, p, e, pid, lineNo, last);
    } else if (c === 0x3c && b[p + 1] === 0x2e && b[p + 2] === 0x2e && b[p + 3] === 0x2e && b[p + 4] === 0x20) {
      this.resumed(b, s, p + 5, e, pid, lineNo);
    } else if (c === 0x2d && b[p + 1] === 0x2d && b[p + 2] === 0x2d) {
      this.signalLine(b, p, e, pid, lineNo);
    } else if (c === 0x2b && b[p + 1] === 0x2b && b[p + 2] === 0x2b) {
      this.exitLine(b, p, e, pid, lineNo);
    } else if (c === 0x5b && b[p + 1] === 0x20) {
      this.processLine(b, s, p, e, lineNo);
    } else if (c === 0x3f) {
      // "????( <unfinished ...>": strace could not tell the syscall (ptrace lost it).
      stats.other++;
    } else if (e - p >= 7 && latin1(b, p, p + 7) === "strace:") {
      stats.other++;
    } else if (c === 0x3e && b[p + 1] === 0x20) {
      stats.other++; // " > /lib/…(func+0x1f) [0x…]": -k stack trace lines
    } else {
      this.garbage(b, s, e, lineNo);
    }
  }

  /** The syscall named by b[p..q) on `arch`, without making a string unless it is new. */
  private lookupName(arch: ArchInfo, b: Buffer, p: number, q: number, lineNo: number): NameInfo {
    let m: Map<number, NameEntry[]>;
    if (arch === this.lastNamesArch) m = this.lastNames!;
    else {
      m = this.names.get(arch) ?? new Map();
      this.names.set(arch, m);
      this.lastNamesArch = arch;
      this.lastNames = m;
    }
    let h = 0x811c9dc5;
    for (let i = p; i < q; i++) h = Math.imul(h ^ b[i], 0x01000193);
    const list = m.get(h);
    if (list) {
      for (const ent of list) {
        const nb = ent.bytes;
        if (nb.length !== q - p) continue;
        let i = 0;
        while (i < nb.length && nb[i] === b[p + i]) i++;
        if (i === nb.length) return ent.info;
      }
    }
    const nameText = latin1(b, p, q);
    const info = resolveStraceName(arch, nameText);
    if (!info) throw new UnknownSyscallError(nameText, arch.name, this.where(lineNo));
    const ent = { bytes: Buffer.from(nameText, "latin1"), info };
    if (list) list.push(ent);
    else m.set(h, [ent]);
    return info;
  }

  /** Which arguments to decode: what the sink reads, and all of them for installs and clones. */
  private wanted(arch: ArchInfo, info: NameInfo): number {
    if (info.special !== Special.NONE) return ALL_ARGS;
    const w = this.o.sink.argsWanted;
    return w ? w.call(this.o.sink, arch, info.nr) : ALL_ARGS;
  }

  private call(b: Buffer, s: number, p: number, e: number, pid: number, lineNo: number, last: boolean): void {
    let q = p;
    while (q < e && isNameChar(b[q])) q++;
    if (b[q] !== 0x28) {
      if (b[q] === 0x3a && q - p === 6 && latin1(b, p, q) === "strace") {
        this.o.stats.other++; // "strace: Process N attached" and other messages
        return;
      }
      if (last) {
        this.o.stats.other++;
        return;
      }
      this.garbage(b, s, e, lineNo);
    }
    const st = this.state(pid);
    const arch = st.arch;
    const info = this.lookupName(arch, b, p, q, lineNo);
    if (st.pending) this.flushPending(pid, st);
    const argsStart = q + 1;
    if (b[e - 1] === 0x3e && e - argsStart >= UNFINISHED.length && isUnfinished(b, e)) {
      if (!st.store || st.store.length < e - s) st.store = Buffer.allocUnsafe(Math.max(256, 2 * (e - s)));
      copyBytes(b, s, e, st.store, 0);
      const line = st.store.subarray(0, e - s);
      st.pending = {
        info, arch, line, argsStart: argsStart - s, argsEnd: e - s - UNFINISHED.length, lineNo,
        ipLo: this.ipLo, ipHi: this.ipHi, ipKnown: this.ipKnown,
      };
      if (info.special === Special.CLONE || info.special === Special.CLONE3 || info.special === Special.FORK || info.special === Special.VFORK) {
        this.o.sink.cloneStarted?.(pid, info.special, this.cloneFlagsOf(info, arch, line, argsStart - s, line.length));
      }
      return;
    }
    const ev = this.ev;
    ev.reset();
    ev.buf = b;
    ev.start = s;
    ev.end = e;
    if (!this.fill(ev, info, arch, b, argsStart, e, pid, lineNo, this.wanted(arch, info))) {
      if (last) {
        this.o.stats.other++;
        return;
      }
      this.garbage(b, s, e, lineNo, "unterminated argument list");
    }
    if (this.ipKnown) {
      ev.vals[0] = this.ipLo;
      ev.vals[1] = this.ipHi;
      ev.known |= KNOWN_IP;
    }
    this.o.stats.events++;
    this.o.sink.event(ev);
  }

  /**
   * Fills `ev` from an argument list b[from..to) (a whole call, or unfinished + resumed
   * halves joined). False when the list has no closing parenthesis.
   */
  private fill(ev: TraceEvent, info: NameInfo, arch: ArchInfo, b: Buffer, from: number, to: number, pid: number, lineNo: number, wanted: number): boolean {
    ev.line = lineNo;
    ev.pid = pid;
    ev.arch = arch;
    ev.nr = info.nr;
    ev.name = info.name;
    ev.special = info.special;
    const close = this.args(ev, info, arch, b, from, to, wanted);
    if (close === -1) return false;
    // -2: stopped after the last wanted argument; the line must still close its list somewhere
    // (a cheap check, so that a cut-off line is not taken for a call).
    if (close === -2) {
      // Backwards: the ')' is usually a few bytes before " = ret".
      for (let j = to - 1; j >= from; j--) if (b[j] === 0x29) return true;
      return false;
    }
    if (info.special !== Special.NONE) {
      ev.ret = this.retValue(b, close + 1, to);
      if (info.special === Special.CLONE3) ev.cloneFlags = this.cloneFlagsOf(info, arch, b, from, close);
    }
    return true;
  }

  /**
   * Splits and decodes the wanted arguments; returns the index of the closing ')', -1 when the
   * list does not close before `limit`, -2 when it stopped after the last wanted argument.
   */
  private args(ev: TraceEvent, info: NameInfo, arch: ArchInfo, b: Buffer, s: number, limit: number, wanted: number): number {
    const keyed = info.special === Special.CLONE;
    wanted &= 0x7e;
    if (wanted === 0 && !keyed) return -2;
    const dec = this.decoder(arch);
    // The highest argument wanted: past it the scan can stop.
    const lastWanted = keyed ? 6 : 31 - Math.clz32(wanted) - 1;
    let argStart = s;
    let idx = 0;
    let depth = 0;
    let i = s;
    while (i < limit) {
      const c = b[i];
      if (c === 0x22) {
        i = skipString(b, i, limit);
        continue;
      }
      if (c === 0x28 || c === 0x5b || c === 0x7b) {
        depth++;
      } else if (c === 0x29 || c === 0x5d || c === 0x7d) {
        if (depth === 0) {
          if (c !== 0x29) return -1;
          if (keyed || wanted & (2 << idx)) this.arg(ev, dec, b, argStart, i, idx, keyed);
          return i;
        }
        depth--;
      } else if (depth === 0 && c === 0x2c) {
        if (keyed || wanted & (2 << idx)) this.arg(ev, dec, b, argStart, i, idx, keyed);
        if (++idx > lastWanted) return -2;
        argStart = i + 1;
      } else if (c === 0x3c) {
        if (b[i + 1] === 0x3c) {
          i += 2; // a shift inside a flag expression
          continue;
        }
        // `<…>` decorations (-y paths, `<... resuming …>`): skip to the matching '>'.
        let n = 0;
        let j = i;
        for (; j < limit; j++) {
          if (b[j] === 0x3c) n++;
          else if (b[j] === 0x3e && --n === 0) break;
        }
        i = j + 1;
        continue;
      } else if (c === 0x2f && b[i + 1] === 0x2a) {
        const j = b.indexOf("*/", i + 2);
        i = j < 0 || j >= limit ? limit : j + 2;
        continue;
      }
      i++;
    }
    return -1;
  }

  private arg(ev: TraceEvent, dec: ValueDecoder, b: Buffer, s: number, e: number, idx: number, keyed: boolean): void {
    if (keyed) {
      let i = s;
      while (b[i] === 0x20) i++;
      const ks = i;
      while (i < e && isNameChar(b[i])) i++;
      if (b[i] === 0x3d) idx = cloneKeyIndex(ev.arch, latin1(b, ks, i));
      if (idx < 0) return;
    }
    if (idx > 5) return;
    if (!dec.decodeArg(b, s, e)) return;
    ev.vals[2 + 2 * idx] = dec.lo;
    ev.vals[3 + 2 * idx] = dec.hi;
    ev.known |= knownArgBit(idx);
    if (keyed && idx === cloneKeyIndex(ev.arch, "flags")) ev.cloneFlags = dec.lo;
  }

  /** The flags of a clone/clone3 argument list b[s..e) (`flags=…` at any depth), if decodable. */
  private cloneFlagsOf(info: NameInfo, arch: ArchInfo, b: Buffer, s: number, e: number): number | undefined {
    if (info.special !== Special.CLONE && info.special !== Special.CLONE3) return undefined;
    const at = b.indexOf("flags=", s);
    if (at < 0 || at >= e) return undefined;
    let j = at + 6;
    while (j < e && b[j] !== 0x2c && b[j] !== 0x7d && b[j] !== 0x29) j++;
    const dec = this.decoder(arch);
    return dec.decodeArg(b, at + 6, j) ? dec.lo : undefined;
  }

  /** The return value after ") = ", as a number, or undefined (`?`, not a number). */
  private retValue(b: Buffer, i: number, e: number): number | undefined {
    while (i < e && b[i] === 0x20) i++;
    if (b[i] !== 0x3d) return undefined;
    i++;
    while (i < e && b[i] === 0x20) i++;
    let neg = false;
    if (b[i] === 0x2d) {
      neg = true;
      i++;
    }
    let v = 0;
    if (b[i] === 0x30 && b[i + 1] === 0x78) {
      i += 2;
      const ds = i;
      for (; i < e; i++) {
        const ch = b[i];
        const h = ch <= 0x39 ? ch - 0x30 : (ch | 0x20) - 0x57;
        if (h < 0 || h > 15) break;
        v = v * 16 + h;
      }
      if (i === ds) return undefined;
    } else {
      const ds = i;
      while (i < e && isDigit(b[i])) v = v * 10 + (b[i++] - 0x30);
      if (i === ds) return undefined;
    }
    return neg ? -v : v;
  }

  private resumed(b: Buffer, s: number, p: number, e: number, pid: number, lineNo: number): void {
    // "<... NAME resumed>REST"
    let r = p;
    while (r < e && isNameChar(b[r])) r++;
    if (r + RESUMED.length > e || b[r] !== 0x20 || b[r + RESUMED.length - 1] !== 0x3e) this.garbage(b, s, e, lineNo);
    const st = this.pids.get(pid);
    const pend = st?.pending;
    if (!st || !pend || !sameName(pend.info.name, b, p, r)) {
      // A call whose start this trace does not have (attached mid-call, or another -ff file).
      if (st && pend) this.flushPending(pid, st);
      this.o.stats.orphanResumed++;
      return;
    }
    st.pending = undefined;
    const wanted = this.wanted(pend.arch, pend.info);
    if ((wanted & 0x7e) === 0 && pend.info.special !== Special.CLONE) {
      // Nothing to decode: no need to join the halves, only to see the list close.
      let j = e - 1;
      while (j > r && b[j] !== 0x29) j--;
      if (j === r) this.garbage(b, s, e, lineNo, "unterminated argument list");
      this.emitBare(pend, pid);
      return;
    }
    // Both halves of the argument list, joined in a reused scratch buffer.
    const head = pend.argsEnd - pend.argsStart;
    const total = head + (e - r - RESUMED.length);
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafe(2 * total);
    const joined = this.scratch;
    copyBytes(pend.line, pend.argsStart, pend.argsEnd, joined, 0);
    copyBytes(b, r + RESUMED.length, e, joined, head);
    const ev = this.pendingEvent(pend);
    if (!this.fill(ev, pend.info, pend.arch, joined, 0, total, pid, pend.lineNo, wanted)) {
      this.garbage(b, s, e, lineNo, "unterminated argument list");
    }
    this.emitPending(ev, pend);
  }

  /** The shared event, reset to read from a pending (unfinished) call's saved line. */
  private pendingEvent(pend: Pending): TraceEvent {
    const ev = this.ev;
    ev.reset();
    ev.buf = pend.line;
    ev.start = 0;
    ev.end = pend.line.length;
    return ev;
  }

  /** Adds the pending call's instruction pointer (from -i) and hands the event on. */
  private emitPending(ev: TraceEvent, pend: Pending): void {
    if (pend.ipKnown) {
      ev.vals[0] = pend.ipLo;
      ev.vals[1] = pend.ipHi;
      ev.known |= KNOWN_IP;
    }
    this.o.stats.events++;
    this.o.sink.event(ev);
  }

  /** Emits a resumed call whose arguments nobody reads. */
  private emitBare(pend: Pending, pid: number): void {
    const ev = this.pendingEvent(pend);
    ev.line = pend.lineNo;
    ev.pid = pid;
    ev.arch = pend.arch;
    ev.nr = pend.info.nr;
    ev.name = pend.info.name;
    ev.special = pend.info.special;
    this.emitPending(ev, pend);
  }

  /** Emits an unfinished call that will not resume, with the arguments its line showed. */
  private flushPending(pid: number, st: PidState): void {
    const pend = st.pending;
    if (!pend) return;
    st.pending = undefined;
    const ev = this.pendingEvent(pend);
    ev.line = pend.lineNo;
    ev.pid = pid;
    ev.arch = pend.arch;
    ev.nr = pend.info.nr;
    ev.name = pend.info.name;
    ev.special = pend.info.special;
    this.args(ev, pend.info, pend.arch, pend.line, pend.argsStart, pend.argsEnd, this.wanted(pend.arch, pend.info));
    // The last argument was cut by " <unfinished ...>" only if the list ended with ", ": args
    // shows what was printed; an argument split across the halves is a struct (unknown) anyway.
    this.emitPending(ev, pend);
  }

  private signalLine(b: Buffer, p: number, e: number, pid: number, lineNo: number): void {
    this.o.stats.signals++;
    const text = latin1(b, p, e);
    const m = /^--- (SIG[A-Z0-9_+-]+|stopped by \S+)/.exec(text);
    const sig = m ? m[1] : "unknown";
    let seccomp: { syscall: string } | undefined;
    if (/si_code=(?:SYS_SECCOMP|0x1\b|1\b)/.test(text) && sig === "SIGSYS") {
      const sm = /si_syscall=(?:__NR_)?([A-Za-z0-9_]+)/.exec(text);
      seccomp = { syscall: sm ? sm[1] : "?" };
    }
    this.o.sink.signal?.(pid, sig, this.o.file, lineNo, seccomp);
  }

  private exitLine(b: Buffer, p: number, e: number, pid: number, lineNo: number): void {
    this.o.stats.exits++;
    const st = this.pids.get(pid);
    if (st?.pending) this.flushPending(pid, st);
    // The thread is gone: forget it, so that memory follows the live threads, not the trace.
    // (A 32-bit personality is per process image; a new thread with this id starts afresh.)
    this.pids.delete(pid);
    const text = latin1(b, p, e);
    const sup = /superseded by execve in pid (\d+)/.exec(text);
    this.o.sink.exited?.(pid, text.replace(/^\+\+\+ | \+\+\+$/g, ""), sup ? Number(sup[1]) : undefined);
    void lineNo;
  }

  private processLine(b: Buffer, s: number, p: number, e: number, lineNo: number): void {
    const text = latin1(b, p, e);
    const m = /^\[ Process PID=(\d+) runs in (32 bit|64 bit|x32) mode\. \]/.exec(text);
    if (!m) this.garbage(b, s, e, lineNo);
    const pid = Number(m[1]);
    const st = this.state(pid);
    const next = personality(this.o.arch, m[2]);
    if (!next) throw new InputError(`cannot tell the ABI of "${m[2]} mode" on ${this.o.arch.name}`, this.where(lineNo));
    st.arch = next;
    this.o.stats.other++;
  }

  /** Emits every call still waiting for its resumed half (end of the trace). */
  finish(): void {
    for (const [pid, st] of this.pids) if (st.pending) this.flushPending(pid, st);
  }
}

/** The pid of a `strace -ff -o NAME` output file (NAME.PID, maybe .gz), if the name has one. */
export function pidFromFileName(path: string): number | undefined {
  const m = /\.(\d+)(?:\.gz)?$/.exec(path);
  return m ? Number(m[1]) : undefined;
}
