// Seeded random seccomp programs and inputs for the real-kernel differential tests.
//
//   - genValid: programs the kernel accepts by construction, drawn from all 41 accepted opcodes
//     (operands per form from the engine's one opcode table), with the kernel's linear
//     scratch-memory pass (docs/kernel.md section 9) simulated while generating, so every
//     load reads a cell the kernel considers written. `scratch: "loose"` instead loads any cell
//     stored earlier on some path: the shapes where the kernel's quirk matters.
//   - mutate / specialPrograms / sweepProgram: programs for the acceptance test (bit flips,
//     field changes, truncations, garbage, boundary operands, the quirk program, every code).
//   - genInputs: inputs (nr and six 64-bit args as 32-bit halves) near the program's constants.
//
// Everything is driven by Rng (sfc32), so a seed reproduces a run exactly.
import { randomBytes } from "node:crypto";
import type { Insn } from "../../src/engine/program.js";
import { opcodes, opcodeInfo, Form, type OpcodeInfo } from "../../src/engine/opcodes.js";
import { Action } from "../../src/engine/actions.js";

// ---- PRNG -----------------------------------------------------------------------------------

/** sfc32: small, fast, 128-bit state, good enough for test generation. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  /** Uniform in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  /** An independent generator derived from this one. */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

/** The run's seed: SYSFENCE_SEED (decimal or 0x hex) or a fresh random one. */
export function runSeed(): number {
  const env = process.env.SYSFENCE_SEED;
  if (env !== undefined && env !== "") {
    const v = Number(env);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`SYSFENCE_SEED=${env} is not a 32-bit integer`);
    return v >>> 0;
  }
  return randomBytes(4).readUInt32LE(0);
}

/** SYSFENCE_SOAK_FACTOR (default 1). */
export function soakFactor(): number {
  const v = Number(process.env.SYSFENCE_SOAK_FACTOR ?? "1");
  return Number.isFinite(v) && v > 0 ? v : 1;
}

// ---- opcode groups --------------------------------------------------------------------------

let byForm: Map<Form, OpcodeInfo[]> | undefined;

function forms(): Map<Form, OpcodeInfo[]> {
  if (byForm) return byForm;
  byForm = new Map();
  for (const o of opcodes()) {
    const l = byForm.get(o.form) ?? [];
    l.push(o);
    byForm.set(o.form, l);
  }
  return byForm;
}

const codeCache = new Map<string, number>();

function codeOf(mnemonic: string, form: Form): number {
  const key = `${mnemonic}/${form}`;
  const hit = codeCache.get(key);
  if (hit !== undefined) return hit;
  const o = forms().get(form)?.find((x) => x.mnemonic === mnemonic);
  if (!o) throw new Error(`no opcode ${mnemonic} with form ${form}`);
  codeCache.set(key, o.code);
  return o.code;
}

/** Codes the generator and the tests need by name (read from the engine's table). */
export const C = {
  get ldAbs() { return codeOf("ld", Form.LD_ABS); },
  get ldImm() { return codeOf("ld", Form.IMM); },
  get ldxImm() { return codeOf("ldx", Form.IMM); },
  get ldMem() { return codeOf("ld", Form.MEM_LOAD); },
  get ldxMem() { return codeOf("ldx", Form.MEM_LOAD); },
  get st() { return codeOf("st", Form.MEM_STORE); },
  get stx() { return codeOf("stx", Form.MEM_STORE); },
  get ja() { return codeOf("ja", Form.JA); },
  get jeqK() { return codeOf("jeq", Form.JCOND_K); },
  get retK() { return codeOf("ret", Form.RET_K); },
  get retA() { return codeOf("ret", Form.RET_A); },
  get divK() { return codeOf("div", Form.ALU_DIV_K); },
  get divX() { return codeOf("div", Form.ALU_X); },
  get lshK() { return codeOf("lsh", Form.ALU_SHIFT_K); },
  get rshK() { return codeOf("rsh", Form.ALU_SHIFT_K); },
  get tax() { return codeOf("tax", Form.MISC); },
  get txa() { return codeOf("txa", Form.MISC); },
};

export function I(code: number, jt: number, jf: number, k: number): Insn {
  return { code, jt, jf, k: k >>> 0 };
}

// ---- constants and action values -------------------------------------------------------------

const BASE_CONSTS = [
  0, 1, 2, 3, 59, 231, 0xc000003e, 0x40000003, 0x40000000, 0x7fffffff, 0x80000000, 0xffffffff,
  0xffff, 0x10000, 0xfffffffe, 0x400, 0x1ff,
];

/** A program's constant pool: the values its comparisons use, which the inputs then hit. */
export function makePool(rng: Rng, extra: readonly number[] = []): number[] {
  const pool: number[] = [];
  const n = 3 + rng.int(8);
  for (let i = 0; i < n; i++) {
    switch (rng.int(6)) {
      case 0: pool.push(rng.pick(BASE_CONSTS)); break;
      case 1: pool.push(rng.u32()); break;
      case 2: pool.push(rng.int(460)); break;
      case 3: pool.push((1 << rng.int(32)) >>> 0); break;
      case 4: pool.push(rng.u32() & 0xfff); break;
      default: pool.push((0x40000000 | rng.int(548)) >>> 0); break;
    }
  }
  for (const e of extra) pool.push(e >>> 0);
  return pool;
}

const UNKNOWN_ACTIONS = [0x00010000, 0x00020000, 0x00060000, 0x7ffe0000, 0xfffe0000, 0x7ff80000, 0x12340000];

/** A varied RET K value: every action (with varied data), unknown actions, raw garbage. */
export function retValue(rng: Rng, pool: readonly number[] = []): number {
  const d16 = (): number => (rng.chance(0.7) ? rng.int(4096) : rng.int(0x10000));
  switch (rng.int(13)) {
    case 0: return Action.ALLOW | (rng.chance(0.8) ? 0 : d16());
    case 1: return (Action.KILL_PROCESS | (rng.chance(0.7) ? 0 : d16())) >>> 0;
    case 2: return Action.KILL_THREAD | (rng.chance(0.7) ? 0 : d16());
    case 3: return Action.TRAP | d16();
    case 4: case 5: return Action.ERRNO | d16();
    case 6: return Action.TRACE | d16();
    case 7: return Action.LOG | (rng.chance(0.8) ? 0 : d16());
    case 8: return Action.USER_NOTIF | (rng.chance(0.8) ? 0 : d16());
    case 9: return rng.pick(UNKNOWN_ACTIONS) | (rng.chance(0.5) ? 0 : d16());
    case 10: return rng.u32();
    case 11: return pool.length ? rng.pick(pool) : rng.u32();
    default: return Action.ERRNO | rng.range(1, 200);
  }
}

// ---- valid programs --------------------------------------------------------------------------

export interface Generated {
  insns: Insn[];
  /** Constants the program compares against (inputs are drawn near them). */
  pool: number[];
}

export interface GenOptions {
  /** Exact length (1..4096). */
  len?: number;
  /** Upper bound of the random length (default 150). */
  maxLen?: number;
  /** "kernel": every load passes the kernel's linear check; "loose": see the file comment. */
  scratch?: "kernel" | "loose";
  /** Extra constants for the pool (e.g. the trampoline's ip words). */
  consts?: readonly number[];
  /** Probability of garbage jt/jf on instructions that ignore them (default 0.1). */
  garbageJ?: number;
}

const FORM_WEIGHTS: [Form, number][] = [
  [Form.LD_ABS, 14], [Form.LEN, 1], [Form.IMM, 6], [Form.MEM_LOAD, 5], [Form.MEM_STORE, 4],
  [Form.ALU_K, 9], [Form.ALU_DIV_K, 2], [Form.ALU_SHIFT_K, 3], [Form.ALU_X, 10], [Form.NEG, 1],
  [Form.MISC, 4], [Form.JA, 3], [Form.JCOND_K, 14], [Form.JCOND_X, 6], [Form.RET_K, 3],
  [Form.RET_A, 1],
];
const FORM_TOTAL = FORM_WEIGHTS.reduce((s, [, w]) => s + w, 0);

function pickForm(rng: Rng): Form {
  let r = rng.int(FORM_TOTAL);
  for (const [f, w] of FORM_WEIGHTS) {
    if (r < w) return f;
    r -= w;
  }
  return Form.RET_K;
}

function pickLen(rng: Rng, maxLen: number): number {
  const r = rng.int(100);
  if (r < 5) return rng.range(1, Math.min(3, maxLen));
  if (r < 70) return rng.range(Math.min(4, maxLen), Math.min(60, maxLen));
  return rng.range(Math.min(60, maxLen), maxLen);
}

/** A forward offset in [0, max], biased to short hops and to the last instruction. */
function jumpOff(rng: Rng, max: number): number {
  const r = rng.int(100);
  if (r < 12) return max;
  if (r < 65) return rng.int(Math.min(max, 6) + 1);
  return rng.int(max + 1);
}

function lowestBits(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 16; i++) if (mask & (1 << i)) out.push(i);
  return out;
}

function aluK(rng: Rng, mnemonic: string, pool: readonly number[]): number {
  switch (mnemonic) {
    case "add": case "sub": return rng.chance(0.5) ? rng.int(64) : rng.chance(0.5) ? rng.pick(pool) : rng.u32();
    case "mul": return rng.chance(0.6) ? rng.int(20) : rng.u32();
    case "and": return rng.chance(0.3) ? rng.pick([0xff, 0xffff, 0x1ff, 0x40000000, 0xfff, 1]) : rng.u32();
    default: return rng.chance(0.4) ? rng.pick(pool) : rng.u32();
  }
}

function ldAbsK(rng: Rng): number {
  const r = rng.int(100);
  if (r < 30) return 0; // nr
  if (r < 40) return 4; // arch
  if (r < 45) return rng.pick([8, 12]); // instruction_pointer
  return 16 + 4 * rng.int(12); // args
}

/** A program the kernel accepts by construction (with scratch "kernel"). */
export function genValid(rng: Rng, o: GenOptions = {}): Generated {
  const n = o.len ?? pickLen(rng, o.maxLen ?? 150);
  const pool = makePool(rng, o.consts);
  const g = forms();
  const garbageJ = o.garbageJ ?? 0.1;
  const loose = o.scratch === "loose";
  const insns: Insn[] = new Array(n);
  // The kernel's linear scratch pass, run alongside.
  const incoming = new Uint16Array(n).fill(0xffff);
  let valid = 0;
  let everStored = 0;
  const jj = (): [number, number] => (rng.chance(garbageJ) ? [rng.int(256), rng.int(256)] : [0, 0]);
  for (let pc = 0; pc < n; pc++) {
    valid &= incoming[pc];
    if (pc === n - 1) {
      const [jt, jf] = jj();
      insns[pc] = rng.chance(0.7) ? I(C.retK, jt, jf, retValue(rng, pool)) : I(C.retA, jt, jf, rng.chance(0.8) ? 0 : rng.u32());
      break;
    }
    const room = n - 2 - pc; // largest offset that lands on an instruction
    let form = pickForm(rng);
    if (form === Form.MEM_LOAD && !loose && valid === 0) form = Form.MEM_STORE;
    if (form === Form.MEM_LOAD && loose && everStored === 0 && !rng.chance(0.05)) form = Form.MEM_STORE;
    const info = rng.pick(g.get(form)!);
    const [jt, jf] = jj();
    let ins: Insn;
    switch (form) {
      case Form.LD_ABS: ins = I(info.code, jt, jf, ldAbsK(rng)); break;
      case Form.LEN: ins = I(info.code, jt, jf, rng.chance(0.8) ? 0 : rng.u32()); break;
      case Form.IMM: ins = I(info.code, jt, jf, rng.chance(0.5) ? rng.pick(pool) : rng.chance(0.5) ? rng.int(40) : rng.u32()); break;
      case Form.MEM_LOAD: {
        const cells = lowestBits(loose ? everStored || 0xffff : valid);
        ins = I(info.code, jt, jf, rng.pick(cells));
        break;
      }
      case Form.MEM_STORE: {
        const k = rng.int(16);
        valid |= 1 << k;
        everStored |= 1 << k;
        ins = I(info.code, jt, jf, k);
        break;
      }
      case Form.ALU_K: ins = I(info.code, jt, jf, aluK(rng, info.mnemonic, pool)); break;
      case Form.ALU_DIV_K: ins = I(info.code, jt, jf, rng.chance(0.6) ? rng.range(1, 16) : rng.u32() || 1); break;
      case Form.ALU_SHIFT_K: ins = I(info.code, jt, jf, rng.int(32)); break;
      case Form.ALU_X: ins = I(info.code, jt, jf, rng.chance(0.9) ? 0 : rng.u32()); break;
      case Form.NEG: case Form.MISC: ins = I(info.code, jt, jf, rng.chance(0.9) ? 0 : rng.u32()); break;
      case Form.JA: {
        const k = jumpOff(rng, room);
        incoming[pc + 1 + k] &= valid;
        valid = 0xffff;
        ins = I(info.code, jt, jf, k);
        break;
      }
      case Form.JCOND_K: case Form.JCOND_X: {
        const max = Math.min(255, room);
        const t = jumpOff(rng, max);
        const f = jumpOff(rng, max);
        incoming[pc + 1 + t] &= valid;
        incoming[pc + 1 + f] &= valid;
        valid = 0xffff;
        let k = 0;
        if (form === Form.JCOND_K) {
          k = info.mnemonic === "jset"
            ? (rng.chance(0.5) ? (1 << rng.int(32)) >>> 0 : rng.chance(0.5) ? rng.pick(pool) : rng.u32())
            : (rng.chance(0.8) ? rng.pick(pool) : rng.u32());
        } else if (rng.chance(0.1)) {
          k = rng.u32(); // ignored by X jumps
        }
        ins = I(info.code, t, f, k);
        break;
      }
      case Form.RET_K: ins = I(info.code, jt, jf, retValue(rng, pool)); break;
      default: ins = I(info.code, jt, jf, rng.chance(0.9) ? 0 : rng.u32()); break; // RET_A
    }
    insns[pc] = ins;
  }
  return { insns, pool };
}

// ---- mutation ---------------------------------------------------------------------------------

/** Codes just outside the accepted set (docs/kernel.md section 7), plus odd bits. */
export const NEAR_MISS_CODES = [
  0x28, 0x30, 0x40, 0x48, 0x50, 0xb1, 0x94, 0x9c, 0x8c, 0x0e, 0x55, 0x8006, 0x62, 0x26, 0x1e,
  0x24 | 0x100, 0x20 | 0x8000, 0x0d, 0x8f, 0x83, 0xa1, 0xc4, 0xd4, 0x65, 0x66, 0x68, 0x70, 0x88,
  0x18, 0x10, 0x08, 0x09, 0x11, 0x60 | 0x08, 0xe0, 0xa0, 0x3, 0x2, 0x6d, 0x7d, 0x5d, 0xbc,
];

function boundaryK(rng: Rng, ins: Insn, pc: number, n: number): number {
  const room = n - 2 - pc;
  switch (opcodeInfo(ins.code)?.form) {
    case Form.LD_ABS: return rng.pick([60, 64, 2, 61, 62, 63, 56, 68, 0xfffff000, 0xfffff004, 0xffffffff, 0x80000000, 0]);
    case Form.MEM_LOAD: case Form.MEM_STORE: return rng.pick([15, 16, 17, 0xffffffff, 0x10, 0x80000000, 0]);
    case Form.ALU_DIV_K: return rng.pick([0, 1, 0xffffffff, 0x80000000]);
    case Form.ALU_SHIFT_K: return rng.pick([31, 32, 33, 0xffffffff, 0x80000001, 63, 0]);
    case Form.JA: return rng.pick([room, room + 1, room - 1, 0xffffffff, 0x7fffffff, (0x100000000 - pc - 1) >>> 0, 255, 256]) >>> 0;
    default: return rng.pick([0, 1, 0xffffffff, 0x80000000, rng.u32()]);
  }
}

/** Applies 1..3 random mutations; the result may be any length (0 included). */
export function mutate(rng: Rng, src: readonly Insn[]): Insn[] {
  let p = src.map((x) => ({ ...x }));
  const rounds = rng.range(1, 3);
  for (let r = 0; r < rounds; r++) {
    const n = p.length;
    const at = n ? rng.int(n) : 0;
    switch (rng.int(14)) {
      case 0: case 1: { // bit flip anywhere in the 8 bytes
        if (!n) break;
        const bit = rng.int(64);
        const x = p[at];
        if (bit < 16) x.code ^= 1 << bit;
        else if (bit < 24) x.jt ^= 1 << (bit - 16);
        else if (bit < 32) x.jf ^= 1 << (bit - 24);
        else x.k = (x.k ^ (1 << (bit - 32))) >>> 0;
        break;
      }
      case 2: if (n) p[at].code = rng.u32() & 0xffff; break;
      case 3: if (n) p[at].code = rng.chance(0.5) ? rng.pick(NEAR_MISS_CODES) : rng.pick(opcodes()).code; break;
      case 4: { // jt / jf to boundaries
        if (!n) break;
        const room = n - 2 - at;
        const v = () => Math.max(0, Math.min(255, rng.pick([room, room + 1, room + 2, 255, rng.int(256)])));
        if (rng.chance(0.5)) p[at].jt = v();
        else p[at].jf = v();
        break;
      }
      case 5: case 6: if (n) p[at].k = boundaryK(rng, p[at], at, n); break;
      case 7: if (n) p[at].k = rng.u32(); break;
      case 8: p = p.slice(0, rng.int(n + 1)); break; // truncation (maybe to nothing)
      case 9: { // appended garbage
        const m = rng.range(1, 5);
        for (let i = 0; i < m; i++) {
          p.push(rng.chance(0.5) ? I(rng.u32() & 0xffff, rng.int(256), rng.int(256), rng.u32())
            : I(rng.pick(opcodes()).code, rng.int(3), rng.int(3), rng.int(70)));
        }
        break;
      }
      case 10: if (n > 1) p.splice(at, 1); break; // deletion (jumps now land elsewhere)
      case 11: p.splice(at, 0, I(rng.pick(opcodes()).code, rng.int(4), rng.int(4), rng.chance(0.5) ? rng.int(70) : rng.u32())); break;
      case 12: if (n) p[n - 1] = I(rng.pick(opcodes().filter((o) => o.form !== Form.RET_K && o.form !== Form.RET_A)).code, 0, 0, rng.int(16)); break;
      default: p.splice(at, 0, I(rng.chance(0.5) ? C.ldMem : C.ldxMem, 0, 0, rng.int(rng.chance(0.9) ? 16 : 18))); break;
    }
  }
  return p;
}

// ---- special programs ---------------------------------------------------------------------------

export interface Special {
  name: string;
  insns: Insn[];
  /** The verdict docs/kernel.md documents, where it does ([V] rows). */
  expect?: "accept" | "reject";
}

const ALLOW = Action.ALLOW;

/** The edge cases of docs/kernel.md sections 6-9, by name. */
export function specialPrograms(rng: Rng): Special[] {
  const ret = I(C.retK, 0, 0, ALLOW);
  const ld0 = I(C.ldImm, 0, 0, 0);
  const fill = (n: number, last: Insn): Insn[] => [...Array.from({ length: n - 1 }, () => ({ ...ld0 })), last];
  const one = (x: Insn): Insn[] => [x, { ...ret }];
  const s: Special[] = [
    { name: "len 0", insns: [], expect: "reject" },
    { name: "len 1 ret ALLOW", insns: [ret], expect: "accept" },
    { name: "len 4096", insns: fill(4096, ret), expect: "accept" },
    { name: "len 4097", insns: fill(4097, ret), expect: "reject" },
    { name: "len 4096 random valid", insns: genValid(rng, { len: 4096 }).insns, expect: "accept" },
    { name: "len 4097 random valid + ret", insns: [...genValid(rng, { len: 4096 }).insns, ret] , expect: "reject" },
    { name: "len 4096 last not ret", insns: fill(4096, ld0), expect: "reject" },
    { name: "len 5000", insns: fill(5000, ret), expect: "reject" },
    { name: "len 65535", insns: fill(65535, ret), expect: "reject" },
    { name: "last instruction not ret (ld imm)", insns: [ret, ld0], expect: "reject" },
    {
      name: "scratch quirk (section 9)",
      insns: [I(C.jeqK, 0, 2, 5), I(C.st, 0, 0, 0), I(C.ja, 0, 0, 1), I(C.retK, 0, 0, 0), I(C.ldMem, 0, 0, 0), I(C.retA, 0, 0, 0)],
      expect: "reject",
    },
    {
      name: "scratch quirk with ja +0 at pc 3",
      insns: [I(C.jeqK, 0, 2, 5), I(C.st, 0, 0, 0), I(C.ja, 0, 0, 1), I(C.ja, 0, 0, 0), I(C.ldMem, 0, 0, 0), I(C.retA, 0, 0, 0)],
      expect: "reject",
    },
    { name: "ld M[0] with no store", insns: one(I(C.ldMem, 0, 0, 0)), expect: "reject" },
    {
      name: "store on one branch, load at the join",
      insns: [I(C.jeqK, 0, 1, 5), I(C.st, 0, 0, 3), I(C.ldMem, 0, 0, 3), ret],
      expect: "reject",
    },
    {
      name: "store before the branch, load at the join",
      insns: [I(C.st, 0, 0, 3), I(C.jeqK, 0, 1, 5), I(C.ldImm, 0, 0, 1), I(C.ldMem, 0, 0, 3), ret],
      expect: "accept",
    },
    { name: "st M[0]; ld M[0]", insns: [I(C.st, 0, 0, 0), I(C.ldMem, 0, 0, 0), ret], expect: "accept" },
    { name: "stx M[15]; ldx M[15]", insns: [I(C.stx, 0, 0, 15), I(C.ldxMem, 0, 0, 15), ret], expect: "accept" },
    { name: "st M[16]", insns: one(I(C.st, 0, 0, 16)), expect: "reject" },
    { name: "ld M[16] after st M[15]", insns: [I(C.st, 0, 0, 15), I(C.ldMem, 0, 0, 16), ret], expect: "reject" },
    { name: "st M[0]; ret; ld M[0] (RET keeps valid)", insns: [I(C.st, 0, 0, 0), I(C.retK, 0, 0, 0), I(C.ldMem, 0, 0, 0), ret], expect: "accept" },
    { name: "ld [60]", insns: one(I(C.ldAbs, 0, 0, 60)), expect: "accept" },
    { name: "ld [64]", insns: one(I(C.ldAbs, 0, 0, 64)), expect: "reject" },
    { name: "ld [2]", insns: one(I(C.ldAbs, 0, 0, 2)), expect: "reject" },
    { name: "ld [61]", insns: one(I(C.ldAbs, 0, 0, 61)), expect: "reject" },
    { name: "ld [SKF_AD_OFF]", insns: one(I(C.ldAbs, 0, 0, 0xfffff000)), expect: "reject" },
    { name: "ld [SKF_AD_CPU]", insns: one(I(C.ldAbs, 0, 0, 0xfffff000 + 36)), expect: "reject" },
    { name: "div #0", insns: one(I(C.divK, 0, 0, 0)), expect: "reject" },
    { name: "div #1", insns: one(I(C.divK, 0, 0, 1)), expect: "accept" },
    { name: "div x", insns: one(I(C.divX, 0, 0, 0)), expect: "accept" },
    { name: "lsh #31", insns: one(I(C.lshK, 0, 0, 31)), expect: "accept" },
    { name: "lsh #32", insns: one(I(C.lshK, 0, 0, 32)), expect: "reject" },
    { name: "rsh #31", insns: one(I(C.rshK, 0, 0, 31)), expect: "accept" },
    { name: "rsh #32", insns: one(I(C.rshK, 0, 0, 32)), expect: "reject" },
    { name: "ja to the last instruction", insns: [I(C.ja, 0, 0, 1), ld0, ret], expect: "accept" },
    { name: "ja one past the last", insns: [I(C.ja, 0, 0, 2), ld0, ret], expect: "reject" },
    { name: "ja 0xffffffff (wraps)", insns: [I(C.ja, 0, 0, 0xffffffff), ld0, ret], expect: "reject" },
    { name: "jeq jt to the last", insns: [I(C.jeqK, 1, 0, 1), ld0, ret], expect: "accept" },
    { name: "jeq jt one past", insns: [I(C.jeqK, 2, 0, 1), ld0, ret], expect: "reject" },
    { name: "jeq jf one past", insns: [I(C.jeqK, 0, 2, 1), ld0, ret], expect: "reject" },
    { name: "jeq jt 255 in a 257-long program", insns: [I(C.jeqK, 255, 0, 1), ...fill(256, ret)], expect: "accept" },
    { name: "ja with jt=5, jf=7 (ignored)", insns: [I(C.ja, 5, 7, 0), ret], expect: "accept" },
    { name: "st with jt=jf=3 (ignored)", insns: [I(C.st, 3, 3, 0), ret], expect: "accept" },
    { name: "txa; ret a at entry", insns: [I(C.txa, 0, 0, 0), I(C.retA, 0, 0, 0)], expect: "accept" },
    { name: "ld len with garbage k", insns: one(I(codeOf("ld", Form.LEN), 0, 0, 0xdeadbeef)), expect: "accept" },
    { name: "ret x (0x0e)", insns: [ld0, I(0x0e, 0, 0, 0)], expect: "reject" },
    { name: "ret k with an extra bit (0x8006)", insns: [I(0x8006, 0, 0, ALLOW)], expect: "reject" },
    { name: "st written as 0x62", insns: one(I(0x62, 0, 0, 0)), expect: "reject" },
    { name: "neg with the X bit (0x8c)", insns: one(I(0x8c, 0, 0, 0)), expect: "reject" },
  ];
  for (const c of [0x28, 0x30, 0x40, 0x48, 0x50, 0xb1, 0x94, 0x9c, 0x55]) {
    s.push({ name: `classic-only or eBPF code 0x${c.toString(16)}`, insns: one(I(c, 0, 0, c === 0x94 ? 3 : 4)), expect: "reject" });
  }
  return s;
}

/**
 * One program per `code` value: all 16 scratch cells written, then the instruction under test
 * (k from 0, 1, 4 or small, jt/jf 0 or 1), then four `ret ALLOW` (so short jumps land).
 */
export function sweepProgram(rng: Rng, code: number): Insn[] {
  const p: Insn[] = [];
  for (let c = 0; c < 16; c++) p.push(I(C.st, 0, 0, c));
  p.push(I(code, rng.int(2), rng.int(2), rng.pick([0, 1, 4, 4, rng.int(20)])));
  for (let i = 0; i < 4; i++) p.push(I(C.retK, 0, 0, ALLOW));
  return p;
}

// ---- inputs ------------------------------------------------------------------------------------

/** Words per input: nr lo, nr hi, args[0..5] as (lo, hi) (the oracle's wire layout). */
export const INPUT_WORDS = 14;

export interface InputOptions {
  /** Probability that an input uses nr 335/336 (the oracle must skip those). Default 0. */
  probeNr?: number;
}

function near(rng: Rng, pool: readonly number[]): number {
  return (rng.pick(pool) + rng.pick([-1, 0, 0, 1])) >>> 0;
}

function word(rng: Rng, pool: readonly number[]): number {
  const r = rng.int(100);
  if (r < 38) return near(rng, pool);
  if (r < 47) return 0;
  if (r < 54) return 0xffffffff;
  if (r < 58) return rng.pick([0x80000000, 0x7fffffff]);
  if (r < 76) return rng.int(64);
  return rng.u32();
}

/** `count` inputs near the constants of `pool`, as INPUT_WORDS words each. */
export function genInputs(rng: Rng, pool: readonly number[], count: number, o: InputOptions = {}): Uint32Array {
  const w = new Uint32Array(count * INPUT_WORDS);
  for (let i = 0; i < count; i++) {
    const at = i * INPUT_WORDS;
    let nr: number;
    const r = rng.int(100);
    if (r < 45) nr = near(rng, pool);
    else if (r < 70) nr = rng.int(460);
    else if (r < 75) nr = 0xffffffff;
    else if (r < 80) nr = (0x40000000 | rng.int(560)) >>> 0;
    else nr = rng.u32();
    if (nr === 335 || nr === 336) nr = 337;
    if (o.probeNr && rng.chance(o.probeNr)) nr = rng.pick([335, 336]);
    let nrHi = rng.chance(0.9) ? 0 : rng.chance(0.5) ? 0xffffffff : rng.u32();
    // rax in -516..-512 would be a kernel restart code after a TRAP's rollback
    if (nrHi === 0xffffffff && nr >= 0xfffffdfc && nr <= 0xfffffe00) nrHi = 0;
    w[at] = nr;
    w[at + 1] = nrHi;
    for (let a = 0; a < 6; a++) {
      w[at + 2 + 2 * a] = word(rng, pool);
      w[at + 3 + 2 * a] = rng.chance(0.4) ? 0 : word(rng, pool);
    }
  }
  return w;
}

/** Formats instructions as hex sock_filter lines (for failure reports). */
export function hexInsns(insns: readonly Insn[]): string {
  return insns
    .map((x, i) => `${String(i).padStart(4)}: { 0x${x.code.toString(16).padStart(2, "0")}, ${x.jt}, ${x.jf}, 0x${(x.k >>> 0).toString(16).padStart(8, "0")} }`)
    .join("\n");
}
