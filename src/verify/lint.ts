// `verify lint`: flaws that make a filter weaker or stranger than it looks, decided on the BPF
// with the symbolic engine where they are semantic (what is allowed for which inputs) and by a
// scan of the program where they are structural. Each finding has a severity and a fix hint.
// The classes come from real bypasses and bugs (docs/evidence.md section 9).
import type { Program } from "../engine/program.js";
import { decodeRet, Action } from "../engine/actions.js";
import { check } from "../engine/check.js";
import { AUDIT_ARCH_X86_64, MAX_INSNS_PER_PATH, X32_SYSCALL_BIT } from "../engine/contract.generated.js";
import { opcodeInfo, Form, successors } from "../engine/opcodes.js";
import { archTokens } from "../text/disasm.js";
import { ARCHES, archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallNumber, syscallName } from "../syscalls/index.js";
import { SymbolicSpace, Inconclusive, FALSE, TRUE, type Outcome } from "./symbolic.js";
import type { PolicyIR } from "../policy/ir.js";
import { allows } from "./relations.js";

export type Severity = "error" | "warning" | "info";

export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  hint: string;
  /** Instruction index, where the finding is about one instruction. */
  index?: number;
  arch?: string;
  syscall?: string;
}

/**
 * Arguments the kernel reads as 32-bit `int`/`unsigned int` although the register (and
 * seccomp_data) holds 64 bits: a filter that compares their high word can be fooled by upper
 * bits the kernel ignores (socket(0x1_00000001, …) is AF_UNIX to the kernel).
 */
export const INT_ARGS: Record<string, number[]> = {
  socket: [0, 1, 2], socketpair: [0, 1, 2], setsockopt: [1, 2], getsockopt: [1, 2],
  ioctl: [1], fcntl: [1], prctl: [0], futex: [1], mmap: [2, 3], mprotect: [2], madvise: [2],
  msync: [2], personality: [0], kill: [1], tkill: [1], tgkill: [2], open: [1], openat: [0, 2],
  accept4: [3], dup3: [2], pipe2: [1], eventfd2: [1], memfd_create: [1], timerfd_create: [0, 1],
  epoll_ctl: [1], umask: [0], clone3: [], flock: [1], shutdown: [1], listen: [1],
};

/** Syscalls that can do, through io_uring, what socket/connect/open* restrictions forbid. */
const IO_URING = ["io_uring_setup", "io_uring_enter", "io_uring_register"];
const URING_SHADOWED = ["socket", "connect", "openat", "open", "openat2"];

export interface LintOptions {
  budget?: number;
  /** Filters installed before this one (oldest first), for the stack-size check. */
  stackedUnder?: readonly Program[];
  /**
   * ABI names the source policy lists (PolicyIR sections), when the filter came from one. A
   * policy with an x32 section lets x32 calls through on purpose (see `x32Finding`).
   */
  policyAbis?: readonly string[];
}

export function lint(p: Program, opts: LintOptions = {}): Finding[] | Inconclusive {
  const findings: Finding[] = [...structural(p)];
  // Stack total: every attached filter counts len + 4 (docs/kernel.md section 6).
  if (opts.stackedUnder?.length) {
    const total = p.length + opts.stackedUnder.reduce((s, f) => s + f.length + 4, 0);
    if (total > MAX_INSNS_PER_PATH) {
      findings.push({ id: "stack-too-large", severity: "error", message: `the stack totals ${total} instructions with the kernel's +4 per filter; the limit is ${MAX_INSNS_PER_PATH} (the install fails with ENOMEM)`, hint: "merge filters or shorten them" });
    }
  }
  const errors = check(p);
  if (errors.length) {
    // A program the kernel refuses has no runtime behaviour to analyse.
    if (!findings.some((f) => f.id === "too-long")) {
      findings.push({ id: "rejected", severity: "error", index: errors[0].index >= 0 ? errors[0].index : undefined, message: `the kernel would refuse this program: ${errors[0].reason}`, hint: "run sysfence check for every reason" });
    }
    return findings;
  }
  let space: SymbolicSpace;
  let outs: Outcome[] | Inconclusive;
  try {
    space = new SymbolicSpace(opts.budget);
    outs = space.analyze(p);
  } catch (e) {
    if (e instanceof Inconclusive) return e;
    throw e;
  }
  if (outs instanceof Inconclusive) return outs;
  try {
    findings.push(...semantic(space, p, outs, opts));
  } catch (e) {
    if (e instanceof Inconclusive) return e;
    throw e;
  }
  return findings;
}

/** Findings from a scan of the instructions. */
function structural(p: Program): Finding[] {
  const out: Finding[] = [];
  if (p.length > 4096) {
    out.push({ id: "too-long", severity: "error", message: `${p.length} instructions; the kernel accepts at most 4096`, hint: "compile with sysfence (decision tree) or split the policy" });
  }
  const insns = p.insns();
  // Reachability: all jumps go forward.
  const reach = new Array<boolean>(insns.length).fill(false);
  if (insns.length) reach[0] = true;
  insns.forEach((ins, pc) => {
    if (!reach[pc]) return;
    for (const { to: t } of successors(ins, pc)) if (t < insns.length) reach[t] = true;
  });
  let firstDead = -1;
  let dead = 0;
  insns.forEach((ins, pc) => {
    if (!reach[pc]) {
      dead++;
      if (firstDead < 0) firstDead = pc;
      return;
    }
    const info = opcodeInfo(ins.code);
    if (info?.form !== Form.RET_K) return;
    const v = decodeRet(ins.k);
    if (v.unknown) {
      out.push({ id: "unknown-action", severity: "error", index: pc, message: `ret 0x${(ins.k >>> 0).toString(16)} is not a seccomp action: the kernel kills the whole process`, hint: "return one of the eight actions" });
    } else if (v.action === "ERRNO" && v.data > 4095) {
      out.push({ id: "errno-range", severity: "warning", index: pc, message: `ERRNO(${v.data}) is capped by the kernel to 4095`, hint: "use an errno number between 1 and 4095" });
    } else if (v.action === "ERRNO" && v.data >= 512 && v.data <= 516) {
      out.push({ id: "errno-restart", severity: "warning", index: pc, message: `ERRNO(${v.data}) is one of the kernel's internal restart codes: signals turn it into EINTR or a restarted call`, hint: "return a regular errno" });
    } else if (v.action === "TRACE" || v.action === "USER_NOTIF") {
      out.push({ id: "nothing-answers", severity: "warning", index: pc, message: `${v.action} needs a ${v.action === "TRACE" ? "tracer (PTRACE_O_TRACESECCOMP)" : "user-notification listener"}; without one the syscall fails with ENOSYS`, hint: "make sure the supervisor is always there, or return ERRNO explicitly" });
    }
  });
  if (dead) {
    out.push({ id: "unreachable", severity: "info", index: firstDead, message: `${dead} instruction${dead > 1 ? "s are" : " is"} unreachable (first at ${firstDead})`, hint: "remove dead code; it often hides a rule that never applies" });
  }
  return out;
}


function semantic(space: SymbolicSpace, p: Program, outs: Outcome[], opts: LintOptions): Finding[] {
  const out: Finding[] = [];
  const allowed = space.union(outs.filter((o) => allows(o.value)).map((o) => o.set));
  if (allowed === FALSE) return out;
  const tokens = archTokens(p);
  // 1. No arch check: something is allowed for an arch token no ABI uses.
  const archVals = space.existsAllBut(allowed, 1);
  const known = space.union(ARCHES.map((a) => space.wordEquals(1, a.token)));
  if (space.diff(archVals, known) !== FALSE || tokens.length === 0) {
    out.push({ id: "no-arch-check", severity: "error", message: "syscalls are allowed without checking seccomp_data.arch: the same number means a different syscall on another ABI", hint: "load arch first and kill or deny every token you did not write rules for" });
  }
  // 2. x32 numbers reachable under a permissive default on x86_64 (a deny-list bypass: x32
  // execve is not 59). A filter that lists x32 syscalls on purpose allows a few hundred
  // numbers there; one that lets the range through allows about a billion.
  const onX86 = space.restrictWord(allowed, 1, AUDIT_ARCH_X86_64);
  if (onX86 !== FALSE) {
    const nrs = space.wordRanges(space.existsAllBut(onX86, 0), 0, 4096);
    let count = 0;
    for (const [lo, hi] of nrs ?? [[X32_SYSCALL_BIT, 0xfffffffe]]) {
      const a = Math.max(lo, X32_SYSCALL_BIT);
      const b = Math.min(hi, 0xfffffffe);
      if (a <= b) count += b - a + 1;
    }
    if (count > 1024) out.push(x32Finding(space, allowed, count, opts));
  }
  // Per ABI the filter checks: 64-bit compares on int arguments, io_uring next to socket rules.
  for (const token of tokens) {
    for (const arch of archesByToken(token)) {
      if (arch.bits !== 64 || arch.nrBase === X32_SYSCALL_BIT) continue;
      const inArch = space.restrictWord(allowed, 1, token);
      if (inArch === FALSE) continue;
      for (const [name, idxs] of Object.entries(INT_ARGS)) {
        const nr = syscallNumber(arch, name);
        if (nr === undefined) continue;
        const f = space.restrictWord(inArch, 0, nr);
        if (f === FALSE) continue;
        for (const i of idxs) {
          const hiWord = 4 + 2 * i + (arch.endian === "le" ? 1 : 0);
          if (space.existsWord(f, hiWord) !== f) {
            out.push({ id: "int-arg-high-word", severity: "warning", arch: arch.name, syscall: name, message: `${name}'s argument ${i} is a 32-bit int to the kernel, but the filter's decision depends on its high word: upper bits the kernel ignores can slip past (or break) a 64-bit compare`, hint: "compare the low word only (seccompiler dword, or MASKED_EQ with mask 0xffffffff)" });
          }
        }
      }
      uring(space, arch, inArch, out);
    }
  }
  for (const token of tokens) {
    const inToken = space.restrictWord(allowed, 1, token);
    if (inToken === FALSE) continue;
    for (const arch of archesByToken(token)) signalReturn(space, arch, inToken, out);
  }
  return out;
}

/**
 * The syscalls the kernel's own signal machinery makes: the return from every signal handler
 * (rt_sigreturn, and sigreturn on the 32-bit ABIs that have it) and restart_syscall, which a
 * sleep interrupted by SIGSTOP/SIGCONT (a debugger attach, `kill -STOP`) resumes through.
 */
export const SIGNAL_RETURN_SYSCALLS = ["rt_sigreturn", "sigreturn", "restart_syscall"];
/** Syscalls one of which any running process of an ABI makes: the ABI is in use when one is allowed. */
const ABI_IN_USE = ["read", "write", "exit", "exit_group"];

/** Denying a signal-return syscall kills (or corrupts) the process at its first handler return or stop/continue. */
function signalReturn(space: SymbolicSpace, arch: ArchInfo, inToken: number, out: Finding[]): void {
  const allowedNr = (name: string): boolean | undefined => {
    const nr = syscallNumber(arch, name);
    return nr === undefined ? undefined : space.restrictWord(inToken, 0, nr) !== FALSE;
  };
  if (!ABI_IN_USE.some((n) => allowedNr(n) === true)) return;
  const denied = SIGNAL_RETURN_SYSCALLS.filter((n) => allowedNr(n) === false);
  if (denied.length === 0) return;
  out.push({
    id: "signal-return-denied", severity: "warning", arch: arch.name, syscall: denied.join(","),
    message: `${denied.join(", ")} ${denied.length > 1 ? "are" : "is"} never allowed on ${arch.name}, but the kernel makes ${denied.length > 1 ? "these calls" : "this call"} itself: the process dies (or breaks) ${[
      denied.some((n) => n !== "restart_syscall") ? "at its first signal handler return" : "",
      denied.includes("restart_syscall") ? "when a sleep interrupted by a stop is continued (SIGSTOP/SIGCONT, a debugger attach)" : "",
    ].filter(Boolean).join(" and ")}`,
    hint: `allow ${denied.join(" and ")}`,
  });
}

/**
 * Many x32 numbers allowed on AUDIT_ARCH_X86_64: a bypass when the filter never thought of x32
 * (a deny-list written for x86_64 numbers), the policy's intent when it has an x32 ABI entry
 * and gives x32 calls its default action (an OCI profile listing SCMP_ARCH_X32). The intent is
 * read from the source policy's ABIs when there is one, else from the program: a filter that
 * denies some x32 syscall number (0x40000000 + n, n < 1024) decides x32 calls one by one, so it
 * handles that ABI explicitly; one that lets every x32 number through never looked at them.
 */
function x32Finding(space: SymbolicSpace, allowed: number, count: number, opts: LintOptions): Finding {
  let intended = opts.policyAbis?.includes("x32") ?? false;
  if (!intended) {
    const denied = space.restrictWord(space.not(allowed), 1, AUDIT_ARCH_X86_64);
    const deniedNrs = space.wordRanges(space.existsAllBut(denied, 0), 0, 4096) ?? [];
    intended = deniedNrs.some(([lo, hi]) => hi >= X32_SYSCALL_BIT && lo < X32_SYSCALL_BIT + 1024);
  }
  if (intended) {
    return { id: "x32-allowed", severity: "info", arch: "x32", message: `${count} syscall numbers at or above 0x40000000 (x32) are allowed on AUDIT_ARCH_X86_64 by the default action; the filter handles the x32 ABI explicitly, so this is its intent`, hint: "drop x32 from the policy's ABIs if no x32 program runs in it" };
  }
  return { id: "x32-reachable", severity: "error", arch: "x86_64", message: `${count} syscall numbers at or above 0x40000000 (x32) are allowed on AUDIT_ARCH_X86_64: the default lets x32 calls through`, hint: "after the arch check, send nr >= 0x40000000 to the mismatch action (sysfence compile does this)" };
}

function uring(space: SymbolicSpace, arch: ArchInfo, inArch: number, out: Finding[]): void {
  const allowedUring = IO_URING.filter((n) => {
    const nr = syscallNumber(arch, n);
    return nr !== undefined && space.restrictWord(inArch, 0, nr) !== FALSE;
  });
  if (allowedUring.length === 0) return;
  const restricted = URING_SHADOWED.filter((n) => {
    const nr = syscallNumber(arch, n);
    if (nr === undefined) return false;
    // Restricted: not allowed for every argument value (the set over the remaining words is
    // not everything).
    return space.restrictWord(inArch, 0, nr) !== TRUE;
  });
  if (restricted.length === 0) return;
  out.push({ id: "io-uring-bypass", severity: "warning", arch: arch.name, syscall: allowedUring.join(","), message: `${allowedUring.join(", ")} allowed while ${restricted.join(", ")} ${restricted.length > 1 ? "are" : "is"} restricted: io_uring creates sockets and opens files without those syscalls`, hint: "deny io_uring_setup/enter/register, or do not rely on the socket/open rules" });
}

/**
 * Findings on a policy's IR that the BPF cannot show: conditions that always or never hold
 * (`ge 0`, `lt 0`, `masked_eq` with mask 0, `le 0xffffffff` on a 32-bit compare), which make a
 * rule mean something else than it reads.
 */
export function lintPolicy(ir: PolicyIR): Finding[] {
  const out: Finding[] = [];
  for (const sec of ir.arches) {
    for (const sys of sec.syscalls) {
      for (const r of sys.rules) {
        for (const c of r.conditions) {
          const max = c.width === 32 ? 0xffffffffn : (1n << 64n) - 1n;
          let always: boolean | undefined;
          if (c.op === "ge" && c.value === 0n) always = true;
          else if (c.op === "le" && c.value === max) always = true;
          else if (c.op === "lt" && c.value === 0n) always = false;
          else if (c.op === "gt" && c.value === max) always = false;
          else if (c.op === "masked_eq" && (c.mask ?? 0n) === 0n) always = c.value === 0n;
          else if (c.op === "masked_eq" && (c.value & ~(c.mask ?? 0n) & max) !== 0n) always = false;
          if (always === undefined) continue;
          const where = c.source ?? r.source;
          out.push({
            id: always ? "always-true" : "never-true", severity: "warning", arch: sec.arch.name, syscall: sys.name,
            message: `${sys.name}: the condition on argument ${c.index} (${c.op} 0x${c.value.toString(16)}${c.mask !== undefined ? ` mask 0x${c.mask.toString(16)}` : ""}) ${always ? "always holds: the rule is unconditional" : "never holds: the rule can never match"}${where ? ` (${where.file}${where.line ? `:${where.line}` : ""}${where.pointer ? ` ${where.pointer}` : ""})` : ""}`,
            hint: always ? "drop the condition, or write the bound you meant" : "fix the value or drop the rule",
          });
        }
      }
    }
  }
  return out;
}

/** Severities from the least to the most serious; `--fail-on` and spec files compare ranks. */
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/**
 * 1 when a finding is at least as serious as `failOn` (default "error": a CI gates on errors
 * while warnings print), else 0.
 */
export function findingsExitCode(f: Finding[], failOn: Severity = "error"): number {
  return f.some((x) => SEVERITY_RANK[x.severity] >= SEVERITY_RANK[failOn]) ? 1 : 0;
}

export { syscallName, Action };
