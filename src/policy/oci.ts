// OCI runtime-spec `linux.seccomp` objects and the Docker (moby/profiles) and Podman
// (containers/common) profile files built on them, compiled into one PolicyIR for a target ABI
// and its companion ABIs. Format: docs/formats.md section 6; what runc does with it:
// opencontainers/runc libcontainer/seccomp/seccomp_linux.go, which hands the rules to libseccomp.
//
// The IR is first-match (src/policy/ir.ts); libseccomp is not (docs/formats.md 4.1). The result of
// this module is the first-match policy that gives, input by input, what runc + libseccomp give
// for the same profile, on these documented terms:
//
// Sections (ABIs)
// - `architectures` and `archMap` together: an error (Docker refuses it).
// - `archMap`: the entry whose `architecture` is the target; sections = [target] +
//   subArchitectures (moby on x86_64: x86_64, x86, x32). No entry for the target: the target
//   alone, with a warning.
// - `architectures`: the target (libseccomp always keeps the native ABI) + every listed ABI. An
//   ABI of the other byte order is an error (libseccomp refuses to mix them).
// - Wrong arch token: KILL_THREAD, libseccomp's default bad-arch action (runc never changes it;
//   the runtime-spec has no field for it). On x86_64 without an x32 section, x32 calls get the
//   same action, as libseccomp's x32 guard gives them.
//
// Entries (`syscalls[]`)
// - `names`, or the legacy `name` (both: an error, as in Docker). An empty name is an error.
// - `action` SCMP_ACT_*; `errnoRet` (number) or Podman's `errno` (name, resolved for the target
//   ABI with ERRNO_NAMES below) for SCMP_ACT_ERRNO / SCMP_ACT_TRACE, default EPERM. The number
//   wins when both are given (a warning if they disagree). Either one on another action is an
//   error: the runtime-spec says the runtime MUST fail. Same for defaultErrnoRet/defaultErrno.
// - `includes`/`excludes` `{caps, arches, minKernel}`, checked in Docker's order against
//   options.caps (the bounding set; default: Docker's default capability set), options.kernel
//   and the TARGET's Docker arch name (amd64, arm64, s390x, …; Docker matches the native arch,
//   and the entry then applies to every section: that is how the s390 `clone` entry on arg 1
//   reaches both s390x and s390).
// - An entry whose action equals the default action is skipped with a warning: runc skips it
//   ("redundant") because libseccomp would refuse it.
// - Names that an ABI does not have are skipped on that ABI, as runtimes do, and listed in one
//   warning per ABI.
// - `args`: `{index 0-5, value, valueTwo (default 0), op SCMP_CMP_*}`, ANDed. SCMP_CMP_MASKED_EQ
//   means (arg & value) == valueTwo; like libseccomp, valueTwo is pre-masked (bits of valueTwo
//   outside the mask get a warning: written literally they could never match).
//   Several conditions on one index in one entry: runc then adds EACH condition as a separate
//   rule (AND becomes OR); sysfence does the same and warns.
// - Width: unsigned 64-bit compares (width 64) on 64-bit ABIs; on 32-bit ABIs (x86, arm, s390,
//   x32, …) the low word (width 32) with value/mask truncated to 32 bits as libseccomp does,
//   with a warning when truncation changes a value.
//
// Several entries for one syscall (libseccomp's merge, docs/formats.md 4.1), per section:
// 1. If any applicable rule is unconditional, the FIRST unconditional rule is the only rule:
//    libseccomp keeps an existing unconditional rule over anything added later and replaces
//    argument chains by a new unconditional rule. Rules absorbed with a different action warn.
// 2. Otherwise: identical condition sets with different actions are an error (libseccomp's
//    -EEXIST, which makes runc fail); identical with the same action are one rule; a rule whose
//    conditions include all of another rule's conditions is covered by it (libseccomp keeps the
//    shorter chain) and dropped, with a warning when its action differs.
// 3. The rest are ordered by number of conditions (fewer first), then file order. Rules with
//    different actions that can match the same arguments (not provably disjoint) warn: for them
//    libseccomp's answer depends on its tree layout, and sysfence's is this order.
//
// Multiplexed socketcall/ipc (docs/formats.md 4.6, docs/policies.md): on ABIs that have
// socketcall/ipc (x86, s390, s390x, ppc, ppc64, ppc64le, mips, mipsel; m68k, sh, sheb with
// libseccomp 2.6), socket(2) and friends can also be called as socketcall(SYS_SOCKET, ptr) whose
// real arguments sit behind a pointer no filter can read. libseccomp (abi_rule_add) turns every
// socket-family name into `socketcall if a0 == N` plus the direct call where the ABI has one, and
// every ipc-family name into `ipc if a0 == N` likewise. sysfence does the same for entries
// WITHOUT argument conditions (the mirror means exactly what the entry says: that call, any
// arguments), so a name with no direct number there (x86 `send`) is mirrored, not skipped. For
// entries WITH argument conditions libseccomp puts the conditions on socketcall's own arguments
// (a0 becomes the call number; a1… test the pointer), which enforces nothing the entry says:
// sysfence adds no multiplexer rule for them and warns (`multiplexWarnings`).
import { release } from "node:os";
import { basename } from "node:path";
import { InputError } from "../errors.js";
import { ownTable } from "../tables.js";
import { errnoNumber } from "../syscalls/errno.js";
import { Action, formatRet } from "../engine/actions.js";
import { findArch, syscallNumber, type ArchInfo } from "../syscalls/index.js";
import { abiArgWidth, hex, U32_MAX, U64_MAX } from "./builder.js";
import type { ArchPolicy, ArgCondition, CompareOp, PolicyIR, PolicyWarning, Rule, SourceRef, SyscallPolicy } from "./ir.js";
import {
  expectArray, expectObject, expectString, expectUint, getOptional, jsonError, parseJson,
  placeOf, placeOfRef, refOf, requireField,
  type JNode, type JObject, type JsonDocument, type Located,
} from "./json.js";

/** Docker's default capability set (moby oci/caps/defaults.go), without the CAP_ prefix. */
export const DOCKER_DEFAULT_CAPS: readonly string[] = Object.freeze([
  "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
  "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
]);

/** Every Linux capability (include/uapi/linux/capability.h, numbers 0-40), without the CAP_ prefix. */
export const LINUX_CAPS: readonly string[] = Object.freeze([
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
  "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
  "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
  "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
  "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
  "CHECKPOINT_RESTORE",
]);

/**
 * The capability set a `--caps` value names: a list replaces the set (`CAP_SYS_ADMIN,CAP_CHOWN`;
 * empty: no capabilities), a list of `+CAP`/`-CAP` adds to and removes from Docker's default
 * set (`+CAP_SYS_ADMIN,-CAP_CHOWN`). Names with or without CAP_, any case; an unknown name, or
 * both forms in one list, is an InputError at `where`.
 */
export function capsFromSpec(spec: string, where = "--caps"): Set<string> {
  const items = spec.split(",").map((c) => c.trim()).filter(Boolean);
  const signed = items.filter((c) => c[0] === "+" || c[0] === "-");
  if (signed.length && signed.length !== items.length) {
    throw new InputError(`give either a list of capabilities (the whole set) or +CAP/-CAP changes to Docker's default set, not both: "${spec}"`, where);
  }
  const name = (c: string): string => {
    const n = normalizeCap(c.replace(/^[+-]/, ""));
    if (!LINUX_CAPS.includes(n)) throw new InputError(`unknown capability "${c.replace(/^[+-]/, "")}" (CAP_CHOWN … CAP_CHECKPOINT_RESTORE)`, where);
    return n;
  };
  if (!signed.length) return new Set(items.map(name));
  const set = new Set(DOCKER_DEFAULT_CAPS);
  for (const c of items) (c[0] === "+" ? set.add(name(c)) : set.delete(name(c)));
  return set;
}

/** libseccomp's default bad-arch action, which runc keeps. */
export const OCI_MISMATCH_ACTION = Action.KILL_THREAD;

export interface OciOptions {
  /** Target ABI (the "native" arch of Docker's archMap and includes/excludes.arches). */
  arch: ArchInfo;
  /** Capabilities in the bounding set, with or without CAP_, any case. Default DOCKER_DEFAULT_CAPS. */
  caps?: Iterable<string>;
  /** Kernel version "major.minor" for minKernel. Default: the running kernel. */
  kernel?: string;
  /** Policy name (default: the file's base name without .json). */
  name?: string;
  /**
   * Drop `errnoRet`/`errno` given with an action that takes no data (ALLOW, KILL, LOG…) with a
   * warning, as runc does, instead of refusing the profile as the runtime-spec asks.
   */
  lenient?: boolean;
}

/** Fields the IR has no place for, kept for the runtime side (launcher, reports). */
export interface OciMeta {
  /** `flags` as given (SECCOMP_FILTER_FLAG_*). */
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  /** The sections compiled, in order (sysfence ABI names). */
  arches: string[];
  /** Entries applied / skipped by includes/excludes. */
  entriesUsed: number;
  entriesSkipped: number;
  /** Per ABI: names the ABI does not have (skipped). */
  missing: Record<string, string[]>;
}

export interface OciResult {
  policy: PolicyIR;
  warnings: PolicyWarning[];
  meta: OciMeta;
}

// ---------------------------------------------------------------------------------------------
// Tables

const ACTIONS: Readonly<Record<string, number>> = ownTable({
  SCMP_ACT_KILL: Action.KILL_THREAD,
  SCMP_ACT_KILL_THREAD: Action.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: Action.KILL_PROCESS,
  SCMP_ACT_TRAP: Action.TRAP,
  SCMP_ACT_ERRNO: Action.ERRNO,
  SCMP_ACT_TRACE: Action.TRACE,
  SCMP_ACT_ALLOW: Action.ALLOW,
  SCMP_ACT_LOG: Action.LOG,
  SCMP_ACT_NOTIFY: Action.USER_NOTIF,
});

const OPS: Readonly<Record<string, CompareOp>> = ownTable({
  SCMP_CMP_NE: "ne", SCMP_CMP_LT: "lt", SCMP_CMP_LE: "le", SCMP_CMP_EQ: "eq",
  SCMP_CMP_GE: "ge", SCMP_CMP_GT: "gt", SCMP_CMP_MASKED_EQ: "masked_eq",
});

const KNOWN_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

// Errno names for Podman's `errno`/`defaultErrno` strings: the one errno table (src/syscalls/errno.ts).
export { errnoNumber } from "../syscalls/errno.js";

/**
 * Docker's arch names (libseccomp-golang's, used in includes/excludes.arches) for sysfence
 * ABIs. Names not listed are the same in both (x86, x32, arm, s390, s390x, ppc64le, riscv64,
 * mips, mipsel, mips64, mips64n32, mipsel64, mipsel64n32, ppc, ppc64, parisc, parisc64, m68k, sh).
 */
const TO_DOCKER: Readonly<Record<string, string>> = ownTable({ x86_64: "amd64", aarch64: "arm64", loongarch64: "loong64" });
const FROM_DOCKER: Readonly<Record<string, string>> = ownTable({
  amd64: "x86_64", arm64: "aarch64", loong64: "loongarch64", "386": "x86", mips3l64n32: "mipsel64n32",
});

/** Docker's name for an ABI ("amd64" for x86_64). */
export function dockerArchName(arch: ArchInfo): string {
  return TO_DOCKER[arch.name] ?? arch.name;
}

function archFromDocker(name: string): ArchInfo | undefined {
  return findArch(FROM_DOCKER[name] ?? name);
}

/** SCMP_ARCH_X86_64 -> x86_64 ABI; SCMP_ARCH_SH is little-endian sh, SCMP_ARCH_SHEB big-endian. */
function archFromScmp(name: string): ArchInfo | undefined {
  const m = /^SCMP_ARCH_([A-Z0-9_]+)$/.exec(name);
  return m ? findArch(m[1].toLowerCase()) : undefined;
}

/**
 * The multiplexer a socket- or ipc-family call also goes through on `sec`: socketcall or ipc,
 * its number, and the call number a0 carries (libseccomp's __PNR_x % 100 / % 200). Undefined
 * when the name is in neither family or the ABI has no such multiplexer.
 */
function multiplexerOf(sec: ArchInfo, name: string): { name: string; nr: number; call: number } | undefined {
  const socket = SOCKET_FAMILY[name];
  const ipc = IPC_FAMILY[name];
  const mux = socket !== undefined ? "socketcall" : ipc !== undefined ? "ipc" : undefined;
  if (!mux) return undefined;
  const nr = syscallNumber(sec, mux);
  return nr === undefined ? undefined : { name: mux, nr, call: (socket ?? ipc)! };
}

/** Socket and ipc family calls and their socketcall/ipc call numbers (docs/formats.md 4.6). */
const SOCKET_FAMILY: Readonly<Record<string, number>> = ownTable({
  socket: 1, bind: 2, connect: 3, listen: 4, accept: 5, getsockname: 6, getpeername: 7, socketpair: 8,
  send: 9, recv: 10, sendto: 11, recvfrom: 12, shutdown: 13, setsockopt: 14, getsockopt: 15,
  sendmsg: 16, recvmsg: 17, accept4: 18, recvmmsg: 19, sendmmsg: 20,
});
const IPC_FAMILY: Readonly<Record<string, number>> = ownTable({
  semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14,
  shmat: 21, shmdt: 22, shmget: 23, shmctl: 24,
});

// ---------------------------------------------------------------------------------------------

/** Normalises a capability name: "cap_sys_admin", "SYS_ADMIN" -> "SYS_ADMIN". */
export function normalizeCap(cap: string): string {
  return cap.trim().toUpperCase().replace(/^CAP_/, "");
}

interface KernelVersion { major: number; minor: number }

function parseKernel(text: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

function kernelAtLeast(k: KernelVersion, min: KernelVersion): boolean {
  return k.major !== min.major ? k.major > min.major : k.minor >= min.minor;
}

/**
 * Parses an OCI / Docker / Podman profile and compiles it for `opts.arch`. Errors are
 * InputErrors at `FILE:LINE (POINTER)`.
 */
export function parseOci(text: string, file: string, opts: OciOptions): OciResult {
  const doc = parseJson(text, file);
  return ociFromObject(doc, expectObject(doc.root, "an OCI seccomp profile"), opts);
}

/**
 * The runtime-spec `linux.seccomp` object Docker's daemon hands runc or crun for a profile
 * (moby profiles/seccomp setupSeccomp): `archMap` becomes `architectures` (the target and its
 * subArchitectures), entries are kept or dropped by their includes/excludes against the caps,
 * the kernel and the target arch (the same test `ociFromObject` applies), and includes/excludes
 * are removed. Returned as JSON text, every value copied as written (64-bit values stay exact).
 */
export function dockerRuntimeSeccomp(text: string, file: string, opts: OciOptions): string {
  const doc = parseJson(text, file);
  const obj = expectObject(doc.root, "an OCI seccomp profile");
  const caps = new Set([...(opts.caps ?? DOCKER_DEFAULT_CAPS)].map(normalizeCap));
  const kernel = parseKernel(opts.kernel ?? release());
  if (!kernel) throw new InputError(`kernel version must be "major.minor", got ${JSON.stringify(opts.kernel ?? release())}`, "--kernel");
  const arches = chooseSections(obj, opts.arch, new Warnings()).map((a) => JSON.stringify(`SCMP_ARCH_${a.name.toUpperCase()}`));
  const members = memberTexts(obj, ["archMap", "architectures", "syscalls"]);
  const sys = getOptional(obj, "syscalls");
  const kept = (sys ? expectArray(sys, `"syscalls"`).items : [])
    .map((n) => expectObject(n, "a syscalls entry"))
    .filter((e) => applies(e, opts.arch, caps, kernel))
    .map((e) => `{${memberTexts(e, ["includes", "excludes"]).join(",")}}`);
  return `{${[...members, `"architectures":[${arches.join(",")}]`, `"syscalls":[${kept.join(",\n")}]`].join(",")}}`;
}

/** `"key":value` texts of an object's members (the last of repeated keys), without `skip`. */
function memberTexts(o: JObject, skip: string[]): string[] {
  return o.members.filter((m) => o.byKey.get(m.key)?.value === m.value && !skip.includes(m.key)).map((m) => `${JSON.stringify(m.key)}:${jsonText(m.value)}`);
}

/** A located JSON value back as JSON text (numbers exactly as written). */
function jsonText(n: JNode): string {
  switch (n.kind) {
    case "object": return `{${memberTexts(n, []).join(",")}}`;
    case "array": return `[${n.items.map(jsonText).join(",")}]`;
    case "number": return n.text;
    case "null": return "null";
    default: return JSON.stringify(n.value);
  }
}

/** Collects warnings that repeat across sections into one, listing the ABIs. */
class Warnings {
  private readonly byKey = new Map<string, { message: string; source?: SourceRef; arches: string[]; detail?: string }>();
  private readonly order: string[] = [];
  add(message: string, source?: SourceRef, arch?: string, detail?: string): void {
    const key = message + "\u0000" + (source?.pointer ?? "");
    let w = this.byKey.get(key);
    if (!w) {
      this.byKey.set(key, (w = { message, source, arches: [], detail }));
      this.order.push(key);
    }
    if (arch && !w.arches.includes(arch)) w.arches.push(arch);
  }
  list(): PolicyWarning[] {
    return this.order.map((k) => {
      const w = this.byKey.get(k)!;
      const message = w.arches.length ? `${w.message} (on ${w.arches.join(", ")})` : w.message;
      const out: PolicyWarning = w.source ? { message, source: w.source } : { message };
      if (w.detail !== undefined) out.detail = w.detail;
      return out;
    });
  }
}

/**
 * Compiles the profile object `obj` of `doc` (the root, or `linux.seccomp` of a runtime
 * config.json). Duplicate keys are warnings, the last one wins (Go's encoding/json).
 */
export function ociFromObject(doc: JsonDocument, obj: JObject, opts: OciOptions): OciResult {
  const target = opts.arch;
  const warn = new Warnings();
  for (const d of doc.duplicates) {
    warn.add(`duplicate key "${d.key}" (also on line ${d.first.line}); the last one is used, as Go's encoding/json does`, refOf(d.later));
  }
  const caps = new Set([...(opts.caps ?? DOCKER_DEFAULT_CAPS)].map(normalizeCap));
  const kernelText = opts.kernel ?? release();
  const kernel = parseKernel(kernelText);
  if (!kernel) throw new InputError(`kernel version must be "major.minor", got ${JSON.stringify(kernelText)}`, "--kernel");

  // Default action.
  const defaultAction = actionWithErrno(
    requireField(obj, "defaultAction", "the profile"), getOptional(obj, "defaultErrnoRet"), getOptional(obj, "defaultErrno"),
    target, warn, "defaultErrnoRet", "defaultErrno", opts.lenient,
  );

  // Metadata.
  const meta: OciMeta = { arches: [], entriesUsed: 0, entriesSkipped: 0, missing: {} };
  const flagsNode = getOptional(obj, "flags");
  if (flagsNode) {
    meta.flags = expectArray(flagsNode, `"flags"`).items.map((n) => {
      const f = expectString(n, "a flag");
      if (!KNOWN_FLAGS.includes(f)) warn.add(`unknown seccomp flag ${JSON.stringify(f)} (known: ${KNOWN_FLAGS.join(", ")}); runc refuses unknown flags`, refOf(n));
      return f;
    });
  }
  const lp = getOptional(obj, "listenerPath");
  if (lp) meta.listenerPath = expectString(lp, `"listenerPath"`);
  const lm = getOptional(obj, "listenerMetadata");
  if (lm) {
    meta.listenerMetadata = expectString(lm, `"listenerMetadata"`);
    if (!lp) warn.add(`listenerMetadata is set without listenerPath (the runtime-spec says it MUST NOT be)`, refOf(lm));
  }

  // Sections.
  const sections = chooseSections(obj, target, warn);
  meta.arches = sections.map((a) => a.name);

  // Entries.
  const per = new Map<ArchInfo, Map<number, { name: string; cands: Candidate[] }>>(sections.map((a) => [a, new Map()]));
  const missing = new Map<ArchInfo, Set<string>>(sections.map((a) => [a, new Set()]));
  const truncated = new Map<string, { node: Located; from: bigint; to: bigint; arches: Set<string> }>();
  const sysNode = getOptional(obj, "syscalls");
  const entries = sysNode ? expectArray(sysNode, `"syscalls"`).items : [];
  let seq = 0;
  for (const item of entries) {
    const e = expectObject(item, "a syscalls entry");
    const names = entryNames(e);
    const action = actionWithErrno(
      requireField(e, "action", "the syscalls entry"), getOptional(e, "errnoRet"), getOptional(e, "errno"),
      target, warn, "errnoRet", "errno", opts.lenient,
    );
    const conds = parseArgs(e, warn);
    if (!applies(e, target, caps, kernel)) {
      meta.entriesSkipped++;
      continue;
    }
    meta.entriesUsed++;
    if (action === defaultAction) {
      warn.add(
        `entry for ${names.map((n) => n.name).join(", ")} has the default action ${formatRet(action)}; skipped, as runc ` +
          `skips it (libseccomp refuses a rule whose action is the default)`,
        refOf(e),
      );
      continue;
    }
    // runc: repeated index in one entry -> one rule per condition.
    let sets: RawCond[][] = [conds];
    const seen = new Set<number>();
    if (conds.some((c) => seen.size === seen.add(c.index).size)) {
      sets = conds.map((c) => [c]);
      warn.add(
        `entry has several conditions on the same argument; like runc, each condition becomes a separate rule, so ` +
          `they are ORed, not ANDed (libseccomp allows one comparison per argument per rule)`,
        refOf(e),
      );
    }
    for (const sec of sections) {
      const width = abiArgWidth(sec);
      for (const n of names) {
        const bySys = per.get(sec)!;
        // libseccomp's mirror: an unconditional socket/ipc-family rule also becomes
        // "socketcall/ipc if a0 == call" on ABIs with the multiplexer (see the header).
        const mux = conds.length === 0 ? multiplexerOf(sec, n.name) : undefined;
        if (mux) {
          let m = bySys.get(mux.nr);
          if (!m) bySys.set(mux.nr, (m = { name: mux.name, cands: [] }));
          m.cands.push({
            conditions: [{ index: 0, width, op: "eq", value: BigInt(mux.call), source: refOf(e) }],
            action,
            node: e,
            seq: seq++,
          });
        }
        const nr = syscallNumber(sec, n.name);
        if (nr === undefined) {
          if (!mux) missing.get(sec)!.add(n.name);
          continue;
        }
        let g = bySys.get(nr);
        if (!g) bySys.set(nr, (g = { name: n.name, cands: [] }));
        for (const set of sets) {
          g.cands.push({
            conditions: set.map((c) => toCondition(c, width, sec, truncated)),
            action,
            node: e,
            seq: seq++,
          });
        }
      }
    }
  }

  for (const t of truncated.values()) {
    warn.add(
      `value ${hex(t.from)} does not fit the 32-bit arguments of ${[...t.arches].join(", ")}; compared as ` +
        `${hex(t.to)} (libseccomp truncates it the same way)`,
      refOf(t.node),
    );
  }

  // Merge per section.
  const arches: ArchPolicy[] = [];
  for (const sec of sections) {
    const syscalls: SyscallPolicy[] = [];
    for (const [nr, g] of per.get(sec)!) {
      const rules = mergeRules(g.name, g.cands, sec, warn);
      syscalls.push({ nr, name: g.name, rules });
    }
    syscalls.sort((a, b) => (a.nr >>> 0) - (b.nr >>> 0));
    multiplexWarnings(sec, syscalls, warn);
    arches.push({ arch: sec, defaultAction, syscalls });
    const miss = [...missing.get(sec)!].sort();
    if (miss.length) meta.missing[sec.name] = miss;
    missingNameWarnings(sec, miss, listedAbis(obj, sections), warn);
  }

  const policy: PolicyIR = {
    name: opts.name ?? policyName(doc.file),
    arches,
    mismatchAction: OCI_MISMATCH_ACTION,
    source: refOf(obj),
  };
  if (sections.some((a) => a.name === "x86_64") && !sections.some((a) => a.name === "x32")) {
    policy.x32Action = OCI_MISMATCH_ACTION;
  }
  return { policy, warnings: warn.list(), meta };
}

/**
 * Names a section lacks. A multi-ABI profile lists every ABI's calls, so most names missing on one
 * ABI belong to another it lists (Docker's profile on aarch64: about a hundred x86 and arm calls);
 * those are skipped as runtimes do and summarised as a count, the names in the warning's detail
 * (--verbose). A name that exists on none of the profile's ABIs is a typo or newer than sysfence's
 * tables: named in full, once per profile.
 */
function missingNameWarnings(sec: ArchInfo, miss: string[], abis: ArchInfo[], warn: Warnings): void {
  const nowhere = miss.filter((n) => abis.every((a) => syscallNumber(a, n) === undefined));
  const elsewhere = miss.filter((n) => !nowhere.includes(n));
  if (elsewhere.length) {
    const one = elsewhere.length === 1;
    warn.add(
      `${elsewhere.length} syscall name${one ? "" : "s"} of the profile do${one ? "es" : ""} not exist on ${sec.name} ` +
        `(${one ? "it belongs" : "they belong"} to other ABIs the profile lists) and ${one ? "was" : "were"} skipped there, as runtimes do`,
      undefined, undefined, elsewhere.join(", "),
    );
  }
  if (nowhere.length) {
    const one = nowhere.length === 1;
    warn.add(
      `${nowhere.length} syscall name${one ? "" : "s"} of the profile exist${one ? "s" : ""} on none of its ABIs ` +
        `(${abis.map((a) => a.name).join(", ")}) and ${one ? "was" : "were"} skipped: ${nowhere.join(", ")} ` +
        `(a typo, a call of an ABI the profile does not list, or newer than sysfence's syscall tables)`,
    );
  }
}

/**
 * Every ABI the profile names ("architectures", or every archMap entry with its
 * subArchitectures), whatever the target; names sysfence does not know are left out (the
 * sections' own reading reports them). Falls back to the compiled sections.
 */
function listedAbis(obj: JObject, sections: ArchInfo[]): ArchInfo[] {
  const out = new Map<string, ArchInfo>(sections.map((a) => [a.name, a]));
  const addName = (n: JNode | undefined): void => {
    const a = n?.kind === "string" ? archFromScmp(n.value) : undefined;
    if (a) out.set(a.name, a);
  };
  const archesNode = getOptional(obj, "architectures");
  if (archesNode?.kind === "array") archesNode.items.forEach(addName);
  const mapNode = getOptional(obj, "archMap");
  if (mapNode?.kind === "array") {
    for (const item of mapNode.items) {
      if (item.kind !== "object") continue;
      addName(getOptional(item, "architecture"));
      const subs = getOptional(item, "subArchitectures");
      if (subs?.kind === "array") subs.items.forEach(addName);
    }
  }
  return [...out.values()];
}

/** "moby-default" for ".../moby-default.json". */
export function policyName(file: string): string {
  return basename(file).replace(/\.json$/i, "") || file;
}

// ---------------------------------------------------------------------------------------------

function actionWithErrno(
  actNode: JNode, numNode: JNode | undefined, nameNode: JNode | undefined, arch: ArchInfo, warn: Warnings,
  numField: string, nameField: string, lenient = false,
): number {
  const name = expectString(actNode, "the action");
  const base = ACTIONS[name];
  if (base === undefined) {
    throw jsonError(actNode, `unknown action ${JSON.stringify(name)} (expected one of ${Object.keys(ACTIONS).join(", ")})`);
  }
  const takesData = base === Action.ERRNO || base === Action.TRACE;
  if (!takesData) {
    const extra = numNode ?? nameNode;
    if (extra) {
      const field = numNode ? numField : nameField;
      if (lenient) {
        // runc's getAction reads errnoRet only for ERRNO and TRACE; the field has no effect.
        warn.add(`"${field}" has no meaning with ${name}; dropped (--lenient), as runc does`, refOf(extra));
        return base >>> 0;
      }
      throw jsonError(
        extra,
        `"${field}" is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${name} ` +
          `(the runtime-spec says the runtime must fail; --lenient drops it, as runc does)`,
      );
    }
    return base >>> 0;
  }
  let data = 1; // EPERM, the runtime-spec and runc default
  let byName: number | undefined;
  let nameText: string | undefined;
  if (nameNode) {
    nameText = expectString(nameNode, `"${nameField}"`);
    byName = errnoNumber(nameText, arch);
  }
  if (numNode) {
    data = Number(expectUint(numNode, 0xffffn, `"${numField}"`));
    if (nameText !== undefined && byName !== undefined && byName !== data) {
      warn.add(
        `"${numField}" ${data} and "${nameField}" ${JSON.stringify(nameText)} (= ${byName} on ${arch.name}) disagree; ` +
          `the number is used`,
        refOf(numNode),
      );
    }
  } else if (nameNode) {
    if (byName === undefined) {
      throw jsonError(
        nameNode,
        `unknown errno name ${JSON.stringify(nameText)} (sysfence knows the errno-base names EPERM…ERANGE and ENOSYS; ` +
          `give the number in "${numField}")`,
      );
    }
    data = byName;
  }
  return (base | data) >>> 0;
}

interface NameRef { name: string; node: JNode }

function entryNames(e: JObject): NameRef[] {
  const namesNode = getOptional(e, "names");
  const nameNode = getOptional(e, "name");
  if (namesNode && nameNode) {
    throw jsonError(nameNode, `the entry gives both "name" and "names" (Docker refuses this); use "names"`);
  }
  let out: NameRef[];
  if (namesNode) {
    out = expectArray(namesNode, `"names"`).items.map((n) => ({ name: expectString(n, "a syscall name"), node: n }));
  } else if (nameNode) {
    out = [{ name: expectString(nameNode, `"name"`), node: nameNode }];
  } else {
    throw jsonError(e, `the entry has no "names"`);
  }
  if (out.length === 0) throw jsonError(namesNode!, `"names" is empty (the runtime-spec requires at least one)`);
  for (const n of out) {
    if (n.name.trim() === "") throw jsonError(n.node, "an empty string is not a syscall name");
  }
  return out;
}

interface RawCond {
  index: number;
  op: CompareOp;
  value: bigint;
  valueTwo: bigint;
  node: JObject;
  valueNode: JNode;
  valueTwoNode?: JNode;
}

function parseArgs(e: JObject, warn: Warnings): RawCond[] {
  const argsNode = getOptional(e, "args");
  if (!argsNode) return [];
  return expectArray(argsNode, `"args"`).items.map((item) => {
    const a = expectObject(item, "an argument condition");
    const index = Number(expectUint(requireField(a, "index", "the condition"), 5n, `"index" (a syscall has six arguments, 0-5)`));
    const valueNode = requireField(a, "value", "the condition");
    const value = expectUint(valueNode, U64_MAX, `"value"`);
    const valueTwoNode = getOptional(a, "valueTwo");
    const valueTwo = valueTwoNode ? expectUint(valueTwoNode, U64_MAX, `"valueTwo"`) : 0n;
    const opNode = requireField(a, "op", "the condition");
    const opName = expectString(opNode, `"op"`);
    const op = OPS[opName];
    if (!op) throw jsonError(opNode, `unknown op ${JSON.stringify(opName)} (expected one of ${Object.keys(OPS).join(", ")})`);
    if (op === "masked_eq" && (valueTwo & ~value) !== 0n) {
      warn.add(
        `SCMP_CMP_MASKED_EQ valueTwo ${hex(valueTwo)} has bits outside the mask (value) ${hex(value)}; they are ignored ` +
          `(libseccomp pre-masks it: the condition is (arg & ${hex(value)}) == ${hex(valueTwo & value)})`,
        refOf(valueTwoNode ?? a),
      );
    }
    return { index, op, value, valueTwo, node: a, valueNode, valueTwoNode };
  });
}

/** One OCI condition as an IR condition for an ABI of `width`-bit arguments. */
function toCondition(
  c: RawCond, width: 32 | 64, sec: ArchInfo,
  truncated: Map<string, { node: Located; from: bigint; to: bigint; arches: Set<string> }>,
): ArgCondition {
  const trunc = (v: bigint, node: JNode): bigint => {
    if (width === 64 || v <= U32_MAX) return v;
    const to = v & U32_MAX;
    const key = node.pointer;
    let t = truncated.get(key);
    if (!t) truncated.set(key, (t = { node, from: v, to, arches: new Set() }));
    t.arches.add(sec.name);
    return to;
  };
  if (c.op === "masked_eq") {
    const mask = trunc(c.value, c.valueNode);
    const v2 = trunc(c.valueTwo, c.valueTwoNode ?? c.node);
    return { index: c.index, width, op: "masked_eq", mask, value: v2 & mask, source: refOf(c.node) };
  }
  return { index: c.index, width, op: c.op, value: trunc(c.value, c.valueNode), source: refOf(c.node) };
}

/** Docker's includes/excludes test (docs/formats.md 6.2), in Docker's order. */
function applies(e: JObject, target: ArchInfo, caps: Set<string>, kernel: KernelVersion): boolean {
  const inc = filterOf(e, "includes");
  const exc = filterOf(e, "excludes");
  const isTarget = (a: string): boolean => archFromDocker(a)?.name === target.name;
  if (exc.arches && exc.arches.some(isTarget)) return false;
  if (exc.caps && exc.caps.some((c) => caps.has(normalizeCap(c)))) return false;
  if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return false;
  if (inc.arches && !inc.arches.some(isTarget)) return false;
  if (inc.caps && !inc.caps.every((c) => caps.has(normalizeCap(c)))) return false;
  if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  return true;
}

interface Filter { caps?: string[]; arches?: string[]; minKernel?: KernelVersion }

function filterOf(e: JObject, key: string): Filter {
  const n = getOptional(e, key);
  if (!n) return {};
  const o = expectObject(n, `"${key}"`);
  const strings = (k: string): string[] | undefined => {
    const v = getOptional(o, k);
    if (!v) return undefined;
    const list = expectArray(v, `"${key}.${k}"`).items.map((x) => expectString(x, `an entry of "${key}.${k}"`));
    return list.length ? list : undefined;
  };
  const f: Filter = { caps: strings("caps"), arches: strings("arches") };
  const mk = getOptional(o, "minKernel");
  if (mk) {
    const text = expectString(mk, `"minKernel"`);
    if (!/^\d+\.\d+$/.test(text)) throw jsonError(mk, `"minKernel" must be "major.minor" (e.g. "4.8"), got ${JSON.stringify(text)}`);
    f.minKernel = parseKernel(text);
  }
  return f;
}

function chooseSections(obj: JObject, target: ArchInfo, warn: Warnings): ArchInfo[] {
  const archesNode = getOptional(obj, "architectures");
  const mapNode = getOptional(obj, "archMap");
  const nonEmpty = (n: JNode | undefined): boolean => n !== undefined && !(n.kind === "array" && n.items.length === 0);
  if (nonEmpty(archesNode) && nonEmpty(mapNode)) {
    throw jsonError(mapNode!, `the profile gives both "architectures" and "archMap" (Docker refuses this); give one`);
  }
  const out: ArchInfo[] = [target];
  const add = (node: JNode): void => {
    const name = expectString(node, "an architecture");
    const a = archFromScmp(name);
    if (!a) throw jsonError(node, `unknown architecture ${JSON.stringify(name)} (expected SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, …)`);
    if (a.endian !== target.endian) {
      throw jsonError(
        node,
        `${name} is ${a.endian === "le" ? "little" : "big"}-endian but the target ${target.name} is not; one filter ` +
          `cannot cover both byte orders (libseccomp refuses to add it)`,
      );
    }
    if (!out.some((x) => x.name === a.name)) out.push(a);
  };
  if (nonEmpty(archesNode)) {
    for (const n of expectArray(archesNode!, `"architectures"`).items) add(n);
    return out;
  }
  if (nonEmpty(mapNode)) {
    const map = expectArray(mapNode!, `"archMap"`);
    const hit = map.items.find((item) => {
      const a = getOptional(expectObject(item, "an archMap entry"), "architecture");
      return a !== undefined && a.kind === "string" && archFromScmp(a.value)?.name === target.name;
    });
    if (!hit) {
      warn.add(`"archMap" has no entry for ${target.name}; the filter covers ${target.name} only (as Docker does)`, refOf(map));
      return out;
    }
    const subs = getOptional(hit as JObject, "subArchitectures");
    if (subs) for (const n of expectArray(subs, `"subArchitectures"`).items) add(n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Merging (see the header)

interface Candidate {
  conditions: ArgCondition[];
  action: number;
  node: JObject;
  seq: number;
}

function condKey(c: ArgCondition): string {
  return `${c.index}:${c.width}:${c.op}:${c.value}:${c.mask ?? ""}`;
}

function setKey(cs: ArgCondition[]): string {
  return cs.map(condKey).sort().join("&");
}

function stripSource(c: Candidate): Rule {
  return { conditions: c.conditions, action: c.action, source: refOf(c.node) };
}

function mergeRules(name: string, cands: Candidate[], sec: ArchInfo, warn: Warnings): Rule[] {
  const at = (c: Candidate): string => placeOf(c.node);
  const uncond = cands.find((c) => c.conditions.length === 0);
  if (uncond) {
    for (const c of cands) {
      if (c !== uncond && c.action !== uncond.action) {
        warn.add(
          `the ${c.conditions.length ? "conditional" : "unconditional"} ${formatRet(c.action)} rule for ${name} at ${at(c)} ` +
            `is absorbed by the unconditional ${formatRet(uncond.action)} rule at ${at(uncond)}: libseccomp keeps the ` +
            `first unconditional rule of a syscall and drops the others, so ${name} always gets ${formatRet(uncond.action)}`,
          refOf(c.node), sec.name,
        );
      }
    }
    return [stripSource(uncond)];
  }

  // Identical condition sets.
  const byKey = new Map<string, Candidate>();
  const kept: Candidate[] = [];
  for (const c of cands) {
    const k = setKey(c.conditions);
    const prev = byKey.get(k);
    if (!prev) {
      byKey.set(k, c);
      kept.push(c);
    } else if (prev.action !== c.action) {
      throw jsonError(
        c.node,
        `${name} has the same argument conditions here (${formatRet(c.action)}) and at ${at(prev)} ` +
          `(${formatRet(prev.action)}) on ${sec.name}; libseccomp refuses two actions for one condition set (EEXIST), ` +
          `so runtimes fail on this profile`,
      );
    }
  }

  // Covered rules: a proper superset of another rule's conditions is never reached.
  const keys = kept.map((c) => new Set(c.conditions.map(condKey)));
  const survivors: Candidate[] = [];
  kept.forEach((c, i) => {
    const coverer = kept.findIndex(
      (_, j) => j !== i && keys[j].size < keys[i].size && [...keys[j]].every((k) => keys[i].has(k)),
    );
    if (coverer < 0) {
      survivors.push(c);
      return;
    }
    const by = kept[coverer];
    if (by.action !== c.action) {
      warn.add(
        `the ${formatRet(c.action)} rule for ${name} at ${at(c)} is covered by the shorter ${formatRet(by.action)} rule ` +
          `at ${at(by)} (its conditions include all of that rule's): libseccomp keeps the shorter rule, so it never applies`,
        refOf(c.node), sec.name,
      );
    }
  });

  survivors.sort((a, b) => a.conditions.length - b.conditions.length || a.seq - b.seq);

  for (let i = 0; i < survivors.length; i++) {
    for (let j = i + 1; j < survivors.length; j++) {
      const a = survivors[i];
      const b = survivors[j];
      if (a.action !== b.action && !disjoint(a.conditions, b.conditions)) {
        warn.add(
          `the ${formatRet(a.action)} rule for ${name} at ${at(a)} and the ${formatRet(b.action)} rule at ${at(b)} can ` +
            `match the same arguments; sysfence tries the rule with fewer conditions first (then file order), ` +
            `libseccomp's answer depends on its decision-tree layout and may differ`,
          refOf(b.node), sec.name,
        );
      }
    }
  }
  return survivors.map(stripSource);
}

/** True when no argument vector satisfies both condition sets (a sufficient check). */
function disjoint(a: ArgCondition[], b: ArgCondition[]): boolean {
  for (const x of a) {
    for (const y of b) {
      if (x.index === y.index && x.width === y.width && condsDisjoint(x, y)) return true;
    }
  }
  return false;
}

type Interval = [bigint, bigint];

function intervals(c: ArgCondition): Interval[] | undefined {
  const max = c.width === 32 ? U32_MAX : U64_MAX;
  const v = c.value;
  switch (c.op) {
    case "eq": return [[v, v]];
    case "ne": return [...(v > 0n ? [[0n, v - 1n] as Interval] : []), ...(v < max ? [[v + 1n, max] as Interval] : [])];
    case "lt": return v > 0n ? [[0n, v - 1n]] : [];
    case "le": return [[0n, v]];
    case "gt": return v < max ? [[v + 1n, max]] : [];
    case "ge": return [[v, max]];
    case "masked_eq": return undefined;
  }
}

function condsDisjoint(x: ArgCondition, y: ArgCondition): boolean {
  if (x.op === "masked_eq" && y.op === "masked_eq") return x.mask === y.mask && x.value !== y.value;
  if (x.op === "masked_eq" || y.op === "masked_eq") {
    const m = x.op === "masked_eq" ? x : y;
    const o = x.op === "masked_eq" ? y : x;
    return o.op === "eq" && (o.value & m.mask!) !== m.value;
  }
  const ix = intervals(x)!;
  const iy = intervals(y)!;
  return ix.every(([a, b]) => iy.every(([c, d]) => b < c || d < a));
}

// ---------------------------------------------------------------------------------------------

/**
 * Warns for every argument-restricted socket/ipc-family rule on an ABI with the multiplexer: a
 * call through socketcall/ipc carries its real arguments behind a pointer, so the checks cannot
 * be enforced there, and sysfence adds no multiplexer rule for them (libseccomp adds one whose
 * checks test the pointer instead). Unconditional family rules are mirrored, not warned about.
 */
function multiplexWarnings(sec: ArchInfo, syscalls: SyscallPolicy[], warn: Warnings): void {
  for (const [family, mux] of [[SOCKET_FAMILY, "socketcall"], [IPC_FAMILY, "ipc"]] as const) {
    const muxNr = syscallNumber(sec, mux);
    if (muxNr === undefined) continue;
    const muxSys = syscalls.find((s) => s.nr === muxNr);
    const muxUncond = muxSys?.rules.find((r) => r.conditions.length === 0);
    for (const s of syscalls) {
      const call = family[s.name];
      if (call === undefined) continue;
      const restricted = s.rules.filter((r) => r.conditions.length > 0);
      if (restricted.length === 0) continue;
      // What a call through the multiplexer gets: its unconditional rule, a mirrored
      // "a0 == call" rule (an unconditional entry for the same call), or the default.
      const mirrored = muxSys?.rules.find(
        (r) => r.conditions.length === 1 && r.conditions[0].index === 0 && r.conditions[0].op === "eq" && r.conditions[0].value === BigInt(call),
      );
      const through = muxUncond ?? mirrored;
      const muxSays = through
        ? `${mux}(${call}, …) gets ${formatRet(through.action)}` + (through.source ? ` (${placeOfRef(through.source)})` : "")
        : `${mux}(${call}, …) gets the default action`;
      const where = restricted.map((r) => (r.source ? placeOfRef(r.source) : "?")).join(", ");
      const bypass = through !== undefined && restricted.some((r) => r.action === through.action);
      warn.add(
        `${s.name} has argument-restricted rules (${where}) that cannot be enforced on ${sec.name}'s multiplexed ` +
          `${mux}(${muxNr}): a ${mux}(${call}, …) call passes its real arguments behind a pointer. sysfence adds no ` +
          `${mux} rule for them; ${muxSays}` +
          (bypass ? `, so ${s.name} through ${mux}(${call}, …) bypasses these checks` : "") +
          `. (libseccomp adds "${mux} if a0 == ${call}" with the other checks applied to the pointer.)`,
        restricted[0].source, sec.name,
      );
    }
  }
}
