// Explanations and diffs a person can read, on the vendored corpus (test/corpus): the issue's
// size targets hold on every corpus policy (the same numbers `npm run bench` prints), and the
// changes between Firecracker releases read as the policies write them.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePolicyText } from "../src/policy/index.js";
import { compileIR } from "../src/policy/compile.js";
import { findArch, type ArchInfo } from "../src/syscalls/arches.js";
import { explain, explanationSize } from "../src/verify/explain.js";
import { diff } from "../src/verify/diff.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { Action } from "../src/engine/actions.js";
import type { PolicyIR } from "../src/policy/ir.js";
import { repoRoot } from "./support/corpus.js";

const corpus = (rel: string) => readFileSync(join(repoRoot, "test", "corpus", rel), "utf8");
const compile = (rel: string, arch: string) => compilePolicyText(corpus(rel), rel, { arch: findArch(arch)!, kernel: "6.8" }).programs;

/** The corpus policies the bench measures (bench/explain-corpus.json), with their ABIs. */
const POLICIES: [string, string][] = JSON.parse(readFileSync(join(repoRoot, "bench", "explain-corpus.json"), "utf8"));

describe("explanation size targets on the corpus", () => {
  for (const [rel, arch] of POLICIES) {
    it(`${rel} (${arch}): terms <= 1.0x the source per syscall, recompiled <= 1.1x, lines <= 300`, () => {
      for (const p of compile(rel, arch)) {
        const e = explain(p.program);
        if (e instanceof Inconclusive) throw new Error(e.reason);
        expect(e.problems, p.name).toEqual([]);
        const s = explanationSize(p.ir, p.program, e);
        expect(s.worstSyscallRatio, `${p.name}: ${s.worstSyscall}`).toBeLessThanOrEqual(1);
        expect(s.recompiled / s.original, p.name).toBeLessThanOrEqual(1.1);
        expect(s.longestLine, p.name).toBeLessThanOrEqual(300);
      }
    });
  }

  it("states Firecracker's mmap and Docker's socket and clone rules as the policies write them", () => {
    const vmm = compile(POLICIES[0][0], "x86_64").find((p) => p.name === "vmm")!;
    const t = (explain(vmm.program) as { text: string }).text.replace(/\n {6}/g, " "); // undo the wrapping of long lines
    expect(t).toContain("  mmap (9): ALLOW when (args[2].lo & 4 == 0 and args[3].lo in {1, 34, 50, 0x4001, 0x4011, 0x4022, 0x8001}) or (args[2].lo == 3 and args[3].lo == 17); otherwise TRAP(0)");
    const docker = compile(POLICIES[4][0], "x86_64")[0];
    const d = (explain(docker.program) as { text: string }).text;
    expect(d).toContain("  socket (41): ALLOW when args[0] != 38 and args[0] != 40; otherwise ERRNO(1)");
    expect(d).toContain("  clone (56): ALLOW when args[0].lo & 0x7e020000 == 0; otherwise ERRNO(1)");
  });
});

describe("diff conditions", () => {
  it("Firecracker v1.10.1 -> main (x86_64 vmm): mprotect's change is 'no PROT_EXEC'", () => {
    const a = compile(POLICIES[2][0], "x86_64").find((p) => p.name === "vmm")!.program;
    const b = compile(POLICIES[0][0], "x86_64").find((p) => p.name === "vmm")!.program;
    const r = diff(a, b);
    if (r instanceof Inconclusive) throw new Error(r.reason);
    expect(r.entries).toContainEqual({ arch: "x86_64", syscall: "mprotect", nr: [10, 10], a: "TRAP(0)", b: "ALLOW", when: "args[2].lo & 4 == 0" });
    expect(r.entries).toContainEqual({ arch: "x86_64", syscall: "mmap", nr: [9, 9], a: "ALLOW", b: "TRAP(0)", when: "args[2].lo & 4 == 4 and args[3].lo in {1, 34, 50, 0x8001}" });
    for (const e of r.entries) expect(e.when.length).toBeLessThan(200);
  });

  it("a range of numbers on which no argument is read reads 'always'", () => {
    const x86_64 = findArch("x86_64") as ArchInfo;
    const ir = (x32: number): PolicyIR => ({ arches: [{ arch: x86_64, defaultAction: Action.ALLOW, syscalls: [] }], mismatchAction: Action.KILL_PROCESS, x32Action: x32 });
    const r = diff(compileIR(ir(Action.KILL_PROCESS)), compileIR(ir((Action.ERRNO | 1) >>> 0)));
    if (r instanceof Inconclusive) throw new Error(r.reason);
    // x32's numbers: -1 is x86_64's (a tracer's skip, src/policy/ir.ts step 2), not x32's.
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]).toMatchObject({ nr: [0x40000000, 0xfffffffe], when: "always" });
  });
});
