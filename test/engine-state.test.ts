// Engine state through the public API: concurrent users cannot corrupt each other (one BDD
// space at a time, checked), and a failure inside the engine (trap, abort, stack overflow,
// out-of-memory) leaves the process answering exactly as a fresh instance does.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { compilePolicyText } from "../src/policy/index.js";
import { replayTraces, type ReplayResult } from "../src/replay/index.js";
import { subset, equal, stackOutcomes } from "../src/verify/relations.js";
import { SymbolicSpace, StaleSpaceError, Inconclusive } from "../src/verify/symbolic.js";
import { check } from "../src/engine/check.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { engine, engineGeneration } from "../src/engine/wasm.js";
import { findArch } from "../src/syscalls/index.js";
import { Program } from "../src/engine/program.js";
import { UnknownArchError, InputError, InternalError, SysfenceError, ExitCode } from "../src/errors.js";
import { disassemble } from "../src/text/disasm.js";

const x86 = findArch("x86_64")!;
const policyFile = (name: string) => join(repoRoot, "filters", name);
const trace = join(repoRoot, "filters", "qemu-microvm-boot.strace.gz");

function thread(file: string, name: string): Program {
  const r = compilePolicyText(readFileSync(policyFile(file), "utf8"), file, { arch: x86 });
  return r.programs.find((p) => p.name === name)!.program;
}

const vmm = thread("vmm.seccompiler.json", "vmm");
const api = thread("vmm.seccompiler.json", "api");
const qemu = compilePolicyText(readFileSync(policyFile("qemu-microvm.seccompiler.json"), "utf8"), "qemu", { arch: x86 }).programs[0].program;

/** What a replay answered, without timings. */
function summary(r: ReplayResult): unknown {
  return { method: r.method, totals: r.totals, syscalls: r.syscalls.map((s) => [s.name, s.outcomes.map((o) => [o.kind, o.count, o.actions, o.dependsOn])]) };
}

function verdict(v: ReturnType<typeof subset>): unknown {
  return v instanceof Inconclusive ? v.reason : v.holds ? "holds" : v.counterexample.results;
}

describe("concurrent use through the API", () => {
  it("two replays and two verifications at once answer as they do one after another", async () => {
    const replay = (p: Program) => replayTraces([p], [trace], { arch: x86 });
    const verifyA = async () => verdict(subset(api, vmm));
    const verifyB = async () => verdict(equal(qemu, vmm));
    const serial = [summary(await replay(vmm)), summary(await replay(qemu)), await verifyA(), await verifyB()];
    const [r1, r2, v1, v2] = await Promise.all([replay(vmm), replay(qemu), verifyA(), verifyB()]);
    expect([summary(r1), summary(r2), v1, v2]).toEqual(serial);
    expect((serial[0] as { totals: { allowed: number } }).totals.allowed).toBeGreaterThan(0);
  }, 120_000);

  it("a space used after another replaced it fails loudly", () => {
    const a = new SymbolicSpace();
    const outs = stackOutcomes(a, [vmm]);
    expect(outs).not.toBeInstanceOf(Inconclusive);
    new SymbolicSpace();
    expect(a.live).toBe(false);
    expect(() => a.or((outs as { set: number }[])[0].set, 0)).toThrow(StaleSpaceError);
  });
});

describe("the API checks its options", () => {
  it("an arch may be given by name wherever an ArchInfo is taken", async () => {
    const byInfo = summary(await replayTraces([qemu], [trace], { arch: x86 }));
    const byName = summary(await replayTraces([qemu], [trace], { arch: "x86_64" }));
    expect(byName).toEqual(byInfo);
    expect((byName as { totals: { allowed: number } }).totals.allowed).toBeGreaterThan(2000);
    const text = readFileSync(policyFile("qemu-microvm.seccompiler.json"), "utf8");
    expect(compilePolicyText(text, "q", { arch: "x86_64" }).programs[0].program.bytes).toEqual(qemu.bytes);
    expect(disassemble(qemu, { arch: "x86_64" })).toBe(disassemble(qemu, { arch: x86 }));
  });

  it("an unknown arch or option value is a typed error naming the option", async () => {
    await expect(replayTraces([qemu], [trace], { arch: "x86_65" })).rejects.toThrow(UnknownArchError);
    await expect(replayTraces([qemu], [trace], { arch: { name: "vax" } as never })).rejects.toThrow(/unknown arch "vax"/);
    await expect(replayTraces([qemu], [trace], { arch: undefined as never })).rejects.toThrow(UnknownArchError);
    await expect(replayTraces([qemu], [trace], { arch: x86, format: "pcap" as never })).rejects.toThrow(InputError);
    await expect(replayTraces([qemu], [trace], { arch: x86, decider: "fast" as never })).rejects.toMatchObject({ where: "replayTraces: options.decider", message: expect.stringMatching(/unknown decider "fast"/) });
    expect(() => compilePolicyText("{}", "p", { arch: "pdp11" })).toThrow(UnknownArchError);
    for (const budget of [1.5, 0, 2 ** 22, Number.NaN]) {
      expect(() => subset(api, vmm, { budget, falsify: false })).toThrow(InputError);
    }
    expect(() => equal(api, vmm, { strategy: "fast" as never })).toThrow(/unknown strategy "fast"/);
  });

  it("Inconclusive is a typed error with exit 3, InternalError has its own exit 5", () => {
    const inc = new Inconclusive("the BDD node budget was exceeded");
    expect(inc).toBeInstanceOf(SysfenceError);
    expect([inc.exitCode, inc.oneLine(), inc.reason]).toEqual([ExitCode.INCONCLUSIVE, "inconclusive: the BDD node budget was exceeded", "the BDD node budget was exceeded"]);
    expect(new InternalError("x").exitCode).toBe(5);
    expect(new Set(Object.values(ExitCode)).size).toBe(Object.values(ExitCode).length);
  });
});

/** Answers that touch every part of the engine: check, interpreter, JIT, compiler, BDDs. */
function answers(): unknown {
  const bad = Program.fromInsns([{ code: 0x28, jt: 0, jf: 0, k: 3 }, { code: 0x15, jt: 9, jf: 0, k: 0 }]);
  const inputs = InputBatch.of(Array.from({ length: 5000 }, (_, i) => ({ nr: i % 400, arch: x86.token, args: [BigInt(i)] })), "le");
  const space = new SymbolicSpace();
  const outs = stackOutcomes(space, [vmm]);
  if (outs instanceof Inconclusive) throw new Error(outs.reason);
  const recompiled = thread("vmm.seccompiler.json", "vmm");
  return {
    check: check(bad),
    interp: Array.from(evaluateBatch(vmm, inputs, { engine: "interpreter" }).rets),
    jit: Array.from(evaluateBatch(api, inputs, { engine: "jit" }).rets),
    compiled: Array.from(recompiled.bytes),
    // BDD ids and node counts: equal only when the engine's tables start as a fresh instance's.
    outcomes: outs.map((o) => [o.value, o.set]),
    nodes: space.nodeCount(),
    relation: verdict(equal(vmm, qemu, { falsify: false })),
    // The heap: an instance that kept what a failed call grew would be larger.
    memory: engine().memory.buffer.byteLength,
  };
}

const failures: [string, () => void][] = [
  ["a Wasm trap (memory access out of bounds)", () => engine().evalBatch(0xfffffff0, 4, 0xfffffff0, 1, 0, 0, 0)],
  ["an abort (allocation too large)", () => engine().alloc(0xfffffff0)],
  ["a stack overflow inside the engine", () => {
    // Recurse in JS until the stack is full, then let each level call into the engine on the
    // way back up: where the JS part of a call still fits and the engine's recursion (BDD apply)
    // does not, the stack overflows inside the engine. Where exactly depends on frame sizes, so
    // try a few shapes until one overflowed inside (the engine was discarded).
    const gen = engineGeneration();
    const work = (k: number) => {
      const s = new SymbolicSpace();
      for (let i = 0; i < k; i++) s.and(s.wordEquals(2, i), s.wordEquals(3, i));
    };
    for (let attempt = 1; attempt <= 50 && engineGeneration() === gen; attempt++) {
      const deep = (n: number): number => {
        try {
          return deep(n + 1) + 1;
        } catch {
          work(attempt);
          return 0;
        }
      };
      deep(0);
      engine(); // a discarded engine is re-instantiated here
    }
    if (engineGeneration() > gen) throw new RangeError("stack overflow provoked");
  }],
  ["an out-of-memory in the Wasm heap", () => {
    for (let i = 0; i < 64; i++) engine().alloc(256 << 20);
  }],
];

describe("after a failure inside the engine, answers equal a fresh instance's", () => {
  const fresh = answers();

  for (const [name, provoke] of failures) {
    it(name, () => {
      // Leave state behind that a half-done call could corrupt: a live space, warm regions.
      const before = new SymbolicSpace();
      stackOutcomes(before, [api]);
      const gen = engineGeneration();
      expect(provoke).toThrow();
      expect(answers()).toEqual(fresh);
      expect(engineGeneration()).toBeGreaterThan(gen);
      expect(before.live).toBe(false);
    }, 120_000);
  }
});
