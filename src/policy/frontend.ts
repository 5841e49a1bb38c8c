// One entry point for policy files: detects the dialect by CONTENT (never by file name: both
// dialects live in files called *.json, and Firecracker's have no telling name) and returns the
// named policies as IR.
//
//   seccompiler:  { "vmm": { "default_action": …, "filter_action": …, "filter": [ … ] }, … }
//                 a top-level object with at least one value that is an object holding
//                 "filter", "default_action" or "mismatch_action" (rust-vmm's spelling).
//   OCI profile:  { "defaultAction": "SCMP_ACT_…", "syscalls": [ … ], … }   (Docker, Podman), or
//                 a whole runtime-spec config.json, whose profile is at /linux/seccomp. An object
//                 with "syscalls"/"architectures"/"archMap" but no defaultAction is taken as a
//                 profile too, so that the error says "missing defaultAction".
//
// Anything else is an error that says what was expected. The two shapes cannot be confused:
// an OCI profile's defaultAction is a string, a seccompiler thread is an object.
import { InputError } from "../errors.js";
import { refuseOversizedText, SIZE_LIMITS } from "../read.js";
import { resolveArch, type ArchLike } from "../syscalls/index.js";
import type { CompiledInput } from "./ir.js";
import { describe, getOptional, jsonError, parseJson, placeOf, type JObject, type JsonDocument } from "./json.js";
import { ociFromObject, policyName, type OciMeta } from "./oci.js";
import { seccompilerFromDocument } from "./seccompiler.js";
import { loadTextPolicy, type TextPolicyOptions } from "./text-dialects.js";
import { hostArch } from "../syscalls/arches.js";
import { sniffText } from "../formats/detect.js";

export type Dialect = "seccompiler" | "oci" | "minijail" | "kubernetes" | "lxc";

export interface LoadPolicyOptions extends TextPolicyOptions {
  /**
   * Target ABI: name, alias, AUDIT_ARCH token or ArchInfo. JSON dialects default to this
   * machine's; a minijail policy needs it unless its constants.json names the arch.
   */
  arch?: ArchLike;
  /** Keep only this thread (seccompiler) / check the profile's name (OCI). */
  thread?: string;
  /** OCI: capabilities in the bounding set (default: Docker's default set). */
  caps?: Iterable<string>;
  /** OCI: kernel "major.minor" for minKernel (default: the running kernel). */
  kernel?: string;
  /** OCI: drop errnoRet on actions without data, with a warning (default: setOciLenient's). */
  lenient?: boolean;
}

let ociLenientDefault = false;

/**
 * Whether OCI profiles are read leniently when a call does not say (the CLI's `--lenient`, set
 * once per command like the minijail defaults, so every command reads a profile alike).
 */
export function setOciLenient(on: boolean): void {
  ociLenientDefault = on;
}

export interface LoadedPolicy extends CompiledInput {
  dialect: Dialect;
  /** OCI only: flags, listener fields, sections, skipped names. */
  meta?: OciMeta;
  /** minijail only: @frequency call counts by syscall number. */
  frequency?: Map<number, bigint>;
}

/** Keys only an OCI profile has; with them but without defaultAction, say that it is missing. */
const OCI_KEYS = ["syscalls", "architectures", "archMap", "defaultErrnoRet", "defaultErrno"];
const THREAD_KEYS = ["filter", "default_action", "mismatch_action", "filter_action", "match_action"];

/**
 * Which dialect a parsed document is, and the object to compile (the root, or /linux/seccomp of
 * a runtime config). Throws an InputError naming what was expected.
 */
export function detectDialect(doc: JsonDocument): { dialect: Dialect; object: JObject } {
  const root = doc.root;
  const expected =
    `expected a seccompiler filter file ({"THREAD": {"default_action", "filter_action", "filter"}, …}) or an OCI / ` +
    `Docker / Podman seccomp profile ({"defaultAction": "SCMP_ACT_…", "syscalls": […]})`;
  if (root.kind !== "object") throw jsonError(root, `${expected}; got ${describe(root)}`);
  // A string defaultAction (or any other OCI key) is a profile; an OBJECT under "defaultAction"
  // would be a seccompiler thread that happens to carry that name.
  const da = root.byKey.get("defaultAction")?.value;
  if ((da && da.kind !== "object") || (!da && OCI_KEYS.some((k) => root.byKey.has(k)))) {
    return { dialect: "oci", object: root };
  }
  const linux = getOptional(root, "linux");
  if (linux?.kind === "object") {
    const sc = getOptional(linux, "seccomp");
    if (sc?.kind === "object" && sc.byKey.has("defaultAction")) return { dialect: "oci", object: sc };
  }
  if (root.members.some((m) => m.value.kind === "object" && THREAD_KEYS.some((k) => (m.value as JObject).byKey.has(k)))) {
    return { dialect: "seccompiler", object: root };
  }
  const keys = root.members.slice(0, 8).map((m) => JSON.stringify(m.key)).join(", ");
  throw jsonError(
    root,
    `${expected}; got an object with ${root.members.length ? `the keys ${keys}${root.members.length > 8 ? ", …" : ""}` : "no keys"}`,
  );
}

/**
 * Parses and compiles a policy file for `opts.arch`. Seccompiler files give one policy per
 * thread; an OCI profile gives one policy named after the file. With `opts.thread`, only that
 * thread (exact name first, then case-insensitive, as Firecracker lower-cases thread names when
 * it reads a compiled filter back); an unknown thread is an error listing the available ones.
 */
export function loadPolicy(text: string, file: string, opts: LoadPolicyOptions): LoadedPolicy {
  refuseOversizedText(text, SIZE_LIMITS.policy, "a policy", file);
  // `{read, write}: 1` starts with a brace too: a minijail statement is not JSON.
  if (!/^\uFEFF?\s*[{[]/.test(text) || sniffText(sniffHead(text)).kind !== "other") return loadTextPolicy(text, file, opts);
  const arch = opts.arch === undefined ? hostArch() : resolveArch(opts.arch);
  const doc = parseJson(text, file);
  const { dialect, object } = detectDialect(doc);
  let out: LoadedPolicy;
  if (dialect === "seccompiler") {
    out = { ...seccompilerFromDocument(doc, arch), dialect };
  } else {
    const name = file === "<stdin>" ? "<stdin>" : policyName(file);
    const r = ociFromObject(doc, object, { arch, caps: opts.caps, kernel: opts.kernel, name, lenient: opts.lenient ?? ociLenientDefault });
    out = { policies: new Map([[name, r.policy]]), warnings: r.warnings, dialect, meta: r.meta };
  }
  if (opts.thread !== undefined) out.policies = pickThread(out.policies, opts.thread, dialect, placeOf(doc.root));
  return out;
}

/**
 * The start of a text that begins like JSON, for sniffText: what tells a minijail `{a, b}: 1`,
 * an INI `[section]` or a systemd `[Unit]` from JSON is in its first lines, and sniffing the
 * whole of a 10 MB policy (it splits the text into lines) cost as much as reading it.
 */
function sniffHead(text: string): string {
  if (text.length <= SNIFF_HEAD) return text;
  const cut = text.lastIndexOf("\n", SNIFF_HEAD);
  return text.slice(0, cut > 0 ? cut : SNIFF_HEAD);
}
const SNIFF_HEAD = 64 * 1024;

export function pickThread<T>(map: Map<string, T>, thread: string, dialect: Dialect, where: string): Map<string, T> {
  const exact = map.get(thread);
  if (exact !== undefined) return new Map([[thread, exact]]);
  const folded = [...map].filter(([k]) => k.toLowerCase() === thread.toLowerCase());
  if (folded.length === 1) return new Map(folded);
  const what = dialect === "seccompiler" ? "the seccompiler file" : dialect === "kubernetes"
    ? "the file (SeccompProfile names)" : `the ${dialect === "oci" ? "OCI profile" : `${dialect} policy`} (one policy, "${[...map.keys()][0]}")`;
  throw new InputError(`${what} has no thread "${thread}"; available: ${[...map.keys()].join(", ") || "(none)"}`, where);
}
