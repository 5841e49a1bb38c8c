// In-process access to the kernel through koffi: prctl and the raw seccomp syscall. Loaded
// lazily, so everything else in sysfence works where koffi or libc cannot be loaded (the
// functions then throw EnvironmentError).
import { createRequire } from "node:module";
import { EnvironmentError } from "../errors.js";
import { hostArch } from "../syscalls/arches.js";
import { syscallNumber } from "../syscalls/index.js";

const require = createRequire(import.meta.url);

interface Libc {
  koffi: any;
  prctl: (option: number, a2: number, a3: number, a4: number, a5: number) => number;
  /** seccomp(op, flags, ptr) via syscall(2); ptr is a Buffer (passed as its address) or null. */
  seccomp: (op: number, flags: number, ptr: Buffer | null) => number;
  /** seccomp(SECCOMP_SET_MODE_FILTER-style op, flags, &{len, filter}) with a real sock_fprog. */
  seccompProg: (op: number, flags: number, len: number, filter: Buffer) => number;
  errno: () => number;
}

let libc: Libc | undefined;

/**
 * koffi and the C library, for in-process calls (`what` names the feature in the error when
 * this is not Linux or koffi cannot load). Shared by seccomp installs and live-filter reads.
 */
export function openLibc(what: string): { koffi: any; lib: any } {
  if (process.platform !== "linux") throw new EnvironmentError(`${what} needs Linux (this is ${process.platform})`);
  let koffi: any;
  try {
    koffi = require("koffi");
  } catch (e) {
    throw new EnvironmentError(`cannot load koffi: ${(e as Error).message}`);
  }
  return { koffi, lib: koffi.load("libc.so.6") };
}

export function loadLibc(): Libc {
  if (libc) return libc;
  const { koffi, lib } = openLibc("seccomp");
  const prctl = lib.func("int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)");
  const syscall = lib.func("long syscall(long number, ...)");
  const nr = syscallNumber(hostArch(), "seccomp");
  if (nr === undefined) throw new EnvironmentError(`no seccomp syscall number for ${hostArch().name}`);
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: koffi lays it out
  // with the C ABI (6 bytes of padding on 64-bit) and passes the Buffer's address.
  const SockFprog = koffi.struct("sysfence_sock_fprog", { len: "uint16_t", filter: "void *" });
  const SockFprogPtr = koffi.pointer(SockFprog);
  libc = {
    koffi,
    seccompProg: (op, flags, len, filter) =>
      Number(syscall(nr, "unsigned int", op, "unsigned int", flags, SockFprogPtr, { len, filter })),
    prctl: (o, a2, a3, a4, a5) => prctl(o, a2, a3, a4, a5),
    seccomp: (op, flags, ptr) =>
      Number(syscall(nr, "unsigned int", op, "unsigned int", flags, "void *", ptr)),
    errno: () => koffi.errno(),
  };
  return libc;
}

/** errno names for the values the seccomp and prctl calls return. */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 3: "ESRCH", 7: "E2BIG", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY",
  22: "EINVAL", 38: "ENOSYS", 95: "EOPNOTSUPP",
};
