// `sysfence explain FILTER`: decompile a filter into a readable per-arch, per-syscall policy,
// and into seccompiler JSON where that dialect can state it. The explanation is compiled again
// and proven equal to the filter before it is printed as a policy.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { explain, toSeccompiler, toOci } from "../../verify/explain.js";
import { Inconclusive } from "../../verify/symbolic.js";
import { ExitCode, InputError } from "../../errors.js";
import { loadOneEach, out, err, filterLabel, type FilterArgOptions } from "../common.js";

export function explainCommand(program: Command): void {
  program
    .command("explain")
    .description("decompile a filter into a per-arch, per-syscall policy (and seccompiler JSON where expressible)")
    .argument("<filter>", "filter file (T@FILE picks a thread)")
    .option("--arch <arch>", "arch for policy JSON and raw byte order")
    .option("--thread <name>", "thread of a map or policy")
    .option("--endian <le|be>", "byte order of raw files")
    .option("--format <fmt>", "text | seccompiler | oci", "text")
    .option("-o, --output <file>", "write the policy here instead of stdout")
    .action((spec: string, o: FilterArgOptions & { format: string; output?: string }) => {
      const [f] = loadOneEach([spec], o);
      const r = explain(f.program, { oneCompPerArg: o.format === "oci" }); // OCI: one comparison per argument
      if (r instanceof Inconclusive) {
        err(`sysfence: ${filterLabel(f)}: inconclusive: ${r.reason}`);
        process.exitCode = ExitCode.INCONCLUSIVE;
        return;
      }
      let text: string;
      if (o.format === "text") {
        text = `; ${filterLabel(f)}\n${r.text}\n`;
      } else if (o.format === "seccompiler" || o.format === "oci") {
        if (!r.ir) {
          for (const p of r.problems) err(`sysfence: ${filterLabel(f)}: ${p}`);
          process.exitCode = ExitCode.FAIL;
          return;
        }
        const s = o.format === "oci" ? toOci(r.ir) : toSeccompiler(r.ir);
        if (!s.text) {
          err(`sysfence: ${filterLabel(f)}: not expressible as ${o.format === "oci" ? "an OCI profile" : "seccompiler JSON"}: ${s.reason}`);
          process.exitCode = ExitCode.FAIL;
          return;
        }
        text = s.text;
      } else {
        throw new InputError(`--format takes text, seccompiler or oci, not "${o.format}"`);
      }
      if (o.output) writeFileSync(o.output, text);
      else out(text.trimEnd());
      for (const p of r.problems) err(`sysfence: ${filterLabel(f)}: not a policy: ${p}`);
      process.exitCode = r.ir ? ExitCode.OK : ExitCode.FAIL;
    });
}
