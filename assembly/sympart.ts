// Partitions: one program's exact partition of the input space by return value.
//
// Owns: the result slots (up to SYM_SLOTS programs analysed side by side in one BDD space, each
// a list of (return value, inputs) outcomes), and the two analyses that fill them, backward
// (default) and forward. The states they walk belong to symstate.ts; this room only reads them.
// The host reads the slots through symOutcome* (src/verify/symbolic.ts).
import { FALSE, bddAnd, bddOr, bddNot, overflowed, mtLeaves, leafAt, loOf, mtLeafSet } from "./bdd";
import {
  LIMIT_NONE, LIMIT_STATES, LIMIT_OUTCOMES, ERR_BAD_PROGRAM, METHOD_FORWARD, METHOD_BACKWARD,
  SYM_SLOTS, MAX_OUTCOMES, BPF_MAXINSNS,
} from "./contract";
import { bit, vConst } from "./symvec";
import {
  SIDE_P, sCond, sA, sX, sM, sNext, headAt, useSide, truncateStates, limit, setLimit, status, addEntry,
  transfer, tKind, tPc, tPcF, tA, tX, tM, tC, tK, T_NEXT, T_BRANCH, T_RET_K, T_RET_A, arrive,
  registerPass, forgetSuffixes, suffixDiagram,
} from "./symstate";

// ---- outcomes ----------------------------------------------------------------------------
const SLOTS: i32 = SYM_SLOTS;
const outValue = new StaticArray<u32>(SLOTS * MAX_OUTCOMES);
const outSet = new StaticArray<u32>(SLOTS * MAX_OUTCOMES);
const outCount = new StaticArray<i32>(SLOTS);
let curSlot: i32 = 0;

/** Empties every slot (a new BDD space: their sets are gone). */
export function outcomesReset(): void {
  for (let s = 0; s < SLOTS; s++) unchecked(outCount[s] = 0);
}

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
    setLimit(LIMIT_OUTCOMES);
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

/** Splits diagram g (leaves: return vectors) into outcomes: per leaf, its inputs by value. */
function outcomesOf(g: u32): void {
  const n = mtLeaves(g);
  if (n < 0) { setLimit(LIMIT_OUTCOMES); return; }
  for (let i = 0; i < n; i++) {
    const leaf = leafAt(i);
    retVector(<i32>loOf(leaf), mtLeafSet(g, leaf), 31, 0);
  }
}

// ---- the analyses ------------------------------------------------------------------------
function startAnalysis(len: u32, slot: i32): void {
  curSlot = slot;
  unchecked(outCount[slot] = 0);
  setLimit(LIMIT_NONE);
  truncateStates(0);
  useSide(SIDE_P);
  addEntry(len);
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

/**
 * Backward analysis. A first pass finds the register states that can reach each instruction
 * (without path conditions: a branch is pruned only where its comparison is constant for the
 * state); then suffixDiagram gives each state, successors first, the diagram of what the
 * program returns from there (symstate.ts): a decision diagram over the input bits whose
 * leaves are return-value vectors. The entry state's diagram is the whole program's return
 * value as a function of the input; it is split into outcomes at the end. These are suffix
 * functions, "what happens from here", which stay small where many paths meet, unlike the
 * path conditions "how did we get here" of the forward analysis; and one diagram with a leaf
 * per return expression costs one if-then-else per branch, not one per bit of the value.
 */
function analyzeBackward(prog: usize, len: u32): i32 {
  const st = registerPass(prog, len);
  if (st != LIMIT_NONE) return st;
  forgetSuffixes(0);
  // State 0 is the entry state (A = X = 0, no scratch memory written).
  const g = suffixDiagram(0, vConst(0));
  if (status() == LIMIT_NONE) outcomesOf(<u32>g);
  return status();
}

/**
 * Analyses the (checked) program at `prog` into result slot `slot`. Returns LIMIT_NONE (0) when
 * exact, a LIMIT_* code when a bound was hit, or ERR_BAD_PROGRAM. METHOD_AUTO runs the
 * backward analysis and falls back to the forward one when the path-insensitive state pass
 * finds too many register states (path conditions prune infeasible ones).
 */
export function symAnalyze(prog: usize, len: u32, slot: i32, method: i32): i32 {
  if (len == 0 || len > BPF_MAXINSNS || slot < 0 || slot >= SLOTS) return ERR_BAD_PROGRAM;
  if (method != METHOD_FORWARD) {
    startAnalysis(len, slot);
    const r = analyzeBackward(prog, len);
    if (r != LIMIT_STATES || method == METHOD_BACKWARD) return r;
  }
  startAnalysis(len, slot);
  return analyzeForward(prog, len);
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
