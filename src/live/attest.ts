// Attesting a launch: after the exec, the running program's stack is read back and compared
// byte for byte, in order, with the filters the launcher was given (and verified). Filters
// older than those (inherited from whoever started sysfence) may sit below them; anything else
// is a mismatch.
import { createHash } from "node:crypto";
import type { Program } from "../engine/program.js";
import { SysfenceError, ExitCode } from "../errors.js";
import { readThread } from "./read.js";

/** The running stack is not the verified one. Exit 1. */
export class AttestMismatchError extends SysfenceError {
  constructor(message: string) {
    super(`attest: ${message}`, { exitCode: ExitCode.FAIL });
  }
}

const short = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 16);

/**
 * Proves that thread `pid`'s newest filters are `expected` (oldest first), byte-identical and in
 * that order. Returns the number of filters below them. Throws AttestMismatchError saying where
 * the stacks part, or the EnvironmentError of the read (not root, …).
 */
export function attestStack(pid: number, expected: readonly Program[]): number {
  const got = readThread(pid, pid);
  if (got.length < expected.length) {
    throw new AttestMismatchError(`process ${pid} runs ${got.length} filter(s); ${expected.length} were verified`);
  }
  const below = got.length - expected.length;
  expected.forEach((p, i) => {
    const g = got[below + i].program;
    if (!g.equals(p)) {
      throw new AttestMismatchError(
        `filter ${i + 1} of ${expected.length} of process ${pid} is not the verified one ` +
          `(running: ${g.length} instructions, sha256 ${short(g.bytes)}; verified: ${p.length} instructions, sha256 ${short(p.bytes)})`,
      );
    }
  });
  return below;
}

/** attestStack; on any failure `kill()` first (the program must not run unattested), then throw. */
export function attestOrKill(pid: number, expected: readonly Program[], kill: () => void): number {
  try {
    return attestStack(pid, expected);
  } catch (e) {
    kill();
    throw e;
  }
}
