// The one intermediate representation of a policy. Every frontend (seccompiler JSON, OCI /
// Docker / Podman profiles, the builder API, learned policies) produces it; the compiler (in the
// engine), the reference evaluator, explain and lint consume it. It is deliberately plain data
// with exact semantics, so that "what does this policy mean" has one answer:
//
//   For an input (arch token, nr, args):
//   1. Find the ArchPolicy sections whose arch token equals seccomp_data.arch. None: the
//      policy's mismatchAction.
//   2. Among them, the one whose ABI owns nr: on AUDIT_ARCH_X86_64, nr >= 0x40000000 (unsigned)
//      belongs to x32 and the rest to x86_64, except nr -1 (0xffffffff, what a tracer sets to skip
//      a call), which belongs to x86_64 when the policy has an x86_64 section (as libseccomp, what
//      runtimes install, does). If that ABI has no section (x86_64 alone), the policy's x32Action
//      (default: mismatchAction) applies.
//   3. In that section, the SyscallPolicy with this nr; none: the action of the section's range
//      holding nr (NrRange: numbers past an ABI's table, a runtime's ENOSYS stub), else the
//      section's defaultAction. That action is the number's *background*.
//   4. Its rules in order; the first whose conditions all hold gives its action. None holds: the
//      number's background (the section's defaultAction unless a range holds nr).
//
// Actions are 32-bit seccomp return values (src/engine/actions.ts). Syscall numbers are
// seccomp_data.nr values (x32 bit and MIPS bases included).
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";

/** Where a piece of the policy came from, for errors, lint findings and CI annotations. */
export interface SourceRef {
  file: string;
  /** RFC 6901 JSON pointer, e.g. "/vmm/filter/3/args/0". */
  pointer?: string;
  /** 1-based line in the file. */
  line?: number;
}

export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "masked_eq";

/**
 * One comparison on one argument. With width 32 only the low 32 bits of the argument, the value
 * and the mask take part (seccompiler `dword`; every argument of a 32-bit ABI); with width 64 the
 * whole 64-bit value does. All comparisons are unsigned.
 * masked_eq holds when (arg & mask) == value.
 */
export interface ArgCondition {
  index: number;
  width: 32 | 64;
  op: CompareOp;
  /** Fits in `width` bits (frontends reject or truncate with a warning, per dialect). */
  value: bigint;
  /** masked_eq only; fits in `width` bits. */
  mask?: bigint;
  source?: SourceRef;
  /** A note an emitter writes beside the condition where its dialect has room (learn: the value's name). */
  comment?: string;
}

/** A rule: all conditions hold (AND); no conditions means always. */
export interface Rule {
  conditions: ArgCondition[];
  action: number;
  source?: SourceRef;
  /** A note an emitter writes beside the rule where its dialect has room (learn: "seen 3 times"). */
  comment?: string;
}

export interface SyscallPolicy {
  /** seccomp_data.nr for this ABI. */
  nr: number;
  name: string;
  /** First match wins; when none matches, the section's defaultAction. */
  rules: Rule[];
}

/**
 * A run of syscall numbers treated alike, unlike the section's default: what a filter gives
 * numbers past its ABI's table, or above the last number a runtime's libseccomp knows (runc's
 * ENOSYS stub). Policies name syscalls, so only decompiled filters (explain) carry ranges; the
 * policy dialects have no spelling for them.
 */
export interface NrRange {
  /** First and last seccomp_data.nr (unsigned, base included), inside the section's ABI. */
  lo: number;
  hi: number;
  action: number;
}

export interface ArchPolicy {
  arch: ArchInfo;
  defaultAction: number;
  /** Sorted by nr, one entry per nr. */
  syscalls: SyscallPolicy[];
  /** Sorted, disjoint runs of numbers with their own background (see the header, step 3). */
  ranges?: NrRange[];
}

export interface PolicyIR {
  /** A name for messages (thread name, profile file). */
  name?: string;
  /** One section per ABI; x86_64 and x32 may both appear (same token, split by the nr bit). */
  arches: ArchPolicy[];
  /** For an arch token no section handles. */
  mismatchAction: number;
  /** On AUDIT_ARCH_X86_64 without an x32 section: the action for nr >= 0x40000000. */
  x32Action?: number;
  source?: SourceRef;
}

/** A problem a frontend noticed but could compile through (it says what it chose). */
export interface PolicyWarning {
  message: string;
  source?: SourceRef;
  /** Long detail a summary stands for (e.g. the names behind a count), printed with --verbose. */
  detail?: string;
}

/** A policy file may hold several named policies (seccompiler threads). */
export interface CompiledInput {
  policies: Map<string, PolicyIR>;
  warnings: PolicyWarning[];
}

/** The x32 bit of nr on AUDIT_ARCH_X86_64 (the engine <-> host contract). */
export const X32_BIT = X32_SYSCALL_BIT;

/** nr -1 as seccomp sees it: a tracer's "skip this syscall"; never an x32 call (see above). */
export const NR_SKIP = 0xffffffff;

/**
 * The parts of the nr space section `arch` owns under its token (step 2 of the header): alone on
 * its token, all of it; x86_64 and x32 split it at the x32 bit, and -1 belongs to x86_64 (to x32
 * only when the policy has no x86_64 section: `withMain` false). Explain states a section's
 * numbers over these; the compiler keeps a section's ranges inside them.
 */
export function ownedNumbers(arch: ArchInfo, withMain = true): [number, number][] {
  if (archesByToken(arch.token).length < 2) return [[0, 0xffffffff]];
  if (arch.nrBase !== X32_BIT) return [[0, X32_BIT - 1], [NR_SKIP, NR_SKIP]];
  return [[X32_BIT, withMain ? NR_SKIP - 1 : NR_SKIP]];
}

