// Register states of the symbolic engine and the one transfer function over them.
//
// Owns: the state pool (path condition, A, X and a scratch-memory id per state, one list per
// (side, pc)), the interned scratch memories, the bound that was hit (`limit`), the transfer
// function with its result (the t* globals), the path-insensitive register pass with each
// state's successors, and each state's suffix diagram ("what the program returns from here").
// Every analysis (sympart.ts: partitions; symrel.ts: relations; symwitness.ts: witnesses) works
// on these states, so they live here once; the analyses change them only through the functions
// below. The arithmetic of the transfer function is in symvec.ts.
//
// Registers hold 32-bit *vectors*: 32 BDDs, one per bit, over the input bits (assembly/bdd.ts).
// Every accepted opcode is modelled exactly by `transfer`: loads give the input bits themselves,
// ALU ops are bit-level circuits, a conditional jump yields the BDD of its comparison, and
// division by X == 0 returns 0, as the kernel does. Vectors are hash-consed, so equal register
// contents are equal ids, and states are kept per instruction and distinct register contents,
// not per path.
import {
  formOf, F_LD_ABS, F_LEN, F_IMM, F_MEM_LOAD, F_MEM_STORE, F_ALU_K, F_ALU_DIV_K, F_ALU_SHIFT_K,
  F_ALU_X, F_NEG, F_MISC, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A,
  LD_IMM, LD_MEM, ST, LD_W_LEN,
  ALU_ADD_K, ALU_SUB_K, ALU_MUL_K, ALU_DIV_K, ALU_OR_K, ALU_AND_K, ALU_LSH_K, ALU_XOR_K,
  ALU_ADD_X, ALU_DIV_X,
  MISC_TAX, JMP_JEQ_K, JMP_JGT_K, JMP_JGE_K, JMP_JEQ_X, JMP_JGT_X, JMP_JGE_X,
} from "./opcodes";
import { FALSE, TRUE, bddOr, bddIte, overflowed, mtLeaf } from "./bdd";
import {
  LIMIT_NONE, LIMIT_NODES, LIMIT_STATES, LIMIT_VECTORS, ERR_BAD_PROGRAM, BPF_MAXINSNS, BPF_MEMWORDS,
} from "./contract";
import {
  vecOverflow, vConst, vWord, vRestrict, vAnd, vOr, vXor, vAdd, vSub, vMul, vDiv,
  vShlConst, vShrConst, vShiftX, eqBdd, gtBdd, geBdd, setBdd,
} from "./symvec";

// ---- states ----------------------------------------------------------------------------
// A state: path condition, A, X and a scratch-memory id (16 vector ids, hash-consed too).
// Two programs can be analysed side by side (the relational analysis), so the pool holds the
// states of both and `headAt` has one list head per (side, pc); `hb` selects the side.
export const MAX_STATES: i32 = 1 << 17;
/** Per-side length of `headAt`: one head per pc of the longest filter, and one for its end. */
export const SIDE_LEN: u32 = BPF_MAXINSNS + 1;
export const SIDE_P: u32 = 0; // the first (or only) program
export const SIDE_Q: u32 = SIDE_LEN; // the second program of a relational analysis
export const SIDE_SCRATCH: u32 = 2 * SIDE_LEN; // a re-analysis under a cube
export const sCond = new StaticArray<u32>(MAX_STATES);
export const sA = new StaticArray<i32>(MAX_STATES);
export const sX = new StaticArray<i32>(MAX_STATES);
export const sM = new StaticArray<i32>(MAX_STATES);
export const sNext = new StaticArray<i32>(MAX_STATES); // linked list per pc
export const sPc = new StaticArray<u32>(MAX_STATES);
export const headAt = new StaticArray<i32>(3 * SIDE_LEN); // P, Q, and scratch
export let stateCount: i32 = 0;
export let hb: u32 = SIDE_P;

/** Selects the side whose state lists arrive, addEntry and registerPass use. */
export function useSide(side: u32): void {
  hb = side;
}

/** Forgets every state from `n` on (a new analysis: 0; an abandoned re-analysis: its start). */
export function truncateStates(n: i32): void {
  stateCount = n;
}

// ---- scratch memories --------------------------------------------------------------------------
const MAX_MEMS: i32 = 1 << 12;
const MEM: i32 = <i32>BPF_MEMWORDS;
const memCells = new StaticArray<i32>(MAX_MEMS * MEM);
let memCount: i32 = 0;
/** The memory being built; memIntern turns it into an id. */
const memTmp = new StaticArray<i32>(MEM);

/** Forgets every interned memory (a new BDD space: their vector ids are gone). */
export function memReset(): void {
  memCount = 0;
}

/** The id of the memory in memTmp (-1: the pool is full). */
function memIntern(): i32 {
  // Linear probing over a small table is enough: scratch memory changes rarely.
  for (let m = 0; m < memCount; m++) {
    let same = true;
    for (let i = 0; i < MEM; i++) if (unchecked(memCells[m * MEM + i]) != unchecked(memTmp[i])) { same = false; break; }
    if (same) return m;
  }
  if (memCount >= MAX_MEMS) return -1;
  const m = memCount++;
  for (let i = 0; i < MEM; i++) unchecked(memCells[m * MEM + i] = unchecked(memTmp[i]));
  return m;
}

// ---- the bound that was hit ----------------------------------------------------------------
/** Read-only outside this file: setLimit writes it. */
export let limit: i32 = LIMIT_NONE;

/** Records that a bound (a LIMIT_* code) was hit; the running analysis stops at its next check. */
export function setLimit(code: i32): void {
  limit = code;
}

/** The bound hit so far, LIMIT_NONE while the analysis can go on. */
export function status(): i32 {
  if (overflowed) return LIMIT_NODES;
  if (vecOverflow) return LIMIT_VECTORS;
  return limit;
}

/** Adds a state arriving at `pc`, merging with an equal one; returns its id (-1: none). */
export function arrive(pc: u32, cond: u32, a: i32, x: i32, m: i32): i32 {
  if (cond == FALSE) return -1;
  let s = unchecked(headAt[hb + pc]);
  while (s >= 0) {
    if (unchecked(sA[s]) == a && unchecked(sX[s]) == x && unchecked(sM[s]) == m) {
      unchecked(sCond[s] = bddOr(unchecked(sCond[s]), cond));
      return s;
    }
    s = unchecked(sNext[s]);
  }
  if (stateCount >= MAX_STATES) {
    limit = LIMIT_STATES;
    return -1;
  }
  const n = stateCount++;
  unchecked(sCond[n] = cond);
  unchecked(sA[n] = a);
  unchecked(sX[n] = x);
  unchecked(sM[n] = m);
  unchecked(sPc[n] = pc);
  unchecked(sNext[n] = unchecked(headAt[hb + pc]));
  unchecked(headAt[hb + pc] = n);
  return n;
}

/** Clears the state lists of side `hb` and adds its entry state (A = X = 0, no scratch). */
export function addEntry(len: u32): i32 {
  for (let i: u32 = 0; i <= len; i++) unchecked(headAt[hb + i] = -1);
  for (let i = 0; i < MEM; i++) unchecked(memTmp[i] = -1);
  const zero = vConst(0);
  return arrive(0, TRUE, zero, zero, memIntern());
}

/**
 * State s again at a new pc-list of side `hb`, with the current cube's bits fixed (symvec.ts,
 * setCubeOn): registers and scratch cells restricted. Returns the new state (-1: out of room).
 */
export function arriveRestricted(s: i32): i32 {
  const m = unchecked(sM[s]);
  for (let i = 0; i < MEM; i++) {
    const cell = unchecked(memCells[m * MEM + i]);
    unchecked(memTmp[i] = cell < 0 ? -1 : vRestrict(cell));
  }
  const m2 = memIntern();
  if (m2 < 0) {
    limit = LIMIT_STATES;
    return -1;
  }
  return arrive(unchecked(sPc[s]), TRUE, vRestrict(unchecked(sA[s])), vRestrict(unchecked(sX[s])), m2);
}

/** States x and y hold the same registers and scratch memory. */
export function regsEqual(x: i32, y: i32): bool {
  return unchecked(sA[x]) == unchecked(sA[y]) && unchecked(sX[x]) == unchecked(sX[y]) && unchecked(sM[x]) == unchecked(sM[y]);
}

// ---- one instruction on one register state ------------------------------------------------
// Every analysis uses this single transfer function, so they model every opcode the same way.
// Its result is left in the t* globals.
export const T_NEXT: u8 = 0; // continue at tPc with (tA, tX, tM)
export const T_BRANCH: u8 = 1; // tC ? tPc : tPcF, registers unchanged
export const T_RET_K: u8 = 2; // return tK
export const T_RET_A: u8 = 3; // return A
export const T_DIV_X: u8 = 4; // X == 0 (tC) returns 0; otherwise continue at tPc with (tA, tX, tM)
export let tKind: u8 = 0;
export let tPc: u32 = 0;
export let tPcF: u32 = 0;
export let tA: i32 = 0;
export let tX: i32 = 0;
export let tM: i32 = 0;
export let tC: u32 = 0;
export let tK: u32 = 0;

/**
 * A op B for the ALU opcode `code` in its K form (the X form's code minus the BPF_X bit): B is
 * the vector of k or X. Shifts by a constant k are rewirings; shifts by X a barrel shifter.
 */
function alu(code: u16, a: i32, b: i32, k: u32, byX: bool): i32 {
  if (code == ALU_ADD_K) return vAdd(a, b, FALSE);
  if (code == ALU_SUB_K) return vSub(a, b);
  if (code == ALU_MUL_K) return vMul(a, b);
  if (code == ALU_DIV_K) return vDiv(a, b);
  if (code == ALU_OR_K) return vOr(a, b);
  if (code == ALU_AND_K) return vAnd(a, b);
  if (code == ALU_XOR_K) return vXor(a, b);
  if (code == ALU_LSH_K) return byX ? vShiftX(a, b, true) : vShlConst(a, k);
  return byX ? vShiftX(a, b, false) : vShrConst(a, k);
}

/** What instruction `pc` does to the state (a, x, m); false for an opcode the engine refuses. */
export function transfer(prog: usize, pc: u32, a: i32, x: i32, m: i32): bool {
  const ins = prog + (<usize>pc << 3);
  const code = <u16>load<u16>(ins);
  const jt = <u32>load<u8>(ins, 2);
  const jf = <u32>load<u8>(ins, 3);
  const k = load<u32>(ins, 4);
  tKind = T_NEXT;
  tPc = pc + 1;
  tX = x;
  tM = m;
  switch (formOf(code)) {
    case F_LD_ABS: { tA = vWord(k >> 2); break; }
    case F_LEN: {
      if (code == LD_W_LEN) { tA = vConst(64); } else { tA = a; tX = vConst(64); }
      break;
    }
    case F_IMM: {
      if (code == LD_IMM) { tA = vConst(k); } else { tA = a; tX = vConst(k); }
      break;
    }
    case F_MEM_LOAD: {
      const cell = unchecked(memCells[m * MEM + <i32>(k & 15)]);
      // The kernel's scratch check guarantees the cell was written on every path the kernel
      // runs; an unwritten cell can only be seen on an infeasible path, where its value is moot.
      const v = cell < 0 ? vConst(0) : cell;
      if (code == LD_MEM) { tA = v; } else { tA = a; tX = v; }
      break;
    }
    case F_MEM_STORE: {
      for (let i = 0; i < MEM; i++) unchecked(memTmp[i] = unchecked(memCells[m * MEM + i]));
      unchecked(memTmp[<i32>(k & 15)] = code == ST ? a : x);
      tA = a;
      tM = memIntern();
      if (tM < 0) { limit = LIMIT_STATES; tM = 0; }
      break;
    }
    case F_ALU_K: case F_ALU_DIV_K: case F_ALU_SHIFT_K: { tA = alu(code, a, vConst(k), k, false); break; }
    case F_ALU_X: {
      tA = a;
      if (code == ALU_DIV_X) {
        // Division by X == 0 ends the filter with return value 0, as the kernel does.
        tC = eqBdd(x, vConst(0));
        if (tC == TRUE) { tKind = T_RET_K; tK = 0; } else { tKind = T_DIV_X; tA = vDiv(a, x); }
        break;
      }
      tA = alu(code - (ALU_ADD_X - ALU_ADD_K), a, x, 0, true);
      break;
    }
    case F_NEG: { tA = vSub(vConst(0), a); break; }
    case F_MISC: {
      if (code == MISC_TAX) { tA = a; tX = a; } else { tA = x; }
      break;
    }
    case F_JA: { tA = a; tPc = pc + 1 + k; break; }
    case F_JCOND_K: case F_JCOND_X: {
      const src = formOf(code) == F_JCOND_K ? vConst(k) : x;
      if (code == JMP_JEQ_K || code == JMP_JEQ_X) tC = eqBdd(a, src);
      else if (code == JMP_JGT_K || code == JMP_JGT_X) tC = gtBdd(a, src);
      else if (code == JMP_JGE_K || code == JMP_JGE_X) tC = geBdd(a, src);
      else tC = setBdd(a, src);
      tKind = T_BRANCH;
      tA = a;
      tPc = pc + 1 + jt;
      tPcF = pc + 1 + jf;
      break;
    }
    case F_RET_K: { tKind = T_RET_K; tK = k; break; }
    case F_RET_A: { tKind = T_RET_A; tA = a; break; }
    default: return false;
  }
  return true;
}

// ---- the register pass ---------------------------------------------------------------------
// Per state: what its instruction did (kind, condition or returned value, successor states) and
// the diagram of what the program returns from it.
export const sKind = new StaticArray<u8>(MAX_STATES);
export const sC = new StaticArray<u32>(MAX_STATES);
export const sT = new StaticArray<i32>(MAX_STATES);
export const sF = new StaticArray<i32>(MAX_STATES);
const sG = new StaticArray<i32>(MAX_STATES);
const G_UNKNOWN: i32 = -1;

/**
 * The path-insensitive pass of the backward and relational analyses: every register state that
 * can reach each instruction of side `hb`, with what the instruction does to it (kind,
 * comparison, successor states). A branch is pruned only where its comparison is constant.
 */
export function registerPass(prog: usize, len: u32, start: u32 = 0): i32 {
  for (let pc: u32 = start; pc < len; pc++) {
    let s = unchecked(headAt[hb + pc]);
    while (s >= 0) {
      const st = status();
      if (st != LIMIT_NONE) return st;
      if (!transfer(prog, pc, unchecked(sA[s]), unchecked(sX[s]), unchecked(sM[s]))) return ERR_BAD_PROGRAM;
      unchecked(sKind[s] = tKind);
      unchecked(sC[s] = tC);
      unchecked(sT[s] = -1);
      unchecked(sF[s] = -1);
      if (tKind == T_NEXT || tKind == T_DIV_X) unchecked(sT[s] = arrive(tPc, TRUE, tA, tX, tM));
      else if (tKind == T_BRANCH) {
        if (tC != FALSE) unchecked(sT[s] = arrive(tPc, TRUE, tA, tX, tM));
        if (tC != TRUE) unchecked(sF[s] = arrive(tPcF, TRUE, tA, tX, tM));
      } else if (tKind == T_RET_K) unchecked(sC[s] = tK);
      else unchecked(sC[s] = <u32>tA);
      s = unchecked(sNext[s]);
    }
  }
  return status();
}

// ---- suffix diagrams -----------------------------------------------------------------------
/** Marks the suffix diagrams of states `from` .. stateCount - 1 as not computed yet. */
export function forgetSuffixes(from: i32): void {
  for (let s = from; s < stateCount; s++) unchecked(sG[s] = G_UNKNOWN);
}

/** The leaf "the program returns the value of vector v". */
function retLeaf(v: i32): u32 {
  return mtLeaf(<u32>v, 0xffffffff);
}

/**
 * What the program returns from state `s`, given its successors': a diagram over the input
 * bits whose leaves are return-value vectors. RET K is the leaf of a constant, RET A the leaf
 * of A's vector, a branch the if-then-else of its successors' diagrams.
 */
function suffixOf(s: i32, zero: i32): i32 {
  const t = unchecked(sT[s]);
  const f = unchecked(sF[s]);
  const c = unchecked(sC[s]);
  switch (unchecked(sKind[s])) {
    case T_NEXT: return unchecked(sG[t]);
    case T_BRANCH: return t < 0 ? unchecked(sG[f]) : f < 0 ? unchecked(sG[t]) : <i32>bddIte(c, <u32>unchecked(sG[t]), <u32>unchecked(sG[f]));
    case T_RET_K: return <i32>retLeaf(vConst(c));
    case T_RET_A: return <i32>retLeaf(<i32>c);
    default: return <i32>bddIte(c, retLeaf(zero), <u32>unchecked(sG[t])); // T_DIV_X
  }
}

// The suffix diagram of a state, computed on demand: a depth-first walk that finishes
// successors first. A successor still unfinished (even one already on the stack below, pushed
// by a sibling) is pushed again, so it is finished before its predecessor resurfaces; every
// state is thus pushed at most once per incoming edge.
const gStack = new StaticArray<i32>(2 * MAX_STATES + 1);

/** The suffix diagram of state `root` (`zero`: the vector of the constant 0). */
export function suffixDiagram(root: i32, zero: i32): i32 {
  if (unchecked(sG[root]) >= 0) return unchecked(sG[root]);
  let sp = 0;
  unchecked(gStack[sp++] = root);
  while (sp > 0) {
    const s = unchecked(gStack[sp - 1]);
    if (unchecked(sG[s]) >= 0) { sp--; continue; }
    let waiting = false;
    const t = unchecked(sT[s]);
    const f = unchecked(sF[s]);
    if (t >= 0 && unchecked(sG[t]) < 0) { unchecked(gStack[sp++] = t); waiting = true; }
    if (f >= 0 && unchecked(sG[f]) < 0) { unchecked(gStack[sp++] = f); waiting = true; }
    if (waiting) continue;
    unchecked(sG[s] = suffixOf(s, zero));
    sp--;
    if (status() != LIMIT_NONE) return zero;
  }
  return unchecked(sG[root]);
}
