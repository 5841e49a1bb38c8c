// Kernel ABIs that sysfence knows: their AUDIT_ARCH token, byte order, word size, and how their
// syscall numbers are formed. Facts from docs/kernel.md sections 13-14. The tokens are
// derived from the ELF machine number and the flag bits, never copied from third-party headers
// (s390x is big-endian: 0x80000016, not 0xc0000016).

import { X32_SYSCALL_BIT } from "../engine/contract.generated.js";

/** The flag bits of an AUDIT_ARCH token (uapi/linux/audit.h): 64-bit ABI. */
export const AUDIT_ARCH_64BIT = 0x80000000;
/** Little-endian ABI: the token says the byte order seccomp_data's 64-bit fields are stored in. */
export const AUDIT_ARCH_LE = 0x40000000;
/** MIPS n32 (a 64-bit machine with 32-bit pointers). */
export const AUDIT_ARCH_CONVENTION_MIPS64_N32 = 0x20000000;

export type Endian = "le" | "be";

export interface ArchInfo {
  /** sysfence's name for the ABI (libseccomp's spelling). */
  readonly name: string;
  /** Other names accepted on input (`i386` for `x86`, `arm64` for `aarch64`, …). */
  readonly aliases: readonly string[];
  /** The AUDIT_ARCH_* value the kernel puts in seccomp_data.arch. */
  readonly token: number;
  /** The kernel constant's name, used by the disassembler. */
  readonly tokenName: string;
  readonly endian: Endian;
  readonly bits: 32 | 64;
  /** Added to a table number to get seccomp_data.nr (x32's bit, MIPS o32/n64/n32 bases). */
  readonly nrBase: number;
  /** Which syscall table (src/syscalls/tables.generated.ts key) the ABI uses. */
  readonly table: string;
}

function token(machine: number, bits: 32 | 64, endian: Endian, n32 = false): number {
  let t = machine;
  if (bits === 64) t |= AUDIT_ARCH_64BIT;
  if (endian === "le") t |= AUDIT_ARCH_LE;
  if (n32) t |= AUDIT_ARCH_CONVENTION_MIPS64_N32;
  return t >>> 0;
}

// ELF machine numbers.
const EM_386 = 3, EM_68K = 4, EM_MIPS = 8, EM_PARISC = 15, EM_PPC = 20, EM_PPC64 = 21,
  EM_S390 = 22, EM_ARM = 40, EM_SH = 42, EM_X86_64 = 62, EM_AARCH64 = 183, EM_RISCV = 243,
  EM_LOONGARCH = 258;

function arch(
  name: string, aliases: string[], machine: number, bits: 32 | 64, endian: Endian,
  tokenName: string, table: string, nrBase = 0, n32 = false,
): ArchInfo {
  return Object.freeze({
    name, aliases: Object.freeze(aliases), token: token(machine, bits, endian, n32), tokenName,
    endian, bits, nrBase, table,
  });
}

/** Every ABI, in a stable order (the order used in reports). */
export const ARCHES: readonly ArchInfo[] = Object.freeze([
  arch("x86_64", ["amd64", "x86-64"], EM_X86_64, 64, "le", "AUDIT_ARCH_X86_64", "x86_64"),
  arch("x86", ["i386", "i686", "ia32"], EM_386, 32, "le", "AUDIT_ARCH_I386", "x86"),
  // x32 has no token of its own: AUDIT_ARCH_X86_64 with nr | 0x40000000.
  arch("x32", [], EM_X86_64, 64, "le", "AUDIT_ARCH_X86_64", "x32", X32_SYSCALL_BIT),
  arch("aarch64", ["arm64"], EM_AARCH64, 64, "le", "AUDIT_ARCH_AARCH64", "aarch64"),
  arch("arm", ["armhf", "armel"], EM_ARM, 32, "le", "AUDIT_ARCH_ARM", "arm"),
  arch("riscv64", [], EM_RISCV, 64, "le", "AUDIT_ARCH_RISCV64", "riscv64"),
  arch("loongarch64", [], EM_LOONGARCH, 64, "le", "AUDIT_ARCH_LOONGARCH64", "loongarch64"),
  arch("s390x", [], EM_S390, 64, "be", "AUDIT_ARCH_S390X", "s390x"),
  arch("s390", [], EM_S390, 32, "be", "AUDIT_ARCH_S390", "s390"),
  arch("ppc64le", [], EM_PPC64, 64, "le", "AUDIT_ARCH_PPC64LE", "ppc64"),
  arch("ppc64", [], EM_PPC64, 64, "be", "AUDIT_ARCH_PPC64", "ppc64"),
  arch("ppc", ["powerpc"], EM_PPC, 32, "be", "AUDIT_ARCH_PPC", "ppc"),
  arch("mips", [], EM_MIPS, 32, "be", "AUDIT_ARCH_MIPS", "mips", 4000),
  arch("mipsel", [], EM_MIPS, 32, "le", "AUDIT_ARCH_MIPSEL", "mips", 4000),
  arch("mips64", [], EM_MIPS, 64, "be", "AUDIT_ARCH_MIPS64", "mips64", 5000),
  arch("mipsel64", [], EM_MIPS, 64, "le", "AUDIT_ARCH_MIPSEL64", "mips64", 5000),
  arch("mips64n32", [], EM_MIPS, 64, "be", "AUDIT_ARCH_MIPS64N32", "mips64n32", 6000, true),
  arch("mipsel64n32", [], EM_MIPS, 64, "le", "AUDIT_ARCH_MIPSEL64N32", "mips64n32", 6000, true),
  arch("parisc", [], EM_PARISC, 32, "be", "AUDIT_ARCH_PARISC", "parisc"),
  arch("parisc64", [], EM_PARISC, 64, "be", "AUDIT_ARCH_PARISC64", "parisc64"),
  arch("m68k", [], EM_68K, 32, "be", "AUDIT_ARCH_M68K", "m68k"),
  arch("sh", ["shel"], EM_SH, 32, "le", "AUDIT_ARCH_SHEL", "sh"),
  arch("sheb", [], EM_SH, 32, "be", "AUDIT_ARCH_SH", "sh"),
]);

const byName = new Map<string, ArchInfo>();
for (const a of ARCHES) {
  byName.set(a.name, a);
  for (const al of a.aliases) byName.set(al, a);
}

/** Looks up an ABI by name or alias (case-insensitive); undefined when unknown. */
export function findArch(name: string): ArchInfo | undefined {
  return byName.get(name.toLowerCase());
}

/**
 * ABIs that put `token` in seccomp_data.arch. Usually one; AUDIT_ARCH_X86_64 is shared by
 * x86_64 and x32 (x32 is told apart by the 0x40000000 bit of nr).
 */
export function archesByToken(token: number): ArchInfo[] {
  return ARCHES.filter((a) => a.token === token >>> 0);
}

/** The ABI of the machine sysfence runs on (for defaults such as `--arch`). */
export function hostArch(): ArchInfo {
  const map: Record<string, string> = {
    x64: "x86_64", ia32: "x86", arm64: "aarch64", arm: "arm", riscv64: "riscv64",
    s390x: "s390x", ppc64: process.platform === "aix" ? "ppc64" : "ppc64le",
    loong64: "loongarch64", mips: "mips", mipsel: "mipsel",
  };
  return findArch(map[process.arch] ?? "x86_64")!;
}
