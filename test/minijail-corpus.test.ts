// crosvm's minijail policies (test/corpus/policies/crosvm, both arches), read as crosvm builds
// them (minijail's Python compiler with --default-action trap): every policy compiles to a
// program that passes our checker and the real kernel's, equals the reference evaluator of its
// IR on 100,000 boundary inputs, and is byte-identical when compiled again. The C reading
// (minijail0 -S) refuses the policies that list a syscall twice or nest @include, with the
// place and the reason.
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePolicyText, compileIR, compileWeighted, evaluatePolicy, type CompiledPolicy } from "../src/policy/index.js";
import { check } from "../src/engine/check.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { findArch } from "../src/syscalls/arches.js";
import { Action } from "../src/engine/actions.js";
import type { MinijailOptions } from "../src/policy/minijail/index.js";
import { repoRoot } from "./support/corpus.js";
import { boundaryInputs, rng } from "./support/policygen.js";
import { skipOracle, kernelAccept } from "./support/oracle.js";
import { explain } from "../src/verify/explain.js";
import { equal } from "../src/verify/relations.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { emitPolicy } from "../src/policy/emit/index.js";

const SEED = Number(process.env.SYSFENCE_SEED ?? Date.now() % 1_000_000);
const INPUTS = 100_000 * Number(process.env.SYSFENCE_SOAK_FACTOR ?? 1);
const ROOT = join(repoRoot, "test", "corpus", "policies", "crosvm");
const ARCHES = ["x86_64", "aarch64"];

function crosvmOptions(arch: string, extra: MinijailOptions = {}): MinijailOptions {
  return {
    semantics: "python", defaultAction: "trap",
    includeRoots: [{ prefix: "/usr/share/policy/crosvm", dir: join(ROOT, arch) }], ...extra,
  };
}

function policies(arch: string): string[] {
  return readdirSync(join(ROOT, arch)).filter((f) => f.endsWith(".policy")).sort();
}

const compiled: { label: string; p: CompiledPolicy; frequency?: Map<number, bigint> }[] = [];
for (const arch of ARCHES) {
  for (const f of policies(arch)) {
    const file = join(ROOT, arch, f);
    const r = compilePolicyText(readFileSync(file, "utf8"), file, { minijail: crosvmOptions(arch) });
    compiled.push({ label: `${arch}/${f}`, p: r.programs[0], frequency: r.frequency });
  }
}

describe("crosvm minijail policies (Python reading, --default-action trap)", () => {
  it("compile for both arches, arch taken from constants.json, accepted by the checker", () => {
    expect(compiled.filter((c) => c.label.startsWith("x86_64/")).length).toBe(46);
    expect(compiled.filter((c) => c.label.startsWith("aarch64/")).length).toBe(35);
    for (const { label, p } of compiled) {
      expect(p.ir.arches[0].arch.name, label).toBe(label.split("/")[0]);
      expect(p.ir.arches[0].defaultAction, label).toBe(Action.TRAP);
      expect(check(p.program), label).toEqual([]);
    }
  });

  it("compile deterministically", () => {
    for (const { label, p, frequency } of [...compiled].reverse()) {
      // Policies with @frequency are laid out by compileWeighted (the counts as tree weights).
      const again = frequency?.size ? compileWeighted(p.ir, frequency) : compileIR(p.ir);
      expect(Buffer.from(again.bytes), label).toEqual(Buffer.from(p.program.bytes));
    }
  });

  it(`equal the reference evaluator on ${INPUTS} boundary inputs each (seed ${SEED})`, () => {
    const rand = rng(SEED);
    for (const { label, p } of compiled) {
      const data = boundaryInputs(p.ir, rand, INPUTS);
      expect(data.length, label).toBeGreaterThanOrEqual(INPUTS);
      const rets = evaluateBatch(p.program, InputBatch.of(data, p.ir.arches[0].arch.endian)).rets;
      let bad = 0;
      for (let i = 0; i < data.length; i++) {
        const want = evaluatePolicy(p.ir, data[i]);
        if ((rets[i] >>> 0) !== want && bad++ < 3) {
          console.error(`${label} (seed ${SEED}): nr ${data[i].nr} args ${data[i].args?.map((a) => a.toString(16))}: program 0x${(rets[i] >>> 0).toString(16)}, reference 0x${want.toString(16)}`);
        }
      }
      expect(bad, label).toBe(0);
    }
    // 81 policies × 100,000 inputs: about two minutes alone, more on a shared machine.
  }, 600_000);

  it.skipIf(skipOracle("kernel acceptance of compiled crosvm policies"))("are accepted by the real kernel", async () => {
    const res = await kernelAccept(compiled.map((c) => c.p.program.bytes));
    compiled.forEach((c, i) => expect(res[i], c.label).toBe(0));
  });

  it("read a real policy as written: block_device on x86_64", () => {
    const { p } = compiled.find((c) => c.label === "x86_64/block_device.policy")!;
    const x86_64 = findArch("x86_64")!;
    const run = (nr: number, ...args: bigint[]) => evaluatePolicy(p.ir, { arch: x86_64.token, nr, args });
    expect(run(0)).toBe(Action.ALLOW); // read: 1 (common_device)
    expect(run(9, 0n, 4096n, 3n)).toBe(Action.ALLOW); // mmap: arg2 in ~PROT_EXEC
    expect(run(9, 0n, 4096n, 7n)).toBe(Action.TRAP); // PROT_EXEC: not in the mask → default
    expect(run(56, 0x10000n)).toBe(Action.ALLOW); // clone: arg0 & CLONE_THREAD
    expect(run(56, 0x11n)).toBe(Action.TRAP);
    expect(run(59)).toBe(Action.TRAP); // execve: not listed
    expect(run(0x40000000)).toBe(Action.TRAP); // x32 read: matches no entry, the default
    expect(evaluatePolicy(p.ir, { arch: findArch("x86")!.token, nr: 3 })).toBe(Action.KILL_THREAD); // foreign arch
  });
});

describe("crosvm minijail policies in the C reading (minijail0 -S)", () => {
  it("refuse duplicates and nested includes with the place, accept the rest", () => {
    const accepted: string[] = [];
    const reasons = new Map<string, number>();
    for (const f of policies("x86_64")) {
      const file = join(ROOT, "x86_64", f);
      try {
        compilePolicyText(readFileSync(file, "utf8"), file, { minijail: crosvmOptions("x86_64", { semantics: "c", defaultAction: undefined }) });
        accepted.push(f);
      } catch (e) {
        const msg = (e as Error).message;
        const kind = /listed again here/.test(msg) ? "duplicate" : /@include inside an included file/.test(msg) ? "nested" : msg;
        reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
        expect((e as { where?: string }).where, f).toMatch(/\.policy:\d+:\d+$/);
      }
    }
    expect([...reasons.keys()].sort()).toEqual(["duplicate", "nested"]);
    expect(accepted).toContain("common_device.policy");
    expect(accepted.length + [...reasons.values()].reduce((a, b) => a + b, 0)).toBe(46);
  });

  it("with --minijail-duplicates first keeps the first statement", () => {
    const file = join(ROOT, "x86_64", "block_device.policy");
    const r = compilePolicyText(readFileSync(file, "utf8"), file, { minijail: crosvmOptions("x86_64", { semantics: "c", duplicates: "first", defaultAction: undefined }) });
    expect(r.warnings.some((w) => /listed 2 times/.test(w.message))).toBe(true);
    expect(r.programs[0].ir.arches[0].defaultAction).toBe(Action.KILL_THREAD);
  });
});

// The round trip of issue 14 §2 over the whole corpus: each compiled crosvm policy is explained,
// written as minijail text, read back with the flags the writer asks for, and proven equal.
describe("crosvm minijail policies written back (explain → minijail → compile → verify equal)", () => {
  it(`every policy of both arches round-trips (${compiled.length} policies)`, () => {
    const failures: string[] = [];
    for (const { label, p } of compiled) {
      const arch = label.split("/")[0];
      const e = explain(p.program);
      if (e instanceof Inconclusive || !e.ir) {
        failures.push(`${label}: not explained: ${e instanceof Inconclusive ? e.reason : e.problems.join("; ")}`);
        continue;
      }
      const out = emitPolicy(e.ir, "minijail", { semantics: "python" });
      if (out.text === undefined) {
        failures.push(`${label}: does not fit: ${out.reason}`);
        continue;
      }
      const defaultFlag = out.flags.find((f) => f.startsWith("--default-action"));
      const back = compilePolicyText(out.text, `${label} (written)`, {
        arch: findArch(arch)!,
        minijail: {
          semantics: "python",
          useKillProcess: out.flags.includes("--use-kill-process"),
          ...(defaultFlag ? { defaultAction: defaultFlag.replace(/^--default-action "?|"$/g, "") } : {}),
        },
      }).programs[0].program;
      const v = equal(back, p.program);
      if (v instanceof Inconclusive || !v.holds) failures.push(`${label}: written text is not equal`);
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
