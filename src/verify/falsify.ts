// Cheap falsification before symbolic analysis: run both filters on inputs built from their
// own constants and look for one where a relation fails. A hit is an exact answer ("does not
// hold", with a concrete input the interpreter confirms); a miss proves nothing, and the
// symbolic engine then decides. Equivalence checkers for circuits do the same (simulation
// before SAT): most unrelated or badly edited pairs differ on some boundary input, and finding
// one costs milliseconds even at 4096 instructions, where the symbolic cost grows with the
// program. The inputs are deterministic (a fixed-seed generator), so answers are reproducible.
import type { Program } from "../engine/program.js";
import { InputBatch, DATA_WORDS } from "../engine/data.js";
import { evaluateSide } from "../engine/run.js";
import { opcodeInfo, Form } from "../engine/opcodes.js";
import { archTokens } from "../text/disasm.js";
import { archesByToken } from "../syscalls/arches.js";
import { syscallNames, syscallNumber } from "../syscalls/index.js";
import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";

/** How many inputs the random phase tries. */
const RANDOM_INPUTS = 1024;

/** Comparison and immediate constants of the programs, each with its neighbours. */
function constantPool(progs: readonly Program[]): number[] {
  // Word boundaries, and the x32 bit that splits AUDIT_ARCH_X86_64's syscall numbers.
  const pool = new Set<number>([0, 1, 0xffffffff, X32_SYSCALL_BIT, 0x80000000]);
  for (const p of progs) {
    for (const ins of p.insns()) {
      const form = opcodeInfo(ins.code)?.form;
      if (form === Form.JCOND_K || form === Form.IMM || form === Form.ALU_K) {
        for (const d of [-1, 0, 1]) pool.add((ins.k + d) >>> 0);
      }
    }
  }
  return [...pool];
}

/** xorshift32: deterministic, fast, enough for picking from pools. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/**
 * Inputs most likely to tell filters apart, readable ones first: every syscall number of each
 * arch the filters check, with zero arguments; then words drawn from the constants.
 */
function candidates(progs: readonly Program[]): InputBatch {
  const tokens = [...new Set(progs.flatMap((p) => archTokens(p)))];
  const known: [number, number][] = []; // (token, nr)
  for (const token of tokens) {
    for (const arch of archesByToken(token)) {
      for (const name of syscallNames(arch)) known.push([token, syscallNumber(arch, name)! >>> 0]);
    }
  }
  const pool = Uint32Array.from(constantPool(progs));
  const batch = new InputBatch(known.length + RANDOM_INPUTS);
  const w = batch.words; // zero-filled: known rows only set nr and arch
  known.forEach(([token, nr], i) => {
    w[i * DATA_WORDS] = nr;
    w[i * DATA_WORDS + 1] = token;
  });
  const next = rng(0x5eed1234);
  for (let i = known.length; i < batch.count; i++) {
    const base = i * DATA_WORDS;
    for (let j = 0; j < DATA_WORDS; j++) {
      const r = next() % 8;
      w[base + j] = r < 5 ? pool[next() % pool.length] : r < 7 ? 0 : next();
    }
    if (tokens.length && next() % 2 === 0) w[base + 1] = tokens[next() % tokens.length];
    if (known.length && next() % 2 === 0) w[base] = known[next() % known.length][1];
  }
  return batch;
}

/**
 * An input on which `bad(A's value, B's value)` holds, or undefined when none of the
 * candidates shows one. A side is one filter or a stack (oldest first, combined as the kernel
 * does).
 */
export function falsify(sideA: readonly Program[], sideB: readonly Program[], bad: (x: number, y: number) => boolean): Uint32Array | undefined {
  const batch = candidates([...sideA, ...sideB]);
  const ra = evaluateSide(sideA, batch);
  const rb = evaluateSide(sideB, batch);
  for (let i = 0; i < batch.count; i++) {
    if (bad(ra[i] >>> 0, rb[i] >>> 0)) return batch.words.slice(i * DATA_WORDS, (i + 1) * DATA_WORDS);
  }
  return undefined;
}
