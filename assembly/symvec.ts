// Bit vectors for the symbolic engine (assembly/sym.ts maps its rooms): a register's 32 bits as
// BDDs over the input bits, hash-consed so equal contents are equal ids; the ALU as bit-level
// circuits (ripple-carry add/sub, shift-and-add multiply, restoring division, barrel shifts by X
// mod 32); and comparisons of two vectors as one BDD. This is the transfer function's
// arithmetic; the transfer function is in symstate.ts, the analyses that use it in sympart.ts
// and symrel.ts.
//
// Owns: the vector pool and its hash table (allocated on the first symReset, like the BDD
// storage), the pool's overflow flag, and whether vWord fixes the current cube's bits (setCubeOn).
import {
  FALSE, TRUE, bddVar, bddAnd, bddOr, bddXor, bddNot, bddIte, overflowed,
  cubeMask, cubeValue, bddRestrictCube,
} from "./bdd";

// ---- vectors -------------------------------------------------------------------------------
// Allocated on first use (symReset), like the BDD storage.
const MAX_VECS: i32 = 1 << 16;
let pVecBits: usize = 0;
let vecCount: i32 = 0;
const VEC_HASH_SIZE: i32 = 1 << 17;
let pVecHash: usize = 0;
export let vecOverflow = false;

export function vecReset(): void {
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
@inline export function bit(v: i32, i: i32): u32 {
  return load<u32>(vb(v, i));
}

export function vConst(k: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = ((k >>> i) & 1) != 0 ? TRUE : FALSE);
  return intern();
}

// Under a cube (the relational analysis's forks), loads see the cube's fixed bits as constants.
let cubeOn = false;

/** Turns the current cube on or off for loads (vWord). */
export function setCubeOn(on: bool): void {
  cubeOn = on;
}

export function vWord(word: u32): i32 {
  const m = cubeOn ? unchecked(cubeMask[word]) : 0;
  const val = unchecked(cubeValue[word]);
  for (let i = 0; i < 32; i++) {
    const b: u32 = <u32>1 << <u32>i;
    unchecked(tmp[i] = (m & b) != 0 ? ((val & b) != 0 ? TRUE : FALSE) : bddVar(word * 32 + (31 - <u32>i)));
  }
  return intern();
}

/** v with the current cube's bits fixed. */
export function vRestrict(v: i32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddRestrictCube(bit(v, i)));
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

export function vAnd(a: i32, b: i32): i32 {
  load2(a, b);
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddAnd(unchecked(ta[i]), unchecked(tb[i])));
  return intern();
}
export function vOr(a: i32, b: i32): i32 {
  load2(a, b);
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddOr(unchecked(ta[i]), unchecked(tb[i])));
  return intern();
}
export function vXor(a: i32, b: i32): i32 {
  load2(a, b);
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = bddXor(unchecked(ta[i]), unchecked(tb[i])));
  return intern();
}

/** a + b + carryIn (ripple carry). */
export function vAdd(a: i32, b: i32, carryIn: u32): i32 {
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

export function vSub(a: i32, b: i32): i32 {
  return vAdd(a, vNot(b), TRUE); // a + ~b + 1
}

export function vShlConst(a: i32, k: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = <u32>i >= k ? bit(a, i - <i32>k) : FALSE);
  return intern();
}

export function vShrConst(a: i32, k: u32): i32 {
  for (let i = 0; i < 32; i++) unchecked(tmp[i] = <u32>i + k < 32 ? bit(a, i + <i32>k) : FALSE);
  return intern();
}

/** Shift by X mod 32: a barrel shifter over the low five bits of X. */
export function vShiftX(a: i32, x: i32, left: bool): i32 {
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
export function vMul(a: i32, b: i32): i32 {
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
export function vDiv(a: i32, b: i32): i32 {
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
// Bits are combined from the least significant up: for a loaded word that is the deepest
// variable first, so each step adds nodes on top instead of rebuilding the whole result. A bit
// of b that is a constant (every K comparison) needs one operation instead of several.
export function eqBdd(a: i32, b: i32): u32 {
  let r = TRUE;
  for (let i = 0; i < 32 && r != FALSE; i++) {
    const x = bit(a, i);
    const y = bit(b, i);
    const same = y == TRUE ? x : y == FALSE ? bddNot(x) : bddNot(bddXor(x, y));
    r = bddAnd(same, r);
  }
  return r;
}

/** a > b unsigned; from the least significant bit up: gt = a&~b | ~(a^b) & gtLower. */
export function gtBdd(a: i32, b: i32): u32 {
  return orderBdd(a, b, FALSE);
}

export function geBdd(a: i32, b: i32): u32 {
  return orderBdd(a, b, TRUE);
}

/** a > b (r0 = FALSE) or a >= b (r0 = TRUE), unsigned. */
function orderBdd(a: i32, b: i32, r0: u32): u32 {
  let r = r0;
  for (let i = 0; i < 32; i++) {
    const x = bit(a, i);
    const y = bit(b, i);
    if (y == TRUE) r = bddAnd(x, r); // this bit of a must be 1, and the lower bits decide
    else if (y == FALSE) r = bddOr(x, r); // a 1 here wins, a 0 leaves the lower bits to decide
    else r = bddOr(bddAnd(x, bddNot(y)), bddAnd(bddNot(bddXor(x, y)), r));
  }
  return r;
}

export function setBdd(a: i32, b: i32): u32 {
  let r = FALSE;
  for (let i = 0; i < 32; i++) {
    const y = bit(b, i);
    if (y == FALSE) continue;
    r = bddOr(y == TRUE ? bit(a, i) : bddAnd(bit(a, i), y), r);
  }
  return r;
}
