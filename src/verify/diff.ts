// `verify diff`: where two filters disagree, per arch and per syscall, with the argument
// conditions under which they do, in readable form. Computed exactly by the relational analysis
// (src/verify/symbolic.ts): the difference set is split by arch token (word 1), then by syscall
// number (word 0), then by pair of outcomes; each piece's argument condition is stated by the
// condition minimiser (src/verify/minimise.ts, proven equal), else as per-word value ranges,
// flagged as a combination when it is not a product of per-word conditions. Ranges of numbers
// on which no argument matters read "always".
import type { Program } from "../engine/program.js";
import { Action, formatRet } from "../engine/actions.js";
import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallCount, syscallName } from "../syscalls/index.js";
import { enosys } from "../syscalls/errno.js";
import { ownedNumbers } from "../policy/ir.js";
import { SymbolicSpace, Inconclusive, FALSE, TRUE, type Outcome } from "./symbolic.js";
import { effective } from "./relations.js";
import { endianOfToken } from "../engine/data.js";
import { wordName } from "../text/syntax.js";
import { archTokens } from "../text/disasm.js";
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
  /**
   * Why, when the difference has a known cause: "not known to the other compiler" for numbers
   * one filter's ENOSYS stub answers (runc: calls newer than its libseccomp).
   */
  note?: string;
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
    const stubs = new StubFinder(space, [a, b]);
    const max = opts.maxEntries ?? 500;
    let truncated = false;
    const all = space.union(pairs.map((p) => p.set));
    const tokens = splitAtTokens(space.wordRanges(space.existsAllBut(all, 1), 1, 64) ?? [], [...archTokens(a), ...archTokens(b)]);
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
          const note = arch ? stubNote(stubs, arch, tlo, lo, hi, p.x.value, p.y.value) : undefined;
          entries.push({
            arch: arch?.name ?? (tlo === thi ? hex(tlo) : `${hex(tlo)}..${hex(thi)}`),
            syscall: name ?? (lo === hi ? String(lo) : `${hex(lo)}..${hex(hi)}`),
            nr: [lo, hi],
            a: formatRet(p.x.value),
            b: formatRet(p.y.value),
            when,
            ...(note ? { note } : {}),
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

/**
 * Finds a filter's ENOSYS stub: per ABI, the number from which every number up to the top of
 * the ABI's numbers gets ERRNO(ENOSYS) whatever the arguments, while some unnamed number of its
 * table below that gets something else (a policy gives unnamed numbers its default, so ENOSYS
 * there is not the default: it is runc's stub for calls its libseccomp does not know).
 */
class StubFinder {
  private readonly cache = new Map<string, number | undefined>();
  private readonly outcomes: (Outcome[] | undefined)[] = [];
  constructor(private readonly space: SymbolicSpace, private readonly programs: [Program, Program]) {}

  /** The stub's first number on (token, arch) for side 0 (A) or 1 (B), if it has one. */
  start(side: 0 | 1, token: number, arch: ArchInfo): number | undefined {
    const key = `${side} ${token} ${arch.name}`;
    if (!this.cache.has(key)) this.cache.set(key, this.find(side, token, arch));
    return this.cache.get(key);
  }

  private find(side: 0 | 1, token: number, arch: ArchInfo): number | undefined {
    const { space } = this;
    // The whole partition of one filter (relate only gives where the two differ).
    let outs = this.outcomes[side];
    if (!outs) {
      const r = space.analyze(this.programs[side]);
      if (r instanceof Inconclusive) throw r;
      outs = this.outcomes[side] = r;
    }
    const nosys = (Action.ERRNO | enosys(arch)) >>> 0;
    // The ABI's main interval (not the lone -1 x86_64 also owns): where a stub's run begins.
    const own = ownedNumbers(arch)[0];
    const inOwn = (s: number) => space.and(space.restrictWord(s, 1, token), wordRange(space, 0, own[0], own[1]));
    const other = inOwn(space.union(outs.filter((o) => o.value >>> 0 !== nosys).map((o) => o.set)));
    const ranges = space.wordRanges(space.existsAllBut(other, 0), 0, 8192);
    if (!ranges || ranges.length === 0) return undefined;
    const from = ranges[ranges.length - 1][1] + 1;
    if (from > own[1]) return undefined;
    const base = arch.nrBase >>> 0;
    const last = Math.min(from - 1, base + syscallCount(arch) - 1);
    const enosysSet = inOwn(space.union(outs.filter((o) => o.value >>> 0 === nosys).map((o) => o.set)));
    for (let nr = base; nr <= last; nr++) {
      if (syscallName(arch, nr) === undefined && space.restrictWord(enosysSet, 0, nr) === FALSE) return from;
    }
    return undefined;
  }
}

/** The note of an entry on numbers lo..hi that one side's stub answers with ENOSYS. */
function stubNote(stubs: StubFinder, arch: ArchInfo, token: number, lo: number, hi: number, a: number, b: number): string | undefined {
  const nosys = (Action.ERRNO | enosys(arch)) >>> 0;
  for (const side of [0, 1] as const) {
    if ((side === 0 ? a : b) >>> 0 !== nosys) continue;
    const from = stubs.start(side, token, arch);
    if (from !== undefined && lo >= from) {
      return `not known to the other compiler: ${side === 0 ? "A" : "B"} answers ENOSYS from nr ${from} up`;
    }
  }
  return undefined;
}

function pickArch(token: number, nr: number): ArchInfo | undefined {
  const as = archesByToken(token);
  if (as.length <= 1) return as[0];
  return as.find((a) => (a.nrBase === X32_SYSCALL_BIT) === (nr >>> 0 >= X32_SYSCALL_BIT));
}

/**
 * Ranges of arch tokens with the tokens the filters check cut out as single values, so a known
 * ABI gets its per-syscall detail even where the other tokens around it differ too.
 */
function splitAtTokens(ranges: [number, number][], known: number[]): [number, number][] {
  const out: [number, number][] = [];
  const ks = [...new Set(known.map((k) => k >>> 0))].sort((x, y) => x - y);
  for (const [lo, hi] of ranges) {
    let cur = lo;
    for (const k of ks) {
      if (k < cur || k > hi) continue;
      if (k > cur) out.push([cur, k - 1]);
      out.push([k, k]);
      cur = k + 1;
    }
    if (cur <= hi) out.push([cur, hi]);
  }
  return out;
}

/** The set "word 1 (arch) in [lo, hi]": every arch token of a summarised range, exactly. */
function archRange(space: SymbolicSpace, lo: number, hi: number): number {
  return wordRange(space, 1, lo, hi);
}
