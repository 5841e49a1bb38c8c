// A reduced ordered binary decision diagram (BDD) package over the 512 input bits of
// seccomp_data: 16 words of 32 bits. Variable v = word * 32 + (31 - bit): words in offset order
// (nr, arch, ip, args), each most significant bit first, so that the syscall number and arch
// are decided first and a word's value ranges are contiguous subtrees.
//
// Nodes are hash-consed (one node per (var, lo, hi)), so two functions are equal exactly when
// their node ids are equal; that is what makes the verifier's answers exact and canonical.
// Every operation checks the node budget; when it is exceeded `overflowed` is set and the
// caller must answer "inconclusive" instead of yes or no.

import { BDD_NODE_CAP, BDD_VARS, BDD_FALSE, BDD_TRUE } from "./contract";

/** The two terminal nodes: the empty set and the set of every input (the host's FALSE/TRUE). */
export const FALSE: u32 = BDD_FALSE;
export const TRUE: u32 = BDD_TRUE;

export const VARS: u32 = BDD_VARS;
const TERMINAL_VAR: u32 = 0xffff;

// BDD storage is allocated on the first bddReset, so programs that never verify anything (check,
// run, compile) do not pay for it: node records, the unique table and the computed caches, as
// raw u32 arrays, about 100 MiB at the default budget. The rest of the engine's static tables
// are allocated at instantiation (32 MiB in all; docs/architecture.md, "Engine memory").
const NODE_CAP: u32 = BDD_NODE_CAP;
let maxNodes: u32 = NODE_CAP;
// One 16-byte record per node (var, lo, hi, unique-table slot): a node visit touches one cache
// line instead of one per field.
let pNodes: usize = 0;
let count: u32 = 2;
export let overflowed = false;

const UNIQUE_BITS: u32 = 22;
const UNIQUE_SIZE: u32 = 1 << UNIQUE_BITS;
let pUnique: usize = 0;

const CACHE_BITS: u32 = 20;
const CACHE_SIZE: u32 = 1 << CACHE_BITS;
let pCache: usize = 0; // 4 u32 per entry: tag (epoch << 4 | op), a, b, result
// Resetting must be cheap (a verify call resets once per relation): the unique table is cleared
// slot by slot for the nodes that were made (each node record keeps its slot), and cache
// entries of earlier resets are told apart by an epoch stamp instead of being zeroed.
let epoch: u32 = 1;

// @ts-ignore: decorator
@inline function at(p: usize, i: u32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function rec(n: u32): usize {
  return pNodes + (<usize>n << 4);
}

/** Forgets every node; `budget` caps the node count (at most 2^21). */
export function bddReset(budget: u32): void {
  if (pNodes == 0) {
    pNodes = heap.alloc(<usize>NODE_CAP << 4);
    pUnique = heap.alloc(<usize>UNIQUE_SIZE << 2);
    pCache = heap.alloc(<usize>CACHE_SIZE << 4);
    memory.fill(pUnique, 0, <usize>UNIQUE_SIZE << 2);
    memory.fill(pCache, 0, <usize>CACHE_SIZE << 4);
  } else {
    for (let n: u32 = 2; n < count; n++) store<u32>(at(pUnique, load<u32>(rec(n), 12)), 0);
  }
  epoch++;
  if (epoch >= (1 << 27)) {
    epoch = 1;
    memory.fill(pCache, 0, <usize>CACHE_SIZE << 4);
    if (pIte != 0) memory.fill(pIte, 0, <usize>ITE_SIZE * 20);
  }
  maxNodes = budget < 16 ? 16 : budget > NODE_CAP ? NODE_CAP : budget;
  count = 2;
  overflowed = false;
  store<u32>(rec(0), TERMINAL_VAR);
  store<u32>(rec(1), TERMINAL_VAR);
}

export function nodeCount(): u32 {
  return count;
}

/** The node budget of the current space. */
export function nodeBudget(): u32 {
  return maxNodes;
}

// @ts-ignore: decorator
@inline export function varOf(n: u32): u32 {
  return load<u32>(rec(n));
}
// @ts-ignore: decorator
@inline export function loOf(n: u32): u32 {
  return load<u32>(rec(n), 4);
}
// @ts-ignore: decorator
@inline export function hiOf(n: u32): u32 {
  return load<u32>(rec(n), 8);
}

function hash3(a: u32, b: u32, c: u32): u32 {
  let h = a * 0x9e3779b1;
  h ^= b + 0x7f4a7c15 + (h << 6) + (h >>> 2);
  h ^= c * 0x85ebca6b + (h << 6) + (h >>> 2);
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  h ^= h >>> 12;
  return h;
}

/** The node (v, lo, hi), reduced. */
export function mk(v: u32, lo: u32, hi: u32): u32 {
  if (lo == hi) return lo;
  return intern3(v, lo, hi);
}

/** The unique node (v, lo, hi), unreduced (leaves use it with v = TERMINAL_VAR). */
function intern3(v: u32, lo: u32, hi: u32): u32 {
  let slot = hash3(v, lo, hi) & (UNIQUE_SIZE - 1);
  while (true) {
    const n = load<u32>(at(pUnique, slot));
    if (n == 0) break;
    if (varOf(n) == v && loOf(n) == lo && hiOf(n) == hi) return n;
    slot = (slot + 1) & (UNIQUE_SIZE - 1);
  }
  if (count >= maxNodes || count >= (UNIQUE_SIZE >> 1)) {
    overflowed = true;
    return FALSE;
  }
  const n = count++;
  const r = rec(n);
  store<u32>(r, v);
  store<u32>(r, lo, 4);
  store<u32>(r, hi, 8);
  store<u32>(r, slot, 12);
  store<u32>(at(pUnique, slot), n);
  return n;
}

/** The single variable v (true when the input bit is 1). */
export function bddVar(v: u32): u32 {
  return mk(v, FALSE, TRUE);
}

const OP_AND: u32 = 1;
const OP_OR: u32 = 2;
const OP_XOR: u32 = 3;
const OP_EXISTS_WORD: u32 = 4;
const OP_PAIR: u32 = 5;
const OP_LEAF_SET: u32 = 6;
const OP_RESTRICT_CUBE: u32 = 7;
const OP_LEQ: u32 = 8;

function cacheGet(op: u32, a: u32, b: u32): i64 {
  const e = pCache + (<usize>(hash3(op, a, b) & (CACHE_SIZE - 1)) << 4);
  if (load<u32>(e) == ((epoch << 4) | op) && load<u32>(e, 4) == a && load<u32>(e, 8) == b) return <i64>load<u32>(e, 12);
  return -1;
}

function cachePut(op: u32, a: u32, b: u32, r: u32): void {
  const e = pCache + (<usize>(hash3(op, a, b) & (CACHE_SIZE - 1)) << 4);
  store<u32>(e, (epoch << 4) | op);
  store<u32>(e, a, 4);
  store<u32>(e, b, 8);
  store<u32>(e, r, 12);
}

function apply(op: u32, a: u32, b: u32): u32 {
  // Terminal cases.
  if (op == OP_AND) {
    if (a == FALSE || b == FALSE) return FALSE;
    if (a == TRUE) return b;
    if (b == TRUE || a == b) return a;
  } else if (op == OP_OR) {
    if (a == TRUE || b == TRUE) return TRUE;
    if (a == FALSE) return b;
    if (b == FALSE || a == b) return a;
  } else {
    if (a == b) return FALSE;
    if (a == FALSE) return b;
    if (b == FALSE) return a;
  }
  if (overflowed) return FALSE;
  // Commutative: normalise the order for the cache.
  if (a > b) {
    const t = a;
    a = b;
    b = t;
  }
  const c = cacheGet(op, a, b);
  if (c >= 0) return <u32>c;
  const va = varOf(a);
  const vb = varOf(b);
  let v: u32, a0: u32, a1: u32, b0: u32, b1: u32;
  if (va == vb) {
    v = va; a0 = loOf(a); a1 = hiOf(a); b0 = loOf(b); b1 = hiOf(b);
  } else if (va < vb) {
    v = va; a0 = loOf(a); a1 = hiOf(a); b0 = b; b1 = b;
  } else {
    v = vb; a0 = a; a1 = a; b0 = loOf(b); b1 = hiOf(b);
  }
  const r = mk(v, apply(op, a0, b0), apply(op, a1, b1));
  cachePut(op, a, b, r);
  return r;
}

export function bddAnd(a: u32, b: u32): u32 { return apply(OP_AND, a, b); }
export function bddOr(a: u32, b: u32): u32 { return apply(OP_OR, a, b); }
export function bddXor(a: u32, b: u32): u32 { return apply(OP_XOR, a, b); }
export function bddNot(a: u32): u32 { return apply(OP_XOR, a, TRUE); }
/** a and not b */
export function bddDiff(a: u32, b: u32): u32 { return apply(OP_AND, a, bddNot(b)); }
// If-then-else has three operands, so it keeps its own computed cache (tag, c, t, e, result).
const ITE_BITS: u32 = 19;
const ITE_SIZE: u32 = 1 << ITE_BITS;
let pIte: usize = 0;

/** if c then t else e, in one pass over the three graphs (no intermediate results). */
export function bddIte(c: u32, t: u32, e: u32): u32 {
  if (c == TRUE || t == e) return t;
  if (c == FALSE) return e;
  if (t == TRUE && e == FALSE) return c;
  if (t == FALSE && e == TRUE) return bddNot(c);
  if (t == TRUE || t == c) return bddOr(c, e);
  if (e == FALSE || e == c) return bddAnd(c, t);
  if (overflowed) return FALSE;
  if (pIte == 0) {
    pIte = heap.alloc(<usize>ITE_SIZE * 20);
    memory.fill(pIte, 0, <usize>ITE_SIZE * 20);
  }
  const slot = pIte + <usize>((hash3(c, t, e ^ 0x5bd1e995) & (ITE_SIZE - 1)) * 20);
  if (load<u32>(slot) == epoch && load<u32>(slot, 4) == c && load<u32>(slot, 8) == t && load<u32>(slot, 12) == e) {
    return load<u32>(slot, 16);
  }
  const vc = varOf(c);
  const vt = varOf(t);
  const ve = varOf(e);
  let v = vc < vt ? vc : vt;
  if (ve < v) v = ve;
  const c0 = vc == v ? loOf(c) : c;
  const c1 = vc == v ? hiOf(c) : c;
  const t0 = vt == v ? loOf(t) : t;
  const t1 = vt == v ? hiOf(t) : t;
  const e0 = ve == v ? loOf(e) : e;
  const e1 = ve == v ? hiOf(e) : e;
  const r = mk(v, bddIte(c0, t0, e0), bddIte(c1, t1, e1));
  store<u32>(slot, epoch);
  store<u32>(slot, c, 4);
  store<u32>(slot, t, 8);
  store<u32>(slot, e, 12);
  store<u32>(slot, r, 16);
  return r;
}

/** ∃ every variable of `word`: f. */
export function bddExistsWord(f: u32, word: u32): u32 {
  if (f <= TRUE || overflowed) return f;
  const v = varOf(f);
  const first = word * 32;
  if (v >= first + 32) return f; // below the word: nothing to quantify
  const c = cacheGet(OP_EXISTS_WORD, f, word);
  if (c >= 0) return <u32>c;
  const lo = bddExistsWord(loOf(f), word);
  const hi = bddExistsWord(hiOf(f), word);
  const r = v >= first ? bddOr(lo, hi) : mk(v, lo, hi);
  cachePut(OP_EXISTS_WORD, f, word, r);
  return r;
}

/** f with `word` fixed to `value` (the cofactor). */
export function bddRestrictWord(f: u32, word: u32, value: u32): u32 {
  if (f <= TRUE) return f;
  const v = varOf(f);
  const first = word * 32;
  if (v >= first + 32) return f;
  if (v >= first) {
    const bit = 31 - (v - first);
    return bddRestrictWord(((value >>> bit) & 1) != 0 ? hiOf(f) : loOf(f), word, value);
  }
  return mk(v, bddRestrictWord(loOf(f), word, value), bddRestrictWord(hiOf(f), word, value));
}

/**
 * One satisfying assignment of f (f must not be FALSE), written as 16 u32 words at `out`;
 * unconstrained bits are 0. Prefers the 0 branch, so values are small where free.
 */
export function bddSatOne(f: u32, out: usize): bool {
  for (let i = 0; i < 16; i++) store<u32>(out + (<usize>i << 2), 0);
  if (f == FALSE) return false;
  let n = f;
  while (n > TRUE) {
    const v = varOf(n);
    if (loOf(n) != FALSE) {
      n = loOf(n);
    } else {
      const word = v >> 5;
      const bit = 31 - (v & 31);
      const p = out + (<usize>word << 2);
      store<u32>(p, load<u32>(p) | (<u32>1 << bit));
      n = hiOf(n);
    }
  }
  return true;
}

/**
 * The values of `word` for which f (already free of every other variable, e.g. after
 * bddExistsWord on the others) holds, as inclusive ranges (lo, hi) written at `out`. Returns the
 * number of ranges, or -1 when there are more than `cap`.
 */
export function bddWordRanges(f: u32, word: u32, out: usize, cap: u32): i32 {
  rangeCount = 0;
  rangeCap = cap;
  rangeOut = out;
  rangeOverflow = false;
  collect(f, word, 0, 0);
  return rangeOverflow ? -1 : <i32>rangeCount;
}

let rangeCount: u32 = 0;
let rangeCap: u32 = 0;
let rangeOut: usize = 0;
let rangeOverflow = false;

/** Walks the word's bits from the most significant; `depth` bits of `prefix` are fixed. */
function collect(f: u32, word: u32, depth: u32, prefix: u32): void {
  if (f == FALSE || rangeOverflow) return;
  const first = word * 32;
  // The next variable of the word to decide, if f tests it now.
  const v = f <= TRUE ? 0xffffffff : varOf(f);
  const here = first + depth;
  if (depth == 32) {
    addRange(prefix, prefix);
    return;
  }
  if (f == TRUE || v >= first + 32 || v < first) {
    // f does not depend on the remaining bits: the whole subrange.
    const span: u32 = depth == 0 ? 0xffffffff : ((<u32>1 << (32 - depth)) - 1);
    const lo = depth == 0 ? 0 : prefix << (32 - depth);
    addRange(lo, lo + span);
    return;
  }
  if (v > here) {
    // Bit `depth` is free here: both halves with the same f.
    collect(f, word, depth + 1, prefix << 1);
    collect(f, word, depth + 1, (prefix << 1) | 1);
    return;
  }
  collect(loOf(f), word, depth + 1, prefix << 1);
  collect(hiOf(f), word, depth + 1, (prefix << 1) | 1);
}

function addRange(lo: u32, hi: u32): void {
  // Merge with the previous range when adjacent (the walk is in increasing order).
  if (rangeCount > 0) {
    const prevHi = load<u32>(rangeOut + (<usize>(rangeCount - 1) << 3), 4);
    if (prevHi != 0xffffffff && prevHi + 1 == lo) {
      store<u32>(rangeOut + (<usize>(rangeCount - 1) << 3), hi, 4);
      return;
    }
  }
  if (rangeCount >= rangeCap) {
    rangeOverflow = true;
    return;
  }
  store<u32>(rangeOut + (<usize>rangeCount << 3), lo);
  store<u32>(rangeOut + (<usize>rangeCount << 3), hi, 4);
  rangeCount++;
}

/** The set "word == value" (a chain of 32 nodes). */
export function bddWordEquals(word: u32, value: u32): u32 {
  let n = TRUE;
  for (let bit: u32 = 0; bit < 32; bit++) {
    const v = word * 32 + (31 - bit);
    n = ((value >>> bit) & 1) != 0 ? mk(v, FALSE, n) : mk(v, n, FALSE);
  }
  return n;
}

/** Node fields, for hosts that walk a diagram (cube enumeration in explain). */
export function bddNodeVar(n: u32): u32 { return n <= TRUE ? 0xffffffff : varOf(n); }
export function bddNodeLo(n: u32): u32 { return loOf(n); }
export function bddNodeHi(n: u32): u32 { return hiOf(n); }

// ---- multi-terminal diagrams ------------------------------------------------------------------
// The backward and relational analyses (assembly/sympart.ts, assembly/symrel.ts) build
// decision diagrams whose terminals carry a payload: a *leaf* is a node with the terminal
// variable and two payload words (for example a return-value vector id), hash-consed like every
// other node. A diagram over leaves says which payload applies to each input; FALSE may serve
// as one more leaf. Leaves sort below every input variable, so bddIte with a boolean condition
// combines such diagrams unchanged, and bddAnd(c, f) keeps f where c holds and is FALSE elsewhere.

/** The leaf carrying (a, b). */
export function mtLeaf(a: u32, b: u32): u32 {
  if (overflowed) return FALSE;
  return intern3(TERMINAL_VAR, a, b);
}

/**
 * The diagram of leaf pairs: FALSE where f and g reach the same leaf, otherwise the leaf
 * (payload a of f's leaf, payload a of g's leaf).
 */
export function mtPair(f: u32, g: u32): u32 {
  if (f == g || overflowed) return FALSE;
  const vf = varOf(f);
  const vg = varOf(g);
  if (vf == TERMINAL_VAR && vg == TERMINAL_VAR) return mtLeaf(loOf(f), loOf(g));
  const c = cacheGet(OP_PAIR, f, g);
  if (c >= 0) return <u32>c;
  const v = vf < vg ? vf : vg;
  const r = mk(v,
    mtPair(vf == v ? loOf(f) : f, vg == v ? loOf(g) : g),
    mtPair(vf == v ? hiOf(f) : f, vg == v ? hiOf(g) : g));
  cachePut(OP_PAIR, f, g, r);
  return r;
}

/** The inputs on which diagram f reaches `leaf`. */
export function mtLeafSet(f: u32, leaf: u32): u32 {
  if (f == leaf) return TRUE;
  if (f <= TRUE || varOf(f) == TERMINAL_VAR || overflowed) return FALSE;
  const c = cacheGet(OP_LEAF_SET, f, leaf);
  if (c >= 0) return <u32>c;
  const r = mk(varOf(f), mtLeafSet(loOf(f), leaf), mtLeafSet(hiOf(f), leaf));
  cachePut(OP_LEAF_SET, f, leaf, r);
  return r;
}

// Visit marks for mtLeaves, allocated on first use and told apart by a stamp.
let pMark: usize = 0;
let markStamp: u32 = 0;
const leafList = new StaticArray<u32>(4096);
let leafCount: i32 = 0;

/**
 * The distinct leaves diagram f reaches, in leafAt(0 .. n-1); returns n, or -1 when there are
 * more than 4096.
 */
export function mtLeaves(f: u32): i32 {
  if (pMark == 0) {
    pMark = heap.alloc(<usize>NODE_CAP << 2);
    memory.fill(pMark, 0, <usize>NODE_CAP << 2);
  }
  markStamp++;
  if (markStamp == 0) {
    memory.fill(pMark, 0, <usize>NODE_CAP << 2);
    markStamp = 1;
  }
  leafCount = 0;
  collectLeaves(f);
  return leafCount;
}

function collectLeaves(f: u32): void {
  if (f <= TRUE || leafCount < 0) return;
  if (load<u32>(at(pMark, f)) == markStamp) return;
  store<u32>(at(pMark, f), markStamp);
  if (varOf(f) == TERMINAL_VAR) {
    if (leafCount >= 4096) { leafCount = -1; return; }
    unchecked(leafList[leafCount++] = f);
    return;
  }
  collectLeaves(loOf(f));
  collectLeaves(hiOf(f));
}

export function leafAt(i: i32): u32 {
  return unchecked(leafList[i]);
}

// ---- cubes ----------------------------------------------------------------------------------
// A cube fixes some input bits and leaves the rest free: per word, a mask of fixed bits and
// their values. The relational analysis re-analyses code under a cube (assembly/symrel.ts).
export const cubeMask = new StaticArray<u32>(16);
export const cubeValue = new StaticArray<u32>(16);
let cubeStamp: u32 = 0;

/** When f is a cube (one path to TRUE), stores it in cubeMask/cubeValue and returns true. */
export function bddToCube(f: u32): bool {
  if (f == FALSE) return false;
  for (let w = 0; w < 16; w++) { unchecked(cubeMask[w] = 0); unchecked(cubeValue[w] = 0); }
  let n = f;
  while (n != TRUE) {
    const lo = loOf(n);
    const hi = hiOf(n);
    let one: bool;
    if (lo == FALSE) one = true;
    else if (hi == FALSE) one = false;
    else return false;
    const v = varOf(n);
    const w = v >> 5;
    const m: u32 = <u32>1 << (31 - (v & 31));
    unchecked(cubeMask[w] = unchecked(cubeMask[w]) | m);
    if (one) unchecked(cubeValue[w] = unchecked(cubeValue[w]) | m);
    n = one ? hi : lo;
  }
  cubeStamp++; // a new cube: cached restrictions of the previous one no longer apply
  return true;
}

/** f with the bits of the current cube fixed (f's cofactor by the cube). */
export function bddRestrictCube(f: u32): u32 {
  if (f <= TRUE || overflowed) return f;
  const v = varOf(f);
  if (v == TERMINAL_VAR) return f;
  const w = v >> 5;
  const m: u32 = <u32>1 << (31 - (v & 31));
  if ((unchecked(cubeMask[w]) & m) != 0) {
    return bddRestrictCube((unchecked(cubeValue[w]) & m) != 0 ? hiOf(f) : loOf(f));
  }
  const c = cacheGet(OP_RESTRICT_CUBE, f, cubeStamp);
  if (c >= 0) return <u32>c;
  const r = mk(v, bddRestrictCube(loOf(f)), bddRestrictCube(hiOf(f)));
  cachePut(OP_RESTRICT_CUBE, f, cubeStamp, r);
  return r;
}

/** a implies b (a ⊆ b), decided without building any node. */
export function bddLeq(a: u32, b: u32): bool {
  if (a == FALSE || b == TRUE || a == b) return true;
  if (a == TRUE || b == FALSE) return false;
  const c = cacheGet(OP_LEQ, a, b);
  if (c >= 0) return c != 0;
  const va = varOf(a);
  const vb = varOf(b);
  const v = va < vb ? va : vb;
  const r = bddLeq(va == v ? loOf(a) : a, vb == v ? loOf(b) : b) && bddLeq(va == v ? hiOf(a) : a, vb == v ? hiOf(b) : b);
  cachePut(OP_LEQ, a, b, r ? 1 : 0);
  return r;
}
