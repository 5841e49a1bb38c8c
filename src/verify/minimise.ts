// The condition minimiser: an exact set of argument values (a BDD over the argument words, from
// the symbolic engine) stated as a person writes it, in the forms the dialects have: `==`, `!=`,
// `<`, `<=`, `>`, `>=`, ranges, `& mask == value` and `in {…}`, per argument over both words of
// a 64-bit argument, and as few of them as this finds.
//
// How. A set over arguments 0..5 is split at the first argument it reads into *classes*: the
// distinct diagrams below that argument's 64 variables (what the rest must satisfy) and, for
// each, the values of the argument that lead to it. Each class becomes a product "arg in V and
// (the rest)", the rest split the same way. Two exact refinements keep the result as short as
// the policy it came from: a class whose rest is contained in another's may take that other
// class's values too (the union is unchanged), and a class then only needs what those wider
// classes do not already give. Each argument's value set is stated by the cheapest of its
// value intervals (points, one-sided compares, ranges, `!=`), and its mask cubes (merged where
// they differ in one bit); the cost is the number of comparisons a policy needs to say it.
//
// Every answer is proven: the minimised condition is built back into a diagram and must be the
// same node as the input set, otherwise the caller gets nothing (and states the set another way).
import { engine } from "../engine/wasm.js";
import { InternalError } from "../errors.js";
import type { ArgCondition } from "../policy/ir.js";
import { SymbolicSpace, Inconclusive, FALSE, TRUE } from "./symbolic.js";

/** One argument's values: OR of terms, a term being an AND of comparisons on that argument. */
export interface ArgSet {
  index: number;
  width: 32 | 64;
  terms: ArgCondition[][];
}

/** A product: every argument set holds. No sets: always. */
export type Product = ArgSet[];

/** A minimised condition: OR of products. No products: never. */
export interface Condition {
  products: Product[];
}

export type Endian = "le" | "be";

export interface MinimiseOptions {
  /** At most one comparison per argument in a rule (OCI): no ranges, no `!=` chains. */
  oneCompPerArg?: boolean;
}

const MAX32 = 0xffffffffn;
const MAX64 = (1n << 64n) - 1n;
/** Caps that keep the work bounded on adversarial sets; past them the set is not minimised. */
const MAX_CLASSES = 64;
const MAX_INTERVALS = 64;
const MAX_CUBES = 64;
/** Up to this many values are listed as `in {…}` rather than merged into mask cubes. */
const MAX_POINTS = 32;
const NO_VAR = 0xffffffff;

const varOf = (n: number): number => engine().bddNodeVar(n) >>> 0;
const wordOfVar = (v: number): number => v >>> 5;
const argOfWord = (w: number): number => (w - 4) >> 1;

/** The words (first in variable order, second) of argument i, and which one is the high half. */
function argWords(i: number, endian: Endian): { first: number; second: number; lo: number; hi: number } {
  const first = 4 + 2 * i;
  const second = first + 1;
  return endian === "le" ? { first, second, lo: first, hi: second } : { first, second, lo: second, hi: first };
}

// ---- building diagrams bit by bit -----------------------------------------------------------

function mk(space: SymbolicSpace, v: number, lo: number, hi: number): number {
  const r = engine().bddMk(v, lo, hi) >>> 0;
  if (r === 0xffffffff) throw new InternalError(`unordered BDD node (${v}, ${lo}, ${hi})`);
  if (space.overflowed) throw new Inconclusive("the BDD node budget was exceeded");
  return r;
}

/** The variable of bit b (0 = least significant) of word w. */
const bitVar = (w: number, b: number): number => w * 32 + (31 - b);

/** word w <= v (unsigned 32-bit). Built from the least significant bit up (deepest first). */
export function wordLe(space: SymbolicSpace, w: number, v: number): number {
  let r = TRUE;
  for (let b = 0; b < 32; b++) r = (v >>> b) & 1 ? mk(space, bitVar(w, b), TRUE, r) : mk(space, bitVar(w, b), r, FALSE);
  return r;
}

/** word w >= v. */
export function wordGe(space: SymbolicSpace, w: number, v: number): number {
  let r = TRUE;
  for (let b = 0; b < 32; b++) r = (v >>> b) & 1 ? mk(space, bitVar(w, b), FALSE, r) : mk(space, bitVar(w, b), r, TRUE);
  return r;
}

/** word w & m == v. */
export function wordMasked(space: SymbolicSpace, w: number, m: number, v: number): number {
  let r = TRUE;
  for (let b = 0; b < 32; b++) {
    if (!((m >>> b) & 1)) continue;
    r = (v >>> b) & 1 ? mk(space, bitVar(w, b), FALSE, r) : mk(space, bitVar(w, b), r, FALSE);
  }
  return r;
}

/** word w in [lo, hi]. */
export function wordRange(space: SymbolicSpace, w: number, lo: number, hi: number): number {
  return space.and(wordGe(space, w, lo), wordLe(space, w, hi));
}

const lo32 = (x: bigint): number => Number(x & MAX32);
const hi32 = (x: bigint): number => Number((x >> 32n) & MAX32);

/** The set of inputs where comparison c holds on argument c.index. */
export function conditionSetOf(space: SymbolicSpace, c: ArgCondition, endian: Endian): number {
  const { lo, hi } = argWords(c.index, endian);
  const max = c.width === 32 ? MAX32 : MAX64;
  const le = (x: bigint): number =>
    c.width === 32
      ? wordLe(space, lo, lo32(x))
      : space.or(hi32(x) > 0 ? wordLe(space, hi, hi32(x) - 1) : FALSE, space.and(space.wordEquals(hi, hi32(x)), wordLe(space, lo, lo32(x))));
  const ge = (x: bigint): number =>
    c.width === 32
      ? wordGe(space, lo, lo32(x))
      : space.or(hi32(x) < 0xffffffff ? wordGe(space, hi, hi32(x) + 1) : FALSE, space.and(space.wordEquals(hi, hi32(x)), wordGe(space, lo, lo32(x))));
  const masked = (m: bigint, v: bigint): number =>
    c.width === 32 ? wordMasked(space, lo, lo32(m), lo32(v)) : space.and(wordMasked(space, hi, hi32(m), hi32(v)), wordMasked(space, lo, lo32(m), lo32(v)));
  const v = c.value & max;
  switch (c.op) {
    case "eq": return masked(max, v);
    case "ne": return space.not(masked(max, v));
    case "le": return le(v);
    case "lt": return v === 0n ? FALSE : le(v - 1n);
    case "ge": return ge(v);
    case "gt": return v === max ? FALSE : ge(v + 1n);
    case "masked_eq": return masked(c.mask! & max, v);
  }
}

/** The set a condition describes (over the argument words). */
export function conditionSet(space: SymbolicSpace, cond: Condition, endian: Endian): number {
  let r = FALSE;
  for (const p of cond.products) {
    let prod = TRUE;
    for (const a of p) {
      let alts = FALSE;
      for (const t of a.terms) {
        let all = TRUE;
        for (const c of t) all = space.and(all, conditionSetOf(space, c, endian));
        alts = space.or(alts, all);
      }
      prod = space.and(prod, alts);
    }
    r = space.or(r, prod);
  }
  return r;
}

// ---- splitting a set at one argument ------------------------------------------------------

/** The distinct diagrams first reached below variable `end` (FALSE left out). */
function frontier(f: number, end: number): number[] {
  const e = engine();
  const seen = new Set<number>();
  const out: number[] = [];
  const stack = [f];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n === FALSE) continue;
    if (n === TRUE || varOf(n) >= end) {
      out.push(n);
      if (out.length > MAX_CLASSES) return out;
      continue;
    }
    stack.push(e.bddNodeLo(n), e.bddNodeHi(n));
  }
  return out;
}

/** The assignments of the variables above `end` that lead from f to `target`. */
function pathsTo(space: SymbolicSpace, f: number, end: number, target: number, memo = new Map<number, number>()): number {
  if (f === target) return TRUE;
  if (f <= TRUE || varOf(f) >= end) return FALSE;
  const known = memo.get(f);
  if (known !== undefined) return known;
  const e = engine();
  const r = mk(space, varOf(f), pathsTo(space, e.bddNodeLo(f), end, target, memo), pathsTo(space, e.bddNodeHi(f), end, target, memo));
  memo.set(f, r);
  return r;
}

/** True when f reads a variable of word w. */
function readsWord(f: number, w: number): boolean {
  const e = engine();
  const seen = new Set<number>();
  const stack = [f];
  while (stack.length) {
    const n = stack.pop()!;
    if (n <= TRUE || seen.has(n)) continue;
    seen.add(n);
    const v = varOf(n);
    if (v === NO_VAR) continue;
    if (wordOfVar(v) === w) return true;
    if (wordOfVar(v) > w) continue;
    stack.push(e.bddNodeLo(n), e.bddNodeHi(n));
  }
  return false;
}

// ---- one argument's values ------------------------------------------------------------------

type Interval = [bigint, bigint];

function mergeIntervals(iv: Interval[]): Interval[] {
  iv.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (const [a, b] of iv) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  return out;
}

function wordIntervals(space: SymbolicSpace, f: number, w: number): Interval[] | undefined {
  if (f === TRUE) return [[0n, MAX32]];
  const r = space.wordRanges(f, w, MAX_INTERVALS);
  return r?.map(([a, b]) => [BigInt(a), BigInt(b)]);
}

/** The values of a 64-bit argument in f (which reads only its two words) as intervals. */
function argIntervals(space: SymbolicSpace, f: number, i: number, endian: Endian): Interval[] | undefined {
  const { first, second } = argWords(i, endian);
  const end = second * 32; // the first word's variables end where the second's begin
  // Per class after the first word: (first-word values, second-word values).
  const pieces: { hi: Interval[]; lo: Interval[] }[] = [];
  const classes = frontier(f, end);
  if (classes.length > MAX_CLASSES) return undefined;
  for (const c of classes) {
    const a = wordIntervals(space, pathsTo(space, f, end, c), first);
    const b = wordIntervals(space, c, second);
    if (!a || !b) return undefined;
    pieces.push(endian === "le" ? { lo: a, hi: b } : { hi: a, lo: b });
  }
  // Split the high half at every boundary; within a segment the low half's set is fixed.
  const cuts = new Set<bigint>([0n, MAX32 + 1n]);
  for (const p of pieces) for (const [a, b] of p.hi) cuts.add(a).add(b + 1n);
  const bounds = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Interval[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const h1 = bounds[k], h2 = bounds[k + 1] - 1n;
    const los = mergeIntervals(pieces.filter((p) => p.hi.some(([a, b]) => a <= h1 && h2 <= b)).flatMap((p) => p.lo.map((x): Interval => [x[0], x[1]])));
    if (los.length === 0) continue;
    if (los.length === 1 && los[0][0] === 0n && los[0][1] === MAX32) out.push([h1 << 32n, (h2 << 32n) | MAX32]);
    else if (h1 === h2) for (const [a, b] of los) out.push([(h1 << 32n) | a, (h1 << 32n) | b]);
    else return undefined;
    if (out.length > MAX_INTERVALS) return undefined;
  }
  return mergeIntervals(out);
}

function complement(iv: Interval[], max: bigint): Interval[] {
  const out: Interval[] = [];
  let next = 0n;
  for (const [a, b] of iv) {
    if (a > next) out.push([next, a - 1n]);
    next = b + 1n;
  }
  if (next <= max) out.push([next, max]);
  return out;
}

function cond(index: number, width: 32 | 64, op: ArgCondition["op"], value: bigint, mask?: bigint): ArgCondition {
  return mask === undefined ? { index, width, op, value } : { index, width, op, value, mask };
}

/** Terms from value intervals: points, one-sided compares, ranges; `!=` from the complement. */
function intervalTerms(iv: Interval[], index: number, width: 32 | 64, oneComp: boolean): ArgCondition[][] | undefined {
  const max = width === 32 ? MAX32 : MAX64;
  const holes = complement(iv, max);
  if (holes.length > 0 && holes.every(([a, b]) => a === b) && (holes.length === 1 || (!oneComp && holes.length <= 8))) {
    return [holes.map(([a]) => cond(index, width, "ne", a))];
  }
  const terms: ArgCondition[][] = [];
  for (const [a, b] of iv) {
    if (a === b) terms.push([cond(index, width, "eq", a)]);
    else if (a === 0n) terms.push([cond(index, width, "le", b)]);
    else if (b === max) terms.push([cond(index, width, "ge", a)]);
    else if (oneComp) return undefined;
    else terms.push([cond(index, width, "ge", a), cond(index, width, "le", b)]);
  }
  return terms;
}

interface Cube {
  mask: bigint;
  value: bigint;
}

/** Merge cubes that differ in one fixed bit (same mask), until none do. */
function mergeCubes(cubes: Cube[]): Cube[] {
  let cur = cubes.map((c) => ({ ...c }));
  for (let changed = true; changed; ) {
    changed = false;
    outer: for (let x = 0; x < cur.length; x++) {
      for (let y = x + 1; y < cur.length; y++) {
        const a = cur[x], b = cur[y];
        if (a.mask !== b.mask) continue;
        const d = a.value ^ b.value;
        if (d !== 0n && (d & (d - 1n)) === 0n) {
          cur[x] = { mask: a.mask & ~d, value: a.value & ~d };
          cur.splice(y, 1);
          changed = true;
          break outer;
        }
      }
    }
  }
  return cur;
}

function cubeTerms(space: SymbolicSpace, f: number, index: number, width: 32 | 64, endian: Endian): ArgCondition[][] | undefined {
  const raw = space.cubes(f, MAX_CUBES);
  if (!raw) return undefined;
  const { lo, hi } = argWords(index, endian);
  const max = width === 32 ? MAX32 : MAX64;
  const cubes = mergeCubes(raw.map((c) => ({
    mask: (BigInt(c.mask[hi] >>> 0) << 32n | BigInt(c.mask[lo] >>> 0)) & max,
    value: (BigInt(c.value[hi] >>> 0) << 32n | BigInt(c.value[lo] >>> 0)) & max,
  })));
  return cubes.map((c) => [c.mask === max ? cond(index, width, "eq", c.value) : cond(index, width, "masked_eq", c.value, c.mask)]);
}

const termCost = (terms: ArgCondition[][]): number => terms.reduce((n, t) => n + t.length, 0);

/** Argument i's value set f (reading only its words; not TRUE) in the fewest comparisons found. */
function minimiseArg(space: SymbolicSpace, f: number, i: number, endian: Endian, opts: MinimiseOptions): ArgSet | undefined {
  const { hi, lo } = argWords(i, endian);
  const width: 32 | 64 = readsWord(f, hi) ? 64 : 32;
  const candidates: ArgCondition[][][] = [];
  const iv = width === 32 ? wordIntervals(space, f, lo) : argIntervals(space, f, i, endian);
  if (iv) {
    const t = intervalTerms(iv, i, width, !!opts.oneCompPerArg);
    if (t) candidates.push(t);
  }
  const c = cubeTerms(space, f, i, width, endian);
  if (c) candidates.push(c);
  if (!candidates.length) return undefined;
  // One comparison (`<= 1`) is as short as it gets. Otherwise a short list of values reads as
  // the policy wrote it ("in {…}"), even where merged mask cubes would need fewer comparisons.
  if (candidates[0] && iv && termCost(candidates[0]) === 1) return { index: i, width, terms: candidates[0] };
  if (iv && iv.reduce((n, [a, b]) => n + (b - a + 1n), 0n) <= BigInt(MAX_POINTS)) {
    return { index: i, width, terms: iv.flatMap(([a, b]) => Array.from({ length: Number(b - a + 1n) }, (_, k) => [cond(i, width, "eq", a + BigInt(k))])) };
  }
  candidates.sort((a, b) => termCost(a) - termCost(b) || a.length - b.length);
  return { index: i, width, terms: candidates[0] };
}

// ---- the whole set ----------------------------------------------------------------------------

/** Number of comparisons the condition needs as policy rules (each rule an AND). */
export function conditionCost(c: Condition): number {
  return conditionRules(c).reduce((n, r) => n + r.length, 0);
}

/**
 * f split at the first argument it reads, as products. `byWord`: split after that argument's
 * first word instead, for a 64-bit value set that neither intervals nor cubes state within
 * their caps but whose halves do (e.g. "high half != 0 and low half == 0").
 */
function decompose(space: SymbolicSpace, f: number, endian: Endian, opts: MinimiseOptions, byWord = false): Product[] | undefined {
  if (f === FALSE) return [];
  if (f === TRUE) return [[]];
  const w = wordOfVar(varOf(f));
  if (w < 4 || w > 15) return undefined; // the instruction pointer (or not an input bit)
  const i = argOfWord(w);
  const end = byWord ? (w + 1) * 32 : (6 + 2 * i) * 32;
  const classes = frontier(f, end);
  if (classes.length > MAX_CLASSES) return undefined;
  const values = classes.map((c) => pathsTo(space, f, end, c));
  const contained = (a: number, b: number) => space.diff(a, b) === FALSE;
  // Widen: a class may also take the values of every class whose rest contains its own.
  const chosen = classes.map((c, k) => {
    const wider = classes.map((_, j) => j).filter((j) => j !== k && contained(c, classes[j]));
    const wide = space.union([values[k], ...wider.map((j) => values[j])]);
    const narrowArg = minimiseArg(space, values[k], i, endian, opts);
    const wideArg = wide === TRUE ? null : minimiseArg(space, wide, i, endian, opts);
    if (wide === TRUE || (wideArg && (!narrowArg || termCost(wideArg.terms) <= termCost(narrowArg.terms)))) return { set: wide, arg: wideArg };
    return { set: values[k], arg: narrowArg };
  });
  const products: Product[] = [];
  for (let k = 0; k < classes.length; k++) {
    const { arg } = chosen[k];
    if (arg === undefined) return byWord || end === (w + 1) * 32 ? undefined : decompose(space, f, endian, opts, true);
    // The rest only needs what wider classes covering these values do not already give.
    let rest = classes[k];
    for (let j = 0; j < classes.length; j++) {
      if (j !== k && contained(values[k], chosen[j].set) && contained(classes[j], classes[k])) rest = space.diff(rest, classes[j]);
    }
    let sub = decompose(space, rest, endian, opts);
    if (rest !== classes[k]) {
      const full = decompose(space, classes[k], endian, opts);
      if (full && (!sub || productsCost(full) < productsCost(sub))) sub = full;
    }
    if (!sub) return undefined;
    for (const p of sub) products.push(arg ? [arg, ...p] : p);
  }
  return products;
}

function productsCost(ps: Product[]): number {
  return conditionCost({ products: ps });
}

/**
 * The minimised condition of set f (over the argument words, with nr and arch already fixed),
 * proven equal to f; undefined when f reads the instruction pointer, exceeds a cap, or (a bug)
 * the proof fails. Throws Inconclusive when the node budget runs out.
 */
export function minimiseSet(space: SymbolicSpace, f: number, endian: Endian, opts: MinimiseOptions = {}): Condition | undefined {
  const products = decompose(space, f, endian, opts);
  if (!products) return undefined;
  // Products in argument order read best ("args[0] ... or args[1] ...").
  products.sort((a, b) => (a[0]?.index ?? -1) - (b[0]?.index ?? -1));
  const c = { products };
  return conditionSet(space, c, endian) === f ? c : undefined;
}

/** The condition as policy rules: one list of comparisons (AND) per rule (OR). */
export function conditionRules(c: Condition): ArgCondition[][] {
  const out: ArgCondition[][] = [];
  for (const p of c.products) {
    let rules: ArgCondition[][] = [[]];
    for (const a of p) rules = rules.flatMap((r) => a.terms.map((t) => [...r, ...t]));
    out.push(...rules);
  }
  return out;
}

// ---- text ---------------------------------------------------------------------------------------

/** Below 256 in decimal, larger in hex (as the disassembler prints numbers). */
const hex = (v: bigint): string => (v < 256n ? String(v) : "0x" + v.toString(16));
const OPS: Record<ArgCondition["op"], string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=", masked_eq: "&" };

/** `args[i]` for a 64-bit comparison, `args[i] (low 32 bits)` for a 32-bit one on a 64-bit arg. */
export function argName(index: number, width: 32 | 64): string {
  return width === 32 ? `args[${index}].lo` : `args[${index}]`;
}

/** One comparison as the policy author writes it. */
export function comparisonText(c: ArgCondition): string {
  const a = argName(c.index, c.width);
  if (c.op === "masked_eq") return `${a} & ${hex(c.mask!)} == ${hex(c.value)}`;
  return `${a} ${OPS[c.op]} ${hex(c.value)}`;
}

function termText(t: ArgCondition[]): string {
  if (t.length === 2 && t[0].op === "ge" && t[1].op === "le") return `${argName(t[0].index, t[0].width)} in ${hex(t[0].value)}..${hex(t[1].value)}`;
  return t.map(comparisonText).join(" and ");
}

function argSetText(a: ArgSet, alone: boolean): string {
  if (a.terms.length > 1 && a.terms.every((t) => t.length === 1 && t[0].op === "eq")) {
    return `${argName(a.index, a.width)} in {${a.terms.map((t) => hex(t[0].value)).join(", ")}}`;
  }
  const s = a.terms.map(termText).join(" or ");
  return a.terms.length > 1 && !alone ? `(${s})` : s;
}

/** The condition in words: "args[2].lo & 0x4 == 0x0 and args[3].lo in {0x1, 0x22}". */
export function conditionText(c: Condition): string {
  if (c.products.length === 0) return "never";
  if (c.products.some((p) => p.length === 0)) return "always";
  const parts = c.products.map((p) => p.map((a) => argSetText(a, p.length === 1 && c.products.length === 1)).join(" and "));
  return parts.length > 1 ? parts.map((s) => (s.includes(" or ") || s.includes(" and ") ? `(${s})` : s)).join(" or ") : parts[0];
}

/**
 * A line of text broken before `width` characters at list commas and "or"s, continuation lines
 * indented by `indent` spaces: a long value list stays on screen instead of one long line.
 */
export function wrapLine(line: string, width = 160, indent = 6): string {
  if (line.length <= width) return line;
  const pieces = line.split(/(?<=, )|(?= or )/);
  const out: string[] = [];
  let cur = "";
  for (const p of pieces) {
    if (cur && cur.length + p.length > width) {
      out.push(cur.trimEnd());
      cur = " ".repeat(indent) + p.trimStart();
    } else cur += p;
  }
  out.push(cur);
  return out.join("\n");
}
