// Where the native launcher is: $SYSFENCE_LAUNCHER, else launcher/build/sysfence-launcher in
// the package (built by `node launcher/build.mjs`, which `npm install` runs).
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../paths.js";
import { EnvironmentError } from "../errors.js";

export function launcherPath(): string {
  return process.env.SYSFENCE_LAUNCHER || join(packageRoot(), "launcher", "build", "sysfence-launcher");
}

/** The launcher's path, or an EnvironmentError saying how to build it. */
export function requireLauncher(path = launcherPath()): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new EnvironmentError(
      `the native launcher is not built (${path}): run \`node launcher/build.mjs\` in the sysfence package (needs a C compiler)`,
    );
  }
  return path;
}
