// `verify diff`: where two filters disagree, per arch and per syscall, with the argument
// conditions under which they do, in readable form. Computed exactly by the relational analysis
// (src/verify/symbolic.ts): the difference set is split by arch token (word 1), then by syscall
// number (word 0), then by pair of outcomes; each piece's argument condition is stated by the
// condition minimiser (src/verify/minimise.ts, proven equal), else as per-word value ranges,
// flagged as a combination when it is not a product of per-word conditions. Ranges of numbers
// on which no argument matters read "always".
import type { Program } from "../engine/program.js";
import { formatRet } from "../engine/actions.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallName } from "../syscalls/index.js";
import { SymbolicSpace, Inconclusive, FALSE, TRUE } from "./symbolic.js";
import { effective } from "./relations.js";
import { endianOfToken } from "../engine/data.js";
import { wordName } from "../text/syntax.js";
import { minimiseSet, conditionText, wordRange } from "./minimise.js";

export interface DiffEntry {
  arch: string;
  /** Syscall name, or a range like "0x40000000-0xffffffff" when many numbers share the entry. */
  syscall: string;
  nr: [number, number];
  a: string;
  b: string;
  /** Readable argument condition; "always" when the arguments do not matter. */
  when: string;
}

export type DiffResult = { entries: DiffEntry[]; truncated: boolean } | Inconclusive;

const hex = (n: number) => "0x" + (n >>> 0).toString(16);

function rangesText(r: [number, number][]): string {
  const parts = r.slice(0, 8).map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}..${hex(hi)}`));
  return (r.length > 8 ? [...parts, `… (${r.length} ranges)`] : parts).join(", ");
}

/** The argument condition of set `s` (a function of words 2..15) in words. */
function describe(space: SymbolicSpace, s: number, token: number): string {
  if (s === TRUE) return "always";
  const endian = endianOfToken(token);
  const min = minimiseSet(space, s, endian);
  if (min) return conditionText(min);
  let product = TRUE;
  const parts: string[] = [];
  for (let w = 2; w < 16; w++) {
    const proj = space.existsAllBut(s, w);
    if (proj === TRUE) continue;
    product = space.and(product, proj);
    const r = space.wordRanges(proj, w, 64);
    parts.push(`${wordName(w * 4, endian)} in {${r ? rangesText(r) : "many values"}}`);
  }
  const exact = product === s;
  return parts.join(" and ") + (exact ? "" : " (not independent: only some combinations of these)");
}

export function diff(a: Program, b: Program, opts: { budget?: number; maxEntries?: number } = {}): DiffResult {
  try {
    const space = new SymbolicSpace(opts.budget);
    // The relational analysis gives the differing pairs of values directly, at the cost of the
    // code the filters do not share (the whole partitions are not needed).
    const rel = space.relate(a, b);
    if (rel instanceof Inconclusive) return rel;
    const pairs = rel
      .filter((p) => effective(p.a) !== effective(p.b))
      .map((p) => ({ x: { value: p.a }, y: { value: p.b }, set: p.set }));
    const entries: DiffEntry[] = [];
    const max = opts.maxEntries ?? 500;
    let truncated = false;
    const all = space.union(pairs.map((p) => p.set));
    const tokens = space.wordRanges(space.existsAllBut(all, 1), 1, 64) ?? [];
    for (const [tlo, thi] of tokens) {
      // Single known tokens get per-syscall detail; other arch values are summarised.
      const single = tlo === thi && archesByToken(tlo).length > 0;
      for (const p of pairs) {
        let s = p.set;
        if (single) s = space.restrictWord(s, 1, tlo);
        else s = space.and(s, archRange(space, tlo, thi));
        if (s === FALSE) continue;
        const ranges = space.wordRanges(space.existsAllBut(s, 0), 0, 4096) ?? [[0, 0xffffffff]];
        // Short runs of syscall numbers are listed one by one (each may depend on arguments
        // differently); long runs (the x32 range, a foreign ABI) are one entry.
        const nrs: [number, number][] = [];
        for (const [lo, hi] of ranges) {
          if (single && hi - lo < 512) for (let n = lo; n <= hi; n++) nrs.push([n, n]);
          else nrs.push([lo, hi]);
        }
        for (const [lo, hi] of nrs) {
          if (entries.length >= max) {
            truncated = true;
            break;
          }
          const arch: ArchInfo | undefined = single ? pickArch(tlo, lo) : undefined;
          const name = lo === hi && arch ? syscallName(arch, lo) : undefined;
          const when = single && lo === hi ? describe(space, space.restrictWord(space.restrictWord(s, 0, lo), 1, tlo), tlo) : rangeWhen(space, s, lo, hi);
          entries.push({
            arch: arch?.name ?? (tlo === thi ? hex(tlo) : `${hex(tlo)}..${hex(thi)}`),
            syscall: name ?? (lo === hi ? String(lo) : `${hex(lo)}..${hex(hi)}`),
            nr: [lo, hi],
            a: formatRet(p.x.value),
            b: formatRet(p.y.value),
            when,
          });
        }
      }
    }
    entries.sort((p, q) => p.arch.localeCompare(q.arch) || p.nr[0] - q.nr[0]);
    return { entries, truncated };
  } catch (e) {
    if (e instanceof Inconclusive) return e;
    throw e;
  }
}

/** "always" when no argument (nor the ip) matters on numbers lo..hi of set s, else "some arguments". */
function rangeWhen(space: SymbolicSpace, s: number, lo: number, hi: number): string {
  const inRange = space.and(s, wordRange(space, 0, lo, hi));
  let free = inRange;
  for (let w = 2; w < 16; w++) free = space.existsWord(free, w);
  if (free === inRange) return "always";
  return lo === hi ? "some arguments" : "some arguments (range of numbers)";
}

function pickArch(token: number, nr: number): ArchInfo | undefined {
  const as = archesByToken(token);
  if (as.length <= 1) return as[0];
  return as.find((a) => (a.nrBase === 0x40000000) === (nr >>> 0 >= 0x40000000));
}

/** The set "word 1 (arch) in [lo, hi]" — built from the value ranges of an existing set. */
function archRange(space: SymbolicSpace, lo: number, hi: number): number {
  // Cheap and exact for the few foreign-arch ranges a diff shows: OR of single values when the
  // range is small, otherwise "any arch outside the known tokens" is reported without detail.
  if (hi - lo <= 16) {
    let r = FALSE;
    for (let v = lo; v <= hi; v++) r = space.or(r, space.and(TRUE, eqWord(space, 1, v)));
    return r;
  }
  return TRUE;
}

/** The set "word w == v". */
function eqWord(space: SymbolicSpace, w: number, v: number): number {
  return space.wordEquals(w, v);
}
