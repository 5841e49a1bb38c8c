// Kubernetes SeccompProfile objects: the security-profiles-operator (SPO) CRD
// (`apiVersion: security-profiles-operator.x-k8s.io/v1|v1beta1|v1alpha1`, `kind: SeccompProfile`),
// one program per YAML document, compiled through the OCI frontend (src/policy/oci.ts): `spec`
// holds the OCI fields, so the YAML tree is turned into the located JSON tree that frontend
// reads and nothing about OCI semantics is repeated here. Semantics: docs/policies.md.
//
// What this module adds on top of OCI, each point as SPO (kubernetes-sigs/security-profiles-operator,
// internal/pkg/daemon/seccompprofile/seccompprofile.go and the CRD types in api/seccompprofile/)
// does it:
// - the CRD's fields only: spec {defaultAction, architectures, syscalls, flags, listenerPath,
//   listenerMetadata, baseProfileName, state/disabled}; entries {names, action, errnoRet, args};
//   args {index, value, valueTwo, op}. Anything else is an error, as kubectl's default strict
//   field validation refuses it (the API server would otherwise prune it silently).
// - errnoRet is an int32 with `omitempty`: SPO writes no errnoRet for 0, so the runtime uses
//   EPERM. value/valueTwo are int64 with minimum 0: larger values cannot be stored.
// - baseProfileName: the base profile's syscalls are unioned into this profile's (SPO's
//   resolveSyscallsForProfile + UnionSyscalls), recursively, at most 15 levels; the profile's own
//   defaultAction, architectures and flags are kept. The base is looked up by name (and
//   namespace) among the documents of the same file, then among the SeccompProfiles of the
//   YAML files beside it. `oci://` bases live in a registry and are refused.
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { LineCounter, parseAllDocuments, isAlias, isMap, isScalar, isSeq, type Node as YNode, type Document } from "yaml";
import { InputError } from "../errors.js";
import { readBounded, SIZE_LIMITS } from "../read.js";
import type { ArchInfo } from "../syscalls/arches.js";
import type { PolicyIR, PolicyWarning } from "./ir.js";
import {
  escapePointerToken, expectArray, expectObject, expectString, getOptional, jsonError, refOf,
  rejectUnknownFields, requireField,
  type JArray, type JMember, type JNode, type JObject, type JsonDocument,
} from "./json.js";
import { ociFromObject, type OciMeta } from "./oci.js";

/** The API groups/versions of the SPO CRD that carry a SeccompProfile. */
export const SPO_API_VERSIONS = [
  "security-profiles-operator.x-k8s.io/v1",
  "security-profiles-operator.x-k8s.io/v1beta1",
  "security-profiles-operator.x-k8s.io/v1alpha1",
];
/** SPO's limit on base-profile chains (resolveSyscallsForProfile's maxLevel). */
export const SPO_MAX_BASE_LEVEL = 15;

const TOP_FIELDS = ["apiVersion", "kind", "metadata", "spec", "status"];
const SPEC_FIELDS = [
  "defaultAction", "architectures", "syscalls", "flags", "listenerPath", "listenerMetadata",
  "baseProfileName", "state", "disabled",
];
const ENTRY_FIELDS = ["names", "action", "errnoRet", "args"];
const ARG_FIELDS = ["index", "value", "valueTwo", "op"];
const INT64_MAX = (1n << 63n) - 1n;

export interface KubernetesOptions {
  arch: ArchInfo;
  kernel?: string;
  /** Look for base profiles in the YAML files beside `file` (default true; not for stdin). */
  siblings?: boolean;
}

export interface KubernetesResult {
  /** One policy per SeccompProfile document, keyed by metadata.name (namespace/name on a clash). */
  policies: Map<string, PolicyIR>;
  warnings: PolicyWarning[];
  metas: Map<string, OciMeta>;
}

/** One SeccompProfile document, located. */
interface Profile {
  name: string;
  namespace: string;
  root: JObject;
  spec: JObject;
  file: string;
}

// ---------------------------------------------------------------------------------------------
// YAML -> located JSON tree

/**
 * Parses every YAML document of `text` into the located tree of src/policy/json.ts. YAML 1.1
 * (what Kubernetes' sigs.k8s.io/yaml reads: `0x` hex and `0` octal integers), integers as
 * BigInt (64-bit exact), duplicate keys refused. A syntax error is `FILE:LINE:COL: message`.
 */
export function parseYamlDocuments(text: string, file: string): { root: JNode; index: number }[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, version: "1.1", intAsBigInt: true, uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: { root: JNode; index: number }[] = [];
  list.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const { line, col } = lc.linePos(err.pos[0]);
      throw new InputError(`invalid YAML: ${err.message.split("\n")[0]}`, `${file}:${line}:${col}`);
    }
    if (doc.contents === null) return; // an empty document (a leading or trailing `---`)
    out.push({ root: toJ(doc.contents as YNode, doc, file, "", lc, 0), index });
  });
  return out;
}

function toJ(node: YNode, doc: Document, file: string, pointer: string, lc: LineCounter, depth: number): JNode {
  const offset = node.range?.[0] ?? 0;
  const { line, col } = lc.linePos(offset);
  const at = { file, pointer, line, column: col };
  if (depth > 200) throw new InputError("YAML nested more than 200 levels deep", `${file}:${line}:${col}`);
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) throw new InputError(`unknown YAML alias *${node.source}`, `${file}:${line}:${col}`);
    return { ...toJ(target as YNode, doc, file, pointer, lc, depth + 1), line, column: col };
  }
  if (isMap(node)) {
    const members: JMember[] = [];
    const byKey = new Map<string, JMember>();
    for (const pair of node.items) {
      const k = pair.key as YNode | null;
      const kPos = lc.linePos(k?.range?.[0] ?? offset);
      if (!isScalar(k) || (typeof k.value !== "string" && typeof k.value !== "number" && typeof k.value !== "bigint")) {
        throw new InputError("a mapping key must be a plain string", `${file}:${kPos.line}:${kPos.col}`);
      }
      const key = String(k.value);
      if (key === "<<") throw new InputError("YAML merge keys (<<) are not read; write the fields out", `${file}:${kPos.line}:${kPos.col}`);
      const p = `${pointer}/${escapePointerToken(key)}`;
      const value: JNode = pair.value === null
        ? { kind: "null", file, pointer: p, line: kPos.line, column: kPos.col }
        : toJ(pair.value as YNode, doc, file, p, lc, depth + 1);
      const m: JMember = { file, key, line: kPos.line, pointer: p, value };
      members.push(m);
      byKey.set(key, m);
    }
    return { kind: "object", ...at, members, byKey };
  }
  if (isSeq(node)) {
    const items = node.items.map((it, i) => {
      const p = `${pointer}/${i}`;
      return it === null ? ({ kind: "null", file, pointer: p, line, column: col } as JNode) : toJ(it as YNode, doc, file, p, lc, depth + 1);
    });
    return { kind: "array", ...at, items };
  }
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return { kind: "null", ...at };
    if (typeof v === "boolean") return { kind: "boolean", ...at, value: v };
    if (typeof v === "bigint") return { kind: "number", ...at, text: v.toString(), integer: v };
    // Integers arrive as BigInt (intAsBigInt); a JS number here is a float, never an integer field.
    if (typeof v === "number") return { kind: "number", ...at, text: String(v) };
    if (typeof v === "string") return { kind: "string", ...at, value: v };
    throw new InputError(`a YAML ${typeof v} value is not read here`, `${file}:${line}:${col}`);
  }
  throw new InputError("unsupported YAML node", `${file}:${line}:${col}`);
}

// ---------------------------------------------------------------------------------------------
// Documents -> profiles

function apiVersionOk(v: string): boolean {
  return SPO_API_VERSIONS.includes(v);
}

/** Kinds that wrap objects in `items` (what `kubectl get seccompprofiles -o yaml` prints). */
const LIST_KINDS = new Set(["List", "SeccompProfileList"]);

/**
 * The SeccompProfile documents of one file (other kinds are skipped with a warning). A `List` or
 * `SeccompProfileList` document contributes each of its `items`, as kubectl writes them.
 */
function profilesOf(text: string, file: string, warnings: PolicyWarning[]): Profile[] {
  const out: Profile[] = [];
  for (const { root } of parseYamlDocuments(text, file)) {
    const obj = expectObject(root, "a Kubernetes object");
    const kind = kindOf(obj);
    if (kind !== undefined && LIST_KINDS.has(kind)) {
      const items = expectArray(requireField(obj, "items", `the ${kind}`), `"items"`);
      for (const item of items.items) addProfile(expectObject(item, "a list item"), file, out, warnings);
    } else {
      addProfile(obj, file, out, warnings);
    }
  }
  return out;
}

function kindOf(obj: JObject): string | undefined {
  const kindNode = getOptional(obj, "kind");
  return kindNode ? expectString(kindNode, `"kind"`) : undefined;
}

/** One object: a SeccompProfile is read and checked; any other kind is skipped with a warning. */
function addProfile(obj: JObject, file: string, out: Profile[], warnings: PolicyWarning[]): void {
  const kind = kindOf(obj);
  if (kind !== "SeccompProfile") {
    warnings.push({ message: `a ${kind ? `${kind}` : "document without kind"} is not a SeccompProfile; skipped`, source: refOf(obj) });
    return;
  }
  rejectUnknownFields(obj, TOP_FIELDS, "a SeccompProfile");
  const api = expectString(requireField(obj, "apiVersion", "the SeccompProfile"), `"apiVersion"`);
  if (!apiVersionOk(api)) {
    throw jsonError(
      getOptional(obj, "apiVersion")!,
      `apiVersion ${JSON.stringify(api)} is not the security-profiles-operator's (expected one of ${SPO_API_VERSIONS.join(", ")})`,
    );
  }
  const meta = expectObject(requireField(obj, "metadata", "the SeccompProfile"), `"metadata"`);
  const name = expectString(requireField(meta, "name", "metadata"), `"metadata.name"`);
  if (name === "") throw jsonError(getOptional(meta, "name")!, "metadata.name is empty");
  const nsNode = getOptional(meta, "namespace");
  const namespace = nsNode ? expectString(nsNode, `"metadata.namespace"`) : "";
  const spec = expectObject(requireField(obj, "spec", "the SeccompProfile"), `"spec"`);
  out.push({ name, namespace, root: obj, spec, file });
}

function same(a: Profile, b: { name: string; namespace: string }): boolean {
  return a.name === b.name && a.namespace === b.namespace;
}

/** Where base profiles are looked up: this file's profiles, then (lazily) the files beside it. */
class BaseFinder {
  private sibling?: Profile[];
  private readonly looked: string[] = [];
  constructor(
    private readonly own: Profile[], private readonly file: string, private readonly siblings: boolean,
    private readonly warnings: PolicyWarning[],
  ) {}

  find(name: string, namespace: string): Profile | undefined {
    const here = this.own.find((p) => same(p, { name, namespace }));
    if (here) return here;
    return this.siblingProfiles().find((p) => same(p, { name, namespace }));
  }

  where(): string {
    return this.looked.length ? `this file nor in ${this.looked.join(", ")}` : "this file (no SeccompProfile YAML beside it)";
  }

  private siblingProfiles(): Profile[] {
    if (this.sibling) return this.sibling;
    this.sibling = [];
    if (!this.siblings) return this.sibling;
    const dir = dirname(this.file);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n) && n !== basename(this.file)).sort();
    } catch {
      return this.sibling;
    }
    for (const n of names) {
      const path = join(dir, n);
      let text: string;
      try {
        text = new TextDecoder().decode(readBounded(path, SIZE_LIMITS.filter, "a policy file", path));
      } catch {
        continue; // unreadable neighbours are not this file's problem
      }
      if (!/^\s*(?:-\s+)?kind:\s*["']?SeccompProfile\b/m.test(text)) continue;
      this.looked.push(n);
      try {
        this.sibling.push(...profilesOf(text, path, []));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        this.warnings.push({ message: `${n} beside this file is not a readable SeccompProfile file (${e.oneLine()}); not searched for base profiles` });
      }
    }
    return this.sibling;
  }
}

// ---------------------------------------------------------------------------------------------
// SPO's union of syscalls (security-profiles-merger seccomp.UnionSyscalls, strategy LessRestrictive)

/** Restrictiveness levels of security-profiles-merger (higher = less restrictive; unknown -1). */
const LEVEL: Readonly<Record<string, number>> = {
  SCMP_ACT_KILL_PROCESS: 0, SCMP_ACT_KILL: 1, SCMP_ACT_KILL_THREAD: 1, SCMP_ACT_TRAP: 2, SCMP_ACT_ERRNO: 3,
  SCMP_ACT_NOTIFY: 4, SCMP_ACT_TRACE: 5, SCMP_ACT_LOG: 6, SCMP_ACT_ALLOW: 7,
};
const level = (a: string): number => (Object.hasOwn(LEVEL, a) ? LEVEL[a] : -1);

/** One syscall entry with a single name, made of the original entry's located nodes. */
interface Entry {
  name: JNode;
  nameText: string;
  action: JNode;
  actionText: string;
  errnoRet?: JNode;
  args: JObject[];
  origin: JObject;
}

function argKey(a: JObject): string {
  const f = (k: string): string => {
    const n = getOptional(a, k);
    return n === undefined ? "" : n.kind === "number" ? String(n.integer ?? n.text) : n.kind === "string" ? n.value : "?";
  };
  return `${f("index")}|${f("value")}|${f("valueTwo")}|${f("op")}`;
}

/** pickSyscall: the less restrictive action (ties to the left), its errnoRet, args unioned. */
function pick(left: Entry, right: Entry): Entry {
  const useLeft = level(left.actionText) >= level(right.actionText);
  const from = useLeft ? left : right;
  let args: JObject[];
  if (left.args.length === 0 || right.args.length === 0) args = [];
  else {
    const seen = new Set(left.args.map(argKey));
    args = [...left.args, ...right.args.filter((a) => !seen.has(argKey(a)))];
  }
  // errnoRet goes with the literal action string that won (Go's `pickedAction == left.Action`).
  const errnoFrom = from.actionText === left.actionText ? left : right;
  return { ...left, action: from.action, actionText: from.actionText, errnoRet: errnoFrom.errnoRet, args };
}

function normalize(entries: Entry[]): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const e of entries) {
    const had = out.get(e.nameText);
    out.set(e.nameText, had ? pick(had, e) : e);
  }
  return out;
}

/** UnionSyscalls(base, child): per name, sorted by name. */
function union(base: Entry[], child: Entry[]): Entry[] {
  const l = normalize(base);
  const r = normalize(child);
  const out: Entry[] = [];
  for (const [n, e] of l) out.push(r.has(n) ? pick(e, r.get(n)!) : e);
  for (const [n, e] of r) if (!l.has(n)) out.push(e);
  return out.sort((a, b) => (a.nameText < b.nameText ? -1 : a.nameText > b.nameText ? 1 : 0));
}

/** A profile's own entries, checked against the CRD, one Entry per name. */
function entriesOf(p: Profile, warnings: PolicyWarning[]): Entry[] {
  const node = getOptional(p.spec, "syscalls");
  if (!node) return [];
  const out: Entry[] = [];
  for (const item of expectArray(node, `"syscalls"`).items) {
    const e = expectObject(item, "a syscalls entry");
    rejectUnknownFields(e, ENTRY_FIELDS, "a SeccompProfile syscalls entry");
    const action = requireField(e, "action", "the syscalls entry");
    const actionText = expectString(action, `"action"`);
    let errnoRet = getOptional(e, "errnoRet");
    if (errnoRet && errnoRet.kind === "number" && errnoRet.integer === 0n) {
      warnings.push({
        message: `errnoRet 0 is not written by the operator (an int32 field with omitempty), so the runtime returns EPERM (1)`,
        source: refOf(errnoRet),
      });
      errnoRet = undefined;
    }
    if (errnoRet?.kind === "number" && errnoRet.integer !== undefined && errnoRet.integer > 0x7fffffffn) {
      throw jsonError(errnoRet, `errnoRet ${errnoRet.text} does not fit the CRD's int32 field`);
    }
    const args: JObject[] = [];
    const argsNode = getOptional(e, "args");
    if (argsNode) {
      for (const a of expectArray(argsNode, `"args"`).items) {
        const ao = expectObject(a, "an argument condition");
        rejectUnknownFields(ao, ARG_FIELDS, "a SeccompProfile argument");
        for (const k of ["value", "valueTwo"]) {
          const v = getOptional(ao, k);
          if (v?.kind === "number" && v.integer !== undefined && v.integer > INT64_MAX) {
            throw jsonError(v, `${k} ${v.text} does not fit the CRD's int64 field (largest ${INT64_MAX}); the operator cannot store it`);
          }
        }
        args.push(ao);
      }
    }
    const names = requireField(e, "names", "the syscalls entry");
    for (const n of expectArray(names, `"names"`).items) {
      out.push({ name: n, nameText: expectString(n, "a syscall name"), action, actionText, errnoRet, args, origin: e });
    }
  }
  return out;
}

function resolveEntries(p: Profile, finder: BaseFinder, warnings: PolicyWarning[]): { entries: Entry[]; merged: boolean } {
  let entries = entriesOf(p, warnings);
  let cur = p;
  let merged = false;
  for (let lvl = 0; ; lvl++) {
    const baseNode = getOptional(cur.spec, "baseProfileName");
    const baseName = baseNode ? expectString(baseNode, `"baseProfileName"`) : "";
    if (baseName === "") return { entries, merged };
    if (lvl >= SPO_MAX_BASE_LEVEL) {
      throw jsonError(baseNode!, `base profiles nest more than ${SPO_MAX_BASE_LEVEL} levels (the operator's limit; a cycle?)`);
    }
    if (baseName.startsWith("oci://")) {
      throw jsonError(
        baseNode!,
        `base profile ${JSON.stringify(baseName)} is an OCI artifact in a registry, which sysfence does not fetch; ` +
          `save it as a SeccompProfile beside this file and name it here`,
      );
    }
    const base = finder.find(baseName, cur.namespace);
    if (!base) {
      throw jsonError(
        baseNode!,
        `base profile ${JSON.stringify(baseName)}${cur.namespace ? ` (namespace ${JSON.stringify(cur.namespace)})` : ""} ` +
          `is not in ${finder.where()}`,
      );
    }
    entries = union(entriesOf(base, warnings), entries);
    merged = true;
    cur = base;
  }
}

// ---------------------------------------------------------------------------------------------
// Spec -> OCI object

function synthArray(at: JNode, items: JNode[]): JArray {
  return { kind: "array", file: at.file, pointer: at.pointer, line: at.line, column: at.column, items };
}

function synthObject(at: JObject | JNode, members: JMember[]): JObject {
  return {
    kind: "object", file: at.file, pointer: at.pointer, line: at.line, column: at.column, members,
    byKey: new Map(members.map((m) => [m.key, m])),
  };
}

function member(key: string, value: JNode): JMember {
  return { file: value.file, key, line: value.line, pointer: value.pointer, value };
}

/** The OCI object SPO writes for `p`: its spec without the CRD-only fields, syscalls resolved. */
function ociSpec(p: Profile, entries: Entry[], merged: boolean): JObject {
  const members = p.spec.members.filter((m) => !["baseProfileName", "state", "disabled", "syscalls"].includes(m.key));
  const sysMember = p.spec.byKey.get("syscalls");
  const at = sysMember?.value ?? p.spec;
  const items: JNode[] = [];
  if (merged) {
    for (const e of entries) {
      const ms = [member("names", synthArray(e.name, [e.name])), member("action", e.action)];
      if (e.errnoRet) ms.push(member("errnoRet", e.errnoRet));
      if (e.args.length) ms.push(member("args", synthArray(e.args[0], e.args)));
      items.push(synthObject(e.origin, ms));
    }
  } else if (sysMember) {
    // Entries as written, minus an errnoRet of 0 (dropped by the operator's omitempty).
    for (const item of expectArray(sysMember.value, `"syscalls"`).items) {
      const e = item as JObject;
      const er = getOptional(e, "errnoRet");
      items.push(er?.kind === "number" && er.integer === 0n ? synthObject(e, e.members.filter((m) => m.key !== "errnoRet")) : e);
    }
  }
  if (items.length || sysMember) members.push(member("syscalls", synthArray(at, items)));
  return synthObject(p.spec, members);
}

/** Compiles every SeccompProfile document of a YAML file for `opts.arch`. */
export function loadKubernetes(text: string, file: string, opts: KubernetesOptions): KubernetesResult {
  const warnings: PolicyWarning[] = [];
  const profiles = profilesOf(text, file, warnings);
  if (profiles.length === 0) throw new InputError("holds no SeccompProfile document", file);
  const finder = new BaseFinder(profiles, file, (opts.siblings ?? true) && file !== "<stdin>", warnings);
  const policies = new Map<string, PolicyIR>();
  const metas = new Map<string, OciMeta>();
  const clash = new Set(profiles.filter((p, i) => profiles.findIndex((q) => q.name === p.name) !== i).map((p) => p.name));
  for (const p of profiles) {
    const dup = profiles.find((q) => q !== p && same(q, p));
    if (dup && profiles.indexOf(dup) < profiles.indexOf(p)) {
      throw jsonError(p.root, `a second SeccompProfile named ${JSON.stringify(p.name)}${p.namespace ? ` in namespace ${JSON.stringify(p.namespace)}` : ""} (first on line ${dup.root.line})`);
    }
    rejectUnknownFields(p.spec, SPEC_FIELDS, "a SeccompProfile spec");
    const state = getOptional(p.spec, "state");
    const disabled = getOptional(p.spec, "disabled");
    if ((state?.kind === "string" && state.value === "Disabled") || (disabled?.kind === "boolean" && disabled.value)) {
      warnings.push({ message: `profile ${p.name} is disabled: the operator does not install it (compiled anyway)`, source: refOf(state ?? disabled!) });
    }
    const { entries, merged } = resolveEntries(p, finder, warnings);
    const spec = ociSpec(p, entries, merged);
    const key = clash.has(p.name) ? `${p.namespace}/${p.name}` : p.name;
    const doc: JsonDocument = { file: p.file, root: p.root, duplicates: [] };
    const r = ociFromObject(doc, spec, { arch: opts.arch, kernel: opts.kernel ?? "6.0", name: key });
    warnings.push(...r.warnings);
    policies.set(key, r.policy);
    metas.set(key, r.meta);
  }
  return { policies, warnings, metas };
}
