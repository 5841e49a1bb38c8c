// Running programs: single inputs, batches and stacks, through the engine's interpreter
// (assembly/interp.ts). Long batches are cut into chunks (chunkFor) per Wasm call: V8
// keeps a long-running Wasm frame in its baseline tier, while many shorter calls let the
// optimising tier take over (docs/evidence.md section 5).
import { engine, Region } from "./wasm.js";
import { check } from "./check.js";
import type { Program } from "./program.js";
import { InputBatch, DATA_WORDS, type SeccompData } from "./data.js";
import { decodeRet, type Verdict } from "./actions.js";
import { RejectedProgramError } from "../errors.js";
import { jitFor, JIT_MIN_BATCH } from "./jit.js";

/**
 * The x86_64 uretprobe (335) / uprobe (336) exception: recent kernels skip every filter for
 * these numbers on the native x86_64 ABI. Off by default, because it depends on the kernel
 * version: `uretprobe` models 6.14+ (and its stable backports), `uretprobe+uprobe` 6.17/6.18+.
 */
export type ProbeBypass = "none" | "uretprobe" | "uretprobe+uprobe";

export interface EvalOptions {
  probeBypass?: ProbeBypass;
}

const OPT_URETPROBE = 1;
const OPT_UPROBE = 2;

export function optBits(o: EvalOptions | undefined): number {
  switch (o?.probeBypass ?? "none") {
    case "none": return 0;
    case "uretprobe": return OPT_URETPROBE;
    case "uretprobe+uprobe": return OPT_URETPROBE | OPT_UPROBE;
  }
}

/** Inputs per Wasm call for a program of typical size (see chunkFor). */
export const CHUNK = 2048;

/**
 * Inputs per Wasm call for a program of `len` instructions: about half a million
 * instructions of work per call at most, so no call runs long enough to stay in the baseline
 * tier, and short programs do not pay the call and copy overhead every few thousand inputs.
 */
export function chunkFor(len: number): number {
  return Math.min(16384, Math.max(256, Math.floor((1 << 19) / Math.max(16, len))));
}

const verified = new WeakSet<Program>();

/** Throws unless the kernel would accept `p`; the interpreter only runs accepted programs. */
export function requireAccepted(p: Program, where?: string): void {
  if (verified.has(p)) return;
  const errs = check(p);
  if (errs.length > 0) {
    const e = errs[0];
    const at = e.index >= 0 ? `instruction ${e.index}: ` : "";
    throw new RejectedProgramError(`the kernel would reject this program: ${at}${e.reason}` +
      (errs.length > 1 ? ` (and ${errs.length - 1} more)` : ""), where);
  }
  verified.add(p);
}

// Regions reused across calls: programs, inputs, results, counts.
let progRegion: Region | undefined;
let dataRegion: Region | undefined;
let outRegion: Region | undefined;
let countRegion: Region | undefined;

function regions(): { prog: Region; data: Region; out: Region; counts: Region } {
  progRegion ??= new Region(8 * 4096);
  dataRegion ??= new Region(64 * 16384);
  outRegion ??= new Region(4 * 16384);
  countRegion ??= new Region(4 * 16384);
  return { prog: progRegion, data: dataRegion, out: outRegion, counts: countRegion };
}

export interface BatchResult {
  /** Raw 32-bit return value per input. */
  rets: Uint32Array;
  /** Instructions executed per input, when asked for. */
  counts?: Uint32Array;
}

/** Runs one program on every input of `batch`. */
export function evaluateBatch(
  p: Program,
  batch: InputBatch,
  opts: EvalOptions & { counts?: boolean; engine?: "auto" | "interpreter" | "jit" } = {},
): BatchResult {
  requireAccepted(p);
  // Large batches run as native code; counts and the 335/336 option need the interpreter.
  const mode = opts.engine ?? "auto";
  const canJit = !opts.counts && optBits(opts) === 0;
  if (canJit && (mode === "jit" || (mode === "auto" && batch.count >= JIT_MIN_BATCH))) return jitBatch(p, batch);
  const e = engine();
  const r = regions();
  r.prog.ensure(p.bytes.length);
  r.prog.u8().set(p.bytes);
  const rets = new Uint32Array(batch.count);
  const counts = opts.counts ? new Uint32Array(batch.count) : undefined;
  const bits = optBits(opts);
  const chunk = chunkFor(p.length);
  for (let start = 0; start < batch.count; start += chunk) {
    const n = Math.min(chunk, batch.count - start);
    r.data.u32().set(batch.words.subarray(start * DATA_WORDS, (start + n) * DATA_WORDS));
    e.evalBatch(r.prog.ptr, p.length, r.data.ptr, n, r.out.ptr, counts ? r.counts.ptr : 0, bits);
    rets.set(r.out.u32().subarray(0, n), start);
    if (counts) counts.set(r.counts.u32().subarray(0, n), start);
  }
  return { rets, counts };
}

function jitBatch(p: Program, batch: InputBatch): BatchResult {
  const jp = jitFor(p);
  const r = regions();
  const rets = new Uint32Array(batch.count);
  const chunk = 16384;
  for (let start = 0; start < batch.count; start += chunk) {
    const n = Math.min(chunk, batch.count - start);
    r.data.u32().set(batch.words.subarray(start * DATA_WORDS, (start + n) * DATA_WORDS));
    jp.batch(r.data.ptr, n, r.out.ptr);
    rets.set(r.out.u32().subarray(0, n), start);
  }
  return { rets };
}

/** Runs one program on one input. */
export function evaluate(p: Program, data: SeccompData, opts: EvalOptions = {}): Verdict {
  return decodeRet(evaluateBatch(p, InputBatch.of([data]), opts).rets[0]);
}

/**
 * One filter's raw results, or a stack's combined ones: what a side of a verifier relation
 * returns (a single filter keeps its raw value, data included).
 */
export function evaluateSide(side: readonly Program[], batch: InputBatch): Uint32Array {
  return side.length === 1 ? evaluateBatch(side[0], batch).rets : evaluateStack(side, batch);
}

/**
 * Runs a stack of filters (oldest first, as they were installed) on every input and combines
 * the results by the kernel's precedence and tie rule.
 */
export function evaluateStack(programs: readonly Program[], batch: InputBatch, opts: EvalOptions = {}): Uint32Array {
  if (programs.length === 0) throw new RangeError("a stack needs at least one filter");
  programs.forEach((p, i) => requireAccepted(p, `filter ${i + 1} of the stack`));
  const e = engine();
  const r = regions();
  // Each program gets its own region for the duration of the call.
  const owned = programs.map((p) => {
    const reg = new Region(p.bytes.length);
    reg.u8().set(p.bytes);
    return reg;
  });
  const table = new Region(8 * programs.length);
  try {
    const tw = table.u32();
    owned.forEach((reg, i) => {
      tw[2 * i] = reg.ptr;
      tw[2 * i + 1] = programs[i].length;
    });
    const rets = new Uint32Array(batch.count);
    const bits = optBits(opts);
    const chunk = chunkFor(programs.reduce((a, p) => a + p.length, 0));
    for (let start = 0; start < batch.count; start += chunk) {
      const n = Math.min(chunk, batch.count - start);
      r.data.u32().set(batch.words.subarray(start * DATA_WORDS, (start + n) * DATA_WORDS));
      e.evalStack(table.ptr, programs.length, r.data.ptr, n, r.out.ptr, bits);
      rets.set(r.out.u32().subarray(0, n), start);
    }
    return rets;
  } finally {
    owned.forEach((reg) => reg.free());
    table.free();
  }
}

/**
 * The kernel's action-cache emulator over syscall numbers 0..count-1 for one arch token:
 * 1 where the kernel proves the program always returns ALLOW and caches it.
 */
export function cacheScan(p: Program, archToken: number, count: number, opts: EvalOptions = {}): Uint8Array {
  requireAccepted(p);
  const e = engine();
  const r = regions();
  r.prog.ensure(p.bytes.length);
  r.prog.u8().set(p.bytes);
  const out = new Region(count);
  try {
    e.cacheScan(r.prog.ptr, p.length, archToken >>> 0, count, out.ptr, optBits(opts));
    return out.u8().slice(0, count);
  } finally {
    out.free();
  }
}
