// Audit logs (docs/formats.md section 8) in their three textual forms:
//   1. auditd's raw log:   type=SECCOMP msg=audit(1613596317.899:6461): auid=… arch=c000003e syscall=3 … ip=0x… code=0x7ffc0000
//   2. kernel log/syslog:  … kernel: [  270.853767] audit: type=1326 audit(1625740283.502:574): auid=… (also dmesg)
//   3. ausearch -i:        type=SECCOMP msg=audit(08/05/2026 11:52:07.114:3319) : … arch=x86_64 syscall=ptrace … code=kill_process
// plus auditd's ENRICHED format (a 0x1d byte, then upper-case interpretations: ignored).
//
// Records used: SECCOMP (1326: arch, syscall, ip; no arguments) and SYSCALL (1300: arch,
// syscall, a0-a3 as hex without 0x; a4/a5 and the ip are not recorded). When a SYSCALL and a
// SECCOMP record of the same event (same serial) follow each other they are one call, with
// a0-a3 from one and ip from the other. Everything a record does not carry is unknown, so a
// filter that looks at it gives "depends".
//
// Lines without an audit record (other kernel messages in a syslog, ausearch's `----` and
// `time->` lines) are skipped and counted; a SECCOMP/SYSCALL record without arch= or syscall=
// is an error naming the line.
import { InputError, UnknownSyscallError } from "../errors.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { findArch, resolveArch, syscallName, syscallNumber } from "../syscalls/index.js";
import { TraceEvent, knownArgBit, KNOWN_IP, specialOf, type TraceSink, type ParseStats } from "./event.js";
import { ValueDecoder } from "./values.js";
import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";
import { traceRet } from "./jsonl.js";
import { INT, decimalIn } from "../validate.js";

// A key starts at a word boundary: without the \b a long run of word characters with no "=" is
// rescanned from every position (quadratic; a 1 MB line took minutes).
const FIELD = /\b(\w+)=("[^"]*"|\S*)/g;

export interface AuditOptions {
  file: string;
  fileIndex: number;
  sink: TraceSink;
  stats: ParseStats;
}

interface Held {
  ev: TraceEvent;
  serial: string;
  type: "SECCOMP" | "SYSCALL";
}

export class AuditParser {
  private held: Held | undefined;
  private spare = new TraceEvent();
  private readonly decoders = new Map<string, ValueDecoder>();

  constructor(private readonly o: AuditOptions) {}

  private decoder(arch: ArchInfo): ValueDecoder {
    let d = this.decoders.get(arch.name);
    if (!d) this.decoders.set(arch.name, (d = new ValueDecoder(arch)));
    return d;
  }

  line(b: Buffer, s: number, e: number, lineNo: number): void {
    const stats = this.o.stats;
    stats.lines++;
    let text = b.toString("latin1", s, e);
    const gs = text.indexOf("\x1d");
    if (gs >= 0) text = text.slice(0, gs);
    const tm = /\btype=(\w+)/.exec(text);
    if (!tm) {
      stats.other++;
      return;
    }
    const kind = tm[1] === "SECCOMP" || tm[1] === "1326" ? "SECCOMP" : tm[1] === "SYSCALL" || tm[1] === "1300" ? "SYSCALL" : undefined;
    if (!kind) {
      stats.other++;
      return;
    }
    const where = `${this.o.file}:${lineNo}`;
    // The first "audit(" and the first ")" after it, with two scans: the regex /audit\(([^)]*)\)/
    // retried from every "audit(" of a line without ")" cost the line's length squared (a
    // 1.3 MB line took 5 s of CPU; fuzz audit seed 20261205 #4320).
    const open = text.indexOf("audit(");
    const close = open < 0 ? -1 : text.indexOf(")", open + 6);
    if (close < 0) throw new InputError(`a type=${tm[1]} record without audit(TIME:SERIAL)`, where);
    const stamp = text.slice(open + 6, close);
    const serial = stamp.slice(stamp.lastIndexOf(":") + 1);
    const fields = new Map<string, string>();
    FIELD.lastIndex = close + 1;
    for (let m = FIELD.exec(text); m; m = FIELD.exec(text)) if (!fields.has(m[1])) fields.set(m[1], m[2]);

    const archText = fields.get("arch");
    const sysText = fields.get("syscall");
    if (!archText || !sysText) throw new InputError(`a type=${tm[1]} record without arch= and syscall=`, where);
    let arch: ArchInfo;
    if (/^[0-9a-f]{8}$/i.test(archText)) arch = resolveArch(parseInt(archText, 16), where);
    else arch = resolveArch(archText, where);
    let nr: number;
    let name: string;
    if (/^\d+$/.test(sysText)) {
      // seccomp_data.nr is 32 bits: 4294967296 is not read (0), it is an error.
      nr = Number(decimalIn(sysText, INT.u32, "syscall=", where));
      // AUDIT_ARCH_X86_64 is shared by x86_64 and x32: the nr bit tells them apart.
      if (arch.name === "x86_64" && nr >= X32_SYSCALL_BIT) arch = findArch("x32") ?? arch;
      name = syscallName(arch, nr) ?? `syscall_0x${nr.toString(16)}`;
    } else {
      const v = syscallNumber(arch, sysText);
      if (v === undefined) throw new UnknownSyscallError(sysText, arch.name, where);
      nr = v;
      name = sysText;
    }

    const ev = this.spare;
    ev.reset();
    ev.file = this.o.file;
    ev.fileIndex = this.o.fileIndex;
    ev.line = lineNo;
    ev.arch = arch;
    ev.nr = nr;
    ev.name = name;
    ev.special = specialOf(name);
    const pid = fields.get("pid");
    ev.pid = pid === undefined ? 0 : Number(decimalIn(pid, INT.pid, "pid=", where));
    ev.textCache = b.toString("latin1", s, e);
    const ip = fields.get("ip");
    if (ip !== undefined && /^0x[0-9a-f]{1,16}$/i.test(ip)) {
      const v = BigInt(ip);
      ev.vals[0] = Number(v & 0xffffffffn);
      ev.vals[1] = Number(v >> 32n);
      ev.known |= KNOWN_IP;
    }
    if (kind === "SYSCALL") {
      const interpreted = /\)\s:\s/.test(text.slice(open, close + 4));
      for (let i = 0; i < 4; i++) {
        const a = fields.get(`a${i}`);
        if (a === undefined) continue;
        if (/^[0-9a-f]{1,16}$/i.test(a) || /^0x[0-9a-f]{1,16}$/i.test(a)) {
          ev.setArg(i, BigInt(/^0x/i.test(a) ? a : "0x" + a));
        } else if (interpreted) {
          // ausearch -i may print a0-a3 symbolically (AT_FDCWD, O_RDONLY|O_CLOEXEC).
          const dec = this.decoder(arch);
          const bytes = Buffer.from(a, "latin1");
          if (dec.decodeArg(bytes, 0, bytes.length)) {
            ev.vals[2 + 2 * i] = dec.lo;
            ev.vals[3 + 2 * i] = dec.hi;
            ev.known |= knownArgBit(i);
          }
        } else {
          throw new InputError(`a${i}=${a} is not hex`, where);
        }
      }
      const exit = fields.get("exit");
      if (exit !== undefined && /^-?\d+$/.test(exit)) ev.ret = traceRet(BigInt(exit), "exit=", where);
    }
    this.hold(ev, serial, kind);
  }

  /** Keeps one record back to merge a SECCOMP/SYSCALL pair of the same event. */
  private hold(ev: TraceEvent, serial: string, type: "SECCOMP" | "SYSCALL"): void {
    const h = this.held;
    if (h && h.serial === serial && h.type !== type && h.ev.nr === ev.nr && h.ev.arch === ev.arch) {
      const from = type === "SYSCALL" ? ev : h.ev;
      const into = h.ev;
      if (from !== into) {
        for (let i = 0; i < 4; i++) {
          if (from.known & knownArgBit(i)) {
            into.vals[2 + 2 * i] = from.vals[2 + 2 * i];
            into.vals[3 + 2 * i] = from.vals[3 + 2 * i];
            into.known |= knownArgBit(i);
          }
        }
        if (from.ret !== undefined) into.ret = from.ret;
      }
      if (!(into.known & KNOWN_IP) && ev.known & KNOWN_IP) {
        into.vals[0] = ev.vals[0];
        into.vals[1] = ev.vals[1];
        into.known |= KNOWN_IP;
      }
      this.held = undefined;
      this.emit(into);
      return;
    }
    if (h) {
      this.held = undefined;
      this.emit(h.ev);
    }
    // Swap buffers: the held event keeps its object, the next record gets a fresh one.
    const spare = h ? h.ev : new TraceEvent();
    this.held = { ev, serial, type };
    this.spare = spare;
  }

  private emit(ev: TraceEvent): void {
    this.o.stats.events++;
    this.o.sink.event(ev);
  }

  finish(): void {
    if (this.held) {
      const h = this.held;
      this.held = undefined;
      this.emit(h.ev);
    }
  }
}
