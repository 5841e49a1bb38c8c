// `sysfence compile POLICY [--arch A] [--thread T] [--format raw|bincode|c|json|disasm] -o OUT`.
import { readBoundedText, SIZE_LIMITS } from "../../read.js";
import { join } from "node:path";
import type { Command } from "commander";
import { compilePolicyText, formatPolicyWarning } from "../../policy/index.js";
import { writeRaw } from "../../formats/raw.js";
import { writeBincode } from "../../formats/bincode.js";
import { writeCHeader } from "../../formats/cheader.js";
import { writeJsonArray } from "../../formats/jsonarray.js";
import { disassemble } from "../../text/disasm.js";
import { hostArch } from "../../syscalls/arches.js";
import { InputError } from "../../errors.js";
import { archOption, err, out } from "../common.js";
import { outputDirectory, outputKind, writeOutput } from "../output.js";

interface CompileOpts {
  arch?: string;
  thread?: string;
  format: string;
  output?: string;
  verbose?: boolean;
}

export function compileCommand(program: Command): void {
  program
    .command("compile")
    .description("compile a policy (seccompiler JSON, OCI/Docker profile, minijail, Kubernetes SeccompProfile, LXC) into BPF")
    .argument("<policy>", "policy file (any of those dialects)")
    .option("--arch <arch>", "target ABI (default: this machine's)")
    .option("--thread <name>", "only this thread of the policy (default: every thread)")
    .option("--format <fmt>", "raw | bincode | c | json | disasm", "raw")
    .option("-o, --output <path>", "output file, device or FIFO (raw: a directory gets one THREAD.bpf per thread)")
    .option("--verbose", "print the details behind summarised warnings (e.g. the names behind a count)")
    .action((file: string, o: CompileOpts) => {
      const text = readBoundedText(file, SIZE_LIMITS.policy, "a policy file");
      // --caps, --kernel and the minijail options are the policy compiler's defaults (src/cli/policy-options.ts).
      const r = compilePolicyText(text, file, { arch: archOption(o.arch), thread: o.thread });
      // A minijail policy may take its arch from its constants.json.
      const arch = archOption(o.arch) ?? r.programs[0]?.ir.arches[0]?.arch ?? hostArch();
      for (const w of r.warnings) err(`sysfence: warning: ${formatPolicyWarning(w)}${o.verbose && w.detail !== undefined ? `: ${w.detail}` : ""}`);
      const progs = r.programs;
      if (progs.length === 0) throw new InputError("the policy holds no filter", file);
      const write = writeOutput;
      const dest = o.output;
      let text2: string | Uint8Array;
      switch (o.format) {
        case "raw": {
          if (!dest) throw new InputError("raw output needs -o OUT");
          // A directory (or several threads) holds one THREAD.bpf per thread; a device or FIFO
          // takes the programs one after another (-o /dev/null checks that a policy compiles).
          const kind = outputKind(dest);
          if (kind === "directory" || (progs.length > 1 && kind === "missing")) {
            outputDirectory(dest);
            for (const p of progs) write(join(dest, `${p.name}.bpf`), writeRaw(p.program, arch.endian));
          } else if (progs.length === 1 || kind === "stream") {
            for (const p of progs) write(dest, writeRaw(p.program, arch.endian));
          } else {
            throw new InputError(`the policy holds ${progs.length} threads (${progs.map((p) => p.name).join(", ")}): give a directory for one THREAD.bpf each, --thread T, or --format bincode`, dest);
          }
          break;
        }
        case "bincode":
          text2 = writeBincode(new Map(progs.map((p) => [p.name, p.program])));
          if (!dest) throw new InputError("bincode output needs -o OUT");
          write(dest, text2);
          break;
        case "c":
          text2 = writeCHeader(progs.map((p) => ({ name: p.name, program: p.program })));
          dest ? write(dest, text2) : out(text2);
          break;
        case "json":
          text2 = progs.length === 1
            ? writeJsonArray(progs[0].program)
            : "{\n" + progs.map((p) => `${JSON.stringify(p.name)}: ${writeJsonArray(p.program).trim()}`).join(",\n") + "\n}\n";
          dest ? write(dest, text2) : out(text2);
          break;
        case "disasm":
          text2 = progs.map((p) => (progs.length > 1 ? `; ---- ${p.name}\n` : "") + disassemble(p.program, { arch })).join("\n");
          dest ? write(dest, text2) : out(text2);
          break;
        default:
          throw new InputError(`--format takes raw, bincode, c, json or disasm, not "${o.format}"`);
      }
      for (const p of progs) err(`sysfence: ${p.name}: ${p.program.length} instructions (${arch.name})`);
    });
}
