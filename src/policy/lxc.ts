// LXC seccomp policy text (`lxc.seccomp.profile`), read as LXC's src/lxc/seccomp.c
// (parse_config, parse_config_v1/v2, get_v2_default_action, parse_v2_rules,
// get_seccomp_arg_value, do_resolve_add_rule) reads it, then compiled through the OCI frontend
// (src/policy/oci.ts): LXC hands every rule to libseccomp exactly as runc does, so libseccomp's
// merge of several rules per syscall, argument widths per ABI and names an ABI lacks are handled
// in one place. Each LXC line becomes a located node of an OCI profile (its line and column;
// the "pointer" is the statement text, which is what a warning should show). Semantics, with
// the reason for each point: docs/policies.md "LXC seccomp policies".
import { InputError } from "../errors.js";
import { Action } from "../engine/actions.js";
import { findArch, syscallName, type ArchInfo } from "../syscalls/index.js";
import type { PolicyWarning } from "./ir.js";
import type { JMember, JNode, JObject, JsonDocument } from "./json.js";
import { ociFromObject, type OciResult } from "./oci.js";

/** Compat ABIs LXC adds to the filter for a native arch (parse_config_v2's contexts). */
const COMPAT: Readonly<Record<string, readonly string[]>> = {
  x86_64: ["x86", "x32"], aarch64: ["arm"], ppc64: ["ppc"], mips64: ["mips", "mips64n32"], mipsel64: ["mipsel", "mipsel64n32"],
};

/**
 * `[section]` names LXC knows, and the native arches (sysfence names) on which its rules are
 * read; on any other native arch the section's rules are skipped. `all` is read everywhere.
 */
const SECTIONS: Readonly<Record<string, readonly string[] | "all">> = {
  x86: ["x86", "x86_64"], x32: ["x86_64"], x86_64: ["x86_64"], all: "all", arm: ["arm", "aarch64"], arm64: ["aarch64"],
  ppc64le: ["ppc64le"], ppc64: ["ppc64"], ppc: ["ppc", "ppc64"], mips64: ["mips64"], mips64n32: ["mips64"],
  mips: ["mips", "mips64"], mipsel64: ["mipsel64"], mipsel64n32: ["mipsel64"], mipsel: ["mipsel", "mipsel64"],
  s390x: ["s390x"], s390: ["s390"], loongarch64: ["loongarch64"],
};
/** Native arches LXC's get_hostarch() knows; on others only `[all]` sections are read. */
const LXC_HOSTS = ["x86", "x86_64", "arm", "aarch64", "ppc64le", "ppc64", "ppc", "mips", "mipsel", "mips64", "mipsel64", "s390x", "s390", "loongarch64"];

const OPS: Readonly<Record<string, string>> = {
  SCMP_CMP_NE: "SCMP_CMP_NE", "!=": "SCMP_CMP_NE", SCMP_CMP_LT: "SCMP_CMP_LT", "<": "SCMP_CMP_LT",
  SCMP_CMP_LE: "SCMP_CMP_LE", "<=": "SCMP_CMP_LE", SCMP_CMP_EQ: "SCMP_CMP_EQ", "==": "SCMP_CMP_EQ",
  SCMP_CMP_GE: "SCMP_CMP_GE", ">=": "SCMP_CMP_GE", SCMP_CMP_GT: "SCMP_CMP_GT", ">": "SCMP_CMP_GT",
  SCMP_CMP_MASKED_EQ: "SCMP_CMP_MASKED_EQ", "&=": "SCMP_CMP_MASKED_EQ",
};
const U64_MAX = (1n << 64n) - 1n;
const EACCES = 13;
const MNT_FORCE = 1n;

/** An action as LXC resolves it: the OCI name and, for errno, the 16-bit data libseccomp keeps. */
interface LxcAction {
  oci: string;
  errno?: number;
  /** Canonical text, for comparing with the default. */
  key: string;
}

export interface LxcOptions {
  /** The native arch LXC would run on (sysfence name). */
  arch: ArchInfo;
}

/** A located OCI-shaped node builder: every node points at an LXC line and column. */
class Nodes {
  constructor(private readonly file: string) {}
  at(line: number, column: number, label: string): { file: string; pointer: string; line: number; column: number } {
    return { file: this.file, pointer: label, line, column };
  }
  str(value: string, line: number, column: number, label: string): JNode {
    return { kind: "string", ...this.at(line, column, label), value };
  }
  num(value: bigint, line: number, column: number, label: string): JNode {
    return { kind: "number", ...this.at(line, column, label), text: value.toString(), integer: value };
  }
  arr(items: JNode[], line: number, column: number, label: string): JNode {
    return { kind: "array", ...this.at(line, column, label), items };
  }
  obj(fields: [string, JNode][], line: number, column: number, label: string): JObject {
    const members: JMember[] = fields.map(([key, value]) => ({ file: this.file, key, line: value.line, pointer: label, value }));
    return { kind: "object", ...this.at(line, column, label), members, byKey: new Map(members.map((m) => [m.key, m])) };
  }
}

/** `FILE:LINE:COL` */
const loc = (file: string, line: number, col: number): string => `${file}:${line}:${col}`;

/**
 * get_v2_default_action: the words after the mode (or after a syscall name). LXC matches
 * each action by PREFIX ("killer" is kill) and reads errno with sscanf("%d").
 */
function parseAction(text: string, file: string, line: number, col: number, warnings: PolicyWarning[]): LxcAction | undefined {
  const t = text.replace(/^ +/, "");
  const c = col + (text.length - t.length);
  if (t === "" ) return undefined;
  const word = /^\S*/.exec(t)![0];
  const warnPrefix = (name: string): void => {
    if (!word.startsWith(name) || word === name || (name === "errno" && /^errno-?\d+$/.test(word))) return;
    warnings.push({ message: `LXC reads "${word}" as the action ${name} (it compares only the first ${name.length} letters)`, source: { file, line } });
  };
  for (const name of ["kill", "allow", "trap", "notify"] as const) {
    if (t.startsWith(name)) {
      warnPrefix(name);
      const oci = { kill: "SCMP_ACT_KILL", allow: "SCMP_ACT_ALLOW", trap: "SCMP_ACT_TRAP", notify: "SCMP_ACT_NOTIFY" }[name];
      return { oci, key: oci };
    }
  }
  if (t.startsWith("errno")) {
    warnPrefix("errno");
    const m = /^\s*([+-]?\d+)/.exec(t.slice(5));
    if (!m) throw new InputError(`"errno" needs a number after it (LXC reads it with %d), as in "errno 1"`, loc(file, line, c));
    const n = BigInt(m[1]);
    if (n > 0x7fffffffn || n < -0x80000000n) throw new InputError(`errno ${m[1]} does not fit LXC's int`, loc(file, line, c));
    const data = Number(BigInt.asUintN(16, n));
    if (BigInt(data) !== n) {
      warnings.push({ message: `errno ${m[1]} is kept as ${data}: libseccomp's SCMP_ACT_ERRNO keeps the low 16 bits`, source: { file, line } });
    }
    return { oci: "SCMP_ACT_ERRNO", errno: data, key: `SCMP_ACT_ERRNO(${data})` };
  }
  throw new InputError(
    `unrecognised action ${JSON.stringify(word)} (LXC knows kill, errno N, allow, trap, notify)`, loc(file, line, c),
  );
}

/** lxc_safe_uint64(s, base 0): leading blanks, no sign, the whole rest a C integer (0x.., 0.., decimal). */
function safeUint64(s: string): bigint | undefined {
  const t = s.replace(/^[ \t\n\v\f\r]+/, "");
  const m = /^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(t);
  if (!m) return undefined;
  const d = m[1];
  const v = /^0[xX]/.test(d) ? BigInt(d) : d.length > 1 && d[0] === "0" ? BigInt(`0o${d.slice(1)}`) : BigInt(d);
  return v > U64_MAX ? undefined : v;
}

/** sscanf %i: an optionally signed C integer (0x hex, 0 octal). */
function scanInt(s: string): { value: bigint; rest: string } | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return undefined;
  const d = m[2];
  let v = /^0[xX]/.test(d) ? BigInt(d) : d.length > 1 && d[0] === "0" ? BigInt(`0o${d.slice(1)}`) : BigInt(d);
  if (m[1] === "-") v = -v;
  return { value: v, rest: s.slice(m[0].length) };
}

interface LxcArg { index: number; value: bigint; mask: bigint; op: string; col: number }

/**
 * get_seccomp_arg_value on one `]`-separated token: `[%i,%23[^,],%30[^0-9^,],%23[^,]`, i.e.
 * `[index,value,op]` or `[index,value,op,mask]`; value and mask through lxc_safe_uint64.
 */
function parseArg(token: string, tokenCol: number, file: string, line: number, warnings: PolicyWarning[]): LxcArg {
  const open = token.indexOf("[");
  if (open < 0) {
    throw new InputError(`expected an argument rule "[index,value,op]" here, got ${JSON.stringify(token.trim())} (LXC refuses the line)`, loc(file, line, tokenCol));
  }
  const col = tokenCol + open;
  const bad = (why: string): InputError => new InputError(`argument rule ${JSON.stringify(token.slice(open) + "]")}: ${why}`, loc(file, line, col));
  const idx = scanInt(token.slice(open + 1));
  if (!idx || !idx.rest.startsWith(",")) throw bad("expected [index,value,op] or [index,value,op,mask]");
  if (idx.value < 0n || idx.value > 5n) throw bad(`index ${idx.value} is not an argument (0-5)`);
  let rest = idx.rest.slice(1);
  const vm = /^[^,]{1,23}/.exec(rest);
  if (!vm || rest[vm[0].length] !== ",") throw bad("expected [index,value,op] or [index,value,op,mask]");
  const value = safeUint64(vm[0]);
  if (value === undefined) throw bad(`value ${JSON.stringify(vm[0])} is not an unsigned 64-bit C integer`);
  rest = rest.slice(vm[0].length + 1);
  const om = /^[^0-9^,]{1,30}/.exec(rest);
  if (!om) throw bad("the operator is missing");
  const op = OPS[om[0]];
  if (!op) throw bad(`unknown operator ${JSON.stringify(om[0])} (LXC knows SCMP_CMP_NE/LT/LE/EQ/GE/GT/MASKED_EQ and != < <= == >= > &=, with no spaces)`);
  rest = rest.slice(om[0].length);
  let mask = 0n;
  let maskGiven = false;
  if (rest.startsWith(",")) {
    const mm = /^[^,]{1,23}/.exec(rest.slice(1));
    if (mm) {
      const v = safeUint64(mm[0]);
      if (v === undefined) throw bad(`mask ${JSON.stringify(mm[0])} is not an unsigned 64-bit C integer`);
      mask = v;
      maskGiven = true;
      rest = rest.slice(1 + mm[0].length);
    }
  }
  if (rest.trim() !== "") {
    warnings.push({ message: `LXC ignores ${JSON.stringify(rest)} after the argument rule's fields`, source: { file, line } });
  }
  if (maskGiven && op !== "SCMP_CMP_MASKED_EQ") {
    warnings.push({ message: `the mask of a ${om[0]} rule is ignored (LXC uses it for SCMP_CMP_MASKED_EQ only)`, source: { file, line } });
  }
  if (!maskGiven && op === "SCMP_CMP_MASKED_EQ") {
    warnings.push({ message: `SCMP_CMP_MASKED_EQ without a mask: LXC uses mask 0, so the rule holds only when the value is 0`, source: { file, line } });
  }
  return { index: Number(idx.value), value, mask, op, col };
}

/** Compiles an LXC seccomp policy for `opts.arch` (the native arch LXC would run on). */
export function loadLxc(text: string, file: string, opts: LxcOptions): OciResult {
  const native = opts.arch;
  const warnings: PolicyWarning[] = [];
  const N = new Nodes(file);
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  // parse_config: fscanf("%d\n") reads the version, skipping white space (blank lines too).
  let i = 0;
  const vm = /^\s*([+-]?\d+)\s*$/.exec(lines[0] ?? "");
  if (!vm) throw new InputError(`the first line must be the policy version (1 or 2); LXC reads it before anything else, comments included`, loc(file, 1, 1));
  const version = Number(vm[1]);
  if (version !== 1 && version !== 2) throw new InputError(`policy version ${vm[1]} is not 1 or 2`, loc(file, 1, 1));
  i = 1;
  while (i < lines.length && lines[i].trim() === "") i++;
  if (i >= lines.length) throw new InputError(`the mode line (allowlist or denylist) is missing`, loc(file, i + 1, 1));
  const modeLine = lines[i].replace(/\r$/, "");
  const modeNo = i + 1;
  if (modeLine.includes("debug")) throw new InputError(`"debug" in the mode line: LXC refuses it ("Debug not yet implemented")`, loc(file, modeNo, modeLine.indexOf("debug") + 1));

  const profile: [string, JNode][] = [];
  const bareNumbers: { nr: number; line: number }[] = [];
  const entries: JNode[] = [];

  if (version === 1) {
    if (!modeLine.includes("allowlist")) {
      if (modeLine.includes("whitelist")) {
        warnings.push({ message: `version 1 with "whitelist": LXC since the allowlist rename looks for "allowlist" and refuses this file; read as an allowlist, as older LXC did`, source: { file, line: modeNo } });
      } else {
        throw new InputError(`a version 1 policy must say "allowlist" (version 1 has no denylist)`, loc(file, modeNo, 1));
      }
    }
    profile.push(["defaultAction", N.str("SCMP_ACT_KILL", modeNo, 1, modeLine.trim())]);
    for (let k = i + 1; k < lines.length; k++) {
      const raw = lines[k];
      if (k === lines.length - 1 && raw === "") break; // the newline that ends the file
      const m = /^\s*([+-]?\d+)(.*)$/.exec(raw);
      if (!m) throw new InputError(`version 1 lines are syscall numbers; LXC stops with an error at ${JSON.stringify(raw.trim())}`, loc(file, k + 1, 1));
      if (m[2].trim() !== "") warnings.push({ message: `LXC reads only the number ${m[1]} of this line`, source: { file, line: k + 1 } });
      const nr = Number(m[1]);
      if (!Number.isSafeInteger(nr) || nr < 0 || nr > 0xffffffff) throw new InputError(`${m[1]} is not a syscall number`, loc(file, k + 1, 1));
      const name = syscallName(native, nr);
      if (name === undefined) {
        // libseccomp takes a native number as it is, named or not: the rule is kept by number.
        bareNumbers.push({ nr, line: k + 1 });
        continue;
      }
      const label = raw.trim();
      entries.push(N.obj([["names", N.arr([N.str(name, k + 1, 1, label)], k + 1, 1, label)], ["action", N.str("SCMP_ACT_ALLOW", k + 1, 1, label)]], k + 1, 1, label));
    }
  } else {
    const mm = /^(allowlist|whitelist|denylist|blacklist)/.exec(modeLine);
    if (!mm) throw new InputError(`bad policy style ${JSON.stringify(modeLine.trim())}: expected allowlist or denylist (or the old whitelist/blacklist)`, loc(file, modeNo, 1));
    const deny = mm[1] === "denylist" || mm[1] === "blacklist";
    const sp = modeLine.indexOf(" ");
    const def = sp >= 0 ? parseAction(modeLine.slice(sp + 1), file, modeNo, sp + 2, warnings) : undefined;
    const defaultAction: LxcAction = def ?? (deny ? { oci: "SCMP_ACT_ALLOW", key: "SCMP_ACT_ALLOW" } : { oci: "SCMP_ACT_KILL", key: "SCMP_ACT_KILL" });
    const ruleDefault: LxcAction = deny ? { oci: "SCMP_ACT_KILL", key: "SCMP_ACT_KILL" } : { oci: "SCMP_ACT_ALLOW", key: "SCMP_ACT_ALLOW" };
    profile.push(["defaultAction", N.str(defaultAction.oci, modeNo, 1, modeLine.trim())]);
    if (defaultAction.errno !== undefined) profile.push(["defaultErrnoRet", N.num(BigInt(defaultAction.errno), modeNo, 1, modeLine.trim())]);
    const compat = (COMPAT[native.name] ?? []).map((n) => findArch(n)!).filter(Boolean);
    profile.push(["architectures", N.arr(compat.map((a) => N.str(`SCMP_ARCH_${a.name.toUpperCase()}`, modeNo, 1, modeLine.trim())), modeNo, 1, modeLine.trim())]);
    const hostKnown = LXC_HOSTS.includes(native.name);
    if (!hostKnown) {
      warnings.push({ message: `LXC does not know ${native.name} as a host arch: only the rules of [all] sections are read, as LXC does` });
    }
    let reading = hostKnown;
    for (let k = i + 1; k < lines.length; k++) {
      const raw = lines[k].replace(/\n$/, "");
      const lineNo = k + 1;
      if (raw === "" || raw[0] === "#") continue;
      if (raw[0] === "[") {
        // Exact text, lower or upper case as LXC compares it; anything else stops LXC.
        const name = /^\[([A-Za-z0-9_]+)\]$/.exec(raw)?.[1];
        const key = name && (name === name.toLowerCase() || name === name.toUpperCase()) ? name.toLowerCase() : undefined;
        const on = key === undefined ? undefined : SECTIONS[key];
        if (on === undefined) {
          throw new InputError(`unsupported architecture section ${JSON.stringify(raw)} (LXC stops here; known: ${Object.keys(SECTIONS).map((s) => `[${s}]`).join(" ")})`, loc(file, lineNo, 1));
        }
        reading = on === "all" || on.includes(native.name);
        continue;
      }
      if (!reading) continue;
      if (raw[0] === " " || raw[0] === "\t") {
        if (raw.trim() !== "" && !raw.trim().startsWith("#")) {
          warnings.push({ message: `LXC ignores this line: it starts with white space, so its syscall name is empty`, source: { file, line: lineNo } });
        }
        continue;
      }
      const sp2 = raw.indexOf(" ");
      const name = sp2 < 0 ? raw : raw.slice(0, sp2);
      const after = sp2 < 0 ? "" : raw.slice(sp2 + 1);
      const label = raw.trim();
      // get_v2_action: the action follows the name; nothing or a comment means the mode's rule action.
      const afterTrim = after.replace(/^ +/, "");
      let action = ruleDefault;
      let argsText = "";
      let argsCol = 0;
      if (afterTrim !== "" && afterTrim[0] !== "#") {
        action = parseAction(after, file, lineNo, sp2 + 2, warnings) ?? ruleDefault;
      }
      const open = raw.indexOf("[");
      if (open >= 0) {
        argsText = raw.slice(open);
        argsCol = open + 1;
      }
      // strtok_r(line, "]"): every "]"-separated token must hold one "[...]" rule; at most 6 are read.
      const args: LxcArg[] = [];
      if (argsText !== "") {
        let pos = 0;
        const tokens: { text: string; col: number }[] = [];
        const src = raw;
        let start = 0;
        for (pos = 0; pos <= src.length; pos++) {
          if (pos === src.length || src[pos] === "]") {
            if (pos > start) tokens.push({ text: src.slice(start, pos), col: start + 1 });
            start = pos + 1;
          }
        }
        if (tokens.length > 6) {
          warnings.push({ message: `LXC reads the first 6 argument rules of a line and ignores the other ${tokens.length - 6}`, source: { file, line: lineNo } });
        }
        for (const t of tokens.slice(0, 6)) args.push(parseArg(t.text, t.col, file, lineNo, warnings));
        const seen = new Set<number>();
        for (const a of args) {
          if (seen.has(a.index)) {
            throw new InputError(`two rules on argument ${a.index} in one line: libseccomp refuses a second comparison of one argument, so LXC fails to load the policy`, loc(file, lineNo, a.col));
          }
          seen.add(a.index);
        }
      }
      if (name.startsWith("reject_force_umount")) {
        if (afterTrim !== "" && afterTrim[0] !== "#") warnings.push({ message: `reject_force_umount takes no action or arguments; LXC ignores them`, source: { file, line: lineNo } });
        action = { oci: "SCMP_ACT_ERRNO", errno: EACCES, key: `SCMP_ACT_ERRNO(${EACCES})` };
        args.length = 0;
        args.push({ index: 1, value: MNT_FORCE, mask: MNT_FORCE, op: "SCMP_CMP_MASKED_EQ", col: 1 });
      }
      if (action.key === defaultAction.key) {
        throw new InputError(
          `the rule's action ${action.key} is the policy's default: libseccomp refuses such a rule (EACCES), so LXC fails to load the policy`,
          loc(file, lineNo, 1),
        );
      }
      const sysName = name.startsWith("reject_force_umount") ? "umount2" : name;
      const fields: [string, JNode][] = [
        ["names", N.arr([N.str(sysName, lineNo, 1, label)], lineNo, 1, label)],
        ["action", N.str(action.oci, lineNo, sp2 + 2, label)],
      ];
      if (action.errno !== undefined) fields.push(["errnoRet", N.num(BigInt(action.errno), lineNo, sp2 + 2, label)]);
      if (args.length) {
        fields.push(["args", N.arr(args.map((a) => N.obj([
          ["index", N.num(BigInt(a.index), lineNo, a.col, label)],
          // LXC builds SCMP_CMP(index, MASKED_EQ, mask, value): (arg & mask) == value; OCI's
          // MASKED_EQ is (arg & value) == valueTwo.
          ["value", N.num(a.op === "SCMP_CMP_MASKED_EQ" ? a.mask : a.value, lineNo, a.col, label)],
          ["valueTwo", N.num(a.op === "SCMP_CMP_MASKED_EQ" ? a.value : 0n, lineNo, a.col, label)],
          ["op", N.str(a.op, lineNo, a.col, label)],
        ], lineNo, a.col, label)), lineNo, argsCol, label)]);
      }
      entries.push(N.obj(fields, lineNo, 1, label));
    }
  }
  profile.push(["syscalls", N.arr(entries, 1, 1, "syscalls")]);
  const root = N.obj(profile, 1, 1, "policy");
  const doc: JsonDocument = { file, root, duplicates: [] };
  const r = ociFromObject(doc, root, { arch: native, kernel: "6.0", name: lxcPolicyName(file) });
  if (bareNumbers.length) addBareNumbers(r, native, bareNumbers, file, warnings);
  return { ...r, warnings: [...warnings, ...r.warnings] };
}

/** Version 1 numbers no syscall table here names: allowed by number, as libseccomp does. */
function addBareNumbers(r: OciResult, native: ArchInfo, nrs: { nr: number; line: number }[], file: string, warnings: PolicyWarning[]): void {
  const sec = r.policy.arches.find((a) => a.arch.name === native.name)!;
  const have = new Set(sec.syscalls.map((s) => s.nr >>> 0));
  for (const { nr, line } of nrs) {
    if (have.has(nr)) continue;
    have.add(nr);
    sec.syscalls.push({ nr, name: String(nr), rules: [{ conditions: [], action: Action.ALLOW, source: { file, line } }] });
  }
  sec.syscalls.sort((a, b) => (a.nr >>> 0) - (b.nr >>> 0));
  const shown = nrs.slice(0, 5).map((n) => n.nr).join(", ");
  warnings.push({
    message: `${nrs.length} number${nrs.length === 1 ? " is" : "s are"} no ${native.name} syscall sysfence knows (${shown}${nrs.length > 5 ? ", …" : ""}); ` +
      `allowed by number, as libseccomp adds them`,
    source: { file, line: nrs[0].line },
  });
}

/** "common" for ".../common.seccomp". */
export function lxcPolicyName(file: string): string {
  const b = file.split("/").pop() ?? file;
  return b.replace(/\.(seccomp|conf)$/i, "") || file;
}
