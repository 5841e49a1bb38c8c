// `sysfence explain FILTER`: decompile a filter into a readable per-arch, per-syscall policy,
// and into seccompiler JSON where that dialect can state it. The explanation is compiled again
// and proven equal to the filter before it is printed as a policy. A map or policy without
// --thread is explained thread by thread (text); a policy dialect output takes one thread.
import { writeOutput } from "../output.js";
import type { Command } from "commander";
import { isLiveSpec } from "../../formats/detect.js";
import { explain, toSeccompiler, toOci } from "../../verify/explain.js";
import { toMinijail } from "../../policy/minijail/emit.js";
import { Inconclusive } from "../../verify/symbolic.js";
import { ExitCode, InputError } from "../../errors.js";
import type { LoadedFilter } from "../../formats/detect.js";
import { loadFilterArgs, loadOneEach, out, err, filterLabel, type FilterArgOptions } from "../common.js";

export function explainCommand(program: Command): void {
  program
    .command("explain")
    .description("decompile a filter into a per-arch, per-syscall policy (and seccompiler JSON where expressible)")
    .argument("<filter>", "filter file (T@FILE picks a thread; without one, every thread)")
    .option("--arch <arch>", "arch for policy JSON and raw byte order")
    .option("--thread <name>", "thread of a map or policy (default: every thread; --format seccompiler/oci need one)")
    .option("--endian <le|be>", "byte order of raw files")
    .option("--format <fmt>", "text | seccompiler | oci | minijail", "text")
    .option("-o, --output <file>", "write the policy here instead of stdout")
    .action((spec: string, o: FilterArgOptions & { format: string; output?: string; minijailSemantics?: "c" | "python" }) => {
      if (!["text", "seccompiler", "oci", "minijail"].includes(o.format)) throw new InputError(`--format takes text, seccompiler, oci or minijail, not "${o.format}"`);
      // Threads of a map or policy are explained one by one; the filters of a live stack act
      // together, so one of them is picked with N@pid:… (loadOneEach says so).
      const filters = isLiveSpec(spec) ? loadOneEach([spec], o) : loadFilterArgs([spec], o);
      if (filters.length > 1 && o.format !== "text") {
        const threads = filters.map((x) => x.thread).join(", ");
        throw new InputError(`holds ${filters.length} filters (${threads}): --format ${o.format} writes one policy; pick a thread with --thread T or T@FILE`, spec);
      }
      const texts: string[] = [];
      let code: number = ExitCode.OK;
      for (const f of filters) {
        const r = explainOne(f, o.format, o.minijailSemantics);
        if (r.text !== undefined) texts.push(r.text);
        code = Math.max(code, r.code);
      }
      if (texts.length) {
        const text = texts.join("\n");
        if (o.output) writeOutput(o.output, text);
        else out(text.trimEnd());
      }
      process.exitCode = code;
    });
}

/** One filter's explanation in FORMAT (text unless a policy dialect), its problems on stderr. */
function explainOne(f: LoadedFilter, format: string, semantics?: "c" | "python"): { text?: string; code: number } {
  const r = explain(f.program, { oneCompPerArg: format === "oci" }); // OCI: one comparison per argument
  if (r instanceof Inconclusive) {
    err(`sysfence: ${filterLabel(f)}: inconclusive: ${r.reason}`);
    return { code: ExitCode.INCONCLUSIVE };
  }
  let text: string;
  if (format === "text") {
    text = `; ${filterLabel(f)}\n${r.text}\n`;
  } else {
    if (!r.ir) {
      for (const p of r.problems) err(`sysfence: ${filterLabel(f)}: ${p}`);
      return { code: ExitCode.FAIL };
    }
    const s = format === "oci" ? toOci(r.ir) : format === "minijail" ? toMinijail(r.ir, { semantics }) : toSeccompiler(r.ir);
    if (!s.text) {
      const what = format === "oci" ? "an OCI profile" : format === "minijail" ? "a minijail policy" : "seccompiler JSON";
      err(`sysfence: ${filterLabel(f)}: not expressible as ${what}: ${s.reason}`);
      return { code: ExitCode.FAIL };
    }
    text = s.text;
  }
  for (const p of r.problems) err(`sysfence: ${filterLabel(f)}: not a policy: ${p}`);
  return { text, code: r.ir ? ExitCode.OK : ExitCode.FAIL };
}
