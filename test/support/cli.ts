// Runs the built `sysfence` command as a user would, in a working directory, and returns its
// exit code and output.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./corpus.js";

export const bin = join(repoRoot, "bin/sysfence.js");

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export function runCli(cwd: string, args: string[]): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd, timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
