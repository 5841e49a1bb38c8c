// `sysfence graph FILTER`: the program's control flow as a picture (DOT or SVG), with the
// syscall dispatch folded into one node whose exits name the syscalls that take them; with
// --policy, the decompiled policy instead (arch → syscalls grouped by action → conditions).
import { writeOutput } from "../output.js";
import type { Command } from "commander";
import { programGraph } from "../../graph/cfg.js";
import { programDot } from "../../graph/dot.js";
import { decompiledPolicyDot } from "../../graph/policy.js";
import { dotToSvg } from "../../graph/svg.js";
import { InputError } from "../../errors.js";
import { archOption, loadOneEach, out, filterLabel, type FilterArgOptions } from "../common.js";
import type { LoadedFilter } from "../../formats/detect.js";

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
      const dot = o.policy ? policyPictureDot(f) : programDot(programGraph(f.program, { fold: o.fold, arch: archOption(o.arch) }), pictureTitle(f));
      await writePicture(dot, o.format, o.output);
    });
}

/** The title a picture carries: the filter's label without its directories. */
function pictureTitle(f: LoadedFilter): string {
  return filterLabel(f).replace(/^.*\//, "");
}

/** The decompiled policy of one filter as DOT: what `graph --policy` and `explain --format svg` draw. */
export function policyPictureDot(f: LoadedFilter): string {
  return decompiledPolicyDot(f.program, pictureTitle(f), filterLabel(f));
}

/** DOT as FORMAT (dot, or svg laid out by Graphviz) to OUTPUT or stdout. */
export async function writePicture(dot: string, format: string, output: string | undefined): Promise<void> {
  const text = format === "svg" ? await dotToSvg(dot) : dot;
  if (output) writeOutput(output, text);
  else out(text.trimEnd());
}
