// `sysfence verify subset|equal|stack …`: relations between filters decided exactly on the BPF,
// with counterexamples. Exit 0 holds, 1 does not hold, 2 bad input, 3 inconclusive.
import type { Command } from "commander";
import { subset, stricter, equal, stackEquals, stackOutcomes, Inconclusive, type Verdict, type Counterexample } from "../../verify/relations.js";
import { SymbolicSpace } from "../../verify/symbolic.js";
import { formatRet } from "../../engine/actions.js";
import { ExitCode, InputError } from "../../errors.js";
import { loadOneEach, out, filterLabel, type FilterArgOptions } from "../common.js";
import type { LoadedFilter } from "../../formats/detect.js";
import { diff } from "../../verify/diff.js";
import { wrapLine } from "../../verify/minimise.js";
import { lint, lintPolicy, findingsExitCode, type Finding } from "../../verify/lint.js";
import { loadPolicy } from "../../policy/frontend.js";
import { parseFilterSpec } from "../../formats/detect.js";
import { archOption } from "../common.js";
import { hostArch } from "../../syscalls/arches.js";
import { readFileSync, writeFileSync } from "node:fs";
import { runSpec, ciAnnotations, junitXml } from "../../verify/spec.js";

interface VerifyOpts extends FilterArgOptions {
  json?: boolean;
  stricter?: boolean;
  budget?: string;
  equals?: string;
}

const hex = (v: bigint | number) => "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);

export function counterexampleJson(cx: Counterexample, labels: string[]) {
  return {
    arch: cx.arch?.name ?? hex(cx.data.arch),
    syscall: cx.syscall ?? null,
    nr: cx.data.nr >>> 0,
    args: (cx.data.args ?? []).map(hex),
    ip: hex(cx.data.instructionPointer ?? 0n),
    results: Object.fromEntries(labels.map((l, i) => [l, formatRet(cx.results[i])])),
  };
}

function printVerdict(what: string, v: Verdict, labels: string[], json: boolean | undefined): number {
  if (v instanceof Inconclusive) {
    if (json) out(JSON.stringify({ relation: what, result: "inconclusive", reason: v.reason }));
    else out(`${what}: inconclusive: ${v.reason}`);
    return ExitCode.INCONCLUSIVE;
  }
  if (v.holds) {
    if (json) out(JSON.stringify({ relation: what, result: "holds" }));
    else out(`${what}: holds`);
    return ExitCode.OK;
  }
  const cx = counterexampleJson(v.counterexample, labels);
  if (json) {
    out(JSON.stringify({ relation: what, result: "does not hold", counterexample: cx }));
  } else {
    out(`${what}: does not hold`);
    out(`  counterexample: ${cx.arch} ${cx.syscall ?? "?"} (nr ${cx.nr})`);
    out(`    args ${cx.args.join(" ")}  ip ${cx.ip}`);
    for (const [l, r] of Object.entries(cx.results)) out(`    ${l}: ${r}`);
  }
  return ExitCode.FAIL;
}

function budgetOf(o: VerifyOpts): number | undefined {
  if (o.budget === undefined) return undefined;
  const n = Number(o.budget);
  if (!Number.isInteger(n) || n < 1000) throw new InputError(`--budget takes a node count of at least 1000, not "${o.budget}"`);
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
    .action((o: { spec?: string; arch?: string; json?: boolean; ci?: boolean; junit?: string }) => {
      if (!o.spec) {
        verify.help({ error: true });
        return;
      }
      const results = runSpec(o.spec, { arch: archOption(o.arch) });
      if (o.junit) writeFileSync(o.junit, junitXml(results));
      if (o.json) out(JSON.stringify({ spec: o.spec, results }));
      else for (const r of results) out(`${r.status.padEnd(12)} ${r.name}: ${r.message}`);
      if (o.ci) for (const line of ciAnnotations(results)) out(line);
      process.exitCode = results.some((r) => r.status === "fail")
        ? ExitCode.FAIL
        : results.some((r) => r.status === "inconclusive") ? ExitCode.INCONCLUSIVE : ExitCode.OK;
    });

  common(verify.command("subset")
    .description("every input that A allows, B allows (--stricter: A at least as restrictive as B everywhere)")
    .argument("<a>", "filter A")
    .argument("<b>", "filter B")
    .option("--stricter", "compare by kernel precedence on every input, not only what is allowed"))
    .action((a: string, b: string, o: VerifyOpts) => {
      const [fa, fb] = loadOneEach([a, b], o);
      const labels = [filterLabel(fa), filterLabel(fb)];
      const opts = { budget: budgetOf(o) };
      const v = o.stricter ? stricter(fa.program, fb.program, opts) : subset(fa.program, fb.program, opts);
      const what = `${labels[0]} ${o.stricter ? "at least as strict as" : "⊆"} ${labels[1]}`;
      process.exitCode = printVerdict(what, v, labels, o.json);
    });

  common(verify.command("equal")
    .description("same action and data for every input")
    .argument("<a>", "filter A")
    .argument("<b>", "filter B"))
    .action((a: string, b: string, o: VerifyOpts) => {
      const [fa, fb] = loadOneEach([a, b], o);
      const labels = [filterLabel(fa), filterLabel(fb)];
      process.exitCode = printVerdict(`${labels[0]} = ${labels[1]}`, equal(fa.program, fb.program, { budget: budgetOf(o) }), labels, o.json);
    });

  common(verify.command("diff")
    .description("where A and B differ: per arch, per syscall, with the argument conditions")
    .argument("<a>", "filter A")
    .argument("<b>", "filter B"))
    .action((a: string, b: string, o: VerifyOpts) => {
      const [fa, fb] = loadOneEach([a, b], o);
      const labels = [filterLabel(fa), filterLabel(fb)];
      const r = diff(fa.program, fb.program, { budget: budgetOf(o) });
      if (r instanceof Inconclusive) {
        process.exitCode = printVerdict(`diff ${labels.join(" ")}`, r, labels, o.json);
        return;
      }
      if (o.json) {
        out(JSON.stringify({ a: labels[0], b: labels[1], differences: r.entries, truncated: r.truncated }));
      } else if (r.entries.length === 0) {
        out(`${labels[0]} and ${labels[1]}: no difference`);
      } else {
        out(`A = ${labels[0]}\nB = ${labels[1]}`);
        let arch = "";
        for (const e of r.entries) {
          if (e.arch !== arch) {
            arch = e.arch;
            out(`${arch}:`);
          }
          const nr = e.nr[0] === e.nr[1] ? ` (${e.nr[0]})` : "";
          out(wrapLine(`  ${e.syscall}${nr}: A ${e.a}, B ${e.b}${e.when === "always" ? "" : ` when ${e.when}`}`));
        }
        if (r.truncated) out("  … (more differences; use --json for the full list)");
      }
      process.exitCode = r.entries.length ? ExitCode.FAIL : ExitCode.OK;
    });

  common(verify.command("lint")
    .description("find flaws: no arch check, x32 reachable, 64-bit compares on int arguments, io_uring next to socket rules, odd return values, dead code, conditions that always or never hold")
    .argument("<filter>", "filter to lint")
    .option("--under <older...>", "filters installed before it (for the stack-size check)"))
    .action((spec: string, o: VerifyOpts & { under?: string[] }) => {
      const [f] = loadOneEach([spec], o);
      const under = o.under ? loadOneEach(o.under, o).map((x) => x.program) : undefined;
      const r = lint(f.program, { budget: budgetOf(o), stackedUnder: under });
      if (r instanceof Inconclusive) {
        process.exitCode = printVerdict(`lint ${filterLabel(f)}`, r, [filterLabel(f)], o.json);
        return;
      }
      const findings: Finding[] = [...r];
      // A policy file also gets the checks only its source can show.
      const { file, thread } = parseFilterSpec(spec);
      try {
        const text = readFileSync(file, "utf8");
        if (text.trimStart().startsWith("{")) {
          const p = loadPolicy(text, file, { arch: archOption(o.arch) ?? hostArch(), thread: thread ?? o.thread });
          for (const ir of p.policies.values()) findings.push(...lintPolicy(ir));
        }
      } catch {
        // Not a policy (or not readable as one): the BPF findings stand alone.
      }
      if (o.json) out(JSON.stringify({ filter: filterLabel(f), findings }));
      else if (findings.length === 0) out(`${filterLabel(f)}: clean`);
      else {
        for (const x of findings) {
          const at = x.index !== undefined ? ` insn ${x.index}` : "";
          out(`${filterLabel(f)}:${at} ${x.severity} [${x.id}] ${x.message}\n    fix: ${x.hint}`);
        }
      }
      process.exitCode = findingsExitCode(findings);
    });

  common(verify.command("stack")
    .description("the effective policy of stacked filters (oldest first), or --equals B")
    .argument("<filters...>", "filters, oldest first")
    .option("--equals <b>", "check that the stack's effective policy equals filter B"))
    .action((specs: string[], o: VerifyOpts) => {
      const filters: LoadedFilter[] = loadOneEach(specs, o);
      const labels = filters.map(filterLabel);
      if (o.equals !== undefined) {
        const [fb] = loadOneEach([o.equals], o);
        const v = stackEquals(filters.map((f) => f.program), fb.program, { budget: budgetOf(o) });
        process.exitCode = printVerdict(`stack(${labels.join(", ")}) = ${filterLabel(fb)}`, v, [`stack`, filterLabel(fb)], o.json);
        return;
      }
      const space = new SymbolicSpace(budgetOf(o));
      let outs;
      try {
        outs = stackOutcomes(space, filters.map((f) => f.program));
      } catch (e) {
        if (e instanceof Inconclusive) outs = e;
        else throw e;
      }
      if (outs instanceof Inconclusive) {
        process.exitCode = printVerdict(`stack(${labels.join(", ")})`, outs, labels, o.json);
        return;
      }
      // The effective actions and, for each, the arches and syscall numbers that reach it.
      const rows = outs.map((oc) => {
        const arches = space.wordRanges(space.existsAllBut(oc.set, 1), 1, 64) ?? [];
        return { action: formatRet(oc.value), arches: arches.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)) };
      });
      if (o.json) out(JSON.stringify({ stack: labels, outcomes: rows }));
      else {
        out(`stack (oldest first): ${labels.join(", ")}`);
        for (const r of rows) out(`  ${r.action.padEnd(18)} arch ${r.arches.join(" ") || "(none)"}`);
      }
      process.exitCode = ExitCode.OK;
    });
}
