// The interpreter against the real kernel (docs/evidence.md section 7): programs run behind an IP
// gate in a child of test/native/oracle.c, with every RET rewritten so that each path ends in
// an observable action and no tested syscall ever runs. Two comparisons per (program, input):
//   exact:    our evaluateStack over the very programs the kernel ran (catch-all + gate +
//             rewritten body), projected to what user space observes, == the observation;
//   original: the kernel's answer mapped back to the original program (RET K -> its k, RET A
//             -> A & 0x1ff, SIGSYS -> 0 from DIV by X == 0) == our evaluateBatch on the
//             original, under the same projection.
// Then stacks of 2-3 filters whose RETs return actions of different kinds (ERRNO and TRAP with
// unique data, kills, unknown values, TRACE/USER_NOTIF, LOG/ALLOW) over a random floor, and
// hand-picked stacks with documented outcomes. Scaled by SYSFENCE_SOAK_FACTOR; reproducible
// with SYSFENCE_SEED (printed).
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { Program, type Insn } from "../src/engine/program.js";
import { check } from "../src/engine/check.js";
import { evaluateBatch, evaluateStack } from "../src/engine/run.js";
import { InputBatch, DATA_WORDS } from "../src/engine/data.js";
import { opcodes } from "../src/engine/opcodes.js";
import { Action, formatRet } from "../src/engine/actions.js";
import {
  oracleSkipReason, kernelEval, probeIp, expectedObservation, formatObservation, rewriteForEval, rewrite,
  originalAnswer, agreesWithOriginal, Kind, EVAL_FLOOR, AUDIT_ARCH_X86_64, WIRE_WORDS, SIGSYS, ENOSYS,
  type EvalJob, type EvalAnswer, type Observation, type Rewritten,
} from "./support/oracle.js";
import { Rng, runSeed, soakFactor, genValid, genInputs, hexInsns, I, C } from "./support/randprog.js";

const why = oracleSkipReason();
const factor = soakFactor();
const seed = runSeed();
const MAX_REPORTS = 12;

/** The wire inputs as an InputBatch for the engine: arch x86_64, ip = the trampoline's. */
function toBatch(wire: Uint32Array, ip: bigint): InputBatch {
  const n = wire.length / WIRE_WORDS;
  const b = new InputBatch(n);
  const w = b.words;
  const ipLo = Number(ip & 0xffffffffn);
  const ipHi = Number(ip >> 32n);
  for (let i = 0; i < n; i++) {
    const s = i * WIRE_WORDS;
    const d = i * DATA_WORDS;
    w[d] = wire[s]; // the kernel keeps only the low 32 bits of rax
    w[d + 1] = AUDIT_ARCH_X86_64;
    w[d + 2] = ipLo;
    w[d + 3] = ipHi;
    for (let k = 0; k < 12; k++) w[d + 4 + k] = wire[s + 2 + k];
  }
  return b;
}

function showInput(wire: Uint32Array, i: number): string {
  const s = i * WIRE_WORDS;
  const h = (v: number) => "0x" + (v >>> 0).toString(16);
  const args = [];
  for (let a = 0; a < 6; a++) args.push(h(wire[s + 3 + 2 * a]) + ":" + (wire[s + 2 + 2 * a] >>> 0).toString(16).padStart(8, "0"));
  return `rax=${h(wire[s + 1])}:${(wire[s] >>> 0).toString(16).padStart(8, "0")} (nr ${wire[s] | 0}) args=[${args.join(", ")}]`;
}

const sameObs = (a: Observation, b: Observation): boolean => a.kind === b.kind && a.value === b.value;

/** Counts failures and keeps the first few, formatted lazily (a soak may find many). */
class Failures {
  count = 0;
  readonly samples: string[] = [];
  constructor(readonly name: string) {}
  add(msg: () => string): void {
    if (this.count++ < MAX_REPORTS) this.samples.push(msg());
  }
  print(): void {
    for (const m of this.samples) console.error(`MISMATCH (${this.name}) ${m}`);
    if (this.count > this.samples.length) console.error(`... and ${this.count - this.samples.length} more ${this.name} mismatches`);
  }
}

interface Tally {
  pairs: number;
  skipped335: number;
  kills: number;
  exact: Failures;
  original: Failures;
  install: Failures;
}

function newTally(): Tally {
  return {
    pairs: 0, skipped335: 0, kills: 0,
    exact: new Failures("EXACT"), original: new Failures("ORIGINAL"), install: new Failures("INSTALL"),
  };
}

function printFailures(t: Tally): void {
  t.exact.print();
  t.original.print();
  t.install.print();
}

/**
 * Our answer for the programs the kernel installed. evaluateStack refuses programs our checker
 * rejects: the kernel took them, so that is a disagreement to report, not a crash.
 */
function runInstalled(installed: Program[], batch: InputBatch, t: Tally, hdr: () => string): Uint32Array | undefined {
  try {
    return evaluateStack(installed, batch);
  } catch (e) {
    t.install.add(() => `the kernel installed programs sysfence refuses (${(e as Error).message})\n${hdr()}`);
    return undefined;
  }
}

/** Sends each round of jobs (from `rounds()`) to the kernel while checking the previous one. */
async function pipeline<T>(rounds: () => T | undefined, send: (t: T) => Promise<EvalAnswer>, checkRound: (t: T, a: EvalAnswer) => void): Promise<void> {
  let cur = rounds();
  let pending = cur !== undefined ? send(cur) : undefined;
  while (cur !== undefined && pending !== undefined) {
    const next = rounds();
    const nextPending = next !== undefined ? send(next) : undefined;
    nextPending?.catch(() => undefined); // a failure surfaces when it is awaited
    checkRound(cur, await pending);
    cur = next;
    pending = nextPending;
  }
}

describe("interpreter vs the real kernel", skipWhen(why), () => {
  it(`agrees on ${100_000 * factor} (program, input) pairs drawn from all 41 opcodes`, async () => {
    const t0 = performance.now();
    const rng = new Rng(seed ^ 0xe7a10001);
    const ip = await probeIp();
    const ipWords = [Number(ip & 0xffffffffn), Number(ip >> 32n)];
    const target = Math.round(100_000 * factor);
    const t = newTally();
    const used = new Map<number, number>();
    let programs = 0;
    let planned = 0;
    let checkerRejected = 0;

    interface Item { insns: Insn[]; rw: Rewritten; inputs: Uint32Array }
    const makeRound = (): Item[] | undefined => {
      if (planned >= target) return undefined;
      const items: Item[] = [];
      while (items.length < 200 && planned < target) {
        const g = genValid(rng, { consts: ipWords });
        if (check(Program.fromInsns(g.insns)).length > 0) {
          // genValid builds kernel-valid programs; the kernel-check test compares verdicts.
          checkerRejected++;
          continue;
        }
        const n = rng.range(40, 160);
        const inputs = genInputs(rng, g.pool, n, { probeNr: 0.002 });
        items.push({ insns: g.insns, rw: rewriteForEval(g.insns), inputs });
        // inputs with nr 335/336 are skipped by the oracle: they do not count as pairs
        for (let i = 0; i < n; i++) if (inputs[i * WIRE_WORDS] !== 335 && inputs[i * WIRE_WORDS] !== 336) planned++;
      }
      return items;
    };
    const send = (items: Item[]) =>
      kernelEval(items.map((it): EvalJob => ({ floor: EVAL_FLOOR, bodies: [it.rw.body], inputs: it.inputs })));
    const checkRound = (items: Item[], ans: EvalAnswer) => {
      items.forEach((it, j) => {
        const res = ans.results[j];
        programs++;
        for (const x of it.insns) used.set(x.code, (used.get(x.code) ?? 0) + 1);
        const hdr = () => `program (${it.insns.length} insns, code jt jf k):\n${hexInsns(it.insns)}`;
        if (res.install !== 0) {
          t.install.add(() => `kernel refused a program sysfence accepts: ${formatObservation({ kind: Kind.INSTALL, value: res.install })}\n${hdr()}`);
          return;
        }
        const batch = toBatch(it.inputs, ans.ip);
        const exact = runInstalled(res.installed, batch, t, hdr);
        if (!exact) return;
        const orig = evaluateBatch(Program.fromInsns(it.insns), batch).rets;
        res.obs.forEach((o, i) => {
          if (o.kind === Kind.SKIPPED) {
            t.skipped335++;
            return;
          }
          t.pairs++;
          if (o.kind === Kind.SIGNAL) t.kills++;
          const exp = expectedObservation(exact[i]);
          if (!sameObs(exp, o)) {
            t.exact.add(() => `input ${showInput(it.inputs, i)}\n  kernel ${formatObservation(o)}, sysfence ${formatRet(exact[i])} -> ${formatObservation(exp)}\n${hdr()}`);
          }
          const a = originalAnswer(o, it.rw);
          if (!agreesWithOriginal(a, orig[i])) {
            t.original.add(() => `input ${showInput(it.inputs, i)}\n  kernel says the original returned ${JSON.stringify(a)}, sysfence 0x${(orig[i] >>> 0).toString(16)}\n${hdr()}`);
          }
        });
      });
    };
    await pipeline(makeRound, send, checkRound);

    const ms = performance.now() - t0;
    const missing = opcodes().filter((o) => !used.has(o.code)).map((o) => `0x${o.code.toString(16)}`);
    console.log(
      `[kernel-eval] ${t.pairs} (program, input) pairs over ${programs} programs, ${t.kills} SIGSYS kills, ` +
      `${t.skipped335} inputs with nr 335/336 skipped (they bypass seccomp on x86_64), ` +
      `${t.exact.count} exact / ${t.original.count} original / ${t.install.count} install mismatches, ` +
      `ip 0x${ip.toString(16)}, ${(ms / 1000).toFixed(2)} s (seed 0x${seed.toString(16)})`,
    );
    printFailures(t);
    expect(checkerRejected).toBe(0);
    expect(missing).toEqual([]);
    expect(t.pairs).toBeGreaterThanOrEqual(target);
    expect(t.install.count).toBe(0);
    expect(t.exact.count).toBe(0);
    expect(t.original.count).toBe(0);
  }, 180_000 * factor);

  // ---- stacks ----------------------------------------------------------------------------------

  /** Floors: the catch-all's value; each is observable and never lets the syscall run. */
  const FLOORS = [
    (Action.ERRNO | 4000) >>> 0, (Action.TRAP | 4001) >>> 0, (Action.TRACE | 4002) >>> 0,
    (Action.USER_NOTIF | 4003) >>> 0, 0x00060000, 0x7ffb0000,
  ];

  /** A RET K value for a stacked filter: a kind drawn at random, ERRNO/TRAP data unique. */
  function stackValue(rng: Rng, uniq: () => number): number {
    const d = uniq();
    switch (rng.int(14)) {
      case 0: case 1: case 2: case 11: case 12: return (Action.ERRNO | d) >>> 0;
      case 3: case 4: case 13: return (Action.TRAP | d) >>> 0;
      case 5: return (Action.KILL_THREAD | (rng.chance(0.5) ? 0 : d)) >>> 0;
      case 6: return (Action.KILL_PROCESS | (rng.chance(0.5) ? 0 : d)) >>> 0;
      case 7: return (rng.pick([Action.TRACE, Action.USER_NOTIF]) | d) >>> 0;
      case 8: return (rng.pick([Action.LOG, Action.ALLOW]) | (rng.chance(0.5) ? 0 : d)) >>> 0;
      default: return (rng.pick([0x00010000, 0x00060000, 0x7ff80000, 0x7ffe0000, 0xfffe0000]) | d) >>> 0;
    }
  }

  it(`stacks of 2-3 random filters: precedence and ties agree (${20_000 * factor} inputs)`, async () => {
    const t0 = performance.now();
    const rng = new Rng(seed ^ 0x57ac0001);
    const ip = await probeIp();
    const ipWords = [Number(ip & 0xffffffffn), Number(ip >> 32n)];
    const target = Math.round(20_000 * factor);
    const t = newTally();
    const winners = new Map<string, number>();
    let planned = 0;
    let stacks = 0;

    interface Item { progs: Insn[][]; bodies: Insn[][]; floor: number; inputs: Uint32Array; owner: Map<number, number> }
    const makeRound = (): Item[] | undefined => {
      if (planned >= target) return undefined;
      const items: Item[] = [];
      while (items.length < 150 && planned < target) {
        const nf = rng.range(2, 3);
        let next = 1;
        const uniq = () => next++; // unique 1..511 across the stack
        const owner = new Map<number, number>(); // data -> filter index (oldest = 0)
        const progs: Insn[][] = [];
        const bodies: Insn[][] = [];
        const pools: number[] = [];
        for (let f = 0; f < nf; f++) {
          const g = genValid(rng, { consts: ipWords, maxLen: 40 });
          if (check(Program.fromInsns(g.insns)).length > 0) throw new Error("generator produced a program the checker rejects");
          progs.push(g.insns);
          pools.push(...g.pool);
          bodies.push(rewrite(g.insns, () => {
            const v = stackValue(rng, uniq);
            owner.set(v & 0xffff, f);
            return v;
          }).body);
        }
        if (next > 511) continue;
        const n = rng.range(20, 60);
        items.push({ progs, bodies, floor: rng.pick(FLOORS), inputs: genInputs(rng, pools, n), owner });
        planned += n;
      }
      return items;
    };
    const send = (items: Item[]) => kernelEval(items.map((it): EvalJob => ({ floor: it.floor, bodies: it.bodies, inputs: it.inputs })));
    const checkRound = (items: Item[], ans: EvalAnswer) => {
      items.forEach((it, j) => {
        const res = ans.results[j];
        stacks++;
        const hdr = () => `floor 0x${it.floor.toString(16)}; filters oldest first (rewritten bodies):\n` +
          it.bodies.map((b, f) => `-- filter ${f + 1}:\n${hexInsns(b)}`).join("\n");
        if (res.install !== 0) {
          t.install.add(() => `kernel refused a stack sysfence accepts: ${formatObservation({ kind: Kind.INSTALL, value: res.install })}\n${hdr()}`);
          return;
        }
        const batch = toBatch(it.inputs, ans.ip);
        const exact = runInstalled(res.installed, batch, t, hdr);
        if (!exact) return;
        res.obs.forEach((o, i) => {
          if (o.kind === Kind.SKIPPED) {
            t.skipped335++;
            return;
          }
          t.pairs++;
          const exp = expectedObservation(exact[i]);
          if (!sameObs(exp, o)) {
            t.exact.add(() => `input ${showInput(it.inputs, i)}\n  kernel ${formatObservation(o)}, sysfence ${formatRet(exact[i])} -> ${formatObservation(exp)}\n${hdr()}`);
          }
          // Which filter decided (by the unique data), to show the rule was exercised.
          const r = exact[i] >>> 0;
          const act = (r & 0xffff0000) >>> 0;
          let who = "floor/kill";
          if ((act === Action.ERRNO || act === Action.TRAP) && r !== it.floor) {
            const f = it.owner.get(r & 0xffff);
            who = f === undefined ? "ret A" : f === it.progs.length - 1 ? "newest" : "older";
          }
          const key = `${formatObservation(o).replace(/\(\d+\)/, "")}/${who}`;
          winners.set(key, (winners.get(key) ?? 0) + 1);
        });
      });
    };
    await pipeline(makeRound, send, checkRound);

    const ms = performance.now() - t0;
    const dist = [...winners.entries()].sort().map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(
      `[kernel-eval] stacks: ${t.pairs} inputs over ${stacks} stacks, ${t.exact.count} mismatches, ` +
      `${(ms / 1000).toFixed(2)} s (seed 0x${seed.toString(16)})\n  outcomes (observation/decider): ${dist}`,
    );
    printFailures(t);
    expect(t.pairs).toBeGreaterThanOrEqual(target);
    // The precedence rule must have been exercised both ways.
    const count = (re: RegExp) => [...winners.entries()].filter(([k]) => re.test(k)).reduce((s, [, v]) => s + v, 0);
    expect(count(/\/older$/)).toBeGreaterThan(0);
    expect(count(/\/newest$/)).toBeGreaterThan(0);
    expect(count(/^TRAP/)).toBeGreaterThan(0);
    expect(count(/^SIGNAL/)).toBeGreaterThan(0);
    expect(t.install.count).toBe(0);
    expect(t.exact.count).toBe(0);
  }, 180_000 * factor);

  it("hand-picked stacks give the documented outcomes (docs/kernel.md sections 3-4)", async () => {
    const E = (d: number) => (Action.ERRNO | d) >>> 0;
    const T = (d: number) => (Action.TRAP | d) >>> 0;
    const ret = (v: number): Insn[] => [I(C.retK, 0, 0, v)];
    const retA = (v: number): Insn[] => [I(C.ldImm, 0, 0, v), I(C.retA, 0, 0, 0)];
    const F = EVAL_FLOOR;
    const sig: Observation = { kind: Kind.SIGNAL, value: SIGSYS };
    const errno = (v: number): Observation => ({ kind: Kind.ERRNO, value: v });
    const trap = (v: number): Observation => ({ kind: Kind.TRAP, value: v });
    const cases: { name: string; floor: number; bodies: Insn[][]; expect: Observation }[] = [
      { name: "ERRNO(5) then ERRNO(7): newest wins", floor: F, bodies: [ret(E(5)), ret(E(7))], expect: errno(7) },
      { name: "ERRNO(7) then ERRNO(5): newest wins", floor: F, bodies: [ret(E(7)), ret(E(5))], expect: errno(5) },
      { name: "three ERRNO ties", floor: F, bodies: [ret(E(5)), ret(E(7)), ret(E(6))], expect: errno(6) },
      { name: "ERRNO(7) then LOG", floor: F, bodies: [ret(E(7)), ret(Action.LOG)], expect: errno(7) },
      { name: "LOG then ERRNO(7)", floor: F, bodies: [ret(Action.LOG), ret(E(7))], expect: errno(7) },
      { name: "unknown 0x00010000 (older) beats ERRNO(9)", floor: F, bodies: [ret(0x00010000), ret(E(9))], expect: sig },
      { name: "0xfffe0000 (newer) beats ERRNO(9)", floor: F, bodies: [ret(E(9)), ret(0xfffe0000)], expect: sig },
      { name: "KILL_PROCESS|0x1234 beats ERRNO", floor: F, bodies: [ret(0x80001234), ret(E(9))], expect: sig },
      { name: "KILL_THREAD beats TRAP", floor: F, bodies: [ret(T(3)), ret(Action.KILL_THREAD)], expect: sig },
      { name: "TRAP(3) (older) beats ERRNO(4)", floor: F, bodies: [ret(T(3)), ret(E(4))], expect: trap(3) },
      { name: "TRAP(3) (newer) beats ERRNO(4)", floor: F, bodies: [ret(E(4)), ret(T(3))], expect: trap(3) },
      { name: "TRAP tie: newest data", floor: F, bodies: [ret(T(3)), ret(T(8))], expect: trap(8) },
      { name: "TRAP tie, other order", floor: F, bodies: [ret(T(8)), ret(T(3))], expect: trap(3) },
      { name: "ERRNO(2) beats TRACE", floor: F, bodies: [ret(Action.TRACE | 1), ret(E(2))], expect: errno(2) },
      { name: "USER_NOTIF without listener: ENOSYS", floor: (Action.TRACE | 1) >>> 0, bodies: [ret(Action.USER_NOTIF)], expect: errno(ENOSYS) },
      { name: "TRACE without tracer: ENOSYS", floor: 0x7ffb0000, bodies: [ret(Action.TRACE)], expect: errno(ENOSYS) },
      { name: "ALLOW loses to the floor", floor: F, bodies: [ret(Action.ALLOW)], expect: errno(4000) },
      { name: "ALLOW with data and LOG lose to the floor", floor: F, bodies: [ret(Action.ALLOW | 0x1234), ret(Action.LOG)], expect: errno(4000) },
      { name: "unknown 0x7ffe0000 loses to a TRACE floor", floor: (Action.TRACE | 1) >>> 0, bodies: [ret(0x7ffe0000)], expect: errno(ENOSYS) },
      { name: "unknown floor 0x7ffb0000 beats LOG/ALLOW", floor: 0x7ffb0000, bodies: [ret(0x7ffe0000), ret(Action.ALLOW)], expect: sig },
      { name: "unknown 0x00060000 beats USER_NOTIF", floor: (Action.TRACE | 1) >>> 0, bodies: [ret(0x00060000), ret(Action.USER_NOTIF)], expect: sig },
      { name: "ERRNO(0xffff) is capped at 4095", floor: F, bodies: [ret(E(0xffff))], expect: errno(4095) },
      { name: "ERRNO(4096) is capped at 4095", floor: F, bodies: [ret(E(4096))], expect: errno(4095) },
      { name: "ERRNO(0) returns 0 without running", floor: F, bodies: [ret(E(0))], expect: { kind: Kind.RETURNED, value: 0 } },
      { name: "RET A of ERRNO(77) ties with ERRNO(5), newest wins", floor: F, bodies: [ret(E(5)), retA(E(77))], expect: errno(77) },
      { name: "RET A of ALLOW loses to the floor", floor: F, bodies: [retA(Action.ALLOW)], expect: errno(4000) },
      { name: "DIV by X == 0 kills, even under ERRNO", floor: F, bodies: [ret(E(5)), [I(C.divX, 0, 0, 0), I(C.retK, 0, 0, E(6))]], expect: sig },
    ];
    const rng = new Rng(seed ^ 0x4a4d0001);
    const inputs = cases.map(() => genInputs(rng, [0, 1, 59], 3));
    const ans = await kernelEval(cases.map((c, i) => ({ floor: c.floor, bodies: c.bodies, inputs: inputs[i] })));
    const bad: string[] = [];
    cases.forEach((c, i) => {
      const res = ans.results[i];
      const ours = evaluateStack(res.installed, toBatch(inputs[i], ans.ip));
      res.obs.forEach((o, k) => {
        const exp = expectedObservation(ours[k]);
        if (!sameObs(o, c.expect) || !sameObs(exp, o)) {
          bad.push(`${c.name}: documented ${formatObservation(c.expect)}, kernel ${formatObservation(o)}, sysfence ${formatRet(ours[k])} -> ${formatObservation(exp)}`);
        }
      });
    });
    console.log(`[kernel-eval] hand-picked stacks: ${cases.length} stacks, ${bad.length} mismatches`);
    for (const b of bad) console.error(`MISMATCH ${b}`);
    expect(bad).toEqual([]);
  });
});
