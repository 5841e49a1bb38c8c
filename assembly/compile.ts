// The policy compiler: an encoded policy (src/policy/compile.ts writes it from the IR) to a
// seccomp program.
//
// Shape of the output:
//   ld arch; jeq TOKEN_1, group1, next; jeq TOKEN_2, group2, next; …; ret MISMATCH
//   groupN: ld nr; <decision tree over nr>
// The decision tree is built over *segments*: the whole 32-bit nr space cut into maximal runs
// with the same outcome (default gaps, unconditional syscalls with the same action merged,
// the x32 range as one run). Inner nodes are `jge #boundary`; short runs of single syscalls in
// a uniform background become `jeq` chains. Leaves are shared `ret`s or argument blocks.
// Everything on the way to an unconditional outcome is ld nr/arch, K-jumps and ret, so the
// kernel's action-cache emulator can prove those syscalls always allowed.
//
// All code is built as a DAG of hash-consed nodes (identical tails are one node), then laid out
// backwards: a node is emitted after its successors, so every jump is forward and its distance
// is known when it is written. A conditional jump that would exceed 255 gets a duplicated
// `ret` (when the target is a ret) or a `ja` trampoline.
import {
  LD_W_ABS, ALU_AND_K, JMP_JA, JMP_JEQ_K, JMP_JGT_K, JMP_JGE_K, RET_K, BPF_MAXINSNS,
} from "./opcodes";

// ---- input encoding (u32 words), mirrored by src/policy/compile.ts --------------------------
// [0] version (1)        [1] flags: bit0 big-endian
// [2] mismatch action    [3] group count G
// per group: token, horizon count H, then H × (lo, hi) (where the ABI's real syscall numbers
//            are; the tree is balanced by how many of them each run covers),
//            [flag bit 1 only] weight count W, then W × (nr, weight), sorted by nr: call
//            counts (minijail's @frequency); the tree is then balanced by them instead,
//            background-run count B, then B × (lo, hi, action),
//            syscall count S, then per syscall: nr, rule count R,
//            per rule: action, condition count C,
//            per condition: index, width (32|64), op, vlo, vhi, mlo, mhi
// op: 0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge, 6 masked_eq

// Return codes, version, flag and operator codes: the engine <-> host contract (contract.ts).
import {
  C_ERR_FORMAT, C_ERR_TOO_LONG, C_ERR_NODES, C_VERSION, C_FLAG_BIG_ENDIAN, C_FLAG_WEIGHTS, C_OP_EQ,
  C_OP_NE, C_OP_LT, C_OP_LE, C_OP_GT, C_OP_GE, C_OP_MASKED_EQ,
} from "./contract";

// ---- nodes -------------------------------------------------------------------------------
const K_RET: u32 = 1;
const K_LD: u32 = 2;
const K_AND: u32 = 3;
const K_JMP: u32 = 4;

const MAX_NODES: i32 = 1 << 17;
const nKind = new StaticArray<u32>(MAX_NODES);
const nA = new StaticArray<u32>(MAX_NODES); // RET: k; LD: offset; AND: mask; JMP: code
const nB = new StaticArray<u32>(MAX_NODES); // LD/AND: next; JMP: k
const nC = new StaticArray<u32>(MAX_NODES); // JMP: true target
const nD = new StaticArray<u32>(MAX_NODES); // JMP: false target
const nE = new StaticArray<u32>(MAX_NODES); // JMP: context (A = word at offset, masked by nF)
const nF = new StaticArray<u32>(MAX_NODES);
let nodeCount: i32 = 0;
let overflow = false;
/** True while syscallBlock collects the states a block needs: node() builds nothing. */
let dry = false;

const HASH_BITS: i32 = 18;
const HASH_SIZE: i32 = 1 << HASH_BITS;
const table = new StaticArray<i32>(HASH_SIZE);

function mix(h: u32, v: u32): u32 {
  h ^= v;
  h *= 0x9e3779b1;
  return (h << 13) | (h >>> 19);
}

function node(kind: u32, a: u32, b: u32, c: u32, d: u32, e: u32, f: u32): u32 {
  if (dry) return 0; // collecting states (see syscallBlock): nothing is built
  let h = mix(mix(mix(mix(mix(mix(mix(0x12345, kind), a), b), c), d), e), f);
  let slot = <i32>(h & <u32>(HASH_SIZE - 1));
  while (true) {
    const id = unchecked(table[slot]);
    if (id == 0) break;
    const n = id - 1;
    if (unchecked(nKind[n]) == kind && unchecked(nA[n]) == a && unchecked(nB[n]) == b
      && unchecked(nC[n]) == c && unchecked(nD[n]) == d && unchecked(nE[n]) == e && unchecked(nF[n]) == f) {
      return <u32>n;
    }
    slot = (slot + 1) & (HASH_SIZE - 1);
  }
  if (nodeCount >= MAX_NODES - 1 || nodeCount >= (HASH_SIZE >> 1)) {
    overflow = true;
    return 0;
  }
  const n = nodeCount++;
  unchecked(nKind[n] = kind);
  unchecked(nA[n] = a);
  unchecked(nB[n] = b);
  unchecked(nC[n] = c);
  unchecked(nD[n] = d);
  unchecked(nE[n] = e);
  unchecked(nF[n] = f);
  unchecked(table[slot] = n + 1);
  return <u32>n;
}

function ret(k: u32): u32 { return node(K_RET, k, 0, 0, 0, 0, 0); }
function ld(off: u32, next: u32): u32 { return node(K_LD, off, next, 0, 0, 0, 0); }
function andK(mask: u32, next: u32): u32 { return node(K_AND, mask, next, 0, 0, 0, 0); }
/** A conditional jump that expects A to hold the word at `ctxOff` masked by `ctxMask`. */
function jmp(code: u16, k: u32, t: u32, f: u32, ctxOff: u32, ctxMask: u32): u32 {
  if (t == f) return t; // both ways lead to the same place: no test needed
  return node(K_JMP, <u32>code, k, t, f, ctxOff, ctxMask);
}

// ---- what A holds while building (forward context for reload elision) ----------------------
const NO_CTX: u32 = 0xffffffff;

/**
 * Wraps `body` (which expects A = word at `off` & `mask`) with the loads needed given that A
 * currently holds `curOff` & `curMask`.
 */
function withLoad(off: u32, mask: u32, curOff: u32, curMask: u32, body: u32): u32 {
  // A body that does not look at A (a ret, or code that loads first) needs no load.
  const k = unchecked(nKind[body]);
  if (k == K_RET || k == K_LD) return body;
  if (curOff == off && curMask == mask) return body;
  if (mask == 0xffffffff) return ld(off, body);
  if (curOff == off && curMask == 0xffffffff) return andK(mask, body);
  return ld(off, andK(mask, body));
}

// ---- input reader ----------------------------------------------------------------------------
let inPtr: usize = 0;
let inLen: u32 = 0;
let inPos: u32 = 0;
let inBad = false;

function rd(): u32 {
  if (inPos >= inLen) {
    inBad = true;
    return 0;
  }
  const v = load<u32>(inPtr + (<usize>inPos << 2));
  inPos++;
  return v;
}

// ---- argument blocks ---------------------------------------------------------------------
let bigEndian = false;

function loOff(index: u32): u32 { return 16 + 8 * index + (bigEndian ? 4 : 0); }
function hiOff(index: u32): u32 { return 16 + 8 * index + (bigEndian ? 0 : 4); }

// Conditions of the syscall being compiled, rule by rule.
const MAX_CONDS: i32 = 1 << 16;
const cIndex = new StaticArray<u32>(MAX_CONDS);
const cWidth = new StaticArray<u32>(MAX_CONDS);
const cOp = new StaticArray<u32>(MAX_CONDS);
const cVlo = new StaticArray<u32>(MAX_CONDS);
const cVhi = new StaticArray<u32>(MAX_CONDS);
const cMlo = new StaticArray<u32>(MAX_CONDS);
const cMhi = new StaticArray<u32>(MAX_CONDS);
const MAX_RULES: i32 = 1 << 16;
const rAction = new StaticArray<u32>(MAX_RULES);
const rFirst = new StaticArray<i32>(MAX_RULES);
const rCount = new StaticArray<i32>(MAX_RULES);
let ruleCount: i32 = 0;
let blockDefault: u32 = 0;

// The states of the syscall being compiled: build(r, c, context, knowledge), each with the node
// built for it, found through an open-addressing hash table. A syscall with thousands of rules
// has thousands of states; nothing here recurses on their number (see syscallBlock).
const MAX_STATES: i32 = 1 << 16;
const STATE_HASH: i32 = 1 << 17;
const mR = new StaticArray<i32>(MAX_STATES);
const mC = new StaticArray<i32>(MAX_STATES);
const mOff = new StaticArray<u32>(MAX_STATES);
const mMask = new StaticArray<u32>(MAX_STATES);
const mKIdx = new StaticArray<i32>(MAX_STATES);
const mKVal = new StaticArray<u32>(MAX_STATES);
const mNode = new StaticArray<u32>(MAX_STATES);
const mTable = new StaticArray<i32>(STATE_HASH); // state index + 1, 0 = empty
let memoCount: i32 = 0;

/** The index of a state, adding it when `add` (then -1 only when the table is full). */
function stateOf(r: i32, c: i32, off: u32, mask: u32, kIdx: i32, kVal: u32, add: bool): i32 {
  const h = mix(mix(mix(mix(mix(mix(0x2545, <u32>r), <u32>c), off), mask), <u32>kIdx), kVal);
  let slot = <i32>(h & <u32>(STATE_HASH - 1));
  while (true) {
    const id = unchecked(mTable[slot]);
    if (id == 0) break;
    const i = id - 1;
    if (unchecked(mR[i]) == r && unchecked(mC[i]) == c && unchecked(mOff[i]) == off && unchecked(mMask[i]) == mask
      && unchecked(mKIdx[i]) == kIdx && unchecked(mKVal[i]) == kVal) {
      return i;
    }
    slot = (slot + 1) & (STATE_HASH - 1);
  }
  if (!add) return -1;
  if (memoCount >= MAX_STATES) {
    overflow = true;
    return -1;
  }
  const i = memoCount++;
  unchecked(mR[i] = r);
  unchecked(mC[i] = c);
  unchecked(mOff[i] = off);
  unchecked(mMask[i] = mask);
  unchecked(mKIdx[i] = kIdx);
  unchecked(mKVal[i] = kVal);
  unchecked(mNode[i] = 0);
  unchecked(mTable[slot] = i + 1);
  return i;
}

// One fact about the input that the path has established, carried into later rules: the high
// word of argument kIdx equals kVal (learned when a 64-bit compare went on to its low word).
// Facts about the input never stop being true on a path, so a later rule comparing the same
// argument's high word with the same value can skip straight to the low word: Docker's five
// `personality` values cost one high-word test, not five.
const NO_FACT: i32 = -1;

/**
 * The code that checks condition c of rule r onwards (then rule r+1 …, then the default),
 * given that A holds the word at ctxOff masked by ctxMask. Building per context lets a rule
 * that tests the same word as the one before it skip the reload: fourteen `ioctl` request
 * values cost one load and fourteen jeq, not fourteen loads.
 *
 * Past the last condition or rule the code is a ret. Otherwise: while collecting (`dry`) the
 * state is recorded for syscallBlock and 0 returned; while building, the state's node, which
 * syscallBlock has built already (every state built here comes later in rule order).
 */
function build(r: i32, c: i32, ctxOff: u32, ctxMask: u32, kIdx: i32, kVal: u32): u32 {
  if (r >= ruleCount) return ret(blockDefault);
  if (c >= unchecked(rCount[r])) return ret(unchecked(rAction[r]));
  const i = stateOf(r, c, ctxOff, ctxMask, kIdx, kVal, dry);
  if (dry || i < 0) return 0;
  return unchecked(mNode[i]);
}

// Knowledge carried by the continuation builders below (set by condition()).
let curKIdx: i32 = NO_FACT;
let curKVal: u32 = 0;

/** Continue with the next condition of the rule (the condition held). */
function T(r: i32, c: i32, off: u32, mask: u32): u32 { return build(r, c + 1, off, mask, curKIdx, curKVal); }
/** Continue with the next rule (the condition failed). */
function F(r: i32, off: u32, mask: u32): u32 { return build(r + 1, 0, off, mask, curKIdx, curKVal); }

const FULL: u32 = 0xffffffff;

/**
 * One 32-bit unsigned compare of the word at `off` (held in A) with v: eq/ne/lt/le/gt/ge as
 * the cBPF jumps JEQ/JGT/JGE with the branches swapped where needed.
 */
function cmp32(op: u32, v: u32, t: u32, f: u32, off: u32): u32 {
  switch (op) {
    case C_OP_EQ: return jmp(JMP_JEQ_K, v, t, f, off, FULL);
    case C_OP_NE: return jmp(JMP_JEQ_K, v, f, t, off, FULL);
    case C_OP_LT: return jmp(JMP_JGE_K, v, f, t, off, FULL);
    case C_OP_LE: return jmp(JMP_JGT_K, v, f, t, off, FULL);
    case C_OP_GT: return jmp(JMP_JGT_K, v, t, f, off, FULL);
    default: return jmp(JMP_JGE_K, v, t, f, off, FULL); // C_OP_GE
  }
}

/** Condition c of rule r, entered with A = word ctxOff & ctxMask and the given fact. */
function condition(r: i32, c: i32, ctxOff: u32, ctxMask: u32, kIdx: i32, kVal: u32): u32 {
  curKIdx = kIdx;
  curKVal = kVal;
  const i = unchecked(rFirst[r]) + c;
  const index = unchecked(cIndex[i]);
  const op = unchecked(cOp[i]);
  const vlo = unchecked(cVlo[i]);
  const vhi = unchecked(cVhi[i]);
  const mlo = unchecked(cMlo[i]);
  const mhi = unchecked(cMhi[i]);
  const lo = loOff(index);
  const hi = hiOff(index);
  if (unchecked(cWidth[i]) == 32) {
    // Low word only.
    if (op == C_OP_MASKED_EQ) {
      if (mlo == 0) return vlo == 0 ? T(r, c, ctxOff, ctxMask) : F(r, ctxOff, ctxMask);
      if ((vlo & ~mlo) != 0) return F(r, ctxOff, ctxMask);
      return withLoad(lo, mlo, ctxOff, ctxMask, jmp(JMP_JEQ_K, vlo, T(r, c, lo, mlo), F(r, lo, mlo), lo, mlo));
    }
    return withLoad(lo, FULL, ctxOff, ctxMask, cmp32(op, vlo, T(r, c, lo, FULL), F(r, lo, FULL), lo));
  }
  // 64 bits: the high word first, the low word only when the high words are equal.
  if (op == C_OP_MASKED_EQ) {
    // (arg & m) == v half by half; a half whose mask is 0 holds exactly when its value is 0.
    if ((vlo & ~mlo) != 0 || (vhi & ~mhi) != 0) return F(r, ctxOff, ctxMask);
    if (mhi == 0 && vhi != 0) return F(r, ctxOff, ctxMask);
    if (mlo == 0 && vlo != 0) return F(r, ctxOff, ctxMask);
    if (mhi == 0 && mlo == 0) return T(r, c, ctxOff, ctxMask);
    if (mhi == 0) {
      return withLoad(lo, mlo, ctxOff, ctxMask, jmp(JMP_JEQ_K, vlo, T(r, c, lo, mlo), F(r, lo, mlo), lo, mlo));
    }
    const loPart = mlo == 0
      ? T(r, c, hi, mhi)
      : withLoad(lo, mlo, hi, mhi, jmp(JMP_JEQ_K, vlo, T(r, c, lo, mlo), F(r, lo, mlo), lo, mlo));
    return withLoad(hi, mhi, ctxOff, ctxMask, jmp(JMP_JEQ_K, vhi, loPart, F(r, hi, mhi), hi, mhi));
  }
  const hiKnown = kIdx == <i32>index && kVal == vhi;
  const tHi = T(r, c, hi, FULL);
  const fHi = F(r, hi, FULL);
  // Past the high-word test the path knows hi == vhi; later rules may use that.
  curKIdx = <i32>index;
  curKVal = vhi;
  const tLo = T(r, c, lo, FULL);
  const fLo = F(r, lo, FULL);
  curKIdx = kIdx;
  curKVal = kVal;
  if (hiKnown) {
    // The high words are known equal: only the low-word compare decides.
    return withLoad(lo, FULL, ctxOff, ctxMask, cmp32(op, vlo, tLo, fLo, lo));
  }
  let top: u32;
  switch (op) {
    case C_OP_EQ: {
      const loPart = ld(lo, jmp(JMP_JEQ_K, vlo, tLo, fLo, lo, FULL));
      top = jmp(JMP_JEQ_K, vhi, loPart, fHi, hi, FULL);
      break;
    }
    case C_OP_NE: {
      const loPart = ld(lo, jmp(JMP_JEQ_K, vlo, fLo, tLo, lo, FULL));
      top = jmp(JMP_JEQ_K, vhi, loPart, tHi, hi, FULL);
      break;
    }
    case C_OP_GT: case C_OP_GE: { // gt / ge: hi > vh, or hi == vh and lo > (>=) vl
      const loPart = ld(lo, jmp(op == C_OP_GT ? JMP_JGT_K : JMP_JGE_K, vlo, tLo, fLo, lo, FULL));
      top = jmp(JMP_JGT_K, vhi, tHi, jmp(JMP_JEQ_K, vhi, loPart, fHi, hi, FULL), hi, FULL);
      break;
    }
    default: { // lt / le: hi < vh, or hi == vh and lo < (<=) vl
      const loPart = ld(lo, jmp(op == C_OP_LT ? JMP_JGE_K : JMP_JGT_K, vlo, fLo, tLo, lo, FULL));
      top = jmp(JMP_JGT_K, vhi, fHi, jmp(JMP_JEQ_K, vhi, loPart, tHi, hi, FULL), hi, FULL);
      break;
    }
  }
  return withLoad(hi, FULL, ctxOff, ctxMask, top);
}

// Buckets for ordering states by their condition (rFirst[r] + c): a counting sort.
const bucket = new StaticArray<i32>(MAX_CONDS + 1);
const order = new StaticArray<i32>(MAX_STATES);

/**
 * One syscall's block, entered with A = nr: rules in order, first match wins.
 *
 * Without recursion on the number of rules: first the states reachable from the entry are
 * collected breadth-first (condition() run `dry`, its continuations only recorded), then built
 * from the last condition of the last rule backwards, so every continuation a state asks for
 * is built before it.
 */
function syscallBlock(nrules: i32, dflt: u32): u32 {
  ruleCount = nrules;
  blockDefault = dflt;
  for (let i = 0; i < memoCount; i++) {
    // Clear only the slots in use (the table is large, blocks are usually small).
    const h = mix(mix(mix(mix(mix(mix(0x2545, <u32>unchecked(mR[i])), <u32>unchecked(mC[i])), unchecked(mOff[i])),
      unchecked(mMask[i])), <u32>unchecked(mKIdx[i])), unchecked(mKVal[i]));
    // Its own slot is on its probe path (slots cleared before may sit in between).
    let slot = <i32>(h & <u32>(STATE_HASH - 1));
    while (unchecked(mTable[slot]) != i + 1) slot = (slot + 1) & (STATE_HASH - 1);
    unchecked(mTable[slot] = 0);
  }
  memoCount = 0;
  if (nrules == 0) return ret(dflt);
  // Collect.
  dry = true;
  build(0, 0, 0, FULL, NO_FACT, 0);
  for (let i = 0; i < memoCount; i++) {
    condition(unchecked(mR[i]), unchecked(mC[i]), unchecked(mOff[i]), unchecked(mMask[i]), unchecked(mKIdx[i]), unchecked(mKVal[i]));
  }
  dry = false;
  if (overflow) return 0;
  // Order by condition, last first.
  const keys = unchecked(rFirst[nrules - 1]) + unchecked(rCount[nrules - 1]);
  for (let k = 0; k <= keys; k++) unchecked(bucket[k] = 0);
  for (let i = 0; i < memoCount; i++) {
    const k = unchecked(rFirst[unchecked(mR[i])]) + unchecked(mC[i]);
    unchecked(bucket[k + 1] += 1);
  }
  for (let k = 0; k < keys; k++) unchecked(bucket[k + 1] += unchecked(bucket[k]));
  for (let i = 0; i < memoCount; i++) {
    const k = unchecked(rFirst[unchecked(mR[i])]) + unchecked(mC[i]);
    unchecked(order[unchecked(bucket[k])] = i);
    unchecked(bucket[k] += 1);
  }
  // Build.
  for (let j = memoCount - 1; j >= 0; j--) {
    const i = unchecked(order[j]);
    unchecked(mNode[i] = condition(unchecked(mR[i]), unchecked(mC[i]), unchecked(mOff[i]), unchecked(mMask[i]),
      unchecked(mKIdx[i]), unchecked(mKVal[i])));
  }
  return build(0, 0, 0, FULL, NO_FACT, 0);
}

// ---- segments and the dispatch tree ----------------------------------------------------------
const MAX_SEGS: i32 = 1 << 14;
const segLo = new StaticArray<u32>(MAX_SEGS);
const segNode = new StaticArray<u32>(MAX_SEGS);
let segCount: i32 = 0;
// Per syscall of the current group, before merging.
const sysNr = new StaticArray<u32>(MAX_SEGS);
const sysNode = new StaticArray<u32>(MAX_SEGS);
const bgLo = new StaticArray<u32>(64);
const bgHi = new StaticArray<u32>(64);
const bgAct = new StaticArray<u32>(64);

function bgAction(nr: u32, nbg: i32): u32 {
  for (let i = 0; i < nbg; i++) {
    if (nr >= unchecked(bgLo[i]) && nr <= unchecked(bgHi[i])) return unchecked(bgAct[i]);
  }
  return unchecked(bgAct[0]);
}

function pushSeg(lo: u32, nd: u32): void {
  if (segCount > 0 && unchecked(segNode[segCount - 1]) == nd) return; // same outcome: extend
  if (segCount >= MAX_SEGS) {
    overflow = true;
    return;
  }
  unchecked(segLo[segCount] = lo);
  unchecked(segNode[segCount] = nd);
  segCount++;
}

// Weights for balancing: 1 + the number of real syscall numbers (inside the horizons) a
// segment covers, so wide runs of allowed syscalls sit near the root and the average number
// of jumps over the ABI's syscalls is small. prefixW[i] = total weight of segments before i.
const prefixW = new StaticArray<f64>(MAX_SEGS + 1);
const hzLo = new StaticArray<u32>(8);
const hzHi = new StaticArray<u32>(8);
let hzCount: i32 = 0;

// Call-frequency weights (flag C_FLAG_WEIGHTS): when a group has them, a segment weighs
// 1 + the calls counted for the numbers it covers, so the tree halves expected calls rather than
// table coverage: frequent syscalls end up near the root (minijail's @frequency, which exists
// for exactly this). The meaning of the program does not change, only its layout.
const MAX_WEIGHTS: i32 = 4096;
const wNr = new StaticArray<u32>(MAX_WEIGHTS);
const wVal = new StaticArray<u32>(MAX_WEIGHTS);
let wCount: i32 = 0;

function weigh(): void {
  unchecked(prefixW[0] = 0);
  let k = 0; // weights are sorted by nr, segments too: one forward walk
  for (let i = 0; i < segCount; i++) {
    const lo = <u64>unchecked(segLo[i]);
    const hi = <u64>segHi(i);
    let w: f64 = 1;
    if (wCount > 0) {
      while (k < wCount && <u64>unchecked(wNr[k]) < lo) k++;
      while (k < wCount && <u64>unchecked(wNr[k]) <= hi) {
        w += <f64>unchecked(wVal[k]);
        k++;
      }
      unchecked(prefixW[i + 1] = unchecked(prefixW[i]) + w);
      continue;
    }
    for (let h = 0; h < hzCount; h++) {
      const a = max<u64>(lo, <u64>unchecked(hzLo[h]));
      const b = min<u64>(hi, <u64>unchecked(hzHi[h]));
      if (a <= b) w += <f64>(b - a + 1);
    }
    unchecked(prefixW[i + 1] = unchecked(prefixW[i]) + w);
  }
}

/** The split index m (a < m <= b) that halves the weight of [a, b] best. */
function splitAt(a: i32, b: i32): i32 {
  const half = (unchecked(prefixW[a]) + unchecked(prefixW[b + 1])) / 2;
  let best = (a + b + 1) >> 1;
  let bestDiff = f64.MAX_VALUE;
  // Binary search for the first m with prefixW[m] >= half, then look at it and its neighbour.
  let lo = a + 1;
  let hi = b;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (unchecked(prefixW[mid]) < half) lo = mid + 1;
    else hi = mid;
  }
  for (let m = lo - 1; m <= lo; m++) {
    if (m <= a || m > b) continue;
    const d = Math.abs(unchecked(prefixW[m]) - half);
    if (d < bestDiff) {
      bestDiff = d;
      best = m;
    }
  }
  return best;
}

/** Segment i covers [segLo[i], segLo[i+1] - 1]; the last ends at 0xffffffff. */
function segHi(i: i32): u32 {
  return i + 1 < segCount ? unchecked(segLo[i + 1]) - 1 : 0xffffffff;
}

function segWeight(i: i32): f64 {
  return unchecked(prefixW[i + 1]) - unchecked(prefixW[i]);
}

/** Longest jeq chain allowed at a leaf of the tree. */
const CHAIN_MAX: i32 = 3;

/**
 * Tree over segments [a, b], entered with A = nr and nr known to be in [segLo[a], segHi(b)].
 */
function tree(a: i32, b: i32): u32 {
  if (a == b) return unchecked(segNode[a]);
  // A jeq chain works when one outcome fills everything but a few single-number segments.
  const chain = chainFor(a, b);
  if (chain != 0xffffffff) return chain;
  const mid = splitAt(a, b);
  const right = tree(mid, b);
  const left = tree(a, mid - 1);
  return jmp(JMP_JGE_K, unchecked(segLo[mid]), right, left, 0, 0xffffffff);
}

function chainFor(a: i32, b: i32): u32 {
  // Candidate background: the outcome of the first or second segment.
  for (let pick = 0; pick < 2; pick++) {
    const bgIdx = a + pick;
    if (bgIdx > b) break;
    const bg = unchecked(segNode[bgIdx]);
    let singles = 0;
    let ok = true;
    for (let i = a; i <= b; i++) {
      if (unchecked(segNode[i]) == bg) continue;
      if (unchecked(segLo[i]) != segHi(i)) { ok = false; break; }
      singles++;
      if (singles > CHAIN_MAX) { ok = false; break; }
    }
    if (!ok) continue;
    let nd = bg;
    if (wCount > 0) {
      // Weighted: the most frequent single is tested first (wrapped last).
      const idx = new StaticArray<i32>(CHAIN_MAX);
      let n = 0;
      for (let i = a; i <= b; i++) if (unchecked(segNode[i]) != bg) idx[n++] = i;
      for (let x = 1; x < n; x++) {
        const v = idx[x];
        let y = x - 1;
        while (y >= 0 && segWeight(idx[y]) > segWeight(v)) { idx[y + 1] = idx[y]; y--; }
        idx[y + 1] = v;
      }
      for (let x = 0; x < n; x++) {
        const i = idx[x];
        nd = jmp(JMP_JEQ_K, unchecked(segLo[i]), unchecked(segNode[i]), nd, 0, 0xffffffff);
      }
      return nd;
    }
    for (let i = b; i >= a; i--) {
      if (unchecked(segNode[i]) == bg) continue;
      nd = jmp(JMP_JEQ_K, unchecked(segLo[i]), unchecked(segNode[i]), nd, 0, 0xffffffff);
    }
    return nd;
  }
  return 0xffffffff;
}

// ---- layout ------------------------------------------------------------------------------
// Instructions are written backwards into out[]; rev index r means out[cap - 1 - r]... we keep
// a growing list in reverse order and flip it at the end.
const MAX_OUT: i32 = 65536;
const oCode = new StaticArray<u16>(MAX_OUT);
const oJt = new StaticArray<u8>(MAX_OUT);
const oJf = new StaticArray<u8>(MAX_OUT);
const oK = new StaticArray<u32>(MAX_OUT);
let outCount: i32 = 0; // instructions emitted so far (reverse order)
const pos = new StaticArray<i32>(MAX_NODES); // reverse index of a node's first instruction, -1 if none

function put(code: u16, jt: u32, jf: u32, k: u32): i32 {
  if (outCount >= MAX_OUT) {
    overflow = true;
    return outCount - 1;
  }
  unchecked(oCode[outCount] = code);
  unchecked(oJt[outCount] = <u8>jt);
  unchecked(oJf[outCount] = <u8>jf);
  unchecked(oK[outCount] = k);
  return outCount++;
}

/** Distance from a new instruction (about to get index outCount) forward to rev index p. */
function dist(p: i32): u32 {
  return <u32>(outCount - p - 1);
}

/** Makes the instruction about to be written continue at node n (emitted already): fall through or ja. */
function ensureNext(n: u32): void {
  const p = emit(n);
  if (p != outCount - 1) put(JMP_JA, 0, 0, dist(p));
}

/** A jump target within 255 of the next instruction: a nearby ret copy or a ja trampoline. */
function near(n: u32): i32 {
  let p = emit(n);
  if (dist(p) <= 255) return p;
  if (unchecked(nKind[n]) == K_RET) {
    p = put(RET_K, 0, 0, unchecked(nA[n]));
    unchecked(pos[n] = p); // later jumps share the nearer copy
    return p;
  }
  return put(JMP_JA, 0, 0, dist(p));
}

// The emit walk's explicit stack: node and how far its emission has got (0: successors not yet
// visited; 1: the first visited; 2: both). A chain of thousands of jumps costs heap, not stack.
const MAX_STACK: i32 = MAX_NODES;
const sNode = new StaticArray<u32>(MAX_STACK);
const sStep = new StaticArray<u8>(MAX_STACK);

/**
 * Emits node n after its successors (post-order: for a jump the true side first, so the false
 * side lands right after the jump) and returns the reverse index of its first instruction.
 */
function emit(n: u32): i32 {
  const have = unchecked(pos[n]);
  if (have >= 0) return have;
  let sp = 0;
  unchecked(sNode[0] = n);
  unchecked(sStep[0] = 0);
  sp = 1;
  while (sp > 0) {
    const m = unchecked(sNode[sp - 1]);
    const step = unchecked(sStep[sp - 1]);
    if (step == 0 && unchecked(pos[m]) >= 0) {
      sp--;
      continue;
    }
    const kind = unchecked(nKind[m]);
    if (kind == K_RET) {
      unchecked(pos[m] = put(RET_K, 0, 0, unchecked(nA[m])));
      sp--;
      continue;
    }
    // The successor to visit at this step, if any.
    let next: u32 = 0xffffffff;
    if (kind == K_LD || kind == K_AND) {
      if (step == 0) next = unchecked(nB[m]);
    } else if (step == 0) next = unchecked(nC[m]);
    else if (step == 1) next = unchecked(nD[m]);
    if (next != 0xffffffff) {
      unchecked(sStep[sp - 1] = step + 1);
      if (unchecked(pos[next]) < 0) {
        if (sp >= MAX_STACK) {
          overflow = true;
          return 0;
        }
        unchecked(sNode[sp] = next);
        unchecked(sStep[sp] = 0);
        sp++;
      }
      continue;
    }
    // Successors emitted: write the node itself.
    let p: i32;
    if (kind == K_LD || kind == K_AND) {
      ensureNext(unchecked(nB[m]));
      p = put(kind == K_LD ? LD_W_ABS : ALU_AND_K, 0, 0, unchecked(nA[m]));
    } else {
      const t = unchecked(nC[m]);
      const f = unchecked(nD[m]);
      let pt = near(t);
      let pf = near(f);
      // A trampoline or copy for one side may have pushed the other out of range.
      if (dist(pt) > 255) pt = near(t);
      if (dist(pf) > 255) pf = near(f);
      if (dist(pt) > 255 || dist(pf) > 255) {
        // Both far: two trampolines right after the jump.
        pf = put(JMP_JA, 0, 0, dist(emit(f)));
        pt = put(JMP_JA, 0, 0, dist(emit(t)));
      }
      p = put(<u16>unchecked(nA[m]), dist(pt), dist(pf), unchecked(nB[m]));
    }
    unchecked(pos[m] = p);
    sp--;
  }
  return unchecked(pos[n]);
}

/** Instructions the last compilePolicy laid out (also when it returned C_ERR_TOO_LONG). */
export function compiledLength(): i32 {
  return outCount;
}

// ---- entry point ---------------------------------------------------------------------------
/**
 * Compiles the encoded policy at `input` (`words` u32 words) into `out` (room for `cap`
 * instructions, 8 bytes each, canonical little-endian). Returns the instruction count, or a
 * negative C_ERR_* code.
 */
export function compilePolicy(input: usize, words: u32, out: usize, cap: u32): i32 {
  inPtr = input;
  inLen = words;
  inPos = 0;
  inBad = false;
  overflow = false;
  dry = false;
  nodeCount = 0;
  outCount = 0;
  for (let i = 0; i < HASH_SIZE; i++) unchecked(table[i] = 0);

  if (rd() != C_VERSION) return C_ERR_FORMAT;
  const flags = rd();
  bigEndian = (flags & C_FLAG_BIG_ENDIAN) != 0;
  const weighted = (flags & C_FLAG_WEIGHTS) != 0;
  const mismatch = rd();
  const groups = <i32>rd();
  if (inBad || groups < 0 || groups > 64) return C_ERR_FORMAT;

  const groupEntry = new StaticArray<u32>(64);
  const groupToken = new StaticArray<u32>(64);
  for (let g = 0; g < groups; g++) {
    groupToken[g] = rd();
    hzCount = <i32>rd();
    if (inBad || hzCount < 0 || hzCount > 8) return C_ERR_FORMAT;
    for (let h = 0; h < hzCount; h++) {
      unchecked(hzLo[h] = rd());
      unchecked(hzHi[h] = rd());
    }
    wCount = 0;
    if (weighted) {
      const nw = <i32>rd();
      if (inBad || nw < 0 || nw > MAX_WEIGHTS) return C_ERR_FORMAT;
      for (let i = 0; i < nw; i++) {
        unchecked(wNr[i] = rd());
        unchecked(wVal[i] = rd());
        if (i > 0 && unchecked(wNr[i]) <= unchecked(wNr[i - 1])) return C_ERR_FORMAT; // sorted, distinct
      }
      wCount = nw;
    }
    const nbg = <i32>rd();
    if (inBad || nbg < 1 || nbg > 64) return C_ERR_FORMAT;
    for (let i = 0; i < nbg; i++) {
      unchecked(bgLo[i] = rd());
      unchecked(bgHi[i] = rd());
      unchecked(bgAct[i] = rd());
    }
    const nsys = <i32>rd();
    if (inBad || nsys < 0 || nsys >= MAX_SEGS) return C_ERR_FORMAT;
    for (let s = 0; s < nsys; s++) {
      const nr = rd();
      const nrules = <i32>rd();
      if (inBad || nrules < 0 || nrules >= MAX_RULES) return C_ERR_FORMAT;
      let cpos = 0;
      for (let r = 0; r < nrules; r++) {
        unchecked(rAction[r] = rd());
        const nc = <i32>rd();
        if (inBad || nc < 0 || cpos + nc >= MAX_CONDS) return C_ERR_FORMAT;
        unchecked(rFirst[r] = cpos);
        unchecked(rCount[r] = nc);
        for (let c = 0; c < nc; c++) {
          unchecked(cIndex[cpos] = rd());
          unchecked(cWidth[cpos] = rd());
          unchecked(cOp[cpos] = rd());
          unchecked(cVlo[cpos] = rd());
          unchecked(cVhi[cpos] = rd());
          unchecked(cMlo[cpos] = rd());
          unchecked(cMhi[cpos] = rd());
          if (unchecked(cIndex[cpos]) > 5 || unchecked(cOp[cpos]) > C_OP_MASKED_EQ) return C_ERR_FORMAT;
          cpos++;
        }
      }
      if (inBad) return C_ERR_FORMAT;
      unchecked(sysNr[s] = nr);
      unchecked(sysNode[s] = syscallBlock(nrules, bgAction(nr, nbg)));
    }
    // Segments: walk the background runs (sorted, covering 0..0xffffffff) and drop the
    // syscalls in. 64-bit cursor: the run may end at 0xffffffff.
    segCount = 0;
    let s = 0;
    let expect: u64 = 0;
    for (let i = 0; i < nbg; i++) {
      const lo = unchecked(bgLo[i]);
      const hi = unchecked(bgHi[i]);
      if (<u64>lo != expect || hi < lo) return C_ERR_FORMAT;
      const bgNode = ret(unchecked(bgAct[i]));
      let cur: u64 = <u64>lo;
      while (s < nsys && unchecked(sysNr[s]) <= hi) {
        const nr = <u64>unchecked(sysNr[s]);
        if (nr < cur) return C_ERR_FORMAT; // unsorted or duplicate
        if (nr > cur) pushSeg(<u32>cur, bgNode);
        pushSeg(<u32>nr, unchecked(sysNode[s]));
        s++;
        cur = nr + 1;
      }
      if (cur <= <u64>hi) pushSeg(<u32>cur, bgNode);
      expect = <u64>hi + 1;
    }
    if (expect != 0x100000000) return C_ERR_FORMAT;
    if (s != nsys) return C_ERR_FORMAT;
    weigh();
    groupEntry[g] = ld(0, tree(0, segCount - 1));
    if (overflow) return C_ERR_NODES;
  }
  // Arch dispatch: jeq chain over the tokens, then the mismatch action.
  let entry = ret(mismatch);
  for (let g = groups - 1; g >= 0; g--) {
    entry = jmp(JMP_JEQ_K, groupToken[g], groupEntry[g], entry, 4, 0xffffffff);
  }
  entry = ld(4, entry);
  if (overflow) return C_ERR_NODES;

  for (let i = 0; i < nodeCount; i++) unchecked(pos[i] = -1);
  emit(entry);
  if (overflow) return C_ERR_NODES;
  if (<u32>outCount > BPF_MAXINSNS) return C_ERR_TOO_LONG;
  if (<u32>outCount > cap) return outCount;
  // Flip into program order.
  for (let i = 0; i < outCount; i++) {
    const r = outCount - 1 - i;
    const p = out + (<usize>i << 3);
    store<u16>(p, unchecked(oCode[r]));
    store<u8>(p, unchecked(oJt[r]), 2);
    store<u8>(p, unchecked(oJf[r]), 3);
    store<u32>(p, unchecked(oK[r]), 4);
  }
  return outCount;
}
