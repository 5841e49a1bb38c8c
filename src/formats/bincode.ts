// The Firecracker / BoxLite compiled-filter container: a bincode 1 (fixed-int, little-endian)
// `Map<String, Vec<u64>>` from thread category ("vmm", "api", "vcpu") to its filter
// (docs/formats.md section 5.2). Firecracker v0.25 to v1.14 read exactly this; v1.12+ also refuse
// input over 100 000 bytes, a limit mirrored here so that a file sysfence accepts is one the
// runtime accepts too.
//
//   u64 LE   number of entries
//   per entry: u64 LE key length, UTF-8 key, u64 LE instruction count n, n x 8 bytes
//
// Each instruction is the LE u64 `code | jt<<16 | jf<<24 | k<<32`, which is byte for byte the
// canonical little-endian sock_filter: no conversion is needed in either direction.
import { InputError } from "../errors.js";
import { Program } from "../engine/program.js";

/** Firecracker's decode limit (bytes), the default of readBincode. */
export const BINCODE_DEFAULT_LIMIT = 100_000;

export interface ReadBincodeOptions {
  /** Refuse input larger than this many bytes (default 100 000, like Firecracker). */
  limit?: number;
  /** Prefix for errors, usually the file name. */
  where?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8enc = new TextEncoder();

/**
 * Parses a bincode thread map. Strict by design: detection (detect.ts) relies on "parses
 * exactly" to tell a bincode map from a raw filter, so every byte must be accounted for.
 * Errors say at which byte offset, and what was being read.
 */
export function readBincode(bytes: Uint8Array, opts: ReadBincodeOptions = {}): Map<string, Program> {
  const { where } = opts;
  const limit = opts.limit ?? BINCODE_DEFAULT_LIMIT;
  if (bytes.length > limit) {
    throw new InputError(
      `${bytes.length} bytes is over the bincode reader's limit of ${limit} bytes ` +
        `(Firecracker refuses such input too; raise the limit to read it anyway)`,
      where,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  const fail = (msg: string, at = off): never => {
    throw new InputError(`bincode: at byte offset ${at}: ${msg}`, where);
  };
  const u64 = (what: string): bigint => {
    if (bytes.length - off < 8) {
      fail(`truncated while reading ${what} (u64 needs 8 bytes, ${bytes.length - off} left)`);
    }
    const v = view.getBigUint64(off, true);
    off += 8;
    return v;
  };

  const count = u64("the entry count");
  // Smallest possible entry: key length + instruction count, both u64, empty key and program.
  if (count > BigInt(bytes.length - off) / 16n) {
    fail(`entry count ${count} cannot fit in the ${bytes.length - off} bytes that follow (an entry takes at least 16)`, 0);
  }
  const map = new Map<string, Program>();
  for (let i = 0; i < Number(count); i++) {
    const lenAt = off;
    const keyLen = u64(`the key length of entry ${i}`);
    if (keyLen > BigInt(bytes.length - off)) {
      fail(`key length ${keyLen} of entry ${i} exceeds the ${bytes.length - off} bytes left`, lenAt);
    }
    const keyAt = off;
    let key: string;
    try {
      key = utf8.decode(bytes.subarray(off, off + Number(keyLen)));
    } catch {
      return fail(`the key of entry ${i} is not valid UTF-8`, keyAt);
    }
    off += Number(keyLen);
    if (map.has(key)) fail(`duplicate key "${key}" (entry ${i})`, keyAt);
    const nAt = off;
    const n = u64(`the instruction count of entry ${i} ("${key}")`);
    if (n > BigInt(bytes.length - off) / 8n) {
      fail(
        `instruction count ${n} of entry ${i} ("${key}") needs ${n * 8n} bytes; ${bytes.length - off} are left`,
        nAt,
      );
    }
    const len = Number(n) * 8;
    // A copy (new Uint8Array), not bytes.slice(): on a Node Buffer slice() is a view.
    map.set(key, new Program(new Uint8Array(bytes.subarray(off, off + len))));
    off += len;
  }
  if (off !== bytes.length) {
    fail(`${bytes.length - off} trailing byte${bytes.length - off === 1 ? "" : "s"} after the last entry`);
  }
  return map;
}

/** Rust's BTreeMap<String, _> order: by UTF-8 bytes (not JS's UTF-16 code units). */
function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Writes a thread map. Keys are lower-cased, because Firecracker lower-cases them when it
 * reads the map back ("VCPU" would otherwise be looked up as "vcpu" and never match), and sorted
 * in Rust's BTreeMap order, which makes the output reproducible and the same as Firecracker's own
 * v1.13+ builds. Two keys that become equal after lower-casing are an error, not a silent merge.
 */
export function writeBincode(
  threads: ReadonlyMap<string, Program> | Iterable<readonly [string, Program]> | Record<string, Program>,
): Uint8Array {
  const entries: [string, Program][] =
    Symbol.iterator in Object(threads)
      ? [...(threads as Iterable<readonly [string, Program]>)].map(([k, p]) => [k, p])
      : Object.entries(threads as Record<string, Program>);
  const seen = new Map<string, string>();
  const rows = entries.map(([key, program]) => {
    const lower = key.toLowerCase();
    const prev = seen.get(lower);
    if (prev !== undefined) {
      throw new InputError(`thread names "${prev}" and "${key}" collide: both are "${lower}" once lower-cased`);
    }
    seen.set(lower, key);
    return { key: utf8enc.encode(lower), program };
  });
  rows.sort((a, b) => compareUtf8(a.key, b.key));
  let size = 8;
  for (const r of rows) size += 16 + r.key.length + r.program.bytes.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let off = 0;
  v.setBigUint64(off, BigInt(rows.length), true);
  off += 8;
  for (const r of rows) {
    v.setBigUint64(off, BigInt(r.key.length), true);
    off += 8;
    out.set(r.key, off);
    off += r.key.length;
    v.setBigUint64(off, BigInt(r.program.length), true);
    off += 8;
    out.set(r.program.bytes, off);
    off += r.program.bytes.length;
  }
  return out;
}
