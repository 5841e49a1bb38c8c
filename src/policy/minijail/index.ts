// minijail policies → PolicyIR. The text is read by parse.ts; this module resolves includes,
// constants and syscall names, and gives the statements one of minijail's two meanings:
//
//   "c"       the man page and the C library (syscall_filter.c, what `minijail0 -S` and
//             libminijail use at run time on ChromeOS and Android). The default: it is the
//             documented reading.
//   "python"  tools/compile_seccomp_policy.py, the compiler crosvm runs at build time.
//
// Where they differ (docs/policies.md, "minijail", lists each point with its reason):
// - `EXPR; ACTION`: C allows when EXPR holds and takes ACTION otherwise; Python takes ACTION when
//   EXPR holds and goes on to the syscall's next filter (or the default) otherwise. `EXPR` alone
//   allows when it holds in both; otherwise C takes the default, Python the next filter.
// - A syscall named in several statements: C refuses (Android's build keeps the first with a
//   warning: `--minijail-duplicates first`); Python appends the filters in file order and
//   refuses only a filter after an unconditional one.
// - `@include` inside an included file: C refuses, Python allows 10 levels.
// - A foreign arch token: C kills the thread; Python uses its kill action (the thread, or the
//   process with --use-kill-process).
// - Filter lists `{f1, f2}` are Python syntax: refused in the C reading, which has one filter
//   per line. Everything else (metadata, `allow`, bare actions, `@default`, `@denylist`) is
//   read the same in both; C's parser refuses some of those forms, sysfence does not.
// Common to both: `kill` is KILL_THREAD unless --use-kill-process; the default action is `kill`
// (ALLOW under @denylist); x32 numbers on x86_64 match no entry and get the default; arguments
// compare as unsigned 64-bit values on 64-bit ABIs and on the low word on 32-bit ABIs.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InputError, UnknownSyscallError } from "../../errors.js";
import { Action } from "../../engine/actions.js";
import { archesByToken, type ArchInfo } from "../../syscalls/arches.js";
import { syscallNumber } from "../../syscalls/index.js";
import { constantValue } from "../../traces/constants.js";
import { abiArgWidth, hex } from "../builder.js";
import { errnoNumber } from "../oci.js";
import type { ArgCondition, PolicyIR, PolicyWarning, Rule, SyscallPolicy } from "../ir.js";
import {
  at, numberValue, parseFrequency, parseStatement, tokenize,
  type ActionExpr, type Atom, type FilterExpr, type Statement, type Token, type ValueExpr,
} from "./parse.js";
import { readConstants, type MinijailConstants } from "./constants.js";

export type MinijailSemantics = "c" | "python";
export type MinijailDuplicates = "refuse" | "first" | "concat";

/** A path prefix that policies name (`/usr/share/policy/crosvm`) and the folder that holds it. */
export interface IncludeRoot {
  prefix: string;
  dir: string;
}

export interface MinijailOptions {
  /** Which implementation's meaning (default "c", the documented one). */
  semantics?: MinijailSemantics;
  /** A syscall in several statements (default: "refuse" in the C reading, "concat" in Python's). */
  duplicates?: MinijailDuplicates;
  /** Overrides `@default` (any action, as compile_seccomp_policy.py --default-action). */
  defaultAction?: string;
  /** `kill` means KILL_PROCESS instead of KILL_THREAD. */
  useKillProcess?: boolean;
  /** constants.json (default: the one beside the policy, when there is one). */
  constants?: string;
  /** Where absolute @include paths live; default: beside the including file. */
  includeRoots?: IncludeRoot[];
}

export interface MinijailPolicy {
  ir: PolicyIR;
  warnings: PolicyWarning[];
  /** @frequency call counts by syscall number (empty without @frequency). */
  frequency: Map<number, bigint>;
  /** Every file read: the policy, its includes, frequency and constants files. */
  files: string[];
}

const PYTHON_INCLUDE_DEPTH = 10;
/** Expanding `argN & MASK` (any bit) into one rule per bit must stay bounded. */
const MAX_RULES_PER_SYSCALL = 4096;

/** Parses `PREFIX=DIR` (the --include-root option). */
export function parseIncludeRoot(text: string): IncludeRoot {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1 || !text.startsWith("/")) {
    throw new InputError(`--include-root takes PREFIX=DIR with an absolute PREFIX (e.g. /usr/share/policy/crosvm=./policies), not "${text}"`);
  }
  return { prefix: text.slice(0, eq).replace(/\/+$/, ""), dir: text.slice(eq + 1) };
}

interface Located<T> {
  value: T;
  token: Token;
}

interface Collected {
  statements: Extract<Statement, { kind: "filter" }>[];
  defaults: Located<ActionExpr>[];
  denylist?: Token;
  frequencies: { file: string; token: Token }[];
  files: string[];
}

/**
 * Reads a minijail policy for `arch` (or the arch its constants.json names). Errors are
 * InputErrors at `FILE:LINE:COL`.
 */
export function loadMinijail(text: string, file: string, arch: ArchInfo | undefined, opts: MinijailOptions = {}): MinijailPolicy {
  const semantics = opts.semantics ?? "c";
  const duplicates = opts.duplicates ?? (semantics === "c" ? "refuse" : "concat");
  if (semantics === "c" && duplicates === "concat") {
    throw new InputError(
      "--minijail-duplicates concat needs --minijail-semantics python: in the C reading every statement ends in an " +
        "unconditional action, so a second one could never be reached",
    );
  }
  const baseDir = file === "<stdin>" ? "." : dirname(file);
  // "<stdin>", "<learned policy>": text that is not a file has nothing beside it.
  const constantsFile = opts.constants ?? (file.startsWith("<") ? undefined : besideConstants(baseDir));
  const constants = constantsFile ? readConstants(constantsFile) : undefined;
  const target = pickArch(arch, constants, constantsFile);
  const warnings: PolicyWarning[] = [];

  const col: Collected = { statements: [], defaults: [], frequencies: [], files: [file] };
  if (constantsFile) col.files.push(constantsFile);
  collect(text, file, 0, semantics, opts.includeRoots ?? [], col);

  const ctx = new Context(target, constants, opts.useKillProcess ?? false);
  const killAction = ctx.kill();
  const denylist = col.denylist !== undefined;
  let defaultAction = denylist ? Action.ALLOW : killAction;
  for (const d of col.defaults) defaultAction = ctx.defaultAction(d.value);
  if (opts.defaultAction !== undefined) defaultAction = ctx.action(actionFromText(opts.defaultAction));

  // Per syscall number: its name and the filters of every statement naming it, in file order.
  const bySyscall = new Map<number, { name: string; entries: { filters: FilterExpr[]; token: Token }[] }>();
  for (const st of col.statements) {
    if (semantics === "c" && st.list) {
      throw new InputError(
        "a filter list {…} is syntax of minijail's Python compiler; the C reading has one filter per statement " +
          "(use --minijail-semantics python)",
        at(st.token),
      );
    }
    if (denylist) {
      for (const f of st.filters) {
        if (f.action?.kind !== "return") {
          throw new InputError("in a @denylist policy every filter ends in `return ERRNO`", at(f.action?.token ?? f.token));
        }
      }
    }
    for (const ref of st.syscalls) {
      for (const { nr, name } of ctx.syscalls(ref)) {
        let g = bySyscall.get(nr);
        if (!g) bySyscall.set(nr, (g = { name, entries: [] }));
        g.entries.push({ filters: st.filters, token: ref.token });
      }
    }
  }

  const syscalls: SyscallPolicy[] = [];
  for (const [nr, g] of bySyscall) {
    let entries = g.entries;
    if (entries.length > 1) {
      const places = entries.map((e) => at(e.token)).join(", ");
      if (duplicates === "refuse") {
        throw new InputError(
          `syscall "${g.name}" is listed again here (first at ${at(entries[0].token)}); minijail's C library refuses ` +
            `this. Choose a reading: --minijail-duplicates first (Android's build) or --minijail-semantics python ` +
            `(crosvm's compiler, which appends the filters)`,
          at(entries[1].token),
        );
      }
      if (duplicates === "first") {
        warnings.push({
          message: `syscall "${g.name}" is listed ${entries.length} times (${places}); the first statement is used, as minijail's Android build does`,
          source: { file: entries[1].token.file, line: entries[1].token.line },
        });
        entries = [entries[0]];
      }
    }
    const rules = semantics === "c"
      ? entries.flatMap((e) => cRules(e.filters[0], ctx, defaultAction))
      : pythonRules(g.name, nr, entries.flatMap((e) => e.filters), ctx, defaultAction);
    if (rules.length > MAX_RULES_PER_SYSCALL) {
      throw new InputError(
        `syscall "${g.name}": the filters expand to ${rules.length} rules (over ${MAX_RULES_PER_SYSCALL}); ` +
          `"argN & MASK" becomes one rule per bit of MASK`,
        at(entries[0].token),
      );
    }
    syscalls.push({ nr, name: g.name, rules: trimUnreachable(rules) });
  }
  syscalls.sort((a, b) => (a.nr >>> 0) - (b.nr >>> 0));

  const frequency = new Map<number, bigint>();
  for (const f of col.frequencies) {
    col.files.push(f.file);
    for (const e of parseFrequency(readText(f.file, at(f.token)), f.file)) {
      for (const { nr } of ctx.syscalls({ name: e.name, token: e.token })) frequency.set(nr, (frequency.get(nr) ?? 0n) + e.count);
    }
  }

  const name = basename(file).replace(/\.policy$/, "");
  const ir: PolicyIR = {
    name,
    arches: [{ arch: target, defaultAction: defaultAction >>> 0, syscalls }],
    // The C library's arch check always returns SECCOMP_RET_KILL (the thread).
    mismatchAction: (semantics === "c" ? Action.KILL_THREAD : killAction) >>> 0,
    source: { file, line: 1 },
  };
  // Neither implementation tells x32 apart: an x32 number matches no entry, so the default.
  if (target.name === "x86_64") ir.x32Action = defaultAction >>> 0;
  return { ir, warnings, frequency, files: col.files };
}

function besideConstants(dir: string): string | undefined {
  const p = join(dir, "constants.json");
  return existsSync(p) ? p : undefined;
}

function pickArch(arch: ArchInfo | undefined, constants: MinijailConstants | undefined, file: string | undefined): ArchInfo {
  const fromConstants = constants?.archToken !== undefined
    ? archesByToken(constants.archToken).find((a) => a.nrBase === 0 || constants.bits === 32) : undefined;
  if (arch && fromConstants && arch.token !== fromConstants.token) {
    throw new InputError(
      `${file} is minijail's constants for ${constants!.archName ?? fromConstants.name}, not ${arch.name}: ` +
        `give the ${arch.name} constants with --constants FILE`,
    );
  }
  const a = arch ?? fromConstants;
  if (!a) {
    throw new InputError(
      "a minijail policy does not name its arch: give --arch (or a constants.json beside the policy or with --constants)",
    );
  }
  return a;
}

function readText(path: string, where: string): string {
  try {
    if (statSync(path).size > 16 << 20) throw new InputError(`${path} is too large (limit 16 MiB)`, where);
    return readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, where);
  }
}

/**
 * Where an @include or @frequency path is read from. An absolute path is where the policy will
 * be installed, not where it is now: a matching --include-root maps it, else the file of that
 * name beside the including file. A "./" path is relative to the including file (Python's
 * reading; C's is the working directory, which makes a policy mean different things by where it
 * is run). The absolute path itself is never read, so the answer does not depend on the machine.
 */
function locate(path: string, from: string, roots: IncludeRoot[], token: Token, what: string): string {
  // Relative to the including file as the user named it, so messages show the paths they typed.
  const dir = from === "<stdin>" ? "." : dirname(from);
  let candidate: string;
  let hint = "";
  if (path.startsWith("/")) {
    const root = roots
      .filter((r) => path === r.prefix || path.startsWith(r.prefix + "/"))
      .sort((a, b) => b.prefix.length - a.prefix.length)[0];
    if (root) {
      candidate = join(root.dir, path.slice(root.prefix.length));
      hint = ` (${path} through --include-root ${root.prefix}=${root.dir})`;
    } else {
      candidate = join(dir, basename(path));
      hint = ` (${path} looked up beside ${from}; map its folder with --include-root ${dirname(path)}=DIR)`;
    }
  } else {
    candidate = join(dir, path);
  }
  if (!existsSync(candidate) || !statSync(candidate).isFile()) {
    throw new InputError(`cannot ${what} ${path}: no file ${candidate}${hint}`, at(token));
  }
  return candidate;
}

function collect(text: string, file: string, depth: number, semantics: MinijailSemantics, roots: IncludeRoot[], col: Collected): void {
  for (const tokens of tokenize(text, file)) {
    const st = parseStatement(tokens);
    switch (st.kind) {
      case "filter":
        col.statements.push(st);
        break;
      case "default":
        col.defaults.push({ value: st.action, token: st.token });
        break;
      case "denylist":
        col.denylist ??= st.token;
        break;
      case "frequency":
        col.frequencies.push({ file: locate(st.path, file, roots, st.token, "read the @frequency file"), token: st.token });
        break;
      case "include": {
        if (semantics === "c" && depth > 0) {
          throw new InputError(
            "@include inside an included file: minijail's C library allows one level (use --minijail-semantics python, which allows 10)",
            at(st.token),
          );
        }
        if (depth + 1 >= PYTHON_INCLUDE_DEPTH) throw new InputError(`@include nested more than ${PYTHON_INCLUDE_DEPTH} deep`, at(st.token));
        const path = locate(st.path, file, roots, st.token, "@include");
        col.files.push(path);
        collect(readText(path, at(st.token)), path, depth + 1, semantics, roots, col);
        break;
      }
    }
  }
}

/** `allow`, `kill-process`, `return 1`… as given on the command line. */
function actionFromText(text: string): ActionExpr {
  const lines = [...tokenize(text, "--default-action")];
  const tokens = lines[0] ?? [];
  const t = tokens[0];
  const fail = () => new InputError(`--default-action takes a minijail action (allow, kill, kill-process, kill-thread, trap, trace, log, user-notify, return ERRNO), not "${text}"`);
  if (!t || lines.length !== 1) throw fail();
  if (t.kind === "action" && tokens.length === 1) return { kind: t.text as "allow", token: t };
  if (t.kind === "number" && t.text === "1" && tokens.length === 1) return { kind: "allow", token: t };
  if (t.kind === "return" && tokens.length === 2 && (tokens[1].kind === "number" || tokens[1].kind === "ident")) {
    const v = tokens[1];
    return { kind: "return", value: v.kind === "number" ? { kind: "number", text: v.text, token: v } : { kind: "name", name: v.text, token: v }, token: t };
  }
  throw fail();
}

/** Names, values and actions for one ABI. */
class Context {
  readonly width: 32 | 64;
  private readonly archNames: Set<string>;
  constructor(readonly arch: ArchInfo, private readonly constants: MinijailConstants | undefined, private readonly killProcess: boolean) {
    this.width = abiArgWidth(arch);
    this.archNames = new Set([arch.name, ...arch.aliases, ...(constants?.archName ? [constants.archName] : [])]);
  }

  kill(): number {
    return this.killProcess ? Action.KILL_PROCESS : Action.KILL_THREAD;
  }

  /** The syscalls a name (or group) stands for on this ABI; none when [arch=…] excludes it. */
  syscalls(ref: { name: string; token: Token; arches?: string[] }): { nr: number; name: string }[] {
    if (ref.arches && !ref.arches.some((a) => this.archNames.has(a))) return [];
    if (ref.name.includes("@")) {
      const [group, ns] = ref.name.split("@");
      const names = this.constants?.groups?.get(ns)?.get(group);
      if (!names) {
        throw new InputError(`unknown syscall group "${ref.name}" (groups come from constants.json's syscall_groups)`, at(ref.token));
      }
      return names.flatMap((n) => this.syscalls({ name: n, token: ref.token }));
    }
    const nr = syscallNumber(this.arch, ref.name) ?? this.constants?.syscalls.get(ref.name);
    if (nr === undefined) throw new UnknownSyscallError(ref.name, this.arch.name, at(ref.token));
    return [{ nr, name: ref.name }];
  }

  /** A value in the ABI's word: negative numbers wrap, `~` complements within the word. */
  value(v: ValueExpr): bigint {
    const mask = (1n << BigInt(this.width)) - 1n;
    switch (v.kind) {
      case "number":
        return this.word(numberValue(v.text), v.token);
      case "name": {
        const n = this.constants?.values.get(v.name) ?? bigOf(constantValue(this.arch, v.name)) ?? bigOf(errnoNumber(v.name, this.arch));
        if (n === undefined) {
          const where = this.constants ? "constants.json nor sysfence's" : "sysfence's";
          throw new InputError(
            `unknown constant "${v.name}": not in ${where} tables for ${this.arch.name}` +
              (this.constants ? "" : " (give minijail's constants.json for the arch with --constants)"),
            at(v.token),
          );
        }
        return this.word(n, v.token);
      }
      case "not":
        return ~this.value(v.of) & mask;
      case "or":
        return v.parts.reduce((acc, p) => acc | this.value(p), 0n);
    }
  }

  private word(n: bigint, token: Token): bigint {
    const bits = BigInt(this.width);
    if (n > (1n << bits) - 1n) throw new InputError(`${hex(n)} does not fit in ${this.width} bits (${this.arch.name})`, at(token));
    if (n < -(1n << (bits - 1n))) throw new InputError(`${n} is below the smallest ${this.width}-bit value`, at(token));
    return BigInt.asUintN(this.width, n);
  }

  action(a: ActionExpr): number {
    switch (a.kind) {
      case "allow": return Action.ALLOW;
      case "kill": return this.kill();
      case "kill-process": return Action.KILL_PROCESS;
      case "kill-thread": return Action.KILL_THREAD;
      case "trap": return Action.TRAP;
      case "trace": return Action.TRACE;
      case "log": return Action.LOG;
      case "user-notify": return Action.USER_NOTIF;
      case "return": {
        const n = this.value(a.value);
        if (n > 0xffffn) throw new InputError(`errno ${n} does not fit in the 16 bits of SECCOMP_RET_DATA`, at(a.value.token));
        return (Action.ERRNO | Number(n)) >>> 0;
      }
    }
  }

  /** `@default` takes only the actions that stop the call (minijail refuses permissive ones there). */
  defaultAction(a: ActionExpr): number {
    if (!["kill", "kill-process", "kill-thread", "trap", "user-notify"].includes(a.kind)) {
      throw new InputError(
        `@default takes kill, kill-process, kill-thread, trap or user-notify (a permissive default is only for --default-action)`,
        at(a.token),
      );
    }
    return this.action(a);
  }

  /** One clause (atoms joined by &&) as IR condition lists: `&` expands to one list per bit. */
  clause(atoms: Atom[]): ArgCondition[][] {
    let out: ArgCondition[][] = [[]];
    for (const a of atoms) {
      const alts = this.atom(a);
      const next: ArgCondition[][] = [];
      for (const prefix of out) for (const alt of alts) next.push([...prefix, alt]);
      out = next;
      if (out.length > MAX_RULES_PER_SYSCALL) {
        throw new InputError(`this clause expands to more than ${MAX_RULES_PER_SYSCALL} rules ("argN & MASK" is one rule per bit)`, at(a.token));
      }
    }
    return out;
  }

  /** The conditions any one of which makes the atom hold (one, except for `&`). */
  private atom(a: Atom): ArgCondition[] {
    const v = this.value(a.value);
    const source = { file: a.token.file, line: a.token.line };
    const c = (op: ArgCondition["op"], value: bigint, mask?: bigint): ArgCondition =>
      mask === undefined ? { index: a.arg, width: this.width, op, value, source } : { index: a.arg, width: this.width, op, value, mask, source };
    switch (a.op) {
      case "==": return [c("eq", v)];
      case "!=": return [c("ne", v)];
      case "<": return [c("lt", v)];
      case "<=": return [c("le", v)];
      case ">": return [c("gt", v)];
      case ">=": return [c("ge", v)];
      // Every set bit of the argument is in the mask: no bit outside it is set.
      case "in": return [c("masked_eq", 0n, ~v & ((1n << BigInt(this.width)) - 1n))];
      // Any bit of the mask set: one condition per bit (none for 0: it never holds).
      case "&": {
        const bits: ArgCondition[] = [];
        for (let b = 0n; b < BigInt(this.width); b++) if ((v >> b) & 1n) bits.push(c("masked_eq", 1n << b, 1n << b));
        return bits;
      }
    }
  }
}

function bigOf(n: number | undefined): bigint | undefined {
  return n === undefined ? undefined : BigInt(n);
}

/** The C reading of one statement: allow when the expression holds, else its action or the default. */
function cRules(f: FilterExpr, ctx: Context, defaultAction: number): Rule[] {
  const source = { file: f.token.file, line: f.token.line };
  if (!f.expr) return [{ conditions: [], action: ctx.action(f.action!) >>> 0, source }];
  const rules: Rule[] = f.expr.flatMap((cl) => ctx.clause(cl).map((conditions) => ({ conditions, action: Action.ALLOW >>> 0, source })));
  rules.push({ conditions: [], action: (f.action ? ctx.action(f.action) : defaultAction) >>> 0, source });
  return rules;
}

/** The Python reading of a syscall's filters: each filter's action when it holds, in order. */
function pythonRules(name: string, nr: number, filters: FilterExpr[], ctx: Context, defaultAction: number): Rule[] {
  const rules: Rule[] = [];
  let unconditional: FilterExpr | undefined;
  for (const f of filters) {
    if (unconditional) {
      throw new InputError(
        `syscall "${name}" (number ${nr}) already has an unconditional action (at ${at(unconditional.token)}); ` +
          `nothing after it could apply`,
        at(f.token),
      );
    }
    const source = { file: f.token.file, line: f.token.line };
    const action = (f.action ? ctx.action(f.action) : Action.ALLOW) >>> 0;
    if (!f.expr) {
      unconditional = f;
      rules.push({ conditions: [], action, source });
    } else {
      for (const cl of f.expr) for (const conditions of ctx.clause(cl)) rules.push({ conditions, action, source });
    }
  }
  if (!unconditional) rules.push({ conditions: [], action: defaultAction >>> 0 });
  return rules;
}

/** Rules after an unconditional one can never apply. */
function trimUnreachable(rules: Rule[]): Rule[] {
  const i = rules.findIndex((r) => r.conditions.length === 0);
  return i < 0 ? rules : rules.slice(0, i + 1);
}
