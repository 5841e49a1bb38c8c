// Integer constant expressions of C (BigInt: C arithmetic on 64-bit values never loses bits
// here): the operators, casts, character constants, offsetof(struct seccomp_data, …), the
// known constants and __NR_x / SYS_x.
import { InputError } from "../../errors.js";
import { ownTable } from "../../tables.js";
import type { ArchInfo } from "../../syscalls/arches.js";
import { syscallNumber } from "../../syscalls/index.js";
import { BPF_CONSTANTS, SECCOMP_DATA_FIELDS, enosys } from "./constants.js";
import type { Tok } from "./tokens.js";


export interface EvalEnv {
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

const BINARY: Readonly<Record<string, number>> = ownTable({
  "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
  "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
});

function parseIntLiteral(text: string): bigint | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uU](ll|LL|l|L)?|(ll|LL|l|L)[uU]?)?$/.exec(text);
  if (!m) return undefined;
  const body = m[1];
  if (/^0[xX]/.test(body) || /^0[bB]/.test(body)) return BigInt(body);
  if (body.length > 1 && body[0] === "0") return BigInt("0o" + body.slice(1));
  return BigInt(body);
}

/**
 * Deepest nesting of parentheses, unary operators and operands of binary operators in one
 * expression (C requires compilers to take at least 63 levels of parentheses). The parser is
 * recursive descent, so the bound is what keeps a hostile file from overflowing the stack.
 */
export const MAX_EXPR_DEPTH = 256;

export class ExprParser {
  pos = 0;
  private depth = 0;
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

  /** Enters one level of nesting; past MAX_EXPR_DEPTH, a located error. */
  private enter(): void {
    if (++this.depth > MAX_EXPR_DEPTH) this.fail(`expression nested deeper than ${MAX_EXPR_DEPTH} levels`);
  }

  expr(minPrec = 1): bigint {
    this.enter();
    try {
      return this.binary(minPrec);
    } finally {
      this.depth--;
    }
  }

  private binary(minPrec: number): bigint {
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
    this.enter();
    try {
      return this.operand();
    } finally {
      this.depth--;
    }
  }

  private operand(): bigint {
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

