// The picture of a policy (a decompiled filter or a policy file): arch → syscalls grouped by
// action → argument conditions. Syscalls whose only rule is unconditional are listed together
// under their action; syscalls with argument conditions get a node of their own that lists each
// rule as the policy states it, then what happens otherwise; ranges of numbers with an answer
// of their own (a decompiled filter's numbers past the table) get a node each.
import type { PolicyIR, ArgCondition, SyscallPolicy } from "../policy/ir.js";
import { formatRet } from "../engine/actions.js";
import { backgroundAction } from "../policy/reference.js";
import { dotString, leftLines, wrapList, RET_COLOURS } from "./dot.js";
import { retKindOf } from "./cfg.js";
import type { Program } from "../engine/program.js";
import { explain } from "../verify/explain.js";
import { Inconclusive } from "../verify/symbolic.js";
import { ExitCode, SysfenceError } from "../errors.js";

const OPS: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

function hex(v: bigint): string {
  return v < 10n ? v.toString() : `0x${v.toString(16)}`;
}

/** One condition as a policy author writes it: `arg2 & 0x4 == 0`, `arg0 == 0x10` (32-bit: `.lo`). */
export function conditionText(c: ArgCondition): string {
  const arg = `arg${c.index}${c.width === 32 ? ".lo" : ""}`;
  if (c.op === "masked_eq") return `${arg} & ${hex(c.mask!)} == ${hex(c.value)}`;
  return `${arg} ${OPS[c.op]} ${hex(c.value)}`;
}

function colour(ret: number): string {
  return RET_COLOURS[retKindOf(ret)];
}

function conditional(s: SyscallPolicy): boolean {
  return !(s.rules.length === 1 && s.rules[0].conditions.length === 0);
}

/** DOT for a policy. */
export function policyDot(ir: PolicyIR, title: string): string {
  const out: string[] = [
    `digraph ${dotString(title)} {`,
    "  rankdir=LR;",
    '  node [shape=box, fontname="Courier", fontsize=10, style=filled, fillcolor="#ffffff"];',
    '  edge [fontname="Courier", fontsize=9];',
    `  policy [shape=folder, fillcolor="#eeeeee", label=${dotString(title)}];`,
    `  other [fillcolor="${colour(ir.mismatchAction)}", label=${dotString(`any other arch: ${formatRet(ir.mismatchAction)}`)}];`,
    "  policy -> other;",
  ];
  ir.arches.forEach((sec, ai) => {
    const a = `a${ai}`;
    out.push(`  ${a} [shape=component, fillcolor="#fff9c4", label=${dotString(`${sec.arch.name}\ndefault ${formatRet(sec.defaultAction)}`)}];`);
    out.push(`  policy -> ${a};`);
    // Unconditional syscalls, grouped by action in first-seen order.
    const groups = new Map<number, string[]>();
    for (const s of sec.syscalls) {
      if (conditional(s)) continue;
      const act = s.rules[0].action;
      if (!groups.has(act)) groups.set(act, []);
      groups.get(act)!.push(s.name);
    }
    let gi = 0;
    for (const [act, names] of groups) {
      const id = `${a}g${gi++}`;
      const head = `${formatRet(act)} (${names.length} syscall${names.length === 1 ? "" : "s"})`;
      out.push(`  ${id} [fillcolor="${colour(act)}", label=${leftLines([head, ...wrapList(names.join(", "), 60)])}];`);
      out.push(`  ${a} -> ${id};`);
    }
    sec.syscalls.filter(conditional).forEach((s, si) => {
      const id = `${a}s${si}`;
      const lines = [`${s.name} (${s.nr})`];
      for (const r of s.rules) {
        lines.push(r.conditions.length ? `${formatRet(r.action)} when ${r.conditions.map(conditionText).join(" && ")}` : formatRet(r.action));
      }
      if (s.rules.every((r) => r.conditions.length)) lines.push(`otherwise ${formatRet(backgroundAction(sec, s.nr))}`);
      const acts = new Set(s.rules.map((r) => r.action));
      const fill = acts.size === 1 ? colour([...acts][0]) : "#ffffff";
      out.push(`  ${id} [fillcolor="${fill}", label=${leftLines(lines)}];`);
      out.push(`  ${a} -> ${id};`);
    });
    // Ranges of numbers with their own answer (numbers past the table, a runtime's ENOSYS stub).
    (sec.ranges ?? []).forEach((r, ri) => {
      const id = `${a}r${ri}`;
      out.push(`  ${id} [fillcolor="${colour(r.action)}", label=${dotString(`numbers ${r.lo >>> 0}..${r.hi >>> 0}: ${formatRet(r.action)}`)}];`);
      out.push(`  ${a} -> ${id};`);
    });
  });
  if (ir.x32Action !== undefined) {
    out.push(`  x32 [fillcolor="${colour(ir.x32Action)}", label=${dotString(`x32 (nr >= 0x40000000): ${formatRet(ir.x32Action)}`)}];`);
    out.push("  policy -> x32;");
  }
  out.push("}");
  return out.join("\n") + "\n";
}

/**
 * A filter's decompiled policy as DOT: what `graph --policy`, `explain --format svg` and the
 * playground's policy view all draw (one function, so they cannot drift apart). Throws a located
 * error when the verifier cannot decide (exit 3) or the filter is not a policy (exit 1).
 */
export function decompiledPolicyDot(program: Program, title: string, where: string): string {
  const r = explain(program);
  if (r instanceof Inconclusive) throw new SysfenceError(`inconclusive: ${r.reason}`, { where, exitCode: ExitCode.INCONCLUSIVE });
  if (!r.ir) throw new SysfenceError(`not a policy: ${r.problems.join("; ")}`, { where, exitCode: ExitCode.FAIL });
  return policyDot(r.ir, title);
}
