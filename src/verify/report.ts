// The text and JSON forms of verifier answers, shared by the CLI (`sysfence verify ...`) and the
// playground, so both say exactly the same thing for the same question.
import type { Verdict, Counterexample } from "./relations.js";
import { Inconclusive } from "./symbolic.js";
import type { DiffResult } from "./diff.js";
import type { Finding } from "./lint.js";
import { formatRet } from "../engine/actions.js";
import { wrapLine } from "./minimise.js";

const hex = (v: bigint | number) => "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);

/** A counterexample as JSON: arch and syscall by name, values in hex, each side's result. */
export function counterexampleJson(cx: Counterexample, labels: string[]) {
  return {
    arch: cx.arch?.name ?? hex(cx.data.arch),
    syscall: cx.syscall ?? null,
    nr: cx.data.nr >>> 0,
    args: (cx.data.args ?? []).map(hex),
    ip: hex(cx.data.instructionPointer ?? 0n),
    results: Object.fromEntries(labels.map((l, i) => [l, formatRet(cx.results[i])])),
  };
}

/** The lines `verify subset|equal|stack --equals` prints for a verdict. */
export function verdictLines(what: string, v: Verdict | Inconclusive, labels: string[]): string[] {
  if (v instanceof Inconclusive) return [`${what}: inconclusive: ${v.reason}`];
  if (v.holds) return [`${what}: holds`];
  const cx = counterexampleJson(v.counterexample, labels);
  return [
    `${what}: does not hold`,
    `  counterexample: ${cx.arch} ${cx.syscall ?? "?"} (nr ${cx.nr})`,
    `    args ${cx.args.join(" ")}  ip ${cx.ip}`,
    ...Object.entries(cx.results).map(([l, r]) => `    ${l}: ${r}`),
  ];
}

/** The lines `verify diff` prints (without an inconclusive answer, which verdictLines covers). */
export function diffLines(r: Exclude<DiffResult, Inconclusive>, labels: string[]): string[] {
  if (r.entries.length === 0) return [`${labels[0]} and ${labels[1]}: no difference`];
  const out = [`A = ${labels[0]}`, `B = ${labels[1]}`];
  let arch = "";
  let note: string | undefined;
  for (const e of r.entries) {
    if (e.arch !== arch) {
      arch = e.arch;
      note = undefined;
      out.push(`${arch}:`);
    }
    // Entries sharing a cause (a stub's ENOSYS numbers) are listed under it, said once.
    if (e.note !== note) {
      note = e.note;
      if (note) out.push(`  ${note}:`);
    }
    const nr = e.nr[0] === e.nr[1] ? ` (${e.nr[0]})` : "";
    const indent = note ? "    " : "  ";
    out.push(wrapLine(`${indent}${e.syscall}${nr}: A ${e.a}, B ${e.b}${e.when === "always" ? "" : ` when ${e.when}`}`));
  }
  if (r.truncated) out.push("  … (more differences; use --json for the full list)");
  return out;
}

/** The lines `verify lint` prints for one filter's findings. */
export function lintLines(label: string, findings: readonly Finding[]): string[] {
  if (findings.length === 0) return [`${label}: clean`];
  return findings.map((x) => {
    const at = x.index !== undefined ? ` insn ${x.index}` : "";
    return `${label}:${at} ${x.severity} [${x.id}] ${x.message}\n    fix: ${x.hint}`;
  });
}
