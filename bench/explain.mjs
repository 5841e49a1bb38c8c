// Explanation size section: every corpus policy (Firecracker main and v1.10.1 for x86_64 and
// aarch64, Docker's profile for x86_64, aarch64 (with arm) and s390x, containers-common's for
// x86_64 and aarch64) compiled, explained and measured against the issue's targets:
//   - the explanation's argument comparisons per syscall <= 1.0x the source policy's;
//   - the explanation compiled again <= 1.1x the original compile (instructions);
//   - no line of the text over 300 characters.
// Corpus files are the ones vendored under test/corpus.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, formatTable } from "./lib.mjs";

export const name = "explain";
export const title = "Explanations: condition terms, recompiled length, line length (targets 1.0x, 1.1x, 300)";

const corpus = join(repoRoot, "test", "corpus");
/** The corpus policies and the ABI each is compiled for (shared with test/explain-size.test.ts). */
export const POLICIES = JSON.parse(readFileSync(join(repoRoot, "bench", "explain-corpus.json"), "utf8"));

export async function run(ctx) {
  const { api } = ctx;
  const rows = [];
  const misses = [];
  for (const [rel, archName] of POLICIES) {
    const arch = api.findArch(archName);
    const r = api.compilePolicyText(readFileSync(join(corpus, rel), "utf8"), rel, { arch, kernel: "6.8" });
    for (const p of r.programs) {
      const e = api.explain(p.program);
      const who = `${rel.split("/").slice(-2).join("/")} ${p.name}`;
      if (e.kind === "inconclusive" || e.problems.length) {
        rows.push([who, archName, "not explained", e.reason ?? e.problems[0], "", "", ""]);
        misses.push(who);
        continue;
      }
      const s = api.explanationSize(p.ir, p.program, e);
      const recompile = s.recompiled / s.original;
      const ok = s.worstSyscallRatio <= 1 && recompile <= 1.1 && s.longestLine <= 300;
      if (!ok) misses.push(who);
      rows.push([
        who, archName, `${s.chars} / ${s.lines}`, String(s.longestLine),
        `${s.terms} / ${s.sourceTerms}`, `${s.worstSyscallRatio.toFixed(2)}${s.worstSyscallRatio > 1 ? ` (${s.worstSyscall})` : ""}`,
        `${s.recompiled} / ${s.original} = ${recompile.toFixed(2)}`,
      ]);
    }
  }
  const text = formatTable([{ title: "policy", align: "l" }, { title: "arch", align: "l" }, { title: "chars / lines" }, { title: "longest line" }, { title: "terms / source" }, { title: "worst syscall ratio" }, { title: "recompiled / original" }], rows) +
    `\n\ntargets met on ${rows.length - misses.length} of ${rows.length}${misses.length ? `; missed: ${misses.join(", ")}` : ""}`;
  return { title, text };
}
