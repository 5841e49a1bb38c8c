// Bench section "minijail": crosvm's minijail policies (test/corpus/policies/crosvm), read the
// way crosvm builds them (minijail's Python reading, --default-action trap).
//
// Methodology.
// - Compile time: every x86_64 policy (46 files, includes and constants.json read from disk)
//   compiled by the API's compilePolicyText, 5 timed passes after 1 warm-up; the median pass.
// - Executed instructions under the @frequency weights: common_device.policy names
//   common_device.frequency (call counts by syscall, from crosvm). For every policy, each
//   syscall the frequency file counts is run once through the interpreter (args 0) with the
//   instruction counter on; the mean is weighted by the counts. This is the figure minijail's
//   Python compiler optimises its syscall tree for.
// - "unweighted" is sysfence's decision tree (balanced by how many real syscalls each run of
//   the number space covers); a frequency-weighted tree is not built yet, so there is no second
//   column: the figure is the baseline a weighted tree must not exceed.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, median, formatTable, timeRuns } from "./lib.mjs";

export const name = "minijail";
export const title = "crosvm minijail policies: compile time, executed instructions under @frequency weights";

export async function run(ctx) {
  const { compilePolicyText, evaluateBatch, InputBatch } = ctx.api;
  const dir = join(repoRoot, "test", "corpus", "policies", "crosvm", "x86_64");
  const files = readdirSync(dir).filter((f) => f.endsWith(".policy")).sort();
  const texts = files.map((f) => [join(dir, f), readFileSync(join(dir, f), "utf8")]);
  const minijail = { semantics: "python", defaultAction: "trap" };
  const compileAll = () => texts.map(([file, text]) => compilePolicyText(text, file, { minijail }));
  const times = timeRuns(compileAll, { runs: ctx.quick ? 2 : 5, warmup: 1 });
  const results = compileAll();
  const freq = results.find((r, i) => files[i] === "common_device.policy").frequency;
  const total = [...freq.values()].reduce((a, b) => a + b, 0n);

  const rows = [];
  let sumMean = 0;
  for (let i = 0; i < files.length; i++) {
    const p = results[i].programs[0];
    const arch = p.ir.arches[0].arch;
    const nrs = [...freq.keys()];
    const batch = InputBatch.of(nrs.map((nr) => ({ arch: arch.token, nr, args: [0n, 0n, 0n, 0n, 0n, 0n] })), arch.endian);
    const counts = evaluateBatch(p.program, batch, { counts: true, engine: "interpreter" }).counts;
    let weighted = 0;
    nrs.forEach((nr, k) => (weighted += counts[k] * Number(freq.get(nr))));
    const mean = weighted / Number(total);
    sumMean += mean;
    if (["common_device.policy", "block_device.policy", "net_device.policy", "gpu_device.policy", "fs_device.policy"].includes(files[i])) {
      rows.push([files[i], String(p.program.length), mean.toFixed(2)]);
    }
  }
  rows.push([`mean of all ${files.length}`, "", (sumMean / files.length).toFixed(2)]);
  const text = [
    `compile: ${files.length} x86_64 policies in ${(median(times) / 1e6).toFixed(1)} ms (median of ${times.length} passes; ${(median(times) / 1e6 / files.length).toFixed(2)} ms per policy)`,
    `frequency file: ${freq.size} syscalls, ${total} calls`,
    "",
    formatTable(
      [{ title: "policy", align: "l" }, { title: "instructions", align: "r" }, { title: "mean executed (weighted by @frequency)", align: "r" }],
      rows,
    ),
    "",
    "weighted decision tree: not built yet (the tree is balanced by syscall-table coverage); the column is its baseline",
  ].join("\n");
  return { title, text };
}
