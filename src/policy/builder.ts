// A typed builder for programs that construct policies in code, and the small helpers every
// frontend shares (argument width per ABI, syscall lookup with a located error).
//
//   const ir = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_process" })
//     .allow("read", "write")
//     .rule("socket", [arg(0).eq(1n)], "allow")
//     .rule("mmap", [arg(2).dword().maskedEq(4n, 0n)], "allow")
//     .build();
//
// The builder writes the IR directly, so its meaning is the IR's (src/policy/ir.ts): the rules of
// one syscall are tried in the order they were added and the first whose conditions all hold
// wins. There is no libseccomp-style merging: `.allow("x")` before a conditional rule for "x"
// makes that rule unreachable, exactly as written.
//
// Validation is the JSON dialects': argument index 0-5, values 0..2^64-1 as bigint, a `dword`
// value or mask above 32 bits is refused (it could never mean what it says: only the low 32 bits
// take part), on a 32-bit ABI every comparison is on the low word and a value above 32 bits is
// refused, a masked_eq value with bits outside the mask is refused (it can never match), and an
// unknown syscall name is an UnknownSyscallError naming the arch.
import { InputError, UnknownSyscallError } from "../errors.js";
import { Action, parseAction } from "../engine/actions.js";
import { resolveArch, syscallNumber, type ArchInfo, type ArchLike } from "../syscalls/index.js";
import type { ArgCondition, CompareOp, PolicyIR, Rule, SyscallPolicy } from "./ir.js";

export const U32_MAX = 0xffffffffn;
export const U64_MAX = (1n << 64n) - 1n;

/**
 * How many bits of an argument a filter can compare on this ABI. 32 on every ABI whose
 * arguments are 32 bits (x86, arm, s390, ppc, mips o32, parisc, m68k, sh) and also on x32 and
 * mips n32: their AUDIT_ARCH token says 64-bit, but their C `long` and pointers are 32 bits, and
 * libseccomp treats them as 32-bit ABIs (docs/formats.md 4.4). 64 elsewhere.
 */
export function abiArgWidth(arch: ArchInfo): 32 | 64 {
  if (arch.bits === 32) return 32;
  if (arch.name === "x32" || arch.name === "mips64n32" || arch.name === "mipsel64n32") return 32;
  return 64;
}

/** seccomp_data.nr of `name` on `arch`, or an UnknownSyscallError (it names the arch) at `where`. */
export function lookupSyscall(arch: ArchInfo, name: string, where?: string): number {
  const nr = syscallNumber(arch, name);
  if (nr === undefined) throw new UnknownSyscallError(name, arch.name, where);
  return nr;
}

/** "0x7e020000" for messages. */
export function hex(v: bigint | number): string {
  return "0x" + BigInt(v).toString(16);
}

// ---------------------------------------------------------------------------------------------
// Actions

/**
 * An action given in code: a 32-bit value (`Action.ALLOW`, `Action.ERRNO | 1`) or text in any
 * case: `allow`, `kill`, `kill_thread`, `kill_process`, `trap`, `log`, `user_notif`,
 * `errno(1)`, `trace(5)`, `ERRNO(1)`.
 */
export type ActionSpec = number | string;

export function parseActionSpec(spec: ActionSpec, where?: string): number {
  if (typeof spec === "number") {
    if (!Number.isInteger(spec) || spec < -0x80000000 || spec > 0xffffffff) {
      throw new InputError(`action ${spec} is not a 32-bit seccomp return value`, where);
    }
    return spec >>> 0;
  }
  // Upper-case the name only: parseAction wants "0x" hex data in lower case.
  const v = parseAction(spec.trim().replace(/^[a-z_]+/i, (n) => n.toUpperCase()));
  if (v === undefined) {
    throw new InputError(
      `unknown action "${spec}" (expected allow, kill_thread, kill_process, trap, log, user_notif, errno(N) or trace(N), N 0-65535)`,
      where,
    );
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Conditions

export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

/** One comparison, as built by `arg(i)…`; turned into an IR ArgCondition by the builder. */
export interface Cond {
  readonly index: number;
  /** 32 = `dword` (low word only), 64 = `qword`; undefined = the ABI's full width. */
  readonly width?: 32 | 64;
  readonly op: CompareOp;
  readonly value: bigint;
  /** masked_eq only. */
  readonly mask?: bigint;
}

/** An argument reference: `arg(1)`, `arg(2).dword()`. Immutable. */
export class ArgRef {
  constructor(readonly index: number, readonly width?: 32 | 64) {
    if (!Number.isInteger(index) || index < 0 || index > 5) {
      throw new InputError(`argument index must be 0-5 (a syscall has six arguments), got ${index}`, "arg()");
    }
  }
  /** Compare only the low 32 bits of the argument (seccompiler `dword`). */
  dword(): ArgRef {
    return new ArgRef(this.index, 32);
  }
  /** Compare all 64 bits (seccompiler `qword`; the default on 64-bit ABIs). */
  qword(): ArgRef {
    return new ArgRef(this.index, 64);
  }
  eq(value: bigint): Cond { return this.cmp("eq", value); }
  ne(value: bigint): Cond { return this.cmp("ne", value); }
  lt(value: bigint): Cond { return this.cmp("lt", value); }
  le(value: bigint): Cond { return this.cmp("le", value); }
  gt(value: bigint): Cond { return this.cmp("gt", value); }
  ge(value: bigint): Cond { return this.cmp("ge", value); }
  /** Holds when (arg & mask) == value. */
  maskedEq(mask: bigint, value: bigint): Cond {
    checkU64(mask, `arg(${this.index}).maskedEq mask`);
    return { ...this.cmp("masked_eq", value), mask };
  }
  private cmp(op: CompareOp, value: bigint): Cond {
    checkU64(value, `arg(${this.index}).${op} value`);
    return this.width === undefined ? { index: this.index, op, value } : { index: this.index, width: this.width, op, value };
  }
}

function checkU64(v: unknown, what: string): asserts v is bigint {
  if (typeof v !== "bigint") {
    throw new InputError(`${what} must be a bigint (write 1n, not 1: values are 64-bit), got ${typeof v}`, "arg()");
  }
  if (v < 0n || v > U64_MAX) {
    throw new InputError(
      `${what} ${v} is outside 0..2^64-1 (comparisons are unsigned; for -1 write BigInt.asUintN(64, -1n))`, "arg()",
    );
  }
}

/** The argument `index` (0-5) of the syscall. */
export function arg(index: ArgIndex): ArgRef {
  return new ArgRef(index);
}

/**
 * Converts a Cond for `arch`, validating the width rules shared with the JSON dialects.
 * Exported for frontends that build conditions the same way.
 */
export function toArgCondition(c: Cond, arch: ArchInfo, where?: string): ArgCondition {
  const abi = abiArgWidth(arch);
  const width: 32 | 64 = abi === 32 ? 32 : c.width ?? 64;
  const check = (v: bigint, what: string): void => {
    if (v <= U32_MAX) return;
    if (c.width === 32) {
      throw new InputError(
        `a dword ${what} above 32 bits (${hex(v)}) can never mean what it says: dword compares only the low 32 bits`,
        where,
      );
    }
    if (abi === 32) {
      throw new InputError(`${arch.name} is a 32-bit ABI: its arguments are 32 bits, so a ${what} of ${hex(v)} can never match`, where);
    }
  };
  check(c.value, "value");
  if (c.mask !== undefined) check(c.mask, "mask");
  const out: ArgCondition = { index: c.index, width, op: c.op, value: c.value };
  if (c.op === "masked_eq") {
    const mask = c.mask ?? 0n;
    if ((c.value & ~mask) !== 0n) {
      throw new InputError(
        `masked_eq value ${hex(c.value)} has bits outside the mask ${hex(mask)}: (arg & mask) == value can never hold`,
        where,
      );
    }
    out.mask = mask;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The builder

export interface PolicyOptions {
  /** The ABI: name, alias, AUDIT_ARCH token or ArchInfo. */
  arch: ArchLike;
  /** For syscalls without a matching rule. */
  default: ActionSpec;
  /** For a foreign arch token (default kill_process, the safe answer). */
  mismatch?: ActionSpec;
  /** x86_64 only: for x32 calls (nr with 0x40000000); default = mismatch. */
  x32?: ActionSpec;
  name?: string;
}

export class PolicyBuilder {
  private readonly arch: ArchInfo;
  private readonly defaultAction: number;
  private readonly mismatchAction: number;
  private readonly x32Action?: number;
  private readonly name?: string;
  private readonly bySyscall = new Map<number, SyscallPolicy>();
  private count = 0;

  constructor(opts: PolicyOptions) {
    this.arch = resolveArch(opts.arch, "policy()");
    this.defaultAction = parseActionSpec(opts.default, "policy() default");
    this.mismatchAction = parseActionSpec(opts.mismatch ?? Action.KILL_PROCESS, "policy() mismatch");
    if (opts.x32 !== undefined) this.x32Action = parseActionSpec(opts.x32, "policy() x32");
    this.name = opts.name;
  }

  /** Allows each named syscall unconditionally. */
  allow(...names: string[]): this {
    for (const n of names) this.rule(n, [], Action.ALLOW);
    return this;
  }

  /** Adds a rule: `action` when every condition holds (none = always). Tried in call order. */
  rule(name: string, conditions: readonly Cond[], action: ActionSpec): this {
    const where = `policy(${this.arch.name}) rule #${++this.count} ("${name}")`;
    const nr = lookupSyscall(this.arch, name, where);
    const rule: Rule = {
      conditions: conditions.map((c) => toArgCondition(c, this.arch, where)),
      action: parseActionSpec(action, where),
    };
    let sys = this.bySyscall.get(nr);
    if (!sys) this.bySyscall.set(nr, (sys = { nr, name, rules: [] }));
    sys.rules.push(rule);
    return this;
  }

  /** A fresh PolicyIR (the builder can go on and build again). */
  build(): PolicyIR {
    const syscalls = [...this.bySyscall.values()]
      .map((s) => ({ ...s, rules: s.rules.map((r) => ({ ...r, conditions: [...r.conditions] })) }))
      .sort((a, b) => (a.nr >>> 0) - (b.nr >>> 0));
    const ir: PolicyIR = {
      arches: [{ arch: this.arch, defaultAction: this.defaultAction, syscalls }],
      mismatchAction: this.mismatchAction,
    };
    if (this.name !== undefined) ir.name = this.name;
    if (this.arch.name === "x86_64") ir.x32Action = this.x32Action ?? this.mismatchAction;
    return ir;
  }
}

/** Starts a policy for one ABI. */
export function policy(opts: PolicyOptions): PolicyBuilder {
  return new PolicyBuilder(opts);
}
