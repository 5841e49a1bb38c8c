// The seccompiler JSON dialect (Firecracker's resources/seccomp/*.json, rust-vmm's seccompiler
// crate, BoxLite): a map from thread name to filter object, compiled into one PolicyIR per
// thread for one target ABI. Format: docs/formats.md section 2.
//
//   { "vmm": { "default_action": "trap", "filter_action": "allow",
//              "filter": [ { "syscall": "ioctl", "args": [
//                  { "index": 1, "type": "dword", "op": "eq", "val": 21505 } ] } ] } }
//
// The three implementations disagree on several points (docs/formats.md 2.2, 2.3; docs/evidence.md 9 rows
// 3, 4, 6). sysfence picks ONE meaning for each, listed here, and says so in a warning wherever a
// file depends on the choice:
//
// - Field names: `default_action` or its rust-vmm alias `mismatch_action`; `filter_action` or
//   `match_action`. Giving both spellings in one filter is an error (which one would win is
//   exactly the kind of question a policy must not raise).
// - Unknown fields anywhere: an error naming the field (strict, like FC <= 1.10 and rust-vmm;
//   FC >= 1.11 ignores them, which turns a typo such as "agrs" into an unrestricted rule).
//   `comment` must be a string.
// - Duplicate keys: an error (a duplicate thread is FC <= 1.10's "duplicate filter key"; FC >=
//   1.11 keeps the last one silently).
// - Actions: "allow", "trap", "log", "kill_thread", "kill_process", "user_notif",
//   {"errno": N}, {"trace": N}. N must be 0..65535: rust-vmm and FC <= 1.10 silently truncate
//   a larger N to 16 bits, FC >= 1.11 refuses it; refusing is the only reading that cannot
//   surprise. There is no "kill".
// - `dword` compares only the LOW 32 BITS of the argument, the value and the mask, for every op
//   (eq, ne, lt, le, gt, ge, masked_eq). This is rust-vmm's and FC <= 1.10's meaning, the one
//   `dword` was introduced for (firecracker#1206: musl passes ioctl requests with garbage in the
//   high half, so a 64-bit compare denies legitimate calls). FC >= 1.11 compares ne/lt/le/gt/ge
//   and masked_eq on 64 bits, which re-opens that failure. A dword `val` or mask above 32 bits is
//   an ERROR: its high bits could never take part, so it cannot mean what the author thinks
//   (rust-vmm silently drops them; libseccomp masks them away).
// - `qword` compares all 64 bits.
// - On a 32-bit ABI (x86, arm, x32, …) every argument is 32 bits: every condition is compared
//   on the low word, and a qword `val` or mask above 32 bits is an error (it could never match).
// - `masked_eq`: holds when (arg & mask) == (val & mask); `val` is pre-masked as rust-vmm and
//   libseccomp do. A `val` with bits outside the mask gets a warning: those bits are ignored.
// - `"args": []` is an unconditional rule (FC <= 1.10 and FC >= 1.11; rust-vmm calls it
//   EmptyRule).
// - A syscall listed bare AND with conditions in one thread: the bare entry WINS (any arguments
//   allowed), as in FC >= 1.11, and a warning names both places and says that rust-vmm 0.4/0.5
//   would instead drop the bare entry (restricting the syscall) and FC <= 1.10 would refuse the
//   file. Never silently.
// - default_action == filter_action with a non-empty filter: a warning (it compiles, every rule
//   is redundant; FC and rust-vmm refuse it as IdenticalActions, libseccomp as EACCES).
// - Unknown syscall name for the target ABI: UnknownSyscallError naming the arch, at the rule.
// - Wrong arch token: KILL_PROCESS, the rust-vmm answer (FC >= 1.11 kills the thread). On
//   x86_64, x32 calls (nr | 0x40000000) get the same KILL_PROCESS: rust-vmm does not check x32 at
//   all (docs/evidence.md 9 row 1), which is a bypass, not a semantics worth keeping.
//
// Output per thread: one ArchPolicy for the target ABI; the rules of one syscall grouped into
// one SyscallPolicy in file order, every rule with filter_action; syscalls sorted by nr.
import { Action, formatRet } from "../engine/actions.js";
import { ownTable } from "../tables.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";
import { abiArgWidth, hex, lookupSyscall, U32_MAX, U64_MAX } from "./builder.js";
import type { ArgCondition, CompareOp, CompiledInput, PolicyIR, PolicyWarning, Rule, SyscallPolicy } from "./ir.js";
import {
  describe, expectArray, expectObject, expectString, expectUint, getOptional, jsonError, parseJson,
  placeOf, refOf, rejectDuplicates, rejectUnknownFields, requireField,
  type JMember, type JNode, type JObject, type JsonDocument,
} from "./json.js";

/** rust-vmm's answer for a foreign arch token (and, here, for x32 calls on x86_64). */
export const SECCOMPILER_MISMATCH_ACTION = Action.KILL_PROCESS;

const FILTER_FIELDS = ["default_action", "mismatch_action", "filter_action", "match_action", "filter"] as const;
const RULE_FIELDS = ["syscall", "args", "comment"] as const;
const COND_FIELDS = ["index", "type", "op", "val", "comment"] as const;
const OPS: readonly CompareOp[] = ["eq", "ne", "lt", "le", "gt", "ge"];

const SIMPLE_ACTIONS: Readonly<Record<string, number>> = ownTable({
  allow: Action.ALLOW,
  trap: Action.TRAP,
  log: Action.LOG,
  kill_thread: Action.KILL_THREAD,
  kill_process: Action.KILL_PROCESS,
  user_notif: Action.USER_NOTIF,
});
const ACTION_LIST = `"allow", "trap", "log", "kill_thread", "kill_process", "user_notif", {"errno": N} or {"trace": N}`;

/**
 * Parses a seccompiler JSON file and compiles every thread for `arch`. Errors are InputErrors
 * (UnknownSyscallError for names the ABI lacks) at `FILE:LINE (POINTER)`.
 */
export function parseSeccompiler(text: string, file: string, arch: ArchInfo): CompiledInput {
  return seccompilerFromDocument(parseJson(text, file), arch);
}

/** The same, on an already parsed document (the frontend parses once to detect the dialect). */
export function seccompilerFromDocument(doc: JsonDocument, arch: ArchInfo): CompiledInput {
  const root = doc.root;
  if (root.kind !== "object") {
    throw jsonError(root, `a seccompiler filter file must be an object mapping thread names to filters, got ${describe(root)}`);
  }
  rejectDuplicates(doc, (d) => (d.object === root ? `thread "${d.key}"` : `field "${d.key}"`));
  if (root.members.length === 0) throw jsonError(root, "the seccompiler filter file defines no threads");
  const policies = new Map<string, PolicyIR>();
  const warnings: PolicyWarning[] = [];
  for (const m of root.members) policies.set(m.key, parseThread(m, arch, warnings));
  return { policies, warnings };
}

interface RuleEntry {
  rule: Rule;
  node: JObject;
  /** "args" absent or null (as opposed to "args": []). */
  bare: boolean;
}

function parseThread(member: JMember, arch: ArchInfo, warnings: PolicyWarning[]): PolicyIR {
  const obj = expectObject(member.value, `thread "${member.key}"`);
  const what = `the filter of thread "${member.key}"`;
  rejectUnknownFields(obj, FILTER_FIELDS, what);
  const defaultAction = parseAction(aliased(obj, "default_action", "mismatch_action", what));
  const filterAction = parseAction(aliased(obj, "filter_action", "match_action", what));
  const filter = expectArray(requireField(obj, "filter", what), `"filter"`);

  const bySyscall = new Map<number, { name: string; entries: RuleEntry[] }>();
  for (const item of filter.items) {
    const r = expectObject(item, "a rule");
    rejectUnknownFields(r, RULE_FIELDS, "a rule");
    const name = expectString(requireField(r, "syscall", "the rule"), `"syscall"`);
    const comment = getOptional(r, "comment");
    if (comment) expectString(comment, `"comment"`);
    // The place is spelled out only for the error (it costs more than the lookup).
    const nr = syscallNumber(arch, name) ?? lookupSyscall(arch, name, placeOf(requireField(r, "syscall")));
    const argsNode = getOptional(r, "args");
    const conditions = argsNode ? expectArray(argsNode, `"args"`).items.map((c) => parseCondition(c, arch, warnings)) : [];
    let group = bySyscall.get(nr);
    if (!group) bySyscall.set(nr, (group = { name, entries: [] }));
    group.entries.push({ rule: { conditions, action: filterAction, source: refOf(r) }, node: r, bare: conditions.length === 0 });
  }

  const syscalls: SyscallPolicy[] = [];
  for (const [nr, g] of bySyscall) syscalls.push({ nr, name: g.name, rules: groupRules(g.name, g.entries, member.key, warnings) });
  syscalls.sort((a, b) => (a.nr >>> 0) - (b.nr >>> 0));

  if (defaultAction === filterAction && filter.items.length > 0) {
    warnings.push({
      message:
        `thread "${member.key}": default_action and filter_action are both ${formatRet(defaultAction)}, so every rule is ` +
        `redundant (rust-vmm and Firecracker refuse this as IdenticalActions)`,
      source: refOf(obj),
    });
  }

  const ir: PolicyIR = {
    name: member.key,
    arches: [{ arch, defaultAction, syscalls }],
    mismatchAction: SECCOMPILER_MISMATCH_ACTION,
    source: refOf(obj),
  };
  if (arch.name === "x86_64") ir.x32Action = SECCOMPILER_MISMATCH_ACTION;
  return ir;
}

/**
 * The rules of one syscall in file order. A bare entry (no conditions) next to conditional ones
 * wins, with a warning: see the header.
 */
function groupRules(name: string, entries: RuleEntry[], thread: string, warnings: PolicyWarning[]): Rule[] {
  const bare = entries.filter((e) => e.bare);
  if (bare.length === 0) return entries.map((e) => e.rule);
  const conditional = entries.filter((e) => !e.bare);
  if (conditional.length > 0) {
    warnings.push({
      message:
        `thread "${thread}": syscall "${name}" is listed without arguments at ${placeOf(bare[0].node)} and with ` +
        `argument conditions at ${conditional.map((e) => placeOf(e.node)).join(", ")}. sysfence compiles the bare ` +
        `entry as winning: any arguments are allowed and the conditions have no effect (as Firecracker >= 1.11 ` +
        `does). rust-vmm seccompiler 0.4/0.5 would instead drop the bare entry and restrict "${name}" to the ` +
        `conditions; Firecracker <= 1.10 would refuse the file (ConflictingRules). Remove one of the two.`,
      source: refOf(bare[0].node),
    });
  } else if (bare.length > 1) {
    warnings.push({
      message:
        `thread "${thread}": syscall "${name}" is listed without arguments ${bare.length} times ` +
        `(${bare.map((e) => placeOf(e.node)).join(", ")}); the repeats have no effect`,
      source: refOf(bare[1].node),
    });
  }
  return [bare[0].rule];
}

function aliased(obj: JObject, name: string, alias: string, what: string): JNode {
  const a = obj.byKey.get(name);
  const b = obj.byKey.get(alias);
  if (a && b) {
    throw jsonError(b, `${what} gives both "${name}" and its alias "${alias}"; give one`);
  }
  const m = a ?? b;
  if (!m) throw jsonError(obj, `${what} is missing the required field "${name}" (or its alias "${alias}")`);
  return m.value;
}

/** An action: a snake_case string, or {"errno": N} / {"trace": N}. */
function parseAction(node: JNode): number {
  if (node.kind === "string") {
    const v = SIMPLE_ACTIONS[node.value];
    if (v !== undefined) return v >>> 0;
    const hint = node.value === "kill" ? ` (there is no "kill": use "kill_thread" or "kill_process")` : "";
    throw jsonError(node, `unknown action ${JSON.stringify(node.value)}${hint}; expected ${ACTION_LIST}`);
  }
  if (node.kind === "object" && node.members.length === 1) {
    const m = node.members[0];
    if (m.key === "errno" || m.key === "trace") {
      const n = Number(expectUint(m.value, 0xffffn, `the ${m.key} value`));
      return ((m.key === "errno" ? Action.ERRNO : Action.TRACE) | n) >>> 0;
    }
  }
  throw jsonError(node, `invalid action ${describe(node)}; expected ${ACTION_LIST}`);
}

function parseCondition(node: JNode, arch: ArchInfo, warnings: PolicyWarning[]): ArgCondition {
  const c = expectObject(node, "a condition");
  rejectUnknownFields(c, COND_FIELDS, "a condition");
  const index = Number(expectUint(requireField(c, "index", "the condition"), 5n, `"index" (a syscall has six arguments, 0-5)`));
  const typeNode = requireField(c, "type", "the condition");
  const type = expectString(typeNode, `"type"`);
  if (type !== "dword" && type !== "qword") {
    throw jsonError(typeNode, `"type" must be "dword" (low 32 bits) or "qword" (64 bits), got ${JSON.stringify(type)}`);
  }
  const opNode = requireField(c, "op", "the condition");
  let op: CompareOp;
  let maskNode: JNode | undefined;
  if (opNode.kind === "string" && (OPS as readonly string[]).includes(opNode.value)) {
    op = opNode.value as CompareOp;
  } else if (opNode.kind === "object") {
    rejectUnknownFields(opNode, ["masked_eq"], "the op object");
    maskNode = requireField(opNode, "masked_eq", "the op object");
    op = "masked_eq";
  } else {
    throw jsonError(opNode, `"op" must be one of "eq", "ne", "lt", "le", "gt", "ge" or {"masked_eq": MASK}, got ${describe(opNode)}`);
  }
  const valNode = requireField(c, "val", "the condition");
  const val = expectUint(valNode, U64_MAX, `"val"`);
  const mask = maskNode ? expectUint(maskNode, U64_MAX, "the masked_eq mask") : undefined;

  const abi = abiArgWidth(arch);
  const width: 32 | 64 = type === "dword" || abi === 32 ? 32 : 64;
  const tooWide = (n: JNode, v: bigint, what: string): void => {
    if (v <= U32_MAX || width === 64) return;
    if (type === "dword") {
      throw jsonError(
        n,
        `a dword ${what} above 32 bits (${hex(v)}) can never mean what it says: dword compares only the low 32 ` +
          `bits, so its high bits would be ignored (rust-vmm truncates them, libseccomp masks them). Write the low ` +
          `32 bits, or use "qword" to compare all 64`,
      );
    }
    throw jsonError(
      n,
      `${arch.name} is a 32-bit ABI: every argument is 32 bits, so a qword ${what} of ${hex(v)} can never match`,
    );
  };
  tooWide(valNode, val, "val");
  if (mask !== undefined && maskNode) tooWide(maskNode, mask, "mask");

  const out: ArgCondition = { index, width, op, value: val, source: refOf(c) };
  if (op === "masked_eq") {
    const m = mask!;
    out.mask = m;
    out.value = val & m;
    if ((val & ~m) !== 0n) {
      warnings.push({
        message:
          `masked_eq val ${hex(val)} has bits outside the mask ${hex(m)}; they are ignored (the condition is ` +
          `(arg & ${hex(m)}) == ${hex(val & m)}, as rust-vmm and libseccomp pre-mask val)`,
        source: refOf(valNode),
      });
    }
  }
  return out;
}
