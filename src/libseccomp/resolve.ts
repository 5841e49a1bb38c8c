// Syscall-name resolution as libseccomp's `scmp_sys_resolver -a ARCH -t NAME` does it (the call
// the regression script makes for a bpf-sim row that names a syscall): the arch's name lookup,
// then `arch_syscall_rewrite`. docs/formats.md sections 4.5, 4.6 and 9.
//
//   - On the arches that multiplex socket and IPC calls (x86, s390, s390x, ppc, ppc64, ppc64le,
//     mips o32, sh, m68k), every socket-family and IPC-family name resolves to its pseudo number
//     (socket -101 … sendmmsg -120, semop -201 … shmctl -224) even when the arch also has a
//     direct syscall for it, and the rewrite turns the pseudo number into `socketcall` or `ipc`.
//     So `socket` on x86 resolves to 102, not 359; the call number (`a0`) is the row's to give.
//   - Other names are looked up in the arch's table and get the arch's number base: x32's
//     0x40000000 bit, MIPS +4000/+5000/+6000.
//   - A name the arch's table lacks resolves, in libseccomp, to a negative pseudo number from
//     its headers, which the corpus does not carry: such rows are reported unresolved.
import type { ArchInfo } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";
import type { Resolution, SyscallResolver } from "./tests-format.js";

/** Socket-family calls, in pseudo-number order: `socket` is -101, `sendmmsg` -120. */
export const SOCKET_CALLS: readonly string[] = Object.freeze([
  "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername", "socketpair",
  "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt", "sendmsg",
  "recvmsg", "accept4", "recvmmsg", "sendmmsg",
]);

/** IPC-family calls and their pseudo numbers (-200 - call number). */
export const IPC_CALLS: Readonly<Record<string, number>> = Object.freeze({
  semop: 1, semget: 2, semctl: 3, semtimedop: 4,
  msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14,
  shmat: 21, shmdt: 22, shmget: 23, shmctl: 24,
});

/** Arches whose name lookup munges socket/IPC names into pseudo numbers (libseccomp 2.6). */
export const MULTIPLEXING_ARCHES: readonly string[] = Object.freeze([
  "x86", "s390", "s390x", "ppc", "ppc64", "ppc64le", "mips", "mipsel", "sh", "sheb", "m68k",
]);

/**
 * libseccomp's pseudo syscall number for a multiplexed call (`__PNR_socket` = -101, …), or
 * undefined when `name` is not one.
 */
export function multiplexedPseudoNumber(name: string): number | undefined {
  const s = SOCKET_CALLS.indexOf(name);
  if (s >= 0) return -(101 + s);
  const i = IPC_CALLS[name];
  return i === undefined ? undefined : -(200 + i);
}

/**
 * A table lookup: seccomp_data.nr of `name` on `arch` (the arch's number base included, as
 * src/syscalls' `syscallNumber` answers), or undefined when the table has no number for it.
 */
export type TableLookup = (arch: ArchInfo, name: string) => number | undefined;

/**
 * The regression script's resolver on top of a per-arch table lookup (by default sysfence's
 * syscall tables, which are libseccomp's).
 */
export function libseccompResolver(lookup: TableLookup = syscallNumber): SyscallResolver {
  return (arch: ArchInfo, name: string): Resolution => {
    const pnr = multiplexedPseudoNumber(name);
    if (pnr !== undefined && MULTIPLEXING_ARCHES.includes(arch.name)) {
      const via = pnr <= -200 ? "ipc" : "socketcall";
      const nr = lookup(arch, via);
      if (nr === undefined) return { unresolved: `${arch.name} has no ${via} number for multiplexed "${name}"` };
      return { nr };
    }
    const nr = lookup(arch, name);
    if (nr === undefined) {
      return { unresolved: `"${name}" has no number on ${arch.name} (libseccomp would simulate its pseudo-syscall number)` };
    }
    return { nr };
  };
}

/** The resolver over sysfence's own tables. */
export const resolveLibseccomp: SyscallResolver = libseccompResolver();
