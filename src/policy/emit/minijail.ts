// PolicyIR → minijail policy text, in one of minijail's two readings (src/policy/minijail/index.ts
// says how they differ): the minijail dialect of the emitter layer (src/policy/emit/index.ts).
//
// What fits: one ABI (a minijail file names no arch); actions allow, kill-process,
// kill-thread, trap, trace, log, user-notify, return N (TRAP/TRACE data must be 0); a default
// that `@default` can say (kill-process, kill-thread, trap, user-notify), else the file asks
// for --default-action in its header; x32 calls getting the default (minijail has no x32 rule).
// Conditions: a comparison on a whole 64-bit argument (or any argument of a 32-bit ABI) is an
// atom; `(arg & M) == V` is `arg in ~(M & ~V)` plus `arg & b` for each bit b of V; a compare of
// the low word alone of a 64-bit argument is that with M = 0xffffffff (eq), else does not fit.
// In the C reading a syscall's rules must be "allow when any of these" then one fallback; the
// Python reading takes any first-match list, as a filter list `{expr; action, …}`.
import { Action, decodeRet, formatRet } from "../../engine/actions.js";
import { abiArgWidth, hex } from "../builder.js";
import type { ArgCondition, PolicyIR, Rule } from "../ir.js";
import { X32_BIT } from "../ir.js";
import type { MinijailSemantics } from "../minijail/index.js";
import { fit, NoFit, requireNoRanges, type EmitResult } from "./fit.js";

/** The IR as a minijail policy in the given reading (default "c"), or the reason it does not fit. */
export function toMinijail(ir: PolicyIR, opts: { semantics?: MinijailSemantics } = {}): EmitResult {
  const semantics = opts.semantics ?? "c";
  return fit((flags) => {
    if (ir.arches.length !== 1 || ir.arches[0].arch.nrBase === X32_BIT) {
      throw new NoFit(`a minijail policy is for one ABI; this filter has ${ir.arches.map((a) => a.arch.name).join(", ")}`);
    }
    const sec = ir.arches[0];
    const width = abiArgWidth(sec.arch);
    const dflt = sec.defaultAction >>> 0;
    if (sec.arch.name === "x86_64" && (ir.x32Action ?? ir.mismatchAction) >>> 0 !== dflt) {
      throw new NoFit(`x32 calls get ${formatRet(ir.x32Action ?? ir.mismatchAction)}, not the default: minijail has no rule for x32`);
    }
    const kill = ir.mismatchAction >>> 0;
    const killProcess = kill === Action.KILL_PROCESS;
    if (kill !== Action.KILL_THREAD && !(killProcess && semantics === "python")) {
      throw new NoFit(`unknown arch tokens get ${formatRet(kill)}; minijail kills (${semantics === "c" ? "the thread" : "the thread, or the process with --use-kill-process"})`);
    }
    if (killProcess) flags.push("--use-kill-process");
    const lines = [`# ${sec.arch.name} seccomp policy in minijail's ${semantics === "c" ? "C reading (minijail0 -S)" : "Python reading (compile_seccomp_policy.py)"}`];
    const defaultWord = DEFAULTABLE.has(decodeRet(dflt).action) && decodeRet(dflt).data === 0 ? actionText(dflt) : undefined;
    // `kill` alone would depend on --use-kill-process; write the default explicitly.
    if (defaultWord) lines.push(`@default ${defaultWord}`);
    else flags.push(`--default-action "${actionText(dflt)}"`);
    if (flags.length) lines.push(`# read with: ${flags.join(" ")}`);
    requireNoRanges(sec, "a minijail policy");
    for (const s of sec.syscalls) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.name)) throw new NoFit(`syscall ${s.nr} has no name minijail could use`);
      const rules = s.rules.slice(0, s.rules.findIndex((r) => r.conditions.length === 0) + 1 || s.rules.length);
      const filter = semantics === "c" ? cFilter(rules, dflt, width) : pythonFilter(rules, width);
      if (filter !== undefined) lines.push(`${s.name}: ${filter}`);
    }
    return lines.join("\n") + "\n";
  }, semantics === "python" ? ["--minijail-semantics python"] : []);
}

const DEFAULTABLE = new Set(["KILL_PROCESS", "KILL_THREAD", "TRAP", "USER_NOTIF"]);

function actionText(ret: number): string {
  const v = decodeRet(ret);
  if (v.unknown) throw new NoFit(`${formatRet(ret)} is not a seccomp action`);
  switch (v.action) {
    case "ALLOW": return "allow";
    case "KILL_PROCESS": return "kill-process";
    case "KILL_THREAD": return "kill-thread";
    case "LOG": return "log";
    case "USER_NOTIF": return "user-notify";
    case "ERRNO": return `return ${v.data}`;
    case "TRAP":
    case "TRACE":
      if (v.data !== 0) throw new NoFit(`${formatRet(ret)}: minijail's ${v.action.toLowerCase()} carries no data`);
      return v.action.toLowerCase();
  }
}

/** C reading: "allow when EXPR" and one fallback; undefined when the syscall just gets the default. */
function cFilter(rules: Rule[], dflt: number, width: 32 | 64): string | undefined {
  const last = rules[rules.length - 1];
  const fallback = last && last.conditions.length === 0 ? last.action >>> 0 : dflt;
  const conditional = rules.filter((r) => r.conditions.length > 0);
  // Conditional rules at the end that give the fallback anyway change nothing.
  while (conditional.length && conditional[conditional.length - 1].action >>> 0 === fallback) conditional.pop();
  if (fallback === Action.ALLOW && conditional.every((r) => r.action >>> 0 === Action.ALLOW)) return "1";
  if (conditional.some((r) => r.action >>> 0 !== Action.ALLOW)) {
    throw new NoFit("a syscall returns something other than allow when its arguments match; the C reading cannot say that (use --minijail-semantics python)");
  }
  if (conditional.length === 0) return fallback === dflt ? undefined : fallback === Action.ALLOW ? "1" : actionText(fallback);
  const expr = disjunction(conditional, width);
  return fallback === dflt ? expr : `${expr}; ${actionText(fallback)}`;
}

/** Python reading: the rules as a filter list, runs of one action joined by ||. */
function pythonFilter(rules: Rule[], width: 32 | 64): string | undefined {
  const parts: string[] = [];
  for (let i = 0; i < rules.length; ) {
    const r = rules[i];
    if (r.conditions.length === 0) {
      parts.push(r.action >>> 0 === Action.ALLOW ? "allow" : actionText(r.action));
      break;
    }
    let j = i;
    while (j < rules.length && rules[j].conditions.length > 0 && rules[j].action >>> 0 === r.action >>> 0) j++;
    const expr = disjunction(rules.slice(i, j), width);
    parts.push(r.action >>> 0 === Action.ALLOW ? expr : `${expr}; ${actionText(r.action)}`);
    i = j;
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : `{${parts.join(", ")}}`;
}

function disjunction(rules: Rule[], width: 32 | 64): string {
  return rules.map((r) => r.conditions.flatMap((c) => atoms(c, width)).join(" && ")).join(" || ");
}

const OPS: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

/** One IR condition as minijail atoms joined by &&. */
function atoms(c: ArgCondition, width: 32 | 64): string[] {
  const arg = `arg${c.index}`;
  const word = (1n << BigInt(width)) - 1n;
  let mask = c.mask;
  let value = c.value;
  let op: string = c.op;
  if (c.width === 32 && width === 64) {
    // Only the low word of a 64-bit argument takes part.
    if (op === "eq") [op, mask] = ["masked_eq", 0xffffffffn];
    else if (op === "masked_eq") mask = (mask ?? 0n) & 0xffffffffn;
    else throw new NoFit(`${arg}: a ${c.op} compare of the low 32 bits alone; minijail compares whole 64-bit arguments`);
  }
  if (op !== "masked_eq") return [`${arg} ${OPS[op]} ${hex(value)}`];
  const m = (mask ?? 0n) & word;
  value &= m;
  const out: string[] = [];
  const clear = m & ~value;
  if (clear !== 0n) {
    // Fewer set bits outside the mask read better as a complement: `in ~0x4` is "no PROT_EXEC".
    out.push(`${arg} in ${popcount(clear) <= popcount(word & ~clear) ? `~${hex(clear)}` : hex(word & ~clear)}`);
  }
  for (let b = 0n; b < BigInt(width); b++) if ((value >> b) & 1n) out.push(`${arg} & ${hex(1n << b)}`);
  // (arg & 0) == 0 holds always: minijail has no "true" atom, but `in` of the whole word is one.
  if (out.length === 0) out.push(`${arg} in ${hex(word)}`);
  return out;
}

function popcount(v: bigint): number {
  let n = 0;
  for (; v; v &= v - 1n) n++;
  return n;
}
