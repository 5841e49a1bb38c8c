// `sysfence replay FILTER… TRACE…`: which calls of a recorded run would a filter (or a stack,
// first FILTER = oldest) refuse? Arguments are told apart by content: every argument up to the
// first one that looks like a trace (strace text, an audit log, JSON lines; gzip or not) is a
// FILTER, the rest are TRACEs. Exit 1 when any call is denied (with --strict also when any
// depends on a value the trace does not show), for CI.
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { existsSync } from "node:fs";
import { InputError } from "../../errors.js";
import { inferArch } from "../../text/disasm.js";
import { hostArch } from "../../syscalls/arches.js";
import { sniffTraceFile, TRACE_FORMATS, type TraceFormat } from "../../traces/reader.js";
import { parseFilterSpec } from "../../formats/detect.js";
import { replayTraces, formatReplayText, replayJson, traceBytes, type DeciderChoice } from "../../replay/index.js";
import { loadStackArgs, archOption, filterLabel, out, type FilterArgOptions } from "../common.js";
import "../../policy/index.js";

interface ReplayOpts extends FilterArgOptions {
  traceFormat?: string;
  afterInstall?: boolean;
  json?: boolean;
  strict?: boolean;
  decider?: string;
  progress?: boolean;
}

/** Splits `FILTER… TRACE…` by content; every trace must come after every filter. */
export function splitFilterAndTraces(args: readonly string[]): { filters: string[]; traces: string[] } {
  const filters: string[] = [];
  const traces: string[] = [];
  for (const a of args) {
    const isTrace = a === "-" || (existsSync(a) && sniffTraceFile(a) !== undefined);
    if (isTrace) {
      traces.push(a);
      continue;
    }
    if (traces.length > 0) {
      const file = parseFilterSpec(a).file;
      throw new InputError(
        existsSync(file)
          ? "not a trace (strace text, audit log or JSON lines); FILTERs come before TRACEs"
          : "cannot read: no such file",
        a,
      );
    }
    filters.push(a);
  }
  if (filters.length === 0) throw new InputError("give a FILTER before the traces");
  if (traces.length === 0) {
    throw new InputError(`give at least one TRACE after the FILTER (none of ${filters.join(", ")} looks like a strace, audit log or JSON lines)`);
  }
  return { filters, traces };
}

export function traceFormatOption(v: string | undefined): TraceFormat | undefined {
  if (v === undefined) return undefined;
  if (!(TRACE_FORMATS as readonly string[]).includes(v)) {
    throw new InputError(`--trace-format takes ${TRACE_FORMATS.join(", ")}, not "${v}"`);
  }
  return v as TraceFormat;
}

function deciderOption(v: string | undefined): DeciderChoice {
  if (v === undefined || v === "auto" || v === "symbolic" || v === "probe") return v ?? "auto";
  throw new InputError(`--decider takes auto, symbolic or probe, not "${v}"`);
}

/** Smallest input that gets a progress bar (smaller ones finish before a bar helps). */
export const PROGRESS_MIN_BYTES = 8 << 20;

/**
 * A progress bar on stderr when it is a terminal and the input is large; none when piped.
 * Returns the update function and a stop function.
 */
export function progressBar(
  total: number | undefined,
  stream: NodeJS.WriteStream = process.stderr,
  enabled = true,
): { update: (done: number) => void; stop: () => void } | undefined {
  if (!enabled || !stream.isTTY || total === undefined || total < PROGRESS_MIN_BYTES) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "replay [{bar}] {percentage}% | {value}/{total} MiB | eta {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  bar.start(mib(total), 0);
  return { update: (done) => bar.update(mib(done)), stop: () => bar.stop() };
}

export function replayCommand(program: Command): void {
  program
    .command("replay")
    .description("replay strace/audit/JSONL traces against a filter (or a stack): allowed, denied, or depends on an argument")
    .argument("<filter-and-traces...>", "FILTER… then TRACE… (told apart by content; gzip traces are read as such)")
    .option("--arch <arch>", "ABI of traces that do not say (strace, JSON lines); default: the filter's arch check, else the host")
    .option("--thread <name>", "thread of a map or policy, for every FILTER (needed when one holds several; T@FILE picks per file)")
    .option("--endian <le|be>", "byte order of raw filter files")
    .option("--trace-format <format>", "strace, audit or jsonl (default: detected per file)")
    .option("--after-install", "apply the filter only from the traced process's own successful seccomp install on (per thread; TSYNC: the whole process)")
    .option("--json", "print one JSON report")
    .option("--strict", "exit 1 also when a call depends on a value the trace does not show")
    .option("--decider <how>", "auto (symbolic engine, probes when it cannot), symbolic, probe", "auto")
    .option("--no-progress", "no progress bar even on a terminal")
    .action(async (args: string[], o: ReplayOpts) => {
      const { filters: specs, traces } = splitFilterAndTraces(args);
      const format = traceFormatOption(o.traceFormat);
      const decider = deciderOption(o.decider);
      const filters = loadStackArgs(specs, { thread: o.thread, arch: o.arch, endian: o.endian });
      const arch = archOption(o.arch) ?? inferArch(filters[filters.length - 1].program) ?? hostArch();
      const bar = progressBar(traceBytes(traces), process.stderr, o.progress !== false);
      let result;
      try {
        result = await replayTraces(filters.map((f) => f.program), traces, {
          arch, format, afterInstall: o.afterInstall, decider,
          onProgress: bar ? (done) => bar.update(done) : undefined,
        });
      } finally {
        bar?.stop();
      }
      if (o.json) out(JSON.stringify(replayJson(result, filters)));
      else out(formatReplayText(result, filters.map(filterLabel), { afterInstall: o.afterInstall }));
      const t = result.totals;
      process.exitCode = t.denied > 0 || (o.strict && t.depends > 0) ? 1 : 0;
    });
}
