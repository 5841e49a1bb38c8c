// The checker against the real kernel: for every program, does `check()` accept exactly when
// seccomp(SECCOMP_SET_MODE_FILTER) does? Programs: the documented edge cases, >= 10,000
// random + mutated programs, and every one of the 65536 `code` values. Scaled by
// SYSFENCE_SOAK_FACTOR; reproducible with SYSFENCE_SEED (printed).
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { Program, type Insn } from "../src/engine/program.js";
import { check } from "../src/engine/check.js";
import { opcodes } from "../src/engine/opcodes.js";
import { oracleSkipReason, kernelAccept, describeAccept, EINVAL } from "./support/oracle.js";
import {
  Rng, runSeed, soakFactor, genValid, mutate, specialPrograms, sweepProgram, hexInsns, I,
} from "./support/randprog.js";

const why = oracleSkipReason();
const factor = soakFactor();
const seed = runSeed();
const BATCH = 4000;
const MAX_REPORTS = 15;

interface Case {
  name: string;
  insns: Insn[];
  expect?: "accept" | "reject";
}

interface Outcome {
  total: number;
  accepted: number;
  /** Number of disagreements; the first MAX_REPORTS are described in `samples`. */
  disagreements: number;
  samples: string[];
  documented: string[];
  /** The kernel's rejections by the checker's first reason (shows what the run exercised). */
  kinds: Map<string, number>;
  ms: number;
}

function describeOurs(p: Program): string {
  const errs = check(p);
  if (errs.length === 0) return "accepted";
  const e = errs[0];
  return `rejected (${e.kind} at ${e.index}: ${e.reason}${errs.length > 1 ? `; +${errs.length - 1} more` : ""})`;
}

function showProgram(insns: readonly Insn[]): string {
  if (insns.length <= 64) return hexInsns(insns);
  return `${hexInsns(insns.slice(0, 24))}\n   ... (${insns.length - 32} more) ...\n${hexInsns(insns.slice(-8)).replace(/^ *\d+/gm, (m) => String(Number(m) + insns.length - 8).padStart(4))}`;
}

/** Runs `cases` through both the kernel and check(), batch by batch. */
async function compare(label: string, count: number, make: (i: number) => Case): Promise<Outcome> {
  const t0 = performance.now();
  const out: Outcome = { total: 0, accepted: 0, disagreements: 0, samples: [], documented: [], kinds: new Map(), ms: 0 };
  for (let start = 0; start < count; start += BATCH) {
    const cases: Case[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) cases.push(make(i));
    const progs = cases.map((c) => Program.fromInsns(c.insns));
    const kernel = await kernelAccept(progs.map((p) => p.bytes));
    cases.forEach((c, i) => {
      const k = kernel[i];
      const errs = check(progs[i]);
      const ours = errs.length === 0;
      out.total++;
      if (k !== 0 && !ours) out.kinds.set(errs[0].kind, (out.kinds.get(errs[0].kind) ?? 0) + 1);
      if (k === 0) out.accepted++;
      const anomaly = k !== 0 && k !== EINVAL;
      if ((anomaly || ours !== (k === 0)) && out.disagreements++ < MAX_REPORTS) {
        out.samples.push(
          `[${label}] ${c.name}: kernel ${describeAccept(k)}, sysfence ${describeOurs(progs[i])}\n` +
          `program (${c.insns.length} insns, code jt jf k):\n${showProgram(c.insns)}`,
        );
      }
      if (c.expect && (c.expect === "accept") !== (k === 0)) {
        out.documented.push(`[${label}] ${c.name}: docs/kernel.md says ${c.expect}, kernel ${describeAccept(k)}`);
      }
    });
  }
  out.ms = performance.now() - t0;
  return out;
}

function report(label: string, o: Outcome): void {
  console.log(
    `[kernel-check] ${label}: ${o.total} programs (${o.accepted} accepted by the kernel), ` +
    `${o.disagreements} disagreements, ${(o.ms / 1000).toFixed(2)} s (seed 0x${seed.toString(16)})`,
  );
  const kinds = [...o.kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(" ");
  if (kinds) console.log(`  rejected by both, by first reason: ${kinds}`);
  for (const d of o.samples) console.error(`DISAGREEMENT ${d}`);
  if (o.disagreements > o.samples.length) console.error(`... and ${o.disagreements - o.samples.length} more`);
  for (const d of o.documented) console.error(`UNEXPECTED ${d}`);
}

/** One program for the random/mutated mix. */
function randomCase(rng: Rng): Case {
  const r = rng.int(100);
  if (r < 22) return { name: "valid", insns: genValid(rng).insns };
  if (r < 32) return { name: "loose scratch", insns: genValid(rng, { scratch: "loose" }).insns };
  if (r < 92) {
    const base = genValid(rng, { scratch: rng.chance(0.25) ? "loose" : "kernel", maxLen: rng.chance(0.7) ? 30 : 150 }).insns;
    return { name: "mutated", insns: mutate(rng, base) };
  }
  // Short programs of table codes with arbitrary operands.
  const n = rng.range(1, 8);
  const ops = opcodes();
  const insns = Array.from({ length: n }, () => I(rng.pick(ops).code, rng.int(n), rng.int(n), rng.chance(0.5) ? rng.int(70) : rng.u32()));
  return { name: "table codes, random operands", insns };
}

describe("checker vs the real kernel (accept/reject)", skipWhen(why), () => {
  it("agrees on the edge cases of docs/kernel.md, with the documented verdicts", async () => {
    const specials = specialPrograms(new Rng(seed));
    const o = await compare("edge cases", specials.length, (i) => specials[i]);
    report("edge cases", o);
    expect(o.disagreements).toBe(0);
    expect(o.documented).toEqual([]);
  });

  it(`agrees on ${10_000 * factor} random and mutated programs`, async () => {
    const rng = new Rng(seed ^ 0x5eed0001);
    const n = Math.round(10_000 * factor);
    const o = await compare("random+mutated", n, () => randomCase(rng));
    report("random+mutated", o);
    expect(o.total).toBeGreaterThanOrEqual(n);
    // The mix must exercise both verdicts in earnest.
    expect(o.accepted).toBeGreaterThan(n * 0.2);
    expect(o.total - o.accepted).toBeGreaterThan(n * 0.2);
    expect(o.disagreements).toBe(0);
  }, 120_000 * factor);

  it("agrees on every one of the 65536 code values", async () => {
    const rng = new Rng(seed ^ 0x5eed0002);
    const sweeps = Math.max(1, Math.round(factor / 10));
    const o = await compare(`code sweep x${sweeps}`, 65536 * sweeps, (i) => ({
      name: `code 0x${(i & 0xffff).toString(16)}`,
      insns: sweepProgram(rng, i & 0xffff),
    }));
    report(`code sweep x${sweeps}`, o);
    expect(o.disagreements).toBe(0);
    // 41 codes, each accepted unless its random k made it illegal (div #0, ld [1], st M[17]).
    expect(o.accepted).toBeGreaterThanOrEqual(25 * sweeps);
    expect(o.accepted).toBeLessThanOrEqual(41 * sweeps);
  }, 120_000 * Math.max(1, factor / 5));
});
