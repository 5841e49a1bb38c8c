// `sysfence graph`: control-flow pictures of filters and pictures of decompiled policies.
// Golden DOT for the bundled filters (a layout change shows in review as a diff of
// test/__snapshots__/graph/*.dot; update with `vitest -u` after reading it), the folded dispatch
// checked against a concrete walk of the program for every syscall number, and the SVG checked
// to be XML that names every syscall.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { repoRoot } from "./support/corpus.js";
import { loadFilters } from "../src/formats/detect.js";
import "../src/policy/index.js"; // registers the policy loader, so a FILTER may be a policy
import { assemble } from "../src/text/asm.js";
import { programGraph, programDot, policyDot, dotToSvg } from "../src/graph/index.js";
import { explain } from "../src/verify/explain.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { opcodeInfo } from "../src/engine/opcodes.js";
import { findArch } from "../src/syscalls/arches.js";
import { syscallCount, syscallName, syscallNumber } from "../src/syscalls/index.js";
import type { Program } from "../src/engine/program.js";

const x86_64 = findArch("x86_64")!;
const bundled = (n: string) => join(repoRoot, "filters", n);
const BUNDLED: [string, string | undefined][] = [
  ["vmm.seccompiler.json", "vmm"],
  ["vmm.seccompiler.json", "api"],
  ["qemu-microvm.seccompiler.json", "qemu"],
  ["vmm-demo.x86_64.asm", undefined],
  ["deny-ptrace.x86_64.asm", undefined],
];

function load(file: string, thread?: string): Program {
  if (file.endsWith(".asm")) return assemble(readFileSync(bundled(file), "utf8"), { arch: x86_64, file });
  const list = loadFilters(bundled(file), { thread, arch: x86_64 });
  expect(list).toHaveLength(1);
  return list[0].program;
}

/** Runs the program concretely from `pc` with A = nr while it compares nr; returns where it leaves. */
function walkDispatch(p: Program, entry: number, nr: number, members: Set<number>): number {
  const insns = p.insns();
  let pc = entry;
  while (members.has(pc)) {
    const ins = insns[pc];
    const k = ins.k >>> 0;
    const m = opcodeInfo(ins.code)!.mnemonic;
    const taken = m === "jeq" ? nr === k : m === "jgt" ? nr > k : nr >= k;
    pc = pc + 1 + (taken ? ins.jt : ins.jf);
  }
  return pc;
}

/** The numbers a dispatch label names: `read, write`, `fstat..lseek (4)`, `>= 0x40000000`. */
function labelNumbers(label: string): Set<number> {
  const num = (t: string) => (/^\d+$/.test(t) ? Number(t) : syscallNumber(x86_64, t)!);
  const out = new Set<number>();
  for (const part of label.split(", ")) {
    const range = /^(\S+)\.\.(\S+) \(\d+\)$/.exec(part);
    if (range) {
      for (let n = num(range[1]); n <= num(range[2]); n++) out.add(n);
    } else if (!part.startsWith(">=")) out.add(num(part));
  }
  return out;
}

describe("program graphs", () => {
  for (const [file, thread] of BUNDLED) {
    const name = `${file.replace(/\..*$/, "")}${thread ? "-" + thread : ""}`;
    it(`golden DOT: ${name}`, async () => {
      const p = load(file, thread);
      await expect(programDot(programGraph(p), name)).toMatchFileSnapshot(`__snapshots__/graph/${name}.dot`);
    });
  }

  it("every instruction is drawn exactly once (unfolded), and edges follow the jumps", () => {
    const p = load("vmm.seccompiler.json", "vmm");
    const g = programGraph(p, { fold: false });
    expect(g.dispatches).toHaveLength(0);
    const covered = new Array(p.length).fill(0);
    for (const b of g.blocks) for (let pc = b.start; pc <= b.end; pc++) covered[pc]++;
    expect(covered.every((c) => c === 1)).toBe(true);
    // A block ends at a jump or return, or just before a jump target.
    const targets = new Set(g.edges.map((e) => g.blocks.find((b) => b.id === e.to)!.start));
    for (const b of g.blocks) for (let pc = b.start + 1; pc <= b.end; pc++) expect(targets.has(pc)).toBe(false);
    const conds = g.edges.filter((e) => e.kind === "true" || e.kind === "false");
    expect(conds.every((e) => e.label.length > 0)).toBe(true);
  });

  it("folded dispatch exits name exactly the syscalls that reach them (concrete walk of every number)", () => {
    for (const [file, thread] of BUNDLED.slice(0, 3)) {
      const p = load(file, thread);
      const g = programGraph(p, { maxNames: 10_000 });
      expect(g.dispatches.length).toBeGreaterThan(0);
      const unfolded = programGraph(p, { fold: false });
      for (const d of g.dispatches) {
        // Members of the region: the dispatch comparisons from its entry (not drawn as blocks).
        const drawn = new Set(g.blocks.flatMap((b) => Array.from({ length: b.end - b.start + 1 }, (_, i) => b.start + i)));
        const members = new Set<number>();
        for (let pc = d.start; pc < p.length; pc++) if (!drawn.has(pc)) members.add(pc);
        const startOf = new Map(g.blocks.map((b) => [b.id, b.start]));
        const edges = g.edges.filter((e) => e.from === d.id);
        const widest = edges.find((e) => e.label === "every other nr");
        for (let nr = 0; nr < syscallCount(x86_64); nr++) {
          const exit = walkDispatch(p, d.start, nr, members);
          const edge = edges.find((e) => startOf.get(e.to) === exit);
          expect(edge, `${file} nr ${nr}`).toBeDefined();
          if (edge === widest) continue;
          expect(labelNumbers(edge!.label).has(nr), `${file} nr ${nr} (${syscallName(x86_64, nr)}) on "${edge!.label}"`).toBe(true);
        }
      }
      expect(unfolded.blocks.length).toBeGreaterThan(g.blocks.length);
    }
  });

  it("a real 288-instruction filter folds to a screenful", () => {
    const p = loadFilters(bundled("vmm.seccompiler.json"), { thread: "vmm", arch: x86_64 })[0].program;
    const g = programGraph(p);
    expect(g.blocks.length + g.dispatches.length).toBeLessThan(40);
  });
});

describe("policy pictures and SVG", () => {
  it("golden DOT of the decompiled vmm policy", async () => {
    const r = explain(load("vmm.seccompiler.json", "vmm"));
    if (r instanceof Inconclusive) throw new Error(r.reason);
    expect(r.ir).toBeDefined();
    await expect(policyDot(r.ir!, "vmm")).toMatchFileSnapshot("__snapshots__/graph/vmm-policy.dot");
  });

  it("the SVG is XML and names every syscall of the policy", async () => {
    const r = explain(load("qemu-microvm.seccompiler.json", "qemu"));
    if (r instanceof Inconclusive) throw new Error(r.reason);
    const svg = await dotToSvg(policyDot(r.ir!, "qemu"));
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toMatch(/<svg[\s>]/);
    const names = r.ir!.arches.flatMap((a) => a.syscalls.map((s) => s.name));
    expect(names.length).toBeGreaterThan(40);
    for (const n of names) expect(svg, n).toContain(n);
  });

  it("the unfolded program SVG names every syscall the filter compares with jeq", async () => {
    const p = load("qemu-microvm.seccompiler.json", "qemu");
    const g = programGraph(p, { fold: false });
    const svg = await dotToSvg(programDot(g, "qemu"));
    expect(XMLValidator.validate(svg)).toBe(true);
    const named = g.blocks.flatMap((b) => b.lines).map((l) => /jeq #([a-z_0-9]+),/.exec(l)?.[1]).filter((n): n is string => !!n && syscallNumber(x86_64, n) !== undefined);
    expect(named.length).toBeGreaterThan(10);
    for (const n of named) expect(svg, n).toContain(n);
  });
});

describe("sysfence graph (CLI)", () => {
  const bin = join(repoRoot, "bin/sysfence.js");
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 60_000 });

  it("writes SVG to a file and DOT to stdout", () => {
    const dir = mkdtempSync(join(tmpdir(), "sysfence-graph-"));
    const svgFile = join(dir, "vmm.svg");
    const r = run(["graph", bundled("vmm.seccompiler.json"), "--thread", "vmm", "--format", "svg", "-o", svgFile]);
    expect(r.status).toBe(0);
    expect(XMLValidator.validate(readFileSync(svgFile, "utf8"))).toBe(true);
    const d = run(["graph", bundled("vmm.seccompiler.json"), "--thread", "api", "--policy"]);
    expect(d.status).toBe(0);
    expect(d.stdout).toMatch(/^digraph /);
  });

  it("refuses an unknown format with exit 2", () => {
    const r = run(["graph", bundled("vmm-demo.x86_64.asm"), "--format", "png"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--format takes dot or svg/);
  });
});
