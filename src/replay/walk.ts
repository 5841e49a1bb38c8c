// The probe fallback's static analysis: for one (arch token, nr), which seccomp_data words can
// the filter load on some path, and which values of each are worth trying.
//
// An abstract walk over the program with arch and nr concrete and every other word unknown.
// A holds a concrete value, an input word (possibly ANDed with a mask), or an opaque value
// derived from input words; X and M[] likewise. Jumps on concrete values follow one branch,
// jumps on anything else follow both (so the set of words it reports as read is a superset of
// what any real input reads: that is what makes "not read, so it cannot matter" sound). At every
// comparison of an input word with a constant the walk records probe values for that word:
//   - jeq/jgt/jge K on the raw word: K-1, K, K+1. Together with 0 and 0xffffffff these hit every
//     interval between the constants, so when all compares on the unknown words are of this kind
//     the cartesian product of the probes meets every class of inputs the filter distinguishes:
//     the probes are EXACT.
//   - masked compares ((w & m) op K) and jset: K, K | ~m, K ^ lowest bit of m, 0, ~K: the
//     matching and non-matching cases of each test, not a proof (exact = false).
//   - values derived by other arithmetic, or compared through X: heuristics (exact = false).
// A program whose walk exceeds the step budget falls back to "every word read" and the probe
// values of all constants in the program (exact = false).
import type { Program } from "../engine/program.js";
import { opcodeInfo, Form, successors } from "../engine/opcodes.js";

/** Abstract value: concrete, input word & mask, or opaque (bit set of the words it came from). */
type AVal = { t: 0; v: number } | { t: 1; w: number; m: number } | { t: 2; ws: number };

const C = (v: number): AVal => ({ t: 0, v: v >>> 0 });

interface DecodedInsn {
  form: Form;
  mn: string;
  k: number;
  /** Where control goes next (successors(): true then false for a conditional jump). */
  succ: number[];
}

const decoded = new WeakMap<Program, DecodedInsn[]>();

function decode(p: Program): DecodedInsn[] {
  let d = decoded.get(p);
  if (d) return d;
  d = p.insns().map((ins, pc) => {
    const info = opcodeInfo(ins.code);
    return { form: info?.form ?? Form.NONE, mn: info?.mnemonic ?? "?", k: ins.k >>> 0, succ: successors(ins, pc).map((s) => s.to) };
  });
  decoded.set(p, d);
  return d;
}

export interface WalkResult {
  /** Bit w set when word w (0..15) may be loaded on some path. */
  reads: number;
  /** Probe values per word (2..15), each including 0 and 0xffffffff. */
  probes: Map<number, number[]>;
  /** True when every comparison on an input word is a K-jump on the raw word (see above). */
  exact: boolean;
  /** False when the step budget ran out (then reads = every word). */
  complete: boolean;
}

function words(a: AVal): number {
  return a.t === 1 ? 1 << a.w : a.t === 2 ? a.ws : 0;
}

function key(a: AVal): string {
  return a.t === 0 ? `c${a.v}` : a.t === 1 ? `w${a.w}:${a.m}` : `o${a.ws}`;
}

function alu(mn: string, a: number, b: number): number | undefined {
  switch (mn) {
    case "add": return (a + b) >>> 0;
    case "sub": return (a - b) >>> 0;
    case "mul": return Math.imul(a, b) >>> 0;
    case "div": return b === 0 ? undefined : Math.floor(a / b) >>> 0;
    case "or": return (a | b) >>> 0;
    case "and": return (a & b) >>> 0;
    case "xor": return (a ^ b) >>> 0;
    case "lsh": return b >= 32 ? undefined : (a << b) >>> 0;
    case "rsh": return b >= 32 ? undefined : a >>> b;
    default: return undefined;
  }
}

function cmp(mn: string, a: number, b: number): boolean {
  switch (mn) {
    case "jeq": return a === b;
    case "jgt": return a > b;
    case "jge": return a >= b;
    case "jset": return (a & b) !== 0;
    default: return false;
  }
}

interface St {
  pc: number;
  a: AVal;
  x: AVal;
  m: AVal[];
}

export function walk(p: Program, token: number, nr: number, budget = 50_000): WalkResult {
  const ins = decode(p);
  const probes = new Map<number, Set<number>>();
  let reads = 0;
  let exact = true;
  let steps = 0;
  const add = (w: number, ...vals: number[]): void => {
    let s = probes.get(w);
    if (!s) probes.set(w, (s = new Set([0, 0xffffffff])));
    for (const v of vals) s.add(v >>> 0);
  };
  const around = (w: number, k: number): void => {
    add(w, k, k === 0 ? 0 : k - 1, k === 0xffffffff ? k : k + 1);
  };
  const noteCompare = (mn: string, a: AVal, k: number): void => {
    if (a.t === 1) {
      if (a.m === 0xffffffff && mn !== "jset") return around(a.w, k);
      exact = false;
      const m = a.m;
      const low = m & -m;
      const kk = mn === "jset" ? k & m : k;
      add(a.w, kk, kk | ~m, kk ^ low, (kk | ~m) ^ low, ~kk & m, low);
      if (mn !== "jeq" && mn !== "jset") around(a.w, k);
    } else if (a.t === 2) {
      // Derived by arithmetic: K itself and 1 for each word (K * 1, K + 0 … reach K).
      exact = false;
      for (let w = 0; w < 16; w++) if (a.ws & (1 << w)) {
        around(w, k);
        add(w, 1);
      }
    }
  };

  const seen = new Set<string>();
  const stack: St[] = [{ pc: 0, a: C(0), x: C(0), m: new Array(16).fill(C(0)) }];
  let complete = true;
  outer: while (stack.length) {
    const st = stack.pop()!;
    for (;;) {
      if (++steps > budget) {
        complete = false;
        break outer;
      }
      const sk = `${st.pc}|${key(st.a)}|${key(st.x)}|${st.m.map(key).join(",")}`;
      if (seen.has(sk)) break;
      seen.add(sk);
      const i = ins[st.pc];
      if (!i) break;
      const next = st.pc + 1;
      switch (i.form) {
        case Form.LD_ABS: {
          const w = i.k >>> 2;
          reads |= 1 << w;
          st.a = w === 0 ? C(nr) : w === 1 ? C(token) : { t: 1, w, m: 0xffffffff };
          st.pc = next;
          break;
        }
        case Form.LEN:
          if (i.mn === "ldx") st.x = C(64);
          else st.a = C(64);
          st.pc = next;
          break;
        case Form.IMM:
          if (i.mn === "ldx") st.x = C(i.k);
          else st.a = C(i.k);
          st.pc = next;
          break;
        case Form.MEM_LOAD:
          if (i.mn === "ldx") st.x = st.m[i.k & 15];
          else st.a = st.m[i.k & 15];
          st.pc = next;
          break;
        case Form.MEM_STORE:
          st.m = st.m.slice();
          st.m[i.k & 15] = i.mn === "stx" ? st.x : st.a;
          st.pc = next;
          break;
        case Form.ALU_K: case Form.ALU_DIV_K: case Form.ALU_SHIFT_K: case Form.ALU_X: {
          const b = i.form === Form.ALU_X ? st.x : C(i.k);
          const a = st.a;
          if (a.t === 0 && b.t === 0) {
            const v = alu(i.mn, a.v, b.v);
            if (v === undefined) {
              // division by zero: the kernel stops the program with 0; the walk need not go on.
              if (i.mn === "div" && b.v === 0) break;
              st.a = { t: 2, ws: 0 };
            } else {
              st.a = C(v);
            }
          } else if (a.t === 1 && b.t === 0 && i.mn === "and") {
            const m = (a.m & b.v) >>> 0;
            st.a = m === 0 ? C(0) : { t: 1, w: a.w, m };
          } else {
            st.a = { t: 2, ws: words(a) | words(b) };
          }
          st.pc = next;
          break;
        }
        case Form.NEG:
          st.a = st.a.t === 0 ? C(-st.a.v) : { t: 2, ws: words(st.a) };
          st.pc = next;
          break;
        case Form.MISC:
          if (i.mn === "tax") st.x = st.a;
          else st.a = st.x;
          st.pc = next;
          break;
        case Form.JA:
          st.pc = i.succ[0];
          break;
        case Form.JCOND_K: case Form.JCOND_X: {
          const b = i.form === Form.JCOND_X ? st.x : C(i.k);
          const a = st.a;
          if (a.t === 0 && b.t === 0) {
            st.pc = cmp(i.mn, a.v, b.v) ? i.succ[0] : i.succ[1];
            break;
          }
          if (b.t === 0) noteCompare(i.mn, a, b.v);
          else if (a.t === 0) noteCompare(i.mn, b, a.v);
          else exact = false;
          stack.push({ pc: i.succ[1], a: st.a, x: st.x, m: st.m });
          st.pc = i.succ[0];
          break;
        }
        default:
          // RET K / RET A: a leaf.
          continue outer;
      }
      if (st.pc === next - 1) break; // division by zero stopped this path
    }
  }
  if (!complete) {
    // Give up on precision, not on soundness: every word may be read, and every constant of the
    // program is a probe for every word.
    reads = 0xffff;
    exact = false;
    for (const i of ins) {
      if (i.form === Form.JCOND_K || i.form === Form.ALU_K) for (let w = 2; w < 16; w++) around(w, i.k);
    }
  }
  const out = new Map<number, number[]>();
  for (let w = 2; w < 16; w++) {
    if (!(reads & (1 << w))) continue;
    const s = probes.get(w) ?? new Set([0, 0xffffffff]);
    out.set(w, [...s].sort((x, y) => x - y));
  }
  return { reads, probes: out, exact, complete };
}
