// The real-kernel oracle: builds test/native/oracle.c into test/.out/ (when missing or stale),
// runs it, and turns its answers into values the differential tests compare with our engine.
// The wire protocol is documented at the top of oracle.c; this file is its only client.
//
// Two uses:
//   - acceptance: kernelAccept(programs) -> the errno of seccomp(SET_MODE_FILTER) per program;
//   - evaluation: kernelEval(jobs) -> per input, what the trampoline's syscall observed, plus
//     the exact programs installed (catch-all + IP gate + body), so the interpreter can run
//     byte-for-byte what the kernel ran.
// The RET rewriting that makes every path observable without running a syscall lives here too
// (rewriteForEval, rewriteForStack), next to the projections that map answers back.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, renameSync, rmSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Program, type Insn } from "../../src/engine/program.js";
import { findOpcode, Form } from "../../src/engine/opcodes.js";
import { Action, RET_ACTION_FULL, RET_DATA } from "../../src/engine/actions.js";
import { kernelSkipReason, skipKernel } from "./kernel.js";

const here = dirname(fileURLToPath(import.meta.url));
const testDir = resolve(here, "..");
export const ORACLE_SRC = join(testDir, "native", "oracle.c");
export const OUT_DIR = join(testDir, ".out");
export const ORACLE_BIN = join(OUT_DIR, "oracle");

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const SIGSYS = 31;
export const ENOSYS = 38;
/** The catch-all's answer for trampoline syscalls in the single-program eval mode. */
export const EVAL_FLOOR = (Action.ERRNO | 4000) >>> 0;

// ---- availability and build ----------------------------------------------------------------

let cachedReason: string | undefined | null = null;

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleSkipReason(): string | undefined {
  if (cachedReason !== null) return cachedReason;
  cachedReason = computeReason();
  return cachedReason;
}

function computeReason(): string | undefined {
  const k = kernelSkipReason();
  if (k) return k;
  if (process.arch !== "x64") return `the kernel oracle's trampoline is x86_64 only (this is ${process.arch})`;
  const cc = process.env.CC ?? "cc";
  const r = spawnSync(cc, ["--version"], { stdio: "ignore" });
  if (r.error || r.status !== 0) return `no C compiler (\`${cc} --version\` failed) to build test/native/oracle.c`;
  // A compiler that exists but cannot build the helper is a failure, not a skip: this throws.
  buildOracle();
  const p = spawnSync(ORACLE_BIN, ["probe"], { encoding: "buffer" });
  if (p.status !== 0 || p.stdout.length !== 20) {
    return `the oracle helper could not run (status ${p.status}): ${p.stderr?.toString().trim()}`;
  }
  const res = p.stdout.readUInt32LE(16);
  if (res !== 0) return `the kernel refused a trivial seccomp filter (result 0x${res.toString(16)}): seccomp filters cannot be installed here`;
  return undefined;
}

/** Logs the reason and returns true when the oracle tests must be skipped. */
export function skipOracle(what: string): boolean {
  if (skipKernel(what)) return true;
  const why = oracleSkipReason();
  if (why) console.warn(`[skip] ${what}: ${why}`);
  return why !== undefined;
}

function mtime(p: string): number {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

/** Compiles the helper when it is missing or older than its source; returns its path. */
export function buildOracle(): string {
  if (mtime(ORACLE_BIN) > mtime(ORACLE_SRC)) return ORACLE_BIN;
  mkdirSync(OUT_DIR, { recursive: true });
  // Two test files may build at once: compile to a private name, then rename atomically.
  const tmp = `${ORACLE_BIN}.${process.pid}.tmp`;
  const cc = process.env.CC ?? "cc";
  const tries = [["-O2", "-no-pie"], ["-O2"]];
  let err = "";
  for (const flags of tries) {
    const r = spawnSync(cc, [...flags, "-o", tmp, ORACLE_SRC], { encoding: "utf8" });
    if (r.status === 0) {
      renameSync(tmp, ORACLE_BIN);
      return ORACLE_BIN;
    }
    err = `${r.error ?? ""}${r.stderr}`;
  }
  rmSync(tmp, { force: true });
  throw new Error(`cannot build ${ORACLE_SRC}:\n${err}`);
}

// ---- running the helper --------------------------------------------------------------------

interface HelperAnswer {
  ip: bigint;
  body: Buffer;
}

function runHelper(mode: string, request: Buffer[]): Promise<HelperAnswer> {
  const bin = buildOracle();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, [mode], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.stdin.on("error", () => {
      /* reported through the exit status */
    });
    child.on("close", (code, signal) => {
      const all = Buffer.concat(out);
      if (code !== 0) {
        reject(new Error(`oracle ${mode} failed (${signal ?? `status ${code}`}): ${Buffer.concat(err).toString().trim()}`));
        return;
      }
      if (all.length < 16 || all.toString("latin1", 0, 8) !== "SFORACL1") {
        reject(new Error(`oracle ${mode}: bad answer header`));
        return;
      }
      resolvePromise({ ip: all.readBigUInt64LE(8), body: all.subarray(16) });
    });
    for (const b of request) child.stdin.write(b);
    child.stdin.end();
  });
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

// ---- acceptance ----------------------------------------------------------------------------

export const ACCEPT_OK = 0;
export const EINVAL = 22;

/**
 * The kernel's install result per program: 0 = accepted, otherwise the errno (EINVAL for every
 * structural rejection), or 0x1xxxx/0x2xxxx/0x3xxxx for helper anomalies (see oracle.c).
 * Each program is `bytes` of sock_filter (its sock_fprog.len is bytes/8, at most 65535).
 */
export async function kernelAccept(programs: readonly Uint8Array[]): Promise<Uint32Array> {
  const req: Buffer[] = [];
  for (const p of programs) {
    if (p.length % 8 !== 0 || p.length / 8 > 65535) throw new RangeError("program size not carried by sock_fprog");
    req.push(u32(p.length / 8), Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  }
  const { body } = await runHelper("accept", req);
  if (body.length !== programs.length * 4) throw new Error(`oracle accept: ${body.length / 4} answers for ${programs.length} programs`);
  const res = new Uint32Array(programs.length);
  for (let i = 0; i < programs.length; i++) res[i] = body.readUInt32LE(i * 4);
  return res;
}

export function describeAccept(r: number): string {
  if (r === 0) return "accepted";
  if (r < 0x10000) return `rejected (errno ${r}${r === EINVAL ? " EINVAL" : ""})`;
  const v = r & 0xffff;
  switch (r >>> 16) {
    case 1: return `helper child died of signal ${v}`;
    case 2: return `helper child exited with status ${v}`;
    case 3: return `seccomp() returned ${v}`;
  }
  return `unknown result 0x${r.toString(16)}`;
}

// ---- evaluation ----------------------------------------------------------------------------

/** Words per input on the wire: nr lo, nr hi, args[0..5] (lo, hi). */
export const WIRE_WORDS = 14;

export const Kind = { ERRNO: 0, RETURNED: 1, TRAP: 2, SIGNAL: 3, SKIPPED: 4, INSTALL: 5, ANOMALY: 6 } as const;
const KIND_NAMES = ["ERRNO", "RETURNED", "TRAP", "SIGNAL", "SKIPPED", "INSTALL", "ANOMALY"];

/** What one trampoline syscall observed. */
export interface Observation {
  kind: number;
  value: number;
}

export function formatObservation(o: Observation): string {
  const name = KIND_NAMES[o.kind] ?? `kind${o.kind}`;
  if (o.kind === Kind.INSTALL) return `INSTALL(program ${o.value >>> 16} refused, errno ${o.value & 0xffff})`;
  if (o.kind === Kind.SIGNAL) return `SIGNAL(${o.value}${o.value === SIGSYS ? " SIGSYS" : ""})`;
  return `${name}(${o.value})`;
}

export interface EvalJob {
  /** Value the catch-all returns for trampoline syscalls; must never let a syscall run. */
  floor: number;
  /** Bodies, oldest first (already rewritten; the helper prepends the IP gate). */
  bodies: readonly Insn[][];
  /** WIRE_WORDS words per input. */
  inputs: Uint32Array;
}

export interface EvalResult {
  /** The programs the kernel ran, oldest first: catch-all, then each gated body. */
  installed: Program[];
  /** 0, or (program index << 16) | errno of a refused install (index 0 = catch-all). */
  install: number;
  obs: Observation[];
}

export interface EvalAnswer {
  /** instruction_pointer of every trampoline syscall. */
  ip: bigint;
  results: EvalResult[];
}

function insnBytes(insns: readonly Insn[]): Buffer {
  return Buffer.from(Program.fromInsns(insns).bytes);
}

export async function kernelEval(jobs: readonly EvalJob[]): Promise<EvalAnswer> {
  const req: Buffer[] = [];
  for (const j of jobs) {
    if (j.inputs.length % WIRE_WORDS !== 0) throw new RangeError("inputs are not whole records");
    req.push(u32(j.floor), u32(j.bodies.length));
    for (const b of j.bodies) req.push(u32(b.length), insnBytes(b));
    req.push(u32(j.inputs.length / WIRE_WORDS), Buffer.from(j.inputs.buffer, j.inputs.byteOffset, j.inputs.byteLength));
  }
  const { ip, body } = await runHelper("eval", req);
  let at = 0;
  const rd = (): number => {
    const v = body.readUInt32LE(at);
    at += 4;
    return v;
  };
  const results: EvalResult[] = [];
  for (let j = 0; j < jobs.length; j++) {
    const nprog = rd();
    const installed: Program[] = [];
    for (let p = 0; p < nprog; p++) {
      const len = rd();
      installed.push(new Program(new Uint8Array(body.subarray(at, at + len * 8))));
      at += len * 8;
    }
    const install = rd();
    const n = rd();
    const obs: Observation[] = new Array(n);
    for (let i = 0; i < n; i++) obs[i] = { kind: body.readUInt32LE(at + i * 8), value: body.readUInt32LE(at + i * 8 + 4) };
    at += n * 8;
    results.push({ installed, install, obs });
  }
  if (at !== body.length) throw new Error("oracle eval: trailing bytes in the answer");
  return { ip, results };
}

/** The kernel's ip from a probe run (the same in every run when the helper is built -no-pie). */
export async function probeIp(): Promise<bigint> {
  return (await runHelper("probe", [])).ip;
}

/**
 * What a trampoline syscall must observe when the whole stack (catch-all included) returns
 * `ret`: the projection from a raw filter result to what user space can see without running
 * the syscall (docs/kernel.md section 3).
 */
export function expectedObservation(ret: number): Observation {
  ret >>>= 0;
  const act = (ret & RET_ACTION_FULL) >>> 0;
  const data = ret & RET_DATA;
  switch (act) {
    case Action.TRAP: return { kind: Kind.TRAP, value: data };
    case Action.ERRNO: return data === 0 ? { kind: Kind.RETURNED, value: 0 } : { kind: Kind.ERRNO, value: Math.min(data, 4095) };
    case Action.USER_NOTIF: // no listener
    case Action.TRACE: // no tracer
      return { kind: Kind.ERRNO, value: ENOSYS };
    case Action.LOG:
    case Action.ALLOW:
      // The syscall would really run: the floor makes this impossible.
      return { kind: Kind.ANOMALY, value: 0x7fff };
    default:
      // KILL_PROCESS, KILL_THREAD (single-threaded child) and every unknown action.
      return { kind: Kind.SIGNAL, value: SIGSYS };
  }
}

// ---- rewriting ------------------------------------------------------------------------------

const op = (() => {
  let t: Record<string, number> | undefined;
  return () => {
    if (t) return t;
    const need = (m: string, f: Form): number => {
      const o = findOpcode(m, f);
      if (!o) throw new Error(`opcode ${m}/${f} missing from the table`);
      return o.code;
    };
    t = {
      retK: need("ret", Form.RET_K), retA: need("ret", Form.RET_A), ja: need("ja", Form.JA),
      andK: need("and", Form.ALU_K), orK: need("or", Form.ALU_K),
    };
    return t;
  };
})();

/** RET A exposes A's low 9 bits as ERRNO 1024..1535 through a shared tail. */
export const RET_A_BASE = 0x400;
export const RET_A_MASK = 0x1ff;

export interface Rewritten {
  body: Insn[];
  /** For each RET K: its pc in the original, its original k and the value it now returns. */
  rets: { pc: number; k: number; now: number }[];
}

/**
 * Rewrites a program so that every path ends in an observable action: RET K at pc becomes
 * `ret #value(pc, k)`, RET A becomes `ja` to a tail `and #0x1ff; or #ERRNO(0x400); ret a`
 * appended after the program. Both replacements are one instruction, so no jump moves.
 * (A JA resets the kernel's scratch-check state where a RET does not, so the rewritten program
 * is accepted whenever the original is.)
 */
export function rewrite(insns: readonly Insn[], value: (pc: number, k: number, index: number) => number): Rewritten {
  const o = op();
  const n = insns.length;
  const body: Insn[] = [];
  const rets: Rewritten["rets"] = [];
  let hasRetA = false;
  insns.forEach((ins, pc) => {
    if (ins.code === o.retK) {
      const now = value(pc, ins.k >>> 0, rets.length) >>> 0;
      rets.push({ pc, k: ins.k >>> 0, now });
      body.push({ code: o.retK, jt: ins.jt, jf: ins.jf, k: now });
    } else if (ins.code === o.retA) {
      hasRetA = true;
      body.push({ code: o.ja, jt: 0, jf: 0, k: n - pc - 1 });
    } else {
      body.push({ ...ins });
    }
  });
  if (hasRetA) {
    body.push({ code: o.andK, jt: 0, jf: 0, k: RET_A_MASK });
    body.push({ code: o.orK, jt: 0, jf: 0, k: (Action.ERRNO | RET_A_BASE) >>> 0 });
    body.push({ code: o.retA, jt: 0, jf: 0, k: 0 });
  }
  return { body, rets };
}

/** Eval mode: RET K number i returns ERRNO(i + 1); at most 511 RET K instructions. */
export function rewriteForEval(insns: readonly Insn[]): Rewritten {
  return rewrite(insns, (_pc, _k, i) => {
    if (i >= 511) throw new RangeError("more than 511 RET K instructions");
    return (Action.ERRNO | (i + 1)) >>> 0;
  });
}

/**
 * What the original program returned, according to the kernel's answer for the rewritten one:
 * `{ k }` for a RET K (its original value), `{ low9 }` for RET A (A & 0x1ff), `{ killed }` for
 * a kill (only DIV by X == 0 can kill: it returns 0), or `{ bad }`.
 */
export type OriginalAnswer = { k: number } | { low9: number } | { killed: true } | { bad: string };

export function originalAnswer(o: Observation, rw: Rewritten): OriginalAnswer {
  if (o.kind === Kind.SIGNAL && o.value === SIGSYS) return { killed: true };
  if (o.kind === Kind.ERRNO) {
    if (o.value >= 1 && o.value <= rw.rets.length) return { k: rw.rets[o.value - 1].k };
    if (o.value >= RET_A_BASE && o.value <= RET_A_BASE + RET_A_MASK) return { low9: o.value - RET_A_BASE };
  }
  return { bad: formatObservation(o) };
}

/** Does the interpreter's raw result on the original program agree with the kernel's answer? */
export function agreesWithOriginal(a: OriginalAnswer, ret: number): boolean {
  ret >>>= 0;
  if ("k" in a) return ret === a.k;
  if ("low9" in a) return (ret & RET_A_MASK) === a.low9;
  if ("killed" in a) return ret === 0;
  return false;
}
