// The checker, the interpreter and compiled policies against the real kernels of aarch64 and
// s390x (big-endian), booted under QEMU TCG on this host (test/support/guest.ts), and the native
// launcher on aarch64. One boot per arch carries every request of a CI run (the oracle is the
// guest's /init); both arches boot side by side; the answers are then compared here exactly as
// the x86_64 differential tests do (kernel-check, kernel-eval):
//   - checker: the edge cases, random and mutated programs, and a code sweep (all 65536 codes
//     in soaks);
//   - eval: random kernel-valid programs over all 41 opcodes, each on inputs near its constants,
//     both halves of 64-bit arguments distinct, in the guest's native ABI (arch = its token);
//   - stacks of 2-3 filters with actions of every kind over a random floor;
//   - byte order: a policy comparing both halves of an argument with different values, and
//     Firecracker's aarch64 threads and Docker's default profile compiled for the guest's ABI,
//     run with real syscalls on their boundary inputs, against the IR's reference evaluator;
//   - launcher (aarch64): launcher/ cross-compiled, given a two-phase stack built by the host's
//     launch code, execs test/native/launchee.c; exit status, the stack's verdicts, and the
//     SIGSYS diagnosis (kernel log audit record, user notification) checked.
// Each arch prints `[kernel ARCH] check N agree, eval M agree, stack K agree, disagreements D`.
// Sizes scale with SYSFENCE_SOAK_FACTOR (`npm run soak`: x100, in rounds of x5, one boot each);
// SYSFENCE_SEED reproduces a run.
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
  type EvalJob, type EvalResult, type Rewritten, type Observation, type HelperAnswer,
} from "./support/oracle.js";
import {
  GUEST_ARCHES, guestSkipReason, armCompatSkipReason, ARM_COMPAT_CC, runGuestBoots, guestBatch, buildStatic, buildLauncher, guestKernelPackage, launchRequest, launchAnswer, MODE,
  type CpioFile, type GuestArch, type GuestRecord, type LaunchAnswer, type LaunchRequest,
} from "./support/guest.js";
import { InputBatch } from "../src/engine/data.js";
import { decodeRet } from "../src/engine/actions.js";
import { refuseBeforeStart, rewriteKillsToNotify } from "../src/launch/filters.js";
import { filterInvocation } from "../src/launch/launch.js";
import { parseKmsgRecord, recordToCall, parseNotification, confirmWithStack } from "../src/launch/diagnose.js";
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
/**
 * Soaks run in rounds of at most ROUND_FACTOR times the CI sizes, each with its own plan and
 * boot, compared and dropped before the next: host memory and the guest's initramfs stay the
 * size of one round (x100 would hold millions of programs at once otherwise).
 */
const ROUND_FACTOR = 5;
const ROUNDS = Math.max(1, Math.ceil(factor / ROUND_FACTOR));
const roundSize = (n: number, r: number) => Math.round(n * Math.min(ROUND_FACTOR, factor - r * ROUND_FACTOR));
const MAX_REPORTS = 10;
const LAUNCHEE_SRC = join(repoRoot, "test", "native", "launchee.c");
const ARMCOMPAT_SRC = join(repoRoot, "test", "native", "armcompat.c");
/** TCG runs slow on a loaded machine: generous, and scaled for soaks. */
const GUEST_TIMEOUT = Math.max(1_500_000, 400_000 * Math.min(factor, ROUND_FACTOR));

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

/** One round's plan: round 0 has the edge cases and the code sweep; every round has random work. */
function makePlan(a: GuestArch, ip: bigint, round: number): Plan {
  const rng = new Rng((seed ^ (a.name === "s390x" ? 0x5390 : 0xa64) ^ Math.imul(round, 0x9e3779b1)) >>> 0);
  const ipWords = [Number(ip & 0xffffffffn), Number(ip >> 32n)];
  // 2% more evaluations than the floor: inputs the oracle cannot issue (s390x nr 7) are skipped,
  // and the floor of EVAL_PAIRS agreeing pairs must still be reached.
  const [checks, pairs, stackInputs, policyInputs] = [10_000, 51_000, 1_500, 2_000].map((n) => roundSize(n, round));
  const accept: Plan["accept"] = round === 0 ? specialPrograms(rng).map((s) => ({ name: s.name, insns: s.insns })) : [];
  while (accept.length < checks) accept.push(checkerCase(rng));
  if (round > 0) return { ...planEvals(a, rng, ipWords, pairs, stackInputs, policyInputs), accept };
  // Code sweep: each install costs about 0.5 ms of TCG, so CI tries every code below 0x100
  // (all 41 accepted ones are there) and 2048 random higher ones; soaks try all 65536.
  const codes = factor >= 10 ? Array.from({ length: 65536 }, (_, c) => c)
    : [...Array.from({ length: 256 }, (_, c) => c), ...Array.from({ length: 2048 }, () => 0x100 + rng.int(0xff00))];
  for (const c of codes) accept.push({ name: `code 0x${c.toString(16)}`, insns: sweepProgram(rng, c) });
  return { ...planEvals(a, rng, ipWords, pairs, stackInputs, policyInputs), accept };
}

/** The eval records of a round: random programs, stacks, compiled policies and the halves test. */
function planEvals(a: GuestArch, rng: Rng, ipWords: number[], EVAL_PAIRS: number, STACK_INPUTS: number, POLICY_INPUTS: number): Omit<Plan, "accept"> {
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
  const prand = policyRng(rng.u32());
  for (const c of compiled) items.push(policyItem(c.label, c.ir, c.program, wireOf(boundaryInputs(c.ir, prand, POLICY_INPUTS))));
  evals.push({ what: "policy", items });
  return { evals, used, policies: [...compiled.map((c) => c.label), halves.name ?? "halves"] };
}

// ---- the launcher on aarch64 ------------------------------------------------------------------

/** The two phases the launcher installs (oldest first): each decides some calls of launchee.c. */
function launchPhases(a: GuestArch): Program[] {
  const p1 = policy({ arch: a.name, default: "allow", name: "phase 1" })
    .rule("getppid", [], "errno(101)").rule("geteuid", [], "errno(201)").rule("getgid", [], "trap").build();
  const p2 = policy({ arch: a.name, default: "allow", name: "phase 2" })
    .rule("getuid", [], "errno(102)").rule("geteuid", [], "errno(202)").rule("mbind", [], "kill_process").build();
  return [compileIR(p1), compileIR(p2)];
}

/** The calls `launchee calls` makes, in its order. */
const LAUNCHEE_CALLS = ["getppid", "getuid", "geteuid", "getpid"];
/** The launch of test/native/armcompat.c, a 32-bit arm program, under the aarch64 phases. */
const ARM_COMPAT = "exec mode, arm compat program (foreign arch)";
const MBIND_ARGS = [0x1111n, 0x2222n, 0x3333n, 0x4444n, 0x5555n, 0x6666n];

interface LaunchCase {
  label: string;
  request: LaunchRequest;
  /** The filters as written (what the stack's verdicts are computed from). */
  original: Program[];
}

/**
 * The launcher runs of the aarch64 boot: argv and filter bytes built by the host's own code
 * (refuseBeforeStart, rewriteKillsToNotify, filterInvocation), as `sysfence launch` does.
 */
function launchCases(a: GuestArch): LaunchCase[] {
  const arch = findArch(a.name)!;
  const original = launchPhases(a);
  const stack = original.map((program, i) => ({ label: `phase ${i + 1}`, program }));
  // The guest's kernel (6.1) offers every action; no filter is on the oracle's child before.
  const refusal = { arch, actionsAvail: new Set(["kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow"]), inheritedFilters: 0 };
  const make = (label: string, mode: "exec" | "notify" | "pidns", program: string[], waitAudit = false, path = "/launchee"): LaunchCase => {
    refuseBeforeStart(stack, { ...refusal, needsUserNotif: mode === "notify" });
    const installed = [...original];
    if (mode === "notify") installed[1] = rewriteKillsToNotify(installed[1]).program;
    const { bytes, args } = filterInvocation(installed, arch);
    args.push("--status-fd", "4");
    if (mode === "notify") args.push("--diagnose", "notify");
    if (mode === "pidns") args.push("--pidns");
    const filters = Buffer.concat(bytes.map((b) => Buffer.from(b)));
    return { label, original, request: { args: [...args, "--", path, ...program], filters, waitAudit } };
  };
  const armCompat = armCompatSkipReason() ? [] : [make(ARM_COMPAT, "exec", [], true, "/armcompat")];
  return [
    ...armCompat,
    make("exec mode, calls, exit 42", "exec", ["calls", "42"]),
    make("exec mode, killed by phase 2 (kmsg diagnosis)", "exec", ["kill"], true),
    make("exec mode, trapped by phase 1", "exec", ["trap"]),
    make("supervisor (diagnose notify), calls, exit 43", "notify", ["calls", "43"]),
    make("supervisor (diagnose notify), killed by phase 2", "notify", ["kill"]),
    make("supervisor (pidns), calls, exit 44", "pidns", ["calls", "44"]),
  ];
}

/** What `launchee calls` must print under the stack, from the engine's evaluateStack. */
function expectedCalls(a: GuestArch, stack: readonly Program[]): string {
  const arch = findArch(a.name)!;
  const rets = evaluateStack(stack, InputBatch.of(LAUNCHEE_CALLS.map((n) => ({ nr: lookupSyscall(arch, n), arch: a.token }))));
  return LAUNCHEE_CALLS.map((n, i) => {
    const v = decodeRet(rets[i]);
    if (v.action === "ALLOW") return `${n} ok\n`;
    if (v.action === "ERRNO") return `${n} -${v.data}\n`;
    throw new Error(`${n}: the stack returns ${formatRet(rets[i])}, which launchee cannot report`);
  }).join("");
}

// ---- one boot per arch and round, both arches at once ---------------------------------------

interface Tallies {
  check: Tally;
  eval: Tally;
  stack: Tally;
  policy: Tally;
}

/** Everything one arch's run found: compared round by round, asserted by the tests below. */
interface Prepared {
  ip: bigint;
  probe: HelperAnswer;
  tallies: Tallies;
  /** Programs the kernel accepted, and opcodes the eval programs used (all rounds). */
  accepted: number;
  used: Set<number>;
  policies: string[];
  /** Round 0's halves test: the policy value of each of its six inputs as the kernel answered. */
  halves: string[];
  launches: LaunchCase[];
  launchAnswers: HelperAnswer[];
  bootMs: number;
  totalMs: number;
  boots: number;
}

/** The checker's verdicts against the kernel's, for one round. */
function compareChecks(a: GuestArch, plan: Plan, answers: readonly HelperAnswer[], t: Tally): number {
  let accepted = 0;
  for (let at = 0, r = 0; at < plan.accept.length; r++, at += 8000) {
    const chunk = plan.accept.slice(at, at + 8000);
    const res = acceptResults(answers[r].body, chunk.length, a.order);
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
  }
  return accepted;
}

/** The eval, stack and policy records of one round; returns the halves item's kernel answers. */
function compareEvals(a: GuestArch, plan: Plan, answers: readonly HelperAnswer[], tallies: Tallies): string[] {
  let halves: string[] = [];
  plan.evals.forEach((e, r) => {
    const ans = answers[r];
    const results = evalResults(e.items.map((it) => ({ floor: it.floor, bodies: it.bodies, inputs: it.inputs })), ans.body, a.order);
    e.items.forEach((it, j) => {
      compareJob(a, ans.ip, it, results[j], tallies[e.what]);
      if (it.label === "halves") halves = results[j].obs.map((o) => formatRet(it.policyValue!(o) ?? 0));
    });
  });
  return halves;
}

/**
 * Plans, boots and compares one arch, round by round (one round in CI). Round 0 also runs the
 * launcher (aarch64): the launcher and launchee go into the same initramfs as the oracle batch.
 */
async function prepare(a: GuestArch): Promise<Prepared> {
  const ip = tramplineIp(a);
  const tallies: Tallies = { check: new Tally(), eval: new Tally(), stack: new Tally(), policy: new Tally() };
  const out: Prepared = {
    ip, probe: { ip: 0n, body: Buffer.alloc(0) }, tallies, accepted: 0, used: new Set(), policies: [], halves: [],
    launches: a.name === "aarch64" ? launchCases(a) : [], launchAnswers: [], bootMs: 0, totalMs: 0, boots: 0,
  };
  for (let round = 0; round < ROUNDS; round++) {
    const plan = makePlan(a, ip, round);
    const kinds: string[] = ["probe"];
    const records: GuestRecord[] = [{ mode: MODE.probe, request: [] }];
    for (let i = 0; i < plan.accept.length; i += 8000) {
      records.push({ mode: MODE.accept, request: acceptRequest(plan.accept.slice(i, i + 8000).map((c) => Program.fromInsns(c.insns).bytes), a.order) });
      kinds.push("check");
    }
    for (const e of plan.evals) {
      records.push({ mode: MODE.eval, request: evalRequest(e.items.map((it): EvalJob => ({ floor: it.floor, bodies: it.bodies, inputs: it.inputs })), a.order) });
      kinds.push(e.what);
    }
    const extra: CpioFile[] = [];
    const launches = round === 0 ? out.launches : [];
    if (launches.length) {
      extra.push({ name: "launcher", data: readFileSync(buildLauncher(a)), mode: 0o755 });
      extra.push({ name: "launchee", data: readFileSync(buildStatic(a, LAUNCHEE_SRC, "launchee")), mode: 0o755 });
      if (launches.some((l) => l.label === ARM_COMPAT)) {
        const bin = buildStatic(a, ARMCOMPAT_SRC, "armcompat", ["-nostdlib", "-marm"], ARM_COMPAT_CC);
        extra.push({ name: "armcompat", data: readFileSync(bin), mode: 0o755 });
      }
      for (const l of launches) {
        records.push({ mode: MODE.launch, request: launchRequest(a, l.request) });
        kinds.push("launcher");
      }
    }
    const run = await runGuestBoots(a, records, GUEST_TIMEOUT, extra);
    console.log(
      `[kernel ${a.name}] ${ROUNDS > 1 ? `round ${round + 1}/${ROUNDS}: ` : ""}${guestKernelPackage(a)}: boot ${(run.bootMs / 1000).toFixed(1)} s, ` +
      `all ${records.length} requests answered in ${(run.totalMs / 1000).toFixed(1)} s over ${run.boots} boot(s) (seed 0x${seed.toString(16)})`,
    );
    const spans = new Map<string, number>();
    kinds.forEach((k, i) => spans.set(k, (spans.get(k) ?? 0) + (run.answerMs[i] - (i ? run.answerMs[i - 1] : 0))));
    console.log(`[kernel ${a.name}] wall time per part: ${[...spans].map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(", ")} (probe includes the boot)`);

    const nAccept = Math.ceil(plan.accept.length / 8000);
    if (round === 0) {
      out.probe = run.answers[0];
      out.bootMs = run.bootMs;
      out.policies = plan.policies;
    }
    out.accepted += compareChecks(a, plan, run.answers.slice(1, 1 + nAccept), tallies.check);
    const halves = compareEvals(a, plan, run.answers.slice(1 + nAccept, 1 + nAccept + plan.evals.length), tallies);
    if (round === 0) {
      out.halves = halves;
      out.launchAnswers = run.answers.slice(1 + nAccept + plan.evals.length);
    }
    for (const c of plan.used) out.used.add(c);
    out.totalMs += run.totalMs;
    out.boots += run.boots;
  }
  for (const [what, t] of Object.entries(tallies)) t.print(what);
  return out;
}

const live = GUEST_ARCHES.filter((a) => !guestSkipReason(a));
let started: Map<string, Promise<Prepared>> | undefined;
/** Starts every available arch's boots on first use: the guests run side by side (2 cores). */
function preparedFor(a: GuestArch): Promise<Prepared> {
  started ??= new Map(live.map((g) => {
    const p = prepare(g);
    p.catch(() => undefined); // awaited by its own suite; no unhandled rejection meanwhile
    return [g.name, p];
  }));
  return started.get(a.name)!;
}

for (const a of GUEST_ARCHES) {
  const why = guestSkipReason(a);
  describe(`the real ${a.name} kernel under QEMU (${a.order === "be" ? "big" : "little"}-endian)`, skipWhen(why && `${a.name} guest: ${why}`), () => {
    let prepared: Prepared;

    beforeAll(async () => {
      prepared = await preparedFor(a);
    }, GUEST_TIMEOUT * ROUNDS * 2 + 120_000);

    it("the guest installs a trivial filter and reports the trampoline's ip", () => {
      expect(prepared.probe.ip).toBe(prepared.ip);
      expect(acceptResults(prepared.probe.body, 1, a.order)[0]).toBe(0);
    });

    it(`the checker agrees with the kernel on ${CHECK_CASES} edge, random and mutated programs and a code sweep`, () => {
      const t = prepared.tallies.check;
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThanOrEqual(CHECK_CASES);
      expect(prepared.accepted).toBeGreaterThan(CHECK_CASES * 0.2);
    });

    it(`the interpreter agrees on at least ${EVAL_PAIRS} (program, input) pairs over all 41 opcodes`, () => {
      const t = prepared.tallies.eval;
      const missing = opcodes().filter((o) => !prepared.used.has(o.code)).map((o) => `0x${o.code.toString(16)}`);
      expect(missing).toEqual([]);
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThanOrEqual(EVAL_PAIRS);
    });

    it(`stacks of 2-3 filters agree (${STACK_INPUTS} inputs)`, () => {
      const t = prepared.tallies.stack;
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThanOrEqual(STACK_INPUTS * 0.99);
    });

    it("compiled policies give the reference evaluator's answers to real syscalls", () => {
      const t = prepared.tallies.policy;
      // The byte-order test by the kernel's own answers: only HI:LO takes rule 1, LO:HI rule 2.
      console.log(`[kernel ${a.name}] args[1] halves test: ${prepared.halves.join(", ")}`);
      expect(prepared.halves).toEqual(["errno(1)", "errno(2)", "errno(3)", "errno(3)", "errno(3)", "errno(3)"].map((x) => formatRet(errnoOf(x))));
      console.log(`[kernel ${a.name}] compiled policies: ${prepared.policies.join(", ")}: ${t.agree} syscalls agree`);
      expect(t.bad).toBe(0);
      expect(t.agree).toBeGreaterThan(0);
    });

    if (a.name === "aarch64") {
      const launched = (label: string): { c: LaunchCase; ans: LaunchAnswer } => {
        const i = prepared.launches.findIndex((l) => l.label === label);
        expect(i).toBeGreaterThanOrEqual(0);
        const ans = launchAnswer(a, prepared.launchAnswers[i].body);
        console.log(`[kernel ${a.name}] launcher, ${label}: ${ans.signal ? `signal ${ans.signal}` : `exit ${ans.code}`}; status ${JSON.stringify(ans.status)}; output ${JSON.stringify(ans.output)}`);
        return { c: prepared.launches[i], ans };
      };
      const arch = findArch(a.name)!;

      it("the launcher installs two phases and execs: the program's exit status and the stack's verdicts", () => {
        const { c, ans } = launched("exec mode, calls, exit 42");
        expect(ans.status).toMatch(/^R \d+\n$/);
        expect(ans.output).toBe(expectedCalls(a, c.original));
        // Both phases decided: ERRNO 101 only phase 1 returns, 102 only phase 2, and the tie on
        // geteuid goes to the newest filter (202).
        expect(ans.output).toBe("getppid -101\ngetuid -102\ngeteuid -202\ngetpid ok\n");
        expect(ans).toMatchObject({ code: 42, signal: null });
      });

      it("a call the newest phase kills: SIGSYS, and the guest kernel's audit record names it (kmsg diagnosis)", (ctx) => {
        const { ans } = launched("exec mode, killed by phase 2 (kmsg diagnosis)");
        expect(ans).toMatchObject({ code: null, signal: 31 });
        expect(ans.output).toBe("");
        if (ans.kmsgErrno) ctx.skip(`the guest's /dev/kmsg cannot be opened (errno ${ans.kmsgErrno})`);
        if (ans.auditErrno) ctx.skip(`audit cannot be turned on in the guest (errno ${ans.auditErrno})`);
        const calls = ans.audit.map(parseKmsgRecord).filter((r) => r !== undefined).map(recordToCall).filter((call) => call.pid === ans.pid);
        expect(calls).toHaveLength(1);
        expect(calls[0]).toMatchObject({ nr: lookupSyscall(arch, "mbind"), name: "mbind", arch: "aarch64", archToken: a.token, action: "KILL_PROCESS" });
      });

      it("a call an older phase traps: the program's SIGSYS handler sees the call and the arch", () => {
        const { ans } = launched("exec mode, trapped by phase 1");
        expect(ans.output).toBe(`sigsys nr ${lookupSyscall(arch, "getgid")} arch ${a.token.toString(16)} errno 0\n`);
        expect(ans).toMatchObject({ code: 77, signal: null });
      });

      it("supervisor mode (diagnose notify) mirrors the program's exit status", () => {
        const { c, ans } = launched("supervisor (diagnose notify), calls, exit 43");
        expect(ans.status).toMatch(/^P \d+\nX\n$/);
        expect(ans.output).toBe(expectedCalls(a, c.original));
        expect(ans).toMatchObject({ code: 43, signal: null });
      });

      it("diagnose notify names the killed call with all six arguments, and the launcher dies of SIGSYS", () => {
        const { c, ans } = launched("supervisor (diagnose notify), killed by phase 2");
        const calls = ans.status.split("\n").map((l) => parseNotification(l, "notify")).filter((x) => x !== undefined);
        confirmWithStack(calls, c.original);
        expect(calls).toHaveLength(1);
        expect(calls[0]).toMatchObject({ nr: lookupSyscall(arch, "mbind"), name: "mbind", arch: "aarch64", args: MBIND_ARGS, action: "KILL_PROCESS" });
        expect(ans).toMatchObject({ code: null, signal: 31 });
      });

      it("the arm compat ABI: a 32-bit program's call arrives with arch arm, which the aarch64 phases reject as the engine says", (ctx) => {
        const why = armCompatSkipReason();
        if (why) ctx.skip(why);
        const { c, ans } = launched(ARM_COMPAT);
        const armArch = findArch("arm")!;
        const nr = lookupSyscall(armArch, "getppid");
        const want = evaluateStack(c.original, InputBatch.of([{ nr, arch: armArch.token }]))[0];
        expect(formatRet(want)).toBe(formatRet(Action.KILL_PROCESS));
        expect(ans).toMatchObject({ code: null, signal: 31 });
        if (ans.kmsgErrno || ans.auditErrno) ctx.skip(`no kernel log in the guest (errno ${ans.kmsgErrno || ans.auditErrno})`);
        const calls = ans.audit.map(parseKmsgRecord).filter((r) => r !== undefined).map(recordToCall).filter((call) => call.pid === ans.pid);
        expect(calls).toHaveLength(1);
        expect(calls[0]).toMatchObject({ nr, name: "getppid", arch: "arm", archToken: armArch.token, action: formatRet(want) });
      });

      it("supervisor mode with a PID namespace mirrors the exit status", () => {
        const { c, ans } = launched("supervisor (pidns), calls, exit 44");
        expect(ans.output).toBe(expectedCalls(a, c.original));
        expect(ans).toMatchObject({ code: 44, signal: null });
      });
    }

    it("prints the summary line", () => {
      const t = prepared.tallies;
      const d = t.check.bad + t.eval.bad + t.stack.bad + t.policy.bad;
      console.log(
        `[kernel ${a.name}] boot ${(prepared.bootMs / 1000).toFixed(1)} s, ${prepared.boots} boot(s) in ${(prepared.totalMs / 1000).toFixed(1)} s; ` +
        `policies: ${t.policy.agree} syscalls agree`,
      );
      console.log(`[kernel ${a.name}] check ${t.check.agree} agree, eval ${t.eval.agree} agree, stack ${t.stack.agree} agree, disagreements ${d}`);
      expect(d).toBe(0);
    });
  });
}
