// `sysfence run FILTER... --arch A --syscall NAME|NR [--args …] [--ip V]` or `--inputs FILE.jsonl`:
// evaluate inputs with the kernel's semantics. Several FILTERs form a stack (first = oldest).
import { readBoundedText, SIZE_LIMITS } from "../../read.js";
import type { Command } from "commander";
import { evaluateBatch, evaluateStack } from "../../engine/run.js";
import { probeBypassOption } from "../../verify/bypass.js";
import { InputBatch } from "../../engine/data.js";
import { decodeRet, formatResult } from "../../engine/actions.js";
import { inferArch } from "../../text/disasm.js";
import { hostArch } from "../../syscalls/arches.js";
import { resolveSyscall } from "../../syscalls/index.js";
import { parseJsonl, toBigInt, type SyscallRecord } from "../../traces/jsonl.js";
import { InputError } from "../../errors.js";
import { loadStackArgs, archOption, out, type FilterArgOptions } from "../common.js";

interface RunOpts extends FilterArgOptions {
  syscall?: string;
  args?: string;
  ip?: string;
  inputs?: string;
  json?: boolean;
  probeBypass?: string;
}

export function runCommand(program: Command): void {
  program
    .command("run")
    .description("evaluate syscalls against a filter (or a stack: first FILTER = oldest)")
    .argument("<filter...>", "filter files; several form a stack")
    .option("--arch <arch>", "ABI of the syscall (default: the filter's arch check, else the host)")
    .option("--syscall <name|nr>", "syscall name or number")
    .option("--args <v0,…,v5>", "up to six arguments (decimal or 0x hex, 64-bit exact)")
    .option("--ip <value>", "instruction pointer")
    .option("--inputs <file.jsonl>", "one input per line: {\"arch\",\"nr\"|\"syscall\",\"args\",\"ip\"}")
    .option("--thread <name>", "thread of a map or policy, for every FILTER (needed when one holds several; T@FILE picks per file)")
    .option("--endian <le|be>", "byte order of raw files")
    .option("--probe-bypass <mode>", "model the x86_64 uretprobe/uprobe exception: none|uretprobe|uretprobe+uprobe", "none")
    .option("--json", "print {\"action\",\"data\",\"ret\"} per input")
    .action((specs: string[], o: RunOpts) => {
      const filters = loadStackArgs(specs, { thread: o.thread, arch: o.arch, endian: o.endian });
      const arch = archOption(o.arch) ?? inferArch(filters[filters.length - 1].program) ?? hostArch();
      let records: SyscallRecord[];
      if (o.inputs !== undefined) {
        if (o.syscall !== undefined) throw new InputError("give --syscall or --inputs, not both");
        const text = readBoundedText(o.inputs, SIZE_LIMITS.inputs, "an inputs file");
        records = parseJsonl(text, o.inputs, arch);
      } else {
        if (o.syscall === undefined) throw new InputError("give --syscall NAME|NR or --inputs FILE.jsonl");
        const nr = resolveSyscall(arch, o.syscall, "--syscall");
        const args = (o.args ?? "").split(",").filter((s) => s.trim() !== "").map((s, i) => {
          const v = toBigInt(s, `--args value ${i}`, "--args");
          if (v > (1n << 64n) - 1n || v < -(1n << 63n)) throw new InputError(`value ${i} does not fit in 64 bits`, "--args");
          return BigInt.asUintN(64, v);
        });
        if (args.length > 6) throw new InputError(`${args.length} arguments; a syscall has at most 6`, "--args");
        const ip = o.ip === undefined ? 0n : BigInt.asUintN(64, toBigInt(o.ip, "--ip", "--ip"));
        records = [{ line: 0, arch, data: { nr: nr | 0, arch: arch.token, instructionPointer: ip, args } }];
      }
      const batch = new InputBatch(records.length);
      records.forEach((r, i) => batch.set(i, r.data, r.arch.endian));
      const opts = { probeBypass: probeBypassOption(o.probeBypass) };
      const rets = filters.length === 1
        ? evaluateBatch(filters[0].program, batch, opts).rets
        : evaluateStack(filters.map((f) => f.program), batch, opts);
      const lines: string[] = [];
      for (const ret of rets) {
        const v = decodeRet(ret);
        if (o.json) {
          lines.push(JSON.stringify({
            action: v.action, data: v.data, ret: "0x" + (v.ret >>> 0).toString(16).padStart(8, "0"),
            ...(v.unknown ? { unknown: true } : {}),
          }));
        } else {
          lines.push(formatResult(v));
        }
      }
      out(lines.join("\n"));
    });
}
