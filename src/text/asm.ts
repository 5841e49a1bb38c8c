// The assembler: sysfence assembly text (docs/asm.md) to a program. It reads exactly what the
// disassembler prints (so disasm -> asm gives back the same bytes) and is pleasant to write by
// hand: labels, `next`, syscall names of the `.arch`, action names.
import { Program, type Insn } from "../engine/program.js";
import { findOpcode, Form } from "../engine/opcodes.js";
import { parseAction } from "../engine/actions.js";
import { ARCHES, type ArchInfo, type Endian } from "../syscalls/arches.js";
import { findArch } from "../syscalls/arches.js";
import { syscallNumber, resolveArch, type ArchLike } from "../syscalls/index.js";
import { InputError } from "../errors.js";
import { wordOffset, parseNum, LABEL_RE } from "./syntax.js";

export interface AsmOptions {
  /** Default ABI for unqualified syscall names (a `.arch` line overrides it). */
  arch?: ArchLike;
  /** Byte order for argument-half names (`.endian` or the arch's otherwise). */
  endian?: Endian;
  /** File name for error messages. */
  file?: string;
}

interface Pending {
  line: number;
  code: number;
  k: number;
  jt: number;
  jf: number;
  /** Jump targets still to resolve: JA uses `ja`, conditional jumps `t` and `f`. */
  ja?: string;
  t?: string;
  f?: string;
}

const ALU = new Set(["add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "xor"]);
const JCOND = new Set(["jeq", "jgt", "jge", "jset"]);

/** Longest line the assembler reads. */
export const MAX_LINE_CHARS = 4096;

/** Assembles text into a program; every error names the file and line. */
export function assemble(text: string, opts: AsmOptions = {}): Program {
  const file = opts.file ?? "<asm>";
  let arch = opts.arch === undefined ? undefined : resolveArch(opts.arch, "assemble: options.arch");
  let endian: Endian | undefined = opts.endian;
  const labels = new Map<string, number>();
  const out: Pending[] = [];
  const lines = text.split(/\r?\n/);

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const where = `${file}:${lineNo}`;
    const fail = (msg: string): never => {
      throw new InputError(msg, where);
    };
    // A statement is a few dozen characters; a longer line is not assembly text (and would make
    // the label and operand scans below cost its length squared).
    if (raw.length > MAX_LINE_CHARS) fail(`line longer than ${MAX_LINE_CHARS} characters`);
    let s = raw.replace(/;.*$/, "").trim();
    // Labels: `name:` or `0012:` before a statement, possibly several.
    for (;;) {
      const m = /^([A-Za-z_.$][\w.$]*|\d+):\s*/.exec(s);
      if (!m) break;
      if (labels.has(m[1])) fail(`label "${m[1]}" is defined twice`);
      labels.set(m[1], out.length);
      s = s.slice(m[0].length);
    }
    if (s === "") return;
    const sp = s.search(/\s/);
    const op = (sp < 0 ? s : s.slice(0, sp)).toLowerCase();
    const rest = sp < 0 ? "" : s.slice(sp + 1).trim();
    const operands = rest === "" ? [] : splitOperands(rest);

    if (op === ".arch") {
      const a = findArch(rest);
      if (!a) fail(`unknown arch "${rest}"`);
      arch = a;
      return;
    }
    if (op === ".endian") {
      if (rest !== "le" && rest !== "be") fail(`.endian takes le or be, not "${rest}"`);
      endian = rest as Endian;
      return;
    }
    const byteOrder = (): Endian => endian ?? arch?.endian ?? "le";
    const emit = (p: Omit<Pending, "line">) => out.push({ line: lineNo, ...p });
    const code = (mn: string, form: Form): number => {
      const o = findOpcode(mn, form);
      if (!o) fail(`"${mn}" has no form taking this operand`);
      return o!.code;
    };
    const imm = (t: string): number => constant(t, arch, where);
    const want = (n: number) => {
      if (operands.length !== n) fail(`${op} takes ${n} operand${n === 1 ? "" : "s"}, got ${operands.length}`);
    };

    if (op === ".insn") {
      want(4);
      const [c, jt, jf, k] = operands.map((t) => parseNum(t));
      if (c === undefined || c > 0xffff) fail(".insn code must be a 16-bit number");
      if (jt === undefined || jt > 255 || jf === undefined || jf > 255) fail(".insn jt and jf must be 0..255");
      if (k === undefined) fail(".insn k must be a 32-bit number");
      emit({ code: c!, jt: jt!, jf: jf!, k: k! });
      return;
    }
    if (op === "ld" || op === "ldx") {
      want(1);
      const t = operands[0];
      if (t.startsWith("#")) return emit({ code: code(op, Form.IMM), k: imm(t.slice(1)), jt: 0, jf: 0 });
      if (t === "len") return emit({ code: code(op, Form.LEN), k: 0, jt: 0, jf: 0 });
      const mem = /^M\[(\d+)\]$/i.exec(t);
      if (mem) return emit({ code: code(op, Form.MEM_LOAD), k: cell(mem[1], fail), jt: 0, jf: 0 });
      if (op === "ldx") fail(`ldx cannot load seccomp_data ("${t}")`);
      const off = wordOffset(t, byteOrder()) ?? rawOffset(t);
      if (off === undefined) fail(`"${t}" is not a load operand (nr, arch, ip.lo, args[0].hi, [k], #imm, M[i], len)`);
      return emit({ code: code("ld", Form.LD_ABS), k: off!, jt: 0, jf: 0 });
    }
    if (op === "st" || op === "stx") {
      want(1);
      const mem = /^M\[(\d+)\]$/i.exec(operands[0]);
      if (!mem) fail(`${op} stores to a scratch cell M[0]..M[15]`);
      return emit({ code: code(op, Form.MEM_STORE), k: cell(mem![1], fail), jt: 0, jf: 0 });
    }
    if (ALU.has(op)) {
      want(1);
      const t = operands[0];
      if (t.toLowerCase() === "x") return emit({ code: code(op, Form.ALU_X), k: 0, jt: 0, jf: 0 });
      if (!t.startsWith("#")) fail(`${op} takes #constant or x`);
      const form = op === "div" ? Form.ALU_DIV_K : op === "lsh" || op === "rsh" ? Form.ALU_SHIFT_K : Form.ALU_K;
      return emit({ code: code(op, form), k: imm(t.slice(1)), jt: 0, jf: 0 });
    }
    if (op === "neg") {
      want(0);
      return emit({ code: code(op, Form.NEG), k: 0, jt: 0, jf: 0 });
    }
    if (op === "tax" || op === "txa") {
      want(0);
      return emit({ code: code(op, Form.MISC), k: 0, jt: 0, jf: 0 });
    }
    if (op === "ja" || op === "jmp") {
      want(1);
      return emit({ code: code("ja", Form.JA), k: 0, jt: 0, jf: 0, ja: operands[0] });
    }
    if (JCOND.has(op)) {
      if (operands.length !== 2 && operands.length !== 3) fail(`${op} takes a value and one or two targets`);
      const [v, t, f = "next"] = operands;
      if (v.toLowerCase() === "x") return emit({ code: code(op, Form.JCOND_X), k: 0, jt: 0, jf: 0, t, f });
      if (!v.startsWith("#")) fail(`${op} compares with #constant or x`);
      return emit({ code: code(op, Form.JCOND_K), k: imm(v.slice(1)), jt: 0, jf: 0, t, f });
    }
    if (op === "ret") {
      want(1);
      const t = operands[0];
      if (t.toLowerCase() === "a") return emit({ code: code("ret", Form.RET_A), k: 0, jt: 0, jf: 0 });
      const k = t.startsWith("#") ? imm(t.slice(1)) : parseAction(t);
      if (k === undefined) fail(`"${t}" is not a return value (ALLOW, ERRNO(n), KILL_PROCESS, …, #value or a)`);
      return emit({ code: code("ret", Form.RET_K), k: k!, jt: 0, jf: 0 });
    }
    fail(`unknown instruction "${op}"`);
  });

  const insns: Insn[] = out.map((p, pc) => {
    const resolve = (target: string, max: number): number => {
      const where = `${file}:${p.line}`;
      let idx: number | undefined;
      if (target === "next") idx = pc + 1;
      else if (LABEL_RE.test(target)) idx = labels.get(target);
      if (idx === undefined) throw new InputError(`jump target "${target}" is not a label`, where);
      const off = idx - (pc + 1);
      if (off < 0) throw new InputError(`jump to "${target}" goes backwards; seccomp jumps only forward`, where);
      if (idx >= out.length) throw new InputError(`jump to "${target}" is past the last instruction`, where);
      if (off > max) {
        throw new InputError(`jump to "${target}" is ${off} instructions ahead; a conditional jump reaches at most 255 (use ja)`, where);
      }
      return off;
    };
    if (p.ja !== undefined) return { code: p.code, jt: 0, jf: 0, k: resolve(p.ja, 0xffffffff) };
    if (p.t !== undefined) return { code: p.code, jt: resolve(p.t, 255), jf: resolve(p.f!, 255), k: p.k };
    return { code: p.code, jt: p.jt, jf: p.jf, k: p.k };
  });
  if (insns.length === 0) throw new InputError("no instructions", file);
  return Program.fromInsns(insns);
}

/** Splits on commas outside brackets and parentheses. */
function splitOperands(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(" || ch === "[") depth++;
    if (ch === ")" || ch === "]") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  parts.push(cur.trim());
  return parts;
}

function cell(text: string, fail: (m: string) => never): number {
  const n = Number(text);
  if (n > 15) fail(`scratch cell M[${n}] does not exist (cells 0..15)`);
  return n;
}

function rawOffset(t: string): number | undefined {
  const m = /^\[(0x[0-9a-f]+|\d+)\]$/i.exec(t);
  return m ? parseNum(m[1]) : undefined;
}

/**
 * A constant: a number, an AUDIT_ARCH_* name, a syscall name of the current arch, or
 * `arch.name` for another arch's syscall (x32.read = 0x40000000).
 */
function constant(t: string, arch: ArchInfo | undefined, where: string): number {
  const n = parseNum(t);
  if (n !== undefined) return n;
  const tok = ARCHES.find((a) => a.tokenName === t);
  if (tok) return tok.token;
  const dot = t.indexOf(".");
  if (dot > 0) {
    const a = findArch(t.slice(0, dot));
    if (a) {
      const nr = syscallNumber(a, t.slice(dot + 1));
      if (nr === undefined) throw new InputError(`unknown syscall "${t.slice(dot + 1)}" for arch ${a.name}`, where);
      return nr >>> 0;
    }
  }
  if (/^[a-z_][a-z0-9_]*$/.test(t)) {
    if (!arch) throw new InputError(`syscall name "${t}" needs an arch: add a .arch line or pass --arch`, where);
    const nr = syscallNumber(arch, t);
    if (nr === undefined) throw new InputError(`unknown syscall "${t}" for arch ${arch.name}`, where);
    return nr >>> 0;
  }
  throw new InputError(`"${t}" is not a constant`, where);
}
