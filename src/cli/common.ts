// Pieces shared by the CLI commands: loading FILTER arguments, choosing an arch, printing.
import { writeSync } from "node:fs";
import { loadFilters, parseFilterSpec, isLiveSpec, type LoadedFilter } from "../formats/detect.js";
import { resolveArch, type ArchInfo } from "../syscalls/index.js";
import { InputError } from "../errors.js";

export interface FilterArgOptions {
  thread?: string;
  arch?: string;
  endian?: string;
}

/** Writes to stdout synchronously, so output is complete before process.exit. */
export function out(text: string): void {
  writeSync(1, text.endsWith("\n") ? text : text + "\n");
}

export function err(text: string): void {
  writeSync(2, text.endsWith("\n") ? text : text + "\n");
}

export function archOption(name: string | undefined): ArchInfo | undefined {
  return name === undefined ? undefined : resolveArch(name, "--arch");
}

function endianOption(e: string | undefined): "le" | "be" | undefined {
  if (e === undefined) return undefined;
  if (e !== "le" && e !== "be") throw new InputError(`--endian takes le or be, not "${e}"`);
  return e;
}

/** Every program named by FILTER arguments (`FILE`, `T@FILE`, with --thread/--arch/--endian). */
export function loadFilterArgs(specs: string[], o: FilterArgOptions): LoadedFilter[] {
  const arch = archOption(o.arch);
  const endian = endianOption(o.endian);
  const all: LoadedFilter[] = [];
  for (const spec of specs) {
    const { file, thread } = parseFilterSpec(spec);
    all.push(...loadFilters(file, { thread: thread ?? o.thread, arch, endian }));
  }
  return all;
}

/**
 * Exactly one program per FILTER argument, for commands that combine filters (run and replay
 * stacks, verify's pairs and stacks): a map or policy with several threads needs one picked.
 */
export function loadOneEach(specs: string[], o: FilterArgOptions): LoadedFilter[] {
  return specs.map((spec) => {
    const list = loadFilterArgs([spec], o);
    if (list.length !== 1 && isLiveSpec(spec)) {
      throw new InputError(
        `is a stack of ${list.length} filters: pick one with N@${spec} (0 = oldest), or compare the whole stack with \`verify stack ${spec} --equals B\``,
        spec,
      );
    }
    if (list.length !== 1) {
      const threads = list.map((f) => f.thread).join(", ");
      throw new InputError(`holds ${list.length} filters (${threads}); this command combines one filter per FILTER argument: pick a thread with --thread T or T@FILE`, spec);
    }
    return list[0];
  });
}

/** A stack, oldest first: one program per FILTER, except `pid:` which gives its whole stack. */
export function loadStackArgs(specs: string[], o: FilterArgOptions): LoadedFilter[] {
  return specs.flatMap((spec) => (isLiveSpec(spec) ? loadFilterArgs([spec], o) : loadOneEach([spec], o)));
}

export function filterLabel(f: LoadedFilter): string {
  return f.thread === undefined ? f.file : `${f.file}[${f.thread}]`;
}
