// Reading a whole trace file: open (gzip or not), detect its format from the first lines, split
// lines over large chunks, feed the format's parser, report progress. Memory stays constant:
// one chunk, one partial line, and per thread at most one unfinished call.
import { openSync, readSync, closeSync } from "node:fs";
import { gunzipSync, constants as zlibConstants } from "node:zlib";
import { InputError } from "../errors.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { TraceEvent, emptyStats, KNOWN_IP, specialOf, type ParseStats, type TraceSink } from "./event.js";
import { openTrace, chunkError, isGzip, type TraceSource } from "./source.js";
import { StraceParser, pidFromFileName } from "./strace.js";
import { AuditParser } from "./audit.js";
import { parseTraceRecord } from "./jsonl.js";
import { syscallName } from "../syscalls/index.js";

export type TraceFormat = "strace" | "audit" | "jsonl";
export const TRACE_FORMATS: readonly TraceFormat[] = ["strace", "audit", "jsonl"];

/** The longest line accepted: a binary file without newlines must not fill memory. */
export const MAX_LINE_BYTES = 16 << 20;

const STRACE_LINE =
  /^(?:\[pid +\d+\] +|\d+ +)?(?:[\d:.]+ +)?(?:\(\+ *[\d.]+\) +| +[\d.]+ +)?(?:\[ *[\da-f]+\] +)*(?:[a-z_][a-z0-9_]*\(|<\.\.\. [a-z_0-9]+ resumed>|--- |\+\+\+ |\[ Process PID=)/;

const RECORD_KEYS = new Set(["arch", "nr", "syscall", "args", "ip", "instruction_pointer", "comment", "pid", "ret"]);

/**
 * A JSON-lines syscall record: one object on one line, "nr" or "syscall" at its top level and
 * no other keys. (A policy written on one line has thread or profile keys instead.)
 */
function isJsonlRecord(line: string): boolean {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return false;
  }
  if (!o || typeof o !== "object" || Array.isArray(o)) return false;
  const keys = Object.keys(o);
  return (keys.includes("nr") || keys.includes("syscall")) && keys.every((k) => RECORD_KEYS.has(k));
}

/**
 * The format of a trace from its first bytes (decompressed), or undefined when it is none of
 * them. Looks at the first lines that are not blank or strace/ausearch chatter.
 */
export function detectTraceFormat(head: Buffer | string): TraceFormat | undefined {
  const text = typeof head === "string" ? head : head.toString("latin1", 0, Math.min(head.length, 1 << 16));
  if (text.includes("\0")) return undefined;
  // The first line that is one of the formats decides; a few other lines may come first (a
  // syslog has other messages before its audit records). The parser then judges every line.
  const lines = text.split("\n").slice(0, 50);
  let others = 0;
  for (const raw of lines) {
    const l = raw.replace(/\r$/, "");
    const t = l.trim();
    if (t === "" || t.startsWith("strace: ") || t === "----" || t.startsWith("time->")) continue;
    if (t.startsWith("#") || t.startsWith("//")) continue;
    if (t.startsWith("{")) return isJsonlRecord(t) ? "jsonl" : undefined;
    if (/\btype=(?:\w+)\b/.test(l) && /audit\(/.test(l)) return "audit";
    if (STRACE_LINE.test(l)) return "strace";
    if (++others > 20) return undefined;
  }
  return undefined;
}

export interface ReadTraceOptions {
  /** Position of this file in the list of traces (reports order events by it). */
  fileIndex: number;
  /** Default ABI for formats without one (strace, JSON lines without "arch"). */
  arch: ArchInfo;
  /** Force a format instead of detecting it. */
  format?: TraceFormat;
  sink: TraceSink;
  /** Called with the stored bytes read so far (compressed bytes for gzip). */
  onProgress?: (bytes: number) => void;
}

export interface TraceFileSummary {
  file: string;
  format: TraceFormat;
  gzip: boolean;
  stats: ParseStats;
}

interface LineParser {
  line(b: Buffer, s: number, e: number, lineNo: number, last: boolean): void;
  finish(): void;
}

/** A parser for JSON lines (the `run --inputs` format, with unknown values allowed). */
class JsonlParser implements LineParser {
  private readonly ev = new TraceEvent();
  constructor(private readonly file: string, fileIndex: number, private readonly arch: ArchInfo, private readonly sink: TraceSink, private readonly stats: ParseStats) {
    this.ev.file = file;
    this.ev.fileIndex = fileIndex;
  }
  line(b: Buffer, s: number, e: number, lineNo: number): void {
    this.stats.lines++;
    const text = b.toString("utf8", s, e).trim();
    if (text === "" || text.startsWith("#") || text.startsWith("//")) {
      this.stats.other++;
      return;
    }
    const r = parseTraceRecord(text, lineNo, this.file, this.arch);
    const ev = this.ev;
    ev.reset();
    ev.line = lineNo;
    ev.pid = r.pid ?? 0;
    ev.arch = r.arch;
    ev.nr = r.data.nr >>> 0;
    ev.name = syscallName(r.arch, ev.nr) ?? `syscall_0x${ev.nr.toString(16)}`;
    ev.special = specialOf(ev.name);
    ev.ret = r.ret;
    ev.textCache = text;
    const unknown = new Set(r.unknownArgs ?? []);
    r.data.args?.forEach((a, i) => {
      if (!unknown.has(i)) ev.setArg(i, a);
    });
    if (!r.unknownIp) {
      const ip = r.data.instructionPointer ?? 0n;
      ev.vals[0] = Number(ip & 0xffffffffn);
      ev.vals[1] = Number(ip >> 32n);
      ev.known |= KNOWN_IP;
    }
    this.stats.events++;
    this.sink.event(ev);
  }
  finish(): void {}
}

/** Reads one trace file (or "-" for stdin) to the end, feeding `opts.sink`. */
export async function readTrace(path: string, opts: ReadTraceOptions): Promise<TraceFileSummary> {
  const src = await openTrace(path);
  return readSource(src, path, opts);
}

export async function readSource(src: TraceSource, path: string, opts: ReadTraceOptions): Promise<TraceFileSummary> {
  const label = src.label;
  const stats = emptyStats();
  let parser: LineParser | undefined;
  let format: TraceFormat | undefined = opts.format;
  let lineNo = 0;
  let carry: Buffer | undefined;
  let raw = 0;
  const onRaw = opts.onProgress ? (n: number) => opts.onProgress!((raw += n)) : undefined;

  const makeParser = (head: Buffer): LineParser => {
    if (format === undefined) {
      format = detectTraceFormat(head);
      if (format === undefined) {
        const first = head.toString("latin1", 0, Math.min(head.length, 200)).split("\n").find((l) => l.trim() !== "") ?? "";
        const shown = first.slice(0, 60).replace(/[^\x20-\x7e]/g, "?");
        throw new InputError(
          head.length === 0 ? "is empty: not a trace" :
            `not a trace (strace, audit log or JSON lines): "${shown}${first.length > 60 ? "…" : ""}"`,
          `${label}:1`,
        );
      }
    }
    if (format === "strace") {
      const pid = pidFromFileName(path);
      return new StraceParser({ file: label, fileIndex: opts.fileIndex, arch: opts.arch, pid, sink: opts.sink, stats });
    }
    if (format === "audit") return new AuditParser({ file: label, fileIndex: opts.fileIndex, sink: opts.sink, stats });
    return new JsonlParser(label, opts.fileIndex, opts.arch, opts.sink, stats);
  };

  try {
    for await (const chunk of src.chunks(onRaw) as AsyncIterable<Buffer>) {
      if (!parser) parser = makeParser(carry ? Buffer.concat([carry, chunk]) : chunk);
      let pos = 0;
      if (carry) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk]);
          if (carry.length > MAX_LINE_BYTES) throw new InputError(`line longer than ${MAX_LINE_BYTES} bytes: not a trace`, `${label}:${lineNo + 1}`);
          continue;
        }
        const line = Buffer.concat([carry, chunk.subarray(0, nl)]);
        carry = undefined;
        parser.line(line, 0, line.length, ++lineNo, false);
        pos = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        if (nl < 0) break;
        parser.line(chunk, pos, nl, ++lineNo, false);
        pos = nl + 1;
      }
      if (pos < chunk.length) {
        carry = chunk.subarray(pos);
        if (carry.length > MAX_LINE_BYTES) throw new InputError(`line longer than ${MAX_LINE_BYTES} bytes: not a trace`, `${label}:${lineNo + 1}`);
      }
    }
    if (!parser) parser = makeParser(Buffer.alloc(0));
    if (carry && carry.length) parser.line(carry, 0, carry.length, ++lineNo, true);
    parser.finish();
  } catch (e) {
    throw chunkError(e, label, lineNo + 1, src.gzip);
  }
  return { file: label, format: format!, gzip: src.gzip, stats };
}

/**
 * The trace format of a file, judged from its first 64 KiB (gunzipped if needed), or undefined
 * when it does not look like a trace (so it may be a filter). Used to split `FILTER… TRACE…`.
 */
export function sniffTraceFile(path: string): TraceFormat | undefined {
  let head: Buffer;
  try {
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(1 << 16);
      const n = readSync(fd, buf, 0, buf.length, 0);
      head = buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (isGzip(head)) {
    try {
      // A prefix of a gzip stream: Z_SYNC_FLUSH returns what it can instead of failing.
      head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return undefined;
    }
  }
  return detectTraceFormat(head);
}
