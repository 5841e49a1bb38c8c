// Trace replay end to end: read every trace (any format, gzip or not) into a Replayer, and
// render the result as text or JSON. The CLI (src/cli/commands/replay.ts) and the API use this.
import { statSync } from "node:fs";
import type { Program } from "../engine/program.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { readSource, type TraceFormat, type TraceFileSummary } from "../traces/reader.js";
import { openTrace, type TraceSource } from "../traces/source.js";
import { Replayer, type ReplayOptions, type ReplayTotals, type SyscallReport } from "./replayer.js";

export { Replayer, BATCH, argLabel } from "./replayer.js";
export type { ReplayOptions, ReplayTotals, SyscallReport, SyscallOutcome, Outcome, OutcomeKind, FirstSeen } from "./replayer.js";
export { makeDecider, SymbolicDecider, ProbeDecider, PROBE_LIMIT, type Decider, type Decision, type DeciderChoice } from "./decide.js";

export interface ReplayTracesOptions extends ReplayOptions {
  /** ABI of traces that do not say (strace; JSON lines without "arch"). */
  arch: ArchInfo;
  /** Force a trace format instead of detecting it. */
  format?: TraceFormat;
  /** Progress in stored bytes over all traces (total undefined when a trace is stdin). */
  onProgress?: (done: number, total: number | undefined) => void;
}

export interface ReplayResult {
  /** "symbolic" (exact) or "probe" (the fallback; see src/replay/decide.ts). */
  method: "symbolic" | "probe";
  traces: TraceFileSummary[];
  totals: ReplayTotals;
  /** --after-install: successful filter installs seen in the traces. */
  installs: number;
  syscalls: SyscallReport[];
}

/** Sizes of the traces as stored, for progress; undefined when one is stdin or unreadable. */
export function traceBytes(paths: readonly string[]): number | undefined {
  let total = 0;
  for (const p of paths) {
    if (p === "-") return undefined;
    try {
      total += statSync(p).size;
    } catch {
      return undefined;
    }
  }
  return total;
}

/** Replays every trace, in order, against the filter stack (oldest first). */
export async function replayTraces(programs: readonly Program[], traces: readonly string[], opts: ReplayTracesOptions): Promise<ReplayResult> {
  const total = opts.onProgress ? traceBytes(traces) : undefined;
  const sources: TraceSource[] = [];
  for (const t of traces) sources.push(await openTrace(t));
  return replaySources(programs, sources, { ...opts, onProgress: opts.onProgress ? (n) => opts.onProgress!(n, total) : undefined });
}

/**
 * replayTraces over opened sources (files, stdin, or bytes already in memory, as the playground
 * has them). Progress counts stored bytes over all sources.
 */
export async function replaySources(programs: readonly Program[], sources: readonly TraceSource[], opts: ReplayTracesOptions): Promise<ReplayResult> {
  const replayer = new Replayer(programs, opts);
  let before = 0;
  const summaries: TraceFileSummary[] = [];
  for (let i = 0; i < sources.length; i++) {
    const base = before;
    let read = 0;
    const s = await readSource(sources[i], sources[i].label, {
      fileIndex: i,
      arch: opts.arch,
      format: opts.format,
      sink: replayer,
      onProgress: (n) => {
        read = n;
        opts.onProgress?.(base + n, undefined);
      },
    });
    summaries.push(s);
    before += sources[i].size ?? read;
  }
  const syscalls = replayer.finish();
  return { method: replayer.decider.method, traces: summaries, totals: replayer.totals, installs: replayer.installs, syscalls };
}

/** A trace line for the text report: strace lines can be kilobytes (argv, buffers). */
function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

function plural(n: number, one: string, many = one + "s"): string {
  return `${n} ${n === 1 ? one : many}`;
}

function sentenceOf(o: { kind: string; actions: string[]; dependsOn: string[] }): string {
  if (o.kind === "denied" && o.dependsOn.length === 0) return o.actions[0];
  const alts = o.actions.join(" or ");
  return `${alts}, depending on ${o.dependsOn.join(" and ")}`;
}

/**
 * The text report: per-syscall counts, then every denied and depends outcome with the first
 * trace line that showed it, then the totals.
 */
export function formatReplayText(r: ReplayResult, filters: readonly string[], opts: { afterInstall?: boolean } = {}): string {
  const out: string[] = [];
  out.push(
    `replay: ${filters.join(" + ")} (${filters.length > 1 ? "a stack, oldest first; " : ""}decided by ${r.method === "symbolic" ? "the symbolic engine" : "probing the interpreter"})`,
  );
  for (const t of r.traces) {
    out.push(`  ${t.file}: ${t.format}${t.gzip ? " (gzip)" : ""}, ${plural(t.stats.lines, "line")}, ${plural(t.stats.events, "call")}`);
  }
  const arches = new Set(r.syscalls.map((s) => s.arch));
  const label = (s: SyscallReport) => (arches.size > 1 ? `${s.name} (${s.arch})` : s.name);
  if (r.syscalls.length) {
    const w = Math.max(7, ...r.syscalls.map((s) => label(s).length));
    const num = (n: number) => String(n).padStart(9);
    out.push("", `${"syscall".padEnd(w)}${"allowed".padStart(9)}${"denied".padStart(9)}${"depends".padStart(9)}`);
    for (const s of r.syscalls) out.push(`${label(s).padEnd(w)}${num(s.allowed)}${num(s.denied)}${num(s.depends)}`);
  }
  for (const kind of ["denied", "depends"] as const) {
    const rows = r.syscalls.flatMap((s) => s.outcomes.filter((o) => o.kind === kind).map((o) => ({ s, o })));
    if (rows.length === 0) continue;
    out.push("", `${kind}:`);
    for (const { s, o } of rows) {
      const where = o.first ? `, first at ${o.first.file}:${o.first.line}` : "";
      const approx = o.exact ? "" : " (probed, not proven)";
      out.push(`  ${label(s)}: ${sentenceOf(o)}${approx}, ${plural(o.count, "call")}${where}`);
      if (o.first) out.push(`      ${clip(o.first.text.trim(), 200)}`);
    }
  }
  const t = r.totals;
  out.push("");
  if (opts.afterInstall) {
    out.push(
      r.installs === 0
        ? `after-install: the traces show no successful seccomp filter install: none of ${plural(t.events, "call")} was evaluated`
        : `after-install: ${plural(r.installs, "install")} seen; ${plural(t.beforeInstall, "call")} before them not evaluated`,
    );
  }
  out.push(`total: ${plural(t.evaluated, "call")} evaluated: ${t.allowed} allowed, ${t.denied} denied, ${t.depends} depends`);
  return out.join("\n");
}

/** The --json report (one object). */
export function replayJson(r: ReplayResult, filters: readonly { file: string; thread?: string }[]): unknown {
  return {
    filters: filters.map((f) => ({ file: f.file, thread: f.thread ?? null })),
    method: r.method,
    traces: r.traces.map((t) => ({ file: t.file, format: t.format, gzip: t.gzip, lines: t.stats.lines, calls: t.stats.events })),
    totals: { ...r.totals, installs: r.installs },
    syscalls: r.syscalls.map((s) => ({
      arch: s.arch, name: s.name, nr: s.nr, allowed: s.allowed, denied: s.denied, depends: s.depends,
      outcomes: s.outcomes.map((o) => ({
        kind: o.kind, actions: o.actions, rets: o.rets.map((v) => "0x" + v.toString(16).padStart(8, "0")),
        dependsOn: o.dependsOn, exact: o.exact, count: o.count,
        first: o.first ? { file: o.first.file, line: o.first.line, text: o.first.text } : null,
      })),
    })),
  };
}
