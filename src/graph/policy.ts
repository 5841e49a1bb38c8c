// The picture of a policy (a decompiled filter or a policy file): arch → syscalls grouped by
// action → argument conditions. Syscalls whose only rule is unconditional are listed together
// under their action; syscalls with argument conditions get a node of their own that lists each
// rule as the policy states it, then what happens otherwise.
import type { PolicyIR, ArgCondition, SyscallPolicy } from "../policy/ir.js";
import { formatRet } from "../engine/actions.js";
import { dotString, leftLines, wrapList, RET_COLOURS } from "./dot.js";
import { retKindOf } from "./cfg.js";

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
      if (s.rules.every((r) => r.conditions.length)) lines.push(`otherwise ${formatRet(sec.defaultAction)}`);
      const acts = new Set(s.rules.map((r) => r.action));
      const fill = acts.size === 1 ? colour([...acts][0]) : "#ffffff";
      out.push(`  ${id} [fillcolor="${fill}", label=${leftLines(lines)}];`);
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
