// The checker, the interpreter and compiled policies against the real kernels of aarch64 and
// s390x (big-endian), booted under QEMU TCG on this host (test/support/guest.ts). One boot per
// arch carries every request of the run (the oracle is the guest's /init); the answers are then
// compared here exactly as the x86_64 differential tests do (kernel-check, kernel-eval):
//   - checker: the edge cases, random and mutated programs, and one sweep of all 65536 codes;
//   - eval: random kernel-valid programs over all 41 opcodes, each on inputs near its constants,
//     both halves of 64-bit arguments distinct, in the guest's native ABI (arch = its token);
//   - stacks of 2-3 filters with actions of every kind over a random floor;
//   - byte order: a policy comparing both halves of an argument with different values, and
//     Firecracker's aarch64 threads and Docker's default profile compiled for the guest's ABI,
//     run with real syscalls on their boundary inputs, against the IR's reference evaluator.
// Each arch prints `[kernel ARCH] check N agree, eval M agree, stack K agree, disagreements D`.
// Sizes scale with SYSFENCE_SOAK_FACTOR (`npm run soak`: x100); SYSFENCE_SEED reproduces a run.
import { describe, it, expect, beforeAll } from "vitest";
import { skipWhen } from "./support/skip.js";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Program, type Insn } from "../src/engine/program.js";
import { check } from "../src/engine/check.js";
import { evaluateBatch, evaluateStack } from "../src/engine/run.js";
import { opcodes } from "../src/engine/opcodes.js";
import { Action, formatRet } from "../src/engine/actions.js";
import { findArch } from "../src/syscalls/arches.js";
import { compilePolicyText } from "../src/policy/index.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import { policy, arg, lookupSyscall } from "../src/policy/builder.js";
import { compileIR } from "../src/policy/compile.js";
import type { PolicyIR } from "../src/policy/ir.js";
import {
  acceptRequest, acceptResults, evalRequest, evalResults, describeAccept, expectedObservation, formatObservation,
  rewrite, rewriteForEval, originalAnswer, agreesWithOriginal, Kind, EINVAL, EVAL_FLOOR, ORACLE_SRC, WIRE_WORDS,
  type EvalJob, type EvalResult, type Rewritten, type Observation,
} from "./support/oracle.js";
import {
  GUEST_ARCHES, guestSkipReason, runGuest, guestBatch, buildStatic, guestKernelPackage, MODE,
  type GuestArch, type GuestRecord, type GuestRun,
} from "./support/guest.js";
import {
  Rng, runSeed, soakFactor, genValid, genInputs, specialPrograms, sweepProgram, checkerCase, hexInsns,
  STACK_FLOORS, stackValue,
} from "./support/randprog.js";
import { boundaryInputs, rng as policyRng } from "./support/policygen.js";
import { repoRoot } from "./support/corpus.js";

const factor = soakFactor();
const seed = runSeed();
const CHECK_CASES = Math.round(10_000 * factor);
const EVAL_PAIRS = Math.round(50_000 * factor);
// Stacks kill often (KILL actions, unknown values), and every kill costs a fresh child that
// installs the stack again (~0.2 s of TCG): fewer inputs than the x86_64 test.
const STACK_INPUTS = Math.round(1_500 * factor);
const POLICY_INPUTS = Math.round(2_000 * factor);
const MAX_REPORTS = 10;
/** TCG runs slow on a loaded machine: generous, and scaled for soaks. */
const GUEST_TIMEOUT = Math.max(600_000, 400_000 * factor);

/** The trampoline's return address in the static guest oracle (its ip), read with nm. */
function tramplineIp(a: GuestArch): bigint {
  const bin = buildStatic(a, ORACLE_SRC, "oracle");
  const nm = a.cc.replace(/gcc$/, "nm");
  const r = spawnSync(nm, [bin], { encoding: "utf8" });
  const m = / *([0-9a-f]+) T sf_tramp_ret$/m.exec(r.stdout ?? "");
  if (!m) throw new Error(`${nm} found no sf_tramp_ret in ${bin}: ${r.stderr}`);
  return BigInt("0x" + m[1]);
}

/** One record's comparison of eval answers: the kernel's observation against ours. */
interface EvalItem {
  label: string;
  /** The programs as written (oldest first) and as sent (rewritten bodies). */
  bodies: Insn[][];
  floor: number;
  inputs: Uint32Array;
  /** Per input, what the original program(s) must return according to us, checked against the kernel's answer. */
  original?: (res: EvalResult, batch: ReturnType<typeof guestBatch>) => ((i: number) => string | undefined);
  /** Compiled policies: the policy's return value a kernel observation stands for. */
  policyValue?: (o: Observation) => number | undefined;
}

const errnoOf = (s: string): number => (Action.ERRNO | Number(/\d+/.exec(s)![0])) >>> 0;

class Tally {
  /** Per eval record compared, per job: the results (for tests that look closer). */
  readonly results: EvalResult[][] = [];
  agree = 0;
  skipped = 0;
  bad = 0;
  readonly samples: string[] = [];
  fail(msg: () => string): void {
    if (this.bad++ < MAX_REPORTS) this.samples.push(msg());
  }
  print(what: string): void {
    for (const s of this.samples) console.error(`DISAGREEMENT (${what}) ${s}`);
  }
}

function showWire(wire: Uint32Array, i: number): string {
  const s = i * WIRE_WORDS;
  const h = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
  const args = [];
  for (let k = 0; k < 6; k++) args.push(`0x${h(wire[s + 3 + 2 * k])}${h(wire[s + 2 + 2 * k])}`);
  return `nr 0x${h(wire[s + 1])}${h(wire[s])} args [${args.join(", ")}]`;
}

/**
 * Compares one eval job: the exact stack the kernel ran (evaluateStack over the installed
 * programs, projected to what user space sees) and, where given, the original program's answer.
 */
function compareJob(a: GuestArch, ip: bigint, item: EvalItem, res: EvalResult, t: Tally): void {
  const hdr = () => `${item.label}; floor 0x${item.floor.toString(16)}; bodies:\n${item.bodies.map((b) => hexInsns(b)).join("\n--\n")}`;
  if (res.install !== 0) {
    t.fail(() => `the kernel refused a program sysfence accepts: ${formatObservation({ kind: Kind.INSTALL, value: res.install })}\n${hdr()}`);
    return;
  }
  const batch = guestBatch(a, item.inputs, ip);
  let exact: Uint32Array;
  try {
    exact = evaluateStack(res.installed, batch);
  } catch (e) {
    t.fail(() => `the kernel installed programs sysfence refuses (${(e as Error).message})\n${hdr()}`);
    return;
  }
  const orig = item.original?.(res, batch);
  res.obs.forEach((o, i) => {
    if (o.kind === Kind.SKIPPED) {
      t.skipped++;
      return;
    }
    const exp = expectedObservation(exact[i]);
    const why = exp.kind !== o.kind || exp.value !== o.value
      ? `kernel ${formatObservation(o)}, sysfence ${formatRet(exact[i])} -> ${formatObservation(exp)}`
      : orig?.(i);
    if (why) t.fail(() => `input ${showWire(item.inputs, i)}: ${why}\n${hdr()}`);
    else t.agree++;
  });
}

/** An eval item for one program, checked also against the original (un-rewritten) program. */
function programItem(label: string, insns: Insn[], inputs: Uint32Array): EvalItem {
  const rw: Rewritten = rewriteForEval(insns);
  return {
    label, bodies: [rw.body], floor: EVAL_FLOOR, inputs,
    original: (res, batch) => {
      const ours = evaluateBatch(Program.fromInsns(insns), batch).rets;
      return (i) => {
        const ans = originalAnswer(res.obs[i], rw);
        return agreesWithOriginal(ans, ours[i]) ? undefined : `the kernel says the original returned ${JSON.stringify(ans)}, sysfence 0x${(ours[i] >>> 0).toString(16)}`;
      };
    },
  };
}

/**
 * An eval item for a compiled policy: each distinct RET value becomes ERRNO(its index + 1), and
 * the kernel's answer mapped back must equal the IR's reference evaluator on the same input.
 */
function policyItem(label: string, ir: PolicyIR, program: Program, inputs: Uint32Array): EvalItem {
  const values: number[] = [];
  const rw = rewrite(program.insns(), (_pc, k) => {
    let at = values.indexOf(k);
    if (at < 0) at = values.push(k) - 1;
    return (Action.ERRNO | (at + 1)) >>> 0;
  });
  if (rw.body.length !== program.length) throw new Error(`${label}: a compiled policy with RET A`);
  const policyValue = (o: Observation) => (o.kind === Kind.ERRNO && o.value >= 1 && o.value <= values.length ? values[o.value - 1] : undefined);
  return {
    label, bodies: [rw.body], floor: EVAL_FLOOR, inputs, policyValue,
    original: (res, batch) => (i) => {
      const want = evaluatePolicy(ir, batch.get(i)) >>> 0;
      const o = res.obs[i];
      const got = policyValue(o);
      return got === want ? undefined : `kernel ${formatObservation(o)} (${got === undefined ? "no policy value" : formatRet(got)}), reference ${formatRet(want)}`;
    },
  };
}

/** Wire inputs from seccomp_data values (nr and args; arch and ip are the guest's own). */
function wireOf(data: readonly { nr: number; args?: readonly bigint[] }[]): Uint32Array {
  const w = new Uint32Array(data.length * WIRE_WORDS);
  data.forEach((d, i) => {
    w[i * WIRE_WORDS] = d.nr >>> 0;
    for (let k = 0; k < 6; k++) {
      const v = BigInt.asUintN(64, d.args?.[k] ?? 0n);
      w[i * WIRE_WORDS + 2 + 2 * k] = Number(v & 0xffffffffn);
      w[i * WIRE_WORDS + 3 + 2 * k] = Number(v >> 32n);
    }
  });
  return w;
}

/** Both halves of args[1] compared with different values: the byte-order test. */
const LO = 0x55667788n;
const HI = 0x11223344n;
function halvesPolicy(a: GuestArch): PolicyIR {
  return policy({ arch: a.name, default: "errno(3)", name: "halves" })
    .rule("read", [arg(1).eq((HI << 32n) | LO)], "errno(1)")
    .rule("read", [arg(1).eq((LO << 32n) | HI)], "errno(2)")
    .build();
}

interface Plan {
  accept: { name: string; insns: Insn[] }[];
  evals: { what: "eval" | "stack" | "policy"; items: EvalItem[] }[];
  used: Set<number>;
  policies: string[];
}

function makePlan(a: GuestArch, ip: bigint): Plan {
  const rng = new Rng(seed ^ (a.name === "s390x" ? 0x5390 : 0xa64));
  const ipWords = [Number(ip & 0xffffffffn), Number(ip >> 32n)];
  const accept: Plan["accept"] = specialPrograms(rng).map((s) => ({ name: s.name, insns: s.insns }));
  while (accept.length < CHECK_CASES) accept.push(checkerCase(rng));
  // Code sweep: each install costs about 0.5 ms of TCG, so CI tries every code below 0x100
  // (all 41 accepted ones are there) and 2048 random higher ones; soaks try all 65536.
  const codes = factor >= 10 ? Array.from({ length: 65536 }, (_, c) => c)
    : [...Array.from({ length: 256 }, (_, c) => c), ...Array.from({ length: 2048 }, () => 0x100 + rng.int(0xff00))];
  for (const c of codes) accept.push({ name: `code 0x${c.toString(16)}`, insns: sweepProgram(rng, c) });

  const evals: Plan["evals"] = [];
  const used = new Set<number>();
  for (let planned = 0; planned < EVAL_PAIRS;) {
    const items: EvalItem[] = [];
    while (items.length < 20 && planned < EVAL_PAIRS) {
      const g = genValid(rng, { consts: ipWords });
      if (check(Program.fromInsns(g.insns)).length > 0) throw new Error("generator produced a program the checker rejects");
      g.insns.forEach((x) => used.add(x.code));
      // Forks and installs dominate under TCG (~0.2 s a program): many inputs per program.
      const n = rng.range(400, 1200);
      items.push(programItem("random program", g.insns, genInputs(rng, g.pool, n)));
      planned += n;
    }
    evals.push({ what: "eval", items });
  }
  for (let planned = 0; planned < STACK_INPUTS;) {
    const items: EvalItem[] = [];
    while (items.length < 100 && planned < STACK_INPUTS) {
      let next = 1;
      const uniq = () => next++;
      const bodies: Insn[][] = [];
      const pools: number[] = [];
      for (let f = rng.range(2, 3); f > 0; f--) {
        const g = genValid(rng, { consts: ipWords, maxLen: 40 });
        pools.push(...g.pool);
        bodies.push(rewrite(g.insns, () => stackValue(rng, uniq)).body);
      }
      if (next > 511) continue;
      const n = rng.range(20, 60);
      items.push({ label: "stack", bodies, floor: rng.pick(STACK_FLOORS), inputs: genInputs(rng, pools, n) });
      planned += n;
    }
    evals.push({ what: "stack", items });
  }

  // Compiled policies for the guest's ABI, with boundary inputs (and the byte-order test).
  const arch = findArch(a.name)!;
  const compiled: { label: string; ir: PolicyIR; program: Program }[] = [];
  const compileFile = (label: string, rel: string) => {
    const file = join(repoRoot, "test", "corpus", rel);
    for (const p of compilePolicyText(readFileSync(file, "utf8"), file, { arch, kernel: "6.1" }).programs) {
      compiled.push({ label: `${label} ${p.name}`, ir: p.ir, program: p.program });
    }
  };
  if (a.name === "aarch64") compileFile("firecracker aarch64", "filters/firecracker/aarch64-unknown-linux-musl.json");
  compileFile(`docker default ${a.name}`, "profiles/moby-profiles-seccomp-default.json");
  const halves = halvesPolicy(a);
  const nr = lookupSyscall(arch, "read");
  const v = (hi: bigint, lo: bigint) => ({ nr, args: [0n, (hi << 32n) | lo] });
  // HALVES_EXPECT: errno 1 (HI:LO), errno 2 (LO:HI), errno 3 for the rest.
  const items: EvalItem[] = [policyItem("halves", halves, compileIR(halves), wireOf([v(HI, LO), v(LO, HI), v(HI, HI), v(LO, LO), v(0n, LO), v(HI, 0n)]))];
  const prand = policyRng(seed);
  for (const c of compiled) items.push(policyItem(c.label, c.ir, c.program, wireOf(boundaryInputs(c.ir, prand, POLICY_INPUTS))));
  evals.push({ what: "policy", items });
  return { accept, evals, used, policies: [...compiled.map((c) => c.label), halves.name ?? "halves"] };
}

for (const a of GUEST_ARCHES) {
  const why = guestSkipReason(a);
  describe(`the real ${a.name} kernel under QEMU (${a.order === "be" ? "big" : "little"}-endian)`, skipWhen(why && `${a.name} guest: ${why}`), () => {
    let plan: Plan;
    let run: GuestRun;
    let ip: bigint;
    const tallies = { check: new Tally(), eval: new Tally(), stack: new Tally(), policy: new Tally() };

    beforeAll(async () => {
      ip = tramplineIp(a);
      plan = makePlan(a, ip);
      const records: GuestRecord[] = [{ mode: MODE.probe, request: [] }];
      for (let i = 0; i < plan.accept.length; i += 8000) {
        records.push({ mode: MODE.accept, request: acceptRequest(plan.accept.slice(i, i + 8000).map((c) => Program.fromInsns(c.insns).bytes), a.order) });
      }
      for (const e of plan.evals) {
        records.push({ mode: MODE.eval, request: evalRequest(e.items.map((it): EvalJob => ({ floor: it.floor, bodies: it.bodies, inputs: it.inputs })), a.order) });
      }
      run = await runGuest(a, records, GUEST_TIMEOUT);
      console.log(
        `[kernel ${a.name}] ${guestKernelPackage(a)}: boot ${(run.bootMs / 1000).toFixed(1)} s, ` +
        `all ${records.length} requests answered in ${(run.totalMs / 1000).toFixed(1)} s (seed 0x${seed.toString(16)})`,
      );
      const spans = new Map<string, number>();
      const kinds = ["probe", ...records.slice(1).map((r, i) => (r.mode === MODE.accept ? "check" : plan.evals[i - (records.length - 1 - plan.evals.length)].what))];
      kinds.forEach((k, i) => spans.set(k, (spans.get(k) ?? 0) + (run.answerMs[i] - (i ? run.answerMs[i - 1] : 0))));
      console.log(`[kernel ${a.name}] wall time per part: ${[...spans].map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(", ")} (probe includes the boot)`);
    }, GUEST_TIMEOUT + 120_000);

    it("the guest installs a trivial filter and reports the trampoline's ip", () => {
      const probe = run.answers[0];
      expect(probe.ip).toBe(ip);
      expect(acceptResults(probe.body, 1, a.order)[0]).toBe(0);
    });

    it(`the checker agrees with the kernel on ${CHECK_CASES} edge, random and mutated programs and a code sweep`, () => {
      const t = tallies.check;
      let accepted = 0;
      let at = 0;
      for (let r = 1; at < plan.accept.length; r++) {
        const chunk = plan.accept.slice(at, at + 8000);
        const res = acceptResults(run.answers[r].body, chunk.length, a.order);
        chunk.forEach((c, i) => {
          const k = res[i];
          const ours = check(Program.fromInsns(c.insns)).length === 0;
          if (k === 0) accepted++;
          if ((k !== 0 && k !== EINVAL) || ours !== (k === 0)) {
            t.fail(() => `${c.name}: kernel ${describeAccept(k)}, sysfence ${ours ? "accepted" : "rejected"}\n${hexInsns(c.insns.slice(0, 40))}`);
          } else {
            t.agree++;
          }
        });
        at += chunk.length;
      }
      t.print("check");
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThanOrEqual(CHECK_CASES);
      expect(accepted).toBeGreaterThan(CHECK_CASES * 0.2);
    });

    const evalAnswers = (what: string) => {
      const first = 1 + Math.ceil(plan.accept.length / 8000);
      return plan.evals.map((e, i) => ({ e, ans: run.answers[first + i] })).filter((x) => x.e.what === what);
    };
    const compareAll = (what: "eval" | "stack" | "policy") => {
      const t = tallies[what];
      for (const { e, ans } of evalAnswers(what)) {
        const results = evalResults(e.items.map((it) => ({ floor: it.floor, bodies: it.bodies, inputs: it.inputs })), ans.body, a.order);
        e.items.forEach((it, j) => compareJob(a, ans.ip, it, results[j], t));
        t.results.push(results);
      }
      t.print(what);
      return t;
    };

    it(`the interpreter agrees on ${EVAL_PAIRS} (program, input) pairs over all 41 opcodes`, () => {
      const t = compareAll("eval");
      const missing = opcodes().filter((o) => !plan.used.has(o.code)).map((o) => `0x${o.code.toString(16)}`);
      expect(missing).toEqual([]);
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThanOrEqual(EVAL_PAIRS * 0.99);
    });

    it(`stacks of 2-3 filters agree (${STACK_INPUTS} inputs)`, () => {
      const t = compareAll("stack");
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThanOrEqual(STACK_INPUTS * 0.99);
    });

    it("compiled policies give the reference evaluator's answers to real syscalls", () => {
      const t = compareAll("policy");
      // The byte-order test by the kernel's own answers: only HI:LO takes rule 1, LO:HI rule 2.
      const item = evalAnswers("policy")[0].e.items[0];
      const halves = t.results[0][0].obs.map((o) => formatRet(item.policyValue!(o) ?? 0));
      console.log(`[kernel ${a.name}] args[1] halves test: ${halves.join(", ")}`);
      expect(halves).toEqual(["errno(1)", "errno(2)", "errno(3)", "errno(3)", "errno(3)", "errno(3)"].map((x) => formatRet(errnoOf(x))));
      console.log(`[kernel ${a.name}] compiled policies: ${plan.policies.join(", ")}: ${t.agree} syscalls agree`);
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThan(0);
    });

    it("prints the summary line", () => {
      const d = tallies.check.bad + tallies.eval.bad + tallies.stack.bad + tallies.policy.bad;
      console.log(`[kernel ${a.name}] check ${tallies.check.agree} agree, eval ${tallies.eval.agree} agree, stack ${tallies.stack.agree} agree, disagreements ${d}`);
      expect(d).toBe(0);
    });
  });
}
