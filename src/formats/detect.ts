// Loading FILTER arguments: any container, recognised by its content, never by its file name
// (a Firecracker build artifact has no extension, .bpf files are sometimes C, and people rename
// things). The order of the tests matters and is chosen so that no real file is ambiguous:
//   1. text (no NUL byte): a raw filter always has NULs (every accepted opcode is below 0x100,
//      so code's high byte is 0), a bincode map always has them (u64 high bytes);
//        "[" -> JSON instruction array;  "{" -> a policy (compiled by a registered loader);
//        other text is sniffed (sniffText): a minijail, Kubernetes or LXC policy goes to the
//        policy loader, a systemd unit or other YAML gets a one-line "not supported" naming
//        what it looks like, anything else is read as C source;
//   2. binary that parses EXACTLY as a bincode thread map (every length consistent, no byte
//      left over, at least one entry): a raw program essentially never does;
//   3. otherwise a raw sock_filter array, in the byte order given, or the arch's, or guessed.
import { statSync } from "node:fs";
import { readBounded, SIZE_LIMITS } from "../read.js";
import { InputError } from "../errors.js";
import type { Program } from "../engine/program.js";
import type { ArchInfo, Endian } from "../syscalls/arches.js";
import { readRaw, guessEndian, MAX_RAW_BYTES } from "./raw.js";
import { readBincode, BINCODE_DEFAULT_LIMIT } from "./bincode.js";
import { readCHeader } from "./cheader.js";
import { jsonToProgram, parseLosslessJson } from "./jsonarray.js";

export type Container = "raw" | "bincode" | "c" | "json";

/** One program from a FILTER argument. */
export interface LoadedFilter {
  /** The path as given (or "<stdin>"). */
  file: string;
  /** Thread (bincode key, C array name, policy thread); absent for single-program containers. */
  thread?: string;
  /** Where the program came from. Programs compiled from a policy JSON report "json". */
  container: Container;
  /**
   * Byte order the container was read in: the raw file's (given or guessed), "le" for bincode.
   * Text containers have none of their own; they report the option/arch's order, else "le".
   */
  endian: Endian;
  program: Program;
  /**
   * A policy's compile warnings (the whole file's, the same list on each of its threads), one
   * located line each; commands print them as `compile` does.
   */
  warnings?: string[];
}

export interface LoadOptions {
  /** Options for policy dialects, passed to the policy loader as they are (minijail: src/policy/minijail). */
  policy?: Record<string, unknown>;
  /** Pick one thread of a multi-program container (bincode map, C file, policy). */
  thread?: string;
  /** Byte order of a raw file (wins over the arch's and over guessing). */
  endian?: Endian;
  /** Target ABI: the raw byte order when `endian` is absent; __NR_x names in C; policies. */
  arch?: ArchInfo;
  /** Size limit for bincode maps (default 100 000 bytes, Firecracker's). */
  bincodeLimit?: number;
}

/**
 * Largest file read at all. Text containers are bigger than the binary ones (a 4096-instruction
 * C header is ~150 KB), and the per-container limits apply after detection.
 */
export const MAX_FILE_BYTES = SIZE_LIMITS.filter;

// ---------------------------------------------------------------------------------------------
// Policy hook.
//
// A JSON object is a policy (Firecracker/OCI style), not a program. Compiling it belongs to the
// compiler module, which registers itself here; until it does, such files get an error that
// says what to use instead. Keeping the hook here means every command that loads FILTER
// arguments accepts policies as soon as the compiler exists, without depending on it.

/** What a policy loader gets: the file, its text, the lossless-parsed JSON and the options. */
export interface PolicySource {
  file: string;
  text: string;
  /**
   * The JSON object, parsed with lossless-json (numbers are LosslessNumber); absent for text
   * dialects. Parsed when first read (a loader that parses `text` itself never pays for it).
   */
  json?: unknown;
  opts: LoadOptions;
}

/** A compiled policy: programs by thread name (insertion order is kept) and the compiler's warnings. */
export interface PolicyLoaded {
  programs: ReadonlyMap<string, Program>;
  /** One line each, located ("file:line (pointer): message"). */
  warnings: string[];
}

/** Compiles a policy into programs by thread name (a bare map: no warnings). */
export type PolicyLoader = (source: PolicySource) => ReadonlyMap<string, Program> | PolicyLoaded;

let policyLoader: PolicyLoader | undefined;

/** Installs (or, with undefined, removes) the policy compiler. Returns the previous one. */
export function registerPolicyLoader(fn: PolicyLoader | undefined): PolicyLoader | undefined {
  const prev = policyLoader;
  policyLoader = fn;
  return prev;
}

// ---------------------------------------------------------------------------------------------
// Live hook. `pid:PID[/TID]` names the filter stack of a running thread (oldest first), read
// by src/live, which registers itself here so formats stay free of ptrace and koffi.

/** Reads the stack named by `pid:` (the text after it); `thread` is the spec's `N@` if any. */
export type LiveLoader = (pidSpec: string, thread: string | undefined) => LoadedFilter[];

let liveLoader: LiveLoader | undefined;

/** Installs (or removes) the `pid:` loader. Returns the previous one. */
export function registerLiveLoader(fn: LiveLoader | undefined): LiveLoader | undefined {
  const prev = liveLoader;
  liveLoader = fn;
  return prev;
}

/** A `pid:PID[/TID]` FILTER spec (optionally `N@pid:…`, one filter of the stack). */
export const isLiveSpec = (spec: string): boolean => /^(\d+@)?pid:/.test(spec);

// ---------------------------------------------------------------------------------------------

/**
 * Splits a FILTER argument `T@FILE` (thread T of FILE) from a plain path. Paths may contain
 * "@" (e.g. systemd-style names, `vcpu@2.bpf`), so a spec naming an existing file is always
 * that file; and a thread never contains "/".
 */
export function parseFilterSpec(spec: string): { file: string; thread?: string } {
  if (spec === "-" || exists(spec)) return { file: spec };
  const at = spec.indexOf("@");
  if (at > 0) {
    const thread = spec.slice(0, at);
    const file = spec.slice(at + 1);
    if (file !== "" && !thread.includes("/")) return { file, thread };
  }
  return { file: spec };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readInput(path: string, label: string): Uint8Array {
  return readBounded(path, MAX_FILE_BYTES, "a filter file", label);
}

const utf8 = new TextDecoder("utf-8");

/**
 * The text of `bytes` if it is a text file, else undefined. "Text" means no NUL byte; invalid
 * UTF-8 is decoded with replacement characters, because a C file with Latin-1 comments is still
 * C, and every binary container has NULs anyway.
 */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0 || bytes.includes(0)) return undefined;
  return utf8.decode(bytes);
}

/** Narrows a thread map to the requested thread (exact name first, then case-insensitive). */
function pick(
  map: ReadonlyMap<string, Program>, thread: string | undefined, file: string, what: string,
): [string, Program][] {
  const all = [...map];
  if (thread === undefined) return all;
  const exact = map.get(thread);
  if (exact) return [[thread, exact]];
  const folded = all.filter(([k]) => k.toLowerCase() === thread.toLowerCase());
  if (folded.length === 1) return folded;
  throw new InputError(
    `${what} has no thread "${thread}"; available: ${all.map(([k]) => k).join(", ") || "(none)"}`,
    file,
  );
}

function compiledPolicy(loaded: ReadonlyMap<string, Program> | PolicyLoaded, file: string, thread: string | undefined, endian: Endian): LoadedFilter[] {
  const { programs, warnings } = loaded instanceof Map ? { programs: loaded, warnings: [] } : (loaded as PolicyLoaded);
  return pick(programs, thread, file, "the policy").map(([t, program]) => ({
    file, thread: t, container: "json" as const, endian, program, ...(warnings.length ? { warnings } : {}),
  }));
}

function single(file: string, container: Container, endian: Endian, program: Program, thread?: string): LoadedFilter[] {
  if (thread !== undefined) {
    const what = container === "raw" ? "a raw BPF file" : "a JSON instruction array";
    throw new InputError(`is ${what} holding one program; it has no thread "${thread}"`, file);
  }
  return [{ file, container, endian, program }];
}

/**
 * Loads the programs of one file (or "-" for stdin): every thread of a multi-program container
 * unless `opts.thread` picks one. Errors are InputErrors naming the file.
 */
export function loadFilters(path: string, opts: LoadOptions = {}): LoadedFilter[] {
  if (path.startsWith("pid:") && !exists(path)) {
    if (!liveLoader) throw new InputError("reading live filters is not available in this build", path);
    return liveLoader(path.slice(4), opts.thread);
  }
  const file = path === "-" ? "<stdin>" : path;
  const bytes = readInput(path, file);
  return loadFilterBytes(bytes, file, opts);
}

/** loadFilters on bytes already in memory; `file` labels errors and results. */
export function loadFilterBytes(bytes: Uint8Array, file: string, opts: LoadOptions = {}): LoadedFilter[] {
  if (bytes.length === 0) throw new InputError("is empty", file);
  const textEndian: Endian = opts.endian ?? opts.arch?.endian ?? "le";

  const text = asText(bytes);
  if (text !== undefined) {
    const body = text.replace(/^\uFEFF/, "").trimStart();
    if (body === "") throw new InputError("is empty (only white space)", file);
    const sniffed = sniffText(text);
    if (sniffed.kind === "unsupported") throw new InputError(`looks like ${sniffed.what}: not supported`, file);
    if (sniffed.kind === "policy") {
      if (!policyLoader) throw new InputError(`looks like a ${sniffed.what}; compiling policies is not available`, file);
      return compiledPolicy(policyLoader({ file, text, opts }), file, opts.thread, textEndian);
    }
    if (body[0] === "[") {
      const program = jsonToProgram(parseLosslessJson(text, file), file);
      return single(file, "json", textEndian, program, opts.thread);
    }
    if (body[0] === "{") {
      if (!policyLoader) {
        parseLosslessJson(text, file); // a syntax error is the better message
        throw new InputError(
          "looks like a policy JSON; import the sysfence API or CLI (they register the policy compiler) to read policies",
          file,
        );
      }
      // `json` is parsed on first read: sysfence's own loader parses the text itself (located,
      // BigInt-exact), and parsing it here as well would double the cost of loading a policy.
      let json: unknown;
      const source: PolicySource = {
        file, text, opts,
        get json() {
          return (json ??= parseLosslessJson(text, file));
        },
      };
      return compiledPolicy(policyLoader(source), file, opts.thread, textEndian);
    }
    let map: Map<string, Program>;
    try {
      map = readCHeader(text, { where: file, arch: opts.arch, endian: opts.endian });
    } catch (e) {
      if (e instanceof InputError && /no `struct sock_filter/.test(e.message)) {
        throw new InputError(
          "is a text file but neither a JSON array of instructions, a policy JSON object, nor C " +
            "source with a `struct sock_filter NAME[] = { ... }` array",
          file,
        );
      }
      throw e;
    }
    return pick(map, opts.thread, file, "the C file").map(([thread, program]) => ({
      file, thread, container: "c" as const, endian: textEndian, program,
    }));
  }

  const magic = sniffMagic(String.fromCharCode(...bytes.subarray(0, 4)));
  if (magic) throw new InputError(`looks like ${magic}: not supported`, file);
  const map = tryBincode(bytes);
  if (map) {
    const limit = opts.bincodeLimit ?? BINCODE_DEFAULT_LIMIT;
    if (bytes.length > limit) readBincode(bytes, { limit, where: file }); // throws the limit error
    return pick(map, opts.thread, file, "the bincode map").map(([thread, program]) => ({
      file, thread, container: "bincode" as const, endian: "le" as const, program,
    }));
  }

  if (bytes.length > MAX_RAW_BYTES) {
    // Not a bincode map; the raw reader refuses it with its own message.
    readRaw(bytes, "le", file);
  }
  const endian = opts.endian ?? opts.arch?.endian ?? guessEndian(bytes);
  return single(file, "raw", endian, readRaw(bytes, endian, file), opts.thread);
}

/** The map if `bytes` is exactly a non-empty bincode thread map, else undefined. */
function tryBincode(bytes: Uint8Array): Map<string, Program> | undefined {
  if (bytes.length < 8 + 16) return undefined;
  try {
    const map = readBincode(bytes, { limit: Infinity });
    return map.size > 0 ? map : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Text that is not JSON: which policy language (or other file) it looks like.

/** What a text file looks like: a policy to compile, C source, or something named and refused. */
export type TextSniff =
  | { kind: "policy"; dialect: "minijail" | "kubernetes" | "lxc"; what: string }
  | { kind: "unsupported"; what: string }
  | { kind: "other" };

const C_PREPROCESSOR = /^#\s*(?:include\s*[<"]|define\s|ifn?def\s|if\s|endif\b|pragma\s)/m;
const MINIJAIL_STATEMENT =
  /^(?:@(?:include|frequency|default|denylist)\b|\{\s*[A-Za-z_][\w@-]*\s*(?:\[[^\]]*\]\s*)?[,}]|[A-Za-z_][\w@-]*\s*(?:\[[^\]]*\]\s*)?:)/;
const LXC_MODE = /^(?:allowlist|denylist|whitelist|blacklist)\b/;
const LXC_HEAD = /^[ \t]*[12][ \t]*\r?\n(?:[ \t]*\r?\n)*(?:allowlist|denylist|whitelist|blacklist)\b/;

/**
 * Sniffs a text policy by its first meaningful lines. Names what it saw, so that a file
 * sysfence does not read gets "looks like a systemd unit: not supported" instead of a parse
 * error from the wrong reader.
 */
export function sniffText(text: string): TextSniff {
  const body = text.replace(/^\uFEFF/, "");
  // LXC (i14): a version line then a mode line decides before the C test below, because LXC's
  // comments ("# if 'errno 0' was not appended…") can look like preprocessor lines.
  if (LXC_HEAD.test(body)) return { kind: "policy", dialect: "lxc", what: "LXC seccomp policy" };
  if (/struct\s+sock_filter|\bBPF_STMT\s*\(|\bBPF_JUMP\s*\(/.test(body) || C_PREPROCESSOR.test(body)) return { kind: "other" };
  const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(";"));
  const first = lines[0] ?? "";
  if (/^\[(?:Unit|Service|Install|Socket|Timer|Mount|Path|Slice|Scope)\]$/.test(first) || lines.some((l) => /^SystemCallFilter\s*=/.test(l))) {
    return { kind: "unsupported", what: "a systemd unit (SystemCallFilter= lists are not a seccomp policy sysfence reads)" };
  }
  if (/^\[[^\]]+\]$/.test(first) && lines.slice(1).some((l) => /^[\w.-]+\s*=/.test(l))) {
    return { kind: "unsupported", what: "an INI file" };
  }
  if (/^\d+$/.test(first) && LXC_MODE.test(lines[1] ?? "")) return { kind: "policy", dialect: "lxc", what: "LXC seccomp policy" };
  const yamlKind = /^kind:\s*["']?([\w.-]+)/m.exec(body);
  if (first === "---" || /^apiVersion:/m.test(body) || yamlKind) {
    // kubectl's `kind: List` (or SeccompProfileList) holds the profiles indented under `items:`.
    if (yamlKind?.[1] === "SeccompProfile" || yamlKind?.[1] === "SeccompProfileList" || /^\s*(?:-\s+)?kind:\s*["']?SeccompProfile\b/m.test(body)) return { kind: "policy", dialect: "kubernetes", what: "Kubernetes SeccompProfile" };
    return { kind: "unsupported", what: `YAML that is not a Kubernetes SeccompProfile${yamlKind ? ` (kind: ${yamlKind[1]})` : ""}` };
  }
  if (MINIJAIL_STATEMENT.test(first)) return { kind: "policy", dialect: "minijail", what: "minijail policy" };
  // Files people pass by mistake: named, so the error says what they look like.
  const magic = sniffMagic(body);
  if (magic) return { kind: "unsupported", what: magic };
  if (body.startsWith("#!")) return { kind: "unsupported", what: `a script (${scriptInterpreter(body)}), not a filter or a policy` };
  if (SYSFENCE_ASM.test(first)) {
    return { kind: "unsupported", what: "sysfence assembly text (assemble it first: `sysfence asm FILE -o FILE.bpf`)" };
  }
  if (/^<(?:\?xml|!DOCTYPE|html)\b/i.test(first)) return { kind: "unsupported", what: "XML or HTML" };
  return { kind: "other" };
}

/** The first line of sysfence assembly (docs/asm.md): a directive, or an instruction, numbered or not. */
const SYSFENCE_ASM = /^(?:\.(?:arch|endian|insn)\s|(?:\w+:\s*)?(?:ld|ldx|st|stx|ret|ja|jmp|jeq|jgt|jge|jset|add|sub|mul|div|mod|and|or|xor|lsh|rsh|neg|tax|txa)(?:\s|$))/;

/** "sh", "python3"… from a `#!` line (the program, or `env`'s argument). */
function scriptInterpreter(body: string): string {
  const words = body.slice(2).split(/\r?\n/, 1)[0].trim().split(/\s+/);
  const prog = (words[0] ?? "").split("/").pop() ?? "";
  return (prog === "env" ? words.find((w, i) => i > 0 && !w.startsWith("-")) : prog) || "unknown interpreter";
}

/**
 * Binary files named by their magic number, for text or bytes read as latin1/UTF-8 (the magic
 * is ASCII-compatible): ELF programs and gzip streams are not filters (a raw filter would read
 * an ELF header as instructions). Undefined for anything else.
 */
export function sniffMagic(head: string): string | undefined {
  if (head.startsWith("\x7fELF")) return "an ELF binary (a program, not a filter: run it under one with `sysfence launch`)";
  if (head.startsWith("\x1f\x8b") || head.startsWith("\x1f\ufffd")) return "gzip-compressed data (decompress it first)";
  return undefined;
}
