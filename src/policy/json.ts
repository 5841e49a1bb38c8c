// A located JSON reader for policy files.
//
// Policy files are written by hand and reviewed in pull requests, so an error has to say where
// it is: every node of the tree below knows its file, its RFC 6901 JSON pointer and its 1-based
// line, and every helper that rejects a value throws an InputError whose `where` is
// `FILE:LINE (JSON-POINTER)`, e.g. `x86_64.json:41 (/vmm/filter/3/args/0/index)`.
//
// Two things JSON.parse gets wrong for seccomp policies are handled here:
//   - integers: seccomp values are 64-bit (18446744073709551615 is a real mask), and a JS number
//     rounds above 2^53. Integers are read from the exact source text as BigInt; the parser's
//     own (lossy) number is never used.
//   - duplicate keys: JSON.parse keeps the last silently. Implementations disagree (serde with
//     deny_unknown_fields refuses them, Go's encoding/json keeps the last), so the reader keeps
//     every member and lists the duplicates; each dialect decides whether they are an error or a
//     warning. Lookups return the LAST member of a name, which is what the lenient readers do.
//
// Built on @humanwhocodes/momoa (strict JSON mode: no comments, no trailing commas), whose AST
// has source offsets and lines.
import { parse as momoaParse, type ValueNode } from "@humanwhocodes/momoa";
import { InputError } from "../errors.js";
import type { SourceRef } from "./ir.js";

interface JBase {
  file: string;
  /** RFC 6901 pointer; "" is the whole document. */
  pointer: string;
  /** 1-based line where the value starts. */
  line: number;
  /** 1-based column where the value starts. */
  column: number;
}

export interface JObject extends JBase {
  kind: "object";
  /** Every member in source order, duplicates included. */
  members: JMember[];
  /** Key -> member; the last one when a key is repeated. */
  byKey: Map<string, JMember>;
}

export interface JMember {
  file: string;
  key: string;
  /** Line of the key (the value's line is on `value`). */
  line: number;
  pointer: string;
  value: JNode;
}

export interface JArray extends JBase {
  kind: "array";
  items: JNode[];
}

export interface JString extends JBase {
  kind: "string";
  value: string;
}

export interface JNumber extends JBase {
  kind: "number";
  /** The number exactly as written. */
  text: string;
  /** The exact value when `text` is an integer literal (no fraction, no exponent). */
  integer?: bigint;
}

export interface JBoolean extends JBase {
  kind: "boolean";
  value: boolean;
}

export interface JNull extends JBase {
  kind: "null";
}

export type JNode = JObject | JArray | JString | JNumber | JBoolean | JNull;
export type JKind = JNode["kind"];

/** A key given twice in one object. */
export interface DuplicateKey {
  object: JObject;
  key: string;
  /** The first and a later member with that key. */
  first: JMember;
  later: JMember;
}

export interface JsonDocument {
  file: string;
  root: JNode;
  duplicates: DuplicateKey[];
}

/** Something with a place: a node, a member, or a bare location. */
export type Located = { file: string; pointer: string; line: number };

/** RFC 6901 escaping of one reference token. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** `FILE:LINE (POINTER)`; the document itself prints as `(root)`. */
export function placeOf(at: Located): string {
  return `${at.file}:${at.line} (${at.pointer === "" ? "root" : at.pointer})`;
}

/** `placeOf` for an IR SourceRef, whose line and pointer are optional. */
export function placeOfRef(ref: SourceRef): string {
  if (ref.line === undefined) return ref.pointer === undefined ? ref.file : `${ref.file} (${ref.pointer || "root"})`;
  return ref.pointer === undefined ? `${ref.file}:${ref.line}` : placeOf(ref as Located);
}

/** The IR's SourceRef for a place. */
export function refOf(at: Located): SourceRef {
  return { file: at.file, pointer: at.pointer, line: at.line };
}

/** An InputError located at `at`. */
export function jsonError(at: Located, message: string): InputError {
  return new InputError(message, placeOf(at));
}

const ARTICLE: Record<JKind, string> = {
  object: "an object", array: "an array", string: "a string", number: "a number",
  boolean: "a boolean", null: "null",
};

/** "a string", "an object", … and, for scalars, the value: for messages such as "got …". */
export function describe(node: JNode): string {
  switch (node.kind) {
    case "string": return `the string ${JSON.stringify(node.value)}`;
    case "number": return `the number ${node.text}`;
    case "boolean": return String(node.value);
    default: return ARTICLE[node.kind];
  }
}

/**
 * Parses `text` (a leading BOM is allowed). Syntax errors are InputErrors at `FILE:LINE:COLUMN`;
 * they have no pointer because there is no tree yet.
 */
export function parseJson(text: string, file: string): JsonDocument {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (src.trim() === "") throw new InputError("is empty: expected a JSON object", file);
  let ast;
  try {
    ast = momoaParse(src, { mode: "json" });
  } catch (e) {
    if (e instanceof RangeError) throw new InputError("JSON nesting is too deep", file);
    const err = e as Error & { line?: number; column?: number };
    const msg = err.message.replace(/\s*\(\d+:\d+\)\s*$/, "");
    const at = typeof err.line === "number" ? `${file}:${err.line}:${err.column ?? 1}` : file;
    throw new InputError(`invalid JSON: ${msg}`, at);
  }
  const duplicates: DuplicateKey[] = [];
  let root: JNode;
  try {
    root = convert(ast.body, "", src, file, duplicates);
  } catch (e) {
    if (e instanceof RangeError) throw new InputError("JSON nesting is too deep", file);
    throw e;
  }
  return { file, root, duplicates };
}

function convert(n: ValueNode, pointer: string, src: string, file: string, dups: DuplicateKey[]): JNode {
  const base = { file, pointer, line: n.loc.start.line, column: n.loc.start.column };
  switch (n.type) {
    case "Object": {
      const obj: JObject = { ...base, kind: "object", members: [], byKey: new Map() };
      for (const m of n.members) {
        // In JSON mode member names are always String nodes.
        const key = m.name.type === "String" ? m.name.value : m.name.name;
        const p = `${pointer}/${escapePointerToken(key)}`;
        const member: JMember = { file, key, line: m.name.loc.start.line, pointer: p, value: convert(m.value, p, src, file, dups) };
        const prev = obj.byKey.get(key);
        if (prev) {
          const first = obj.members.find((x) => x.key === key) ?? prev;
          dups.push({ object: obj, key, first, later: member });
        }
        obj.members.push(member);
        obj.byKey.set(key, member);
      }
      return obj;
    }
    case "Array":
      return {
        ...base, kind: "array",
        items: n.elements.map((el, i) => convert(el.value, `${pointer}/${i}`, src, file, dups)),
      };
    case "String":
      return { ...base, kind: "string", value: n.value };
    case "Number": {
      // The exact source text; momoa's `value` went through a double.
      const text = src.slice(n.loc.start.offset, n.loc.end.offset);
      const node: JNumber = { ...base, kind: "number", text };
      if (/^-?(0|[1-9][0-9]*)$/.test(text)) node.integer = BigInt(text);
      return node;
    }
    case "Boolean":
      return { ...base, kind: "boolean", value: n.value };
    case "Null":
      return { ...base, kind: "null" };
    default:
      // NaN / Infinity / identifiers exist only in JSON5 mode.
      throw new InputError(`unexpected ${(n as { type: string }).type} in JSON`, placeOf(base));
  }
}

// ---------------------------------------------------------------------------------------------
// Typed access. `what` names the value for messages ("the filter", "index"); by default the
// member name or "the value".

function nameOf(node: JNode): string {
  const i = node.pointer.lastIndexOf("/");
  if (i < 0) return "the document";
  const tok = node.pointer.slice(i + 1).replace(/~1/g, "/").replace(/~0/g, "~");
  return /^[0-9]+$/.test(tok) ? `element ${tok}` : `"${tok}"`;
}

export function expectObject(node: JNode, what = nameOf(node)): JObject {
  if (node.kind !== "object") throw jsonError(node, `${what} must be an object, got ${describe(node)}`);
  return node;
}

export function expectArray(node: JNode, what = nameOf(node)): JArray {
  if (node.kind !== "array") throw jsonError(node, `${what} must be an array, got ${describe(node)}`);
  return node;
}

export function expectString(node: JNode, what = nameOf(node)): string {
  if (node.kind !== "string") throw jsonError(node, `${what} must be a string, got ${describe(node)}`);
  return node.value;
}

export function expectBoolean(node: JNode, what = nameOf(node)): boolean {
  if (node.kind !== "boolean") throw jsonError(node, `${what} must be true or false, got ${describe(node)}`);
  return node.value;
}

/**
 * An unsigned integer 0..max, read exactly. A fraction or exponent ("1.0", "1e3") is refused
 * like serde and Go refuse it for integer fields; so is a negative value (an old Firecracker doc
 * example has `"errno": -1`, which never parsed).
 */
export function expectUint(node: JNode, max: bigint, what = nameOf(node)): bigint {
  if (node.kind !== "number") throw jsonError(node, `${what} must be an integer, got ${describe(node)}`);
  if (node.integer === undefined) {
    throw jsonError(node, `${what} must be an integer written without fraction or exponent, got ${node.text}`);
  }
  if (node.integer < 0n) throw jsonError(node, `${what} must not be negative, got ${node.text}`);
  if (node.integer > max) {
    throw jsonError(node, `${what} is out of range: ${node.text} (allowed 0..${max}${max > 9999n ? ` = 0x${max.toString(16)}` : ""})`);
  }
  return node.integer;
}

/** The member's value (the last one for a repeated key), or undefined. */
export function getField(obj: JObject, key: string): JNode | undefined {
  return obj.byKey.get(key)?.value;
}

/** Like getField, but a JSON null counts as absent (Go's and serde's Option reading). */
export function getOptional(obj: JObject, key: string): JNode | undefined {
  const v = obj.byKey.get(key)?.value;
  return v === undefined || v.kind === "null" ? undefined : v;
}

/** The member's value, or an error at the object naming the missing field. */
export function requireField(obj: JObject, key: string, what = "the object"): JNode {
  const v = obj.byKey.get(key)?.value;
  if (v === undefined) throw jsonError(obj, `${what} is missing the required field "${key}"`);
  return v;
}

/** Refuses any member not in `allowed`, naming it and the accepted ones. */
export function rejectUnknownFields(obj: JObject, allowed: readonly string[], what = "the object"): void {
  for (const m of obj.members) {
    if (!allowed.includes(m.key)) {
      throw jsonError(m, `unknown field "${m.key}" in ${what} (accepted: ${allowed.join(", ")})`);
    }
  }
}

/** Throws for the first duplicate key (the strict dialects' rule). */
export function rejectDuplicates(doc: JsonDocument, what: (d: DuplicateKey) => string = (d) => `field "${d.key}"`): void {
  const d = [...doc.duplicates].sort((a, b) => a.later.line - b.later.line)[0];
  if (d) throw jsonError(d.later, `duplicate ${what(d)} (first given on line ${d.first.line})`);
}
