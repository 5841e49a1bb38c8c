// The instructions one input executes, for pictures that highlight the path (the playground's
// "evaluate" view). The engine is the only interpreter: the path is read off it rather than
// re-implemented. Jumps only go forward, so at a conditional jump whose targets are t < u, the
// input goes to t exactly when t is executed at all (from u it can never come back). To ask
// "is t executed?", the engine runs a copy of the program whose instruction t is replaced by
// `ret MARK`, with MARK different from the original result: it returns MARK iff t was reached.
// One engine call per conditional jump on the path.
//
// The copies are run without the acceptance check (requireAccepted would refuse a copy whose
// replaced instruction was a scratch store that later loads need). That is sound: the original
// was checked, and turning one instruction into a return adds no jump, no load and no division,
// so every property the interpreter relies on still holds; and a run that reaches the return
// stops there, before any load the store would have fed.
import type { Program } from "./program.js";
import { opcodeInfo, Form, successors } from "./opcodes.js";
import { InputBatch, type SeccompData } from "./data.js";
import { engine, Region } from "./wasm.js";
import { evaluateBatch, optBits, requireAccepted, type EvalOptions } from "./run.js";

const RET_K = 0x06;

let prog: Region | undefined;
let data: Region | undefined;
let out: Region | undefined;

/** Raw result of `p` (bytes already checked or derived as above) on one encoded input. */
function runRaw(bytes: Uint8Array, len: number, words: Uint32Array, bits: number): number {
  prog ??= new Region(8 * 4096);
  data ??= new Region(64);
  out ??= new Region(8);
  const e = engine();
  prog.ensure(bytes.length);
  prog.u8().set(bytes);
  data.u32().set(words);
  e.evalBatch(prog.ptr, len, data.ptr, 1, out.ptr, 0, bits);
  return out.u32()[0];
}

/**
 * The executed instructions, in order, and the raw return value. The last one is a return, or
 * a division by X that found X == 0 (which ends the program with 0).
 */
export function executedPath(p: Program, input: SeccompData, opts: EvalOptions = {}): { path: number[]; ret: number } {
  requireAccepted(p);
  const words = InputBatch.of([input]).words;
  const bits = optBits(opts);
  const ret = evaluateBatch(p, InputBatch.of([input]), { ...opts, engine: "interpreter" }).rets[0];
  const mark = (ret + 1) >>> 0;
  const insns = p.insns();
  const copy = new Uint8Array(p.bytes);
  const view = new DataView(copy.buffer);
  /** Does the input reach instruction `t`? */
  const reaches = (t: number): boolean => {
    const saved = copy.slice(t * 8, t * 8 + 8);
    view.setUint16(t * 8, RET_K, true);
    view.setUint8(t * 8 + 2, 0);
    view.setUint8(t * 8 + 3, 0);
    view.setUint32(t * 8 + 4, mark, true);
    const r = runRaw(copy, p.length, words, bits);
    copy.set(saved, t * 8);
    return r === mark;
  };
  const path: number[] = [];
  let pc = 0;
  for (;;) {
    path.push(pc);
    const ins = insns[pc];
    const info = opcodeInfo(ins.code)!;
    const next = successors(ins, pc);
    if (next.length === 0) break; // a return
    if (next.length === 2 && next[0].to !== next[1].to) {
      const near = Math.min(next[0].to, next[1].to);
      pc = reaches(near) ? near : Math.max(next[0].to, next[1].to);
    } else if (info.form === Form.ALU_X && (info.mnemonic === "div" || info.mnemonic === "mod")) {
      // Division by X == 0 ends the program with 0 (the kernel's rule): did it go on?
      if (!reaches(pc + 1)) break;
      pc++;
    } else pc = next[0].to;
  }
  return { path, ret };
}
