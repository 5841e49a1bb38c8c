// `sysfence check FILTER... [--json]`: would the kernel accept each program?
// Exit 0 when every program is accepted, 1 when any is rejected, 2 on bad input.
import type { Command } from "commander";
import { check } from "../../engine/check.js";
import { ExitCode } from "../../errors.js";
import { cacheReport } from "../../engine/cache-report.js";
import { syscallName } from "../../syscalls/index.js";
import { loadFilterArgs, out, filterLabel, archOption, type FilterArgOptions } from "../common.js";

interface CheckOpts extends FilterArgOptions {
  json?: boolean;
  cache?: boolean;
}

export function checkCommand(program: Command): void {
  program
    .command("check")
    .description("check that the kernel would accept each program (exact kernel rules)")
    .argument("<filter...>", "raw .bpf, bincode map, C header, JSON array or policy JSON; T@FILE picks a thread")
    .option("--thread <name>", "thread of a map or policy (default: every thread)")
    .option("--arch <arch>", "arch of raw files (sets the byte order) and of policy JSON")
    .option("--endian <le|be>", "byte order of raw files")
    .option("--cache", "also report which syscalls the kernel's action cache proves always allowed")
    .option("--json", "one JSON object per program")
    .action((specs: string[], o: CheckOpts) => {
      const filters = loadFilterArgs(specs, o);
      let rejected = 0;
      const arch = archOption(o.arch);
      for (const f of filters) {
        const errors = check(f.program);
        if (errors.length) rejected++;
        const cache = o.cache && errors.length === 0 ? cacheReport(f.program, arch) : undefined;
        if (o.json) {
          out(JSON.stringify({
            file: f.file, thread: f.thread ?? null, ok: errors.length === 0,
            instructions: f.program.length,
            errors: errors.map((e) => ({ index: e.index, kind: e.kind, reason: e.reason })),
            ...(cache ? { cache } : {}),
          }));
          continue;
        }
        if (errors.length === 0) {
          out(`${filterLabel(f)}: ok (${f.program.length} instructions)`);
        } else {
          out(`${filterLabel(f)}: rejected (${errors.length} error${errors.length > 1 ? "s" : ""})`);
          for (const e of errors) out(`  ${e.index >= 0 ? `insn ${e.index}` : "program"}: ${e.reason}`);
        }
        for (const c of cache ?? []) {
          if (c.note) {
            out(`  cache ${c.arch}: ${c.note}`);
            continue;
          }
          const names = c.cached.map((nr) => syscallName(c.arch, nr) ?? String(nr));
          out(`  cache ${c.arch}: ${c.cached.length} of ${c.total} syscall numbers always allowed without running the filter${names.length ? `: ${names.join(" ")}` : ""}`);
        }
      }
      process.exitCode = rejected ? ExitCode.FAIL : ExitCode.OK;
    });
}
