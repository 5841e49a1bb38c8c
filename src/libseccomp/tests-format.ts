// libseccomp's regression-test tables (`tests/*.tests`): parsing, and expansion of the
// `bpf-sim` rows into concrete simulations the way libseccomp's `tests/regression` script does
// it for a given host arch (docs/formats.md section 9).
//
// What the regression script does with a bpf-sim row, and what this module reproduces:
//   - the Arch column (a comma list) becomes a list of arches: `all` = the host, `all_le` etc. =
//     the host only if it is in the class, `+all_le` etc. = every arch of the class, `+a` adds
//     `a`, `-a` removes every occurrence of `a`, a bare `a` adds it only if it is the host.
//     Duplicates are kept (the script simulates them twice). An empty list means SKIPPED.
//   - the Syscall column is a decimal number (may be negative), a decimal range `lo-hi`, or a
//     name, resolved per arch by `scmp_sys_resolver -t` (see resolve.ts).
//   - each Arg column is `N` (not passed: 0), a value or a range `lo-hi`, read like C's
//     strtoull(s, 0, 0): `0x` hex, leading `0` octal, otherwise decimal, negatives wrap.
//   - every arch x syscall x arg0..arg5 combination is one simulation by `scmp_bpf_sim`, whose
//     output must equal the Result column exactly.
//   - the syscall number reaches the simulator through strtol() into an int: only its low 32
//     bits count (`4294867295` is nr -100001).
import { findArch, type ArchInfo } from "../syscalls/arches.js";
import { Action, decodeRet, type ActionName } from "../engine/actions.js";
import { InputError } from "../errors.js";

// ---- model -------------------------------------------------------------------------------

export const TEST_TYPES = ["bpf-sim", "bpf-sim-fuzz", "bpf-valgrind", "basic", "live"] as const;
export type TestType = (typeof TEST_TYPES)[number];

/** Where a line came from. `testNumber` is the ordinal of the data line in its file (1-based). */
export interface LineInfo {
  file: string;
  line: number;
  testNumber: number;
  /** The line as written, whitespace-trimmed. */
  text: string;
}

/** One element of the Arch column. */
export type ArchTerm =
  /** `all`: the host arch. */
  | { kind: "host" }
  /** `all_le` / `all_be` / `all_32` / `all_64`: the host, if it is in the class. */
  | { kind: "host-if"; cls: ArchClass }
  /** `+all_le` etc.: every arch of the class. */
  | { kind: "class"; cls: ArchClass }
  /** `+arch`. */
  | { kind: "add"; arch: string }
  /** `-arch`. */
  | { kind: "remove"; arch: string }
  /** bare `arch`: only if it is the host. */
  | { kind: "if-host"; arch: string };

export type ArchClass = "le" | "be" | "32" | "64";

/** An inclusive range of 64-bit values; a single value has lo == hi. */
export interface ValueRange {
  lo: bigint;
  hi: bigint;
}

export type SyscallSpec =
  /** A number or a numeric range (signed 64-bit as written; the simulator keeps the low 32 bits). */
  | { kind: "number"; lo: bigint; hi: bigint }
  /** A name, resolved per arch. */
  | { kind: "name"; name: string };

/** An expected simulator output. */
export interface SimResult {
  /** The exact text of the Result column (`ALLOW`, `KILL`, `ERRNO(1)`, …). */
  text: string;
  /** The kernel action it stands for; `KILL` is KILL_THREAD. */
  action: ActionName;
  /** The 16-bit data, for ERRNO and TRACE (the only results that print it). */
  data?: number;
}

export interface BpfSimLine extends LineInfo {
  type: "bpf-sim";
  testName: string;
  arches: ArchTerm[];
  syscall: SyscallSpec;
  /** Six entries; null = `N` (not passed, simulated as 0). */
  args: (ValueRange | null)[];
  result: SimResult;
}

export interface BpfSimFuzzLine extends LineInfo {
  type: "bpf-sim-fuzz";
  testName: string;
  stressCount: number;
}

export interface BpfValgrindLine extends LineInfo {
  type: "bpf-valgrind";
  testName: string;
}

export interface BasicLine extends LineInfo {
  type: "basic";
  /** The command line (may contain spaces). */
  command: string;
}

export interface LiveLine extends LineInfo {
  type: "live";
  testName: string;
  /** Minimum API level. */
  api: number;
  /** Expected outcome: an action name without data (`KILL`, `ALLOW`, `ERRNO`, …). */
  result: string;
}

export type TestLine = BpfSimLine | BpfSimFuzzLine | BpfValgrindLine | BasicLine | LiveLine;

export interface TestsFile {
  file: string;
  lines: TestLine[];
}

// ---- arches ------------------------------------------------------------------------------

/** The arch names the regression script and scmp_bpf_sim understand (libseccomp's spelling). */
export const LIBSECCOMP_ARCHES: readonly string[] = Object.freeze([
  "x86", "x86_64", "x32", "arm", "aarch64", "loongarch64", "m68k", "mips", "mipsel", "mips64",
  "mipsel64", "mips64n32", "mipsel64n32", "parisc", "parisc64", "ppc", "ppc64", "ppc64le", "s390",
  "s390x", "riscv64", "sheb", "sh",
]);

/** The regression script's arch classes, in its order (docs/formats.md section 9). */
export const ARCH_CLASSES: Readonly<Record<ArchClass, readonly string[]>> = Object.freeze({
  le: ["x86", "x86_64", "x32", "arm", "aarch64", "loongarch64", "mipsel", "mipsel64", "mipsel64n32", "ppc64le", "riscv64", "sh"],
  be: ["m68k", "mips", "mips64", "mips64n32", "parisc", "parisc64", "ppc", "ppc64", "s390", "s390x", "sheb"],
  "32": ["x86", "x32", "arm", "m68k", "mips", "mipsel", "mips64n32", "mipsel64n32", "parisc", "ppc", "s390", "sheb", "sh"],
  "64": ["x86_64", "aarch64", "loongarch64", "mips64", "parisc64", "ppc64", "riscv64", "s390x"],
});

const CLASS_WORDS: Record<string, ArchClass> = { all_le: "le", all_be: "be", all_32: "32", all_64: "64" };

function parseArchTerm(tok: string, where: string): ArchTerm {
  if (tok === "all") return { kind: "host" };
  if (tok in CLASS_WORDS) return { kind: "host-if", cls: CLASS_WORDS[tok] };
  const sign = tok[0];
  const name = sign === "+" || sign === "-" ? tok.slice(1) : tok;
  if (sign === "+" && name in CLASS_WORDS) return { kind: "class", cls: CLASS_WORDS[name] };
  if (!LIBSECCOMP_ARCHES.includes(name)) {
    throw new InputError(`unknown arch "${tok}" in the arch list`, where);
  }
  if (sign === "+") return { kind: "add", arch: name };
  if (sign === "-") return { kind: "remove", arch: name };
  return { kind: "if-host", arch: name };
}

/**
 * The arches a bpf-sim row is simulated on for `host`, in the regression script's order,
 * duplicates kept. Empty means the row is SKIPPED on that host.
 */
export function expandArches(terms: readonly ArchTerm[], host: string): string[] {
  const add: string[] = [];
  const avoid = new Set<string>();
  for (const t of terms) {
    switch (t.kind) {
      case "host": add.push(host); break;
      case "host-if": if (ARCH_CLASSES[t.cls].includes(host)) add.push(host); break;
      case "class": add.push(...ARCH_CLASSES[t.cls]); break;
      case "add": add.push(t.arch); break;
      case "remove": avoid.add(t.arch); break;
      case "if-host": if (t.arch === host) add.push(t.arch); break;
    }
  }
  return add.filter((a) => !avoid.has(a));
}

// ---- values ------------------------------------------------------------------------------

const U64 = (1n << 64n) - 1n;

/**
 * C's strtoull(s, &end, 0) on a whole token, as libseccomp's miniseq reads it: optional sign,
 * `0x` hex, leading-`0` octal, else decimal; a negative value wraps modulo 2^64. Returns
 * undefined when the token is not entirely a number or overflows 64 bits (ERANGE).
 */
export function parseCUnsigned(tok: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(tok);
  if (!m) return undefined;
  const body = m[2];
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body[0] === "0") v = BigInt("0o" + body.slice(1));
  else v = BigInt(body);
  if (v > U64) return undefined;
  return m[1] === "-" ? (-v) & U64 : v;
}

/** The script's range test for args and syscalls: `^[0-9a-fA-Fx]+-[0-9a-fA-Fx]+$`. */
const RANGE_RE = /^([0-9a-fA-Fx]+)-([0-9a-fA-Fx]+)$/;

function parseArg(tok: string, where: string, col: number): ValueRange | null {
  if (tok === "N") return null;
  const r = RANGE_RE.exec(tok);
  const [loTok, hiTok] = r ? [r[1], r[2]] : [tok, tok];
  const lo = parseCUnsigned(loTok);
  const hi = parseCUnsigned(hiTok);
  if (lo === undefined || hi === undefined) {
    throw new InputError(`Arg${col}: "${tok}" is not N, a number or a range lo-hi`, where);
  }
  if (lo > hi) throw new InputError(`Arg${col}: range "${tok}" is empty (lo > hi)`, where);
  return { lo, hi };
}

function parseSyscall(tok: string, where: string): SyscallSpec {
  // The script treats `^-?[0-9]+$` as a number and anything else (after splitting a range)
  // as a name for scmp_sys_resolver.
  const r = RANGE_RE.exec(tok);
  if (r && /^[0-9]+$/.test(r[1]) && /^[0-9]+$/.test(r[2])) {
    const lo = BigInt(r[1]);
    const hi = BigInt(r[2]);
    if (lo > hi) throw new InputError(`Syscall: range "${tok}" is empty (lo > hi)`, where);
    return { kind: "number", lo, hi };
  }
  if (r) throw new InputError(`Syscall: "${tok}" is not a decimal range`, where);
  if (/^-?[0-9]+$/.test(tok)) {
    const v = BigInt(tok);
    if (v < -(1n << 63n) || v > U64) throw new InputError(`Syscall: "${tok}" is out of range`, where);
    return { kind: "number", lo: v, hi: v };
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tok)) {
    throw new InputError(`Syscall: "${tok}" is not a number, a range or a syscall name`, where);
  }
  return { kind: "name", name: tok };
}

/** Parses a Result column: ALLOW, KILL, KILL_PROCESS, TRAP, LOG, ERRNO(n), TRACE(n). */
export function parseSimResult(tok: string, where?: string): SimResult {
  const m = /^(ALLOW|KILL|KILL_PROCESS|TRAP|LOG)$|^(ERRNO|TRACE)\(([0-9]+)\)$/.exec(tok);
  if (!m) {
    throw new InputError(`Result: "${tok}" is not ALLOW, KILL, KILL_PROCESS, TRAP, LOG, ERRNO(n) or TRACE(n)`, where);
  }
  if (m[1]) {
    const action: ActionName = m[1] === "KILL" ? "KILL_THREAD" : (m[1] as ActionName);
    return { text: tok, action };
  }
  const data = Number(m[3]);
  if (data > 0xffff) throw new InputError(`Result: "${tok}" has data above 65535`, where);
  return { text: `${m[2]}(${data})`, action: m[2] as ActionName, data };
}

/**
 * What scmp_bpf_sim prints for a filter's 32-bit return value: `KILL` for KILL_THREAD, TRAP
 * without its data, ERRNO(n)/TRACE(n) with it; `ERROR` for anything else (USER_NOTIF and
 * unknown actions make the simulator fail).
 */
export function formatSimResult(ret: number): string {
  const v = decodeRet(ret);
  if (v.unknown) return "ERROR";
  switch (v.action) {
    case "KILL_THREAD": return "KILL";
    case "ERRNO":
    case "TRACE": return `${v.action}(${v.data})`;
    case "USER_NOTIF": return "ERROR";
    default: return v.action;
  }
}

/** The 32-bit return value a result stands for (data 0 where the result prints none). */
export function simResultRet(r: SimResult): number {
  return (Action[r.action] | (r.data ?? 0)) >>> 0;
}

// ---- parsing -----------------------------------------------------------------------------

const COLUMNS: Record<TestType, number> = {
  "bpf-sim": 10, "bpf-sim-fuzz": 2, "bpf-valgrind": 1, basic: 1, live: 3,
};

/** Splits a data line into columns; a trailing `#` comment is dropped. */
function columns(text: string): string[] {
  const toks = text.split(/[ \t]+/);
  const hash = toks.findIndex((t) => t.startsWith("#"));
  return hash < 0 ? toks : toks.slice(0, hash);
}

/** Parses the text of a `.tests` file. Errors name `file` and the line. */
export function parseTests(text: string, file = "<input>"): TestsFile {
  const lines: TestLine[] = [];
  let type: TestType | undefined;
  let testNumber = 0;
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i].trim();
    if (s === "" || s.startsWith("#")) continue;
    const where = `${file}:${i + 1}`;
    const tt = /^test type:\s*(.*)$/.exec(s);
    if (tt) {
      const name = tt[1].trim();
      if (!(TEST_TYPES as readonly string[]).includes(name)) {
        throw new InputError(`unknown test type "${name}" (expected one of ${TEST_TYPES.join(", ")})`, where);
      }
      type = name as TestType;
      continue;
    }
    if (type === undefined) throw new InputError(`data line before any "test type:" line`, where);
    testNumber++;
    const info: LineInfo = { file, line: i + 1, testNumber, text: s };
    if (type === "basic") {
      lines.push({ ...info, type, command: s });
      continue;
    }
    const c = columns(s);
    if (c.length !== COLUMNS[type]) {
      throw new InputError(`a ${type} line has ${COLUMNS[type]} columns, this one has ${c.length}`, where);
    }
    switch (type) {
      case "bpf-sim": {
        const arches = c[1].split(",").filter((t) => t !== "").map((t) => parseArchTerm(t, where));
        if (arches.length === 0) throw new InputError(`empty arch list`, where);
        lines.push({
          ...info, type, testName: c[0], arches,
          syscall: parseSyscall(c[2], where),
          args: c.slice(3, 9).map((t, k) => parseArg(t, where, k)),
          result: parseSimResult(c[9], where),
        });
        break;
      }
      case "bpf-sim-fuzz": {
        if (!/^[0-9]+$/.test(c[1])) throw new InputError(`StressCount "${c[1]}" is not a number`, where);
        lines.push({ ...info, type, testName: c[0], stressCount: Number(c[1]) });
        break;
      }
      case "bpf-valgrind":
        lines.push({ ...info, type, testName: c[0] });
        break;
      case "live": {
        if (!/^[0-9]+$/.test(c[1])) throw new InputError(`API level "${c[1]}" is not a number`, where);
        if (!/^(ALLOW|KILL|KILL_PROCESS|TRAP|ERRNO|TRACE|LOG)$/.test(c[2])) {
          throw new InputError(`live result "${c[2]}" is not an action name`, where);
        }
        lines.push({ ...info, type, testName: c[0], api: Number(c[1]), result: c[2] });
        break;
      }
    }
  }
  return { file, lines };
}

// ---- expansion ---------------------------------------------------------------------------

/** How a syscall name resolves on one arch (scmp_sys_resolver -t), or why it cannot. */
export type Resolution = { nr: number } | { unresolved: string };

/** Resolves a syscall name for an arch the way the regression script does. */
export type SyscallResolver = (arch: ArchInfo, name: string) => Resolution;

/** One simulation: what scmp_bpf_sim is run with, and what it must print. */
export interface SimCase {
  arch: ArchInfo;
  /** seccomp_data.nr as the simulator sees it (int32). */
  nr: number;
  /** Six 64-bit arguments (N = 0). */
  args: bigint[];
  expected: SimResult;
  source: BpfSimLine;
}

/** Simulations of a row that cannot be reproduced exactly, with the reason. */
export interface NotApplicable {
  arch: string;
  count: number;
  reason: string;
  source: BpfSimLine;
}

export interface Expansion {
  cases: SimCase[];
  notApplicable: NotApplicable[];
  /** Simulations the regression script would run for these rows (cases + not applicable). */
  total: number;
  /** Rows whose arch list is empty on this host (the script reports them SKIPPED). */
  skipped: BpfSimLine[];
}

export interface ExpandOptions {
  /** The host arch, libseccomp's name (`x86_64`). */
  host: string;
  resolve: SyscallResolver;
  /** Refuse to expand one row into more than this many simulations (default 1,000,000). */
  limit?: number;
}

function span(r: ValueRange | null): bigint {
  return r === null ? 1n : r.hi - r.lo + 1n;
}

/** Every value of a range, in order. */
function values(r: ValueRange | null): bigint[] {
  if (r === null) return [0n];
  const out: bigint[] = [];
  for (let v = r.lo; v <= r.hi; v++) out.push(v);
  return out;
}

/** Expands bpf-sim lines into simulations for a host arch. Other line types are ignored. */
export function expand(lines: readonly TestLine[], opts: ExpandOptions): Expansion {
  const limit = BigInt(opts.limit ?? 1_000_000);
  const out: Expansion = { cases: [], notApplicable: [], total: 0, skipped: [] };
  for (const line of lines) {
    if (line.type !== "bpf-sim") continue;
    const where = `${line.file}:${line.line}`;
    const arches = expandArches(line.arches, opts.host);
    if (arches.length === 0) {
      out.skipped.push(line);
      continue;
    }
    // Sizes first, so that a runaway range is refused before anything is materialised.
    const argCombos = line.args.reduce((n, a) => n * span(a), 1n);
    const nrSpan = line.syscall.kind === "number" ? line.syscall.hi - line.syscall.lo + 1n : 1n;
    if (argCombos * nrSpan > limit) {
      throw new InputError(`the row expands to ${argCombos * nrSpan} simulations per arch (limit ${limit})`, where);
    }
    const argLists = line.args.map(values);
    for (const archName of arches) {
      const count = Number(argCombos * nrSpan);
      out.total += count;
      const arch = findArch(archName);
      if (!arch) {
        out.notApplicable.push({ arch: archName, count, reason: `arch ${archName} is unknown to sysfence`, source: line });
        continue;
      }
      let nrs: bigint[];
      if (line.syscall.kind === "number") {
        nrs = values(line.syscall);
      } else {
        const r = opts.resolve(arch, line.syscall.name);
        if ("unresolved" in r) {
          out.notApplicable.push({ arch: archName, count, reason: r.unresolved, source: line });
          continue;
        }
        nrs = [BigInt(r.nr)];
      }
      for (const nr of nrs) {
        const nr32 = Number(BigInt.asIntN(32, nr));
        for (const a0 of argLists[0]) for (const a1 of argLists[1]) for (const a2 of argLists[2])
          for (const a3 of argLists[3]) for (const a4 of argLists[4]) for (const a5 of argLists[5]) {
            out.cases.push({ arch, nr: nr32, args: [a0, a1, a2, a3, a4, a5], expected: line.result, source: line });
          }
      }
    }
  }
  return out;
}
