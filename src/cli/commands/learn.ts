// `sysfence learn TRACE… --arch A [-o POLICY]`: derive a tight policy from recorded runs, then
// prove it: it compiles, the kernel would accept it, it is stricter than allow-all, it stays
// within --within BASE, and replaying the traces under it denies nothing. The policy goes to
// -o (stdout by default); the summary and warnings go to stderr.
import type { Command } from "commander";
import { writeOutput } from "../output.js";
import { ExitCode, InputError } from "../../errors.js";
import { parseActionSpec } from "../../policy/builder.js";
import { learnPolicy, LEARN_FORMATS, type LearnFormat, type Check } from "../../learn/index.js";
import { formatRet } from "../../engine/actions.js";
import { archOption, loadOneEach, filterLabel, out, err } from "../common.js";
import { traceFormatOption } from "./replay.js";

interface LearnOpts {
  arch?: string;
  format?: string;
  thread?: string;
  within?: string;
  widen?: boolean;
  baseSet?: boolean;
  defaultAction?: string;
  traceFormat?: string;
  verify?: boolean;
  output?: string;
}

function describeCheck(c: Check, what: string): string {
  if (c.ok === true) return `${what}: yes`;
  if (c.ok === "inconclusive") return `${what}: inconclusive (${c.reason})`;
  const cx = c.counterexample;
  if (!cx) return `${what}: NO`;
  const args = cx.data.args?.map((a) => "0x" + a.toString(16)).join(", ") ?? "";
  return `${what}: NO, e.g. ${cx.syscall ?? `nr ${cx.words[0]}`}(${args}) on ${cx.arch?.name ?? "?"}: ` +
    cx.results.map(formatRet).join(" vs ");
}

export function learnCommand(program: Command): void {
  program
    .command("learn")
    .description("learn a policy (seccompiler JSON or OCI profile) from strace/audit/JSONL traces, then verify it")
    .argument("<trace...>", "traces (strace text, audit logs, JSON lines; gzip or not)")
    .option("--arch <arch>", "ABI of the policy (and of traces that do not say); required")
    .option("--format <format>", "seccompiler, oci or minijail", "seccompiler")
    .option("--thread <name>", "seccompiler thread name", "main")
    .option("--within <BASE>", "never allow more than this filter or policy (T@FILE picks a thread); checked with the verifier")
    .option("--widen", "syscall names only, no argument narrowing")
    .option("--base-set", "add what a dynamically linked program needs at start-up (loader, libc)")
    .option("--default-action <action>", "action for everything not learned: kill_process, kill_thread, trap, errno(N), log…", "kill_process")
    .option("--trace-format <format>", "strace, audit or jsonl (default: detected per file)")
    .option("--no-verify", "do not replay the traces under the learned policy")
    .option("-o, --output <POLICY>", "where to write the policy (default: stdout)")
    .action(async (traces: string[], o: LearnOpts) => {
      if (o.arch === undefined) throw new InputError("give --arch: the ABI the policy is for (e.g. x86_64, aarch64)");
      const arch = archOption(o.arch)!;
      if (!(LEARN_FORMATS as readonly string[]).includes(o.format ?? "")) {
        throw new InputError(`--format takes ${LEARN_FORMATS.slice(0, -1).join(", ")} or ${LEARN_FORMATS.at(-1)}, not "${o.format}"`);
      }
      const format = o.format as LearnFormat;
      const defaultAction = parseActionSpec(o.defaultAction ?? "kill_process", "--default-action");
      let within;
      if (o.within !== undefined) {
        const [base] = loadOneEach([o.within], { arch: arch.name });
        within = { program: base.program, label: filterLabel(base) };
      }
      const r = await learnPolicy(traces, {
        arch, format, thread: o.thread, widen: o.widen, baseSet: o.baseSet, within, defaultAction,
        traceFormat: traceFormatOption(o.traceFormat), verify: o.verify !== false,
      });
      if (o.output === undefined || o.output === "-") out(r.text.trimEnd());
      else {
        writeOutput(o.output, r.text);
      }
      for (const w of r.warnings) err(`sysfence: warning: ${w}`);
      const dest = o.output === undefined || o.output === "-" ? "stdout" : o.output;
      err(
        `sysfence: learned ${r.syscalls} syscalls from ${r.events} calls in ${traces.length} trace${traces.length === 1 ? "" : "s"}` +
          ` (${r.narrowed.length} narrowed by argument${r.narrowed.length ? ": " + r.narrowed.join(", ") : ""}); ` +
          `${format} policy for ${arch.name} written to ${dest}`,
      );
      err(`sysfence: compiled: ${r.program.length} instructions, ${r.accepted ? "accepted by the checker" : "REJECTED by the checker"}`);
      const lintErrors = r.lint.filter((f) => f.severity === "error");
      for (const f of r.lint) err(`sysfence: lint ${f.severity}: ${f.message}`);
      err(`sysfence: lint: ${lintErrors.length} error${lintErrors.length === 1 ? "" : "s"}, ${r.lint.length - lintErrors.length} other finding${r.lint.length - lintErrors.length === 1 ? "" : "s"}`);
      err(`sysfence: ${describeCheck(r.stricterThanAllowAll, "stricter than allow-all")}`);
      if (r.withinBase && within) err(`sysfence: ${describeCheck(r.withinBase, `within ${within.label}`)}`);
      if (r.replay) {
        const t = r.replay.totals;
        err(`sysfence: replay of the traces under it: ${t.evaluated} calls, ${t.allowed} allowed, ${t.denied} denied, ${t.depends} depends`);
      }
      const failed = !r.accepted || lintErrors.length > 0 || r.stricterThanAllowAll.ok === false || r.withinBase?.ok === false || (r.replay?.totals.denied ?? 0) > 0;
      const inconclusive = r.stricterThanAllowAll.ok === "inconclusive" || r.withinBase?.ok === "inconclusive";
      process.exitCode = failed ? ExitCode.FAIL : inconclusive ? ExitCode.INCONCLUSIVE : ExitCode.OK;
    });
}
