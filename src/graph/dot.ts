// Graphviz DOT text for a program graph (src/graph/cfg.ts) and for a decompiled policy
// (src/graph/policy.ts). The output is deterministic (golden-tested): nodes and edges in
// instruction order, no timestamps, fixed styling.
import type { ProgramGraph, RetKind } from "./cfg.js";

/** Fill colours by action family: green allows, red kills, amber errno, the rest distinct. */
export const RET_COLOURS: Record<RetKind, string> = {
  allow: "#c8e6c9",
  errno: "#ffe0b2",
  kill: "#ffcdd2",
  trap: "#e1bee7",
  trace: "#bbdefb",
  log: "#b2ebf2",
  notify: "#d1c4e9",
  a: "#eeeeee",
};

/** A DOT double-quoted string. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** Lines of a record-like label, left-aligned (DOT's `\l` line ends). */
export function leftLines(lines: string[]): string {
  const body = lines.map((l) => l.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).join("\\l");
  return `"${body}\\l"`;
}

/** Wraps a comma-separated list into lines of at most `width` characters. */
export function wrapList(text: string, width = 48): string[] {
  const parts = text.split(", ");
  const lines: string[] = [];
  let cur = "";
  for (const p of parts) {
    const next = cur ? `${cur}, ${p}` : p;
    if (next.length > width && cur) {
      lines.push(cur + ",");
      cur = p;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

const HEADER = [
  "  rankdir=TB;",
  '  node [shape=box, fontname="Courier", fontsize=10, style=filled, fillcolor="#ffffff"];',
  '  edge [fontname="Courier", fontsize=9];',
];

const PATH_COLOUR = "#c62828";

/**
 * DOT for a program graph; `title` names the filter in the graph's label. With `path` (the
 * executed instructions of one input, src/engine/path.ts), the nodes and edges it goes through
 * are drawn bold in red.
 */
export function programDot(g: ProgramGraph, title: string, opts: { path?: readonly number[] } = {}): string {
  const onPath = new Set<string>();
  const pathEdges = new Set<string>();
  if (opts.path) {
    const nodes = opts.path.map((pc) => g.owner[pc]);
    nodes.forEach((id, i) => {
      onPath.add(id);
      if (i > 0 && nodes[i - 1] !== id) pathEdges.add(`${nodes[i - 1]}->${id}`);
    });
  }
  const mark = (id: string) => (onPath.has(id) ? `, penwidth=3, color="${PATH_COLOUR}"` : "");
  const out: string[] = [`digraph ${dotString(title)} {`, ...HEADER];
  const heading = `${title}: ${g.length} instructions${g.arch ? `, ${g.arch}` : ""}`;
  out.push(`  label=${dotString(heading)}; labelloc=t; fontname="Courier";`);
  for (const d of g.dispatches) {
    const text = [`syscall dispatch at ${String(d.start).padStart(4, "0")}`, `${d.compares} comparisons of nr${d.arch ? ` (${d.arch})` : ""}`];
    out.push(`  ${d.id} [shape=hexagon, fillcolor="#fff9c4"${mark(d.id)}, label=${dotString(text.join("\n"))}];`);
  }
  for (const b of g.blocks) {
    const fill = b.ret ? RET_COLOURS[b.ret] : b.unreachable ? "#f5f5f5" : "#ffffff";
    const extra = b.unreachable ? ', style="filled,dashed"' : "";
    out.push(`  ${b.id} [fillcolor="${fill}"${extra}${mark(b.id)}, label=${leftLines(b.lines)}];`);
  }
  for (const e of g.edges) {
    const attrs: string[] = [];
    if (e.kind === "dispatch") attrs.push(`label=${leftLines(wrapList(e.label))}`);
    else if (e.label) attrs.push(`label=${dotString(e.label)}`);
    if (e.kind === "false") attrs.push("style=dashed");
    if (pathEdges.has(`${e.from}->${e.to}`)) attrs.push(`penwidth=3, color="${PATH_COLOUR}"`);
    else if (e.kind === "true") attrs.push('color="#2e7d32"');
    out.push(`  ${e.from} -> ${e.to}${attrs.length ? ` [${attrs.join(", ")}]` : ""};`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
