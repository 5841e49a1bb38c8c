// minijail's constants.json: the table its build generates per arch from the C headers
// (`{"arch_nr": AUDIT_ARCH token, "arch_name": "x86_64", "bits": 64, "syscalls": {name: nr},
// "constants": {NAME: value}, "syscall_groups"?: {namespace: {group: [names]}}}`). Numbers are
// read exactly (a 64-bit constant never passes through a JS number).
import { isLosslessNumber, parse } from "lossless-json";
import { InputError } from "../../errors.js";
import { statSync } from "node:fs";
import { readBoundedText, SIZE_LIMITS } from "../../read.js";

export interface MinijailConstants {
  file: string;
  archToken?: number;
  archName?: string;
  bits?: number;
  syscalls: Map<string, number>;
  values: Map<string, bigint>;
  groups?: Map<string, Map<string, string[]>>;
}

/**
 * The last constants file read, by path and (inode, size, mtime): every policy of a folder names
 * the same 60 KB file, whose exact (lossless) parse cost more than reading the policy itself.
 * The tables are never changed once read, so one copy serves every caller.
 */
let lastRead: { file: string; stamp: string; constants: MinijailConstants } | undefined;

export function readConstants(file: string): MinijailConstants {
  let stamp: string | undefined;
  try {
    const st = statSync(file);
    if (st.isFile()) stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    // readBoundedText below names the problem
  }
  if (stamp !== undefined && lastRead?.file === file && lastRead.stamp === stamp) return lastRead.constants;
  const constants = readConstantsText(readBoundedText(file, SIZE_LIMITS.policy, "a constants file"), file);
  if (stamp !== undefined) lastRead = { file, stamp, constants };
  return constants;
}

function readConstantsText(text: string, file: string): MinijailConstants {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new InputError(`not minijail's constants.json: invalid JSON (${(e as Error).message})`, file);
  }
  const fail = (why: string): never => {
    throw new InputError(`not minijail's constants.json: ${why}`, file);
  };
  if (!isObject(doc)) return fail("expected an object");
  const int = (v: unknown, what: string): bigint => {
    if (!isLosslessNumber(v) || !/^-?\d+$/.test(v.toString())) return fail(`${what} is not an integer`);
    return BigInt(v.toString());
  };
  const out: MinijailConstants = { file, syscalls: new Map(), values: new Map() };
  if (doc.arch_nr !== undefined) out.archToken = Number(BigInt.asUintN(32, int(doc.arch_nr, "arch_nr")));
  if (typeof doc.arch_name === "string") out.archName = doc.arch_name;
  if (doc.bits !== undefined) out.bits = Number(int(doc.bits, "bits"));
  if (doc.constants !== undefined) {
    if (!isObject(doc.constants)) return fail(`"constants" is not an object`);
    for (const [k, v] of Object.entries(doc.constants)) out.values.set(k, int(v, `constant ${k}`));
  }
  if (doc.syscalls !== undefined) {
    if (!isObject(doc.syscalls)) return fail(`"syscalls" is not an object`);
    for (const [k, v] of Object.entries(doc.syscalls)) out.syscalls.set(k, Number(int(v, `syscall ${k}`)));
  }
  if (doc.syscall_groups !== undefined) {
    if (!isObject(doc.syscall_groups)) return fail(`"syscall_groups" is not an object`);
    out.groups = new Map();
    for (const [ns, groups] of Object.entries(doc.syscall_groups)) {
      if (!isObject(groups)) return fail(`syscall group namespace ${ns} is not an object`);
      const m = new Map<string, string[]>();
      for (const [g, names] of Object.entries(groups)) {
        if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) return fail(`syscall group ${g}@${ns} is not a list of names`);
        m.set(g, names as string[]);
      }
      out.groups.set(ns, m);
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}
