// Trace bytes from a file or stdin, gunzipped when they start with the gzip magic, in large
// Buffer chunks (1 MiB): the parsers split lines themselves, because line-by-line readers are
// several times slower than a million lines a second needs (docs/evidence.md §11 "Traces").
import { createReadStream, openSync, readSync, closeSync, statSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import { cannotRead } from "../read.js";
import { InputError } from "../errors.js";

export const CHUNK_BYTES = 1 << 20;

/** One-line read errors for traces: the same wording as every other reader (src/read.ts). */
export const readError = cannotRead;

/** True when the bytes start with the gzip magic (1f 8b). */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

export interface TraceSource {
  /** Label for messages: the path, or "<stdin>". */
  label: string;
  gzip: boolean;
  /** Size of the file as stored (compressed size for gzip), when known: for progress. */
  size?: number;
  /** Decoded chunks. `onRaw(n)` reports stored bytes consumed, for progress. */
  chunks(onRaw?: (bytes: number) => void): AsyncIterable<Buffer>;
}

/** Opens a trace: "-" is stdin. Errors name the file. */
export async function openTrace(path: string): Promise<TraceSource> {
  if (path === "-") return openStdin();
  const label = path;
  let size: number;
  let head = Buffer.alloc(2);
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError("is a directory, not a trace", label);
    size = st.size;
    const fd = openSync(path, "r");
    try {
      const n = readSync(fd, head, 0, 2, 0);
      head = head.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw readError(e, label);
  }
  const gzip = isGzip(head);
  return {
    label,
    gzip,
    size,
    chunks(onRaw) {
      const file = createReadStream(path, { highWaterMark: CHUNK_BYTES });
      if (onRaw) file.on("data", (c) => onRaw((c as Buffer).length));
      if (!gzip) return file;
      const gz = createGunzip({ chunkSize: CHUNK_BYTES });
      file.on("error", (e) => gz.destroy(e));
      return file.pipe(gz);
    },
  };
}

async function openStdin(): Promise<TraceSource> {
  const it = process.stdin[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : (first.value as Buffer);
  const gzip = isGzip(head);
  async function* all(onRaw?: (n: number) => void): AsyncGenerator<Buffer> {
    if (head.length) {
      onRaw?.(head.length);
      yield head;
    }
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      onRaw?.((r.value as Buffer).length);
      yield r.value as Buffer;
    }
  }
  return {
    label: "<stdin>",
    gzip,
    chunks(onRaw) {
      if (!gzip) return all(onRaw);
      return Readable.from(all(onRaw)).pipe(createGunzip({ chunkSize: CHUNK_BYTES }));
    },
  };
}

/** A zlib or stream error as the one-line message the CLI prints. */
export function chunkError(e: unknown, label: string, line: number, gzip: boolean): unknown {
  if (e instanceof InputError || !(e instanceof Error)) return e;
  const err = e as NodeJS.ErrnoException;
  const where = `${label}:${line}`;
  if (gzip && (err.code === "Z_BUF_ERROR" || /unexpected end of file/i.test(err.message))) {
    return new InputError("truncated gzip data (unexpected end of file)", where);
  }
  if (gzip && typeof err.code === "string" && err.code.startsWith("Z_")) {
    return new InputError(`corrupt gzip data (${err.message})`, where);
  }
  if (typeof err.code === "string" && /^E[A-Z]+$/.test(err.code)) return readError(e, where);
  return e; // not an input problem: a bug, reported as such by the CLI
}
