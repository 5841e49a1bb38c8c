// Symbolic constants that strace (and `ausearch -i`) print in syscall arguments, decoded back to
// the numbers the kernel saw, per ABI. `O_RDONLY|O_CLOEXEC`, `PROT_READ|PROT_WRITE`,
// `FUTEX_WAIT_PRIVATE`, `SOCK_STREAM|SOCK_CLOEXEC`, `TCGETS`, `KVM_RUN`, `PR_SET_NAME`, …
//
// Most values are the same on every Linux ABI (asm-generic). Where an ABI differs, this module
// either knows its value (the overrides below) or declares the whole family UNKNOWN for that
// ABI, so that a name it cannot decode exactly makes the argument unknown (replay then says
// "depends on argN") instead of silently using the wrong number. A wrong number would be worse
// than no number: it could turn a denied call into an allowed one.
//
// Families and where they differ (Linux uapi headers):
//   O_* (open flags): arm, aarch64, m68k and ppc move O_DIRECTORY/O_NOFOLLOW/O_DIRECT/
//     O_LARGEFILE; mips moves most; parisc: unknown here.
//   MAP_*: mips moves most, ppc moves NORESERVE/LOCKED; parisc: unknown here.
//   SOCK_*: mips swaps STREAM/DGRAM and moves NONBLOCK (it is O_NONBLOCK); parisc: unknown.
//   SIG*, SIG_* (signals, sigprocmask how): mips and parisc differ: unknown there.
//   F_* (fcntl): mips moves the lock and owner commands.
//   Terminal ioctls (0x54xx): generic on x86, arm, aarch64, riscv, loongarch, s390, m68k;
//     ppc, mips, sh and parisc use other numbers: unknown there.
//   _IOC-encoded ioctls (KVM, TUN, block): encoded per ABI (ppc and mips have 3 direction bits
//     and 13 size bits; parisc swaps READ and WRITE). x86-only KVM ioctls only on x86_64/x32.
import { ARCHES, type ArchInfo } from "../syscalls/arches.js";

type Table = Record<string, number>;

// ---------------------------------------------------------------------------------------------
// ABI groups

const MIPS = new Set(["mips", "mipsel", "mips64", "mipsel64", "mips64n32", "mipsel64n32"]);
const PPC = new Set(["ppc", "ppc64", "ppc64le"]);
const PARISC = new Set(["parisc", "parisc64"]);
const SH = new Set(["sh", "sheb"]);
/** ABIs whose O_DIRECTORY… follow arm's layout (asm/fcntl.h of arm, arm64, m68k). */
const ARM_FCNTL = new Set(["arm", "aarch64", "m68k"]);
const X86_64 = new Set(["x86_64", "x32"]);

// ---------------------------------------------------------------------------------------------
// ioctl number encoding (_IOC) per ABI

interface IocLayout {
  sizeBits: number;
  dirShift: number;
  none: number;
  read: number;
  write: number;
}
const IOC_GENERIC: IocLayout = { sizeBits: 14, dirShift: 30, none: 0, read: 2, write: 1 };
const IOC_PPC_MIPS: IocLayout = { sizeBits: 13, dirShift: 29, none: 1, read: 2, write: 4 };
const IOC_PARISC: IocLayout = { sizeBits: 14, dirShift: 30, none: 0, read: 1, write: 2 };

export function iocLayout(arch: ArchInfo): IocLayout {
  if (PPC.has(arch.name) || MIPS.has(arch.name)) return IOC_PPC_MIPS;
  if (PARISC.has(arch.name)) return IOC_PARISC;
  return IOC_GENERIC;
}

/** _IOC(dir, type, nr, size) where dir is a set of {"r","w"} for the ABI's layout. */
export function ioc(l: IocLayout, dir: "" | "r" | "w" | "rw", type: number, nr: number, size: number): number {
  let d = 0;
  if (dir === "") d = l.none;
  if (dir.includes("r")) d |= l.read;
  if (dir.includes("w")) d |= l.write;
  return ((d << l.dirShift) | ((size & ((1 << l.sizeBits) - 1)) << 16) | ((type & 0xff) << 8) | (nr & 0xff)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Generic tables

const O_GENERIC: Table = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_ACCMODE: 3, O_CREAT: 0x40, O_EXCL: 0x80, O_NOCTTY: 0x100,
  O_TRUNC: 0x200, O_APPEND: 0x400, O_NONBLOCK: 0x800, O_NDELAY: 0x800, O_DSYNC: 0x1000, FASYNC: 0x2000,
  O_DIRECT: 0x4000, O_LARGEFILE: 0x8000, O_DIRECTORY: 0x10000, O_NOFOLLOW: 0x20000, O_NOATIME: 0x40000,
  O_CLOEXEC: 0x80000, __O_SYNC: 0x100000, O_SYNC: 0x101000, O_PATH: 0x200000, __O_TMPFILE: 0x400000,
  O_TMPFILE: 0x410000,
};
const O_ARM: Table = { O_DIRECTORY: 0x4000, O_NOFOLLOW: 0x8000, O_DIRECT: 0x10000, O_LARGEFILE: 0x20000, O_TMPFILE: 0x404000 };
const O_PPC: Table = { O_DIRECTORY: 0x4000, O_NOFOLLOW: 0x8000, O_LARGEFILE: 0x10000, O_DIRECT: 0x20000, O_TMPFILE: 0x404000 };
const O_MIPS: Table = {
  O_APPEND: 0x8, O_DSYNC: 0x10, O_NONBLOCK: 0x80, O_NDELAY: 0x80, O_CREAT: 0x100, O_TRUNC: 0x200,
  O_EXCL: 0x400, O_NOCTTY: 0x800, FASYNC: 0x1000, O_LARGEFILE: 0x2000, __O_SYNC: 0x4000, O_SYNC: 0x4010,
  O_DIRECT: 0x8000, O_DIRECTORY: 0x10000, O_NOFOLLOW: 0x20000, O_NOATIME: 0x40000, O_CLOEXEC: 0x80000,
  O_PATH: 0x200000, __O_TMPFILE: 0x400000, O_TMPFILE: 0x410000,
};

const MAP_GENERIC: Table = {
  MAP_FILE: 0, MAP_SHARED: 1, MAP_PRIVATE: 2, MAP_SHARED_VALIDATE: 3, MAP_TYPE: 0xf, MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20, MAP_ANON: 0x20, MAP_GROWSDOWN: 0x100, MAP_DENYWRITE: 0x800, MAP_EXECUTABLE: 0x1000,
  MAP_LOCKED: 0x2000, MAP_NORESERVE: 0x4000, MAP_POPULATE: 0x8000, MAP_NONBLOCK: 0x10000,
  MAP_STACK: 0x20000, MAP_HUGETLB: 0x40000, MAP_SYNC: 0x80000, MAP_FIXED_NOREPLACE: 0x100000,
  MAP_UNINITIALIZED: 0x4000000, MAP_DROPPABLE: 0x8,
  MAP_HUGE_SHIFT: 26, MAP_HUGE_64KB: 16 << 26, MAP_HUGE_512KB: 19 << 26, MAP_HUGE_1MB: 20 << 26,
  MAP_HUGE_2MB: 21 << 26, MAP_HUGE_8MB: 23 << 26, MAP_HUGE_16MB: 24 << 26, MAP_HUGE_32MB: 25 << 26,
  MAP_HUGE_256MB: 28 << 26, MAP_HUGE_512MB: 29 << 26, MAP_HUGE_1GB: 30 << 26, MAP_HUGE_2GB: 31 << 26,
  MREMAP_MAYMOVE: 1, MREMAP_FIXED: 2, MREMAP_DONTUNMAP: 4,
  MS_ASYNC: 1, MS_INVALIDATE: 2, MS_SYNC: 4, MCL_CURRENT: 1, MCL_FUTURE: 2, MCL_ONFAULT: 4,
  MLOCK_ONFAULT: 1,
};
const MAP_PPC: Table = { MAP_NORESERVE: 0x40, MAP_LOCKED: 0x80 };
const MAP_MIPS: Table = {
  MAP_NORESERVE: 0x400, MAP_ANONYMOUS: 0x800, MAP_ANON: 0x800, MAP_GROWSDOWN: 0x1000,
  MAP_DENYWRITE: 0x2000, MAP_EXECUTABLE: 0x4000, MAP_LOCKED: 0x8000, MAP_POPULATE: 0x10000,
  MAP_NONBLOCK: 0x20000, MAP_STACK: 0x40000, MAP_HUGETLB: 0x80000,
};

const PROT: Table = {
  PROT_NONE: 0, PROT_READ: 1, PROT_WRITE: 2, PROT_EXEC: 4, PROT_SEM: 8, PROT_GROWSDOWN: 0x1000000,
  PROT_GROWSUP: 0x2000000, PROT_BTI: 0x10, PROT_MTE: 0x20,
};

const MADV: Table = {
  MADV_NORMAL: 0, MADV_RANDOM: 1, MADV_SEQUENTIAL: 2, MADV_WILLNEED: 3, MADV_DONTNEED: 4, MADV_FREE: 8,
  MADV_REMOVE: 9, MADV_DONTFORK: 10, MADV_DOFORK: 11, MADV_MERGEABLE: 12, MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14, MADV_NOHUGEPAGE: 15, MADV_DONTDUMP: 16, MADV_DODUMP: 17, MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19, MADV_COLD: 20, MADV_PAGEOUT: 21, MADV_POPULATE_READ: 22, MADV_POPULATE_WRITE: 23,
  MADV_DONTNEED_LOCKED: 24, MADV_COLLAPSE: 25, MADV_HWPOISON: 100, MADV_SOFT_OFFLINE: 101,
  MADV_GUARD_INSTALL: 102, MADV_GUARD_REMOVE: 103,
};

const AF: Table = {
  AF_UNSPEC: 0, AF_UNIX: 1, AF_LOCAL: 1, AF_INET: 2, AF_AX25: 3, AF_IPX: 4, AF_APPLETALK: 5, AF_NETROM: 6,
  AF_BRIDGE: 7, AF_ATMPVC: 8, AF_X25: 9, AF_INET6: 10, AF_ROSE: 11, AF_DECnet: 12, AF_NETBEUI: 13,
  AF_SECURITY: 14, AF_KEY: 15, AF_NETLINK: 16, AF_ROUTE: 16, AF_PACKET: 17, AF_ASH: 18, AF_ECONET: 19,
  AF_ATMSVC: 20, AF_RDS: 21, AF_SNA: 22, AF_IRDA: 23, AF_PPPOX: 24, AF_WANPIPE: 25, AF_LLC: 26, AF_IB: 27,
  AF_MPLS: 28, AF_CAN: 29, AF_TIPC: 30, AF_BLUETOOTH: 31, AF_IUCV: 32, AF_RXRPC: 33, AF_ISDN: 34,
  AF_PHONET: 35, AF_IEEE802154: 36, AF_CAIF: 37, AF_ALG: 38, AF_NFC: 39, AF_VSOCK: 40, AF_KCM: 41,
  AF_QIPCRTR: 42, AF_SMC: 43, AF_XDP: 44, AF_MCTP: 45,
  IPPROTO_IP: 0, IPPROTO_ICMP: 1, IPPROTO_IGMP: 2, IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_IPV6: 41,
  IPPROTO_ICMPV6: 58, IPPROTO_SCTP: 132, IPPROTO_UDPLITE: 136, IPPROTO_RAW: 255, IPPROTO_MPTCP: 262,
  NETLINK_ROUTE: 0, NETLINK_USERSOCK: 2, NETLINK_FIREWALL: 3, NETLINK_SOCK_DIAG: 4, NETLINK_NFLOG: 5,
  NETLINK_XFRM: 6, NETLINK_SELINUX: 7, NETLINK_ISCSI: 8, NETLINK_AUDIT: 9, NETLINK_FIB_LOOKUP: 10,
  NETLINK_CONNECTOR: 11, NETLINK_NETFILTER: 12, NETLINK_IP6_FW: 13, NETLINK_DNRTMSG: 14,
  NETLINK_KOBJECT_UEVENT: 15, NETLINK_GENERIC: 16, NETLINK_SCSITRANSPORT: 18, NETLINK_ECRYPTFS: 19,
  NETLINK_RDMA: 20, NETLINK_CRYPTO: 21, NETLINK_SMC: 22,
  SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2,
  MSG_OOB: 1, MSG_PEEK: 2, MSG_DONTROUTE: 4, MSG_CTRUNC: 8, MSG_TRUNC: 0x20, MSG_DONTWAIT: 0x40,
  MSG_EOR: 0x80, MSG_WAITALL: 0x100, MSG_NOSIGNAL: 0x4000, MSG_MORE: 0x8000, MSG_WAITFORONE: 0x10000,
  MSG_CMSG_CLOEXEC: 0x40000000,
};
const SOCK_GENERIC: Table = {
  SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_RAW: 3, SOCK_RDM: 4, SOCK_SEQPACKET: 5, SOCK_DCCP: 6, SOCK_PACKET: 10,
  SOCK_NONBLOCK: 0x800, SOCK_CLOEXEC: 0x80000,
};
const SOCK_MIPS: Table = {
  SOCK_DGRAM: 1, SOCK_STREAM: 2, SOCK_RAW: 3, SOCK_RDM: 4, SOCK_SEQPACKET: 5, SOCK_DCCP: 6, SOCK_PACKET: 10,
  SOCK_NONBLOCK: 0x80, SOCK_CLOEXEC: 0x80000,
};

const FUTEX: Table = (() => {
  const ops: [string, number][] = [
    ["WAIT", 0], ["WAKE", 1], ["FD", 2], ["REQUEUE", 3], ["CMP_REQUEUE", 4], ["WAKE_OP", 5], ["LOCK_PI", 6],
    ["UNLOCK_PI", 7], ["TRYLOCK_PI", 8], ["WAIT_BITSET", 9], ["WAKE_BITSET", 10], ["WAIT_REQUEUE_PI", 11],
    ["CMP_REQUEUE_PI", 12], ["LOCK_PI2", 13],
  ];
  const t: Table = {
    FUTEX_PRIVATE_FLAG: 128, FUTEX_CLOCK_REALTIME: 256, FUTEX_BITSET_MATCH_ANY: 0xffffffff,
    FUTEX_OP_SET: 0, FUTEX_OP_ADD: 1, FUTEX_OP_OR: 2, FUTEX_OP_ANDN: 3, FUTEX_OP_XOR: 4,
    FUTEX_OP_OPARG_SHIFT: 8, FUTEX_OP_CMP_EQ: 0, FUTEX_OP_CMP_NE: 1, FUTEX_OP_CMP_LT: 2,
    FUTEX_OP_CMP_LE: 3, FUTEX_OP_CMP_GT: 4, FUTEX_OP_CMP_GE: 5,
    FUTEX2_SIZE_U8: 0, FUTEX2_SIZE_U16: 1, FUTEX2_SIZE_U32: 2, FUTEX2_SIZE_U64: 3, FUTEX2_NUMA: 4,
    FUTEX2_PRIVATE: 128,
  };
  for (const [n, v] of ops) {
    t[`FUTEX_${n}`] = v;
    t[`FUTEX_${n}_PRIVATE`] = v | 128;
  }
  return t;
})();

const CLONE: Table = {
  CSIGNAL: 0xff, CLONE_NEWTIME: 0x80, CLONE_VM: 0x100, CLONE_FS: 0x200, CLONE_FILES: 0x400,
  CLONE_SIGHAND: 0x800, CLONE_PIDFD: 0x1000, CLONE_PTRACE: 0x2000, CLONE_VFORK: 0x4000,
  CLONE_PARENT: 0x8000, CLONE_THREAD: 0x10000, CLONE_NEWNS: 0x20000, CLONE_SYSVSEM: 0x40000,
  CLONE_SETTLS: 0x80000, CLONE_PARENT_SETTID: 0x100000, CLONE_CHILD_CLEARTID: 0x200000,
  CLONE_DETACHED: 0x400000, CLONE_UNTRACED: 0x800000, CLONE_CHILD_SETTID: 0x1000000,
  CLONE_NEWCGROUP: 0x2000000, CLONE_NEWUTS: 0x4000000, CLONE_NEWIPC: 0x8000000,
  CLONE_NEWUSER: 0x10000000, CLONE_NEWPID: 0x20000000, CLONE_NEWNET: 0x40000000, CLONE_IO: 0x80000000,
};

const PRCTL: Table = {
  PR_SET_PDEATHSIG: 1, PR_GET_PDEATHSIG: 2, PR_GET_DUMPABLE: 3, PR_SET_DUMPABLE: 4, PR_GET_UNALIGN: 5,
  PR_SET_UNALIGN: 6, PR_GET_KEEPCAPS: 7, PR_SET_KEEPCAPS: 8, PR_GET_FPEMU: 9, PR_SET_FPEMU: 10,
  PR_GET_FPEXC: 11, PR_SET_FPEXC: 12, PR_GET_TIMING: 13, PR_SET_TIMING: 14, PR_SET_NAME: 15,
  PR_GET_NAME: 16, PR_GET_ENDIAN: 19, PR_SET_ENDIAN: 20, PR_GET_SECCOMP: 21, PR_SET_SECCOMP: 22,
  PR_CAPBSET_READ: 23, PR_CAPBSET_DROP: 24, PR_GET_TSC: 25, PR_SET_TSC: 26, PR_GET_SECUREBITS: 27,
  PR_SET_SECUREBITS: 28, PR_SET_TIMERSLACK: 29, PR_GET_TIMERSLACK: 30, PR_TASK_PERF_EVENTS_DISABLE: 31,
  PR_TASK_PERF_EVENTS_ENABLE: 32, PR_MCE_KILL: 33, PR_MCE_KILL_GET: 34, PR_SET_MM: 35,
  PR_SET_CHILD_SUBREAPER: 36, PR_GET_CHILD_SUBREAPER: 37, PR_SET_NO_NEW_PRIVS: 38,
  PR_GET_NO_NEW_PRIVS: 39, PR_GET_TID_ADDRESS: 40, PR_SET_THP_DISABLE: 41, PR_GET_THP_DISABLE: 42,
  PR_MPX_ENABLE_MANAGEMENT: 43, PR_MPX_DISABLE_MANAGEMENT: 44, PR_SET_FP_MODE: 45, PR_GET_FP_MODE: 46,
  PR_CAP_AMBIENT: 47, PR_SVE_SET_VL: 50, PR_SVE_GET_VL: 51, PR_GET_SPECULATION_CTRL: 52,
  PR_SET_SPECULATION_CTRL: 53, PR_PAC_RESET_KEYS: 54, PR_SET_TAGGED_ADDR_CTRL: 55,
  PR_GET_TAGGED_ADDR_CTRL: 56, PR_SET_IO_FLUSHER: 57, PR_GET_IO_FLUSHER: 58,
  PR_SET_SYSCALL_USER_DISPATCH: 59, PR_PAC_SET_ENABLED_KEYS: 60, PR_PAC_GET_ENABLED_KEYS: 61,
  PR_SCHED_CORE: 62, PR_SME_SET_VL: 63, PR_SME_GET_VL: 64, PR_SET_MDWE: 65, PR_GET_MDWE: 66,
  PR_SET_MEMORY_MERGE: 67, PR_GET_MEMORY_MERGE: 68, PR_RISCV_V_SET_CONTROL: 69,
  PR_RISCV_V_GET_CONTROL: 70, PR_RISCV_SET_ICACHE_FLUSH_CTX: 71, PR_PPC_GET_DEXCR: 72,
  PR_PPC_SET_DEXCR: 73, PR_GET_SHADOW_STACK_STATUS: 74, PR_SET_SHADOW_STACK_STATUS: 75,
  PR_LOCK_SHADOW_STACK_STATUS: 76, PR_TIMER_CREATE_RESTORE_IDS: 77, PR_FUTEX_HASH: 78,
  PR_SET_VMA: 0x53564d41, PR_SET_PTRACER: 0x59616d61, PR_SET_PTRACER_ANY: 0xffffffff,
  PR_MCE_KILL_CLEAR: 0, PR_MCE_KILL_SET: 1, PR_MCE_KILL_LATE: 0, PR_MCE_KILL_EARLY: 1,
  PR_MCE_KILL_DEFAULT: 2, PR_CAP_AMBIENT_IS_SET: 1, PR_CAP_AMBIENT_RAISE: 2, PR_CAP_AMBIENT_LOWER: 3,
  PR_CAP_AMBIENT_CLEAR_ALL: 4, PR_SET_VMA_ANON_NAME: 0, PR_SPEC_STORE_BYPASS: 0,
  PR_SPEC_INDIRECT_BRANCH: 1, PR_SPEC_L1D_FLUSH: 2, PR_SPEC_ENABLE: 2, PR_SPEC_DISABLE: 4,
  PR_SPEC_FORCE_DISABLE: 8, PR_SPEC_DISABLE_NOEXEC: 16,
  SUID_DUMP_DISABLE: 0, SUID_DUMP_USER: 1, SUID_DUMP_ROOT: 2,
  ARCH_SET_GS: 0x1001, ARCH_SET_FS: 0x1002, ARCH_GET_FS: 0x1003, ARCH_GET_GS: 0x1004,
  ARCH_GET_CPUID: 0x1011, ARCH_SET_CPUID: 0x1012, ARCH_GET_XCOMP_SUPP: 0x1021,
  ARCH_GET_XCOMP_PERM: 0x1022, ARCH_REQ_XCOMP_PERM: 0x1023, ARCH_GET_XCOMP_GUEST_PERM: 0x1024,
  ARCH_REQ_XCOMP_GUEST_PERM: 0x1025, ARCH_XCOMP_TILECFG: 17, ARCH_XCOMP_TILEDATA: 18,
  ARCH_MAP_VDSO_X32: 0x2001, ARCH_MAP_VDSO_32: 0x2002, ARCH_MAP_VDSO_64: 0x2003,
  ARCH_SHSTK_ENABLE: 0x5001, ARCH_SHSTK_DISABLE: 0x5002, ARCH_SHSTK_LOCK: 0x5003,
  ARCH_SHSTK_STATUS: 0x5005,
};

const SECCOMP: Table = {
  SECCOMP_SET_MODE_STRICT: 0, SECCOMP_SET_MODE_FILTER: 1, SECCOMP_GET_ACTION_AVAIL: 2,
  SECCOMP_GET_NOTIF_SIZES: 3, SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4, SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH: 16, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
  SECCOMP_MODE_DISABLED: 0, SECCOMP_MODE_STRICT: 1, SECCOMP_MODE_FILTER: 2,
};

const FCNTL_GENERIC: Table = {
  F_DUPFD: 0, F_GETFD: 1, F_SETFD: 2, F_GETFL: 3, F_SETFL: 4, F_GETLK: 5, F_SETLK: 6, F_SETLKW: 7,
  F_SETOWN: 8, F_GETOWN: 9, F_SETSIG: 10, F_GETSIG: 11, F_GETLK64: 12, F_SETLK64: 13, F_SETLKW64: 14,
  F_SETOWN_EX: 15, F_GETOWN_EX: 16, F_GETOWNER_UIDS: 17, F_OFD_GETLK: 36, F_OFD_SETLK: 37,
  F_OFD_SETLKW: 38, F_SETLEASE: 1024, F_GETLEASE: 1025, F_NOTIFY: 1026, F_DUPFD_QUERY: 1027,
  F_CREATED_QUERY: 1028, F_CANCELLK: 1029, F_DUPFD_CLOEXEC: 1030, F_SETPIPE_SZ: 1031,
  F_GETPIPE_SZ: 1032, F_ADD_SEALS: 1033, F_GET_SEALS: 1034, F_GET_RW_HINT: 1035, F_SET_RW_HINT: 1036,
  F_GET_FILE_RW_HINT: 1037, F_SET_FILE_RW_HINT: 1038,
  FD_CLOEXEC: 1, F_RDLCK: 0, F_WRLCK: 1, F_UNLCK: 2, F_SEAL_SEAL: 1, F_SEAL_SHRINK: 2, F_SEAL_GROW: 4,
  F_SEAL_WRITE: 8, F_SEAL_FUTURE_WRITE: 16, F_SEAL_EXEC: 32,
  LOCK_SH: 1, LOCK_EX: 2, LOCK_NB: 4, LOCK_UN: 8,
};
const FCNTL_MIPS: Table = {
  F_GETLK: 14, F_SETLK: 6, F_SETLKW: 7, F_SETOWN: 24, F_GETOWN: 23, F_GETLK64: 33, F_SETLK64: 34,
  F_SETLKW64: 35,
};

const SIGNALS_GENERIC: Table = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31, SIGRTMIN: 32, SIGRTMAX: 64,
  SIG_BLOCK: 0, SIG_UNBLOCK: 1, SIG_SETMASK: 2,
};

const MISC: Table = {
  AT_FDCWD: -100, AT_SYMLINK_NOFOLLOW: 0x100, AT_REMOVEDIR: 0x200, AT_EACCESS: 0x200,
  AT_SYMLINK_FOLLOW: 0x400, AT_NO_AUTOMOUNT: 0x800, AT_EMPTY_PATH: 0x1000, AT_STATX_SYNC_AS_STAT: 0,
  AT_STATX_FORCE_SYNC: 0x2000, AT_STATX_DONT_SYNC: 0x4000, AT_RECURSIVE: 0x8000,
  AT_HANDLE_FID: 0x200, AT_HANDLE_MNT_ID_UNIQUE: 1,
  R_OK: 4, W_OK: 2, X_OK: 1, F_OK: 0,
  SEEK_SET: 0, SEEK_CUR: 1, SEEK_END: 2, SEEK_DATA: 3, SEEK_HOLE: 4,
  CLOCK_REALTIME: 0, CLOCK_MONOTONIC: 1, CLOCK_PROCESS_CPUTIME_ID: 2, CLOCK_THREAD_CPUTIME_ID: 3,
  CLOCK_MONOTONIC_RAW: 4, CLOCK_REALTIME_COARSE: 5, CLOCK_MONOTONIC_COARSE: 6, CLOCK_BOOTTIME: 7,
  CLOCK_REALTIME_ALARM: 8, CLOCK_BOOTTIME_ALARM: 9, CLOCK_TAI: 11, TIMER_ABSTIME: 1,
  TFD_TIMER_ABSTIME: 1, TFD_TIMER_CANCEL_ON_SET: 2,
  EPOLL_CTL_ADD: 1, EPOLL_CTL_DEL: 2, EPOLL_CTL_MOD: 3,
  EFD_SEMAPHORE: 1, MFD_CLOEXEC: 1, MFD_ALLOW_SEALING: 2, MFD_HUGETLB: 4, MFD_NOEXEC_SEAL: 8, MFD_EXEC: 0x10,
  GRND_NONBLOCK: 1, GRND_RANDOM: 2, GRND_INSECURE: 4,
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6, MPOL_F_NODE: 1, MPOL_F_ADDR: 2,
  MPOL_F_MEMS_ALLOWED: 4, MPOL_F_STATIC_NODES: 0x8000, MPOL_F_RELATIVE_NODES: 0x4000,
  MPOL_F_NUMA_BALANCING: 0x2000, MPOL_MF_STRICT: 1, MPOL_MF_MOVE: 2, MPOL_MF_MOVE_ALL: 4,
  P_ALL: 0, P_PID: 1, P_PGID: 2, P_PIDFD: 3,
  WNOHANG: 1, WUNTRACED: 2, WSTOPPED: 2, WEXITED: 4, WCONTINUED: 8, WNOWAIT: 0x1000000,
  __WNOTHREAD: 0x20000000, __WALL: 0x40000000, __WCLONE: 0x80000000,
  RUSAGE_SELF: 0, RUSAGE_CHILDREN: -1, RUSAGE_THREAD: 1,
  ITIMER_REAL: 0, ITIMER_VIRTUAL: 1, ITIMER_PROF: 2,
  PRIO_PROCESS: 0, PRIO_PGRP: 1, PRIO_USER: 2,
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
  SCHED_RESET_ON_FORK: 0x40000000,
  IN_NONBLOCK: 0x800, IN_CLOEXEC: 0x80000,
  SS_ONSTACK: 1, SS_DISABLE: 2, SS_AUTODISARM: 0x80000000,
  SA_NOCLDSTOP: 1, SA_NOCLDWAIT: 2, SA_SIGINFO: 4, SA_UNSUPPORTED: 0x400, SA_EXPOSE_TAGBITS: 0x800,
  SA_RESTORER: 0x4000000, SA_ONSTACK: 0x8000000, SA_RESTART: 0x10000000, SA_NODEFER: 0x40000000,
  SA_RESETHAND: 0x80000000,
  SIG_DFL: 0, SIG_IGN: 1, SIG_ERR: -1,
  MS_RDONLY: 1, MS_NOSUID: 2, MS_NODEV: 4, MS_NOEXEC: 8, MS_SYNCHRONOUS: 16, MS_REMOUNT: 32,
  MS_MANDLOCK: 64, MS_DIRSYNC: 128, MS_NOSYMFOLLOW: 256, MS_NOATIME: 1024, MS_NODIRATIME: 2048,
  MS_BIND: 4096, MS_MOVE: 8192, MS_REC: 16384, MS_SILENT: 32768, MS_POSIXACL: 1 << 16,
  MS_UNBINDABLE: 1 << 17, MS_PRIVATE: 1 << 18, MS_SLAVE: 1 << 19, MS_SHARED: 1 << 20,
  MS_RELATIME: 1 << 21, MS_KERNMOUNT: 1 << 22, MS_I_VERSION: 1 << 23, MS_STRICTATIME: 1 << 24,
  MS_LAZYTIME: 1 << 25, MS_MGC_VAL: 0xc0ed0000,
  MNT_FORCE: 1, MNT_DETACH: 2, MNT_EXPIRE: 4, UMOUNT_NOFOLLOW: 8,
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
  POSIX_FADV_NORMAL: 0, POSIX_FADV_RANDOM: 1, POSIX_FADV_SEQUENTIAL: 2, POSIX_FADV_WILLNEED: 3,
  POSIX_FADV_DONTNEED: 4, POSIX_FADV_NOREUSE: 5,
  FALLOC_FL_KEEP_SIZE: 1, FALLOC_FL_PUNCH_HOLE: 2, FALLOC_FL_COLLAPSE_RANGE: 8,
  FALLOC_FL_ZERO_RANGE: 16, FALLOC_FL_INSERT_RANGE: 32, FALLOC_FL_UNSHARE_RANGE: 64,
  RENAME_NOREPLACE: 1, RENAME_EXCHANGE: 2, RENAME_WHITEOUT: 4,
  IORING_SETUP_IOPOLL: 1, IORING_SETUP_SQPOLL: 2, IORING_SETUP_SQ_AFF: 4, IORING_SETUP_CQSIZE: 8,
  IORING_SETUP_CLAMP: 16, IORING_SETUP_ATTACH_WQ: 32, IORING_SETUP_R_DISABLED: 64,
  IORING_ENTER_GETEVENTS: 1, IORING_ENTER_SQ_WAKEUP: 2, IORING_ENTER_SQ_WAIT: 4,
  IORING_ENTER_EXT_ARG: 8, IORING_ENTER_REGISTERED_RING: 16,
  LINUX_REBOOT_CMD_RESTART: 0x01234567, LINUX_REBOOT_CMD_HALT: 0xcdef0123,
  LINUX_REBOOT_CMD_POWER_OFF: 0x4321fedc, LINUX_REBOOT_MAGIC1: 0xfee1dead, LINUX_REBOOT_MAGIC2: 672274793,
  PTRACE_TRACEME: 0, PTRACE_PEEKTEXT: 1, PTRACE_PEEKDATA: 2, PTRACE_PEEKUSER: 3, PTRACE_POKETEXT: 4,
  PTRACE_POKEDATA: 5, PTRACE_POKEUSER: 6, PTRACE_CONT: 7, PTRACE_KILL: 8, PTRACE_SINGLESTEP: 9,
  PTRACE_ATTACH: 16, PTRACE_DETACH: 17, PTRACE_SYSCALL: 24, PTRACE_SETOPTIONS: 0x4200,
  PTRACE_GETEVENTMSG: 0x4201, PTRACE_GETSIGINFO: 0x4202, PTRACE_SETSIGINFO: 0x4203,
  PTRACE_GETREGSET: 0x4204, PTRACE_SETREGSET: 0x4205, PTRACE_SEIZE: 0x4206, PTRACE_INTERRUPT: 0x4207,
  PTRACE_LISTEN: 0x4208,
  KCMP_FILE: 0, KCMP_VM: 1, KCMP_FILES: 2, KCMP_FS: 3, KCMP_SIGHAND: 4, KCMP_IO: 5, KCMP_SYSVSEM: 6,
  KCMP_EPOLL_TFD: 7,
  LANDLOCK_CREATE_RULESET_VERSION: 1, LANDLOCK_RULE_PATH_BENEATH: 1, LANDLOCK_RULE_NET_PORT: 2,
  MEMBARRIER_CMD_QUERY: 0, MEMBARRIER_CMD_GLOBAL: 1, MEMBARRIER_CMD_PRIVATE_EXPEDITED: 8,
  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: 16,
  IPC_PRIVATE: 0, IPC_CREAT: 0x200, IPC_EXCL: 0x400, IPC_NOWAIT: 0x800, IPC_RMID: 0, IPC_SET: 1,
  IPC_STAT: 2, IPC_INFO: 3,
  KEY_SPEC_THREAD_KEYRING: -1, KEY_SPEC_PROCESS_KEYRING: -2, KEY_SPEC_SESSION_KEYRING: -3,
  KEY_SPEC_USER_KEYRING: -4, KEY_SPEC_USER_SESSION_KEYRING: -5,
  PERF_FLAG_FD_NO_GROUP: 1, PERF_FLAG_FD_OUTPUT: 2, PERF_FLAG_PID_CGROUP: 4, PERF_FLAG_FD_CLOEXEC: 8,
  BPF_MAP_CREATE: 0, BPF_MAP_LOOKUP_ELEM: 1, BPF_MAP_UPDATE_ELEM: 2, BPF_MAP_DELETE_ELEM: 3,
  BPF_MAP_GET_NEXT_KEY: 4, BPF_PROG_LOAD: 5, BPF_OBJ_PIN: 6, BPF_OBJ_GET: 7, BPF_PROG_ATTACH: 8,
  BPF_PROG_DETACH: 9,
  SYSLOG_ACTION_CLOSE: 0, SYSLOG_ACTION_OPEN: 1, SYSLOG_ACTION_READ: 2, SYSLOG_ACTION_READ_ALL: 3,
  SYSLOG_ACTION_READ_CLEAR: 4, SYSLOG_ACTION_CLEAR: 5, SYSLOG_ACTION_CONSOLE_OFF: 6,
  SYSLOG_ACTION_CONSOLE_ON: 7, SYSLOG_ACTION_CONSOLE_LEVEL: 8, SYSLOG_ACTION_SIZE_UNREAD: 9,
  SYSLOG_ACTION_SIZE_BUFFER: 10,
  PER_LINUX: 0, PER_LINUX32: 8, ADDR_NO_RANDOMIZE: 0x40000, READ_IMPLIES_EXEC: 0x400000,
  STATX_TYPE: 1, STATX_MODE: 2, STATX_NLINK: 4, STATX_UID: 8, STATX_GID: 16, STATX_ATIME: 32,
  STATX_MTIME: 64, STATX_CTIME: 128, STATX_INO: 256, STATX_SIZE: 512, STATX_BLOCKS: 1024,
  STATX_BASIC_STATS: 0x7ff, STATX_BTIME: 0x800, STATX_MNT_ID: 0x1000, STATX_DIOALIGN: 0x2000,
  STATX_ALL: 0xfff,
  S_IFMT: 0o170000, S_IFSOCK: 0o140000, S_IFLNK: 0o120000, S_IFREG: 0o100000, S_IFBLK: 0o60000,
  S_IFDIR: 0o40000, S_IFCHR: 0o20000, S_IFIFO: 0o10000, S_ISUID: 0o4000, S_ISGID: 0o2000, S_ISVTX: 0o1000,
  S_IRWXU: 0o700, S_IRUSR: 0o400, S_IWUSR: 0o200, S_IXUSR: 0o100, S_IRWXG: 0o70, S_IRGRP: 0o40,
  S_IWGRP: 0o20, S_IXGRP: 0o10, S_IRWXO: 0o7, S_IROTH: 0o4, S_IWOTH: 0o2, S_IXOTH: 0o1,
  XATTR_CREATE: 1, XATTR_REPLACE: 2,
  CLOSE_RANGE_UNSHARE: 2, CLOSE_RANGE_CLOEXEC: 4,
  SPLICE_F_MOVE: 1, SPLICE_F_NONBLOCK: 2, SPLICE_F_MORE: 4, SPLICE_F_GIFT: 8,
  FAN_CLOEXEC: 1, FAN_NONBLOCK: 2,
  // The tokens from the one syscall-table module (derived from ELF machine and flag bits there).
  ...Object.fromEntries(["x86_64", "x86", "aarch64", "arm", "riscv64", "s390x"].map((n) => {
    const a = ARCHES.find((x) => x.name === n)!;
    return [a.tokenName, a.token];
  })),
};

// Terminal and file ioctls of asm-generic/ioctls.h (the 0x54xx "T" family).
const TTY_IOCTLS: Table = {
  TCGETS: 0x5401, TCSETS: 0x5402, TCSETSW: 0x5403, TCSETSF: 0x5404, TCGETA: 0x5405, TCSETA: 0x5406,
  TCSETAW: 0x5407, TCSETAF: 0x5408, TCSBRK: 0x5409, TCXONC: 0x540a, TCFLSH: 0x540b, TIOCEXCL: 0x540c,
  TIOCNXCL: 0x540d, TIOCSCTTY: 0x540e, TIOCGPGRP: 0x540f, TIOCSPGRP: 0x5410, TIOCOUTQ: 0x5411,
  TIOCSTI: 0x5412, TIOCGWINSZ: 0x5413, TIOCSWINSZ: 0x5414, TIOCMGET: 0x5415, TIOCMBIS: 0x5416,
  TIOCMBIC: 0x5417, TIOCMSET: 0x5418, TIOCGSOFTCAR: 0x5419, TIOCSSOFTCAR: 0x541a, FIONREAD: 0x541b,
  TIOCINQ: 0x541b, TIOCLINUX: 0x541c, TIOCCONS: 0x541d, TIOCGSERIAL: 0x541e, TIOCSSERIAL: 0x541f,
  TIOCPKT: 0x5420, FIONBIO: 0x5421, TIOCNOTTY: 0x5422, TIOCSETD: 0x5423, TIOCGETD: 0x5424,
  TCSBRKP: 0x5425, TIOCSBRK: 0x5427, TIOCCBRK: 0x5428, TIOCGSID: 0x5429, TIOCGRS485: 0x542e,
  TIOCSRS485: 0x542f, TCGETX: 0x5432, TCSETX: 0x5433, TCSETXF: 0x5434, TCSETXW: 0x5435,
  TIOCVHANGUP: 0x5437, TIOCGPTPEER: 0x5441, FIONCLEX: 0x5450, FIOCLEX: 0x5451, FIOASYNC: 0x5452,
  TIOCSERCONFIG: 0x5453, TIOCSERGWILD: 0x5454, TIOCSERSWILD: 0x5455, TIOCGLCKTRMIOS: 0x5456,
  TIOCSLCKTRMIOS: 0x5457, TIOCSERGSTRUCT: 0x5458, TIOCSERGETLSR: 0x5459, TIOCSERGETMULTI: 0x545a,
  TIOCSERSETMULTI: 0x545b, TIOCMIWAIT: 0x545c, TIOCGICOUNT: 0x545d, FIOQSIZE: 0x5460,
  TIOCGPTN: 0x80045430, TIOCSPTLCK: 0x40045431, TIOCGDEV: 0x80045432, TIOCSIG: 0x40045436,
  TIOCGPKT: 0x80045438, TIOCGPTLCK: 0x80045439, TIOCGEXCL: 0x80045440, TCGETS2: 0x802c542a,
  TCSETS2: 0x402c542b, TCSETSW2: 0x402c542c, TCSETSF2: 0x402c542d,
};

/** _IOC-encoded ioctls valid on every ABI with its own encoding: [name, dir, type, nr, size]. */
const IOC_COMMON: [string, "" | "r" | "w" | "rw", number, number, number][] = [
  // KVM (linux/kvm.h), the calls a VMM makes on every architecture.
  ["KVM_GET_API_VERSION", "", 0xae, 0x00, 0], ["KVM_CREATE_VM", "", 0xae, 0x01, 0],
  ["KVM_CHECK_EXTENSION", "", 0xae, 0x03, 0], ["KVM_GET_VCPU_MMAP_SIZE", "", 0xae, 0x04, 0],
  ["KVM_CREATE_VCPU", "", 0xae, 0x41, 0], ["KVM_GET_DIRTY_LOG", "w", 0xae, 0x42, 16],
  ["KVM_SET_USER_MEMORY_REGION", "w", 0xae, 0x46, 32], ["KVM_SET_USER_MEMORY_REGION2", "w", 0xae, 0x49, 160],
  ["KVM_CREATE_IRQCHIP", "", 0xae, 0x60, 0], ["KVM_IRQ_LINE", "w", 0xae, 0x61, 8],
  ["KVM_SET_GSI_ROUTING", "w", 0xae, 0x6a, 8], ["KVM_IRQFD", "w", 0xae, 0x76, 32],
  ["KVM_IOEVENTFD", "w", 0xae, 0x79, 64], ["KVM_RUN", "", 0xae, 0x80, 0],
  ["KVM_SET_SIGNAL_MASK", "w", 0xae, 0x8b, 4], ["KVM_GET_MP_STATE", "r", 0xae, 0x98, 4],
  ["KVM_SET_MP_STATE", "w", 0xae, 0x99, 4], ["KVM_GET_VCPU_EVENTS", "r", 0xae, 0x9f, 64],
  ["KVM_SET_VCPU_EVENTS", "w", 0xae, 0xa0, 64], ["KVM_ENABLE_CAP", "w", 0xae, 0xa3, 104],
  ["KVM_SIGNAL_MSI", "w", 0xae, 0xa5, 32], ["KVM_GET_ONE_REG", "w", 0xae, 0xab, 16],
  ["KVM_SET_ONE_REG", "w", 0xae, 0xac, 16], ["KVM_KVMCLOCK_CTRL", "", 0xae, 0xad, 0],
  ["KVM_ARM_VCPU_INIT", "w", 0xae, 0xae, 32], ["KVM_ARM_PREFERRED_TARGET", "r", 0xae, 0xaf, 32],
  ["KVM_GET_REG_LIST", "rw", 0xae, 0xb0, 8], ["KVM_CREATE_DEVICE", "rw", 0xae, 0xe0, 12],
  ["KVM_SET_DEVICE_ATTR", "w", 0xae, 0xe1, 24], ["KVM_GET_DEVICE_ATTR", "w", 0xae, 0xe2, 24],
  ["KVM_HAS_DEVICE_ATTR", "w", 0xae, 0xe3, 24],
  // TUN/TAP (linux/if_tun.h), 'T' << 8 with int-sized arguments.
  ["TUNSETNOCSUM", "w", 0x54, 200, 4], ["TUNSETDEBUG", "w", 0x54, 201, 4], ["TUNSETIFF", "w", 0x54, 202, 4],
  ["TUNSETPERSIST", "w", 0x54, 203, 4], ["TUNSETOWNER", "w", 0x54, 204, 4], ["TUNSETLINK", "w", 0x54, 205, 4],
  ["TUNSETGROUP", "w", 0x54, 206, 4], ["TUNGETFEATURES", "r", 0x54, 207, 4],
  ["TUNSETOFFLOAD", "w", 0x54, 208, 4], ["TUNSETTXFILTER", "w", 0x54, 209, 4],
  ["TUNGETIFF", "r", 0x54, 210, 4], ["TUNGETSNDBUF", "r", 0x54, 211, 4], ["TUNSETSNDBUF", "w", 0x54, 212, 4],
  ["TUNGETVNETHDRSZ", "r", 0x54, 215, 4], ["TUNSETVNETHDRSZ", "w", 0x54, 216, 4],
  ["TUNSETQUEUE", "w", 0x54, 217, 4], ["TUNSETIFINDEX", "w", 0x54, 218, 4],
  ["TUNSETVNETLE", "w", 0x54, 220, 4], ["TUNGETVNETLE", "r", 0x54, 221, 4],
  // Block devices (linux/fs.h) with fixed-size arguments.
  ["BLKROSET", "", 0x12, 93, 0], ["BLKROGET", "", 0x12, 94, 0], ["BLKRRPART", "", 0x12, 95, 0],
  ["BLKGETSIZE", "", 0x12, 96, 0], ["BLKFLSBUF", "", 0x12, 97, 0], ["BLKSSZGET", "", 0x12, 104, 0],
  ["BLKDISCARD", "", 0x12, 119, 0], ["BLKIOMIN", "", 0x12, 120, 0], ["BLKIOOPT", "", 0x12, 121, 0],
  ["BLKPBSZGET", "", 0x12, 123, 0], ["BLKDISCARDZEROES", "", 0x12, 124, 0], ["BLKSECDISCARD", "", 0x12, 125, 0],
  ["BLKZEROOUT", "", 0x12, 127, 0],
  // vhost (linux/vhost.h)
  ["VHOST_SET_OWNER", "", 0xaf, 0x01, 0], ["VHOST_RESET_OWNER", "", 0xaf, 0x02, 0],
  ["VHOST_GET_FEATURES", "r", 0xaf, 0x00, 8], ["VHOST_SET_FEATURES", "w", 0xaf, 0x00, 8],
  ["VHOST_SET_MEM_TABLE", "w", 0xaf, 0x03, 8], ["VHOST_SET_VRING_NUM", "w", 0xaf, 0x10, 8],
  ["VHOST_SET_VRING_ADDR", "w", 0xaf, 0x11, 40], ["VHOST_SET_VRING_BASE", "w", 0xaf, 0x12, 8],
  ["VHOST_GET_VRING_BASE", "rw", 0xaf, 0x12, 8], ["VHOST_SET_VRING_KICK", "w", 0xaf, 0x20, 8],
  ["VHOST_SET_VRING_CALL", "w", 0xaf, 0x21, 8], ["VHOST_SET_VRING_ERR", "w", 0xaf, 0x22, 8],
  ["VHOST_VSOCK_SET_GUEST_CID", "w", 0xaf, 0x60, 8], ["VHOST_VSOCK_SET_RUNNING", "w", 0xaf, 0x61, 4],
  ["VHOST_NET_SET_BACKEND", "w", 0xaf, 0x30, 8],
];

/** KVM ioctls whose argument structs are x86's: only meaningful on x86_64 (and x32). */
const IOC_KVM_X86: [string, "" | "r" | "w" | "rw", number, number, number][] = [
  ["KVM_GET_MSR_INDEX_LIST", "rw", 0xae, 0x02, 4], ["KVM_GET_SUPPORTED_CPUID", "rw", 0xae, 0x05, 8],
  ["KVM_GET_MSR_FEATURE_INDEX_LIST", "rw", 0xae, 0x0a, 4], ["KVM_GET_EMULATED_CPUID", "rw", 0xae, 0x09, 8],
  ["KVM_SET_TSS_ADDR", "", 0xae, 0x47, 0], ["KVM_SET_IDENTITY_MAP_ADDR", "w", 0xae, 0x48, 8],
  ["KVM_GET_IRQCHIP", "rw", 0xae, 0x62, 520], ["KVM_SET_IRQCHIP", "r", 0xae, 0x63, 520],
  ["KVM_CREATE_PIT", "", 0xae, 0x64, 0], ["KVM_IRQ_LINE_STATUS", "rw", 0xae, 0x67, 8],
  ["KVM_CREATE_PIT2", "w", 0xae, 0x77, 64], ["KVM_SET_CLOCK", "w", 0xae, 0x7b, 48],
  ["KVM_GET_CLOCK", "r", 0xae, 0x7c, 48], ["KVM_GET_REGS", "r", 0xae, 0x81, 144],
  ["KVM_SET_REGS", "w", 0xae, 0x82, 144], ["KVM_GET_SREGS", "r", 0xae, 0x83, 312],
  ["KVM_SET_SREGS", "w", 0xae, 0x84, 312], ["KVM_TRANSLATE", "rw", 0xae, 0x85, 24],
  ["KVM_INTERRUPT", "w", 0xae, 0x86, 4], ["KVM_GET_MSRS", "rw", 0xae, 0x88, 8],
  ["KVM_SET_MSRS", "w", 0xae, 0x89, 8], ["KVM_GET_FPU", "r", 0xae, 0x8c, 416],
  ["KVM_SET_FPU", "w", 0xae, 0x8d, 416], ["KVM_GET_LAPIC", "r", 0xae, 0x8e, 1024],
  ["KVM_SET_LAPIC", "w", 0xae, 0x8f, 1024], ["KVM_SET_CPUID2", "w", 0xae, 0x90, 8],
  ["KVM_GET_CPUID2", "rw", 0xae, 0x91, 8], ["KVM_NMI", "", 0xae, 0x9a, 0],
  ["KVM_GET_PIT2", "r", 0xae, 0x9f, 112], ["KVM_SET_PIT2", "w", 0xae, 0xa0, 112],
  ["KVM_GET_DEBUGREGS", "r", 0xae, 0xa1, 128], ["KVM_SET_DEBUGREGS", "w", 0xae, 0xa2, 128],
  ["KVM_SET_TSC_KHZ", "", 0xae, 0xa2, 0], ["KVM_GET_TSC_KHZ", "", 0xae, 0xa3, 0],
  ["KVM_GET_XSAVE", "r", 0xae, 0xa4, 4096], ["KVM_SET_XSAVE", "w", 0xae, 0xa5, 4096],
  ["KVM_GET_XCRS", "r", 0xae, 0xa6, 392], ["KVM_SET_XCRS", "w", 0xae, 0xa7, 392],
  ["KVM_SET_GUEST_DEBUG", "w", 0xae, 0x9b, 72], ["KVM_X86_SETUP_MCE", "w", 0xae, 0x9c, 8],
  ["KVM_X86_GET_MCE_CAP_SUPPORTED", "r", 0xae, 0x9d, 8], ["KVM_GET_XSAVE2", "r", 0xae, 0xcf, 4096],
  ["KVM_SET_BOOT_CPU_ID", "", 0xae, 0x78, 0], ["KVM_SET_NR_MMU_PAGES", "", 0xae, 0x44, 0],
];

// ---------------------------------------------------------------------------------------------
// Per-ABI tables, built on first use

/** Name prefixes whose values this module does not know for an ABI: they decode to "unknown". */
function unknownFamilies(arch: ArchInfo): RegExp | undefined {
  const n = arch.name;
  const parts: string[] = [];
  if (PARISC.has(n)) parts.push("O_", "MAP_", "SOCK_", "SIG", "MADV_", "F_", "FASYNC", "EFD_", "TFD_", "IN_", "SFD_", "MFD_HUGE");
  if (MIPS.has(n)) parts.push("SIG", "RLIMIT_", "SA_", "SO_");
  if (PPC.has(n) || MIPS.has(n) || SH.has(n) || PARISC.has(n)) parts.push("TC", "TIOC", "FIO");
  if (parts.length === 0) return undefined;
  return new RegExp(`^(?:${parts.join("|")})`);
}

const tables = new Map<string, Map<string, number>>();

/**
 * The constant table for an ABI: name -> value as a signed or unsigned JS number (values
 * are at most 32 bits; a negative value such as AT_FDCWD is sign-extended to 64 bits by the
 * caller, as libc passes it). Names in a family this module does not know for the ABI are
 * absent, so they decode as unknown.
 */
export function constantTable(arch: ArchInfo): ReadonlyMap<string, number> {
  let t = tables.get(arch.name);
  if (t) return t;
  const n = arch.name;
  const all: Table = {
    ...O_GENERIC, ...(ARM_FCNTL.has(n) ? O_ARM : {}), ...(PPC.has(n) ? O_PPC : {}), ...(MIPS.has(n) ? O_MIPS : {}),
    ...MAP_GENERIC, ...(PPC.has(n) ? MAP_PPC : {}), ...(MIPS.has(n) ? MAP_MIPS : {}),
    ...(X86_64.has(n) || n === "x86" ? { MAP_32BIT: 0x40 } : {}),
    ...PROT, ...MADV, ...AF, ...(MIPS.has(n) ? SOCK_MIPS : SOCK_GENERIC),
    ...FUTEX, ...CLONE, ...PRCTL, ...SECCOMP, ...FCNTL_GENERIC, ...(MIPS.has(n) ? FCNTL_MIPS : {}),
    ...SIGNALS_GENERIC, ...MISC, ...TTY_IOCTLS,
  };
  // Flags defined as O_CLOEXEC / O_NONBLOCK of the ABI.
  for (const p of ["EFD", "TFD", "SFD", "IN"]) {
    all[`${p}_CLOEXEC`] = all.O_CLOEXEC;
    all[`${p}_NONBLOCK`] = all.O_NONBLOCK;
  }
  all.EPOLL_CLOEXEC = all.O_CLOEXEC;
  all.PIDFD_NONBLOCK = all.O_NONBLOCK;
  all.PIDFD_THREAD = all.O_EXCL;
  // strace names real-time signals SIGRT_1 … SIGRT_32 (the kernel's SIGRTMIN + n).
  if (!MIPS.has(n) && !PARISC.has(n)) for (let i = 0; i <= 32; i++) all[`SIGRT_${i}`] = 32 + i;
  const layout = iocLayout(arch);
  for (const [name, dir, type, nr, size] of IOC_COMMON) all[name] = ioc(layout, dir, type, nr, size);
  if (X86_64.has(n)) for (const [name, dir, type, nr, size] of IOC_KVM_X86) all[name] = ioc(layout, dir, type, nr, size);
  // Block ioctls whose size is sizeof(size_t) or u64.
  all.BLKGETSIZE64 = ioc(layout, "r", 0x12, 114, arch.bits === 64 && n !== "x32" && n !== "mips64n32" && n !== "mipsel64n32" ? 8 : 4);
  all.BLKBSZGET = ioc(layout, "r", 0x12, 112, arch.bits === 64 && n !== "x32" ? 8 : 4);
  const unknown = unknownFamilies(arch);
  t = new Map();
  for (const [k, v] of Object.entries(all)) {
    if (unknown && unknown.test(k) && !(k in PRCTL) && !(k in SECCOMP) && !(k in CLONE) && !(k in FUTEX)) continue;
    t.set(k, v);
  }
  tables.set(arch.name, t);
  return t;
}

/** The value of one constant on an ABI, or undefined when unknown there. */
export function constantValue(arch: ArchInfo, name: string): number | undefined {
  return constantTable(arch).get(name);
}

/**
 * A readable name for `value` in the families given by prefix (for comments in learned
 * policies): exact matches first, then flag combinations (`SOCK_STREAM|SOCK_CLOEXEC`).
 * Undefined when nothing fits exactly.
 */
export function constantName(arch: ArchInfo, value: number, prefixes: readonly string[], flagPrefixes: readonly string[] = []): string | undefined {
  const t = constantTable(arch);
  const v = value >>> 0;
  const exact = (pfx: readonly string[]): [string, number][] =>
    [...t].filter(([k]) => pfx.some((p) => k.startsWith(p)) && !k.startsWith("__"));
  const base = exact(prefixes);
  for (const [k, x] of base) if ((x >>> 0) === v) return k;
  if (flagPrefixes.length === 0) return undefined;
  // Base value (a non-flag name) plus single-bit flags.
  const flags = exact(flagPrefixes).filter(([, x]) => x > 0 && (x & (x - 1)) === 0);
  let rest = v;
  const names: string[] = [];
  for (const [k, x] of flags) {
    if ((rest & x) === x && !names.some((nm) => t.get(nm) === x)) {
      names.push(k);
      rest = (rest & ~x) >>> 0;
    }
  }
  if (rest === 0 && names.length > 0) return names.join("|");
  const head = base.find(([, x]) => (x >>> 0) === rest);
  if (head) return [head[0], ...names].join("|");
  return undefined;
}
