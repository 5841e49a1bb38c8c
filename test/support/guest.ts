// The kernel oracle inside QEMU guests of other arches (aarch64, s390x) on this x86_64 host:
// test/native/oracle.c cross-compiled statically, packed as /init into an initramfs (newc cpio,
// written here) with one /batch file holding every request of a run, booted under TCG, its
// answers read back from the serial console (base64 framed by SFANS/SFEND lines, see "guest
// mode" in oracle.c). One boot serves a whole test run: TCG boots cost seconds, requests do not.
// Needs what scripts/ci.d/30-qemu-cross.sh installs; guestSkipReason says what is missing.
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./corpus.js";
import { ORACLE_SRC, OUT_DIR, parseAnswer, WIRE_WORDS, type HelperAnswer, type WireOrder } from "./oracle.js";
import { InputBatch, DATA_WORDS } from "../../src/engine/data.js";

export const CROSS_CACHE = join(repoRoot, ".cache", "qemu-cross");

export interface GuestArch {
  /** The summary name (`[kernel ARCH]`). */
  name: "aarch64" | "s390x";
  /** AUDIT_ARCH token of the guest's native ABI. */
  token: number;
  order: WireOrder;
  /** Mask applied to the number register to get seccomp_data.nr (s390x: int_code & 0xffff). */
  nrMask: number;
  qemu: string;
  /** Machine options; `pauth-impdef` keeps -cpu max's pointer authentication cheap under TCG. */
  machine: string[];
  console: string;
  cc: string;
  kernel: string;
  /** The Debian packages that bring the tools (for skip reasons). */
  packages: { qemu: string; cc: string };
}

export const GUEST_ARCHES: readonly GuestArch[] = [
  {
    name: "aarch64", token: 0xc00000b7, order: "le", nrMask: 0xffffffff,
    qemu: "qemu-system-aarch64", machine: ["-M", "virt", "-cpu", "max,pauth-impdef=on"], console: "ttyAMA0",
    cc: "aarch64-linux-gnu-gcc", kernel: "vmlinuz-aarch64",
    packages: { qemu: "qemu-system-arm", cc: "gcc-aarch64-linux-gnu libc6-dev-arm64-cross" },
  },
  {
    name: "s390x", token: 0x80000016, order: "be", nrMask: 0xffff,
    qemu: "qemu-system-s390x", machine: ["-M", "s390-ccw-virtio"], console: "ttysclp0",
    cc: "s390x-linux-gnu-gcc", kernel: "vmlinuz-s390x",
    packages: { qemu: "qemu-system-misc", cc: "gcc-s390x-linux-gnu libc6-dev-s390x-cross" },
  },
];

export function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Why this arch's guest cannot run here, or undefined. */
export function guestSkipReason(a: GuestArch): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (!which(a.qemu)) return `${a.qemu} is not installed (scripts/ci.d/30-qemu-cross.sh installs ${a.packages.qemu})`;
  if (!which(a.cc)) return `${a.cc} is not installed (scripts/ci.d/30-qemu-cross.sh installs ${a.packages.cc})`;
  if (!existsSync(join(CROSS_CACHE, a.kernel))) return `no guest kernel in .cache/qemu-cross/${a.kernel} (scripts/ci.d/30-qemu-cross.sh downloads it)`;
  return undefined;
}

/** The Debian package the guest kernel came from (for logs). */
export function guestKernelPackage(a: GuestArch): string {
  const p = join(CROSS_CACHE, `${a.kernel}.package`);
  return existsSync(p) ? readFileSync(p, "utf8").trim() : "unknown package";
}

const mtime = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : 0);

/** Cross-compiles a static program for the guest when missing or stale; returns its path. */
export function buildStatic(a: GuestArch, src: string, name: string, extra: string[] = []): string {
  const bin = join(OUT_DIR, `${name}-${a.name}`);
  if (mtime(bin) > mtime(src)) return bin;
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync(a.cc, ["-O2", "-static", ...extra, "-o", tmp, src], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot build ${src} for ${a.name}:\n${r.error ?? ""}${r.stderr}`);
  }
  renameSync(tmp, bin);
  return bin;
}

// ---- the initramfs ----------------------------------------------------------------------------

export interface CpioFile {
  name: string;
  data: Uint8Array;
  /** Permission bits (regular file). */
  mode: number;
}

/** A newc ("070701") cpio archive of regular files, as the kernel unpacks an initramfs. */
export function newcArchive(files: readonly CpioFile[]): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (name: string, mode: number, data: Uint8Array, ino: number) => {
    const f = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const hdr = Buffer.from("070701" + f.map((v) => v.toString(16).padStart(8, "0")).join("") + name + "\0", "latin1");
    parts.push(hdr, pad4(hdr.length), Buffer.from(data), pad4(data.length));
  };
  files.forEach((f, i) => entry(f.name, 0o100000 | f.mode, f.data, i + 1));
  entry("TRAILER!!!", 0, new Uint8Array(0), 0);
  return Buffer.concat(parts);
}

// ---- one boot ---------------------------------------------------------------------------------

export const MODE = { probe: 0, accept: 1, eval: 2 } as const;

export interface GuestRecord {
  mode: (typeof MODE)[keyof typeof MODE];
  request: Buffer[];
}

export interface GuestRun {
  answers: HelperAnswer[];
  /** Wall time from QEMU's start to the first answer (boot) and to the last (all). */
  bootMs: number;
  totalMs: number;
  /** Wall time at which each answer had arrived (a record's time is the difference). */
  answerMs: number[];
}

/** The /batch file: "SFBATCH1", then { u32 mode; u32 len; bytes } per record, native order. */
function batchFile(a: GuestArch, records: readonly GuestRecord[]): Buffer {
  const parts: Buffer[] = [Buffer.from("SFBATCH1", "latin1")];
  for (const r of records) {
    const body = Buffer.concat(r.request);
    const h = Buffer.alloc(8);
    if (a.order === "le") {
      h.writeUInt32LE(r.mode, 0);
      h.writeUInt32LE(body.length, 4);
    } else {
      h.writeUInt32BE(r.mode, 0);
      h.writeUInt32BE(body.length, 4);
    }
    parts.push(h, body);
  }
  return Buffer.concat(parts);
}

/**
 * Boots the guest once with `records` and returns each record's answer. `extra` files go into
 * the initramfs too (programs the records refer to). Fails (throws) on a guest failure, a
 * missing answer, or when `timeoutMs` passes.
 */
export async function runGuest(a: GuestArch, records: readonly GuestRecord[], timeoutMs: number, extra: CpioFile[] = []): Promise<GuestRun> {
  const init = buildStatic(a, ORACLE_SRC, "oracle");
  const dir = join(OUT_DIR, "guest");
  mkdirSync(dir, { recursive: true });
  const initrd = join(dir, `initrd-${a.name}-${process.pid}.cpio`);
  writeFileSync(initrd, newcArchive([
    { name: "init", data: readFileSync(init), mode: 0o755 },
    { name: "batch", data: batchFile(a, records), mode: 0o644 },
    ...extra,
  ]));
  const args = [
    ...a.machine, "-m", "512", "-smp", "1", "-nographic", "-nic", "none", "-no-reboot",
    "-kernel", join(CROSS_CACHE, a.kernel), "-initrd", initrd,
    "-append", `console=${a.console} panic=-1 quiet`,
  ];
  const t0 = performance.now();
  let bootMs = 0;
  const answerMs: number[] = [];
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(a.qemu, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      const all = Buffer.concat(out).toString("latin1");
      const last = all.split("\n").filter((l) => !/^[A-Za-z0-9+/=]+\r?$/.test(l)).slice(-3).join(" | ");
      reject(new Error(`${a.name} guest: no end after ${timeoutMs / 1000} s (${(all.match(/SFEND/g) ?? []).length} of ${records.length} answers; console: ${last})`));
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => {
      const now = performance.now() - t0;
      if (!bootMs && b.includes("SFANS")) bootMs = now;
      for (let at = b.indexOf("SFEND"); at >= 0; at = b.indexOf("SFEND", at + 5)) answerMs.push(now);
      out.push(b);
    });
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", () => {
      clearTimeout(timer);
      rmSync(initrd, { force: true });
      const all = Buffer.concat(out).toString("latin1");
      writeFileSync(join(dir, `console-${a.name}.log`), all);
      if (!all.includes("SFDONE")) {
        const fail = /SFFAIL .*/.exec(all)?.[0];
        reject(new Error(`${a.name} guest ended without its answers: ${fail ?? (Buffer.concat(err).toString().trim().slice(-300) || all.slice(-600))}`));
      } else {
        resolve(all);
      }
    });
  });
  const totalMs = performance.now() - t0;
  return { answers: parseConsole(text, records, a.order), bootMs, totalMs, answerMs };
}

/** The answers framed on the console, in record order. */
function parseConsole(text: string, records: readonly GuestRecord[], order: WireOrder): HelperAnswer[] {
  const lines = text.split(/\r?\n/);
  const answers: HelperAnswer[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^SFANS (\d+) (\d+)$/.exec(lines[i].replace(/\r/g, ""));
    if (!m) continue;
    const rec = Number(m[1]);
    const b64: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith("SFEND"); i++) b64.push(lines[i].replace(/\r/g, ""));
    const body = Buffer.from(b64.join(""), "base64");
    if (rec !== answers.length || body.length !== Number(m[2])) throw new Error(`guest answer ${rec}: ${body.length} bytes, framed ${m[2]} (console garbled?)`);
    const mode = Object.keys(MODE)[records[rec].mode];
    answers.push(parseAnswer(body, mode, order));
  }
  if (answers.length !== records.length) throw new Error(`guest gave ${answers.length} answers for ${records.length} records`);
  return answers;
}

/**
 * The wire inputs (nr lo, nr hi, args lo/hi) as the seccomp_data words a filter on the guest
 * loads: nr as the arch's entry code keeps it, the guest's token, the trampoline's ip, and the
 * 64-bit halves in the guest's byte order (on s390x word 2+2i is the HIGH half).
 */
export function guestBatch(a: GuestArch, wire: Uint32Array, ip: bigint): InputBatch {
  const n = wire.length / WIRE_WORDS;
  const b = new InputBatch(n);
  const w = b.words;
  const half = (lo: number, hi: number): [number, number] => (a.order === "le" ? [lo, hi] : [hi, lo]);
  const [ip0, ip1] = half(Number(ip & 0xffffffffn), Number(ip >> 32n));
  for (let i = 0; i < n; i++) {
    const s = i * WIRE_WORDS;
    const d = i * DATA_WORDS;
    w[d] = (wire[s] & a.nrMask) >>> 0;
    w[d + 1] = a.token;
    w[d + 2] = ip0;
    w[d + 3] = ip1;
    for (let k = 0; k < 6; k++) {
      const [x, y] = half(wire[s + 2 + 2 * k], wire[s + 3 + 2 * k]);
      w[d + 4 + 2 * k] = x;
      w[d + 5 + 2 * k] = y;
    }
  }
  return b;
}
