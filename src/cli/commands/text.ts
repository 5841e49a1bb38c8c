// `sysfence disasm FILTER` and `sysfence asm TEXT -o OUT`: the text form of programs
// (docs/asm.md). disasm -> asm gives back the same bytes.
import { readBoundedText, SIZE_LIMITS } from "../../read.js";
import { writeOutput } from "../output.js";
import type { Command } from "commander";
import { disassemble } from "../../text/disasm.js";
import { assemble } from "../../text/asm.js";
import { check } from "../../engine/check.js";
import { writeRaw } from "../../formats/raw.js";
import { writeCHeader } from "../../formats/cheader.js";
import { writeJsonArray } from "../../formats/jsonarray.js";
import { InputError, ExitCode } from "../../errors.js";
import { loadFilterArgs, archOption, out, err, filterLabel, type FilterArgOptions } from "../common.js";

export function textCommands(program: Command): void {
  program
    .command("disasm")
    .description("disassemble programs into sysfence assembly with symbolic names")
    .argument("<filter...>", "filter files (T@FILE picks a thread)")
    .option("--arch <arch>", "ABI for syscall names (default: the filter's first arch check)")
    .option("--thread <name>", "thread of a map or policy (default: every thread)")
    .option("--endian <le|be>", "byte order of raw files")
    .action((specs: string[], o: FilterArgOptions) => {
      const arch = archOption(o.arch);
      const filters = loadFilterArgs(specs, o);
      const parts = filters.map((f) => {
        const head = filters.length > 1 ? `; ---- ${filterLabel(f)}\n` : "";
        return head + disassemble(f.program, { arch, endian: arch ? undefined : f.endian });
      });
      out(parts.join("\n").replace(/\n$/, ""));
    });

  program
    .command("asm")
    .description("assemble sysfence assembly text into a program")
    .argument("<text>", "assembly file ('-' for stdin)")
    .requiredOption("-o, --output <file>", "output file")
    .option("--arch <arch>", "ABI for syscall names when the text has no .arch line")
    .option("--format <raw|c|json>", "output container", "raw")
    .option("--endian <le|be>", "byte order of raw output (default: the arch's)")
    .option("--force", "write the program even if the kernel would reject it")
    .action((file: string, o: { output: string; arch?: string; format: string; endian?: string; force?: boolean }) => {
      const text = readBoundedText(file, SIZE_LIMITS.asm, "an assembly file");
      const arch = archOption(o.arch);
      const prog = assemble(text, { arch, file: file === "-" ? "<stdin>" : file });
      const errors = check(prog);
      if (errors.length && !o.force) {
        for (const e of errors) err(`sysfence: ${file}: ${e.index >= 0 ? `insn ${e.index}: ` : ""}${e.reason}`);
        err("sysfence: not written: the kernel would reject this program (use --force to write it anyway)");
        process.exitCode = ExitCode.FAIL;
        return;
      }
      const endian = o.endian === "be" ? "be" : o.endian === "le" ? "le" : arch?.endian ?? "le";
      let bytes: Uint8Array | string;
      switch (o.format) {
        case "raw": bytes = writeRaw(prog, endian); break;
        case "c": bytes = writeCHeader([{ name: o.output.replace(/^.*\//, "").replace(/\..*$/, ""), program: prog }]); break;
        case "json": bytes = writeJsonArray(prog); break;
        default: throw new InputError(`--format takes raw, c or json, not "${o.format}"`);
      }
      writeOutput(o.output, bytes);
      err(`sysfence: wrote ${prog.length} instructions to ${o.output}${errors.length ? " (rejected by the kernel's rules)" : ""}`);
    });
}
