// The one errno table: names a policy or a C file may use for an ERRNO action's data. Read by the
// OCI frontend (Podman's `errno`/`defaultErrno`), minijail's `return EPERM` and the C reader.
//
// asm-generic/errno-base.h (1-34) is the same on every Linux ABI, alpha, mips, parisc and sparc
// too; EWOULDBLOCK is defined as EAGAIN in asm-generic/errno.h (and in every ABI's own errno.h).
// Above 34 the numbers differ per ABI; only ENOSYS is kept (containers-common's default errno,
// and what C filters return for unknown calls), with its MIPS (89) and PA-RISC (251) values.
import { ownTable } from "../tables.js";
import type { ArchInfo } from "./arches.js";

/** errno-base.h names (and the EWOULDBLOCK alias), the same number on every ABI. */
export const ERRNO_BASE: Readonly<Record<string, number>> = ownTable({
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, EWOULDBLOCK: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15,
  EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23,
  EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EMLINK: 31,
  EPIPE: 32, EDOM: 33, ERANGE: 34,
});

/** ENOSYS on `arch`: 38 generic, 89 MIPS, 251 PA-RISC (no arch: the generic value). */
export function enosys(arch?: ArchInfo): number {
  if (arch?.table.startsWith("mips")) return 89;
  if (arch?.table.startsWith("parisc")) return 251;
  return 38;
}

/** The errno number of `name` (any case, surrounding blanks ignored) on `arch`, or undefined. */
export function errnoNumber(name: string, arch: ArchInfo): number | undefined {
  const n = name.trim().toUpperCase();
  if (n in ERRNO_BASE) return ERRNO_BASE[n];
  return n === "ENOSYS" ? enosys(arch) : undefined;
}
