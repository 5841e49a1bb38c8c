// Compiling the IR (src/policy/ir.ts) to a program. The host only encodes the IR into the
// word format of assembly/compile.ts and hands it to the engine, which builds the decision tree
// and lays out the code; the host never emits an instruction itself.
import type { PolicyIR, ArchPolicy, CompareOp, SyscallPolicy } from "./ir.js";
import { placeOfRef } from "./json.js";
import { X32_BIT, NR_SKIP, ownedNumbers } from "./ir.js";
import * as C from "../engine/contract.generated.js";
import { engine, Region } from "../engine/wasm.js";
import { Program } from "../engine/program.js";
import { InputError } from "../errors.js";
import { syscallCount } from "../syscalls/index.js";
import { InputBatch } from "../engine/data.js";
import { evaluateBatch } from "../engine/run.js";

const OP_CODES: Record<CompareOp, number> = {
  eq: C.C_OP_EQ, ne: C.C_OP_NE, lt: C.C_OP_LT, le: C.C_OP_LE, gt: C.C_OP_GT, ge: C.C_OP_GE, masked_eq: C.C_OP_MASKED_EQ,
};
const M32 = 0xffffffffn;

interface Group {
  token: number;
  sections: ArchPolicy[];
}

/** Sections grouped by arch token, in the order the policy lists them. */
function groups(ir: PolicyIR): Group[] {
  const out: Group[] = [];
  for (const a of ir.arches) {
    const g = out.find((x) => x.token === a.arch.token);
    if (g) g.sections.push(a);
    else out.push({ token: a.arch.token, sections: [a] });
  }
  return out;
}

/** Options of the compiler that change the layout of the program, never its meaning. */
export interface CompileOptions {
  /**
   * Call counts by syscall number (minijail's `@frequency`): the decision tree is balanced by
   * them instead of by syscall-table coverage, so frequent calls run fewer instructions.
   */
  weights?: ReadonlyMap<number, bigint | number>;
}

/** Most weights one group carries (the engine's table). */
const MAX_WEIGHTS = 4096;

/** Weights as sorted (nr, count) words, counts clamped to 32 bits. */
function weightWords(weights: ReadonlyMap<number, bigint | number>): number[] {
  const list = [...weights].filter(([, c]) => BigInt(c) > 0n).sort((a, b) => (a[0] >>> 0) - (b[0] >>> 0));
  if (list.length > MAX_WEIGHTS) throw new InputError(`more than ${MAX_WEIGHTS} syscalls carry frequency weights (${list.length})`);
  const out: number[] = [list.length];
  for (const [nr, c] of list) {
    const big = BigInt(c);
    out.push(nr >>> 0, big > 0xffffffffn ? 0xffffffff : Number(big));
  }
  return out;
}

/** A background run of the engine's input: first and last nr, action. */
type Run = [number, number, number];

/** Most background runs one group has (the engine's table). */
const MAX_RUNS = 64;

/**
 * `runs` with section `sec`'s number ranges (NrRange) laid over them: each range must lie in
 * its ABI's part of the nr space (ownedNumbers, as the reference evaluator reads the IR) and
 * gets its own run. `withMain`: the policy has an x86_64 section beside x32 (who owns -1).
 */
function withRanges(runs: Run[], sec: ArchPolicy, withMain: boolean, name = "policy"): Run[] {
  let out = runs;
  const own = ownedNumbers(sec.arch, withMain);
  for (const r of sec.ranges ?? []) {
    const lo = r.lo >>> 0, hi = r.hi >>> 0;
    const i = out.findIndex(([a, b]) => a <= lo && hi <= b);
    if (i < 0 || hi < lo || !own.some(([a, b]) => a <= lo && hi <= b)) throw new InputError(`${name}: ${sec.arch.name} range ${lo}..${hi} crosses its ABI's part of the syscall numbers`);
    const [a, b, act] = out[i];
    const pieces: Run[] = [];
    if (a < lo) pieces.push([a, lo - 1, act]);
    pieces.push([lo, hi, r.action >>> 0]);
    if (hi < b) pieces.push([hi + 1, b, act]);
    out = [...out.slice(0, i), ...pieces, ...out.slice(i + 1)];
  }
  if (out.length > MAX_RUNS) throw new InputError(`${name}: more than ${MAX_RUNS} ranges of syscall numbers in one arch`);
  return out;
}

/** Encodes the IR in the engine's input format (see the header of assembly/compile.ts). */
export function encodePolicy(ir: PolicyIR, opts: CompileOptions = {}): Uint32Array {
  const w: number[] = [];
  const endians = new Set(ir.arches.map((a) => a.arch.endian));
  if (endians.size > 1) {
    throw new InputError(`${ir.name ?? "policy"}: cannot put little- and big-endian ABIs in one filter (${ir.arches.map((a) => a.arch.name).join(", ")})`);
  }
  if (ir.arches.length === 0) throw new InputError(`${ir.name ?? "policy"}: no arch to compile for`);
  const weights = opts.weights && opts.weights.size ? weightWords(opts.weights) : undefined;
  w.push(C.C_VERSION, (endians.has("be") ? C.C_FLAG_BIG_ENDIAN : 0) | (weights ? C.C_FLAG_WEIGHTS : 0), ir.mismatchAction >>> 0);
  const gs = groups(ir);
  w.push(gs.length);
  for (const g of gs) {
    w.push(g.token >>> 0);
    // Horizons: where each ABI of the group has real syscall numbers (for balancing the tree).
    w.push(g.sections.length);
    for (const s of g.sections) {
      const base = s.arch.nrBase >>> 0;
      w.push(base, (base + Math.max(1, syscallCount(s.arch)) - 1) >>> 0);
    }
    if (weights) w.push(...weights);
    const x32 = g.sections.find((s) => s.arch.nrBase === X32_BIT);
    const plain = g.sections.filter((s) => s.arch.nrBase !== X32_BIT);
    if (plain.length > 1) throw new InputError(`${ir.name ?? "policy"}: arch ${plain[0].arch.name} appears twice`);
    const main = plain[0];
    // Background runs over the whole nr space.
    let runs: Run[];
    if (g.token === C.AUDIT_ARCH_X86_64) {
      const below = main ? main.defaultAction : ir.mismatchAction;
      const above = x32 ? x32.defaultAction : ir.x32Action ?? ir.mismatchAction;
      // nr -1 (0xffffffff) is not an x32 call: a tracer sets it to skip a syscall, and
      // libseccomp (what runtimes install) sends it to the policy's default, not the x32 check.
      runs = main
        ? [[0, X32_BIT - 1, below >>> 0], [X32_BIT, NR_SKIP - 1, above >>> 0], [NR_SKIP, NR_SKIP, below >>> 0]]
        : [[0, X32_BIT - 1, below >>> 0], [X32_BIT, 0xffffffff, above >>> 0]];
    } else {
      runs = [[0, 0xffffffff, main!.defaultAction >>> 0]];
    }
    for (const s of g.sections) runs = withRanges(runs, s, main !== undefined, ir.name);
    w.push(runs.length, ...runs.flat());
    const syscalls = g.sections.flatMap((s) => s.syscalls).slice().sort((a, b) => (a.nr >>> 0) - (b.nr >>> 0));
    for (let i = 1; i < syscalls.length; i++) {
      if (syscalls[i].nr >>> 0 === syscalls[i - 1].nr >>> 0) {
        throw new InputError(`${ir.name ?? "policy"}: syscall ${syscalls[i].name} (${syscalls[i].nr >>> 0}) listed twice in one section`);
      }
    }
    w.push(syscalls.length);
    for (const s of syscalls) {
      w.push(s.nr >>> 0, s.rules.length);
      for (const r of s.rules) {
        w.push(r.action >>> 0, r.conditions.length);
        for (const c of r.conditions) {
          if (c.index < 0 || c.index > 5) throw new InputError(`argument index ${c.index} out of range 0..5`, c.source?.file);
          w.push(c.index, c.width, OP_CODES[c.op]);
          pushU64(w, c.value);
          pushU64(w, c.mask ?? 0n);
        }
      }
    }
  }
  // A plain loop: Uint32Array.from with a map function took 200-350 ms on the 900,000 words of a
  // 10 MB policy (a call per element), the loop a few.
  const out = new Uint32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = w[i] >>> 0;
  return out;
}

/**
 * A 64-bit value as two words, low first. Most values fit 32 bits: those go without the four
 * BigInt operations (and allocations) of the split, which were most of encoding a large policy.
 */
function pushU64(w: number[], value: bigint): void {
  if (value >= 0n && value <= M32) {
    w.push(Number(value), 0);
    return;
  }
  const v = BigInt.asUintN(64, value);
  w.push(Number(v & M32), Number(v >> 32n));
}

/**
 * A located error for a policy over a limit: where its weight is (the syscall with the most
 * rules and conditions), so the author knows what to split or simplify.
 */
function limitError(ir: PolicyIR, what: string): InputError {
  let heavy: { s: SyscallPolicy; arch: string; weight: number } | undefined;
  for (const a of ir.arches) {
    for (const s of a.syscalls) {
      let weight = 0;
      for (const r of s.rules) weight += Math.max(1, r.conditions.length);
      if (!heavy || weight > heavy.weight) heavy = { s, arch: a.arch.name, weight };
    }
  }
  const name = ir.name ?? "policy";
  if (!heavy) return new InputError(`${name}: ${what}`, ir.source ? placeOfRef(ir.source) : undefined);
  const conds = heavy.s.rules.reduce((n, r) => n + r.conditions.length, 0);
  const src = heavy.s.rules[0]?.source;
  return new InputError(
    `${name}: ${what}; the weight is in ${heavy.s.name} (${heavy.arch}): ${heavy.s.rules.length.toLocaleString("en-US")} ` +
      `rules, ${conds.toLocaleString("en-US")} argument conditions (split the values over threads, or allow a range)`,
    src ? placeOfRef(src) : ir.source ? placeOfRef(ir.source) : undefined,
  );
}

let inRegion: Region | undefined;
let outRegion: Region | undefined;

/**
 * Compiles one policy into a program the kernel accepts (up to 4096 instructions). With
 * `opts.weights`, the tree is balanced by call counts; use `compileWeighted` for the guarantee
 * that the weighted layout is never worse than the default one.
 */
export function compileIR(ir: PolicyIR, opts: CompileOptions = {}): Program {
  const words = encodePolicy(ir, opts);
  const e = engine();
  inRegion ??= new Region(words.length * 4);
  outRegion ??= new Region(8 * C.BPF_MAXINSNS);
  inRegion.ensure(words.length * 4);
  inRegion.u32().set(words);
  const n = e.compilePolicy(inRegion.ptr, words.length, outRegion.ptr, C.BPF_MAXINSNS);
  if (n === C.C_ERR_TOO_LONG) {
    throw limitError(ir, `compiles to ${e.compiledLength()} instructions, more than the kernel's limit of ${C.BPF_MAXINSNS}`);
  }
  if (n < 0) throw limitError(ir, `is larger than the compiler's tables hold (code ${n})`);
  return new Program(outRegion.u8().slice(0, n * 8));
}

/**
 * Mean executed instructions of `program` over the weighted syscalls (args 0), each counted
 * as often as its weight says, on the policy's first ABI (the one a frequency file is for).
 */
export function weightedMeanInstructions(ir: PolicyIR, program: Program, weights: ReadonlyMap<number, bigint | number>): number {
  const arch = ir.arches[0].arch;
  const nrs = [...weights.keys()];
  if (nrs.length === 0) return 0;
  const batch = InputBatch.of(nrs.map((nr) => ({ arch: arch.token, nr, args: [0n, 0n, 0n, 0n, 0n, 0n] })), arch.endian);
  const counts = evaluateBatch(program, batch, { counts: true, engine: "interpreter" }).counts!;
  let sum = 0;
  let total = 0;
  nrs.forEach((nr, k) => {
    const c = Number(weights.get(nr));
    sum += counts[k] * c;
    total += c;
  });
  return total === 0 ? 0 : sum / total;
}

/**
 * Compiles with frequency weights and keeps that layout only when its weighted mean of executed
 * instructions is not above the default layout's (balancing by weight is a heuristic: it halves
 * the calls at every node, which is near, not at, the optimum). Both layouts mean the same.
 */
export function compileWeighted(ir: PolicyIR, weights: ReadonlyMap<number, bigint | number>): Program {
  const plain = compileIR(ir);
  if (weights.size === 0) return plain;
  const weighted = compileIR(ir, { weights });
  return weightedMeanInstructions(ir, weighted, weights) <= weightedMeanInstructions(ir, plain, weights) ? weighted : plain;
}
