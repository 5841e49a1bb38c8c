// What policy learning narrows, and what it always or optionally adds.
//
// Curated arguments: for these syscalls the learned policy allows exactly the values
// (or, for several arguments, the combinations of values) the traces showed, compared on the
// low 32 bits (they are C ints or flag words: a 32-bit compare is what they mean, and musl
// leaves garbage in the high half of ioctl's request; Firecracker's `dword`, firecracker#1206).
// Anything else is allowed by name. A curated argument the traces do not show on some call
// (a decoded struct, an unknown name) makes that syscall name-only, with a warning.
import type { ArchInfo } from "../syscalls/arches.js";

export interface CuratedArg {
  /** Argument index on this ABI (-1: the ABI's position is not known here). */
  index: number;
  /**
   * 64: compare all 64 bits (qword). Only for arguments a --within baseline compares in full;
   * curated arguments are compared on their low 32 bits.
   */
  width?: 32 | 64;
  /** Constant families for comments (exact name, then flag combinations). */
  names: readonly string[];
  flags?: readonly string[];
}

const IOCTL_NAMES = ["TC", "TIOC", "FIO", "KVM_", "TUN", "BLK", "VHOST_"];
const FUTEX_OPS = ["FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI"];

/** Which positional argument holds clone's flags (kernel/fork.c CONFIG_CLONE_BACKWARDS2: s390). */
export function cloneFlagsIndex(arch: ArchInfo): number {
  return arch.name === "s390" || arch.name === "s390x" ? 1 : 0;
}

/** The curated arguments of `name` on `arch`, or undefined when the syscall is not curated. */
export function curatedArgs(name: string, arch: ArchInfo): readonly CuratedArg[] | undefined {
  switch (name) {
    case "socket":
    case "socketpair":
      return [
        { index: 0, names: ["AF_"] },
        { index: 1, names: ["SOCK_"], flags: ["SOCK_NONBLOCK", "SOCK_CLOEXEC"] },
      ];
    case "ioctl":
      return [{ index: 1, names: IOCTL_NAMES }];
    case "prctl":
      return [{ index: 0, names: ["PR_"] }];
    case "fcntl":
    case "fcntl64":
      return [{ index: 1, names: ["F_"] }];
    case "futex":
    case "futex_time64":
      // Operation names only (FUTEX_OP_* and FUTEX_PRIVATE_FLAG share their values).
      return [{ index: 1, names: FUTEX_OPS, flags: ["FUTEX_CLOCK_REALTIME"] }];
    case "mmap":
    case "mmap2":
    case "mprotect":
    case "pkey_mprotect":
      return [{ index: 2, names: ["PROT_NONE"], flags: ["PROT_"] }];
    case "clone":
      // The low byte is the exit signal (SIGCHLD).
      return [{ index: cloneFlagsIndex(arch), names: ["CLONE_", "SIGCHLD"], flags: ["CLONE_"] }];
    default:
      return undefined;
  }
}

/**
 * Never left out of a learned policy (docs/evidence.md section 9 row 11): a process that cannot exit
 * loops forever, signal handlers cannot return without rt_sigreturn, and restart_syscall is what
 * the kernel itself issues after an interrupted sleep. Names an ABI lacks are skipped.
 */
export const ALWAYS: readonly string[] = ["exit", "exit_group", "rt_sigreturn", "sigreturn", "restart_syscall"];

/**
 * --base-set: what a dynamically linked glibc or musl program does before main (the dynamic
 * loader, libc and thread start-up), for policies learned from traces that started later
 * (strace -p) or to keep a policy working across libc updates. Values for curated arguments
 * are the ones start-up uses: mmap/mprotect PROT_NONE, READ, READ|WRITE, READ|EXEC (libraries
 * are mapped executable); private futex wait/wake; fcntl get/set of fd and status flags.
 * Derived from `strace -f -X raw` of /bin/true, `sh -c true` and `ls /` on Debian 12 (glibc
 * 2.36, x86_64), plus the equivalents other ABIs and older libcs use (open, stat, mmap2…).
 */
export const BASE_SET: readonly { name: string; values?: readonly (readonly number[])[] }[] = [
  { name: "execve" }, { name: "brk" }, { name: "arch_prctl" }, { name: "set_tid_address" },
  { name: "set_robust_list" }, { name: "rseq" }, { name: "prlimit64" }, { name: "getrandom" },
  { name: "access" }, { name: "faccessat" }, { name: "faccessat2" }, { name: "open" }, { name: "openat" },
  { name: "close" }, { name: "read" }, { name: "pread64" }, { name: "write" }, { name: "writev" },
  { name: "lseek" }, { name: "fstat" }, { name: "stat" }, { name: "lstat" }, { name: "newfstatat" },
  { name: "statx" }, { name: "fstat64" }, { name: "stat64" }, { name: "fstatat64" },
  { name: "readlink" }, { name: "readlinkat" }, { name: "getcwd" }, { name: "uname" },
  { name: "mmap", values: [[0], [1], [3], [5]] }, { name: "mmap2", values: [[0], [1], [3], [5]] },
  { name: "mprotect", values: [[0], [1], [3]] }, { name: "munmap" },
  { name: "futex", values: [[128], [129]] },
  { name: "fcntl", values: [[1], [2], [3], [4]] }, { name: "fcntl64", values: [[1], [2], [3], [4]] },
  { name: "rt_sigaction" }, { name: "rt_sigprocmask" }, { name: "sigaltstack" },
  { name: "getpid" }, { name: "gettid" }, { name: "getuid" }, { name: "geteuid" }, { name: "getgid" },
  { name: "getegid" }, { name: "sched_getaffinity" }, { name: "clock_gettime" }, { name: "gettimeofday" },
  { name: "exit" }, { name: "exit_group" },
];
