// Typed errors and the documented exit codes. Every error that reaches the CLI is printed as
// one line (`sysfence: <where>: <message>`) with its exit code; never a stack trace.

/** Exit codes of the CLI (documented in README.md). */
export const ExitCode = {
  OK: 0,
  /** The answer is "no": a program rejected, a relation that does not hold, findings. */
  FAIL: 1,
  /** Bad input: unreadable, malformed, unknown names, oversize. */
  BAD_INPUT: 2,
  /** The analysis could not decide within its limits. */
  INCONCLUSIVE: 3,
  /** The environment lacks something (no kernel support, no compiler, not permitted). */
  ENVIRONMENT: 4,
  /** A bug in sysfence: an invariant failed or the engine failed (trap, abort, stack, memory). */
  INTERNAL: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message, where it happened, and the exit code it maps to. */
export class SysfenceError extends Error {
  readonly exitCode: ExitCode;
  /** File, offset, line or instruction the error points at (already formatted). */
  readonly where?: string;
  constructor(message: string, opts: { where?: string; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.where = opts.where;
    this.exitCode = opts.exitCode ?? ExitCode.BAD_INPUT;
  }
  /**
   * The one-line form the CLI prints. One line whatever the text holds: a line break or other
   * control character in the message (a parser quoting the character it stopped at, a file
   * name) is shown as U+XXXX (fuzz finding jsonarray seed 20261207 #55408).
   */
  oneLine(): string {
    return escapeControls(this.where ? `${this.where}: ${this.message}` : this.message);
  }
}

/** Control characters and line separators as U+XXXX: text that stays on one line. */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`);
}

/** Malformed or unreadable input: a file, a field, a line. Exit 2. */
export class InputError extends SysfenceError {
  constructor(message: string, where?: string) {
    super(message, { where, exitCode: ExitCode.BAD_INPUT });
  }
}

/** A syscall name or number that the arch's table does not have. Exit 2. */
export class UnknownSyscallError extends InputError {
  constructor(readonly syscall: string, readonly arch: string, where?: string) {
    super(`unknown syscall "${syscall}" for arch ${arch}`, where);
  }
}

/** An unknown architecture name or AUDIT_ARCH token. Exit 2. */
export class UnknownArchError extends InputError {
  constructor(readonly arch: string, where?: string) {
    super(`unknown arch "${arch}"`, where);
  }
}

/** The program is not one the kernel accepts, and the operation needs one that is. Exit 1. */
export class RejectedProgramError extends SysfenceError {
  constructor(message: string, where?: string) {
    super(message, { where, exitCode: ExitCode.FAIL });
  }
}

/** Something the machine lacks (kernel feature, permission, compiler). Exit 4. */
export class EnvironmentError extends SysfenceError {
  constructor(message: string, where?: string) {
    super(message, { where, exitCode: ExitCode.ENVIRONMENT });
  }
}

/** An internal invariant failed; a bug in sysfence, reported without a stack unless asked. Exit 5. */
export class InternalError extends SysfenceError {
  constructor(message: string) {
    super(`internal error: ${message}`, { exitCode: ExitCode.INTERNAL });
  }
}

/**
 * An analysis could not decide within its stated limits (BDD nodes, states, ...). Returned as a
 * value where a function's result type says so (`Verdict | Inconclusive`), and thrown where it
 * escapes a computation; either way it is a typed error with exit code 3, never "yes" or "no".
 */
export class Inconclusive extends SysfenceError {
  readonly kind = "inconclusive";
  constructor(readonly reason: string) {
    super(`inconclusive: ${reason}`, { exitCode: ExitCode.INCONCLUSIVE });
  }
}
