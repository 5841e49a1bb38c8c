// libseccomp's own expectations, replayed through sysfence's interpreter.
//
// For each of the 34 filters libseccomp 2.5.4 built from its regression programs
// (corpus libseccomp/golden-2.5.4/*.bpf), the bpf-sim rows of the matching .tests file are
// expanded for an x86_64 host exactly as libseccomp's tests/regression script does
// (src/libseccomp/tests-format.ts, resolve.ts), every simulation is evaluated with
// evaluateBatch, and the result, printed the way scmp_bpf_sim prints it, must equal the row's
// Result. The corpus provenance says all 6657 such simulations pass with libseccomp's own
// simulator; a simulation we cannot reproduce exactly is counted "not applicable" with a
// reason instead of being guessed.
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseTests, expand, formatSimResult, type SimCase, type Expansion } from "../src/libseccomp/tests-format.js";
import { resolveLibseccomp } from "../src/libseccomp/resolve.js";
import { readRaw } from "../src/formats/raw.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import type { Endian } from "../src/syscalls/arches.js";
import { corpusPath } from "./support/corpus.js";

const HOST = "x86_64";
/** What the corpus provenance reports for these 34 filters on an x86_64 host. */
const REFERENCE_TOTAL = 6657;
/** The two filters built for big-endian targets (s390, s390x, ppc). */
const BIG_ENDIAN = new Set(["33-sim-socket_syscalls_be", "37-sim-ipc_syscalls_be"]);

const golden = corpusPath("libseccomp", "golden-2.5.4");
const testsDir = corpusPath("libseccomp", "tests");

interface FileReport {
  name: string;
  expansion: Expansion;
  failures: string[];
}

function runFile(name: string): FileReport {
  const endian: Endian = BIG_ENDIAN.has(name) ? "be" : "le";
  const program = readRaw(readFileSync(join(golden!, `${name}.bpf`)), endian, `${name}.bpf`);
  const file = `${name}.tests`;
  const tests = parseTests(readFileSync(join(testsDir!, file), "utf8"), file);
  const expansion = expand(tests.lines, { host: HOST, resolve: resolveLibseccomp });
  const failures: string[] = [];
  // Encode each case in its own arch's byte order: group by endianness.
  for (const e of ["le", "be"] as const) {
    const cases = expansion.cases.filter((c) => c.arch.endian === e);
    if (cases.length === 0) continue;
    const batch = InputBatch.of(
      cases.map((c) => ({ nr: c.nr, arch: c.arch.token, args: c.args })),
      e,
    );
    const { rets } = evaluateBatch(program, batch);
    cases.forEach((c: SimCase, i) => {
      const got = formatSimResult(rets[i]);
      if (got !== c.expected.text) {
        failures.push(
          `${c.source.file}:${c.source.line} ${c.arch.name} nr=${c.nr} args=[${c.args.map((a) => "0x" + a.toString(16)).join(",")}]: ` +
            `expected ${c.expected.text}, got ${got} (0x${(rets[i] >>> 0).toString(16).padStart(8, "0")})`,
        );
      }
    });
  }
  return { name, expansion, failures };
}

describe("libseccomp golden filters (2.5.4) against their .tests expectations", () => {
  const names = golden && existsSync(golden)
    ? readdirSync(golden).filter((f) => f.endsWith(".bpf")).map((f) => f.slice(0, -4)).sort()
    : [];

  it("has the 34 golden filters", () => {
    expect(names).toHaveLength(34);
    for (const n of BIG_ENDIAN) expect(names).toContain(n);
  });

  const reports: FileReport[] = [];
  for (const name of names) {
    it(`${name}: every applicable simulation prints the expected result`, () => {
      const r = runFile(name);
      reports.push(r);
      expect(r.failures, r.failures.slice(0, 20).join("\n")).toEqual([]);
    });
  }

  it("covers the reference's 6657 simulations", () => {
    // Re-run any file a filtered run did not reach, so the totals are always complete.
    const done = new Set(reports.map((r) => r.name));
    for (const n of names) if (!done.has(n)) reports.push(runFile(n));
    reports.sort((a, b) => a.name.localeCompare(b.name));

    let applicable = 0;
    let total = 0;
    const lines: string[] = [];
    const reasons = new Map<string, number>();
    for (const r of reports) {
      const a = r.expansion.cases.length;
      applicable += a;
      total += r.expansion.total;
      const skipped = r.expansion.skipped.length ? `, ${r.expansion.skipped.length} row(s) skipped on ${HOST}` : "";
      lines.push(`  ${r.name.padEnd(32)} ${String(a).padStart(5)} / ${String(r.expansion.total).padEnd(5)}${skipped}`);
      for (const na of r.expansion.notApplicable) {
        const k = `${na.source.file}:${na.source.line} ${na.arch}: ${na.reason}`;
        reasons.set(k, (reasons.get(k) ?? 0) + na.count);
      }
    }
    const out = [`libseccomp golden replay (${HOST} host): applicable / total simulations per file`, ...lines,
      `  ${"TOTAL".padEnd(32)} ${String(applicable).padStart(5)} / ${total} (reference: ${REFERENCE_TOTAL} pass with scmp_bpf_sim)`];
    if (reasons.size > 0) {
      out.push("  not applicable:");
      for (const [k, n] of reasons) out.push(`    ${n} x ${k}`);
    }
    console.log(out.join("\n"));

    // Every failure is reported by the per-file tests; here, only the coverage.
    expect(total).toBe(REFERENCE_TOTAL);
    expect(applicable).toBe(REFERENCE_TOTAL);
  });
});
