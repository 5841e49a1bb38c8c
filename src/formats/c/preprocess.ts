// A small C preprocessor: #define/#undef (object- and function-like, `#`, `##`, variadic),
// conditional groups (#if/#ifdef/#ifndef/#elif/#else/#endif) and macro expansion with hide sets.
import { InputError } from "../../errors.js";
import { BPF_CONSTANTS, PREDEFINED } from "./constants.js";
import { ExprParser, type EvalEnv } from "./expr.js";
import type { Tok, TokKind } from "./tokens.js";


/**
 * Macro expansions per file. A filter header needs a few thousand; a full 4,096-instruction
 * program written with BPF_STMT/BPF_JUMP and named constants about 6 per instruction (~25,000),
 * so this leaves four times that, and bounds a hostile header to about a second of work.
 */
export const MAX_EXPANSIONS = 100_000;
/** Tokens macro expansion may produce per file (about 20 per expansion). */
export const MAX_EXPANDED_TOKENS = 2_000_000;
/** Macro calls nested inside macro arguments. */
export const MAX_MACRO_DEPTH = 200;

interface Macro {
  params?: string[];
  variadic?: boolean;
  body: Tok[];
  line: number;
}

/** Names the reader knows itself; a file's fallback #define of them is not needed. */
function isBuiltin(name: string): boolean {
  return name === "BPF_STMT" || name === "BPF_JUMP" || name === "offsetof" || name === "ENOSYS" ||
    Object.hasOwn(BPF_CONSTANTS, name);
}

export class Preprocessor {
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

  /** Macro expansions so far in this file, across every expand call. */
  private expansions = 0;
  /** Tokens produced by expansions so far in this file. */
  private produced = 0;
  /** Nesting of argument pre-expansion (expand called from inside expand). */
  private depth = 0;

  /** Counts one expansion producing `tokens` tokens; past a limit, an error at `line`. */
  private spend(name: string, tokens: number, line: number): void {
    this.expansions++;
    this.produced += tokens;
    if (this.expansions > MAX_EXPANSIONS || this.produced > MAX_EXPANDED_TOKENS) {
      throw new InputError(
        `macro expansion of ${name} exceeds the limit of ${this.expansions > MAX_EXPANSIONS ? `${MAX_EXPANSIONS} expansions` : `${MAX_EXPANDED_TOKENS} tokens`} ` +
          `per file (macros that expand each other grow without bound)`,
        this.env.where(line),
      );
    }
  }

  /**
   * Expands every macro in `toks`. Each produced token remembers which macros made it (its hide
   * set) and is not expanded by them again, so self-referencing macros stop; the result of an
   * expansion is rescanned together with the tokens after it, so `#define F G` followed by
   * `F(1)` calls G. (C's algorithm, minus the corner cases filter code does not reach.)
   *
   * The tokens still to scan are a stack (next token last), so an expansion costs its own size,
   * not the rest of the line's. Limits, as C compilers have them, with an error at the line:
   * MAX_EXPANSIONS and MAX_EXPANDED_TOKENS per file, MAX_MACRO_DEPTH nested macro arguments.
   */
  expand(toks: Tok[]): Tok[] {
    if (++this.depth > MAX_MACRO_DEPTH) {
      const line = toks[0]?.line ?? 0;
      this.depth--;
      throw new InputError(`macro arguments nested deeper than ${MAX_MACRO_DEPTH} levels`, this.env.where(line));
    }
    try {
      return this.expandTokens(toks);
    } finally {
      this.depth--;
    }
  }

  private expandTokens(toks: Tok[]): Tok[] {
    const q = toks.slice().reverse();
    const out: Tok[] = [];
    const pushReversed = (xs: Tok[]): void => {
      for (let b = xs.length - 1; b >= 0; b--) q.push(xs[b]);
    };
    while (q.length > 0) {
      const t = q.pop()!;
      const m = t.k === "id" && !t.hide?.has(t.v) ? this.macros.get(t.v) : undefined;
      if (!m || (m.params && q[q.length - 1]?.v !== "(")) {
        // Not a macro, or a function-like macro's name without arguments: just a name.
        out.push(t);
        continue;
      }
      this.spend(t.v, m.body.length, t.line);
      const hide = new Set(t.hide ?? []).add(t.v);
      // Hide sets are never changed once made, so a body token without one (the usual case)
      // shares this expansion's set instead of copying it (a copy per token made 200,000
      // expansions cost seconds).
      const mark = (x: Tok): Tok => ({ ...x, line: t.line, bol: false, hide: x.hide && x.hide.size ? new Set([...x.hide, ...hide]) : hide });
      if (!m.params) {
        pushReversed(m.body.map(mark));
        continue;
      }
      // Collect the arguments: split at top-level commas.
      q.pop(); // "("
      const args: Tok[][] = [[]];
      let level = 0;
      let closed = false;
      while (q.length > 0) {
        const a = q.pop()!;
        if (a.v === "(") level++;
        else if (a.v === ")") {
          if (level === 0) {
            closed = true;
            break;
          }
          level--;
        } else if (a.v === "," && level === 0) {
          args.push([]);
          continue;
        }
        args[args.length - 1].push(a);
      }
      if (!closed) throw new InputError(`unterminated call of macro ${t.v}`, this.env.where(t.line));
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
          for (const x of a) rest.push(x);
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
          const got = raw ? arg : this.expand(arg);
          this.spend(t.v, got.length, t.line);
          for (const y of got) subst.push({ ...y, line: t.line, bol: false });
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
      pushReversed(pasted);
    }
    return out;
  }
}

