// What the C reader knows without seeing any #include: the BPF and seccomp uapi constants,
// errno-base names, AUDIT_ARCH tokens, struct seccomp_data offsets and the compiler's
// predefined arch macros. Every table is own-property only (`ownTable`): a name read from a C
// file such as `constructor` or `toString` is unknown, never a property of Object.prototype.
import { ownTable } from "../../tables.js";
import { ARCHES, type ArchInfo } from "../../syscalls/arches.js";


const BPF_LITERALS: Record<string, number> = {
  // classes
  BPF_LD: 0x00, BPF_LDX: 0x01, BPF_ST: 0x02, BPF_STX: 0x03, BPF_ALU: 0x04, BPF_JMP: 0x05,
  BPF_RET: 0x06, BPF_MISC: 0x07,
  // sizes and modes
  BPF_W: 0x00, BPF_H: 0x08, BPF_B: 0x10,
  BPF_IMM: 0x00, BPF_ABS: 0x20, BPF_IND: 0x40, BPF_MEM: 0x60, BPF_LEN: 0x80, BPF_MSH: 0xa0,
  // ALU and jump ops, sources
  BPF_ADD: 0x00, BPF_SUB: 0x10, BPF_MUL: 0x20, BPF_DIV: 0x30, BPF_OR: 0x40, BPF_AND: 0x50,
  BPF_LSH: 0x60, BPF_RSH: 0x70, BPF_NEG: 0x80, BPF_MOD: 0x90, BPF_XOR: 0xa0,
  BPF_JA: 0x00, BPF_JEQ: 0x10, BPF_JGT: 0x20, BPF_JGE: 0x30, BPF_JSET: 0x40,
  BPF_K: 0x00, BPF_X: 0x08, BPF_A: 0x10,
  BPF_TAX: 0x00, BPF_TXA: 0x80,
  BPF_MAXINSNS: 4096, BPF_MEMWORDS: 16,
  // seccomp actions (uapi/linux/seccomp.h)
  SECCOMP_RET_KILL_PROCESS: 0x80000000, SECCOMP_RET_KILL_THREAD: 0x00000000,
  SECCOMP_RET_KILL: 0x00000000, SECCOMP_RET_TRAP: 0x00030000, SECCOMP_RET_ERRNO: 0x00050000,
  SECCOMP_RET_USER_NOTIF: 0x7fc00000, SECCOMP_RET_TRACE: 0x7ff00000, SECCOMP_RET_LOG: 0x7ffc0000,
  SECCOMP_RET_ALLOW: 0x7fff0000, SECCOMP_RET_ACTION_FULL: 0xffff0000,
  SECCOMP_RET_ACTION: 0x7fff0000, SECCOMP_RET_DATA: 0x0000ffff,
  // audit arch flag bits and the x32 bit
  __AUDIT_ARCH_64BIT: 0x80000000, __AUDIT_ARCH_LE: 0x40000000,
  __AUDIT_ARCH_CONVENTION_MIPS64_N32: 0x20000000, __X32_SYSCALL_BIT: 0x40000000,
  // AUDIT_ARCH_* values docs/kernel.md section 13 lists beyond the ABIs of ARCHES.
  AUDIT_ARCH_ARMEB: 0x00000028, AUDIT_ARCH_RISCV32: 0x400000f3, AUDIT_ARCH_LOONGARCH32: 0x40000102,
  AUDIT_ARCH_SPARC: 0x00000002, AUDIT_ARCH_SPARC64: 0x8000002b, AUDIT_ARCH_CSKY: 0x400000fc,
  // errno-base.h: the same numbers on every Linux ABI.
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16,
  EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23,
  EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30,
  EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34,
};
/** The constants plus every ABI's AUDIT_ARCH_* token. */
export const BPF_CONSTANTS: Readonly<Record<string, number>> = ownTable({
  ...BPF_LITERALS,
  ...Object.fromEntries(ARCHES.map((a) => [a.tokenName, a.token])),
});

/** ENOSYS is not in errno-base.h and differs by ABI: 38 generic, 89 MIPS, 251 PA-RISC. */
export function enosys(arch?: ArchInfo): number {
  if (arch?.table.startsWith("mips")) return 89;
  if (arch?.table.startsWith("parisc")) return 251;
  return 38;
}

/** struct seccomp_data field offsets (docs/kernel.md section 2). */
export const SECCOMP_DATA_FIELDS: Readonly<Record<string, number>> = ownTable({ nr: 0, arch: 4, instruction_pointer: 8 });

/** Compiler-predefined macros per ABI, so `#if defined(__x86_64__)` picks the right branch. */
export const PREDEFINED: Readonly<Record<string, string[]>> = ownTable({
  x86_64: ["__x86_64__", "__x86_64", "__amd64__", "__amd64", "__LP64__"],
  x86: ["__i386__", "__i386", "i386"],
  x32: ["__x86_64__", "__x86_64", "__ILP32__"],
  aarch64: ["__aarch64__", "__LP64__"],
  arm: ["__arm__"],
  riscv64: ["__riscv", "__LP64__"],
  loongarch64: ["__loongarch__", "__loongarch64", "__LP64__"],
  s390x: ["__s390x__", "__s390__", "__LP64__"],
  s390: ["__s390__"],
  ppc64le: ["__powerpc64__", "__powerpc__", "__PPC64__", "__PPC__", "__LP64__"],
  ppc64: ["__powerpc64__", "__powerpc__", "__PPC64__", "__PPC__", "__LP64__"],
  ppc: ["__powerpc__", "__PPC__"],
  mips: ["__mips__", "__mips", "_MIPS_SIM"],
  mipsel: ["__mips__", "__mips", "_MIPS_SIM"],
  mips64: ["__mips__", "__mips", "__mips64", "__LP64__"],
  mipsel64: ["__mips__", "__mips", "__mips64", "__LP64__"],
  mips64n32: ["__mips__", "__mips", "__mips64"],
  mipsel64n32: ["__mips__", "__mips", "__mips64"],
  parisc: ["__hppa__"],
  parisc64: ["__hppa__", "__LP64__"],
  m68k: ["__m68k__"],
  sh: ["__sh__"],
  sheb: ["__sh__"],
});

