// C source/header containers: `struct sock_filter NAME[] = { ... };` arrays.
//
// Writing: a self-contained header (`#include <linux/filter.h>`, the array as numeric tuples, a
// length define and a `struct sock_fprog`), the form people paste into launchers and tests.
//
// Reading: filters embedded in C are written in many styles, and a reader that understood only
// our own output would be of little use. Accepted:
//   - numeric tuples `{ 0x20, 0, 0, 0x00000004 }` (decimal, hex, octal; designated
//     `{ .code = …, .jt = …, .jf = …, .k = … }` too), as written by this module and by tools that
//     print sock_filter arrays;
//   - the uapi macros BPF_STMT(code, k) / BPF_JUMP(code, k, jt, jf) with the BPF_* field
//     constants, SECCOMP_RET_*, AUDIT_ARCH_*, errno names, offsetof(struct seccomp_data, …),
//     __NR_name / SYS_name (needs an arch), and C integer arithmetic with casts;
//   - byte arrays `unsigned char NAME[] = {32,0,0,0,4,0,0,0, …}` (seccomp-tools' `carray`
//     output), in the target's byte order, read only when the file has no sock_filter array;
//   - the file's own `#define`s (object- and function-like, `##`, variadic) and conditional
//     blocks (`#if`/`#ifdef`/`#elif`/`#else`/`#endif`), since real filters hide their
//     instructions behind helper macros such as ALLOW_SYSCALL(name).
// This is deliberately not a C compiler: no #include is followed, and anything the evaluator
// does not know is an error naming the file and line, never a guess.
//
// offsetof(struct seccomp_data, args[i]) is 16 + 8i, the start of the 64-bit field. On a
// little-endian target that word is the low half (docs/formats.md / docs/kernel.md section 2); C
// code for big-endian targets adds 4 itself, and so does the arithmetic here.
import { disassemble } from "../text/disasm.js";
import { InputError } from "../errors.js";
import { Program, type Insn } from "../engine/program.js";
import { ARCHES, type ArchInfo, type Endian } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";

// ---------------------------------------------------------------------------------------------
// Constants the reader knows without seeing any #include.

const BPF_CONSTANTS: Record<string, number> = {
  // classes
  BPF_LD: 0x00, BPF_LDX: 0x01, BPF_ST: 0x02, BPF_STX: 0x03, BPF_ALU: 0x04, BPF_JMP: 0x05,
  BPF_RET: 0x06, BPF_MISC: 0x07,
  // sizes and modes
  BPF_W: 0x00, BPF_H: 0x08, BPF_B: 0x10,
  BPF_IMM: 0x00, BPF_ABS: 0x20, BPF_IND: 0x40, BPF_MEM: 0x60, BPF_LEN: 0x80, BPF_MSH: 0xa0,
  // ALU and jump ops, sources
  BPF_ADD: 0x00, BPF_SUB: 0x10, BPF_MUL: 0x20, BPF_DIV: 0x30, BPF_OR: 0x40, BPF_AND: 0x50,
  BPF_LSH: 0x60, BPF_RSH: 0x70, BPF_NEG: 0x80, BPF_MOD: 0x90, BPF_XOR: 0xa0,
  BPF_JA: 0x00, BPF_JEQ: 0x10, BPF_JGT: 0x20, BPF_JGE: 0x30, BPF_JSET: 0x40,
  BPF_K: 0x00, BPF_X: 0x08, BPF_A: 0x10,
  BPF_TAX: 0x00, BPF_TXA: 0x80,
  BPF_MAXINSNS: 4096, BPF_MEMWORDS: 16,
  // seccomp actions (uapi/linux/seccomp.h)
  SECCOMP_RET_KILL_PROCESS: 0x80000000, SECCOMP_RET_KILL_THREAD: 0x00000000,
  SECCOMP_RET_KILL: 0x00000000, SECCOMP_RET_TRAP: 0x00030000, SECCOMP_RET_ERRNO: 0x00050000,
  SECCOMP_RET_USER_NOTIF: 0x7fc00000, SECCOMP_RET_TRACE: 0x7ff00000, SECCOMP_RET_LOG: 0x7ffc0000,
  SECCOMP_RET_ALLOW: 0x7fff0000, SECCOMP_RET_ACTION_FULL: 0xffff0000,
  SECCOMP_RET_ACTION: 0x7fff0000, SECCOMP_RET_DATA: 0x0000ffff,
  // audit arch flag bits and the x32 bit
  __AUDIT_ARCH_64BIT: 0x80000000, __AUDIT_ARCH_LE: 0x40000000,
  __AUDIT_ARCH_CONVENTION_MIPS64_N32: 0x20000000, __X32_SYSCALL_BIT: 0x40000000,
  // AUDIT_ARCH_* values docs/kernel.md section 13 lists beyond the ABIs of ARCHES.
  AUDIT_ARCH_ARMEB: 0x00000028, AUDIT_ARCH_RISCV32: 0x400000f3, AUDIT_ARCH_LOONGARCH32: 0x40000102,
  AUDIT_ARCH_SPARC: 0x00000002, AUDIT_ARCH_SPARC64: 0x8000002b, AUDIT_ARCH_CSKY: 0x400000fc,
  // errno-base.h: the same numbers on every Linux ABI.
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16,
  EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23,
  EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30,
  EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34,
};
for (const a of ARCHES) BPF_CONSTANTS[a.tokenName] = a.token;

/** ENOSYS is not in errno-base.h and differs by ABI: 38 generic, 89 MIPS, 251 PA-RISC. */
function enosys(arch?: ArchInfo): number {
  if (arch?.table.startsWith("mips")) return 89;
  if (arch?.table.startsWith("parisc")) return 251;
  return 38;
}

/** struct seccomp_data field offsets (docs/kernel.md section 2). */
const SECCOMP_DATA_FIELDS: Record<string, number> = { nr: 0, arch: 4, instruction_pointer: 8 };

/** Compiler-predefined macros per ABI, so `#if defined(__x86_64__)` picks the right branch. */
const PREDEFINED: Record<string, string[]> = {
  x86_64: ["__x86_64__", "__x86_64", "__amd64__", "__amd64", "__LP64__"],
  x86: ["__i386__", "__i386", "i386"],
  x32: ["__x86_64__", "__x86_64", "__ILP32__"],
  aarch64: ["__aarch64__", "__LP64__"],
  arm: ["__arm__"],
  riscv64: ["__riscv", "__LP64__"],
  loongarch64: ["__loongarch__", "__loongarch64", "__LP64__"],
  s390x: ["__s390x__", "__s390__", "__LP64__"],
  s390: ["__s390__"],
  ppc64le: ["__powerpc64__", "__powerpc__", "__PPC64__", "__PPC__", "__LP64__"],
  ppc64: ["__powerpc64__", "__powerpc__", "__PPC64__", "__PPC__", "__LP64__"],
  ppc: ["__powerpc__", "__PPC__"],
  mips: ["__mips__", "__mips", "_MIPS_SIM"],
  mipsel: ["__mips__", "__mips", "_MIPS_SIM"],
  mips64: ["__mips__", "__mips", "__mips64", "__LP64__"],
  mipsel64: ["__mips__", "__mips", "__mips64", "__LP64__"],
  mips64n32: ["__mips__", "__mips", "__mips64"],
  mipsel64n32: ["__mips__", "__mips", "__mips64"],
  parisc: ["__hppa__"],
  parisc64: ["__hppa__", "__LP64__"],
  m68k: ["__m68k__"],
  sh: ["__sh__"],
  sheb: ["__sh__"],
};

// ---------------------------------------------------------------------------------------------
// Tokens

type TokKind = "id" | "num" | "str" | "chr" | "punct";
interface Tok {
  k: TokKind;
  v: string;
  line: number;
  /** First token of a logical line (where a directive may start). */
  bol: boolean;
  /** Preceded by white space (tells `#define F(x)` from `#define F (x)`). */
  sp?: boolean;
  /** Macros whose expansion produced this token: they are not expanded again in it. */
  hide?: ReadonlySet<string>;
}

const PUNCT3 = ["...", "<<=", ">>="];
const PUNCT2 = ["##", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "++", "--", "+=", "-=",
  "*=", "/=", "%=", "&=", "|=", "^="];

function tokenize(src: string, where: (line: number) => string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  let bol = true;
  let sp = false;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === "\n") {
      line++;
      bol = true;
      sp = true;
      i++;
      continue;
    }
    if (c === "\\" && (src[i + 1] === "\n" || (src[i + 1] === "\r" && src[i + 2] === "\n"))) {
      i += src[i + 1] === "\n" ? 2 : 3;
      line++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      sp = true;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new InputError("unterminated /* comment", where(line));
      for (let j = i; j < end; j++) if (src[j] === "\n") line++;
      i = end + 2;
      sp = true;
      continue;
    }
    const start = i;
    const tokLine = line;
    let k: TokKind;
    if (/[A-Za-z_$]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(src[i])) i++;
      k = "id";
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      i++;
      while (i < n) {
        if (/[eEpP]/.test(src[i]) && (src[i + 1] === "+" || src[i + 1] === "-")) i += 2;
        else if (/[0-9A-Za-z_.]/.test(src[i])) i++;
        else break;
      }
      k = "num";
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === "\n") throw new InputError(`unterminated ${c === '"' ? "string" : "character"} literal`, where(line));
        i += src[i] === "\\" ? 2 : 1;
      }
      if (i >= n) throw new InputError(`unterminated ${c === '"' ? "string" : "character"} literal`, where(line));
      i++;
      k = c === '"' ? "str" : "chr";
    } else {
      const three = src.slice(i, i + 3);
      const two = src.slice(i, i + 2);
      i += PUNCT3.includes(three) ? 3 : PUNCT2.includes(two) ? 2 : 1;
      k = "punct";
    }
    out.push({ k, v: src.slice(start, i), line: tokLine, bol, sp });
    bol = false;
    sp = false;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Integer expressions (BigInt: C arithmetic on 64-bit values never loses bits here)

interface EvalEnv {
  arch?: ArchInfo;
  /** In #if: unknown identifiers are 0 (C rules). In initializers: an error. */
  inDirective: boolean;
  where: (line: number) => string;
}

const CAST_WORDS = new Set([
  "unsigned", "signed", "short", "int", "long", "char", "const", "volatile",
  "__u8", "__u16", "__u32", "__u64", "__s8", "__s16", "__s32", "__s64",
  "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
  "uint8_t", "uint16_t", "uint32_t", "uint64_t", "int8_t", "int16_t", "int32_t", "int64_t",
  "size_t", "ssize_t", "uintptr_t", "intptr_t", "__kernel_ulong_t", "__kernel_long_t",
]);

const BINARY: Record<string, number> = {
  "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
  "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
};

function parseIntLiteral(text: string): bigint | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uU](ll|LL|l|L)?|(ll|LL|l|L)[uU]?)?$/.exec(text);
  if (!m) return undefined;
  const body = m[1];
  if (/^0[xX]/.test(body) || /^0[bB]/.test(body)) return BigInt(body);
  if (body.length > 1 && body[0] === "0") return BigInt("0o" + body.slice(1));
  return BigInt(body);
}

class ExprParser {
  pos = 0;
  constructor(private readonly toks: Tok[], private readonly env: EvalEnv, pos = 0) {
    this.pos = pos;
  }

  private peek(): Tok | undefined {
    return this.toks[this.pos];
  }
  private lineHere(): number {
    return (this.toks[this.pos] ?? this.toks[this.toks.length - 1])?.line ?? 0;
  }
  fail(msg: string): never {
    throw new InputError(msg, this.env.where(this.lineHere()));
  }
  expect(v: string): void {
    const t = this.peek();
    if (!t || t.v !== v) this.fail(`expected "${v}"${t ? ` but found "${t.v}"` : " but the input ended"}`);
    this.pos++;
  }

  expr(minPrec = 1): bigint {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (!t || t.k !== "punct") break;
      if (t.v === "?" && minPrec <= 1) {
        this.pos++;
        const a = this.expr(1);
        this.expect(":");
        const b = this.expr(1);
        left = left !== 0n ? a : b;
        continue;
      }
      const prec = BINARY[t.v];
      if (prec === undefined || prec < minPrec) break;
      this.pos++;
      const right = this.expr(prec + 1);
      left = this.apply(t.v, left, right);
    }
    return left;
  }

  private apply(op: string, a: bigint, b: bigint): bigint {
    switch (op) {
      case "||": return a !== 0n || b !== 0n ? 1n : 0n;
      case "&&": return a !== 0n && b !== 0n ? 1n : 0n;
      case "|": return a | b;
      case "^": return a ^ b;
      case "&": return a & b;
      case "==": return a === b ? 1n : 0n;
      case "!=": return a !== b ? 1n : 0n;
      case "<": return a < b ? 1n : 0n;
      case ">": return a > b ? 1n : 0n;
      case "<=": return a <= b ? 1n : 0n;
      case ">=": return a >= b ? 1n : 0n;
      case "<<":
        if (b < 0n || b > 63n) this.fail(`shift by ${b} is out of range`);
        return a << b;
      case ">>":
        if (b < 0n || b > 63n) this.fail(`shift by ${b} is out of range`);
        return a >> b;
      case "+": return a + b;
      case "-": return a - b;
      case "*": return a * b;
      case "/":
        if (b === 0n) this.fail("division by zero in a constant expression");
        return a / b;
      case "%":
        if (b === 0n) this.fail("division by zero in a constant expression");
        return a % b;
    }
    return this.fail(`unsupported operator "${op}"`);
  }

  private isCast(): boolean {
    // "(" type-words [ "*" ] ")" — but not "(x)" where x is a constant name.
    let j = this.pos + 1;
    let words = 0;
    while (this.toks[j]?.k === "id" && CAST_WORDS.has(this.toks[j].v)) {
      j++;
      words++;
    }
    if (words === 0) return false;
    return this.toks[j]?.v === ")";
  }

  private unary(): bigint {
    const t = this.peek();
    if (!t) return this.fail("expected a value but the input ended");
    if (t.k === "punct") {
      if (t.v === "(") {
        if (this.isCast()) {
          while (this.peek()?.v !== ")") this.pos++;
          this.pos++;
          return this.unary();
        }
        this.pos++;
        const v = this.expr(1);
        this.expect(")");
        return v;
      }
      if (t.v === "-" || t.v === "+" || t.v === "~" || t.v === "!") {
        this.pos++;
        const v = this.unary();
        return t.v === "-" ? -v : t.v === "+" ? v : t.v === "~" ? ~v : v === 0n ? 1n : 0n;
      }
      return this.fail(`unexpected "${t.v}" where a value was expected`);
    }
    if (t.k === "num") {
      this.pos++;
      const v = parseIntLiteral(t.v);
      if (v === undefined) return this.fail(`"${t.v}" is not an integer constant`);
      return v;
    }
    if (t.k === "chr") {
      this.pos++;
      const m = /^'(?:([^\\'])|\\([nrt0\\'"]))'$/.exec(t.v);
      if (!m) return this.fail(`unsupported character constant ${t.v}`);
      if (m[1] !== undefined) return BigInt(m[1].charCodeAt(0));
      return BigInt({ n: 10, r: 13, t: 9, "0": 0, "\\": 92, "'": 39, '"': 34 }[m[2]]!);
    }
    if (t.k === "id") return this.identifier(t);
    return this.fail(`unexpected ${t.v} where a value was expected`);
  }

  private identifier(t: Tok): bigint {
    this.pos++;
    const name = t.v;
    if (this.env.inDirective && name === "defined") {
      // Handled before macro expansion; reaching here means a malformed use.
      return this.fail(`malformed "defined"`);
    }
    if (name === "offsetof") return this.offsetof();
    if (name === "sizeof") return this.fail("sizeof is not supported in filter expressions");
    const known = BPF_CONSTANTS[name];
    if (known !== undefined) return BigInt(known);
    if (name === "ENOSYS") return BigInt(enosys(this.env.arch));
    const sys = /^(?:__NR_|SYS_)(\w+)$/.exec(name);
    if (sys) {
      const arch = this.env.arch;
      if (!arch) {
        if (this.env.inDirective) return 0n;
        return this.fail(`${name} needs an arch to be resolved (give one, e.g. --arch x86_64)`);
      }
      const nr = syscallNumber(arch, sys[1]);
      if (nr === undefined) {
        if (this.env.inDirective) return 0n;
        return this.fail(`${name}: arch ${arch.name} has no syscall "${sys[1]}"`);
      }
      return BigInt(nr);
    }
    if (this.env.inDirective) return 0n;
    return this.fail(`unknown identifier "${name}"`);
  }

  /** offsetof(struct seccomp_data, nr | arch | instruction_pointer | args[i]) */
  private offsetof(): bigint {
    this.expect("(");
    if (this.peek()?.v === "struct") this.pos++;
    const ty = this.peek();
    if (ty?.v !== "seccomp_data") this.fail(`offsetof is only supported for struct seccomp_data`);
    this.pos++;
    this.expect(",");
    const field = this.peek();
    if (!field || field.k !== "id") return this.fail("expected a struct seccomp_data field");
    this.pos++;
    let off: bigint;
    if (field.v === "args") {
      this.expect("[");
      const i = this.expr(1);
      this.expect("]");
      if (i < 0n || i > 5n) this.fail(`args[${i}] does not exist (args[0] .. args[5])`);
      off = 16n + 8n * i;
    } else if (field.v in SECCOMP_DATA_FIELDS) {
      off = BigInt(SECCOMP_DATA_FIELDS[field.v]);
    } else {
      return this.fail(`struct seccomp_data has no field "${field.v}"`);
    }
    this.expect(")");
    return off;
  }
}

// ---------------------------------------------------------------------------------------------
// A small preprocessor: #define/#undef, conditionals, expansion with ## and __VA_ARGS__.

interface Macro {
  params?: string[];
  variadic?: boolean;
  body: Tok[];
  line: number;
}

/** Names the reader knows itself; a file's fallback #define of them is not needed. */
function isBuiltin(name: string): boolean {
  return name === "BPF_STMT" || name === "BPF_JUMP" || name === "offsetof" || name === "ENOSYS" ||
    name in BPF_CONSTANTS;
}

class Preprocessor {
  readonly macros = new Map<string, Macro>();
  constructor(private readonly env: EvalEnv) {
    for (const m of env.arch ? PREDEFINED[env.arch.name] ?? [] : []) {
      this.macros.set(m, { body: [{ k: "num", v: "1", line: 0, bol: false }], line: 0 });
    }
    this.macros.set("__linux__", { body: [{ k: "num", v: "1", line: 0, bol: false }], line: 0 });
  }

  private isDefined(name: string): boolean {
    return this.macros.has(name) || isBuiltin(name);
  }

  /** The tokens outside directives and inside active conditional groups. */
  run(toks: Tok[]): Tok[] {
    const out: Tok[] = [];
    // Each open conditional: is this group active; has any group of it been taken; was the
    // enclosing region active.
    const stack: { active: boolean; taken: boolean; outer: boolean; line: number; sawElse: boolean }[] = [];
    const active = (): boolean => stack.length === 0 || stack[stack.length - 1].active;
    let i = 0;
    while (i < toks.length) {
      const t = toks[i];
      if (!(t.bol && t.v === "#" && t.k === "punct")) {
        if (active()) out.push(t);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < toks.length && !toks[j].bol) j++;
      const line = toks.slice(i + 1, j);
      i = j;
      const dir = line[0]?.v ?? "";
      const args = line.slice(1);
      const where = this.env.where(t.line);
      switch (dir) {
        case "if": case "ifdef": case "ifndef": {
          const outer = active();
          let cond = false;
          if (outer) {
            if (dir === "if") cond = this.evalIf(args, t.line);
            else {
              if (args[0]?.k !== "id") throw new InputError(`#${dir} needs a macro name`, where);
              cond = this.isDefined(args[0].v) === (dir === "ifdef");
            }
          }
          stack.push({ active: outer && cond, taken: cond, outer, line: t.line, sawElse: false });
          break;
        }
        case "elif": {
          const top = stack[stack.length - 1];
          if (!top || top.sawElse) throw new InputError("#elif without a matching #if", where);
          const cond = top.outer && !top.taken && this.evalIf(args, t.line);
          top.active = cond;
          top.taken ||= cond;
          break;
        }
        case "else": {
          const top = stack[stack.length - 1];
          if (!top || top.sawElse) throw new InputError("#else without a matching #if", where);
          top.sawElse = true;
          top.active = top.outer && !top.taken;
          top.taken = true;
          break;
        }
        case "endif":
          if (!stack.pop()) throw new InputError("#endif without a matching #if", where);
          break;
        case "define":
          if (active()) this.define(args, t.line);
          break;
        case "undef":
          if (active() && args[0]) this.macros.delete(args[0].v);
          break;
        case "error":
          if (active()) {
            const msg = args.map((a) => a.v).join(" ");
            throw new InputError(
              `the file's #error fired: ${msg}` +
                (this.env.arch ? "" : " (if it is about the target, give an arch so the file's arch conditionals resolve)"),
              where,
            );
          }
          break;
        default:
          // #include, #pragma, #warning, #line, null directive: nothing a filter needs.
          break;
      }
    }
    if (stack.length) {
      throw new InputError("#if without a matching #endif", this.env.where(stack[stack.length - 1].line));
    }
    return out;
  }

  private define(args: Tok[], line: number): void {
    const name = args[0];
    if (!name || name.k !== "id") throw new InputError("#define needs a macro name", this.env.where(line));
    if (isBuiltin(name.v)) return;
    const next = args[1];
    // Function-like only when "(" follows the name with no space in between (C's rule).
    if (next && next.v === "(" && !next.sp) {
      if (!this.looksLikeParams(args)) {
        throw new InputError(`malformed parameter list of macro ${name.v}`, this.env.where(line));
      }
      const params: string[] = [];
      let variadic = false;
      let k = 2;
      while (args[k] && args[k].v !== ")") {
        if (args[k].v === "...") {
          variadic = true;
          params.push("__VA_ARGS__");
        } else if (args[k].k === "id") params.push(args[k].v);
        k++;
        if (args[k]?.v === ",") k++;
      }
      this.macros.set(name.v, { params, variadic, body: args.slice(k + 1), line });
    } else {
      this.macros.set(name.v, { body: args.slice(1), line });
    }
  }

  /** `( id , id , ... )` or `()` — the shape of a parameter list. */
  private looksLikeParams(args: Tok[]): boolean {
    let k = 2;
    if (args[k]?.v === ")") return true;
    for (;;) {
      const p = args[k];
      if (!p || !(p.k === "id" || p.v === "...")) return false;
      k++;
      if (args[k]?.v === ")") return true;
      if (args[k]?.v !== ",") return false;
      k++;
    }
  }

  private evalIf(args: Tok[], line: number): boolean {
    // Replace `defined X` / `defined(X)` first: their operands must not be expanded.
    const pre: Tok[] = [];
    for (let k = 0; k < args.length; k++) {
      const a = args[k];
      if (a.k === "id" && a.v === "defined") {
        let nameTok: Tok | undefined;
        if (args[k + 1]?.v === "(") {
          nameTok = args[k + 2];
          if (args[k + 3]?.v !== ")") throw new InputError("malformed defined(...)", this.env.where(line));
          k += 3;
        } else {
          nameTok = args[k + 1];
          k += 1;
        }
        if (!nameTok || nameTok.k !== "id") throw new InputError("defined needs a macro name", this.env.where(line));
        pre.push({ k: "num", v: this.isDefined(nameTok.v) ? "1" : "0", line, bol: false });
      } else pre.push(a);
    }
    const expanded = this.expand(pre);
    if (expanded.length === 0) throw new InputError("#if with no expression", this.env.where(line));
    const p = new ExprParser(expanded, { ...this.env, inDirective: true });
    const v = p.expr(1);
    if (p.pos !== expanded.length) p.fail(`unexpected "${expanded[p.pos].v}" in #if`);
    return v !== 0n;
  }

  /**
   * Expands every macro in `toks`. Each produced token remembers which macros made it (its hide
   * set) and is not expanded by them again, so self-referencing macros stop; the result of an
   * expansion is rescanned together with the tokens after it, so `#define F G` followed by
   * `F(1)` calls G. (C's algorithm, minus the corner cases filter code does not reach.)
   */
  expand(toks: Tok[]): Tok[] {
    const q = toks.slice();
    const out: Tok[] = [];
    let budget = 100_000;
    let i = 0;
    while (i < q.length) {
      const t = q[i];
      const m = t.k === "id" && !t.hide?.has(t.v) ? this.macros.get(t.v) : undefined;
      if (!m || (m.params && q[i + 1]?.v !== "(")) {
        // Not a macro, or a function-like macro's name without arguments: just a name.
        out.push(t);
        i++;
        continue;
      }
      if (--budget < 0) throw new InputError("macro expansion does not terminate", this.env.where(t.line));
      const hide = new Set(t.hide ?? []).add(t.v);
      const mark = (x: Tok): Tok => ({ ...x, line: t.line, bol: false, hide: new Set([...(x.hide ?? []), ...hide]) });
      if (!m.params) {
        q.splice(i, 1, ...m.body.map(mark));
        continue;
      }
      // Collect the arguments: split at top-level commas.
      const args: Tok[][] = [[]];
      let level = 0;
      let j = i + 2;
      for (; j < q.length; j++) {
        const a = q[j];
        if (a.v === "(") level++;
        else if (a.v === ")") {
          if (level === 0) break;
          level--;
        } else if (a.v === "," && level === 0) {
          args.push([]);
          continue;
        }
        args[args.length - 1].push(a);
      }
      if (j >= q.length) throw new InputError(`unterminated call of macro ${t.v}`, this.env.where(t.line));
      if (m.params.length === 0 && args.length === 1 && args[0].length === 0) args.length = 0;
      const fixed = m.variadic ? m.params.length - 1 : m.params.length;
      if (args.length < fixed || (!m.variadic && args.length > fixed)) {
        throw new InputError(
          `macro ${t.v} (defined at line ${m.line}) takes ${fixed}${m.variadic ? " or more" : ""} ` +
            `argument${fixed === 1 ? "" : "s"}, got ${args.length}`,
          this.env.where(t.line),
        );
      }
      const bound = new Map<string, Tok[]>();
      for (let p = 0; p < fixed; p++) bound.set(m.params[p], args[p]);
      if (m.variadic) {
        const rest: Tok[] = [];
        args.slice(fixed).forEach((a, n) => {
          if (n > 0) rest.push({ k: "punct", v: ",", line: t.line, bol: false });
          rest.push(...a);
        });
        bound.set("__VA_ARGS__", rest);
      }
      // Substitute: operands of # and ## take the argument as written, others fully expanded.
      const body = m.body;
      const subst: Tok[] = [];
      for (let b = 0; b < body.length; b++) {
        const x = body[b];
        if (x.v === "#" && x.k === "punct" && body[b + 1] && bound.has(body[b + 1].v)) {
          const text = bound.get(body[b + 1].v)!.map((y) => y.v).join(" ");
          subst.push(mark({ k: "str", v: JSON.stringify(text), line: t.line, bol: false }));
          b++;
          continue;
        }
        if (x.k === "id" && bound.has(x.v)) {
          const raw = body[b - 1]?.v === "##" || body[b + 1]?.v === "##";
          const arg = bound.get(x.v)!;
          subst.push(...(raw ? arg : this.expand(arg)).map((y) => ({ ...y, line: t.line, bol: false })));
          continue;
        }
        subst.push(mark(x));
      }
      // Token pasting.
      const pasted: Tok[] = [];
      for (let b = 0; b < subst.length; b++) {
        if (subst[b].v === "##" && subst[b].k === "punct" && pasted.length && subst[b + 1]) {
          const left = pasted.pop()!;
          const right = subst[++b];
          const v = left.v + right.v;
          const k: TokKind = /^[A-Za-z_$]/.test(v) ? "id" : /^[0-9]/.test(v) ? "num" : "punct";
          pasted.push({ k, v, line: t.line, bol: false, hide });
        } else pasted.push(subst[b]);
      }
      q.splice(i, j - i + 1, ...pasted);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadCHeaderOptions {
  /** File name for errors ("file:line"). */
  where?: string;
  /** Resolves __NR_x / SYS_x, ENOSYS, and the compiler's arch macros in #if. */
  arch?: ArchInfo;
  /** Byte order of `unsigned char` arrays (default: the arch's, else little-endian). */
  endian?: Endian;
}

interface ArrayDecl {
  name: string;
  kind: "insn" | "byte";
  line: number;
  /** Token range of the initializer's contents, between the outer braces. */
  from: number;
  to: number;
}

const BYTE_TYPES = new Set(["char", "uint8_t", "__u8", "u8"]);

function findArrays(toks: Tok[], whereOf: (line: number) => string): ArrayDecl[] {
  const found: ArrayDecl[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    let nameAt = -1;
    let kind: ArrayDecl["kind"] = "insn";
    if (t.v === "struct" && toks[i + 1]?.v === "sock_filter" && toks[i + 2]?.k === "id" && toks[i + 3]?.v === "[") {
      nameAt = i + 2;
    } else if (t.k === "id" && BYTE_TYPES.has(t.v) && toks[i + 1]?.k === "id" && toks[i + 2]?.v === "[") {
      nameAt = i + 1;
      kind = "byte";
    }
    if (nameAt < 0) continue;
    // [ size? ] [__attribute__((...))]... = {
    let j = nameAt + 2;
    while (j < toks.length && toks[j].v !== "]") j++;
    j++;
    while (toks[j]?.v === "__attribute__" && toks[j + 1]?.v === "(") {
      let level = 0;
      j++;
      do {
        if (toks[j].v === "(") level++;
        else if (toks[j].v === ")") level--;
        j++;
      } while (j < toks.length && level > 0);
    }
    if (toks[j]?.v !== "=" || toks[j + 1]?.v !== "{") continue;
    const from = j + 2;
    let level = 1;
    let k = from;
    for (; k < toks.length; k++) {
      if (toks[k].v === "{") level++;
      else if (toks[k].v === "}" && --level === 0) break;
    }
    if (k >= toks.length) throw new InputError(`the initializer of ${toks[nameAt].v} is not closed`, whereOf(t.line));
    found.push({ name: toks[nameAt].v, kind, line: toks[nameAt].line, from, to: k });
    i = k;
  }
  return found;
}

function fieldRange(v: bigint, field: keyof Insn, p: ExprParser): number {
  switch (field) {
    case "code":
      if (v < 0n || v > 0xffffn) p.fail(`code ${v} is out of range (0 .. 0xffff)`);
      return Number(v);
    case "jt": case "jf":
      if (v < 0n || v > 0xffn) p.fail(`${field} ${v} is out of range (0 .. 255)`);
      return Number(v);
    case "k":
      // C converts to __u32; allow int-range negatives (-1 is 0xffffffff) but not real overflow.
      if (v < -0x80000000n || v > 0xffffffffn) p.fail(`k ${v} is out of range (a 32-bit value)`);
      return Number(BigInt.asUintN(32, v));
  }
}

/** Parses the instructions of one sock_filter initializer (already macro-expanded). */
function parseInsns(toks: Tok[], env: EvalEnv): Insn[] {
  const p = new ExprParser(toks, env);
  const insns: Insn[] = [];
  const fields: (keyof Insn)[] = ["code", "jt", "jf", "k"];
  while (p.pos < toks.length) {
    const t = toks[p.pos];
    if (t.v === "{") {
      p.pos++;
      const ins: Partial<Insn> = {};
      if (toks[p.pos]?.v === ".") {
        // designated: { .code = …, .jt = …, .jf = …, .k = … }
        while (toks[p.pos]?.v === ".") {
          p.pos++;
          const f = toks[p.pos]?.v as keyof Insn;
          if (!fields.includes(f)) p.fail(`struct sock_filter has no field "${toks[p.pos]?.v}"`);
          if (ins[f] !== undefined) p.fail(`field .${f} given twice`);
          p.pos++;
          p.expect("=");
          ins[f] = fieldRange(p.expr(1), f, p);
          if (toks[p.pos]?.v === ",") p.pos++;
        }
        for (const f of fields) ins[f] ??= 0;
      } else {
        for (let f = 0; f < 4; f++) {
          if (toks[p.pos]?.v === "}") p.fail(`an instruction needs 4 values { code, jt, jf, k }, got ${f}`);
          ins[fields[f]] = fieldRange(p.expr(1), fields[f], p);
          if (f < 3 && toks[p.pos]?.v === "}") p.fail(`an instruction needs 4 values { code, jt, jf, k }, got ${f + 1}`);
          if (f < 3) p.expect(",");
        }
        if (toks[p.pos]?.v === ",") p.pos++;
      }
      p.expect("}");
      insns.push(ins as Insn);
    } else if (t.k === "id" && (t.v === "BPF_STMT" || t.v === "BPF_JUMP")) {
      p.pos++;
      p.expect("(");
      const code = fieldRange(p.expr(1), "code", p);
      p.expect(",");
      const k = fieldRange(p.expr(1), "k", p);
      let jt = 0;
      let jf = 0;
      if (t.v === "BPF_JUMP") {
        p.expect(",");
        jt = fieldRange(p.expr(1), "jt", p);
        p.expect(",");
        jf = fieldRange(p.expr(1), "jf", p);
      }
      p.expect(")");
      insns.push({ code, jt, jf, k });
    } else {
      p.fail(`expected an instruction ({ code, jt, jf, k }, BPF_STMT or BPF_JUMP) but found "${t.v}"`);
    }
    if (p.pos < toks.length) p.expect(",");
  }
  return insns;
}

function parseBytes(toks: Tok[], env: EvalEnv, name: string, declLine: number): Uint8Array {
  const p = new ExprParser(toks, env);
  const bytes: number[] = [];
  while (p.pos < toks.length) {
    const v = p.expr(1);
    if (v < -128n || v > 255n) p.fail(`byte ${bytes.length} of ${name} is ${v}, out of range for a byte`);
    bytes.push(Number(v) & 0xff);
    if (p.pos < toks.length) p.expect(",");
  }
  if (bytes.length % 8 !== 0) {
    throw new InputError(
      `byte array ${name} has ${bytes.length} bytes, not a multiple of 8 (one struct sock_filter is 8 bytes)`,
      env.where(declLine),
    );
  }
  return Uint8Array.from(bytes);
}

/**
 * Every filter array of a C file, by array name, in file order. `struct sock_filter` arrays are
 * taken when present; otherwise byte arrays (which are in the target's byte order). Throws when
 * the file has neither, or when one name is used twice.
 */
export function readCHeader(text: string, opts: ReadCHeaderOptions = {}): Map<string, Program> {
  const file = opts.where;
  const whereOf = (line: number): string => (file ? `${file}:${line}` : `line ${line}`);
  const env: EvalEnv = { arch: opts.arch, inDirective: false, where: whereOf };
  const pp = new Preprocessor(env);
  const toks = pp.run(tokenize(text, whereOf));
  const decls = findArrays(toks, whereOf);
  const insnDecls = decls.filter((d) => d.kind === "insn");
  const chosen = insnDecls.length ? insnDecls : decls;
  if (chosen.length === 0) {
    throw new InputError("no `struct sock_filter NAME[] = { ... }` array (or byte array) found", file);
  }
  const endian = opts.endian ?? opts.arch?.endian ?? "le";
  const out = new Map<string, Program>();
  const lines = new Map<string, number>();
  for (const d of chosen) {
    if (out.has(d.name)) {
      throw new InputError(`two filter arrays are named ${d.name} (lines ${lines.get(d.name)} and ${d.line})`, whereOf(d.line));
    }
    const body = pp.expand(toks.slice(d.from, d.to));
    if (d.kind === "insn") {
      out.set(d.name, Program.fromInsns(parseInsns(body, env)));
    } else {
      const bytes = parseBytes(body, env, d.name, d.line);
      if (endian === "be") {
        for (let o = 0; o < bytes.length; o += 8) {
          bytes.subarray(o, o + 2).reverse();
          bytes.subarray(o + 4, o + 8).reverse();
        }
      }
      out.set(d.name, new Program(bytes));
    }
    lines.set(d.name, d.line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

const C_KEYWORDS = new Set([
  "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
  "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict",
  "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
  "unsigned", "void", "volatile", "while", "bool", "true", "false", "alignas", "alignof",
  "nullptr", "static_assert", "thread_local", "typeof", "constexpr",
]);

/**
 * A C identifier for a thread or file name: directory and extension dropped, every other
 * character turned into `_`, never starting with a digit or an underscore (leading `_X` names
 * are reserved in C), never a keyword. "33-sim-basic.bpf" -> "filter_33_sim_basic".
 */
export function cIdentifier(name: string): string {
  let s = name.replace(/^.*[\\/]/, "").replace(/\.[A-Za-z0-9]{1,6}$/, "");
  s = s.replace(/[^A-Za-z0-9_]+/g, "_").replace(/_+/g, "_").replace(/^_+|_+$/g, "");
  if (s === "") return "filter";
  if (/^[0-9]/.test(s)) s = "filter_" + s;
  if (C_KEYWORDS.has(s)) s += "_filter";
  return s;
}

/** A program and the name it is written under. */
export interface NamedProgram {
  name: string;
  program: Program;
}

export interface WriteCHeaderOptions {
  /** Include-guard macro; derived from the array names when absent. */
  guard?: string;
}

function hex(n: number, w: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(w, "0");
}

/**
 * A C header holding each program as `static const struct sock_filter NAME[]`, with
 * `NAME_LEN` (upper-cased) and a `struct sock_fprog NAME_prog` ready for
 * prctl(PR_SET_SECCOMP) / seccomp(). Names go through cIdentifier; two that end up equal are an
 * error rather than a header that does not compile.
 */
export function writeCHeader(
  programs: ReadonlyMap<string, Program> | Iterable<readonly [string, Program] | NamedProgram>,
  opts: WriteCHeaderOptions = {},
): string {
  const items: { id: string; from: string; program: Program }[] = [];
  const ids = new Map<string, string>();
  for (const entry of programs) {
    const [name, program] = Array.isArray(entry) ? entry : [(entry as NamedProgram).name, (entry as NamedProgram).program];
    const id = cIdentifier(name);
    const key = id.toUpperCase(); // NAME_LEN must be unique too
    const prev = ids.get(key);
    if (prev !== undefined) {
      throw new InputError(`names "${prev}" and "${name}" give the same C identifier ${id}`);
    }
    ids.set(key, name);
    items.push({ id, from: name, program });
  }
  if (items.length === 0) throw new InputError("no program to write");
  const guard = cIdentifier(opts.guard ?? `SYSFENCE_${items.map((x) => x.id).join("_").slice(0, 80)}_H`).toUpperCase();
  const o: string[] = [];
  o.push("/* Generated by sysfence: classic BPF seccomp filter" + (items.length > 1 ? "s" : "") + ". */");
  o.push(`#ifndef ${guard}`);
  o.push(`#define ${guard}`);
  o.push("");
  o.push("#include <linux/filter.h>");
  for (const { id, from, program } of items) {
    const ID = id.toUpperCase();
    o.push("");
    o.push(`/* ${from.replace(/\*\//g, "* /")}: ${program.length} instruction${program.length === 1 ? "" : "s"} */`);
    o.push(`#define ${ID}_LEN ${program.length}`);
    o.push("");
    o.push(`static const struct sock_filter ${id}[] = {`);
    // Each line carries its disassembly, so a reviewer reads the filter, not hex.
    const text = disassemble(program, { header: false }).trimEnd().split("\n");
    program.insns().forEach((ins, i) => {
      const note = (text[i] ?? "").replace(/\*\//g, "* /");
      o.push(`\t{ ${hex(ins.code, 2)}, ${ins.jt}, ${ins.jf}, ${hex(ins.k, 8)} }, /* ${note} */`);
    });
    o.push("};");
    o.push("");
    o.push(`static const struct sock_fprog ${id}_prog = {`);
    o.push(`\t.len = ${ID}_LEN,`);
    o.push(`\t.filter = (struct sock_filter *)${id},`);
    o.push("};");
  }
  o.push("");
  o.push(`#endif /* ${guard} */`);
  o.push("");
  return o.join("\n");
}
