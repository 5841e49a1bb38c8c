// The disassembler: a program to sysfence assembly text (docs/asm.md) with symbolic names:
// loads as `nr`, `arch`, `ip.lo`, `args[i].hi`; syscall numbers as names of the arch the path
// has established; arch tokens as AUDIT_ARCH_*; results as ALLOW, ERRNO(1), …; jump targets as
// absolute instruction numbers, which are also the labels of the lines they point at.
// The output assembles back to the same bytes (test/text.test.ts proves it on random programs).
import type { Program, Insn } from "../engine/program.js";
import { opcodeInfo, Form, successors, type OpcodeInfo } from "../engine/opcodes.js";
import { decodeRet, formatResult } from "../engine/actions.js";
import { ARCHES, archesByToken, type ArchInfo, type Endian } from "../syscalls/arches.js";
import { syscallName, syscallNumber, resolveArch, type ArchLike } from "../syscalls/index.js";
import { wordName, num } from "./syntax.js";
import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";

export interface DisasmOptions {
  /** The ABI whose syscall names are printed unqualified; inferred from the arch check if absent. */
  arch?: ArchLike;
  /** Byte order for naming argument halves; defaults to the arch's. */
  endian?: Endian;
  /** Print the `.arch` directive and a header comment (default true). */
  header?: boolean;
}

/** What the accumulator is known to hold at an instruction, and which arch the path checked. */
export interface State {
  a: "nr" | "arch" | "other";
  token: number | undefined;
}

function merge(x: State | undefined, y: State): State {
  if (!x) return y;
  return { a: x.a === y.a ? x.a : "other", token: x.token === y.token ? x.token : undefined };
}

/** Forward data flow over the (loop-free) program: the state on entry to each instruction. */
export function flow(insns: Insn[]): (State | undefined)[] {
  const st: (State | undefined)[] = new Array(insns.length).fill(undefined);
  if (insns.length) st[0] = { a: "other", token: undefined };
  insns.forEach((ins, pc) => {
    const s = st[pc];
    if (!s) return; // unreachable
    const info = opcodeInfo(ins.code);
    const to = (target: number, v: State) => {
      if (target < insns.length) st[target] = merge(st[target], v);
    };
    if (!info) return;
    let next: State = s;
    switch (info.form) {
      case Form.LD_ABS:
        next = { a: ins.k === 0 ? "nr" : ins.k === 4 ? "arch" : "other", token: s.token };
        break;
      case Form.JCOND_K: {
        // The true branch of `jeq #token` on the arch word knows the arch.
        if (info.mnemonic !== "jeq" || s.a !== "arch") break;
        const [t, f] = successors(ins, pc).map((s) => s.to);
        to(t, { a: s.a, token: ins.k >>> 0 });
        to(f, s);
        return;
      }
      case Form.LEN: case Form.IMM: case Form.MEM_LOAD: case Form.ALU_K: case Form.ALU_DIV_K:
      case Form.ALU_SHIFT_K: case Form.ALU_X: case Form.NEG: case Form.MISC:
        // Anything that writes A forgets what it held; LDX/ST/STX/TAX leave A alone.
        if (info.mnemonic === "ldx" || info.mnemonic === "tax") next = s;
        else next = { a: "other", token: s.token };
        break;
      default:
        break;
    }
    for (const { to: t } of successors(ins, pc)) to(t, next);
  });
  return st;
}

/** Every arch token the program compares the arch word with (`jeq`), in program order. */
export function archTokens(p: Program): number[] {
  const insns = p.insns();
  const st = flow(insns);
  const out: number[] = [];
  insns.forEach((ins, pc) => {
    const info = opcodeInfo(ins.code);
    if (info?.form === Form.JCOND_K && info.mnemonic === "jeq" && st[pc]?.a === "arch" && !out.includes(ins.k >>> 0)) {
      out.push(ins.k >>> 0);
    }
  });
  return out;
}

/** The arch a program checks first (the first `jeq` on the arch word), if any. */
export function inferArch(p: Program): ArchInfo | undefined {
  const insns = p.insns();
  const st = flow(insns);
  for (let pc = 0; pc < insns.length; pc++) {
    const info = opcodeInfo(insns[pc].code);
    if (info?.form === Form.JCOND_K && info.mnemonic === "jeq" && st[pc]?.a === "arch") {
      const a = archesByToken(insns[pc].k)[0];
      if (a) return a;
    }
  }
  return undefined;
}

/** Syscall constant text for nr on a path whose arch token is known. */
function syscallConst(nr: number, token: number | undefined, def: ArchInfo | undefined): string | undefined {
  let candidates = token === undefined ? (def ? [def] : []) : archesByToken(token);
  // x86_64's token is shared with x32; the 0x40000000 bit of nr says which.
  if (candidates.length > 1) {
    candidates = candidates.filter((a) => (a.nrBase === X32_SYSCALL_BIT) === ((nr & X32_SYSCALL_BIT) !== 0));
  }
  for (const a of candidates) {
    const name = syscallName(a, nr);
    if (name === undefined) continue;
    // Only print a name that reads back as the same number.
    if (syscallNumber(a, name) !== nr >>> 0) continue;
    return def && a.name === def.name ? name : `${a.name}.${name}`;
  }
  return undefined;
}

function archConst(k: number): string | undefined {
  const a = ARCHES.find((x) => x.token === k >>> 0);
  return a?.tokenName;
}

/** True when the instruction prints in canonical form (otherwise `.insn`). */
function canonical(ins: Insn, info: OpcodeInfo | undefined, len: number, pc: number): boolean {
  if (!info) return false;
  const isCond = info.form === Form.JCOND_K || info.form === Form.JCOND_X;
  if (!isCond && (ins.jt !== 0 || ins.jf !== 0)) return false;
  switch (info.form) {
    case Form.LD_ABS: return ins.k < 64 && ins.k % 4 === 0;
    case Form.MEM_LOAD: case Form.MEM_STORE: return ins.k < 16;
    case Form.ALU_SHIFT_K: return ins.k < 32;
    case Form.ALU_DIV_K: return ins.k !== 0;
    case Form.JA: case Form.JCOND_K: return successors(ins, pc).every((s) => s.to < len);
    case Form.JCOND_X: return ins.k === 0 && successors(ins, pc).every((s) => s.to < len);
    case Form.LEN: case Form.NEG: case Form.MISC: case Form.ALU_X: case Form.RET_A:
      return ins.k === 0;
    default: return true;
  }
}

function label(pc: number): string {
  return String(pc).padStart(4, "0");
}

function retText(k: number): string {
  const v = decodeRet(k);
  if (v.unknown) return "#" + num(k);
  const text = formatResult(v);
  // Data bits on actions that print without data would be lost: print the raw value.
  if (!text.includes("(") && v.data !== 0) return "#" + num(k);
  return text;
}

/** One instruction's text (without its label). */
export function insnText(ins: Insn, pc: number, len: number, st: State | undefined, def: ArchInfo | undefined, endian: Endian): string {
  const info = opcodeInfo(ins.code);
  if (!canonical(ins, info, len, pc)) {
    return `.insn 0x${ins.code.toString(16).padStart(2, "0")}, ${ins.jt}, ${ins.jf}, 0x${(ins.k >>> 0).toString(16)}`;
  }
  const m = info!.mnemonic;
  const k = ins.k >>> 0;
  switch (info!.form) {
    case Form.LD_ABS: return `${m} ${wordName(k, endian)}`;
    case Form.LEN: return `${m} len`;
    case Form.IMM: return `${m} #${num(k)}`;
    case Form.MEM_LOAD: case Form.MEM_STORE: return `${m} M[${k}]`;
    case Form.ALU_K: case Form.ALU_DIV_K: case Form.ALU_SHIFT_K: return `${m} #${num(k)}`;
    case Form.ALU_X: return `${m} x`;
    case Form.NEG: case Form.MISC: return m;
    case Form.JA: return `${m} ${label(pc + 1 + k)}`;
    case Form.JCOND_K: {
      let c: string | undefined;
      if (m === "jeq" && st?.a === "nr") c = syscallConst(k, st.token, def);
      if (m === "jeq" && st?.a === "arch") c = archConst(k);
      return `${m} #${c ?? num(k)}, ${label(pc + 1 + ins.jt)}, ${label(pc + 1 + ins.jf)}`;
    }
    case Form.JCOND_X: return `${m} x, ${label(pc + 1 + ins.jt)}, ${label(pc + 1 + ins.jf)}`;
    case Form.RET_K: return `${m} ${retText(k)}`;
    case Form.RET_A: return `${m} a`;
    default: return `.insn 0x${ins.code.toString(16)}, ${ins.jt}, ${ins.jf}, 0x${k.toString(16)}`;
  }
}

/** Disassembles a whole program. */
export function disassemble(p: Program, opts: DisasmOptions = {}): string {
  const insns = p.insns();
  const def = opts.arch === undefined ? inferArch(p) : resolveArch(opts.arch, "disassemble: options.arch");
  const endian = opts.endian ?? def?.endian ?? "le";
  const st = flow(insns);
  const lines: string[] = [];
  if (opts.header !== false) {
    lines.push(`; sysfence disassembly: ${insns.length} instructions${def ? "" : ", no arch check found"}`);
    if (def) lines.push(`.arch ${def.name}`);
    else if (endian === "be") lines.push(".endian be");
  }
  insns.forEach((ins, pc) => {
    const reach = st[pc] ? "" : "    ; unreachable";
    lines.push(`${label(pc)}: ${insnText(ins, pc, insns.length, st[pc], def, endian)}${reach}`);
  });
  return lines.join("\n") + "\n";
}
