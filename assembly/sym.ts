// Symbolic execution of a seccomp program over all 2^512 inputs at once.
//
// Registers hold 32-bit *vectors*: 32 BDDs, one per bit, over the input bits (assembly/bdd.ts;
// the vectors and their circuits are in assembly/symvec.ts).
// Every accepted opcode is modelled exactly by one transfer function: loads give the input bits
// themselves, ALU ops are bit-level circuits (ripple-carry add/sub, shift-and-add multiply,
// restoring division, barrel shifts by X mod 32), a conditional jump yields the BDD of its
// comparison, and division by X == 0 returns 0, as the kernel does. Vectors are hash-consed, so
// equal register contents are equal ids, and states are kept per instruction and distinct
// register contents, not per path.
//
// Three analyses use it (docs/architecture.md, "Symbolic verification: design"): the backward
// analysis (default) and the forward one compute a program's exact partition of the input
// space by return value; the relational analysis computes where two programs return different
// values. Every bound (BDD nodes, states, distinct return values, vectors) is explicit; when
// one is hit the analysis reports which, and the host answers "inconclusive".
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
  mtLeaf, mtPair, mtLeafSet, mtLeaves, leafAt, loOf, hiOf,
  cubeMask, cubeValue, bddToCube, bddRestrictCube, bddSatOne, nodeCount, nodeBudget, bddLeq,
} from "./bdd";

// Limits (reasons the host turns into "inconclusive: …"), methods and slots: the engine <-> host
// contract (contract.ts).
import {
  LIMIT_NONE, LIMIT_NODES, LIMIT_STATES, LIMIT_OUTCOMES, LIMIT_VECTORS, STOPPED_WITNESS,
  ERR_BAD_PROGRAM, METHOD_AUTO, METHOD_FORWARD, METHOD_BACKWARD, SYM_SLOTS, MAX_OUTCOMES,
} from "./contract";

// ---- vectors and comparisons: assembly/symvec.ts ---------------------------------------------
import {
  vecReset, vecOverflow, bit, vConst, vWord, vRestrict, vAnd, vOr, vXor, vAdd, vSub, vMul, vDiv,
  vShlConst, vShrConst, vShiftX, eqBdd, gtBdd, geBdd, setBdd, setCubeOn,
} from "./symvec";

// ---- states ----------------------------------------------------------------------------
// A state: path condition, A, X and a scratch-memory id (16 vector ids, hash-consed too).
// Two programs can be analysed side by side (the relational analysis below), so the pool holds
// the states of both and `headAt` has one list head per (side, pc); `hb` selects the side.
const MAX_STATES: i32 = 1 << 17;
const sCond = new StaticArray<u32>(MAX_STATES);
const sA = new StaticArray<i32>(MAX_STATES);
const sX = new StaticArray<i32>(MAX_STATES);
const sM = new StaticArray<i32>(MAX_STATES);
const sNext = new StaticArray<i32>(MAX_STATES); // linked list per pc
let stateCount: i32 = 0;
const headAt = new StaticArray<i32>(3 * 4097); // P, Q, and scratch for re-analyses under a cube
const sPc = new StaticArray<u32>(MAX_STATES);
let hb: u32 = 0; // 0 for the first program, 4097 for the second, 8194 for a re-analysis
const HB_SCRATCH: u32 = 2 * 4097;

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

/** Adds a state arriving at `pc`, merging with an equal one; returns its id (-1: none). */
function arrive(pc: u32, cond: u32, a: i32, x: i32, m: i32): i32 {
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

// ---- outcomes ----------------------------------------------------------------------------
// Results per slot (up to 8 programs analysed side by side in one BDD space).
const SLOTS: i32 = SYM_SLOTS;
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

// ---- one instruction on one register state ------------------------------------------------
// Both analyses below use this single transfer function, so they model every opcode the same
// way. Its result is left in the t* globals.
const T_NEXT: u8 = 0; // continue at tPc with (tA, tX, tM)
const T_BRANCH: u8 = 1; // tC ? tPc : tPcF, registers unchanged
const T_RET_K: u8 = 2; // return tK
const T_RET_A: u8 = 3; // return A
const T_DIV_X: u8 = 4; // X == 0 (tC) returns 0; otherwise continue at tPc with (tA, tX, tM)
let tKind: u8 = 0;
let tPc: u32 = 0;
let tPcF: u32 = 0;
let tA: i32 = 0;
let tX: i32 = 0;
let tM: i32 = 0;
let tC: u32 = 0;
let tK: u32 = 0;

/** What instruction `pc` does to the state (a, x, m); false for an opcode the engine refuses. */
function transfer(prog: usize, pc: u32, a: i32, x: i32, m: i32): bool {
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
      const cell = unchecked(memCells[m * 16 + <i32>(k & 15)]);
      // The kernel's scratch check guarantees the cell was written on every path the kernel
      // runs; an unwritten cell can only be seen on an infeasible path, where its value is moot.
      const v = cell < 0 ? vConst(0) : cell;
      if (code == LD_MEM) { tA = v; } else { tA = a; tX = v; }
      break;
    }
    case F_MEM_STORE: {
      for (let i = 0; i < 16; i++) unchecked(memTmp[i] = unchecked(memCells[m * 16 + i]));
      unchecked(memTmp[<i32>(k & 15)] = code == ST ? a : x);
      tA = a;
      tM = memIntern();
      if (tM < 0) { limit = LIMIT_STATES; tM = 0; }
      break;
    }
    case F_ALU_K: case F_ALU_DIV_K: case F_ALU_SHIFT_K: {
      const kv = vConst(k);
      if (code == ALU_ADD_K) tA = vAdd(a, kv, FALSE);
      else if (code == ALU_SUB_K) tA = vSub(a, kv);
      else if (code == ALU_MUL_K) tA = vMul(a, kv);
      else if (code == ALU_DIV_K) tA = vDiv(a, kv);
      else if (code == ALU_OR_K) tA = vOr(a, kv);
      else if (code == ALU_AND_K) tA = vAnd(a, kv);
      else if (code == ALU_XOR_K) tA = vXor(a, kv);
      else if (code == ALU_LSH_K) tA = vShlConst(a, k);
      else tA = vShrConst(a, k);
      break;
    }
    case F_ALU_X: {
      tA = a;
      if (code == ALU_DIV_X) {
        // Division by X == 0 ends the filter with return value 0, as the kernel does.
        tC = eqBdd(x, vConst(0));
        if (tC == TRUE) { tKind = T_RET_K; tK = 0; } else { tKind = T_DIV_X; tA = vDiv(a, x); }
        break;
      }
      if (code == ALU_ADD_X) tA = vAdd(a, x, FALSE);
      else if (code == ALU_SUB_X) tA = vSub(a, x);
      else if (code == ALU_MUL_X) tA = vMul(a, x);
      else if (code == ALU_OR_X) tA = vOr(a, x);
      else if (code == ALU_AND_X) tA = vAnd(a, x);
      else if (code == ALU_XOR_X) tA = vXor(a, x);
      else if (code == ALU_LSH_X) tA = vShiftX(a, x, true);
      else tA = vShiftX(a, x, false);
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

// ---- the analyses ------------------------------------------------------------------------
export function symReset(): void {
  vecReset();
  memCount = 0;
  for (let s = 0; s < SLOTS; s++) unchecked(outCount[s] = 0);
}

function startAnalysis(len: u32, slot: i32): void {
  curSlot = slot;
  unchecked(outCount[slot] = 0);
  limit = LIMIT_NONE;
  stateCount = 0;
  hb = 0;
  addEntry(len);
}

/** Clears the state lists of side `hb` and adds its entry state (A = X = 0, no scratch). */
function addEntry(len: u32): i32 {
  for (let i: u32 = 0; i <= len; i++) unchecked(headAt[hb + i] = -1);
  for (let i = 0; i < 16; i++) unchecked(memTmp[i] = -1);
  const zero = vConst(0);
  return arrive(0, TRUE, zero, zero, memIntern());
}

function status(): i32 {
  if (overflowed) return LIMIT_NODES;
  if (vecOverflow) return LIMIT_VECTORS;
  return limit;
}

/**
 * Forward analysis: states carry their path condition (the BDD of the inputs that reach them),
 * conditions of equal states are OR-ed where paths meet, and each RET adds its state's
 * condition to the outcome. Cheap when few distinct paths reach each instruction; the path
 * conditions grow with the number of distinct ways to reach a point.
 */
function analyzeForward(prog: usize, len: u32): i32 {
  for (let pc: u32 = 0; pc < len; pc++) {
    let s = unchecked(headAt[pc]);
    while (s >= 0) {
      const st = status();
      if (st != LIMIT_NONE) return st;
      const cond = unchecked(sCond[s]);
      if (!transfer(prog, pc, unchecked(sA[s]), unchecked(sX[s]), unchecked(sM[s]))) return ERR_BAD_PROGRAM;
      switch (tKind) {
        case T_NEXT: { arrive(tPc, cond, tA, tX, tM); break; }
        case T_BRANCH: {
          arrive(tPc, bddAnd(cond, tC), tA, tX, tM);
          arrive(tPcF, bddAnd(cond, bddNot(tC)), tA, tX, tM);
          break;
        }
        case T_RET_K: { addOutcome(tK, cond); break; }
        case T_RET_A: { retVector(tA, cond, 31, 0); break; }
        default: { // T_DIV_X
          addOutcome(0, bddAnd(cond, tC));
          arrive(tPc, bddAnd(cond, bddNot(tC)), tA, tX, tM);
        }
      }
      s = unchecked(sNext[s]);
    }
  }
  return status();
}

// Per state, for the backward analysis: what its instruction did (kind, condition, successor
// states, returned constant) and the diagram of what the program returns from it.
const sKind = new StaticArray<u8>(MAX_STATES);
const sC = new StaticArray<u32>(MAX_STATES);
const sT = new StaticArray<i32>(MAX_STATES);
const sF = new StaticArray<i32>(MAX_STATES);
const sG = new StaticArray<i32>(MAX_STATES);

/**
 * Backward analysis. A first pass finds the register states that can reach each instruction
 * (without path conditions: a branch is pruned only where its comparison is constant for the
 * state); then suffixDiagram gives each state, successors first, the diagram of what the
 * program returns from there (suffixOf): a decision diagram over the input bits whose
 * leaves are return-value vectors. The entry state's diagram is the whole program's return
 * value as a function of the input; it is split into outcomes at the end. These are suffix
 * functions, "what happens from here", which stay small where many paths meet, unlike the
 * path conditions "how did we get here" of the forward analysis; and one diagram with a leaf
 * per return expression costs one if-then-else per branch, not one per bit of the value.
 */
function analyzeBackward(prog: usize, len: u32): i32 {
  const st = registerPass(prog, len);
  if (st != LIMIT_NONE) return st;
  for (let s = 0; s < stateCount; s++) unchecked(sG[s] = G_UNKNOWN);
  // State 0 is the entry state (A = X = 0, no scratch memory written).
  const g = suffixDiagram(0, vConst(0));
  if (status() == LIMIT_NONE) outcomesOf(<u32>g);
  return status();
}

/**
 * The path-insensitive pass of the backward and relational analyses: every register state that
 * can reach each instruction of side `hb`, with what the instruction does to it (kind,
 * comparison, successor states). A branch is pruned only where its comparison is constant.
 */
function registerPass(prog: usize, len: u32, start: u32 = 0): i32 {
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

/** Splits diagram g (leaves: return vectors) into outcomes: per leaf, its inputs by value. */
function outcomesOf(g: u32): void {
  const n = mtLeaves(g);
  if (n < 0) { limit = LIMIT_OUTCOMES; return; }
  for (let i = 0; i < n; i++) {
    const leaf = leafAt(i);
    retVector(<i32>loOf(leaf), mtLeafSet(g, leaf), 31, 0);
  }
}

// The suffix diagram of a state, computed on demand: a depth-first walk that finishes
// successors first. A successor still unfinished (even one already on the stack below, pushed
// by a sibling) is pushed again, so it is finished before its predecessor resurfaces; every
// state is thus pushed at most once per incoming edge.
const gStack = new StaticArray<i32>(2 * MAX_STATES + 1);
const G_UNKNOWN: i32 = -1;

function suffixDiagram(root: i32, zero: i32): i32 {
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

/**
 * Analyses the (checked) program at `prog` into result slot `slot`. Returns LIMIT_NONE (0) when
 * exact, a LIMIT_* code when a bound was hit, or ERR_BAD_PROGRAM. METHOD_AUTO runs the
 * backward analysis and falls back to the forward one when the path-insensitive state pass
 * finds too many register states (path conditions prune infeasible ones).
 */
export function symAnalyze(prog: usize, len: u32, slot: i32, method: i32): i32 {
  if (len == 0 || len > 4096 || slot < 0 || slot >= SLOTS) return ERR_BAD_PROGRAM;
  if (method != METHOD_FORWARD) {
    startAnalysis(len, slot);
    const r = analyzeBackward(prog, len);
    if (r != LIMIT_STATES || method == METHOD_BACKWARD) return r;
  }
  startAnalysis(len, slot);
  return analyzeForward(prog, len);
}

// ---- relational analysis of two programs ---------------------------------------------------
// Relations (subset, stricter, equal) only need the inputs on which two programs return
// different values, and programs being compared usually share most of their code: a filter
// and an edited copy of it. The relational analysis exploits that exactly:
//   - Every instruction of both programs gets a *suffix class*: two instructions share a class
//     exactly when the code from them on is identical (same opcode and k, successors of the
//     same class; an unconditional jump is the class of its target). Classes are interned in
//     one table across both programs, so equality is an id compare, never a hash guess.
//   - The two programs run in lockstep from their entries as pairs of states. A pair whose
//     instructions share a class and whose registers are equal returns the same value on every
//     input: nothing to compute. A pair at the same instruction (opcode and k) with equal
//     registers steps both sides together (one comparison, two successor pairs). Two
//     conditional jumps on equal registers that compare differently *fork*: each combination
//     of their outcomes is compared on its slice of inputs, re-analysed under the slice when it
//     is a cube (see divergence). Any other pair has *diverged*: there, the two sides' suffix
//     diagrams (the backward analysis, computed lazily for the states reached) are compared.
//   - Backward over the pairs, each pair gets a diagram that is FALSE where the two sides
//     return the same value and elsewhere a leaf (P's return vector, Q's return vector). The
//     entry pair's diagram is split into (value in P, value in Q, inputs) outcomes for the
//     host's relation.
// So the cost is that of the code that can reach a difference plus the code after it, not of
// both whole programs; two unrelated programs diverge at once and cost two backward analyses.
// A costly analysis that already knows of differences may stop early with witnesses (below).

const CLASS_CAP: i32 = 2 * 4097;
const clsAt = new StaticArray<i32>(2 * 4097); // suffix class of (side base + pc)
const clsKey = new StaticArray<u32>(CLASS_CAP * 4); // code, k, class of jt target, class of jf target
let clsCount: i32 = 0;
const CLS_HASH: i32 = 1 << 14;
const clsHash = new StaticArray<i32>(CLS_HASH);

function classIntern(code: u32, k: u32, t: i32, f: i32): i32 {
  let h = (code * 0x9e3779b1) ^ (k * 0x85ebca6b) ^ (<u32>t * 0xc2b2ae35) ^ (<u32>f * 0x27d4eb2f);
  h ^= h >>> 15;
  let slot = <i32>(h & <u32>(CLS_HASH - 1));
  while (true) {
    const id = unchecked(clsHash[slot]);
    if (id < 0) break;
    const b = id * 4;
    if (unchecked(clsKey[b]) == code && unchecked(clsKey[b + 1]) == k &&
        unchecked(clsKey[b + 2]) == <u32>t && unchecked(clsKey[b + 3]) == <u32>f) return id;
    slot = (slot + 1) & (CLS_HASH - 1);
  }
  const id = clsCount++;
  const b = id * 4;
  unchecked(clsKey[b] = code);
  unchecked(clsKey[b + 1] = k);
  unchecked(clsKey[b + 2] = <u32>t);
  unchecked(clsKey[b + 3] = <u32>f);
  unchecked(clsHash[slot] = id);
  return id;
}

/** Suffix classes of every instruction of side `hb` (jumps go forward: last one first). */
function classify(prog: usize, len: u32): void {
  for (let pc = <i32>len - 1; pc >= 0; pc--) {
    const ins = prog + (<usize>pc << 3);
    const code = <u32>load<u16>(ins);
    const jt = <i32>load<u8>(ins, 2);
    const jf = <i32>load<u8>(ins, 3);
    const k = load<u32>(ins, 4);
    const form = formOf(<u16>code);
    let c: i32;
    if (form == F_RET_K || form == F_RET_A) c = classIntern(code, k, -1, -1);
    else if (form == F_JA) c = unchecked(clsAt[hb + <u32>(pc + 1) + k]);
    else if (form == F_JCOND_K || form == F_JCOND_X) {
      const t = unchecked(clsAt[hb + <u32>(pc + 1 + jt)]);
      const f = unchecked(clsAt[hb + <u32>(pc + 1 + jf)]);
      // A comparison whose two targets behave the same is no branch at all.
      c = t == f ? t : classIntern(code, k, t, f);
    } else c = classIntern(code, k, unchecked(clsAt[hb + <u32>(pc + 1)]), -1);
    unchecked(clsAt[hb + <u32>pc] = c);
  }
}

const MAX_PAIRS: i32 = 1 << 16;
const pS = new StaticArray<i32>(MAX_PAIRS * 2); // (state in P, state in Q)
const pKind = new StaticArray<u8>(MAX_PAIRS); // 0 unclassified, 1 same, 2 step, 3 diverged
const pT = new StaticArray<i32>(MAX_PAIRS);
const pF = new StaticArray<i32>(MAX_PAIRS);
const pC = new StaticArray<u32>(MAX_PAIRS);
const pM = new StaticArray<u32>(MAX_PAIRS); // the pair's diagram of differing return values
const pDone = new StaticArray<u8>(MAX_PAIRS); // 1 once (D, VP, VQ) is known
let pairCount: i32 = 0;
const PAIR_HASH: i32 = 1 << 17;
const pairHash = new StaticArray<i32>(PAIR_HASH);
const pairStack = new StaticArray<i32>(2 * MAX_PAIRS + 1);

function pairOf(a: i32, b: i32): i32 {
  let h = (<u32>a * 0x9e3779b1) ^ (<u32>b * 0x85ebca6b);
  h ^= h >>> 16;
  let slot = <i32>(h & <u32>(PAIR_HASH - 1));
  while (true) {
    const id = unchecked(pairHash[slot]);
    if (id < 0) break;
    if (unchecked(pS[id * 2]) == a && unchecked(pS[id * 2 + 1]) == b) return id;
    slot = (slot + 1) & (PAIR_HASH - 1);
  }
  if (pairCount >= MAX_PAIRS) {
    limit = LIMIT_STATES;
    return -1;
  }
  const id = pairCount++;
  unchecked(pS[id * 2] = a);
  unchecked(pS[id * 2 + 1] = b);
  unchecked(pKind[id] = 0);
  unchecked(pDone[id] = 0);
  unchecked(pairHash[slot] = id);
  return id;
}

const PAIR_SAME: u8 = 1;
const PAIR_STEP: u8 = 2;
const PAIR_DIVERGED: u8 = 3;
const PAIR_FORK: u8 = 4;

/** States x and y hold the same registers and scratch memory. */
function regsEqual(x: i32, y: i32): bool {
  return unchecked(sA[x]) == unchecked(sA[y]) && unchecked(sX[x]) == unchecked(sX[y]) && unchecked(sM[x]) == unchecked(sM[y]);
}

/** States x (of P) and y (of Q) return the same value on every input: same registers, same code. */
function sameState(x: i32, y: i32): bool {
  return regsEqual(x, y) && unchecked(clsAt[unchecked(sPc[x])]) == unchecked(clsAt[4097 + unchecked(sPc[y])]);
}

/** Decides how pair `p` proceeds (see the section comment) and creates its successor pairs. */
function classifyPair(p: i32, progP: usize, progQ: usize): void {
  const a = unchecked(pS[p * 2]);
  const b = unchecked(pS[p * 2 + 1]);
  const pcA = unchecked(sPc[a]);
  const pcB = unchecked(sPc[b]);
  unchecked(pT[p] = -1);
  unchecked(pF[p] = -1);
  if (sameState(a, b)) {
    unchecked(pKind[p] = PAIR_SAME);
    return;
  }
  const sameRegs = regsEqual(a, b);
  const insA = progP + (<usize>pcA << 3);
  const insB = progQ + (<usize>pcB << 3);
  if (sameRegs && load<u16>(insA) == load<u16>(insB) && load<u32>(insA, 4) == load<u32>(insB, 4)) {
    // Same operation on the same registers: same comparison, same kind of successors.
    const kind = unchecked(sKind[a]);
    if (kind == T_RET_K || kind == T_RET_A) {
      unchecked(pKind[p] = PAIR_SAME);
      return;
    }
    unchecked(pKind[p] = PAIR_STEP);
    unchecked(pC[p] = kind == T_BRANCH || kind == T_DIV_X ? unchecked(sC[a]) : TRUE);
    const ta = unchecked(sT[a]);
    const fa = unchecked(sF[a]);
    if (kind == T_DIV_X) {
      // X == 0 returns 0 on both sides: the "true" successor is a pair that agrees.
      unchecked(pT[p] = -2);
      unchecked(pF[p] = pairOf(ta, unchecked(sT[b])));
    } else {
      if (ta >= 0) unchecked(pT[p] = pairOf(ta, unchecked(sT[b])));
      if (fa >= 0) unchecked(pF[p] = pairOf(fa, unchecked(sF[b])));
    }
    return;
  }
  // Two conditional jumps on the same registers that compare differently (an edited constant
  // or operator): up to four combinations of their outcomes, each on its own slice of inputs.
  if (sameRegs && unchecked(sKind[a]) == T_BRANCH && unchecked(sKind[b]) == T_BRANCH) {
    unchecked(pKind[p] = PAIR_FORK);
    return;
  }
  unchecked(pKind[p] = PAIR_DIVERGED);
}

let relProgP: usize = 0;
let relLenP: u32 = 0;
let relProgQ: usize = 0;
let relLenQ: u32 = 0;

/**
 * State s (of program prog) again, with the current cube's bits fixed: its registers and
 * scratch cells restricted, and the register pass redone from its instruction on, so every
 * comparison the cube decides becomes a constant and its other branch disappears. Returns the
 * new state (in the scratch lists; successor links are all the suffix walk needs).
 */
function reanalyze(s: i32, prog: usize, len: u32): i32 {
  const pc = unchecked(sPc[s]);
  hb = HB_SCRATCH;
  for (let i = pc; i <= len; i++) unchecked(headAt[hb + i] = -1);
  const m = unchecked(sM[s]);
  for (let i = 0; i < 16; i++) {
    const cell = unchecked(memCells[m * 16 + i]);
    unchecked(memTmp[i] = cell < 0 ? -1 : vRestrict(cell));
  }
  const m2 = memIntern();
  const first = stateCount;
  let s2 = -1;
  if (m2 < 0) limit = LIMIT_STATES;
  else {
    s2 = arrive(pc, TRUE, vRestrict(unchecked(sA[s])), vRestrict(unchecked(sX[s])), m2);
    if (s2 >= 0) registerPass(prog, len, pc);
  }
  for (let k = first; k < stateCount; k++) unchecked(sG[k] = G_UNKNOWN);
  hb = 0;
  return s2;
}

/**
 * The diagram of differing values between state x (of P) and state y (of Q), needed only on
 * the inputs of `cond`. When cond is a cube (an edited "jeq #k" is the cube "A == k" for a
 * loaded word), both suffixes are re-analysed under it, which removes every later comparison
 * the cube decides; otherwise, and when the state pool is short, the two suffixes are
 * compared whole. Either way the caller keeps the result only on cond.
 */
function divergence(x: i32, y: i32, cond: u32, zero: i32): u32 {
  // The margin leaves room for a re-analysis of a long suffix (a few states per instruction).
  if (stateCount < MAX_STATES - 16384 && bddToCube(cond)) {
    const saved = stateCount;
    setCubeOn(true);
    const x2 = reanalyze(x, relProgP, relLenP);
    const y2 = x2 >= 0 ? reanalyze(y, relProgQ, relLenQ) : -1;
    setCubeOn(false);
    if (limit == LIMIT_STATES) {
      // Out of states: forget the partial re-analysis and compare the suffixes whole.
      limit = LIMIT_NONE;
      stateCount = saved;
    } else if (x2 >= 0 && y2 >= 0) {
      return mtPair(<u32>suffixDiagram(x2, zero), <u32>suffixDiagram(y2, zero));
    }
  }
  return mtPair(<u32>suffixDiagram(x, zero), <u32>suffixDiagram(y, zero));
}

// ---- witnesses ------------------------------------------------------------------------------
// A fork whose diagram is not FALSE shows that P and Q differ on the inputs that reach it with
// some slice of values. Deciding the whole relation can still run out of budget further up
// (the set of inputs that reach a deep instruction can be large). So forks that differ are
// remembered, and when the analysis nears its node budget it stops and, with the rest of the
// budget, looks for one concrete input that reaches each remembered fork: a depth-first walk
// over P's register states from the entry, with the path condition as a BDD, that enters only
// states from which the fork's state is reachable and skips a state when the path condition is
// inside what already failed there. The answer is then still "inconclusive" from the engine;
// the host re-runs the inputs found and uses one only when it shows the relation failing.
const MAX_WITNESSES: i32 = 8;
const witnessWords = new StaticArray<u32>(MAX_WITNESSES * 16);
let witnessCount: i32 = 0;
let searchSteps: i32 = 0;
const SEARCH_STEPS: i32 = 1 << 12; // per relational analysis
const canReach = new StaticArray<u8>(MAX_STATES);
const failedAt = new StaticArray<u32>(MAX_STATES);
const walkState = new StaticArray<i32>(4097);
const walkCond = new StaticArray<u32>(4097);
const walkNext = new StaticArray<u8>(4097);
let entryOfP: i32 = 0;
let searchAt: u32 = 0;
let searchNodes: u32 = 0; // the node count at which the witness search gives up
const forkState = new StaticArray<i32>(MAX_WITNESSES);
const forkWant = new StaticArray<u32>(MAX_WITNESSES);
let forkCount: i32 = 0;

function rememberFork(state: i32, want: u32): void {
  if (forkCount < MAX_WITNESSES) {
    unchecked(forkState[forkCount] = state);
    unchecked(forkWant[forkCount] = want);
    forkCount++;
  }
}

/** Looks for an input that reaches P's state `target` and lies in `want`; records it if found. */
function searchWitness(target: i32, want: u32, lenP: u32): void {
  if (witnessCount >= MAX_WITNESSES || searchSteps >= SEARCH_STEPS) return;
  // Which states of P's main pass can reach the target (successors have larger pcs).
  for (let pc = <i32>lenP - 1; pc >= 0; pc--) {
    let s = unchecked(headAt[pc]);
    while (s >= 0) {
      const t = unchecked(sT[s]);
      const f = unchecked(sF[s]);
      unchecked(canReach[s] = <u8>(s == target || (t >= 0 && unchecked(canReach[t]) != 0) || (f >= 0 && unchecked(canReach[f]) != 0) ? 1 : 0));
      unchecked(failedAt[s] = FALSE);
      s = unchecked(sNext[s]);
    }
  }
  if (unchecked(canReach[entryOfP]) == 0) return;
  let sp = 0;
  unchecked(walkState[0] = entryOfP);
  unchecked(walkCond[0] = TRUE);
  unchecked(walkNext[0] = 0);
  sp = 1;
  while (sp > 0) {
    if (++searchSteps > SEARCH_STEPS || nodeCount() > searchNodes || status() != LIMIT_NONE) return;
    const s = unchecked(walkState[sp - 1]);
    const cond = unchecked(walkCond[sp - 1]);
    if (s == target) {
      const hit = bddAnd(cond, want);
      if (hit != FALSE) {
        bddSatOne(hit, changetype<usize>(witnessWords) + (<usize>(witnessCount * 16) << 2));
        witnessCount++;
        return;
      }
    }
    const which = unchecked(walkNext[sp - 1]);
    if (s == target || which >= 2) {
      // Done here: remember that this condition leads nowhere from s.
      unchecked(failedAt[s] = bddOr(unchecked(failedAt[s]), cond));
      sp--;
      continue;
    }
    unchecked(walkNext[sp - 1] = which + 1);
    const succ = which == 0 ? unchecked(sT[s]) : unchecked(sF[s]);
    if (succ < 0 || unchecked(canReach[succ]) == 0) continue;
    const kind = unchecked(sKind[s]);
    const c = unchecked(sC[s]);
    let next = cond;
    if (kind == T_BRANCH) next = bddAnd(cond, which == 0 ? c : bddNot(c));
    else if (kind == T_DIV_X) next = bddAnd(cond, bddNot(c));
    if (next == FALSE || bddLeq(next, unchecked(failedAt[succ]))) continue;
    if (sp >= 4097) continue;
    unchecked(walkState[sp] = succ);
    unchecked(walkCond[sp] = next);
    unchecked(walkNext[sp] = 0);
    sp++;
  }
}

/** The diagram of a forked pair: each combination of the two jumps' outcomes on its slice. */
function forkDiagram(p: i32, zero: i32): u32 {
  const a = unchecked(pS[p * 2]);
  const b = unchecked(pS[p * 2 + 1]);
  const cA = unchecked(sC[a]);
  const cB = unchecked(sC[b]);
  let r = FALSE;
  for (let i = 0; i < 2; i++) {
    const x = i == 0 ? unchecked(sT[a]) : unchecked(sF[a]);
    if (x < 0) continue;
    const condA = i == 0 ? cA : bddNot(cA);
    for (let j = 0; j < 2; j++) {
      const y = j == 0 ? unchecked(sT[b]) : unchecked(sF[b]);
      if (y < 0) continue;
      const cond = bddAnd(condA, j == 0 ? cB : bddNot(cB));
      if (cond == FALSE || sameState(x, y)) continue;
      // The slices are disjoint, so if-then-else chains them without overlap.
      r = bddIte(cond, divergence(x, y, cond, zero), r);
      if (status() != LIMIT_NONE) return FALSE;
    }
  }
  if (r != FALSE) rememberFork(a, bddNot(mtLeafSet(r, FALSE)));
  return r;
}

/**
 * The diagram of pair `p`, its successors being done: FALSE where both sides return the same
 * value, elsewhere a leaf (P's return vector, Q's return vector).
 */
function finishPair(p: i32, zero: i32): void {
  const kind = unchecked(pKind[p]);
  if (kind == PAIR_SAME) {
    unchecked(pM[p] = FALSE);
  } else if (kind == PAIR_FORK) {
    unchecked(pM[p] = forkDiagram(p, zero));
  } else if (kind == PAIR_DIVERGED) {
    const gp = suffixDiagram(unchecked(pS[p * 2]), zero);
    const gq = suffixDiagram(unchecked(pS[p * 2 + 1]), zero);
    unchecked(pM[p] = mtPair(<u32>gp, <u32>gq));
  } else {
    // A stepped pair. A missing successor (-1: its comparison is constant, so the
    // if-then-else never picks it; -2: division by zero, which both sides return as 0) adds
    // no difference.
    const t = unchecked(pT[p]);
    const f = unchecked(pF[p]);
    unchecked(pM[p] = bddIte(unchecked(pC[p]), t >= 0 ? unchecked(pM[t]) : FALSE, f >= 0 ? unchecked(pM[f]) : FALSE));
  }
}

// Outcomes of a relational analysis: (value in P, value in Q, inputs), only where they differ.
const relP = new StaticArray<u32>(MAX_OUTCOMES);
const relQ = new StaticArray<u32>(MAX_OUTCOMES);
const relSet = new StaticArray<u32>(MAX_OUTCOMES);
let relCount: i32 = 0;

function relSplit(vp: i32, vq: i32, cond: u32, bitIdx: i32, valP: u32, valQ: u32): void {
  if (cond == FALSE || limit != LIMIT_NONE || overflowed) return;
  if (bitIdx < 0) {
    if (valP == valQ) return; // two vectors that differ somewhere, but not on these inputs
    // Several leaves can give the same pair of values: one outcome per pair.
    for (let i = 0; i < relCount; i++) {
      if (unchecked(relP[i]) == valP && unchecked(relQ[i]) == valQ) {
        unchecked(relSet[i] = bddOr(unchecked(relSet[i]), cond));
        return;
      }
    }
    if (relCount >= MAX_OUTCOMES) { limit = LIMIT_OUTCOMES; return; }
    unchecked(relP[relCount] = valP);
    unchecked(relQ[relCount] = valQ);
    unchecked(relSet[relCount] = cond);
    relCount++;
    return;
  }
  // Bits 63..32 are P's value, 31..0 Q's.
  const onP = bitIdx >= 32;
  const i = onP ? bitIdx - 32 : bitIdx;
  const b = bit(onP ? vp : vq, i);
  const one = bddAnd(cond, b);
  const zeroSet = bddAnd(cond, bddNot(b));
  const m: u32 = <u32>1 << <u32>i;
  relSplit(vp, vq, zeroSet, bitIdx - 1, valP, valQ);
  relSplit(vp, vq, one, bitIdx - 1, onP ? valP | m : valP, onP ? valQ : valQ | m);
}

/**
 * Relational analysis of the (checked) programs P and Q. On LIMIT_NONE, symRelCount() outcomes
 * (symRelP(i), symRelQ(i), symRelSet(i)) give, for each pair of differing return values, the
 * inputs on which P returns the first and Q the second; on every other input they return the
 * same value. Returns a LIMIT_* code when a bound was hit, STOPPED_WITNESS when `witnesses`
 * is set and a costly analysis stopped with candidate inputs (symRelWitness), or
 * ERR_BAD_PROGRAM.
 */
export function symRelate(progP: usize, lenP: u32, progQ: usize, lenQ: u32, witnesses: bool): i32 {
  if (lenP == 0 || lenP > 4096 || lenQ == 0 || lenQ > 4096) return ERR_BAD_PROGRAM;
  // Witness search starts once an eighth of the node budget is used (cheap analyses never
  // reach it, so their answers come from the diagrams alone).
  searchAt = witnesses ? nodeBudget() >> 3 : 0;
  limit = LIMIT_NONE;
  relCount = 0;
  stateCount = 0;
  clsCount = 0;
  pairCount = 0;
  for (let i = 0; i < CLS_HASH; i++) unchecked(clsHash[i] = -1);
  for (let i = 0; i < PAIR_HASH; i++) unchecked(pairHash[i] = -1);
  hb = 0;
  relProgP = progP;
  relLenP = lenP;
  relProgQ = progQ;
  relLenQ = lenQ;
  witnessCount = 0;
  searchSteps = 0;
  forkCount = 0;
  classify(progP, lenP);
  const entryP = addEntry(lenP);
  entryOfP = entryP;
  let st = registerPass(progP, lenP);
  if (st != LIMIT_NONE) return st;
  hb = 4097;
  classify(progQ, lenQ);
  const entryQ = addEntry(lenQ);
  st = registerPass(progQ, lenQ);
  hb = 0;
  if (st != LIMIT_NONE) return st;
  for (let s = 0; s < stateCount; s++) unchecked(sG[s] = G_UNKNOWN);
  const zero = vConst(0);

  // Depth-first over pairs, successors finished first (as suffixDiagram does for states).
  const root = pairOf(entryP, entryQ);
  let sp = 0;
  unchecked(pairStack[sp++] = root);
  while (sp > 0) {
    const p = unchecked(pairStack[sp - 1]);
    if (unchecked(pDone[p]) != 0) { sp--; continue; }
    if (unchecked(pKind[p]) == 0) classifyPair(p, progP, progQ);
    st = status();
    if (st != LIMIT_NONE) return st;
    let waiting = false;
    const t = unchecked(pT[p]);
    const f = unchecked(pF[p]);
    if (t >= 0 && unchecked(pDone[t]) == 0) { unchecked(pairStack[sp++] = t); waiting = true; }
    if (f >= 0 && unchecked(pDone[f]) == 0) { unchecked(pairStack[sp++] = f); waiting = true; }
    if (waiting) continue;
    finishPair(p, zero);
    unchecked(pDone[p] = 1);
    sp--;
    st = status();
    if (st != LIMIT_NONE) return st;
    if (searchAt != 0 && forkCount > 0 && nodeCount() > searchAt) {
      // A costly analysis with known differences: look for witnesses once; when one is found,
      // stop and let the host judge it (it knows the relation). Otherwise go on.
      searchAt = 0;
      // The search may spend 1/64 of the budget; a failed search then costs little.
      searchNodes = nodeCount() + (nodeBudget() >> 6);
      for (let i = 0; i < forkCount; i++) searchWitness(unchecked(forkState[i]), unchecked(forkWant[i]), lenP);
      st = status();
      if (st != LIMIT_NONE) return st;
      if (witnessCount > 0) return STOPPED_WITNESS;
    }
  }
  const m = unchecked(pM[root]);
  const n = mtLeaves(m);
  if (n < 0) return LIMIT_OUTCOMES;
  for (let i = 0; i < n; i++) {
    const leaf = leafAt(i);
    relSplit(<i32>loOf(leaf), <i32>hiOf(leaf), mtLeafSet(m, leaf), 63, 0, 0);
  }
  return status();
}

export function symRelCount(): i32 { return relCount; }
/** Candidate inputs on which the last relational analysis saw the programs differ. */
export function symRelWitnessCount(): i32 { return witnessCount; }
export function symRelWitness(i: i32, word: i32): u32 { return unchecked(witnessWords[i * 16 + word]); }
export function symRelP(i: i32): u32 { return unchecked(relP[i]); }
export function symRelQ(i: i32): u32 { return unchecked(relQ[i]); }
export function symRelSet(i: i32): u32 { return unchecked(relSet[i]); }

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
