// Bounded reads of whole input files. Every reader that needs a file in memory (filters and
// policies, assembly text, jail and spec files, `run --inputs`) goes through `readBounded`, with
// the limit of its format from SIZE_LIMITS (README "Formats": the same numbers). A file over its
// limit, a directory or a device is refused in one line naming the file, before any byte is
// parsed; a pipe or FIFO is read up to the limit and refused past it. So naming /dev/zero, /dev/
// urandom or a huge file costs at most the limit in memory and never hangs. Traces are not read
// here: they stream in 1 MiB chunks with a per-line limit (src/traces/source.ts, reader.ts).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { InputError } from "./errors.js";
import { ownTable } from "./tables.js";

const MiB = 1 << 20;

/** Largest file accepted per input kind, in bytes. */
export const SIZE_LIMITS = ownTable({
  /** A FILTER (any container; a policy named as a FILTER too). A 4096-instruction C header is ~150 KB. */
  filter: 16 * MiB,
  /** A policy file (seccompiler, OCI): reading one costs a few times its size in memory. */
  policy: 16 * MiB,
  /** Assembly text for `asm`. */
  asm: 16 * MiB,
  /** A jail options file. */
  jail: 1 * MiB,
  /** A verify spec (assertion) file. */
  spec: 16 * MiB,
  /** `run --inputs` JSON lines (held in memory as one batch). */
  inputs: 256 * MiB,
});
export type SizeLimitKind = keyof typeof SIZE_LIMITS;

const ERRNO_TEXT = ownTable({
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
});

/** "cannot read: no such file" for a failed fs call. */
export function cannotRead(e: unknown, label: string): InputError {
  if (e instanceof InputError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? "";
  return new InputError(`cannot read: ${ERRNO_TEXT[code] ?? (e as Error).message}`, label);
}

function sizeText(n: number): string {
  return n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`;
}

function kindOf(st: import("node:fs").Stats): string | undefined {
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return undefined;
}

/**
 * The bytes of `path` ("-" is stdin), at most `limit` of them. `what` names the kind for
 * messages ("a policy file"). Errors are InputErrors naming the file.
 */
export function readBounded(path: string, limit: number, what: string, label = path === "-" ? "<stdin>" : path): Buffer {
  let fd: number;
  let own = false;
  try {
    if (path === "-") fd = 0;
    else {
      fd = openSync(path, "r");
      own = true;
    }
  } catch (e) {
    throw cannotRead(e, label);
  }
  try {
    const st = fstatSync(fd);
    const bad = kindOf(st);
    if (bad && path !== "-") throw new InputError(`is ${bad}, not ${what}`, label);
    if (st.isFile() && st.size > limit) {
      throw new InputError(`${st.size} bytes is too large for ${what} (limit ${sizeText(limit)})`, label);
    }
    // Read up to limit + 1 bytes: one more than the limit proves the file is over it, whatever
    // stat said (a pipe, /proc, a file still growing).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(limit + 1 - total, MiB);
      if (want <= 0) break;
      const buf = Buffer.allocUnsafe(want);
      let n: number;
      try {
        n = readSync(fd, buf, 0, want, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
          // A non-blocking stdin with nothing yet: wait a little instead of spinning.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        if ((e as NodeJS.ErrnoException).code === "EOF") break;
        throw e;
      }
      if (n === 0) break;
      chunks.push(n === want ? buf : buf.subarray(0, n));
      total += n;
    }
    if (total > limit) throw new InputError(`too large for ${what} (limit ${sizeText(limit)})`, label);
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } catch (e) {
    throw cannotRead(e, label);
  } finally {
    if (own) closeSync(fd);
  }
}

/**
 * The same limit for text handed over by API callers (compilePolicyText, loadPolicy): a reader
 * costs the same whether its text came from a file or from a string, so it refuses the same sizes.
 */
export function refuseOversizedText(text: string, limit: number, what: string, label: string): void {
  // UTF-8 is at least one byte per UTF-16 unit: only texts near the limit need counting.
  if (text.length > limit || (text.length * 3 > limit && Buffer.byteLength(text, "utf8") > limit)) {
    throw new InputError(`${Buffer.byteLength(text, "utf8")} bytes is too large for ${what} (limit ${sizeText(limit)})`, label);
  }
}

/** `readBounded` decoded as UTF-8 text. */
export function readBoundedText(path: string, limit: number, what: string, label?: string): string {
  return readBounded(path, limit, what, label).toString("utf8");
}
