// The minijail policy language (crosvm, ChromeOS, Android): text → statements with their place
// in the file. Nothing here decides what a statement means; src/policy/minijail/index.ts
// does, for either of minijail's two implementations. docs/policies.md has the language.
//
//   # comment                           one statement per line, `\` at the end continues it
//   read: 1                             also `allow`
//   {open, openat}: return ENOENT        several syscalls
//   ioctl: arg1 == TCGETS || arg1 == 0x5401 && arg2 != 0; return EPERM
//   mmap: arg2 in ~PROT_EXEC            all set bits within the mask
//   clone: arg0 & CLONE_THREAD          any bit of the mask set
//   kill: kill-process                  bare actions: kill, kill-process, kill-thread, trap,
//                                       trace, log, user-notify, return N
//   futex [arch=arm64]: 1               metadata (Python compiler): only for that arch
//   brk: {arg0 == 0; return ENOMEM, allow}   a filter list (Python compiler)
//   @include /usr/share/policy/crosvm/common_device.policy
//   @frequency ./common_device.frequency
//   @default trap
//   @denylist
//
// Values: decimal, 0x hex, 0 octal, a leading `-`, named constants, `~X` (complement in the
// ABI's word), `(X)`, and `X|Y` (OR). The tokenizer reads a line the way minijail's Python
// parser does: every character belongs to a token or the line is an error at that column.
import { InputError } from "../../errors.js";

export type TokenKind =
  | "directive" | "path" | "number" | "colon" | "semicolon" | "comma" | "tilde" | "lparen"
  | "rparen" | "lbrace" | "rbrace" | "lbracket" | "rbracket" | "or" | "and" | "pipe" | "op"
  | "equal" | "argument" | "return" | "action" | "ident";

export interface Token {
  kind: TokenKind;
  text: string;
  file: string;
  line: number;
  /** 1-based column. */
  col: number;
}

/** Where something is, for messages: `FILE:LINE:COL`. */
export function at(t: { file: string; line: number; col?: number }): string {
  return t.col === undefined ? `${t.file}:${t.line}` : `${t.file}:${t.line}:${t.col}`;
}

// Order matters where two patterns could start at one place: a path before a number ("./x"),
// `||` before `|`, `&&` before `&`, `<=` before `<`, actions before identifiers. The third
// element is every character a lexeme can start with (a superset is enough): trying only the
// lexemes that can start with the character at hand keeps a long line at a few regex tries per
// token instead of up to all of them (a 4 MB line took seconds).
const LEXEMES: [TokenKind | "skip" | "continuation", RegExp, RegExp][] = [
  ["skip", /#.*$/y, /#/],
  ["skip", /\s+/y, /\s/],
  ["continuation", /\\$/y, /\\/],
  ["directive", /@(?:include|frequency|default|denylist)\b/y, /@/],
  ["path", /\.?\/\S+/y, /[./]/],
  ["number", /-?(?:0[xX][0-9a-fA-F]+|[0-9]+)/y, /[-0-9]/],
  ["colon", /:/y, /:/],
  ["semicolon", /;/y, /;/],
  ["comma", /,/y, /,/],
  ["tilde", /~/y, /~/],
  ["lparen", /\(/y, /\(/],
  ["rparen", /\)/y, /\)/],
  ["lbrace", /\{/y, /\{/],
  ["rbrace", /\}/y, /\}/],
  ["lbracket", /\[/y, /\[/],
  ["rbracket", /\]/y, /\]/],
  ["or", /\|\|/y, /\|/],
  ["and", /&&/y, /&/],
  ["pipe", /\|/y, /\|/],
  ["op", /==|!=|<=|>=|<|>|&|\bin\b/y, /[=!<>&i]/],
  ["equal", /=/y, /=/],
  ["argument", /\barg[0-9]+\b/y, /a/],
  ["return", /\breturn\b/y, /r/],
  ["action", /\b(?:allow|kill-process|kill-thread|kill|trap|trace|log|user-notify)\b(?![-@\w])/y, /[aktlu]/],
  ["ident", /[A-Za-z_][A-Za-z0-9_@-]*/y, /[A-Za-z_]/],
];

/** The lexemes that can start with each character, in LEXEMES order (filled as characters appear). */
const BY_FIRST = new Map<string, (typeof LEXEMES)[number][]>();
function lexemesFor(c: string): (typeof LEXEMES)[number][] {
  let list = BY_FIRST.get(c);
  if (!list) {
    list = LEXEMES.filter(([, , first]) => first.test(c));
    // Bounded: one entry per distinct UTF-16 unit seen, at most 65,536.
    BY_FIRST.set(c, list);
  }
  return list;
}

/** One logical line (continuations joined), as tokens; comment-only and blank lines are skipped. */
export function* tokenize(text: string, file: string): Generator<Token[]> {
  const lines = text.split(/\r?\n/);
  let tokens: Token[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let pos = 0;
    let continued = false;
    while (pos < line.length) {
      let matched = false;
      for (const [kind, re] of lexemesFor(line[pos])) {
        re.lastIndex = pos;
        const m = re.exec(line);
        if (!m || m[0].length === 0) continue;
        matched = true;
        if (kind === "continuation") continued = true;
        else if (kind !== "skip") tokens.push({ kind, text: m[0], file, line: i + 1, col: pos + 1 });
        pos += m[0].length;
        break;
      }
      if (!matched) {
        const bad = /^\S+/.exec(line.slice(pos))?.[0] ?? line[pos];
        throw new InputError(`invalid token ${JSON.stringify(bad)}`, at({ file, line: i + 1, col: pos + 1 }));
      }
    }
    if (continued) continue;
    if (tokens.length > 0) yield tokens;
    tokens = [];
  }
  if (tokens.length > 0) yield tokens;
}

// ---------------------------------------------------------------------------------------------
// Statements

/** A value as written: evaluated later, when the ABI's word size and constants are known. */
export type ValueExpr =
  | { kind: "number"; text: string; token: Token }
  | { kind: "name"; name: string; token: Token }
  | { kind: "not"; of: ValueExpr; token: Token }
  | { kind: "or"; parts: ValueExpr[]; token: Token };

export type AtomOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "&" | "in";

export interface Atom {
  arg: number;
  op: AtomOp;
  value: ValueExpr;
  token: Token;
}

/** An action as written. `kill` depends on --use-kill-process; `return` carries its errno. */
export type ActionExpr =
  | { kind: "allow" | "kill" | "kill-process" | "kill-thread" | "trap" | "trace" | "log" | "user-notify"; token: Token }
  | { kind: "return"; value: ValueExpr; token: Token };

/** One filter: an argument expression in disjunctive normal form (or none) and its action. */
export interface FilterExpr {
  /** Clauses joined by ||, each a list of atoms joined by &&; undefined: unconditional. */
  expr?: Atom[][];
  /** undefined: the expression was written without `; action` (allow when it holds). */
  action?: ActionExpr;
  token: Token;
}

export interface SyscallRef {
  name: string;
  token: Token;
  /** `[arch=a,b]` metadata, when given. */
  arches?: string[];
}

export type Statement =
  | { kind: "filter"; syscalls: SyscallRef[]; filters: FilterExpr[]; list: boolean; token: Token }
  | { kind: "include" | "frequency"; path: string; token: Token }
  | { kind: "default"; action: ActionExpr; token: Token }
  | { kind: "denylist"; token: Token };

/** A cursor over one line's tokens with located errors. */
class Line {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(what: string): Token {
    const t = this.tokens[this.i];
    if (!t) throw this.fail(`missing ${what}`);
    this.i++;
    return t;
  }
  expect(kind: TokenKind, what: string): Token {
    const t = this.next(what);
    if (t.kind !== kind) throw new InputError(`expected ${what}, found ${JSON.stringify(t.text)}`, at(t));
    return t;
  }
  accept(kind: TokenKind): Token | undefined {
    if (this.tokens[this.i]?.kind !== kind) return undefined;
    return this.tokens[this.i++];
  }
  done(): void {
    const t = this.tokens[this.i];
    if (t) throw new InputError(`unexpected ${JSON.stringify(t.text)} after the end of the statement`, at(t));
  }
  fail(message: string): InputError {
    const last = this.tokens[this.tokens.length - 1];
    return new InputError(message, at({ file: last.file, line: last.line, col: last.col + last.text.length }));
  }
}

/** Parses one logical line into a statement. */
export function parseStatement(tokens: Token[]): Statement {
  const p = new Line(tokens);
  const first = tokens[0];
  if (first.kind === "directive") {
    p.next("directive");
    let st: Statement;
    if (first.text === "@include" || first.text === "@frequency") {
      const path = p.next(`a path after ${first.text}`);
      if (path.kind !== "path") {
        throw new InputError(`${first.text} takes a path starting with "/" or "./", found ${JSON.stringify(path.text)}`, at(path));
      }
      st = { kind: first.text === "@include" ? "include" : "frequency", path: path.text, token: first };
    } else if (first.text === "@default") {
      st = { kind: "default", action: parseAction(p), token: first };
    } else {
      st = { kind: "denylist", token: first };
    }
    p.done();
    return st;
  }
  const syscalls: SyscallRef[] = [];
  if (p.accept("lbrace")) {
    do syscalls.push(parseSyscallRef(p));
    while (p.accept("comma"));
    p.expect("rbrace", `"}" closing the list of syscalls`);
  } else {
    syscalls.push(parseSyscallRef(p));
  }
  const colon = p.expect("colon", `":" after the syscall name`);
  const filters: FilterExpr[] = [];
  let list = false;
  if (p.accept("lbrace")) {
    list = true;
    do filters.push(parseFilter(p));
    while (p.accept("comma"));
    p.expect("rbrace", `"}" closing the filter list`);
  } else {
    filters.push(parseFilter(p));
  }
  p.done();
  return { kind: "filter", syscalls, filters, list, token: colon };
}

function parseSyscallRef(p: Line): SyscallRef {
  const t = p.next("a syscall name");
  // `kill` is both a syscall and an action word.
  if (t.kind !== "ident" && !(t.kind === "action" && t.text === "kill")) {
    throw new InputError(`expected a syscall name, found ${JSON.stringify(t.text)}`, at(t));
  }
  const ref: SyscallRef = { name: t.text, token: t };
  if (p.accept("lbracket")) {
    // [key=v,w; key=v]: minijail knows one key, arch.
    do {
      const key = p.expect("ident", "a metadata key");
      p.expect("equal", `"=" after ${key.text}`);
      const values: string[] = [];
      do values.push(p.expect("ident", `a value for ${key.text}`).text);
      while (p.accept("comma"));
      if (key.text !== "arch") throw new InputError(`unknown metadata key "${key.text}" (minijail knows "arch")`, at(key));
      if (ref.arches) throw new InputError(`duplicate metadata key "arch"`, at(key));
      ref.arches = values;
    } while (p.accept("semicolon"));
    p.expect("rbracket", `"]" closing the metadata`);
  }
  return ref;
}

function parseFilter(p: Line): FilterExpr {
  const t = p.peek();
  if (!t) throw p.fail("missing filter after \":\"");
  if (t.kind !== "argument") return { action: parseAction(p), token: t };
  const expr: Atom[][] = [];
  do {
    const clause: Atom[] = [];
    do clause.push(parseAtom(p));
    while (p.accept("and"));
    expr.push(clause);
  } while (p.accept("or"));
  const f: FilterExpr = { expr, token: t };
  if (p.accept("semicolon")) f.action = parseAction(p);
  return f;
}

function parseAtom(p: Line): Atom {
  const a = p.expect("argument", "an argument (arg0 … arg5)");
  const arg = Number(a.text.slice(3));
  if (!(arg >= 0 && arg <= 5)) throw new InputError(`${a.text}: a syscall has six arguments, arg0 … arg5`, at(a));
  const op = p.expect("op", "an operator (==, !=, <, <=, >, >=, &, in)");
  return { arg, op: op.text as AtomOp, value: parseValue(p), token: a };
}

function parseValue(p: Line): ValueExpr {
  const first = p.peek();
  const parts: ValueExpr[] = [];
  do parts.push(parseConstant(p));
  while (p.accept("pipe"));
  return parts.length === 1 ? parts[0] : { kind: "or", parts, token: first! };
}

function parseConstant(p: Line): ValueExpr {
  const t = p.next("a value");
  if (t.kind === "tilde") {
    if (p.peek()?.kind === "tilde") throw new InputError("a double complement ~~ is not allowed", at(p.peek()!));
    return { kind: "not", of: parseConstant(p), token: t };
  }
  if (t.kind === "lparen") {
    const v = parseValue(p);
    p.expect("rparen", `")" closing the parenthesis at ${at(t)}`);
    return v;
  }
  if (t.kind === "number") return { kind: "number", text: t.text, token: t };
  if (t.kind === "ident") return { kind: "name", name: t.text, token: t };
  throw new InputError(`expected a number or a constant name, found ${JSON.stringify(t.text)}`, at(t));
}

function parseAction(p: Line): ActionExpr {
  const t = p.next("an action");
  if (t.kind === "action") return { kind: t.text as Exclude<ActionExpr["kind"], "return">, token: t };
  if (t.kind === "number" && t.text === "1") return { kind: "allow", token: t };
  if (t.kind === "return") return { kind: "return", value: parseConstant(p), token: t };
  throw new InputError(
    `expected an action (1, allow, kill, kill-process, kill-thread, trap, trace, log, user-notify, return ERRNO), found ${JSON.stringify(t.text)}`,
    at(t),
  );
}

// ---------------------------------------------------------------------------------------------
// Frequency files: `syscall: count` per line (comments and continuations as in policies).

export interface FrequencyEntry {
  name: string;
  count: bigint;
  token: Token;
}

export function parseFrequency(text: string, file: string): FrequencyEntry[] {
  const out: FrequencyEntry[] = [];
  for (const tokens of tokenize(text, file)) {
    const p = new Line(tokens);
    const ref = parseSyscallRef(p);
    p.expect("colon", `":" after the syscall name`);
    const n = p.expect("number", "a call count");
    if (n.text.startsWith("-")) throw new InputError(`a call count cannot be negative`, at(n));
    p.done();
    out.push({ name: ref.name, count: numberValue(n.text), token: ref.token });
  }
  return out;
}

/** The value of a number token as C's strtol reads it (0x hex, 0 octal, else decimal). */
export function numberValue(text: string): bigint {
  const neg = text.startsWith("-");
  const body = neg ? text.slice(1) : text;
  const v = /^0[xX]/.test(body) ? BigInt(body) : /^0[0-7]+$/.test(body) ? BigInt("0o" + body.slice(1)) : BigInt(body);
  return neg ? -v : v;
}
