// Running programs as native code: the engine translates a checked program into a small Wasm
// module (assembly/jit.ts) that shares the engine's memory, and V8 compiles it. Large batches
// use it; single evaluations, instruction counts and the 335/336 option use the interpreter.
import { engine, engineGeneration, Region } from "./wasm.js";
import type { Program } from "./program.js";

export interface JitProgram {
  /** The engine instance whose memory the module imports (engineGeneration). */
  gen: number;
  /** Evaluates `n` inputs (64 bytes each) at engine address `data`, results at `out`. */
  batch(data: number, n: number, out: number): void;
}

const cache = new WeakMap<Program, JitProgram>();

/** Batches smaller than this are not worth compiling a module for. */
export const JIT_MIN_BATCH = 4096;

/** The compiled form of an accepted program (cached per Program). */
export function jitFor(p: Program): JitProgram {
  const e = engine();
  const hit = cache.get(p);
  if (hit && hit.gen === engineGeneration()) return hit;
  const src = new Region(p.bytes.length);
  // Upper bound of the module size: ~24 bytes per instruction plus the fixed parts.
  const room = 256 + p.length * 32;
  const dst = new Region(room);
  try {
    src.u8().set(p.bytes);
    const n = e.jitCompile(src.ptr, p.length, dst.ptr, room);
    if (n < 0) throw new Error("jit: module buffer too small");
    const bytes = dst.u8().slice(0, n);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: e.memory } });
    const jp = { gen: engineGeneration(), batch: inst.exports.batch as (d: number, n: number, o: number) => void };
    cache.set(p, jp);
    return jp;
  } finally {
    src.free();
    dst.free();
  }
}
