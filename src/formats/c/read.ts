// Reading filters out of C: finds `struct sock_filter NAME[] = {…}` (or byte) arrays after
// preprocessing and evaluates their instructions.
import { InputError } from "../../errors.js";
import { Program, type Insn } from "../../engine/program.js";
import type { ArchInfo, Endian } from "../../syscalls/arches.js";
import { ExprParser, type EvalEnv } from "./expr.js";
import { Preprocessor } from "./preprocess.js";
import { tokenize, type Tok } from "./tokens.js";


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

