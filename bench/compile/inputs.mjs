// Inputs for the "compile" bench section: per-syscall argument vectors derived from a policy's
// IR (all-zero, rule-satisfying, and an enumeration of boundary values meant to drive argument
// checks down their longest path), and the QEMU strace "trace mix".
import { readFileSync } from "node:fs";

const M32 = 0xffffffffn;
const M64 = (1n << 64n) - 1n;
const WORDS = 16;
const u64 = (v) => BigInt.asUintN(64, v);

/** The IR section that handles `arch` (the main one; x32 is not looked at). */
export function targetSection(ir, arch) {
  const s = ir.arches.find((a) => a.arch.name === arch.name);
  if (!s) throw new Error(`${ir.name ?? "policy"}: no ${arch.name} section`);
  return s;
}

/** Lowest set bit of v (0n if none). */
const lowBit = (v) => v & -v;

/**
 * Values of one argument worth trying against one condition: the value itself and its
 * neighbours (either side of an ordering compare, a flipped low bit for an equality, the other
 * half of a 64-bit compare changed), so that every compare in the program sees both outcomes
 * and 64-bit compares reach their low-word half.
 */
function candidates(c) {
  const out = [];
  const v = u64(c.value);
  if (c.op === "masked_eq") {
    const m = u64(c.mask ?? 0n);
    const base = v & m;
    out.push(base, base ^ lowBit(m & M32), base ^ lowBit(m & ~M32), base | (~m & M64));
  } else {
    out.push(v, v + 1n, v - 1n, v ^ 1n);
  }
  if (c.width === 32) {
    // the high word is ignored by the IR; try it clear and set (a compiler must not look at it)
    return out.flatMap((x) => [x & M32, (x & M32) | (M32 << 32n)]);
  }
  return out.flatMap((x) => [x, x ^ (1n << 32n)]).map(u64);
}

/** An argument vector that satisfies every condition of `rule` (or undefined if none does). */
function satisfying(rule, holds) {
  const args = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const c of rule.conditions) {
    const v = u64(c.value);
    const m = u64(c.mask ?? 0n);
    let x;
    switch (c.op) {
      case "eq": case "le": case "ge": x = v; break;
      case "ne": x = v ^ 1n; break;
      case "lt": x = v - 1n; break;
      case "gt": x = v + 1n; break;
      case "masked_eq": x = v & m; break;
    }
    args[c.index] = u64(x) & (c.width === 32 ? M32 : M64);
  }
  return rule.conditions.every((c) => holds(c, args[c.index])) ? args : undefined;
}

/**
 * Per syscall number 0..count-1 of the section's ABI: the zero vector, the satisfying vectors
 * (one per rule with conditions) and the "probe" vectors for the worst case (the cartesian
 * product of the per-index candidate sets when it has at most `limit` elements, else each
 * satisfying vector with one condition's argument replaced by each of its candidates).
 * Returns { inputs: [{nr, args, kind}], bySyscall: [{nr, zero, sat: [i], probe: [i]}] } where
 * the numbers in sat/probe index `inputs`.
 */
export function syscallInputs(section, count, holds, { limit = 20000 } = {}) {
  const inputs = [];
  const bySyscall = [];
  const byNr = new Map(section.syscalls.map((s) => [s.nr >>> 0, s]));
  const key = (nr, args) => `${nr}:${args.join(",")}`;
  const seen = new Map();
  const add = (nr, args) => {
    const k = key(nr, args);
    let i = seen.get(k);
    if (i === undefined) {
      i = inputs.length;
      seen.set(k, i);
      inputs.push({ nr, args });
    }
    return i;
  };
  let fallbacks = 0;
  for (let n = 0; n < count; n++) {
    const nr = (n + section.arch.nrBase) >>> 0;
    const zero = add(nr, [0n, 0n, 0n, 0n, 0n, 0n]);
    const entry = { nr, zero, sat: [], probe: [zero] };
    bySyscall.push(entry);
    const sys = byNr.get(nr);
    if (!sys) continue;
    const conds = sys.rules.flatMap((r) => r.conditions);
    if (conds.length === 0) continue;
    const sats = [];
    for (const r of sys.rules) {
      if (r.conditions.length === 0) continue;
      const a = satisfying(r, holds);
      if (a) {
        sats.push(a);
        entry.sat.push(add(nr, a));
      }
    }
    // Candidate values per argument index.
    const sets = [0, 1, 2, 3, 4, 5].map(() => new Set([0n]));
    for (const c of conds) for (const x of candidates(c)) sets[c.index].add(x);
    for (const a of sats) a.forEach((x, i) => sets[i].add(x));
    const lists = sets.map((s) => [...s]);
    const size = lists.reduce((p, l) => p * l.length, 1);
    if (size <= limit) {
      const cur = [0n, 0n, 0n, 0n, 0n, 0n];
      const rec = (i) => {
        if (i === 6) {
          entry.probe.push(add(nr, [...cur]));
          return;
        }
        for (const x of lists[i]) {
          cur[i] = x;
          rec(i + 1);
        }
      };
      rec(0);
    } else {
      fallbacks++;
      for (const a of [...sats, [0n, 0n, 0n, 0n, 0n, 0n]]) {
        entry.probe.push(add(nr, a));
        for (const c of conds) {
          for (const x of candidates(c)) {
            const b = [...a];
            b[c.index] = x;
            entry.probe.push(add(nr, b));
          }
        }
      }
    }
    entry.probe.push(...entry.sat);
  }
  return { inputs, bySyscall, fallbacks };
}

/** Packs inputs ({nr, args}) for one little-endian arch token into InputBatch words. */
export function packInputs(inputs, token) {
  const words = new Uint32Array(inputs.length * WORDS);
  inputs.forEach(({ nr, args }, i) => {
    const o = i * WORDS;
    words[o] = nr >>> 0;
    words[o + 1] = token >>> 0;
    for (let j = 0; j < 6; j++) {
      const a = args[j] ?? 0n;
      words[o + 4 + 2 * j] = Number(a & M32);
      words[o + 5 + 2 * j] = Number((a >> 32n) & M32);
    }
  });
  return words;
}

// ---- strace ----------------------------------------------------------------------------------

/** Splits the text after "name(" into top-level arguments (strings, nesting and comments aware). */
function splitArgs(s) {
  const args = [];
  let depth = 0;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if (ch === "/" && s[i + 1] === "*") {
      const j = s.indexOf("*/", i + 2);
      i = j < 0 ? s.length : j + 1;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === "]" || ch === "}") depth--;
    else if (ch === ")") {
      if (depth === 0) {
        args.push(cur.trim());
        return args;
      }
      depth--;
    } else if (ch === "," && depth === 0) {
      args.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) args.push(cur.replace(/<unfinished \.\.\.>\s*$/, "").trim());
  return args;
}

/** A plain number as strace prints it (decimal, negative decimal or hex), else undefined. */
function plainNumber(a) {
  if (/^-?\d+$/.test(a)) return u64(BigInt(a));
  if (/^0x[0-9a-f]+$/i.test(a)) return u64(BigInt(a));
  return undefined;
}

/**
 * Parses `strace -f` output (docs/formats.md 7): one call per line that starts one ("NAME(" after
 * the pid; "<... NAME resumed>" lines are the second half of a call already counted; signals and
 * exits are skipped). Arguments: plain numbers as printed, anything else (flags, strings,
 * structs, NULL) as 0. Returns [{name, args}] in trace order.
 */
export function parseStrace(text) {
  const calls = [];
  for (const line of text.split("\n")) {
    const m = /^\d+\s+([a-z_][a-z0-9_]*)\((.*)$/.exec(line);
    if (!m) continue;
    const args = splitArgs(m[2]).slice(0, 6).map((a) => plainNumber(a) ?? 0n);
    while (args.length < 6) args.push(0n);
    calls.push({ name: m[1], args });
  }
  return calls;
}
