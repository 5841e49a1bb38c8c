// A program as a JSON array of instructions: the easiest container to produce from scripts and
// to diff. Written as `[{"code":32,"jt":0,"jf":0,"k":4}, …]`, one instruction per line; read
// also as `[[32,0,0,4], …]`, with any value allowed as a string ("0x20", "32").
//
// Parsed with lossless-json: JSON.parse would turn 4294967296.5 or 1e20 into some nearby double
// and a range check on that could pass or fail for the wrong reason. Here every number is seen
// as written, and only plain integers in range are accepted.
import { parse, isLosslessNumber, type LosslessNumber } from "lossless-json";
import { escapeControls, InputError } from "../errors.js";
import { Program, type Insn } from "../engine/program.js";

const FIELDS = ["code", "jt", "jf", "k"] as const;
const MAX: Record<(typeof FIELDS)[number], bigint> = { code: 0xffffn, jt: 0xffn, jf: 0xffn, k: 0xffffffffn };

/** The program as a JSON array, one instruction object per line, newline-terminated. */
export function writeJsonArray(program: Program): string {
  const lines = program.insns().map((i) => `  {"code":${i.code},"jt":${i.jt},"jf":${i.jf},"k":${i.k}}`);
  return lines.length ? `[\n${lines.join(",\n")}\n]\n` : "[]\n";
}

function lineCol(text: string, pos: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      col = 1;
    } else col++;
  }
  return `line ${line}, column ${col}`;
}

/** Parses JSON without losing any digit; syntax errors become InputErrors with a line. */
export function parseLosslessJson(text: string, where?: string): unknown {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return parse(src);
  } catch (e) {
    const msg = (e as Error).message;
    const m = / at position (\d+)$/.exec(msg);
    const at = m ? ` (${lineCol(src, Number(m[1]))})` : "";
    // The parser quotes the character it stopped at as it is: a line break would split the message.
    throw new InputError(`invalid JSON: ${escapeControls(m ? msg.slice(0, m.index) : msg)}${at}`, where);
  }
}

function fieldValue(v: unknown, field: (typeof FIELDS)[number], index: number, where?: string): number {
  const fail = (why: string): never => {
    throw new InputError(`instruction ${index} (array index ${index}): "${field}" ${why}`, where);
  };
  let text: string;
  if (isLosslessNumber(v)) {
    text = (v as LosslessNumber).value;
    if (!/^-?(0|[1-9][0-9]*)$/.test(text)) fail(`must be an integer, got ${text}`);
  } else if (typeof v === "string") {
    text = v.trim();
    if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) fail(`must be an integer (decimal or "0x" hex), got ${JSON.stringify(v)}`);
  } else {
    return fail(`must be an integer, got ${v === null ? "null" : Array.isArray(v) ? "an array" : typeof v}`);
  }
  const n = BigInt(text);
  if (n < 0n || n > MAX[field]) fail(`is out of range: ${text} (allowed 0..${MAX[field]})`);
  return Number(n);
}

/**
 * Reads a JSON array of instructions: objects with exactly code, jt, jf and k, or 4-element
 * arrays [code, jt, jf, k]. Unknown or missing fields are errors (a misspelt "jf" silently
 * read as 0 would change where a filter jumps). Errors name `where` and the array index.
 */
export function readJsonArray(text: string, where?: string): Program {
  return jsonToProgram(parseLosslessJson(text, where), where);
}

/** Converts an already-parsed (lossless) JSON value; used by detection, which parses once. */
export function jsonToProgram(doc: unknown, where?: string): Program {
  if (!Array.isArray(doc)) {
    throw new InputError("expected a JSON array of instructions", where);
  }
  const insns: Insn[] = doc.map((el: unknown, i: number) => {
    if (Array.isArray(el)) {
      if (el.length !== 4) {
        throw new InputError(`instruction ${i} (array index ${i}): expected [code, jt, jf, k], got ${el.length} values`, where);
      }
      const [code, jt, jf, k] = FIELDS.map((f, j) => fieldValue(el[j], f, i, where));
      return { code, jt, jf, k };
    }
    if (el !== null && typeof el === "object" && !isLosslessNumber(el)) {
      const o = el as Record<string, unknown>;
      const extra = Object.keys(o).filter((key) => !(FIELDS as readonly string[]).includes(key));
      if (extra.length) {
        throw new InputError(`instruction ${i} (array index ${i}): unknown field${extra.length > 1 ? "s" : ""} ${extra.map((x) => JSON.stringify(x)).join(", ")} (expected code, jt, jf, k)`, where);
      }
      const missing = FIELDS.filter((f) => !(f in o));
      if (missing.length) {
        throw new InputError(`instruction ${i} (array index ${i}): missing field${missing.length > 1 ? "s" : ""} ${missing.map((x) => JSON.stringify(x)).join(", ")}`, where);
      }
      const [code, jt, jf, k] = FIELDS.map((f) => fieldValue(o[f], f, i, where));
      return { code, jt, jf, k };
    }
    throw new InputError(`instruction ${i} (array index ${i}): expected an object {"code","jt","jf","k"} or an array [code, jt, jf, k]`, where);
  });
  return Program.fromInsns(insns);
}
