// Globals the shared sources expect from Node: Buffer (the trace parsers work on Buffer chunks)
// from the `buffer` package, and a minimal `process` (environment reads find nothing).
import { Buffer } from "buffer";

const processShim = {
  env: {} as Record<string, string | undefined>,
  platform: "browser",
  arch: "wasm",
  exitCode: undefined as number | undefined,
  cwd: () => "/",
  getuid: () => -1,
  emitWarning: () => {},
  versions: {} as Record<string, string>,
};

export { Buffer, processShim as process };
