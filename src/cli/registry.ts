// Every CLI command group, in the order `sysfence --help` lists them. A new command is a module
// under src/cli/commands/ exporting `(program: Command) => void`, added here.
import type { Command } from "commander";
import { compileCommand } from "./commands/compile.js";
import { checkCommand } from "./commands/check.js";
import { runCommand } from "./commands/run.js";
import { textCommands } from "./commands/text.js";
import { doctorCommand } from "./commands/doctor.js";
import { demoCommand } from "./commands/demo.js";
import { launchCommand } from "./commands/launch.js";
import { verifyCommand } from "./commands/verify.js";
import { explainCommand } from "./commands/explain.js";
import { replayCommand } from "./commands/replay.js";
import { learnCommand } from "./commands/learn.js";
import { graphCommand } from "./commands/graph.js";
import { liveCommands } from "./commands/live.js";

export const COMMANDS: ((program: Command) => void)[] = [
  compileCommand,
  checkCommand,
  runCommand,
  verifyCommand,
  explainCommand,
  replayCommand,
  learnCommand,
  graphCommand,
  textCommands,
  launchCommand,
  liveCommands,
  doctorCommand,
  demoCommand,
];
