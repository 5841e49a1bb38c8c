// In-process install of a filter, for Node programs that sandbox themselves:
// PR_SET_NO_NEW_PRIVS, then seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog).
// Launching a VMM under a filter uses the native launcher instead (launcher/): a Node child
// costs ~60 ms per launch where a C helper costs ~2 ms (docs/evidence.md section 4).
import type { Program } from "../engine/program.js";
import { requireAccepted } from "../engine/run.js";
import { SysfenceError, ExitCode } from "../errors.js";
import { loadLibc, ERRNO_NAMES } from "./libc.js";
import { MAX_INSNS_PER_PATH } from "../engine/contract.generated.js";

export const PR_SET_NO_NEW_PRIVS = 38;
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_GET_ACTION_AVAIL = 2;
export const SECCOMP_GET_NOTIF_SIZES = 3;

export const FilterFlag = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/** The program is longer than the kernel's 4096 instructions. */
export class FilterTooLargeError extends SysfenceError {
  constructor(readonly length: number) {
    super(`filter has ${length} instructions; the kernel accepts at most 4096`, { exitCode: ExitCode.FAIL });
  }
}

/** TSYNC could not move thread `tid` onto the new filter (its filter is not an ancestor). */
export class TsyncFailedError extends SysfenceError {
  constructor(readonly tid: number) {
    super(`TSYNC failed: thread ${tid} cannot be synchronised to the new filter`, { exitCode: ExitCode.FAIL });
  }
}

/** The kernel refused with an errno. */
export class KernelError extends SysfenceError {
  readonly errnoName: string;
  constructor(readonly errno: number, readonly operation: string) {
    const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${operation} failed: ${name}${hint(operation, errno)}`, { exitCode: ExitCode.FAIL });
    this.errnoName = name;
  }
}

function hint(op: string, errno: number): string {
  if (op.startsWith("seccomp") && errno === 13) return " (needs no_new_privs or CAP_SYS_ADMIN)";
  if (op.startsWith("seccomp") && errno === 22) return " (program, flags or mode refused)";
  if (op.startsWith("seccomp") && errno === 12) return ` (over the ${MAX_INSNS_PER_PATH}-instruction total of stacked filters, or out of memory)`;
  return "";
}

export interface InstallOptions {
  /** Install on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). Default true. */
  tsync?: boolean;
  /** Log non-ALLOW actions of this filter (SECCOMP_FILTER_FLAG_LOG). */
  log?: boolean;
  /** Do not force the speculative-store-bypass mitigation (SECCOMP_FILTER_FLAG_SPEC_ALLOW). */
  specAllow?: boolean;
  /** Skip the checker; only for tests that want the kernel's own refusal. */
  unchecked?: boolean;
}

/**
 * Installs `program` on the calling process (all threads with TSYNC). Irreversible. An empty
 * program is a no-op, so callers can pass "no filter" through the same path.
 */
export function installFilter(program: Program, opts: InstallOptions = {}): void {
  if (program.length === 0) return;
  if (program.length > 4096) throw new FilterTooLargeError(program.length);
  if (!opts.unchecked) requireAccepted(program);
  const c = loadLibc();
  if (c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw new KernelError(c.errno(), "prctl(PR_SET_NO_NEW_PRIVS)");
  let flags = 0;
  if (opts.tsync ?? true) flags |= FilterFlag.TSYNC;
  if (opts.log) flags |= FilterFlag.LOG;
  if (opts.specAllow) flags |= FilterFlag.SPEC_ALLOW;
  const rc = c.seccompProg(SECCOMP_SET_MODE_FILTER, flags, program.length, Buffer.from(program.bytes));
  if (rc === 0) return;
  if (rc > 0 && (flags & FilterFlag.TSYNC) !== 0) throw new TsyncFailedError(rc);
  throw new KernelError(c.errno(), "seccomp(SECCOMP_SET_MODE_FILTER)");
}
