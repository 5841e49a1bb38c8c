// What the C reader knows without seeing any #include: the BPF and seccomp uapi constants,
// errno-base names, AUDIT_ARCH tokens, struct seccomp_data offsets and the compiler's
// predefined arch macros. Every table is own-property only (`ownTable`): a name read from a C
// file such as `constructor` or `toString` is unknown, never a property of Object.prototype.
import * as C from "../../engine/contract.generated.js";
import { ownTable } from "../../tables.js";
import { ARCHES, AUDIT_ARCH_64BIT, AUDIT_ARCH_LE, AUDIT_ARCH_CONVENTION_MIPS64_N32 } from "../../syscalls/arches.js";
import { ERRNO_BASE } from "../../syscalls/errno.js";


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
  BPF_MAXINSNS: C.BPF_MAXINSNS, BPF_MEMWORDS: C.BPF_MEMWORDS,
  // seccomp actions (uapi/linux/seccomp.h)
  SECCOMP_RET_KILL_PROCESS: C.ACT_KILL_PROCESS, SECCOMP_RET_KILL_THREAD: C.ACT_KILL_THREAD,
  SECCOMP_RET_KILL: C.ACT_KILL_THREAD, SECCOMP_RET_TRAP: C.ACT_TRAP, SECCOMP_RET_ERRNO: C.ACT_ERRNO,
  SECCOMP_RET_USER_NOTIF: C.ACT_USER_NOTIF, SECCOMP_RET_TRACE: C.ACT_TRACE, SECCOMP_RET_LOG: C.ACT_LOG,
  SECCOMP_RET_ALLOW: C.ACT_ALLOW, SECCOMP_RET_ACTION_FULL: C.RET_ACTION_FULL,
  SECCOMP_RET_ACTION: 0x7fff0000, // the pre-4.14 mask: no contract constant, the engine never uses it
  SECCOMP_RET_DATA: C.RET_DATA,
  // audit arch flag bits and the x32 bit
  __AUDIT_ARCH_64BIT: AUDIT_ARCH_64BIT, __AUDIT_ARCH_LE: AUDIT_ARCH_LE,
  __AUDIT_ARCH_CONVENTION_MIPS64_N32: AUDIT_ARCH_CONVENTION_MIPS64_N32, __X32_SYSCALL_BIT: C.X32_SYSCALL_BIT,
  // AUDIT_ARCH_* values docs/kernel.md section 13 lists beyond the ABIs of ARCHES.
  AUDIT_ARCH_ARMEB: 0x00000028, AUDIT_ARCH_RISCV32: 0x400000f3, AUDIT_ARCH_LOONGARCH32: 0x40000102,
  AUDIT_ARCH_SPARC: 0x00000002, AUDIT_ARCH_SPARC64: 0x8000002b, AUDIT_ARCH_CSKY: 0x400000fc,
};
/** The constants, the errno-base names (src/syscalls/errno.ts) and every ABI's AUDIT_ARCH_* token. */
export const BPF_CONSTANTS: Readonly<Record<string, number>> = ownTable({
  ...BPF_LITERALS,
  ...ERRNO_BASE,
  ...Object.fromEntries(ARCHES.map((a) => [a.tokenName, a.token])),
});

/** ENOSYS is not in errno-base.h and differs by ABI (src/syscalls/errno.ts). */
export { enosys } from "../../syscalls/errno.js";

/** struct seccomp_data field offsets (docs/kernel.md section 2). */
export const SECCOMP_DATA_FIELDS: Readonly<Record<string, number>> = ownTable({ nr: C.OFF_NR, arch: C.OFF_ARCH, instruction_pointer: 8 });

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

