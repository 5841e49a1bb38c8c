// Relational analysis: where two programs return different values.
//
// Owns: the suffix classes of both programs' instructions, the pairs of states run in lockstep
// with each pair's diagram of differing values, the programs under comparison (for
// re-analyses under a cube), and the outcomes (value in P, value in Q, inputs) the host reads
// through symRel* (src/verify/symbolic.ts). The states themselves belong to symstate.ts (P on
// side SIDE_P, Q on SIDE_Q, re-analyses on SIDE_SCRATCH); the witness search a costly analysis
// may stop for is symwitness.ts.
import {
  FALSE, TRUE, bddAnd, bddOr, bddNot, bddIte, overflowed, mtPair, mtLeafSet, mtLeaves, leafAt, loOf, hiOf,
  bddToCube,
} from "./bdd";
import { formOf, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A } from "./opcodes";
import {
  LIMIT_NONE, LIMIT_STATES, LIMIT_OUTCOMES, STOPPED_WITNESS, ERR_BAD_PROGRAM, MAX_OUTCOMES, BPF_MAXINSNS,
} from "./contract";
import { bit, vConst, setCubeOn } from "./symvec";
import {
  MAX_STATES, SIDE_LEN, SIDE_P, SIDE_Q, SIDE_SCRATCH, sPc, sKind, sC, sT, sF, headAt, hb,
  stateCount, limit, useSide, truncateStates, setLimit, status, addEntry, arriveRestricted,
  regsEqual, registerPass, forgetSuffixes, suffixDiagram, T_BRANCH, T_DIV_X, T_RET_K, T_RET_A,
} from "./symstate";
import { witnessStart, rememberFork, searchDue, searchWitnesses } from "./symwitness";

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
// A costly analysis that already knows of differences may stop early with witnesses
// (symwitness.ts).

const CLASS_CAP: i32 = 2 * <i32>SIDE_LEN;
const clsAt = new StaticArray<i32>(2 * SIDE_LEN); // suffix class of (side base + pc): P, Q
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
const pKind = new StaticArray<u8>(MAX_PAIRS); // 0 unclassified, else a PAIR_* kind
const pT = new StaticArray<i32>(MAX_PAIRS);
const pF = new StaticArray<i32>(MAX_PAIRS);
const pC = new StaticArray<u32>(MAX_PAIRS);
const pM = new StaticArray<u32>(MAX_PAIRS); // the pair's diagram of differing return values
const pDone = new StaticArray<u8>(MAX_PAIRS); // 1 once the pair's diagram (pM) is known
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
    setLimit(LIMIT_STATES);
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

/** States x (of P) and y (of Q) return the same value on every input: same registers, same code. */
function sameState(x: i32, y: i32): bool {
  return regsEqual(x, y) && unchecked(clsAt[unchecked(sPc[x])]) == unchecked(clsAt[SIDE_Q + unchecked(sPc[y])]);
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
  useSide(SIDE_SCRATCH);
  for (let i = pc; i <= len; i++) unchecked(headAt[hb + i] = -1);
  const first = stateCount;
  const s2 = arriveRestricted(s);
  if (s2 >= 0) registerPass(prog, len, pc);
  forgetSuffixes(first);
  useSide(SIDE_P);
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
      setLimit(LIMIT_NONE);
      truncateStates(saved);
    } else if (x2 >= 0 && y2 >= 0) {
      return mtPair(<u32>suffixDiagram(x2, zero), <u32>suffixDiagram(y2, zero));
    }
  }
  return mtPair(<u32>suffixDiagram(x, zero), <u32>suffixDiagram(y, zero));
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
    if (relCount >= MAX_OUTCOMES) { setLimit(LIMIT_OUTCOMES); return; }
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
  if (lenP == 0 || lenP > BPF_MAXINSNS || lenQ == 0 || lenQ > BPF_MAXINSNS) return ERR_BAD_PROGRAM;
  setLimit(LIMIT_NONE);
  relCount = 0;
  truncateStates(0);
  clsCount = 0;
  pairCount = 0;
  for (let i = 0; i < CLS_HASH; i++) unchecked(clsHash[i] = -1);
  for (let i = 0; i < PAIR_HASH; i++) unchecked(pairHash[i] = -1);
  useSide(SIDE_P);
  relProgP = progP;
  relLenP = lenP;
  relProgQ = progQ;
  relLenQ = lenQ;
  classify(progP, lenP);
  const entryP = addEntry(lenP);
  witnessStart(witnesses, entryP);
  let st = registerPass(progP, lenP);
  if (st != LIMIT_NONE) return st;
  useSide(SIDE_Q);
  classify(progQ, lenQ);
  const entryQ = addEntry(lenQ);
  st = registerPass(progQ, lenQ);
  useSide(SIDE_P);
  if (st != LIMIT_NONE) return st;
  forgetSuffixes(0);
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
    if (searchDue()) {
      // A costly analysis with known differences: look for witnesses once; when one is found,
      // stop and let the host judge it (it knows the relation). Otherwise go on.
      const found = searchWitnesses(lenP);
      st = status();
      if (st != LIMIT_NONE) return st;
      if (found) return STOPPED_WITNESS;
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
export function symRelP(i: i32): u32 { return unchecked(relP[i]); }
export function symRelQ(i: i32): u32 { return unchecked(relQ[i]); }
export function symRelSet(i: i32): u32 { return unchecked(relSet[i]); }
