// PolicyIR → an OCI runtime-spec / Docker profile (docs/formats.md 6), read back by
// src/policy/oci.ts with the same terms.
//
// - Unknown arch tokens and x32 calls of an x86_64 policy get KILL_THREAD (libseccomp's answer,
//   which the runtime-spec cannot change); one `defaultAction` for every ABI.
// - Conditions: an OCI comparison reads the whole argument on a 64-bit ABI, so a compare of the
//   low 32 bits alone is SCMP_CMP_MASKED_EQ with the low-word mask (== and & only; a 32-bit
//   order or != has no spelling there); on a 32-bit ABI the comparison reads the low word, so
//   32-bit conditions are written as they are (SCMP_CMP_EQ …) and a 64-bit one does not fit.
//   One comparison per argument in an entry (runc turns several into an OR).
// - A syscall allowed (or denied) outright shares one entry with the others of its action; a
//   syscall with argument rules gets one entry per rule, in the IR's order.
// - Several ABIs: an OCI entry applies to every ABI of the filter alike. When every ABI gives a
//   syscall the same entries (names an ABI does not have are skipped there, as runtimes do),
//   the profile lists them all in `architectures` and reads back equal to the whole IR. When
//   they differ, the profile has one `archMap` target per ABI (x32 rides with x86_64) and entries
//   chosen per target by `includes.arches`: read back for an ABI, it gives that ABI's sections
//   exactly and kills calls of the others (a note says so).
// - socketcall/ipc: on ABIs with them, a socket/ipc-family entry without arguments also applies
//   to `socketcall/ipc(a0 == call)` when read back (as runtimes apply it, src/policy/oci.ts); a
//   filter that gives that multiplexer call something else has no OCI spelling.
import { syscallNumber } from "../../syscalls/index.js";
import type { ArchInfo } from "../../syscalls/arches.js";
import { abiArgWidth } from "../builder.js";
import type { ArchPolicy, ArgCondition, PolicyIR } from "../ir.js";
import { dockerArchName, multiplexerOf, OCI_MISMATCH_ACTION } from "../oci.js";
import { type ActionName, formatRet } from "../../engine/actions.js";
import { fit, NoFit, requireNoRanges, spellAction, stringifyBig, type EmitResult } from "./fit.js";

const DIALECT = "an OCI profile";

interface OciAction { action: string; errnoRet?: number }

function word(action: ActionName, data: number): OciAction | undefined {
  switch (action) {
    case "ALLOW": return { action: "SCMP_ACT_ALLOW" };
    case "LOG": return { action: "SCMP_ACT_LOG" };
    case "TRAP": return data === 0 ? { action: "SCMP_ACT_TRAP" } : undefined; // no TRAP data in OCI
    case "KILL_PROCESS": return { action: "SCMP_ACT_KILL_PROCESS" };
    case "KILL_THREAD": return { action: "SCMP_ACT_KILL_THREAD" };
    case "USER_NOTIF": return { action: "SCMP_ACT_NOTIFY" };
    case "ERRNO": return { action: "SCMP_ACT_ERRNO", errnoRet: data };
    case "TRACE": return { action: "SCMP_ACT_TRACE", errnoRet: data };
  }
}

const OPS: Record<Exclude<ArgCondition["op"], "masked_eq">, string> = {
  eq: "SCMP_CMP_EQ", ne: "SCMP_CMP_NE", lt: "SCMP_CMP_LT", le: "SCMP_CMP_LE", gt: "SCMP_CMP_GT", ge: "SCMP_CMP_GE",
};

const LOW_WORD = 0xffffffffn;

/** One condition as an OCI `args` item on an ABI whose arguments are `abiWidth` bits. */
function ociArg(c: ArgCondition, abiWidth: 32 | 64, where: string): Record<string, unknown> {
  if (c.width === 32 && abiWidth === 64) {
    if (c.op !== "eq" && c.op !== "masked_eq") {
      throw new NoFit(`${where}: a comparison of an argument's low 32 bits other than == or & has no OCI spelling on a 64-bit ABI`);
    }
    const m = (c.op === "masked_eq" ? c.mask! : LOW_WORD) & LOW_WORD;
    return { index: c.index, value: m, valueTwo: c.value & m, op: "SCMP_CMP_MASKED_EQ" };
  }
  if (c.width === 64 && abiWidth === 32) {
    throw new NoFit(`${where}: a comparison of all 64 bits of an argument has no OCI spelling on a 32-bit ABI (OCI compares the low word there)`);
  }
  return c.op === "masked_eq"
    ? { index: c.index, value: c.mask!, valueTwo: c.value, op: "SCMP_CMP_MASKED_EQ" }
    : { index: c.index, value: c.value, valueTwo: 0, op: OPS[c.op] };
}

/**
 * Refuses a section whose unconditional socket/ipc-family rules would be mirrored, when read
 * back, onto a multiplexer call the section treats otherwise: the mirrored "a0 == call" rule
 * must already be there with the same action, or the multiplexer decided outright.
 */
function checkMultiplexed(sec: ArchPolicy): void {
  for (const s of sec.syscalls) {
    if (s.rules.length !== 1 || s.rules[0].conditions.length !== 0) continue;
    const action = s.rules[0].action >>> 0;
    if (action === sec.defaultAction >>> 0) continue; // runtimes skip such an entry
    const mux = multiplexerOf(sec.arch, s.name);
    if (!mux) continue;
    const m = sec.syscalls.find((x) => x.nr === mux.nr);
    if (m?.rules.some((r) => r.conditions.length === 0)) continue; // an outright rule absorbs the mirror
    const same = m?.rules.some((r) => r.action >>> 0 === action && r.conditions.length === 1 &&
      r.conditions[0].index === 0 && r.conditions[0].op === "eq" && r.conditions[0].value === BigInt(mux.call));
    if (!same) {
      throw new NoFit(
        `on ${sec.arch.name} an OCI entry giving ${s.name} ${formatRet(action)} outright also applies to ${mux.name}(${mux.call}, …) (runtimes ` +
          `mirror it), which this filter treats otherwise`,
      );
    }
  }
}

/** A syscall's entries on one section (without `names`), in rule order. */
type Entries = Record<string, unknown>[];

function sectionEntries(sec: ArchPolicy): Map<string, Entries> {
  const width = abiArgWidth(sec.arch);
  const out = new Map<string, Entries>();
  requireNoRanges(sec, DIALECT);
  for (const s of sec.syscalls) {
    if (syscallNumber(sec.arch, s.name) !== s.nr) throw new NoFit(`${sec.arch.name} syscall ${s.nr} has no name an OCI profile could use`);
    out.set(s.name, s.rules.map((r) => {
      const a = spellAction(r.action, DIALECT, word);
      const args = r.conditions.map((c) => ociArg(c, width, `${sec.arch.name} ${s.name}`));
      if (new Set(args.map((x) => x.index)).size !== args.length) throw new NoFit(`${sec.arch.name} ${s.name}: OCI allows one comparison per argument in an entry`);
      return { action: a.action, ...(a.errnoRet !== undefined ? { errnoRet: a.errnoRet } : {}), ...(args.length ? { args } : {}), ...(r.comment ? { comment: r.comment } : {}) };
    }));
  }
  return out;
}

/**
 * The entries of sections that must share them (every listed ABI, or one target's ABIs), by
 * name in first-seen order; undefined when two sections that both have a name treat it unlike
 * (one of them by its default, which an entry would override).
 */
function sharedEntries(secs: ArchPolicy[]): Map<string, Entries> | undefined {
  const per = secs.map(sectionEntries);
  const names: string[] = [];
  for (const m of per) for (const n of m.keys()) if (!names.includes(n)) names.push(n);
  const out = new Map<string, Entries>();
  for (const name of names) {
    let text: string | undefined;
    for (let i = 0; i < secs.length; i++) {
      if (syscallNumber(secs[i].arch, name) === undefined) continue; // skipped there by the reader
      const t = stringifyBig(per[i].get(name) ?? "default");
      if (text !== undefined && t !== text) return undefined;
      text = t;
      if (per[i].has(name)) out.set(name, per[i].get(name)!);
    }
  }
  return out;
}

/** Entries with their names: syscalls with one unconditional entry grouped by action, first. */
function render(entries: Map<string, Entries>, extra: Record<string, unknown> = {}): Record<string, unknown>[] {
  const bare = new Map<string, { names: string[]; entry: Record<string, unknown> }>();
  const rest: Record<string, unknown>[] = [];
  for (const [name, list] of entries) {
    if (list.length === 1 && !list[0].args) {
      const { action, errnoRet } = list[0];
      const key = `${action} ${errnoRet ?? ""}`;
      const g = bare.get(key);
      if (g) g.names.push(name);
      else bare.set(key, { names: [name], entry: { action, ...(errnoRet !== undefined ? { errnoRet } : {}) } });
      continue;
    }
    for (const e of list) rest.push({ names: [name], ...e, ...extra });
  }
  return [...[...bare.values()].map((g) => ({ names: g.names, ...g.entry, ...extra })), ...rest];
}

const scmpArch = (a: ArchInfo): string => `SCMP_ARCH_${a.name.toUpperCase()}`;

/** The IR as an OCI / Docker profile, when it fits (see the header), or the reason it does not. */
export function toOci(ir: PolicyIR): EmitResult {
  return fit((_flags, notes) => {
    if (ir.arches.length === 0) throw new NoFit("the policy has no ABI");
    const kill = OCI_MISMATCH_ACTION >>> 0;
    const hasX32 = ir.arches.some((a) => a.arch.name === "x32");
    const x32Kill = !ir.arches.some((a) => a.arch.name === "x86_64") || hasX32 || (ir.x32Action ?? ir.mismatchAction) >>> 0 === kill;
    if (ir.mismatchAction >>> 0 !== kill || !x32Kill) {
      throw new NoFit("OCI runtimes kill the thread on unknown arches and x32; this filter does something else");
    }
    const dflt = ir.arches[0].defaultAction >>> 0;
    const other = ir.arches.find((a) => a.defaultAction >>> 0 !== dflt);
    if (other) throw new NoFit(`an OCI profile has one default action; ${ir.arches[0].arch.name} gets ${formatRet(dflt)} and ${other.arch.name} ${formatRet(other.defaultAction)}`);
    for (const sec of ir.arches) checkMultiplexed(sec);
    const d = spellAction(dflt, DIALECT, word);
    const head = { defaultAction: d.action, ...(d.errnoRet !== undefined ? { defaultErrnoRet: d.errnoRet } : {}) };

    const oneOrder = ir.arches.every((a) => a.arch.endian === ir.arches[0].arch.endian);
    const shared = oneOrder ? sharedEntries(ir.arches) : undefined;
    if (shared) {
      return stringifyBig({ ...head, architectures: ir.arches.map((a) => scmpArch(a.arch)), syscalls: render(shared) }) + "\n";
    }
    // One target per ABI; x32 shares x86_64's (one arch token, one Docker arch name).
    const targets = ir.arches.filter((a) => !(a.arch.name === "x32" && ir.arches.some((b) => b.arch.name === "x86_64")));
    const archMap: Record<string, unknown>[] = [];
    const syscalls: Record<string, unknown>[] = [];
    for (const t of targets) {
      const group = t.arch.name === "x86_64" ? ir.arches.filter((a) => a.arch.name === "x86_64" || a.arch.name === "x32") : [t];
      const entries = sharedEntries(group);
      if (!entries) throw new NoFit("x86_64 and x32 calls are treated differently; an OCI entry applies to both alike");
      archMap.push({ architecture: scmpArch(t.arch), subArchitectures: group.slice(1).map((a) => scmpArch(a.arch)) });
      syscalls.push(...render(entries, { includes: { arches: [dockerArchName(t.arch)] } }));
    }
    notes.push(
      `the ABIs ${targets.map((t) => t.arch.name).join(", ")} are treated differently, and an OCI entry applies to every ABI ` +
        "of a filter alike: the profile has one archMap target per ABI, with entries chosen by includes.arches, so on each " +
        "machine it covers that ABI (and x32 with x86_64) and kills calls of the others",
    );
    return stringifyBig({ ...head, archMap, syscalls }) + "\n";
  });
}
