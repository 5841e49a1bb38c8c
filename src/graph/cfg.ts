// A program's control flow as a graph of basic blocks, for `sysfence graph` and the playground.
//
// Blocks are maximal straight-line runs: a new block starts at instruction 0, at every jump
// target and after every jump or return. Each block keeps the disassembly's symbolic text of its
// instructions (the same names `sysfence disasm` prints), and each edge the condition under which
// it is taken, written from the comparison (`== read`, `> 0x3ff`, `& 0x4`, ...).
//
// Folding: a real filter spends most of its instructions on the syscall dispatch (a tree or a
// chain of comparisons of the syscall number). With `fold`, every maximal region of such
// comparisons becomes one dispatch node, and its exits are labelled with the syscall numbers
// (by name, in the ABI the path checked) that reach each one. The sets come from an exact walk
// of unsigned intervals through the region's jeq/jgt/jge tests, so a 1,000-instruction filter
// draws as a handful of nodes whose labels say which syscalls go where.
import type { Program, Insn } from "../engine/program.js";
import { opcodeInfo, Form, successors, type EdgeKind } from "../engine/opcodes.js";
import { decodeRet } from "../engine/actions.js";
import { flow, insnText, inferArch, type State } from "../text/disasm.js";
import { archesByToken, type ArchInfo } from "../syscalls/arches.js";
import { syscallName, syscallCount } from "../syscalls/index.js";

/** The action family a return block shows (its colour in the picture). */
export type RetKind = "allow" | "errno" | "kill" | "trap" | "trace" | "log" | "notify" | "a";

export interface GraphBlock {
  /** Node id, unique in the graph. */
  id: string;
  /** First and last instruction (inclusive). */
  start: number;
  end: number;
  /** Disassembly of the instructions, one line each, label first. */
  lines: string[];
  /** Set for blocks ending in a return. */
  ret?: RetKind;
  /** True when no path from the entry reaches the block. */
  unreachable: boolean;
}

export interface GraphDispatch {
  id: string;
  /** First instruction of the folded region and how many comparisons it holds. */
  start: number;
  compares: number;
  /** The ABI whose names label the exits, when the path checked one. */
  arch?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  label: string;
  /** "true" / "false" branch of a comparison, "jump", "next" (fall-through) or "dispatch". */
  kind: EdgeKind | "dispatch";
}

export interface ProgramGraph {
  blocks: GraphBlock[];
  dispatches: GraphDispatch[];
  edges: GraphEdge[];
  /** The ABI used for syscall names. */
  arch?: string;
  length: number;
  /** The node (block or dispatch) each instruction is drawn in. */
  owner: string[];
}

export interface GraphOptions {
  /** Fold syscall-number comparisons into dispatch nodes (default true). */
  fold?: boolean;
  /** ABI for syscall names (default: the program's first arch check). */
  arch?: ArchInfo;
  /** At most this many syscall names listed on one dispatch edge before "+N more" (default 12). */
  maxNames?: number;
}

const U32 = 0x1_0000_0000;

/** The action family of a return value (unknown action values are kills, as in the kernel). */
export function retKindOf(ret: number): RetKind {
  const v = decodeRet(ret);
  if (v.unknown) return "kill";
  switch (v.action) {
    case "ALLOW": return "allow";
    case "ERRNO": return "errno";
    case "TRAP": return "trap";
    case "TRACE": return "trace";
    case "LOG": return "log";
    case "USER_NOTIF": return "notify";
    default: return "kill";
  }
}

function retKind(ins: Insn): RetKind | undefined {
  const info = opcodeInfo(ins.code);
  if (info?.form === Form.RET_A) return "a";
  return info?.form === Form.RET_K ? retKindOf(ins.k) : undefined;
}

/** The condition text of a conditional jump's true branch and of its false branch. */
function branchLabels(ins: Insn, text: string): [string, string] {
  const info = opcodeInfo(ins.code)!;
  // The operand as the disassembler printed it (a syscall name, an AUDIT_ARCH_ token, a number).
  const m = /^\S+ (#[^,]+|x),/.exec(text);
  const operand = m ? m[1].replace(/^#/, "") : `0x${(ins.k >>> 0).toString(16)}`;
  switch (info.mnemonic) {
    case "jeq": return [`== ${operand}`, `!= ${operand}`];
    case "jgt": return [`> ${operand}`, `<= ${operand}`];
    case "jge": return [`>= ${operand}`, `< ${operand}`];
    case "jset": return [`& ${operand}`, `& ${operand} == 0`];
    default: return [info.mnemonic, `not ${info.mnemonic}`];
  }
}

/** Is `pc` a comparison of the syscall number with a constant that the interval walk follows? */
function isDispatch(insns: Insn[], st: (State | undefined)[], pc: number): boolean {
  const s = st[pc];
  if (!s || s.a !== "nr") return false;
  const info = opcodeInfo(insns[pc].code);
  return info?.form === Form.JCOND_K && (info.mnemonic === "jeq" || info.mnemonic === "jgt" || info.mnemonic === "jge");
}

type Interval = [number, number]; // inclusive, unsigned 32-bit, lo <= hi

function clip(set: Interval[], lo: number, hi: number): Interval[] {
  const out: Interval[] = [];
  for (const [a, b] of set) {
    const x = Math.max(a, lo), y = Math.min(b, hi);
    if (x <= y) out.push([x, y]);
  }
  return out;
}

function without(set: Interval[], k: number): Interval[] {
  const out: Interval[] = [];
  for (const [a, b] of set) {
    if (k < a || k > b) out.push([a, b]);
    else {
      if (a < k) out.push([a, k - 1]);
      if (k < b) out.push([k + 1, b]);
    }
  }
  return out;
}

function union(x: Interval[], y: Interval[]): Interval[] {
  const all = [...x, ...y].sort((p, q) => p[0] - q[0]);
  const out: Interval[] = [];
  for (const iv of all) {
    const last = out[out.length - 1];
    if (last && iv[0] <= last[1] + 1) last[1] = Math.max(last[1], iv[1]);
    else out.push([iv[0], iv[1]]);
  }
  return out;
}

/**
 * The exits of the dispatch region entered at `entry`: for each first non-dispatch instruction
 * reached (or other region entry), the syscall numbers that reach it. Exact for the jeq/jgt/jge-on-K tests the region
 * is made of (a region is loop-free: jumps go forward).
 */
function dispatchExits(insns: Insn[], st: (State | undefined)[], entry: number, entries: Set<number>): { exits: Map<number, Interval[]>; members: number[] } {
  const at = new Map<number, Interval[]>([[entry, [[0, U32 - 1]]]]);
  const exits = new Map<number, Interval[]>();
  const members: number[] = [];
  // Forward jumps only, so visiting in instruction order sees every predecessor first.
  const pending = [entry];
  const seen = new Set<number>([entry]);
  while (pending.length) {
    pending.sort((a, b) => a - b);
    const pc = pending.shift()!;
    const set = at.get(pc)!;
    // Another region's entry is an exit of this one (it gets its own node).
    if (!isDispatch(insns, st, pc) || (pc !== entry && entries.has(pc))) {
      if (set.length) exits.set(pc, union(exits.get(pc) ?? [], set));
      continue;
    }
    members.push(pc);
    const ins = insns[pc];
    const k = ins.k >>> 0;
    const mn = opcodeInfo(ins.code)!.mnemonic;
    let t: Interval[], f: Interval[];
    if (mn === "jeq") {
      t = clip(set, k, k);
      f = without(set, k);
    } else if (mn === "jgt") {
      t = k === U32 - 1 ? [] : clip(set, k + 1, U32 - 1);
      f = clip(set, 0, k);
    } else {
      t = clip(set, k, U32 - 1);
      f = k === 0 ? [] : clip(set, 0, k - 1);
    }
    for (const { to, kind } of successors(ins, pc)) {
      const part = kind === "true" ? t : f;
      if (!part.length) continue;
      at.set(to, union(at.get(to) ?? [], part));
      if (!seen.has(to)) {
        seen.add(to);
        pending.push(to);
      }
    }
  }
  return { exits, members };
}

/** "read, write, open" or "fork..vfork (57..58)", with at most `max` names. */
export function describeNumbers(set: Interval[], arch: ArchInfo | undefined, max: number): string {
  // Numbers of an ABI that shares the arch token (x32 under x86_64) print qualified: x32.read.
  const siblings = arch ? archesByToken(arch.token).filter((a) => a.name !== arch.name) : [];
  const name = (n: number) => {
    const own = arch && syscallName(arch, n);
    if (own) return own;
    for (const a of siblings) {
      const other = syscallName(a, n);
      if (other) return `${a.name}.${other}`;
    }
    return String(n);
  };
  const parts: string[] = [];
  let count = 0;
  for (const [lo, hi] of set) {
    if (hi - lo < 4) {
      for (let n = lo; n <= hi; n++) parts.push(name(n));
    } else if (hi === U32 - 1) {
      parts.push(`>= ${lo >= 0x1000 ? "0x" + lo.toString(16) : lo}`);
    } else {
      parts.push(`${name(lo)}..${name(hi)} (${hi - lo + 1})`);
    }
    count = parts.length;
  }
  if (count > max) return `${parts.slice(0, max).join(", ")}, +${count - max} more`;
  return parts.join(", ");
}

/** The ABI whose names label a dispatch: the arch the path checked, else the default. */
function namesFor(s: State | undefined, def: ArchInfo | undefined): ArchInfo | undefined {
  if (s?.token === undefined) return def;
  const abis = archesByToken(s.token);
  return abis.find((a) => a.name === def?.name) ?? abis.find((a) => a.nrBase === 0) ?? abis[0] ?? def;
}

/** Builds the graph of a program. */
export function programGraph(p: Program, opts: GraphOptions = {}): ProgramGraph {
  const insns = p.insns();
  const n = insns.length;
  const arch = opts.arch ?? inferArch(p);
  const endian = arch?.endian ?? "le";
  const st = flow(insns);
  const fold = opts.fold !== false;
  const maxNames = opts.maxNames ?? 12;
  const text = insns.map((ins, pc) => insnText(ins, pc, n, st[pc], arch, endian));

  // Dispatch regions: entered where a dispatch comparison is reached from a non-dispatch
  // instruction (or is the program's first instruction).
  const inRegion = new Map<number, number>(); // pc -> region entry
  const regions = new Map<number, { exits: Map<number, Interval[]>; members: number[] }>();
  if (fold) {
    const preds: number[][] = insns.map(() => []);
    insns.forEach((ins, pc) => {
      for (const s of successors(ins, pc)) if (s.to < n) preds[s.to].push(pc);
    });
    const entries = new Set<number>();
    for (let pc = 0; pc < n; pc++) {
      if (isDispatch(insns, st, pc) && (pc === 0 || preds[pc].some((q) => !isDispatch(insns, st, q)))) entries.add(pc);
    }
    for (const pc of entries) {
      const r = dispatchExits(insns, st, pc, entries);
      regions.set(pc, r);
      for (const m of r.members) inRegion.set(m, pc);
    }
  }

  // Block leaders.
  const leader = new Array<boolean>(n).fill(false);
  if (n) leader[0] = true;
  insns.forEach((ins, pc) => {
    const succ = successors(ins, pc);
    const isJump = succ.length !== 1 || succ[0].kind !== "next";
    for (const s of succ) if (s.kind !== "next" && s.to < n) leader[s.to] = true;
    if (isJump && pc + 1 < n) leader[pc + 1] = true;
    if (inRegion.has(pc)) {
      leader[pc] = true;
      if (pc + 1 < n) leader[pc + 1] = true;
    }
  });
  for (const r of regions.values()) for (const exit of r.exits.keys()) if (exit < n) leader[exit] = true;

  const blockAt = new Map<number, string>();
  const blocks: GraphBlock[] = [];
  const dispatches: GraphDispatch[] = [];
  const edges: GraphEdge[] = [];
  const pad = (pc: number) => String(pc).padStart(4, "0");
  for (let pc = 0; pc < n; ) {
    if (inRegion.has(pc)) {
      if (regions.has(pc)) {
        const r = regions.get(pc)!;
        dispatches.push({ id: `d${pc}`, start: pc, compares: r.members.length, arch: namesFor(st[pc], arch)?.name });
        blockAt.set(pc, `d${pc}`);
      }
      pc++;
      continue;
    }
    let end = pc;
    while (end + 1 < n && !leader[end + 1]) end++;
    const id = `b${pc}`;
    blocks.push({
      id,
      start: pc,
      end,
      lines: text.slice(pc, end + 1).map((t, i) => `${pad(pc + i)}: ${t}`),
      ret: retKind(insns[end]),
      unreachable: !st[pc],
    });
    for (let q = pc; q <= end; q++) blockAt.set(q, id);
    pc = end + 1;
  }

  // Edges from ordinary blocks.
  for (const b of blocks) {
    const ins = insns[b.end];
    const succ = successors(ins, b.end);
    const labels = succ.length === 2 ? branchLabels(ins, text[b.end]) : ["", ""];
    succ.forEach((s, i) => {
      if (s.to >= n) return;
      const to = blockAt.get(s.to);
      if (to) edges.push({ from: b.id, to, label: succ.length === 2 ? labels[i] : "", kind: s.kind });
    });
  }
  // Edges from dispatch nodes: one per exit, labelled with the numbers that take it.
  for (const d of dispatches) {
    const r = regions.get(d.start)!;
    const abi = namesFor(st[d.start], arch);
    const exits = [...r.exits].sort((x, y) => x[0] - y[0]);
    // The exit most numbers take is the region's default: say "every other number" there
    // rather than listing hundreds of syscalls the policy never names.
    // Counted within the ABI's syscall table (numbers past it are rarely the policy's subject).
    const base = abi ? abi.nrBase >>> 0 : 0;
    const top = abi ? base + syscallCount(abi) - 1 : U32 - 1;
    const size = (set: Interval[]) => clip(set, base, top).reduce((t, [lo, hi]) => t + (hi - lo + 1), 0);
    let widest = -1;
    exits.forEach(([, set], i) => {
      if (widest < 0 || size(set) > size(exits[widest][1])) widest = i;
    });
    exits.forEach(([exit, set], i) => {
      const to = blockAt.get(exit);
      if (!to) return;
      const label = i === widest && exits.length > 1 ? "every other nr" : describeNumbers(set, abi, maxNames);
      edges.push({ from: d.id, to, label, kind: "dispatch" });
    });
  }
  const owner = insns.map((_, pc) => blockAt.get(pc) ?? `d${inRegion.get(pc)}`);
  return { blocks, dispatches, edges, arch: arch?.name, length: n, owner };
}
