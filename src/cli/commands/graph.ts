// `sysfence graph FILTER`: the program's control flow as a picture (DOT or SVG), with the
// syscall dispatch folded into one node whose exits name the syscalls that take them; with
// --policy, the decompiled policy instead (arch → syscalls grouped by action → conditions).
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { programGraph } from "../../graph/cfg.js";
import { programDot } from "../../graph/dot.js";
import { policyDot } from "../../graph/policy.js";
import { dotToSvg } from "../../graph/svg.js";
import { explain } from "../../verify/explain.js";
import { Inconclusive } from "../../verify/symbolic.js";
import { ExitCode, InputError, SysfenceError } from "../../errors.js";
import { archOption, loadOneEach, out, filterLabel, type FilterArgOptions } from "../common.js";

interface GraphCliOptions extends FilterArgOptions {
  format: string;
  output?: string;
  policy?: boolean;
  fold: boolean;
}

export function graphCommand(program: Command): void {
  program
    .command("graph")
    .description("draw a filter's control flow (or, with --policy, its decompiled policy) as DOT or SVG")
    .argument("<filter>", "filter file or policy (T@FILE picks a thread)")
    .option("--arch <arch>", "ABI for syscall names (default: the filter's first arch check)")
    .option("--thread <name>", "thread of a map or policy")
    .option("--endian <le|be>", "byte order of raw files")
    .option("--format <fmt>", "dot | svg", "dot")
    .option("--policy", "draw the decompiled policy instead of the instructions")
    .option("--no-fold", "draw every syscall-number comparison instead of one dispatch node per region")
    .option("-o, --output <file>", "write the picture here instead of stdout")
    .action(async (spec: string, o: GraphCliOptions) => {
      if (o.format !== "dot" && o.format !== "svg") throw new InputError(`--format takes dot or svg, not "${o.format}"`);
      const [f] = loadOneEach([spec], o);
      const title = filterLabel(f).replace(/^.*\//, "");
      let dot: string;
      if (o.policy) {
        const r = explain(f.program);
        if (r instanceof Inconclusive) throw new SysfenceError(`inconclusive: ${r.reason}`, { where: filterLabel(f), exitCode: ExitCode.INCONCLUSIVE });
        if (!r.ir) throw new SysfenceError(`not a policy: ${r.problems.join("; ")}`, { where: filterLabel(f), exitCode: ExitCode.FAIL });
        dot = policyDot(r.ir, title);
      } else {
        dot = programDot(programGraph(f.program, { fold: o.fold, arch: archOption(o.arch) }), title);
      }
      const text = o.format === "svg" ? await dotToSvg(dot) : dot;
      if (o.output) writeFileSync(o.output, text);
      else out(text.trimEnd());
    });
}
