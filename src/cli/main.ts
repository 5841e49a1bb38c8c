// The `sysfence` command line. Each command lives in src/cli/commands/. Errors are printed as
// one line with a documented exit code (README: Exit codes); a stack trace only with
// SYSFENCE_DEBUG=1.
import { Command, CommanderError } from "commander";
import { SysfenceError, ExitCode } from "../errors.js";
import { COMMANDS } from "./registry.js";
import { err } from "./common.js";
import { addPolicyOptions } from "./policy-options.js";

const VERSION = "0.1.0";

function report(e: unknown): number {
  if (e instanceof SysfenceError) {
    err(`sysfence: ${e.oneLine()}`);
    return e.exitCode;
  }
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : ExitCode.BAD_INPUT;
  const msg = e instanceof Error ? e.message : String(e);
  err(`sysfence: internal error: ${msg} (set SYSFENCE_DEBUG=1 for details)`);
  if (process.env.SYSFENCE_DEBUG) err(e instanceof Error ? e.stack ?? "" : "");
  return ExitCode.ENVIRONMENT;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name("sysfence")
    .description("seccomp filters done properly: compile, check, run, disassemble, assemble")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => err(s.trimEnd()) });
  for (const add of COMMANDS) add(program);
  addPolicyOptions(program);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    return report(e);
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
