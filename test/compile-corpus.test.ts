// Every corpus policy compiles to a program that (1) passes our checker and the real kernel's,
// (2) equals the reference evaluator of its IR on at least 100,000 boundary and random inputs,
// (3) lets the kernel's action cache prove every unconditionally allowed syscall, and (4) is
// byte-identical when compiled again.
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { readFileSync } from "node:fs";
import { compilePolicyText, type CompiledPolicy } from "../src/policy/index.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import { compileIR } from "../src/policy/compile.js";
import { check } from "../src/engine/check.js";
import { evaluateBatch, cacheScan } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { findArch, type ArchInfo } from "../src/syscalls/arches.js";
import { Action } from "../src/engine/actions.js";
import { corpusPath } from "./support/corpus.js";
import { boundaryInputs, rng } from "./support/policygen.js";
import { oracleSkipReason, kernelAccept } from "./support/oracle.js";

const SEED = Number(process.env.SYSFENCE_SEED ?? Date.now() % 1_000_000);
const INPUTS = 100_000 * Number(process.env.SYSFENCE_SOAK_FACTOR ?? 1);

interface Case { label: string; file: string; arch: ArchInfo }

function cases(): Case[] {
  const fc = corpusPath("filters", "firecracker");
  const prof = corpusPath("profiles");
  const a = (n: string) => findArch(n)!;
  const out: Case[] = [];
  for (const dir of ["", "v1.10.1/"]) {
    out.push({ label: `firecracker ${dir}x86_64`, file: `${fc}/${dir}x86_64-unknown-linux-musl.json`, arch: a("x86_64") });
    out.push({ label: `firecracker ${dir}aarch64`, file: `${fc}/${dir}aarch64-unknown-linux-musl.json`, arch: a("aarch64") });
  }
  out.push({ label: "firecracker unimplemented", file: `${fc}/unimplemented.json`, arch: a("x86_64") });
  for (const arch of ["x86_64", "aarch64", "s390x"]) {
    out.push({ label: `docker default ${arch}`, file: `${prof}/moby-profiles-seccomp-default.json`, arch: a(arch) });
    out.push({ label: `containers-common ${arch}`, file: `${prof}/containers-common-seccomp.json`, arch: a(arch) });
  }
  return out;
}

const compiled: { label: string; p: CompiledPolicy }[] = [];
for (const c of cases()) {
  const r = compilePolicyText(readFileSync(c.file, "utf8"), c.file, { arch: c.arch, kernel: "6.18" });
  for (const p of r.programs) compiled.push({ label: `${c.label} ${p.name}`, p });
}

describe("corpus policies", () => {
  it("compile for every thread and arch", () => {
    expect(compiled.length).toBe(4 * 3 + 3 + 6);
    for (const { label, p } of compiled) {
      expect(check(p.program), label).toEqual([]);
      console.log(`${label.padEnd(48)} ${String(p.program.length).padStart(4)} instructions`);
    }
  });

  it("compile deterministically", () => {
    // Same IR in, same bytes out, whatever was compiled in between.
    for (const { label, p } of [...compiled].reverse()) {
      expect(Buffer.from(compileIR(p.ir).bytes), label).toEqual(Buffer.from(p.program.bytes));
    }
  });

  it(`equal the reference evaluator on ${INPUTS} inputs each (seed ${SEED})`, () => {
    const rand = rng(SEED);
    for (const { label, p } of compiled) {
      const data = boundaryInputs(p.ir, rand, INPUTS);
      const rets = evaluateBatch(p.program, InputBatch.of(data, p.ir.arches[0].arch.endian)).rets;
      let bad = 0;
      for (let i = 0; i < data.length; i++) {
        const want = evaluatePolicy(p.ir, data[i]);
        if ((rets[i] >>> 0) !== want && bad++ < 3) {
          console.error(`${label} (seed ${SEED}): input ${JSON.stringify(data[i], (_, v) => (typeof v === "bigint" ? "0x" + v.toString(16) : v))}: program 0x${(rets[i] >>> 0).toString(16)}, reference 0x${want.toString(16)}`);
        }
      }
      expect(bad, label).toBe(0);
    }
  });

  it("let the kernel's action cache prove every unconditional allow", () => {
    for (const { label, p } of compiled) {
      for (const sec of p.ir.arches) {
        if (sec.arch.nrBase === 0x40000000) continue; // x32 is never cached
        const max = Math.max(0, ...sec.syscalls.map((s) => s.nr - sec.arch.nrBase)) + 1;
        const bits = cacheScan(p.program, sec.arch.token, sec.arch.nrBase + max);
        for (const s of sec.syscalls) {
          const always = s.rules.length > 0 && s.rules[0].conditions.length === 0 && s.rules[0].action === Action.ALLOW;
          expect(bits[s.nr] === 1, `${label} ${sec.arch.name} ${s.name}`).toBe(always);
        }
      }
    }
  });

  it("are accepted by the real kernel", skipWhen(oracleSkipReason()), async () => {
    const res = await kernelAccept(compiled.map((c) => c.p.program.bytes));
    compiled.forEach((c, i) => expect(res[i], c.label).toBe(0));
  });
});
