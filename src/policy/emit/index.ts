// The policy emitter layer: a PolicyIR written as text in one of the dialects sysfence also
// reads (seccompiler JSON, OCI / Docker profiles, minijail policies). `explain` (a decompiled
// filter) and `learn` (a learned policy) both go through it, so a given IR has one spelling per
// dialect. Each dialect's emitter says when the IR does not fit (a reason, never a partial
// text); what it writes compiles back, with sysfence's own frontend, to the IR's meaning
// (test/policy-emit.test.ts proves that with the verifier).
//
// A dialect also fixes what its reader gives calls of an unknown arch and x32 calls
// (`dialectFrame`): an IR built to be written in a dialect (learn) takes those from it, and an
// IR whose answers differ (explain of an arbitrary filter) does not fit.
import { Action } from "../../engine/actions.js";
import type { ArchInfo } from "../../syscalls/arches.js";
import type { PolicyIR } from "../ir.js";
import { SECCOMPILER_MISMATCH_ACTION } from "../seccompiler.js";
import { OCI_MISMATCH_ACTION } from "../oci.js";
import type { MinijailSemantics } from "../minijail/index.js";
import { toSeccompiler } from "./seccompiler.js";
import { toOci } from "./oci.js";
import { toMinijail } from "./minijail.js";
import type { EmitResult } from "./fit.js";

export { toSeccompiler } from "./seccompiler.js";
export { toOci } from "./oci.js";
export { toMinijail } from "./minijail.js";
export { stringifyBig, type EmitResult } from "./fit.js";

export type PolicyDialect = "seccompiler" | "oci" | "minijail";
export const POLICY_DIALECTS: readonly PolicyDialect[] = ["seccompiler", "oci", "minijail"];

/** What a dialect's reader gives calls of an unknown arch token, and x32 calls of an x86_64 policy. */
export interface DialectFrame {
  mismatchAction: number;
  x32Action?: number;
}

/**
 * The frame of `dialect` for a one-ABI policy on `arch` with `defaultAction`: seccompiler kills
 * the process (src/policy/seccompiler.ts), OCI runtimes kill the thread (libseccomp's bad-arch
 * action and x32 guard), minijail kills the thread on a wrong arch and gives x32 calls the
 * default (its C reading, src/policy/minijail/index.ts).
 */
export function dialectFrame(dialect: PolicyDialect, arch: ArchInfo, defaultAction: number): DialectFrame {
  const x86_64 = arch.name === "x86_64";
  switch (dialect) {
    case "seccompiler":
      return { mismatchAction: SECCOMPILER_MISMATCH_ACTION >>> 0, ...(x86_64 ? { x32Action: SECCOMPILER_MISMATCH_ACTION >>> 0 } : {}) };
    case "oci":
      return { mismatchAction: OCI_MISMATCH_ACTION >>> 0, ...(x86_64 ? { x32Action: OCI_MISMATCH_ACTION >>> 0 } : {}) };
    case "minijail":
      return { mismatchAction: Action.KILL_THREAD >>> 0, ...(x86_64 ? { x32Action: defaultAction >>> 0 } : {}) };
  }
}

export interface EmitOptions {
  /** seccompiler: the thread name (default "main"). */
  thread?: string;
  /** minijail: whose reading (default "c"). */
  semantics?: MinijailSemantics;
}

/** `ir` as text in `dialect`, or the reason it does not fit. */
export function emitPolicy(ir: PolicyIR, dialect: PolicyDialect, opts: EmitOptions = {}): EmitResult {
  switch (dialect) {
    case "seccompiler": return toSeccompiler(ir, opts.thread);
    case "oci": return toOci(ir);
    case "minijail": return toMinijail(ir, { semantics: opts.semantics });
  }
}

/** The dialect's name in sentences ("does not fit an OCI profile"). */
export function dialectNoun(dialect: PolicyDialect): string {
  return dialect === "oci" ? "an OCI profile" : dialect === "minijail" ? "a minijail policy" : "seccompiler JSON";
}
