// `-o PATH` as every Unix tool takes it, for every command that writes files:
// - a device or a FIFO (/dev/null, /dev/stdout, a named pipe) is opened and written in place;
// - a regular file, existing or not, is written atomically: the bytes go to a temporary file in
//   the same directory, are flushed, and the temporary file is renamed over PATH, so a failed or
//   interrupted command leaves the previous output whole (a launcher never reads half a filter).
//   An existing file keeps its permissions; a symlink is followed and its target replaced;
// - a directory is refused, except where a command writes one file per thread (`outputKind`).
import { chmodSync, closeSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, mkdirSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";

export type OutputKind = "file" | "stream" | "directory" | "missing";

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw cannotWrite(e, path);
  }
}

function cannotWrite(e: unknown, path: string): InputError {
  return new InputError(`cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, path);
}

/** What PATH is now: a regular file, a stream (device, FIFO, socket), a directory, or nothing. */
export function outputKind(path: string): OutputKind {
  const st = statOrUndefined(path);
  if (!st) return "missing";
  if (st.isDirectory()) return "directory";
  return st.isFile() ? "file" : "stream";
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

/** Writes `data` to PATH (see the top of this file). "-" is standard output. */
export function writeOutput(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  if (path === "-") return writeAll(1, bytes);
  const st = statOrUndefined(path);
  if (st?.isDirectory()) throw new InputError("is a directory (give a file, or a device such as /dev/null)", path);
  if (st && !st.isFile()) {
    let fd: number;
    try {
      fd = openSync(path, "w");
    } catch (e) {
      throw cannotWrite(e, path);
    }
    try {
      writeAll(fd, bytes);
    } catch (e) {
      throw cannotWrite(e, path);
    } finally {
      closeSync(fd);
    }
    return;
  }
  // Replace the file a symlink points to, not the link.
  const target = st ? realpathSync(path) : path;
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", st ? st.mode & 0o7777 : 0o666);
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // openSync's mode passes through the umask; an existing file keeps exactly its own.
    if (st) chmodSync(tmp, st.mode & 0o7777);
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    throw cannotWrite(e, path);
  }
}

/** Makes DIR (and its parents) for one file per thread; a non-directory there is an error. */
export function outputDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw cannotWrite(e, dir);
  }
}
