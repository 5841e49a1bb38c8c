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
// The parser is our own (strict RFC 8259: no comments, no trailing commas): iterative, so nesting
// costs heap and not call stack; linear, so a policy loads at JSON-parsing speed; and with small
// nodes that compute their pointer, line and column on demand, so a policy costs a few times its
// size in memory (an AST library with a location object per node cost ~1 KB per value).
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
  byKey: KeyIndex;
}

/** Own-key lookup in an object (never a prototype name: a plain Map-like index). */
export interface KeyIndex {
  get(key: string): JMember | undefined;
  has(key: string): boolean;
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
  if (token.indexOf("~") < 0 && token.indexOf("/") < 0) return token; // the usual case, no copy
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
  if (at instanceof NodeBase) return at.ref();
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

/** Deepest nesting a policy may have (real ones nest 5 levels); past it, a located error. */
export const MAX_JSON_DEPTH = 1000;

/**
 * Parses `text` (a leading BOM is allowed). Syntax errors are InputErrors at `FILE:LINE:COLUMN`;
 * they have no pointer because there is no tree yet.
 *
 * A hand-written scanner with an explicit stack: nesting depth costs heap, not call stack, and
 * every step is linear (duplicate keys are found through a per-object index once an object has
 * more than a few members). Nodes are small: a node keeps its parent and its token and computes
 * its pointer, line and column when asked (see `Doc`), so a policy costs a few times its size.
 */
export function parseJson(text: string, file: string): JsonDocument {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (src.trim() === "") throw new InputError("is empty: expected a JSON object", file);
  return new Parser(src, file).document();
}

/** What every node of one document shares: the file, and the line starts for line/column. */
class Doc {
  private lineStarts?: Int32Array;
  /** The line of the last lineIndex answer. */
  private lastLine = 0;
  constructor(readonly file: string, readonly src: string) {}
  /** 0-based line index of `offset` (binary search over the line starts, built once). */
  lineIndex(offset: number): number {
    let ls = this.lineStarts;
    if (!ls) {
      // Counted first, then filled: 4 bytes a line, without a JS array of every line start
      // (8 bytes each, and copies while it grows) on the way (a policy costs at most ~10 times its size to read).
      const src = this.src;
      let n = 1;
      for (let i = src.indexOf("\n"); i >= 0; i = src.indexOf("\n", i + 1)) n++;
      ls = new Int32Array(n);
      let k = 1;
      for (let i = src.indexOf("\n"); i >= 0; i = src.indexOf("\n", i + 1)) ls[k++] = i + 1;
      this.lineStarts = ls;
    }
    // The places asked for mostly go forward through the file (every rule and condition of a
    // policy, in order, a few lines apart): a short walk on from the previous answer first.
    const last = this.lastLine;
    if (ls[last] <= offset) {
      for (let i = last; i < last + 16; i++) {
        if (i + 1 >= ls.length || offset < ls[i + 1]) return (this.lastLine = i);
      }
    }
    let lo = 0;
    let hi = ls.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ls[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return (this.lastLine = lo);
  }
  lineOf(offset: number): number {
    return this.lineIndex(offset) + 1;
  }
  columnOf(offset: number): number {
    const li = this.lineIndex(offset);
    return offset - this.lineStarts![li] + 1;
  }
}

/** The document of each root node (one entry per parsed document; see NodeBase.doc). */
const ROOT_DOCS = new WeakMap<NodeBase, Doc>();

/**
 * The shared part of every node: place computed on demand from (parent, token, offset). The
 * document is found at the root (nesting is at most MAX_JSON_DEPTH): one field less per node
 * than keeping it in each (memory: at most ~10 times the policy's size). Number nodes keep theirs, their text needs it.
 */
class NodeBase {
  constructor(
    readonly parent: NodeBase | undefined,
    /** Member name or array index under the parent. */
    readonly token: string | number,
    readonly offset: number,
  ) {}
  get doc(): Doc {
    let n: NodeBase = this;
    while (n.parent) n = n.parent;
    return ROOT_DOCS.get(n)!;
  }
  get file(): string {
    return this.doc.file;
  }
  get line(): number {
    return this.doc.lineOf(this.offset);
  }
  get column(): number {
    return this.doc.columnOf(this.offset);
  }
  /** refOf for a node: the document found once (every rule and condition has one). */
  ref(): SourceRef {
    const doc = this.doc;
    return { file: doc.file, pointer: this.pointer, line: doc.lineOf(this.offset) };
  }
  get pointer(): string {
    const p = this.parent;
    if (!p) return "";
    return p.pointer + "/" + (typeof this.token === "number" ? String(this.token) : escapePointerToken(this.token));
  }
}

/** Objects up to this many members are searched linearly; bigger ones get a Map once. */
const SMALL_OBJECT = 12;

/**
 * A container's pointer, kept once asked: refOf asks the pointer of every rule and condition,
 * and their parents' pointers are the same string each time.
 */
abstract class ContainerBase extends NodeBase {
  private ptr?: string;
  override get pointer(): string {
    return (this.ptr ??= super.pointer);
  }
}

class ObjectNode extends ContainerBase implements JObject {
  // On the prototype: one field less per node.
  get kind(): "object" {
    return "object";
  }
  /**
   * The members' values in order; each value's token is its key. No member object is kept per
   * member (48 bytes each, the largest single cost of a policy's tree):
   * `members` and `get` make them when asked, and the key's place is found again from the value.
   */
  /** Set when the object closes, at its exact length (see Parser.open). */
  values!: NodeBase[];
  private index?: Map<string, NodeBase>;
  get members(): MemberNode[] {
    return this.values.map((v) => new MemberNode(v));
  }
  get byKey(): KeyIndex {
    return this;
  }
  /** The value of the last member named `key` (JSON.parse's choice among duplicates). */
  memberValue(key: string): NodeBase | undefined {
    const vs = this.values;
    if (vs.length <= SMALL_OBJECT) {
      for (let i = vs.length - 1; i >= 0; i--) if (vs[i].token === key) return vs[i];
      return undefined;
    }
    if (!this.index || this.index.size === 0) {
      const m = new Map<string, NodeBase>();
      for (const x of vs) m.set(x.token as string, x);
      this.index = m;
    }
    return this.index.get(key);
  }
  get(key: string): MemberNode | undefined {
    const v = this.memberValue(key);
    return v === undefined ? undefined : new MemberNode(v);
  }
  has(key: string): boolean {
    return this.memberValue(key) !== undefined;
  }
}

/** A member as the frontends see it, made on demand over its value node. */
class MemberNode implements JMember {
  constructor(private readonly node: NodeBase) {}
  get key(): string {
    return this.node.token as string;
  }
  get value(): JNode {
    return this.node as unknown as JNode;
  }
  get file(): string {
    return this.node.file;
  }
  /** The key's line: its opening quote found backwards from the value (`"key" : value`). */
  get line(): number {
    const src = this.node.doc.src;
    let p = this.node.offset - 1;
    const ws = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
    while (p > 0 && ws(src.charCodeAt(p))) p--;
    p--; // ':'
    while (p > 0 && ws(src.charCodeAt(p))) p--;
    // p is on the closing quote; the opening one is the previous quote not escaped.
    for (p--; p > 0; p--) {
      if (src.charCodeAt(p) !== 0x22) continue;
      let backslashes = 0;
      while (src.charCodeAt(p - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    return this.node.doc.lineOf(Math.max(p, 0));
  }
  get pointer(): string {
    return this.node.pointer;
  }
}

class ArrayNode extends ContainerBase implements JArray {
  // On the prototype: one field less per node.
  get kind(): "array" {
    return "array";
  }
  /** Set when the array closes, at its exact length (see Parser.open). */
  items!: JNode[];
}

class StringNode extends NodeBase implements JString {
  // On the prototype: one field less per node.
  get kind(): "string" {
    return "string";
  }
  constructor(parent: NodeBase | undefined, token: string | number, offset: number, readonly value: string) {
    super(parent, token, offset);
  }
}

const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;

class NumberNode extends NodeBase implements JNumber {
  // On the prototype: one field less per node.
  get kind(): "number" {
    return "number";
  }
  constructor(private readonly ownDoc: Doc, parent: NodeBase | undefined, token: string | number, offset: number, private readonly end: number) {
    super(parent, token, offset);
  }
  override get doc(): Doc {
    return this.ownDoc;
  }
  /**
   * The number as written, cut from the source when asked: an end offset is a small integer in
   * the node, where a string per number cost about 30 bytes more (a policy costs at most ~10
   * times its size to read).
   */
  get text(): string {
    return this.doc.src.slice(this.offset, this.end);
  }
  /** Read exactly from the text each time (a BigInt per number would double a policy's memory). */
  get integer(): bigint | undefined {
    const t = this.text;
    return INTEGER_TEXT.test(t) ? BigInt(t) : undefined;
  }
}

class BooleanNode extends NodeBase implements JBoolean {
  // On the prototype: one field less per node.
  get kind(): "boolean" {
    return "boolean";
  }
  constructor(parent: NodeBase | undefined, token: string | number, offset: number, readonly value: boolean) {
    super(parent, token, offset);
  }
}

class NullNode extends NodeBase implements JNull {
  // On the prototype: one field less per node.
  get kind(): "null" {
    return "null";
  }
}

/** An open object or array while parsing: the explicit stack that replaces recursion. */
interface Frame {
  node: ObjectNode | ArrayNode;
  /** Where its members start in Parser.open. */
  base: number;
  /** Objects: first member's value per key, built once the object outgrows a linear scan. */
  seen?: Map<string, NodeBase>;
}

const ESCAPES: Record<number, string> = Object.assign(Object.create(null) as Record<number, string>, {
  0x22: '"', 0x5c: "\\", 0x2f: "/", 0x62: "\b", 0x66: "\f", 0x6e: "\n", 0x72: "\r", 0x74: "\t",
});

/** The field names of the policy dialects (seccompiler, OCI), for Parser.keys. */
const KNOWN_KEYS = [
  "default_action", "mismatch_action", "filter_action", "match_action", "filter", "syscall", "args", "comment",
  "index", "type", "op", "val", "masked_eq", "errno", "trace",
  "defaultAction", "defaultErrnoRet", "architectures", "archMap", "architecture", "subArchitectures", "syscalls",
  "names", "name", "action", "errnoRet", "value", "valueTwo", "includes", "excludes", "caps", "arches",
  "minKernel", "flags", "listenerPath", "listenerMetadata", "linux", "seccomp",
];

class Parser {
  private pos = 0;
  private readonly doc: Doc;
  private readonly duplicates: DuplicateKey[] = [];
  /**
   * Member names repeat thousands of times in a policy: keep one copy of each. Seeded with the
   * policy dialects' field names as written in the code, so that a key read from the file is
   * the very string the readers compare it with (equal at the first test, no character loop).
   */
  private readonly keys = new Map<string, string>(KNOWN_KEYS.map((k) => [k, k]));
  /** Short string values, likewise (see stringValue). */
  private readonly values = new Map<string, string>();
  /**
   * The members of every open container, innermost last. A container gets its array when it
   * closes, cut to its exact length: arrays grown by push keep room for 17 elements or more,
   * which made the arrays of a policy's small objects cost more than the objects.
   */
  private readonly open: NodeBase[] = [];

  constructor(private readonly src: string, private readonly file: string) {
    this.doc = new Doc(file, src);
  }

  private fail(message: string, at = this.pos): never {
    throw new InputError(`invalid JSON: ${message}`, `${this.file}:${this.doc.lineOf(at)}:${this.doc.columnOf(at)}`);
  }

  private unexpected(expected: string): never {
    const c = this.src.charCodeAt(this.pos);
    if (Number.isNaN(c)) this.fail(`unexpected end of input, expected ${expected}`);
    const ch = this.src[this.pos];
    const shown = c < 0x20 || c === 0x7f ? `U+${c.toString(16).padStart(4, "0")}` : JSON.stringify(ch);
    this.fail(`unexpected character ${shown}, expected ${expected}`);
  }

  private skipWs(): void {
    const s = this.src;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  document(): JsonDocument {
    const stack: Frame[] = [];
    const open = this.open;
    this.skipWs();
    const root = this.value(undefined, "", stack);
    ROOT_DOCS.set(root as unknown as NodeBase, this.doc);
    // Each turn adds one element or member to the innermost open container, or closes it.
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      this.skipWs();
      const c = this.src.charCodeAt(this.pos);
      const count = open.length - top.base;
      if (top.node.kind === "array") {
        const arr = top.node;
        if (c === 0x5d /* ] */) {
          this.pos++;
          arr.items = open.slice(top.base) as unknown as JNode[];
          open.length = top.base;
          stack.pop();
          continue;
        }
        if (count > 0) {
          if (c !== 0x2c /* , */) this.unexpected(`"," or "]"`);
          this.pos++;
          this.skipWs();
        }
        open.push(this.value(arr, count, stack) as unknown as NodeBase);
        continue;
      }
      const obj = top.node;
      if (c === 0x7d /* } */) {
        this.pos++;
        obj.values = open.slice(top.base);
        open.length = top.base;
        stack.pop();
        continue;
      }
      if (count > 0) {
        if (c !== 0x2c) this.unexpected(`"," or "}"`);
        this.pos++;
        this.skipWs();
      }
      if (this.src.charCodeAt(this.pos) !== 0x22) this.unexpected("a string (a member name)");
      const key = this.key();
      this.skipWs();
      if (this.src.charCodeAt(this.pos) !== 0x3a /* : */) this.unexpected(`":"`);
      this.pos++;
      this.skipWs();
      const value = this.value(obj, key, stack) as unknown as NodeBase;
      this.noteKey(top, key, value);
      open.push(value);
    }
    this.skipWs();
    if (this.pos < this.src.length) this.unexpected("the end of the document");
    return { file: this.file, root, duplicates: this.duplicates };
  }

  /** Records a member's key; a repeat becomes a DuplicateKey (first and later member). */
  private noteKey(frame: Frame, key: string, value: NodeBase): void {
    const obj = frame.node as ObjectNode;
    const open = this.open;
    let first: NodeBase | undefined;
    if (!frame.seen && open.length - frame.base < SMALL_OBJECT) {
      for (let i = frame.base; i < open.length; i++) {
        if (open[i].token === key) {
          first = open[i];
          break;
        }
      }
    } else {
      if (!frame.seen) {
        frame.seen = new Map();
        for (let i = frame.base; i < open.length; i++) if (!frame.seen.has(open[i].token as string)) frame.seen.set(open[i].token as string, open[i]);
      }
      first = frame.seen.get(key);
      if (!first) frame.seen.set(key, value);
    }
    if (first) this.duplicates.push({ object: obj, key, first: new MemberNode(first), later: new MemberNode(value) });
  }

  /**
   * Parses a value at `pos`. An object or array is returned open: it is pushed on `stack` and
   * its contents follow in the main loop.
   */
  private value(parent: ObjectNode | ArrayNode | undefined, token: string | number, stack: Frame[]): JNode {
    const at = this.pos;
    const c = this.src.charCodeAt(at);
    const doc = this.doc;
    switch (c) {
      case 0x7b /* { */:
      case 0x5b /* [ */: {
        if (stack.length >= MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
        this.pos++;
        const node = c === 0x7b ? new ObjectNode(parent, token, at) : new ArrayNode(parent, token, at);
        // Its members follow its own entry in `open` (the root has none).
        stack.push({ node, base: this.open.length + (parent ? 1 : 0) });
        return node;
      }
      case 0x22 /* " */:
        return new StringNode(parent, token, at, this.stringValue());
      case 0x74 /* t */:
        this.literal("true");
        return new BooleanNode(parent, token, at, true);
      case 0x66 /* f */:
        this.literal("false");
        return new BooleanNode(parent, token, at, false);
      case 0x6e /* n */:
        this.literal("null");
        return new NullNode(parent, token, at);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          this.number();
          return new NumberNode(doc, parent, token, at, this.pos);
        }
        return this.unexpected("a value");
    }
  }

  private literal(word: string): void {
    if (this.src.startsWith(word, this.pos)) {
      this.pos += word.length;
      return;
    }
    this.unexpected("a value");
  }

  private digits(): void {
    const s = this.src;
    const start = this.pos;
    while (s.charCodeAt(this.pos) >= 0x30 && s.charCodeAt(this.pos) <= 0x39) this.pos++;
    if (this.pos === start) this.unexpected("a digit");
  }

  /** The RFC 8259 number grammar, scanned; the node cuts its exact text from the source. */
  private number(): void {
    const s = this.src;
    if (s.charCodeAt(this.pos) === 0x2d) this.pos++;
    if (s.charCodeAt(this.pos) === 0x30) this.pos++;
    else this.digits();
    if (s.charCodeAt(this.pos) === 0x2e) {
      this.pos++;
      this.digits();
    }
    const e = s.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = s.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      this.digits();
    }
  }

  private key(): string {
    const k = this.string();
    const known = this.keys.get(k);
    if (known !== undefined) return known;
    if (this.keys.size < 4096) this.keys.set(k, k);
    return k;
  }

  /**
   * A string value, short ones shared: a policy repeats a few words ("dword", "eq", syscall
   * names) tens of thousands of times, and one copy each is what keeps reading it near its size.
   * The table is bounded, so a hostile file of distinct strings only misses it.
   */
  private stringValue(): string {
    const v = this.string();
    if (v.length > 64) return v;
    const known = this.values.get(v);
    if (known !== undefined) return known;
    if (this.values.size < 4096) this.values.set(v, v);
    return v;
  }

  /** A string at `pos` (on the opening quote): escapes decoded, raw control characters refused. */
  private string(): string {
    const s = this.src;
    let p = this.pos + 1;
    let out = "";
    let chunk = p;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x22) {
        out += s.slice(chunk, p);
        this.pos = p + 1;
        return out;
      }
      if (c === 0x5c) {
        out += s.slice(chunk, p);
        const e = s.charCodeAt(p + 1);
        if (e === 0x75 /* u */) {
          const hex = s.slice(p + 2, p + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape in a string", p);
          out += String.fromCharCode(parseInt(hex, 16));
          p += 6;
        } else {
          const r = ESCAPES[e];
          if (r === undefined) this.fail("invalid escape in a string", p);
          out += r;
          p += 2;
        }
        chunk = p;
        continue;
      }
      if (Number.isNaN(c)) this.fail("unterminated string", this.pos);
      if (c < 0x20) this.fail(`unescaped control character U+${c.toString(16).padStart(4, "0")} in a string`, p);
      p++;
    }
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
  const v = node.integer; // read from the text on each access: once here
  if (v === undefined) {
    throw jsonError(node, `${what} must be an integer written without fraction or exponent, got ${node.text}`);
  }
  if (v < 0n) throw jsonError(node, `${what} must not be negative, got ${node.text}`);
  if (v > max) {
    throw jsonError(node, `${what} is out of range: ${node.text} (allowed 0..${max}${max > 9999n ? ` = 0x${max.toString(16)}` : ""})`);
  }
  return v;
}

/**
 * The value of the last member named `key`: straight from the parser's node when `obj` is one,
 * without the member object `byKey.get` makes (every rule asks for several fields).
 */
function fieldValue(obj: JObject, key: string): JNode | undefined {
  if (obj instanceof ObjectNode) return obj.memberValue(key) as unknown as JNode | undefined;
  return obj.byKey.get(key)?.value;
}

/** The member's value (the last one for a repeated key), or undefined. */
export function getField(obj: JObject, key: string): JNode | undefined {
  return fieldValue(obj, key);
}

/** Like getField, but a JSON null counts as absent (Go's and serde's Option reading). */
export function getOptional(obj: JObject, key: string): JNode | undefined {
  const v = fieldValue(obj, key);
  return v === undefined || v.kind === "null" ? undefined : v;
}

/** The member's value, or an error at the object naming the missing field. */
export function requireField(obj: JObject, key: string, what = "the object"): JNode {
  const v = fieldValue(obj, key);
  if (v === undefined) throw jsonError(obj, `${what} is missing the required field "${key}"`);
  return v;
}

/** Refuses any member not in `allowed`, naming it and the accepted ones. */
export function rejectUnknownFields(obj: JObject, allowed: readonly string[], what = "the object"): void {
  if (obj instanceof ObjectNode) {
    // The keys straight from the nodes; a member object only for the one refused.
    for (const v of obj.values) if (!allowed.includes(v.token as string)) throw unknownField(new MemberNode(v), allowed, what);
    return;
  }
  for (const m of obj.members) if (!allowed.includes(m.key)) throw unknownField(m, allowed, what);
}

function unknownField(m: JMember, allowed: readonly string[], what: string): InputError {
  return jsonError(m, `unknown field "${m.key}" in ${what} (accepted: ${allowed.join(", ")})`);
}

/** Throws for the first duplicate key (the strict dialects' rule). */
export function rejectDuplicates(doc: JsonDocument, what: (d: DuplicateKey) => string = (d) => `field "${d.key}"`): void {
  const d = [...doc.duplicates].sort((a, b) => a.later.line - b.later.line)[0];
  if (d) throw jsonError(d.later, `duplicate ${what(d)} (first given on line ${d.first.line})`);
}
