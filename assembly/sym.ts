// Symbolic execution of a seccomp program over all 2^512 inputs at once.
//
// Registers hold 32-bit *vectors*: 32 BDDs, one per bit, over the input bits (assembly/bdd.ts).
// Every accepted opcode is modelled exactly: loads give the input bits themselves, ALU ops are
// bit-level circuits (ripple-carry add/sub, shift-and-add multiply, restoring division, barrel
// shifts by X mod 32), and a conditional jump splits the path condition by the BDD of the
// comparison. Instructions are visited in order (all jumps go forward); the states arriving at
// an instruction are merged when their registers and scratch memory are equal (vectors are
// hash-consed, so equality is an id compare), which keeps the state count to the number of
// distinct register contents rather than the number of paths.
//
// The result, per program, is the exact partition of the input space by return value: for each
// distinct 32-bit value, the BDD of the inputs that reach it. Division by X == 0 returns 0, as
// the kernel does. Every bound (BDD nodes, states, distinct RET A values) is explicit; when one
// is hit the analysis reports which, and the host answers "inconclusive".
import {
  formOf, F_LD_ABS, F_LEN, F_IMM, F_MEM_LOAD, F_MEM_STORE, F_ALU_K, F_ALU_DIV_K, F_ALU_SHIFT_K,
  F_ALU_X, F_NEG, F_MISC, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A,
  LD_IMM, LDX_IMM, LD_MEM, LDX_MEM, ST, STX, LD_W_LEN, LDX_W_LEN,
  ALU_ADD_K, ALU_SUB_K, ALU_MUL_K, ALU_DIV_K, ALU_OR_K, ALU_AND_K, ALU_LSH_K, ALU_RSH_K, ALU_XOR_K,
  ALU_ADD_X, ALU_SUB_X, ALU_MUL_X, ALU_DIV_X, ALU_OR_X, ALU_AND_X, ALU_LSH_X, ALU_RSH_X, ALU_XOR_X,
  MISC_TAX, JMP_JEQ_K, JMP_JGT_K, JMP_JGE_K, JMP_JSET_K, JMP_JEQ_X, JMP_JGT_X, JMP_JGE_X, JMP_JSET_X,
} from "./opcodes";
import {
  FALSE, TRUE, bddVar, bddAnd, bddOr, bddXor, bddNot, bddIte, overflowed,
} from "./bdd";

// Limits (reasons the host turns into "inconclusive: …").
export const LIMIT_NONE: i32 = 0;
export const LIMIT_NODES: i32 = 1; // BDD node budget
export const LIMIT_STATES: i32 = 2; // distinct register states
export const LIMIT_OUTCOMES: i32 = 3; // distinct return values (RET A)
export const LIMIT_VECTORS: i32 = 4; // vector pool
export const ERR_BAD_PROGRAM: i32 = -1;

// ---- vectors -------------------------------------------------------------------------------
// Allocated on first use (symReset), like the BDD storage.
const MAX_VECS: i32 = 1 << 16;
let pVecBits: usize = 0;
let vecCount: i32 = 0;
const VEC_HASH_SIZE: i32 = 1 << 17;
let pVecHash: usize = 0;
let vecOverflow = false;

function vecReset(): void {
  if (pVecBits == 0) {
    pVecBits = heap.alloc(<usize>MAX_VECS * 32 * 4);
    pVecHash = heap.alloc(<usize>VEC_HASH_SIZE * 4);
  }
  vecCount = 0;
  vecOverflow = false;
  memory.fill(pVecHash, 0xff, <usize>VEC_HASH_SIZE * 4);
}

// @ts-ignore: decorator
@inline function vb(id: i32, i: i32): usize {
  return pVecBits + (<usize>(id * 32 + i) << 2);
}

const tmp = new StaticArray<u32>(32);

/** Interns the 32 bits in `tmp` as a vector id. */
function intern(): i32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < 32; i++) h = (h ^ unchecked(tmp[i])) * 0x01000193;
  let slot = <i32>(h & <u32>(VEC_HASH_SIZE - 1));
  while (true) {
    const id = load<i32>(pVecHash + (<usize>slot << 2));
    if (id < 0) break;
    let same = true;
    for (let i = 0; i < 32; i++) {
      if (load<u32>(vb(id, i)) != unchecked(tmp[i])) { same = false; break; }
    }
    if (same) return id;
    slot = (slot + 1) & (VEC_HASH_SIZE - 1);
  }
  if (vecCount >= MAX_VECS - 1 || vecCount >= (VEC_HASH_SIZE >> 1)) {
    vecOverflow = true;
    return 0;
  }
  const id = vecCount++;
  for (let i = 0; i < 32; i++) store<u32>(vb(id, i), unchecked(tmp[i]));
  store<i32>(pVecHash + (<usize>slot << 2), id);
  return id;
}

// @ts-ignore: decorator
@inline function bit(v: i32, i: i32): u32 {
  return load<u32>(vb(v, i));
}

function vConst(k: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = ((k >>> i) & 1) != 0 ? TRUE : FALSE);
  return intern();
}

function vWord(word: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddVar(word * 32 + (31 - <u32>i)));
  return intern();
}

const ta = new StaticArray<u32>(32);
const tb = new StaticArray<u32>(32);

function load2(a: i32, b: i32): void {
  for (let i = 0; i < 32; i++) {
    unchecked(ta[i] = bit(a, i));
    unchecked(tb[i] = bit(b, i));
  }
}

function vAnd(a: i32, b: i32): i32 {
  load2(a, b);
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddAnd(unchecked(ta[i]), unchecked(tb[i])));
  return intern();
}
function vOr(a: i32, b: i32): i32 {
  load2(a, b);
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddOr(unchecked(ta[i]), unchecked(tb[i])));
  return intern();
}
function vXor(a: i32, b: i32): i32 {
  load2(a, b);
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddXor(unchecked(ta[i]), unchecked(tb[i])));
  return intern();
}

/** a + b + carryIn (ripple carry). */
function vAdd(a: i32, b: i32, carryIn: u32): i32 {
  load2(a, b);
  let c = carryIn;
  for (let i = 0; i < 32; i++) {
    const x = unchecked(ta[i]);
    const y = unchecked(tb[i]);
    const xy = bddXor(x, y);
    unchecked(tmp[i] = bddXor(xy, c));
    c = bddOr(bddAnd(x, y), bddAnd(c, xy));
  }
  return intern();
}

function vNot(a: i32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddNot(bit(a, i)));
  return intern();
}

function vSub(a: i32, b: i32): i32 {
  return vAdd(a, vNot(b), TRUE); // a + ~b + 1
}

function vShlConst(a: i32, k: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = <u32>i >= k ? bit(a, i - <i32>k) : FALSE);
  return intern();
}

function vShrConst(a: i32, k: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = <u32>i + k < 32 ? bit(a, i + <i32>k) : FALSE);
  return intern();
}

/** Shift by X mod 32: a barrel shifter over the low five bits of X. */
function vShiftX(a: i32, x: i32, left: bool): i32 {
  let cur = a;
  for (let s = 0; s < 5; s++) {
    const sel = bit(x, s);
    const sh: u32 = <u32>1 << <u32>s;
    const shifted = left ? vShlConst(cur, sh) : vShrConst(cur, sh);
    for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddIte(sel, bit(shifted, i), bit(cur, i)));
    cur = intern();
  }
  return cur;
}

/** a * b (mod 2^32): shift-and-add, each partial product gated by a bit of b. */
function vMul(a: i32, b: i32): i32 {
  let acc = vConst(0);
  for (let s = 0; s < 32; s++) {
    const sel = bit(b, s);
    if (sel == FALSE) continue;
    const part = vShlConst(a, <u32>s);
    let gated: i32;
    if (sel == TRUE) gated = part;
    else {
      for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddAnd(sel, bit(part, i)));
      gated = intern();
    }
    acc = vAdd(acc, gated, FALSE);
    if (overflowed || vecOverflow) break;
  }
  return acc;
}

/** a / b unsigned (b != 0 on the paths that use it): restoring division, bit by bit. */
function vDiv(a: i32, b: i32): i32 {
  let rem = vConst(0);
  const q = new StaticArray<u32>(32);
  for (let s = 31; s >= 0; s--) {
    // rem = (rem << 1) | a[s]
    for (let i = 31; i >= 1; i--) unchecked(tmp[i] = bit(rem, i - 1));
    unchecked(tmp[0] = bit(a, s));
    // The top bit of rem shifted out matters: compute with 33 bits by checking it separately.
    const outBit = bit(rem, 31);
    rem = intern();
    // ge = outBit | rem >= b
    const ge = bddOr(outBit, geBdd(rem, b));
    unchecked(q[s] = ge);
    const diff = vSub(rem, b);
    for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddIte(ge, bit(diff, i), bit(rem, i)));
    rem = intern();
    if (overflowed || vecOverflow) break;
  }
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = unchecked(q[i]));
  return intern();
}

// ---- comparisons (vectors -> BDD) -----------------------------------------------------------
function eqBdd(a: i32, b: i32): u32 {
  let r = TRUE;
  for (let i = 31; i >= 0 && r != FALSE; i--) r = bddAnd(r, bddNot(bddXor(bit(a, i), bit(b, i))));
  return r;
}

/** a > b unsigned; from the least significant bit up: gt = a&~b | ~(a^b) & gtLower. */
function gtBdd(a: i32, b: i32): u32 {
  let r = FALSE;
  for (let i = 0; i < 32; i++) {
    const x = bit(a, i);
    const y = bit(b, i);
    r = bddOr(bddAnd(x, bddNot(y)), bddAnd(bddNot(bddXor(x, y)), r));
  }
  return r;
}

function geBdd(a: i32, b: i32): u32 {
  let r = TRUE;
  for (let i = 0; i < 32; i++) {
    const x = bit(a, i);
    const y = bit(b, i);
    r = bddOr(bddAnd(x, bddNot(y)), bddAnd(bddNot(bddXor(x, y)), r));
  }
  return r;
}

function setBdd(a: i32, b: i32): u32 {
  let r = FALSE;
  for (let i = 0; i < 32; i++) r = bddOr(r, bddAnd(bit(a, i), bit(b, i)));
  return r;
}

// ---- states ----------------------------------------------------------------------------
// A state: path condition, A, X and a scratch-memory id (16 vector ids, hash-consed too).
const MAX_STATES: i32 = 1 << 15;
const sCond = new StaticArray<u32>(MAX_STATES);
const sA = new StaticArray<i32>(MAX_STATES);
const sX = new StaticArray<i32>(MAX_STATES);
const sM = new StaticArray<i32>(MAX_STATES);
const sNext = new StaticArray<i32>(MAX_STATES); // linked list per pc
let stateCount: i32 = 0;
const headAt = new StaticArray<i32>(4097);

const MAX_MEMS: i32 = 1 << 12;
const memCells = new StaticArray<i32>(MAX_MEMS * 16);
let memCount: i32 = 0;
const memTmp = new StaticArray<i32>(16);

function memIntern(): i32 {
  // Linear probing over a small table is enough: scratch memory changes rarely.
  for (let m = 0; m < memCount; m++) {
    let same = true;
    for (let i = 0; i < 16; i++) if (unchecked(memCells[m * 16 + i]) != unchecked(memTmp[i])) { same = false; break; }
    if (same) return m;
  }
  if (memCount >= MAX_MEMS) return -1;
  const m = memCount++;
  for (let i = 0; i < 16; i++) unchecked(memCells[m * 16 + i] = unchecked(memTmp[i]));
  return m;
}

let limit: i32 = LIMIT_NONE;

/** Adds a state arriving at `pc`, merging with an equal one. */
function arrive(pc: u32, cond: u32, a: i32, x: i32, m: i32): void {
  if (cond == FALSE) return;
  let s = unchecked(headAt[pc]);
  while (s >= 0) {
    if (unchecked(sA[s]) == a && unchecked(sX[s]) == x && unchecked(sM[s]) == m) {
      unchecked(sCond[s] = bddOr(unchecked(sCond[s]), cond));
      return;
    }
    s = unchecked(sNext[s]);
  }
  if (stateCount >= MAX_STATES) {
    limit = LIMIT_STATES;
    return;
  }
  const n = stateCount++;
  unchecked(sCond[n] = cond);
  unchecked(sA[n] = a);
  unchecked(sX[n] = x);
  unchecked(sM[n] = m);
  unchecked(sNext[n] = unchecked(headAt[pc]));
  unchecked(headAt[pc] = n);
}

// ---- outcomes ----------------------------------------------------------------------------
export const MAX_OUTCOMES: i32 = 1024;
// Results per slot (up to 8 programs analysed side by side in one BDD space).
const SLOTS: i32 = 8;
const outValue = new StaticArray<u32>(SLOTS * MAX_OUTCOMES);
const outSet = new StaticArray<u32>(SLOTS * MAX_OUTCOMES);
const outCount = new StaticArray<i32>(SLOTS);
let curSlot: i32 = 0;

function addOutcome(value: u32, cond: u32): void {
  if (cond == FALSE) return;
  const base = curSlot * MAX_OUTCOMES;
  const n = unchecked(outCount[curSlot]);
  for (let i = 0; i < n; i++) {
    if (unchecked(outValue[base + i]) == value) {
      unchecked(outSet[base + i] = bddOr(unchecked(outSet[base + i]), cond));
      return;
    }
  }
  if (n >= MAX_OUTCOMES) {
    limit = LIMIT_OUTCOMES;
    return;
  }
  unchecked(outValue[base + n] = value);
  unchecked(outSet[base + n] = cond);
  unchecked(outCount[curSlot] = n + 1);
}

/** RET A: split the condition by every distinct value A can take under it. */
function retVector(a: i32, cond: u32, bitIdx: i32, prefix: u32): void {
  if (cond == FALSE || limit != LIMIT_NONE || overflowed) return;
  if (bitIdx < 0) {
    addOutcome(prefix, cond);
    return;
  }
  const b = bit(a, bitIdx);
  const one = bddAnd(cond, b);
  const zero = bddAnd(cond, bddNot(b));
  retVector(a, zero, bitIdx - 1, prefix);
  retVector(a, one, bitIdx - 1, prefix | (<u32>1 << <u32>bitIdx));
}

// ---- the analysis ------------------------------------------------------------------------
export function symReset(): void {
  vecReset();
  memCount = 0;
  for (let s = 0; s < SLOTS; s++) unchecked(outCount[s] = 0);
}

/**
 * Analyses the (checked) program at `prog` into result slot `slot`. Returns LIMIT_NONE (0) when
 * exact, a LIMIT_* code when a bound was hit, or ERR_BAD_PROGRAM.
 */
export function symAnalyze(prog: usize, len: u32, slot: i32): i32 {
  if (len == 0 || len > 4096 || slot < 0 || slot >= SLOTS) return ERR_BAD_PROGRAM;
  curSlot = slot;
  unchecked(outCount[slot] = 0);
  limit = LIMIT_NONE;
  stateCount = 0;
  for (let i: u32 = 0; i <= len; i++) unchecked(headAt[i] = -1);
  const zero = vConst(0);
  for (let i = 0; i < 16; i++) unchecked(memTmp[i] = -1);
  const mem0 = memIntern();
  arrive(0, TRUE, zero, zero, mem0);

  for (let pc: u32 = 0; pc < len; pc++) {
    const ins = prog + (<usize>pc << 3);
    const code = <u16>load<u16>(ins);
    const jt = <u32>load<u8>(ins, 2);
    const jf = <u32>load<u8>(ins, 3);
    const k = load<u32>(ins, 4);
    const form = formOf(code);
    let s = unchecked(headAt[pc]);
    while (s >= 0) {
      if (limit != LIMIT_NONE) return limit;
      if (overflowed) return LIMIT_NODES;
      if (vecOverflow) return LIMIT_VECTORS;
      const cond = unchecked(sCond[s]);
      let a = unchecked(sA[s]);
      let x = unchecked(sX[s]);
      let m = unchecked(sM[s]);
      const next = pc + 1;
      switch (form) {
        case F_LD_ABS: { arrive(next, cond, vWord(k >> 2), x, m); break; }
        case F_LEN: {
          if (code == LD_W_LEN) a = vConst(64); else x = vConst(64);
          arrive(next, cond, a, x, m);
          break;
        }
        case F_IMM: {
          if (code == LD_IMM) a = vConst(k); else x = vConst(k);
          arrive(next, cond, a, x, m);
          break;
        }
        case F_MEM_LOAD: {
          const cell = unchecked(memCells[m * 16 + <i32>(k & 15)]);
          // The kernel's scratch check guarantees the cell was written; -1 cannot happen.
          const v = cell < 0 ? zero : cell;
          if (code == LD_MEM) a = v; else x = v;
          arrive(next, cond, a, x, m);
          break;
        }
        case F_MEM_STORE: {
          for (let i = 0; i < 16; i++) unchecked(memTmp[i] = unchecked(memCells[m * 16 + i]));
          unchecked(memTmp[<i32>(k & 15)] = code == ST ? a : x);
          const m2 = memIntern();
          if (m2 < 0) return LIMIT_STATES;
          arrive(next, cond, a, x, m2);
          break;
        }
        case F_ALU_K: case F_ALU_DIV_K: case F_ALU_SHIFT_K: {
          const kv = vConst(k);
          if (code == ALU_ADD_K) a = vAdd(a, kv, FALSE);
          else if (code == ALU_SUB_K) a = vSub(a, kv);
          else if (code == ALU_MUL_K) a = vMul(a, kv);
          else if (code == ALU_DIV_K) a = vDiv(a, kv);
          else if (code == ALU_OR_K) a = vOr(a, kv);
          else if (code == ALU_AND_K) a = vAnd(a, kv);
          else if (code == ALU_XOR_K) a = vXor(a, kv);
          else if (code == ALU_LSH_K) a = vShlConst(a, k);
          else if (code == ALU_RSH_K) a = vShrConst(a, k);
          arrive(next, cond, a, x, m);
          break;
        }
        case F_ALU_X: {
          if (code == ALU_DIV_X) {
            // Division by X == 0 ends the filter with return value 0.
            const xz = eqBdd(x, zero);
            addOutcome(0, bddAnd(cond, xz));
            const rest = bddAnd(cond, bddNot(xz));
            if (rest != FALSE) arrive(next, rest, vDiv(a, x), x, m);
            break;
          }
          if (code == ALU_ADD_X) a = vAdd(a, x, FALSE);
          else if (code == ALU_SUB_X) a = vSub(a, x);
          else if (code == ALU_MUL_X) a = vMul(a, x);
          else if (code == ALU_OR_X) a = vOr(a, x);
          else if (code == ALU_AND_X) a = vAnd(a, x);
          else if (code == ALU_XOR_X) a = vXor(a, x);
          else if (code == ALU_LSH_X) a = vShiftX(a, x, true);
          else if (code == ALU_RSH_X) a = vShiftX(a, x, false);
          arrive(next, cond, a, x, m);
          break;
        }
        case F_NEG: { arrive(next, cond, vSub(zero, a), x, m); break; }
        case F_MISC: {
          if (code == MISC_TAX) x = a; else a = x;
          arrive(next, cond, a, x, m);
          break;
        }
        case F_JA: { arrive(pc + 1 + k, cond, a, x, m); break; }
        case F_JCOND_K: case F_JCOND_X: {
          const src = form == F_JCOND_K ? vConst(k) : x;
          let c: u32;
          if (code == JMP_JEQ_K || code == JMP_JEQ_X) c = eqBdd(a, src);
          else if (code == JMP_JGT_K || code == JMP_JGT_X) c = gtBdd(a, src);
          else if (code == JMP_JGE_K || code == JMP_JGE_X) c = geBdd(a, src);
          else c = setBdd(a, src);
          arrive(pc + 1 + jt, bddAnd(cond, c), a, x, m);
          arrive(pc + 1 + jf, bddAnd(cond, bddNot(c)), a, x, m);
          break;
        }
        case F_RET_K: { addOutcome(k, cond); break; }
        case F_RET_A: { retVector(a, cond, 31, 0); break; }
        default: return ERR_BAD_PROGRAM;
      }
      s = unchecked(sNext[s]);
    }
  }
  if (overflowed) return LIMIT_NODES;
  if (vecOverflow) return LIMIT_VECTORS;
  return limit;
}

export function symOutcomeCount(slot: i32): i32 {
  return unchecked(outCount[slot]);
}
export function symOutcomeValue(slot: i32, i: i32): u32 {
  return unchecked(outValue[slot * MAX_OUTCOMES + i]);
}
export function symOutcomeSet(slot: i32, i: i32): u32 {
  return unchecked(outSet[slot * MAX_OUTCOMES + i]);
}
export function symStates(): i32 {
  return stateCount;
}
