// Every CLI command group, in the order `sysfence --help` lists them, with the command names it
// registers. A new command is a module under src/cli/commands/ exporting
// `(program: Command) => void`, added here.
//
// Groups are imported on demand: a run of `sysfence verify …` loads only the verify group (and
// what it imports), so Node parses a fraction of the bundle (esbuild puts each group in its own
// chunk). Help, version, `help CMD` and unknown words load every group, so commander's listing
// and suggestions are the same as with all groups loaded.
import type { Command } from "commander";

export type AddCommands = (program: Command) => void;

interface CommandGroup {
  /** The command names the group registers (what argv's first word is matched against). */
  names: readonly string[];
  load: () => Promise<AddCommands>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { names: ["compile"], load: async () => (await import("./commands/compile.js")).compileCommand },
  { names: ["check"], load: async () => (await import("./commands/check.js")).checkCommand },
  { names: ["run"], load: async () => (await import("./commands/run.js")).runCommand },
  { names: ["verify"], load: async () => (await import("./commands/verify.js")).verifyCommand },
  { names: ["explain"], load: async () => (await import("./commands/explain.js")).explainCommand },
  { names: ["replay"], load: async () => (await import("./commands/replay.js")).replayCommand },
  { names: ["learn"], load: async () => (await import("./commands/learn.js")).learnCommand },
  { names: ["graph"], load: async () => (await import("./commands/graph.js")).graphCommand },
  { names: ["disasm", "asm"], load: async () => (await import("./commands/text.js")).textCommands },
  { names: ["launch"], load: async () => (await import("./commands/launch.js")).launchCommand },
  { names: ["dump", "ps"], load: async () => (await import("./commands/live.js")).liveCommands },
  { names: ["doctor"], load: async () => (await import("./commands/doctor.js")).doctorCommand },
  { names: ["demo"], load: async () => (await import("./commands/demo.js")).demoCommand },
];

/**
 * The command groups a run with these arguments (process.argv: node, script, …) needs: the
 * group of the first word when it names a command, else all of them, in listing order.
 */
export async function commandsFor(argv: readonly string[]): Promise<AddCommands[]> {
  const word = argv.slice(2).find((a) => !a.startsWith("-"));
  const one = COMMAND_GROUPS.find((g) => word !== undefined && g.names.includes(word));
  return Promise.all((one ? [one] : COMMAND_GROUPS).map((g) => g.load()));
}
