// Syscall names and numbers per ABI, and the ABI lookups the rest of sysfence uses.
//
// Two kinds of number meet here, and mixing them up is the classic seccomp bug:
//   - the TABLE number (what the generated tables and libseccomp's CSV hold), and
//   - the seccomp_data.nr value a filter sees = table number + ArchInfo.nrBase
//     (x32: | 0x40000000; MIPS o32/n64/n32: + 4000/5000/6000).
// Every function below that takes or returns a number means the seccomp_data.nr value, except
// `syscallCount`, which sizes a table and so counts table numbers.
import { UnknownArchError, UnknownSyscallError } from "../errors.js";
import { ARCHES, archesByToken, findArch, type ArchInfo } from "./arches.js";
import { SYSCALL_TABLES } from "./tables.generated.js";

export * from "./arches.js";

/** Where ARM's private calls start (`__ARM_NR_BASE`); they sit outside the kernel's table. */
const ARM_PRIVATE_BASE = 0x0f0000;

interface Table {
  /** name -> table number (lowest number when a name has several; see the generated header). */
  byName: Map<string, number>;
  /** table number -> name (alphabetically first when a number has several). */
  byNr: Map<number, string>;
  /** Names in table order (by number, then name). */
  names: string[];
  count: number;
}

const cache = new Map<string, Table>();

/** Parses a generated table on first use: most runs touch one or two ABIs, not eighteen. */
function table(arch: ArchInfo): Table {
  let t = cache.get(arch.table);
  if (t) return t;
  const src = SYSCALL_TABLES[arch.table];
  if (src === undefined) throw new UnknownArchError(`${arch.name} (no syscall table "${arch.table}")`);
  const parts = src.split(" ");
  const byName = new Map<string, number>();
  const byNr = new Map<number, string>();
  const names: string[] = [];
  let max = -1;
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const nr = Number(parts[i]);
    const name = parts[i + 1];
    // The generated string is sorted by (nr, name): first seen = lowest number / first name.
    if (!byName.has(name)) {
      byName.set(name, nr);
      names.push(name);
    }
    if (!byNr.has(nr)) byNr.set(nr, name);
    if (nr < ARM_PRIVATE_BASE && nr > max) max = nr;
  }
  t = { byName, byNr, names, count: max + 1 };
  cache.set(arch.table, t);
  return t;
}

/** An ABI given as its ArchInfo, a name/alias, or an AUDIT_ARCH token. */
export type ArchLike = ArchInfo | string | number;

function parseUint32(text: string): number | undefined {
  const s = text.trim();
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^[0-9]+$/.test(s)) v = parseInt(s, 10);
  else return undefined;
  return v <= 0xffffffff ? v : undefined;
}

/**
 * The ABI for a name, an alias, a kernel constant name (`AUDIT_ARCH_X86_64`) or an AUDIT_ARCH
 * token (number, or text such as "0xc000003e"). A token shared by several ABIs resolves to the
 * first in ARCHES order, so AUDIT_ARCH_X86_64 gives x86_64, not x32: x32 is only distinguishable
 * by the nr bit, which a token alone does not carry.
 */
export function resolveArch(nameOrToken: ArchLike, where?: string): ArchInfo {
  if (typeof nameOrToken === "object" && nameOrToken !== null) {
    // An ArchInfo from ARCHES, or a copy of one (e.g. through JSON): the table's own entry.
    if (ARCHES.includes(nameOrToken)) return nameOrToken;
    const same = ARCHES.find((a) => a.name === (nameOrToken as { name?: unknown }).name);
    if (same) return same;
    throw new UnknownArchError(String((nameOrToken as { name?: unknown }).name ?? "(not an arch)"), where);
  }
  if (typeof nameOrToken !== "number" && typeof nameOrToken !== "string") {
    throw new UnknownArchError(String(nameOrToken), where);
  }
  if (typeof nameOrToken === "number") {
    const hit = Number.isInteger(nameOrToken) ? archesByToken(nameOrToken)[0] : undefined;
    if (!hit) throw new UnknownArchError("0x" + (nameOrToken >>> 0).toString(16).padStart(8, "0"), where);
    return hit;
  }
  const byName = findArch(nameOrToken.trim());
  if (byName) return byName;
  const upper = nameOrToken.trim().toUpperCase();
  const byConst = ARCHES.find((a) => a.tokenName === upper);
  if (byConst) return byConst;
  const token = parseUint32(nameOrToken);
  const byToken = token === undefined ? undefined : archesByToken(token)[0];
  if (byToken) return byToken;
  throw new UnknownArchError(nameOrToken, where);
}

/** seccomp_data.nr of `name` on `arch` (nrBase included); undefined when the ABI lacks it. */
export function syscallNumber(arch: ArchLike, name: string): number | undefined {
  const a = resolveArch(arch);
  const nr = table(a).byName.get(name);
  return nr === undefined ? undefined : nr + a.nrBase;
}

/**
 * The name for a seccomp_data.nr value. The value must carry the ABI's base: on x32, 0 is not
 * `read` (that is x86_64's read reaching an x32 lookup), 0x40000000 is; on MIPS o32, 3 is
 * nothing and 4003 is `read`.
 */
export function syscallName(arch: ArchLike, nr: number): string | undefined {
  const a = resolveArch(arch);
  if (!Number.isInteger(nr)) return undefined;
  const n = (nr >>> 0) - a.nrBase;
  if (n < 0) return undefined;
  return table(a).byNr.get(n);
}

/**
 * Turns user text into a seccomp_data.nr value: a syscall name of `arch`, or a number (decimal,
 * or 0x hex) taken as-is, without adding nrBase, so that odd values such as x32's
 * 0x40000208 or -1 (the tracer's "skip") can be given exactly. A negative decimal is taken as
 * a 32-bit int and returned in its unsigned form (-1 -> 0xffffffff), which is what the filter's
 * 32-bit loads and compares see.
 */
export function resolveSyscall(arch: ArchLike, text: string, where?: string): number {
  const a = resolveArch(arch, where);
  const s = text.trim();
  const u = parseUint32(s);
  if (u !== undefined) return u;
  if (/^-[0-9]+$/.test(s)) {
    const v = parseInt(s, 10);
    if (v >= -0x80000000) return v >>> 0;
  }
  const nr = syscallNumber(a, s) ?? syscallNumber(a, s.toLowerCase());
  if (nr === undefined) throw new UnknownSyscallError(text, a.name, where);
  return nr;
}

/** Every syscall name of the ABI, in table order (by number). A fresh array. */
export function syscallNames(arch: ArchLike): string[] {
  return [...table(resolveArch(arch)).names];
}

/**
 * Highest table number + 1: about the kernel's NR_syscalls, i.e. the size of the action cache's
 * bitmap for this ABI, and the range a scan over "every syscall number" should cover. Counted
 * in table numbers (no nrBase). ARM's private calls (0x0f0000 + n) are left out: the kernel
 * dispatches them outside its table, so counting them would inflate the range 2000-fold.
 */
export function syscallCount(arch: ArchLike): number {
  return table(resolveArch(arch)).count;
}
