// `sysfence dump PID[/TID]` and `sysfence ps`: the seccomp filters of running processes
// (src/live). Refusals (permissions, sysfence under seccomp, strict mode, a process that is
// gone) exit 4 with the reason.
import type { Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readLiveFilters, parsePidSpec, listProcesses, type LiveProcess, type LiveStack } from "../../live/index.js";
import { disassemble } from "../../text/disasm.js";
import { writeRaw } from "../../formats/raw.js";
import { writeBincode } from "../../formats/bincode.js";
import { writeCHeader } from "../../formats/cheader.js";
import { writeJsonArray } from "../../formats/jsonarray.js";
import { InputError, ExitCode } from "../../errors.js";
import { out } from "../common.js";

const FORMATS = ["summary", "raw", "bincode", "c", "json", "disasm"] as const;
type DumpFormat = (typeof FORMATS)[number];

/** The first line: process, threads read, distinct stacks, sharing. */
function header(p: LiveProcess): string {
  const shared = p.sharedByGroup === undefined ? "other threads not read"
    : p.sharedByGroup ? "shared by the thread group" : "not shared by the thread group";
  const n = p.stacks.length;
  return `process ${p.pid} (${p.name}): ${p.tids.length} thread${p.tids.length === 1 ? "" : "s"} read, ` +
    `${n} distinct stack${n === 1 ? "" : "s"} (${shared})`;
}

function stackLines(s: LiveStack): string[] {
  const lines = [`stack ${s.hash}: thread${s.tids.length === 1 ? "" : "s"} ${s.tids.join(" ")}: ${s.filters.length} filter${s.filters.length === 1 ? "" : "s"}, oldest first`];
  s.filters.forEach((f, i) => {
    const age = s.filters.length === 1 ? "" : i === 0 ? " (oldest)" : i === s.filters.length - 1 ? " (newest)" : "";
    lines.push(`  filter ${f.index}${age}: ${f.program.length} instructions, flags ${f.flags.join(",") || "none"}, sha256 ${f.sha256.slice(0, 16)}`);
  });
  if (s.filters.length === 0) lines.push("  (no seccomp filter)");
  return lines;
}

/** The files `-o DIR` gets: per stack (named by its first thread), per filter where the format holds one. */
function files(p: LiveProcess, format: DumpFormat): [string, Uint8Array | string][] {
  const outFiles: [string, Uint8Array | string][] = [];
  for (const s of p.stacks) {
    const t = s.tids[0];
    if (s.filters.length === 0) continue;
    if (format === "bincode") outFiles.push([`${t}.bincode`, writeBincode(s.filters.map((f) => [`filter${f.index}`, f.program] as const))]);
    else if (format === "c") outFiles.push([`${t}.h`, writeCHeader(s.filters.map((f) => ({ name: `thread${t}_filter${f.index}`, program: f.program })))]);
    else {
      for (const f of s.filters) {
        if (format === "json") outFiles.push([`${t}.${f.index}.json`, writeJsonArray(f.program)]);
        else if (format === "disasm") outFiles.push([`${t}.${f.index}.txt`, disassemble(f.program)]);
        else outFiles.push([`${t}.${f.index}.bpf`, writeRaw(f.program, "le")]);
      }
    }
  }
  return outFiles;
}

/** The machine-readable form: every stack, every filter with its instructions. */
export function liveJson(p: LiveProcess): string {
  const stacks = p.stacks.map((s) =>
    `{"hash":"${s.hash}","tids":${JSON.stringify(s.tids)},"filters":[` +
    s.filters.map((f) =>
      `{"index":${f.index},"flags":${JSON.stringify(f.flags)},"length":${f.program.length},"sha256":"${f.sha256}",` +
      `"instructions":${writeJsonArray(f.program).trim()}}`).join(",") + "]}");
  return `{"pid":${p.pid},"name":${JSON.stringify(p.name)},"tids":${JSON.stringify(p.tids)},` +
    `"sharedByGroup":${p.sharedByGroup ?? null},"stacks":[${stacks.join(",")}]}`;
}

export function liveCommands(program: Command): void {
  program
    .command("dump")
    .description("read back the seccomp filters of a running process (every thread, oldest filter first; needs root)")
    .argument("<pid>", "PID (all threads) or PID/TID (one thread)")
    .option("-o, --output <dir>", "write the filters as files into DIR")
    .option("--format <format>", `${FORMATS.join("|")} (default: summary on stdout, raw with -o)`)
    .action((spec: string, o: { output?: string; format?: string }) => {
      const format = (o.format ?? (o.output ? "raw" : "summary")) as DumpFormat;
      if (!FORMATS.includes(format)) throw new InputError(`--format takes ${FORMATS.join(", ")}, not "${o.format}"`);
      if ((format === "raw" || format === "bincode") && !o.output) throw new InputError(`--format ${format} writes binary files: give -o DIR`);
      const { pid, tid } = parsePidSpec(spec);
      const p = readLiveFilters(pid, { tid });
      if (format === "json" && !o.output) {
        out(liveJson(p));
        return;
      }
      const lines = [header(p)];
      if (o.output) {
        mkdirSync(o.output, { recursive: true });
        for (const s of p.stacks) lines.push(...stackLines(s));
        for (const [name, data] of files(p, format === "summary" ? "raw" : format)) {
          writeFileSync(join(o.output, name), data);
          lines.push(`wrote ${join(o.output, name)}`);
        }
      } else {
        for (const s of p.stacks) {
          lines.push(...stackLines(s));
          if (format === "c" && s.filters.length) lines.push(files({ ...p, stacks: [s] }, "c")[0][1] as string);
          if (format === "disasm") for (const f of s.filters) lines.push(`; ---- filter ${f.index}`, disassemble(f.program).replace(/\n$/, ""));
        }
      }
      out(lines.join("\n"));
      process.exitCode = ExitCode.OK;
    });

  program
    .command("ps")
    .description("processes under seccomp: mode, filters, no_new_privs, a content hash of each stack, name, cgroup")
    .option("--pid <pid>", "only this process")
    .option("--all", "also processes without seccomp")
    .option("--no-hash", "do not read the stacks (reads /proc only; nothing is stopped)")
    .option("--json", "one JSON object")
    .action((o: { pid?: string; all?: boolean; hash?: boolean; json?: boolean }) => {
      const pid = o.pid === undefined ? undefined : parsePidSpec(o.pid, "--pid").pid;
      const rows = listProcesses({ pid, all: o.all, hash: o.hash });
      if (pid !== undefined && rows.length === 0) throw new InputError(`no process ${pid}`, "--pid");
      if (o.json) {
        out(JSON.stringify({ processes: rows }));
        return;
      }
      const hashes = new Set(rows.map((r) => r.hash).filter((h) => h !== null));
      out("PID      MODE      FILTERS  NNP  STACK             NAME             CGROUP");
      for (const r of rows) {
        out(`${String(r.pid).padEnd(8)} ${r.mode.padEnd(9)} ${String(r.filters).padEnd(8)} ${(r.noNewPrivs ? "yes" : "no").padEnd(4)} ` +
          `${(r.hash ?? (r.mode === "filter" ? "?" : "-")).padEnd(17)} ${r.name.padEnd(16)} ${r.cgroup}`);
      }
      const errs = [...new Set(rows.map((r) => r.hashError).filter((e) => e !== undefined))];
      out(`${rows.length} process${rows.length === 1 ? "" : "es"}, ${hashes.size} distinct stack${hashes.size === 1 ? "" : "s"}` +
        (errs.length ? `; stacks not read (?): ${errs.slice(0, 2).join("; ")}` : ""));
    });
}
