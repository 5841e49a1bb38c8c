// The one host <-> Wasm boundary module. It loads the engine once (synchronously), owns the
// module's memory views, and exposes the raw exports with typed signatures. Nothing else in
// src/ touches WebAssembly or the engine's memory directly.
//
// Loading: @assemblyscript/loader's instantiateSync. Why the loader and not the generated ESM
// bindings: the generated glue instantiates with top-level await and copies arrays through
// lifting helpers on every call, while our API is synchronous and moves whole buffers with one
// typed-array `set` into memory we allocate ourselves. The loader gives synchronous
// instantiation, readable abort messages and `__getString` for the few strings that cross
// (opcode mnemonics); the hot paths never go through it. See docs/architecture.md.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { instantiateSync } from "@assemblyscript/loader";
import { InternalError } from "../errors.js";

/** The raw exports of build/sysfence.wasm (assembly/index.ts). */
export interface EngineExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  dealloc(ptr: number): void;
  checkProgram(prog: number, len: number, out: number, cap: number): number;
  evalBatch(prog: number, len: number, data: number, n: number, out: number, counts: number, opts: number): void;
  /** progs: nprogs (pointer, length) u32 pairs, oldest first. */
  evalStack(progs: number, nprogs: number, data: number, n: number, out: number, opts: number): void;
  cacheScan(prog: number, len: number, arch: number, count: number, out: number, opts: number): void;
  compilePolicy(input: number, words: number, out: number, cap: number): number;
  compiledLength(): number;
  jitCompile(prog: number, len: number, dst: number, room: number): number;
  bddReset(budget: number): void;
  bddAnd(a: number, b: number): number;
  bddOr(a: number, b: number): number;
  bddXor(a: number, b: number): number;
  bddNot(a: number): number;
  bddDiff(a: number, b: number): number;
  bddExistsWord(f: number, word: number): number;
  bddRestrictWord(f: number, word: number, value: number): number;
  bddSatOne(f: number, out: number): number;
  bddWordRanges(f: number, word: number, out: number, cap: number): number;
  bddWordEquals(word: number, value: number): number;
  bddNodeVar(n: number): number;
  bddNodeLo(n: number): number;
  bddNodeHi(n: number): number;
  bddNodeCount(): number;
  /** The reduced node (v, lo, hi); 0xffffffff when v is not above both children. */
  bddMk(v: number, lo: number, hi: number): number;
  bddOverflowed(): number;
  symReset(): void;
  /** method: 0 auto (backward, forward when register states explode), 1 forward, 2 backward. */
  symAnalyze(prog: number, len: number, slot: number, method: number): number;
  symOutcomeCount(slot: number): number;
  symOutcomeValue(slot: number, i: number): number;
  symOutcomeSet(slot: number, i: number): number;
  symStates(): number;
  /** Relational analysis of P and Q; outcomes via symRelCount/symRelP/symRelQ/symRelSet. */
  symRelate(progP: number, lenP: number, progQ: number, lenQ: number, witnesses: number): number;
  symRelWitnessCount(): number;
  symRelWitness(i: number, word: number): number;
  symRelCount(): number;
  symRelP(i: number): number;
  symRelQ(i: number): number;
  symRelSet(i: number): number;
  opcodeTablePtr(): number;
  opcodeTableLen(): number;
  opcodeMnemonics(): number;
  __getString(ptr: number): string;
}

function locateWasm(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.SYSFENCE_WASM,
    join(here, "sysfence.wasm"), // next to the dist/ bundle
    join(here, "..", "sysfence.wasm"), // dist/chunks -> dist
    join(here, "..", "..", "build", "sysfence.wasm"), // src/engine -> build (tests)
    join(here, "..", "build", "sysfence.wasm"), // dist -> build
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new InternalError(
    "engine not built: build/sysfence.wasm is missing (run `npm install` or `npm run build`)",
  );
}

let compiled: WebAssembly.Module | undefined;
let instance: EngineExports | undefined;
let generation = 0;
let providedBytes: Uint8Array | undefined;

/**
 * Gives the engine's bytes directly instead of reading build/sysfence.wasm: the playground
 * embeds them in its bundle. Must be called before the engine's first use.
 */
export function provideEngineBytes(bytes: Uint8Array): void {
  providedBytes = bytes;
}

/**
 * Which instance of the engine is live: it changes each time the engine is (re)instantiated.
 * Anything that holds engine state across calls (regions, BDD spaces, JIT modules that import
 * its memory) records it and starts over when it changed.
 */
export function engineGeneration(): number {
  return generation;
}

/**
 * Drops the engine after a failure inside it (a Wasm trap, an abort, a stack overflow, an
 * out-of-memory in its heap): its module state and heap may be half-updated, so the next call
 * gets a fresh instance and answers exactly as a fresh process would.
 */
export function discardEngine(): void {
  instance = undefined;
}

/**
 * Wraps an export so that any exception leaving the engine discards the instance. Fixed
 * arities (no rest parameters) keep the wrapper as cheap as a direct call in optimised code.
 */
function guarded(f: (...a: number[]) => unknown, arity: number): (...a: number[]) => unknown {
  // The handlers only assign: after a stack overflow, a call here could overflow again and
  // skip the discard.
  switch (arity) {
    case 1: return (a) => { try { return f(a); } catch (e) { instance = undefined; throw e; } };
    case 2: return (a, b) => { try { return f(a, b); } catch (e) { instance = undefined; throw e; } };
    case 3: return (a, b, c) => { try { return f(a, b, c); } catch (e) { instance = undefined; throw e; } };
    case 4: return (a, b, c, d) => { try { return f(a, b, c, d); } catch (e) { instance = undefined; throw e; } };
    case 5: return (a, b, c, d, g) => { try { return f(a, b, c, d, g); } catch (e) { instance = undefined; throw e; } };
    case 6: return (a, b, c, d, g, h) => { try { return f(a, b, c, d, g, h); } catch (e) { instance = undefined; throw e; } };
    default: return (...a) => { try { return f(...a); } catch (e) { instance = undefined; throw e; } };
  }
}

/**
 * The engine, instantiated on first use and kept for the life of the process, or until a
 * failure inside it (see discardEngine). Instantiation compiles the module once per process
 * and allocates the engine's static memory (docs/architecture.md, "Engine memory").
 */
export function engine(): EngineExports {
  if (instance) return instance;
  compiled ??= new WebAssembly.Module((providedBytes ?? readFileSync(locateWasm())) as Uint8Array<ArrayBuffer>);
  const mod = instantiateSync<Record<string, unknown>>(compiled, {
    env: {
      abort(msg: number, file: number, line: number, col: number) {
        // Reached through a bug or an allocation the heap cannot serve (the engine is built
        // with noAssert): the exception leaves the engine, which discards the instance.
        throw new InternalError(`engine abort at ${line}:${col} (${msg}, ${file})`);
      },
    },
  });
  // The loader's wrappers take rest arguments; the arity comes from the raw Wasm export.
  const raw = mod.instance.exports as Record<string, unknown>;
  const exports: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(mod.exports as Record<string, unknown>)) {
    const arity = typeof raw[name] === "function" ? (raw[name] as () => void).length : -1;
    exports[name] = typeof v === "function" ? guarded(v as (...a: number[]) => unknown, arity) : v;
  }
  instance = exports as unknown as EngineExports;
  generation++;
  return instance;
}

/**
 * A region of engine memory owned by the host. Views are recreated on every access because a
 * memory.grow detaches the old ArrayBuffer.
 */
export class Region {
  private ptrValue: number;
  private size: number;
  /** The engine instance the region lives in; a new instance gets a new region (contents lost). */
  private gen: number;
  constructor(size: number) {
    this.size = Math.max(8, size);
    this.ptrValue = engine().alloc(this.size);
    this.gen = generation;
  }
  get ptr(): number {
    this.live();
    return this.ptrValue;
  }
  private live(): void {
    const e = engine();
    if (this.gen === generation) return;
    this.ptrValue = e.alloc(this.size);
    this.gen = generation;
  }
  get byteLength(): number {
    return this.size;
  }
  /** Makes sure the region holds at least `size` bytes (contents are not kept). */
  ensure(size: number): void {
    if (size <= this.size) return;
    this.live();
    engine().dealloc(this.ptrValue);
    this.size = Math.max(size, this.size * 2);
    this.ptrValue = engine().alloc(this.size);
  }
  u8(): Uint8Array {
    this.live();
    return new Uint8Array(engine().memory.buffer, this.ptrValue, this.size);
  }
  u32(): Uint32Array {
    this.live();
    return new Uint32Array(engine().memory.buffer, this.ptrValue, this.size >>> 2);
  }
  free(): void {
    // A region of a discarded instance has nothing to give back.
    if (this.ptrValue && this.gen === generation && instance) engine().dealloc(this.ptrValue);
    this.ptrValue = 0;
  }
}
