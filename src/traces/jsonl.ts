// JSON-lines syscall records: one `{"arch","nr"|"syscall","args","ip"}` object per line, the
// input format of `sysfence run --inputs` (and of trace replay). Numbers may be JSON numbers or
// strings (decimal or 0x hex); 64-bit values are read exactly with lossless-json, never
// through a JS number.
import { parse as losslessParse } from "lossless-json";
import { InputError } from "../errors.js";
import type { SeccompData } from "../engine/data.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { resolveArch, resolveSyscall } from "../syscalls/index.js";
import { INT, inRange, refuseUnknownKeys } from "../validate.js";

export interface SyscallRecord {
  /** 1-based line number in the source. */
  line: number;
  arch: ArchInfo;
  data: SeccompData;
  /**
   * Trace records only (parseTraceRecord): which values the line does not show. Argument i is
   * unknown when it is null or missing; the ip when "ip" is absent. `data` holds 0 there.
   */
  unknownArgs?: number[];
  unknownIp?: boolean;
  /** Trace records only: the thread id ("pid"), when given. */
  pid?: number;
  /** Trace records only: the return value ("ret"), when given (installs and clones need it). */
  ret?: number;
}

const U64_MAX = (1n << 64n) - 1n;

/** Parses one value into a BigInt: a JSON integer, or a string "123", "-1", "0x1f". */
export function toBigInt(v: unknown, what: string, where: string): bigint {
  if (typeof v === "bigint") return v;
  let s: string;
  if (typeof v === "string") s = v.trim();
  else if (typeof v === "number") s = String(v);
  else throw new InputError(`${what} must be a number or a numeric string`, where);
  let n: bigint;
  if (/^-?0x[0-9a-f]+$/i.test(s)) n = s.startsWith("-") ? -BigInt(s.slice(1)) : BigInt(s);
  else if (/^-?\d+$/.test(s)) n = BigInt(s);
  else throw new InputError(`${what} "${s}" is not an integer`, where);
  return n;
}

/** A 64-bit argument: 0..2^64-1, or a negative value down to -2^63 taken as two's complement. */
export function toU64(v: unknown, what: string, where: string): bigint {
  const n = toBigInt(v, what, where);
  if (n > U64_MAX || n < -(1n << 63n)) throw new InputError(`${what} ${n} does not fit in 64 bits`, where);
  return BigInt.asUintN(64, n);
}

/**
 * A syscall's return value as trace records give it: the kernel's 64-bit register, signed or
 * unsigned (18446744073709551615 is -1). Replay reads returns only for their sign, zero and
 * child thread ids, so the value is kept as a number, and one whose magnitude is past 2^53
 * (where a number would round it) is refused rather than changed.
 */
export function traceRet(n: bigint, what: string, where: string): number {
  if (n > U64_MAX || n < -(1n << 63n)) throw new InputError(`${what} ${n} does not fit in 64 bits`, where);
  const v = BigInt.asIntN(64, n);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InputError(`${what} ${n} is not exact as a return value here (|ret| at most 2^53-1)`, where);
  }
  return Number(v);
}

const NOT_SCANNED = Symbol("not scanned");

/**
 * The common record line, read without a general JSON parser: a flat object of the record's own
 * fields, each once, whose values are strings without escapes or control characters, integers
 * (read exactly, as BigInt), null, or an array of those. Lines like that are nearly all lines of
 * a real trace, and lossless-json costs several times as much per line. Anything else (unknown
 * or repeated keys, escapes, fractions, exponents, nesting, true/false, invalid JSON) answers
 * undefined and is read by lossless-json, which words its errors; so what is accepted here is
 * exactly what lossless-json would give (test/traces-reader.test.ts checks both on random lines).
 */
export function scanRecordLine(text: string): Record<string, unknown> | undefined {
  const n = text.length;
  let i = 0;
  const ws = () => {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    }
  };
  const str = (): string | typeof NOT_SCANNED => {
    if (text.charCodeAt(i) !== 34) return NOT_SCANNED;
    const start = ++i;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) return text.slice(start, i++);
      if (c === 92 || c < 0x20) return NOT_SCANNED;
    }
    return NOT_SCANNED;
  };
  const int = (): bigint | typeof NOT_SCANNED => {
    const start = i;
    if (text.charCodeAt(i) === 45) i++;
    const first = text.charCodeAt(i);
    if (first === 48) i++;
    else if (first >= 49 && first <= 57) while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    else return NOT_SCANNED;
    const next = text.charCodeAt(i);
    if (next === 46 || next === 101 || next === 69 || (next >= 48 && next <= 57)) return NOT_SCANNED;
    return BigInt(text.slice(start, i));
  };
  const scalar = (): unknown => {
    const c = text.charCodeAt(i);
    if (c === 34) return str();
    if (c === 110 && text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    return int();
  };
  const value = (): unknown => {
    if (text.charCodeAt(i) !== 91) return scalar();
    i++;
    ws();
    const items: unknown[] = [];
    if (text.charCodeAt(i) === 93) {
      i++;
      return items;
    }
    for (;;) {
      const v = scalar();
      if (v === NOT_SCANNED) return NOT_SCANNED;
      items.push(v);
      ws();
      const c = text.charCodeAt(i++);
      if (c === 93) return items;
      if (c !== 44) return NOT_SCANNED;
      ws();
    }
  };
  ws();
  if (text.charCodeAt(i++) !== 123) return undefined;
  ws();
  const out: Record<string, unknown> = {};
  if (text.charCodeAt(i) === 125) {
    i++;
    ws();
    return i === n ? out : undefined;
  }
  for (;;) {
    const key = str();
    if (key === NOT_SCANNED || !RECORD_KEYS.has(key) || Object.hasOwn(out, key)) return undefined;
    ws();
    if (text.charCodeAt(i++) !== 58) return undefined;
    ws();
    const v = value();
    if (v === NOT_SCANNED) return undefined;
    out[key] = v;
    ws();
    const c = text.charCodeAt(i++);
    if (c === 125) {
      ws();
      return i === n ? out : undefined;
    }
    if (c !== 44) return undefined;
    ws();
  }
}

function parseLine(text: string, where: string): Record<string, unknown> {
  const scanned = scanRecordLine(text);
  if (scanned) return scanned;
  let obj: unknown;
  try {
    obj = losslessParse(text, null, (s: string) => BigInt(/[.eE]/.test(s) ? NaN : s));
  } catch (e) {
    const msg = (e as Error).message;
    if (/Cannot convert|NaN/.test(msg)) throw new InputError("numbers must be integers", where);
    throw new InputError(`invalid JSON: ${msg}`, where);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new InputError("each line must be a JSON object", where);
  }
  return obj as Record<string, unknown>;
}

/**
 * Parses one record. `defaultArch` applies when the line has no "arch". `where` is the file and
 * line for errors.
 */
export function parseRecord(text: string, lineNo: number, file: string, defaultArch?: ArchInfo): SyscallRecord {
  return parseWith(text, lineNo, file, defaultArch, false);
}

/**
 * A record of a trace to replay or learn from: like parseRecord, plus optional "pid" and "ret", and
 * what the line does not show is UNKNOWN instead of 0: an argument that is null or beyond the
 * "args" array, and the ip when "ip" is absent (a filter that looks at them then "depends").
 */
export function parseTraceRecord(text: string, lineNo: number, file: string, defaultArch?: ArchInfo): SyscallRecord {
  return parseWith(text, lineNo, file, defaultArch, true);
}

const FIELDS = ["arch", "nr", "syscall", "args", "ip", "instruction_pointer", "comment"];
const TRACE_FIELDS = [...FIELDS, "pid", "ret"];
/** The keys scanRecordLine reads itself (any other key goes to the general parser). */
const RECORD_KEYS: ReadonlySet<string> = new Set(TRACE_FIELDS);

function parseWith(text: string, lineNo: number, file: string, defaultArch: ArchInfo | undefined, trace: boolean): SyscallRecord {
  const where = `${file}:${lineNo}`;
  const o = parseLine(text, where);
  refuseUnknownKeys(o, trace ? TRACE_FIELDS : FIELDS, () => where);
  let arch = defaultArch;
  if (o.arch !== undefined) {
    if (typeof o.arch !== "string" && typeof o.arch !== "bigint") throw new InputError('"arch" must be an arch name or token', where);
    // An AUDIT_ARCH token is 32 bits: 0xC000003E + 2^32 is not x86_64.
    arch = resolveArch(typeof o.arch === "bigint" ? Number(inRange(o.arch, INT.u32, '"arch"', where)) : o.arch, where);
  }
  if (!arch) throw new InputError('no "arch" on this line and no --arch given', where);
  let nr: number;
  if (o.nr !== undefined && o.syscall !== undefined) throw new InputError('give "nr" or "syscall", not both', where);
  if (o.nr !== undefined) {
    const n = toBigInt(o.nr, '"nr"', where);
    // seccomp_data.nr is the low 32 bits of the register, as the kernel truncates it.
    if (n < -(1n << 31n) || n > 0xffffffffn) throw new InputError(`"nr" ${n} does not fit in 32 bits`, where);
    nr = Number(BigInt.asIntN(32, n));
  } else if (typeof o.syscall === "string") {
    nr = resolveSyscall(arch, o.syscall, where) | 0;
  } else {
    throw new InputError('each line needs "nr" (a number) or "syscall" (a name)', where);
  }
  const args: bigint[] = [];
  const unknownArgs: number[] = [];
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) throw new InputError('"args" must be an array', where);
    if (o.args.length > 6) throw new InputError(`"args" has ${o.args.length} values; a syscall has at most 6`, where);
    o.args.forEach((a, i) => {
      if (trace && a === null) {
        unknownArgs.push(i);
        args.push(0n);
      } else {
        args.push(toU64(a, `args[${i}]`, where));
      }
    });
  }
  while (args.length < 6) {
    if (trace) unknownArgs.push(args.length);
    args.push(0n);
  }
  const ipv = o.ip ?? o.instruction_pointer;
  const ip = ipv === undefined ? 0n : toU64(ipv, '"ip"', where);
  const rec: SyscallRecord = { line: lineNo, arch, data: { nr, arch: arch.token, instructionPointer: ip, args } };
  if (trace) {
    rec.unknownArgs = unknownArgs;
    rec.unknownIp = ipv === undefined;
    if (o.pid !== undefined) {
      rec.pid = Number(inRange(toBigInt(o.pid, '"pid"', where), INT.pid, '"pid"', where));
    }
    if (o.ret !== undefined) rec.ret = traceRet(toBigInt(o.ret, '"ret"', where), '"ret"', where);
  }
  return rec;
}

/** Parses a whole JSONL text; blank lines and lines starting with # or // are skipped. */
export function parseJsonl(text: string, file: string, defaultArch?: ArchInfo): SyscallRecord[] {
  const out: SyscallRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === "" || t.startsWith("#") || t.startsWith("//")) continue;
    out.push(parseRecord(t, i + 1, file, defaultArch));
  }
  return out;
}
