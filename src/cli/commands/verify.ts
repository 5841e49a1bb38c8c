// `sysfence verify subset|equal|stack …`: relations between filters decided exactly on the BPF,
// with counterexamples. Exit 0 holds, 1 does not hold, 2 bad input, 3 inconclusive.
import { readBoundedText, SIZE_LIMITS } from "../../read.js";
import type { Command } from "commander";
import { subset, stricter, equal, stackEquals, stackEffects, Inconclusive, type Verdict, type Counterexample } from "../../verify/relations.js";
import { DEFAULT_BUDGET } from "../../verify/symbolic.js";
import { formatRet } from "../../engine/actions.js";
import { ExitCode, InputError } from "../../errors.js";
import { loadOneEach, loadFilterArgs, loadStackArgs, out, filterLabel, type FilterArgOptions } from "../common.js";
import type { PolicyIR } from "../../policy/ir.js";
import { isLiveSpec } from "../../formats/detect.js";
import type { LoadedFilter } from "../../formats/detect.js";
import { diff } from "../../verify/diff.js";
import { lint, lintPolicy, findingsExitCode, type Finding, type Severity } from "../../verify/lint.js";
import { loadPolicy } from "../../policy/frontend.js";
import { currentPolicyDefaults } from "../../policy/index.js";
import { parseFilterSpec } from "../../formats/detect.js";
import { archOption } from "../common.js";
import { hostArch } from "../../syscalls/arches.js";
import { readFileSync } from "node:fs";
import { writeOutput } from "../output.js";
import { runSpec, ciAnnotations, junitXml } from "../../verify/spec.js";
import { counterexampleJson, verdictLines, diffLines, lintLines } from "../../verify/report.js";
import { withProbeBypass, probeBypassOption, type ProbeBypass } from "../../verify/bypass.js";
import type { Program } from "../../engine/program.js";

interface VerifyOpts extends FilterArgOptions {
  json?: boolean;
  stricter?: boolean;
  budget?: string;
  equals?: string;
  probeBypass?: string;
}

const PROBE_HELP = "treat x86_64 uretprobe (335) / uprobe (336) as the kernel does, skipping every filter: none|uretprobe|uretprobe+uprobe (as run takes it)";

/** The filters as the kernel runs them under --probe-bypass (bypass.ts). */
function seen(o: VerifyOpts, p: Program): Program {
  return withProbeBypass(p, probeBypassOption(o.probeBypass));
}

/** `--fail-on`: one of the three severities, else a bad-input error (exit 2). */
function failOnOption(v: string): Severity {
  if (v === "error" || v === "warning" || v === "info") return v;
  throw new InputError(`--fail-on takes error, warning or info, not ${JSON.stringify(v)}`);
}

const hex = (v: bigint | number) => "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);

function printVerdict(what: string, v: Verdict, labels: string[], json: boolean | undefined): number {
  if (json) {
    if (v instanceof Inconclusive) out(JSON.stringify({ relation: what, result: "inconclusive", reason: v.reason }));
    else if (v.holds) out(JSON.stringify({ relation: what, result: "holds" }));
    else out(JSON.stringify({ relation: what, result: "does not hold", counterexample: counterexampleJson(v.counterexample, labels) }));
  } else {
    for (const line of verdictLines(what, v, labels)) out(line);
  }
  return v instanceof Inconclusive ? ExitCode.INCONCLUSIVE : v.holds ? ExitCode.OK : ExitCode.FAIL;
}

function budgetOf(o: VerifyOpts): number | undefined {
  if (o.budget === undefined) return undefined;
  const n = Number(o.budget);
  if (!Number.isInteger(n) || n < 1000 || n > DEFAULT_BUDGET) throw new InputError(`--budget takes a node count from 1000 to ${DEFAULT_BUDGET}, not "${o.budget}"`);
  return n;
}

function common(cmd: Command): Command {
  return cmd
    .option("--arch <arch>", "arch for policy JSON and raw byte order")
    .option("--thread <name>", "thread of a map or policy (for every FILTER; T@FILE picks per file)")
    .option("--endian <le|be>", "byte order of raw files")
    .option("--budget <nodes>", "BDD node budget before answering inconclusive")
    .option("--json", "machine-readable result");
}

/** `--probe-bypass` for the commands that compare filters (not lint: it reads the filter as written). */
function bypass(cmd: Command): Command {
  return cmd.option("--probe-bypass <mode>", PROBE_HELP, "none");
}

export function verifyCommand(program: Command): void {
  // `verify --json` (spec mode) and `verify subset … --json` must not steal each other's options.
  program.enablePositionalOptions();
  const verify = program
    .command("verify")
    .enablePositionalOptions()
    .description("decide relations between filters exactly, with counterexamples (or check an assertion file: --spec)")
    .option("--spec <file>", "assertion file (sysfence.verify.json): subset/equal/stack/deny/allow/lint assertions")
    .option("--arch <arch>", "ABI for policies and syscall names in the spec (default: the spec's, else the host's)")
    .option("--json", "one JSON object with every assertion's result")
    .option("--ci", "print GitHub Actions annotations (::error file=…,line=…::) for failed assertions")
    .option("--junit <file>", "write JUnit XML")
    .option("--probe-bypass <mode>", PROBE_HELP + "; default: the spec's \"probeBypass\", else none")
    .action((o: { spec?: string; arch?: string; json?: boolean; ci?: boolean; junit?: string; probeBypass?: string }) => {
      if (!o.spec) {
        verify.help({ error: true });
        return;
      }
      const probeBypass: ProbeBypass | undefined = o.probeBypass === undefined ? undefined : probeBypassOption(o.probeBypass);
      const results = runSpec(o.spec, { arch: archOption(o.arch), probeBypass });
      if (o.junit) writeOutput(o.junit, junitXml(results));
      if (o.json) out(JSON.stringify({ spec: o.spec, results }));
      else for (const r of results) out(`${r.status.padEnd(12)} ${r.name}: ${r.message}`);
      if (o.ci) for (const line of ciAnnotations(results)) out(line);
      process.exitCode = results.some((r) => r.status === "fail")
        ? ExitCode.FAIL
        : results.some((r) => r.status === "inconclusive") ? ExitCode.INCONCLUSIVE : ExitCode.OK;
    });

  bypass(common(verify.command("subset")
    .description("every input that A allows, B allows (--stricter: A at least as restrictive as B everywhere)")
    .argument("<a>", "filter A")
    .argument("<b>", "filter B")
    .option("--stricter", "compare by kernel precedence on every input, not only what is allowed")))
    .action((a: string, b: string, o: VerifyOpts) => {
      const [fa, fb] = loadOneEach([a, b], o);
      const labels = [filterLabel(fa), filterLabel(fb)];
      const opts = { budget: budgetOf(o) };
      const [pa, pb] = [seen(o, fa.program), seen(o, fb.program)];
      const v = o.stricter ? stricter(pa, pb, opts) : subset(pa, pb, opts);
      const what = `${labels[0]} ${o.stricter ? "at least as strict as" : "⊆"} ${labels[1]}`;
      process.exitCode = printVerdict(what, v, labels, o.json);
    });

  bypass(common(verify.command("equal")
    .description("same action and data for every input")
    .argument("<a>", "filter A")
    .argument("<b>", "filter B")))
    .action((a: string, b: string, o: VerifyOpts) => {
      // A running process's stack of several filters is compared as the kernel combines it.
      const stack = isLiveSpec(a) ? loadStackArgs([a], o) : [];
      if (stack.length > 1) {
        const [fb] = loadOneEach([b], o);
        const v = stackEquals(stack.map((f) => seen(o, f.program)), seen(o, fb.program), { budget: budgetOf(o) });
        process.exitCode = printVerdict(`stack(${a}) = ${filterLabel(fb)}`, v, ["stack", filterLabel(fb)], o.json);
        return;
      }
      const [fa, fb] = stack.length === 1 ? [stack[0], ...loadOneEach([b], o)] : loadOneEach([a, b], o);
      const labels = [filterLabel(fa), filterLabel(fb)];
      process.exitCode = printVerdict(`${labels[0]} = ${labels[1]}`, equal(seen(o, fa.program), seen(o, fb.program), { budget: budgetOf(o) }), labels, o.json);
    });

  bypass(common(verify.command("diff")
    .description("where A and B differ: per arch, per syscall, with the argument conditions")
    .argument("<a>", "filter A")
    .argument("<b>", "filter B")))
    .action((a: string, b: string, o: VerifyOpts) => {
      const [fa, fb] = loadOneEach([a, b], o);
      const labels = [filterLabel(fa), filterLabel(fb)];
      const r = diff(seen(o, fa.program), seen(o, fb.program), { budget: budgetOf(o) });
      if (r instanceof Inconclusive) {
        process.exitCode = printVerdict(`diff ${labels.join(" ")}`, r, labels, o.json);
        return;
      }
      if (o.json) {
        out(JSON.stringify({ a: labels[0], b: labels[1], differences: r.entries, truncated: r.truncated }));
      } else {
        for (const line of diffLines(r, labels)) out(line);
      }
      process.exitCode = r.entries.length ? ExitCode.FAIL : ExitCode.OK;
    });

  common(verify.command("lint")
    .description("find flaws: no arch check, x32 reachable, 64-bit compares on int arguments, io_uring next to socket rules, odd return values, dead code, conditions that always or never hold")
    .argument("<filter>", "filter to lint (a map or policy without --thread: every thread)")
    .option("--under <older...>", "filters installed before it (for the stack-size check)")
    .option("--fail-on <severity>", "exit 1 when a finding is at least this serious: error | warning | info", "error"))
    .action((spec: string, o: VerifyOpts & { under?: string[]; failOn: string }) => {
      const failOn = failOnOption(o.failOn);
      const under = o.under ? loadOneEach(o.under, o).map((x) => x.program) : undefined;
      // A policy file also gets the checks only its source can show, per thread.
      const { file, thread } = parseFilterSpec(spec);
      let policies: Map<string, PolicyIR> | undefined;
      try {
        const text = readBoundedText(file, SIZE_LIMITS.policy, "a policy file");
        if (text.trimStart().startsWith("{")) {
          const { caps, kernel } = currentPolicyDefaults();
          policies = loadPolicy(text, file, { arch: archOption(o.arch) ?? hostArch(), thread: thread ?? o.thread, caps, kernel }).policies;
        }
      } catch {
        // Not a policy (or not readable as one): the BPF findings stand alone.
      }
      let code: number = ExitCode.OK;
      // Every thread of a map or policy unless one is picked: each is linted on its own.
      for (const f of loadFilterArgs([spec], o)) {
        const ir = policies && (policies.size === 1 ? [...policies.values()][0] : policies.get(f.thread ?? ""));
        const r = lint(f.program, { budget: budgetOf(o), stackedUnder: under, policyAbis: ir?.arches.map((a) => a.arch.name) });
        if (r instanceof Inconclusive) {
          code = Math.max(code, printVerdict(`lint ${filterLabel(f)}`, r, [filterLabel(f)], o.json));
          continue;
        }
        const findings: Finding[] = [...r];
        if (ir) findings.push(...lintPolicy(ir));
        if (o.json) out(JSON.stringify({ filter: filterLabel(f), findings }));
        else for (const line of lintLines(filterLabel(f), findings)) out(line);
        code = Math.max(code, findingsExitCode(findings, failOn));
      }
      process.exitCode = code;
    });

  bypass(common(verify.command("stack")
    .description("the effective policy of stacked filters (oldest first), or --equals B")
    .argument("<filters...>", "filters, oldest first")
    .option("--equals <b>", "check that the stack's effective policy equals filter B")))
    .action((specs: string[], o: VerifyOpts) => {
      const filters: LoadedFilter[] = loadStackArgs(specs, o);
      const labels = filters.map(filterLabel);
      if (o.equals !== undefined) {
        const [fb] = loadOneEach([o.equals], o);
        const v = stackEquals(filters.map((f) => seen(o, f.program)), seen(o, fb.program), { budget: budgetOf(o) });
        process.exitCode = printVerdict(`stack(${labels.join(", ")}) = ${filterLabel(fb)}`, v, [`stack`, filterLabel(fb)], o.json);
        return;
      }
      const effects = stackEffects(filters.map((f) => seen(o, f.program)), { budget: budgetOf(o) });
      if (effects instanceof Inconclusive) {
        process.exitCode = printVerdict(`stack(${labels.join(", ")})`, effects, labels, o.json);
        return;
      }
      const rows = effects.map((e) => ({
        action: formatRet(e.action),
        arches: e.arches ? e.arches.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)) : ["(more than 64 ranges)"],
      }));
      if (o.json) out(JSON.stringify({ stack: labels, outcomes: rows }));
      else {
        out(`stack (oldest first): ${labels.join(", ")}`);
        for (const r of rows) out(`  ${r.action.padEnd(18)} arch ${r.arches.join(" ") || "(none)"}`);
      }
      process.exitCode = ExitCode.OK;
    });
}
