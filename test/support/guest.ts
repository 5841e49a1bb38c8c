// The kernel oracle inside QEMU guests of other arches (aarch64, s390x) on this x86_64 host:
// test/native/oracle.c cross-compiled statically, packed as /init into an initramfs (newc cpio,
// written here) with one /batch file holding every request of a run, booted under TCG, its
// answers read back from the serial console (base64 framed by SFANS/SFEND lines, see "guest
// mode" in oracle.c). One boot serves a whole test run: TCG boots cost seconds, requests do not.
// Needs what scripts/ci.d/30-qemu-cross.sh installs; guestSkipReason says what is missing.
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
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

/**
 * The 32-bit ARM compiler for the aarch64 guest's compat ABI (the Debian cloud-arm64 kernel has
 * CONFIG_COMPAT=y): a static program without a C library needs only the compiler.
 */
export const ARM_COMPAT_CC = "arm-linux-gnueabihf-gcc";

/** Why the arm compat program cannot be built here, or undefined. */
export function armCompatSkipReason(): string | undefined {
  return which(ARM_COMPAT_CC) ? undefined : `${ARM_COMPAT_CC} is not installed (scripts/ci.d/30-qemu-cross.sh installs gcc-arm-linux-gnueabihf)`;
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
export function buildStatic(a: GuestArch, src: string, name: string, extra: string[] = [], cc = a.cc): string {
  const bin = join(OUT_DIR, `${name}-${a.name}`);
  if (mtime(bin) > mtime(src)) return bin;
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync(cc, ["-O2", "-static", ...extra, "-o", tmp, src], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot build ${src} for ${a.name}:\n${r.error ?? ""}${r.stderr}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/**
 * The native launcher (launcher/) cross-compiled for the guest by launcher/build.mjs (static, as
 * it builds for a host), rebuilt when a source is newer; returns its path.
 */
export function buildLauncher(a: GuestArch): string {
  const bin = join(OUT_DIR, `sysfence-launcher-${a.name}`);
  const src = join(repoRoot, "launcher");
  const newest = Math.max(...["src", "."].flatMap((d) => readdirSync(join(src, d)).filter((f) => /\.(c|h|mjs)$/.test(f)).map((f) => mtime(join(src, d, f)))));
  if (mtime(bin) > newest) return bin;
  mkdirSync(OUT_DIR, { recursive: true });
  const r = spawnSync(process.execPath, [join(src, "build.mjs"), "--quiet", "--out", bin], { encoding: "utf8", env: { ...process.env, CC: a.cc } });
  if (r.status !== 0 || !existsSync(bin)) throw new Error(`cannot build the launcher for ${a.name}:\n${r.stdout}${r.stderr}`);
  return bin;
}

/** One run of the launcher in the guest (oracle.c, "guest mode 3: launch"). */
export interface LaunchRequest {
  /** The launcher's argv after its own path. */
  args: string[];
  /** The filter bytes for its descriptor 3. */
  filters: Uint8Array;
  /** Wait for a seccomp audit record in the kernel log after the exit. */
  waitAudit?: boolean;
}

export interface LaunchAnswer {
  pid: number;
  /** Exit code, or the signal that ended the launcher. */
  code: number | null;
  signal: number | null;
  /** 0, or the errno of opening /dev/kmsg in the guest. */
  kmsgErrno: number;
  /** 0, or the errno of turning audit on in the guest. */
  auditErrno: number;
  status: string;
  output: string;
  /** Kernel log records holding type=1326, as /dev/kmsg gave them. */
  audit: string[];
}

/** The launch record's request, in the guest's byte order. */
export function launchRequest(a: GuestArch, r: LaunchRequest): Buffer[] {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (a.order === "le") b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  };
  const argv = ["/launcher", ...r.args].map((x) => Buffer.from(x, "utf8"));
  return [u32(r.waitAudit ? 1 : 0), u32(argv.length), ...argv.flatMap((x) => [u32(x.length), x]), u32(r.filters.length), Buffer.from(r.filters)];
}

/** Decodes a launch answer's body (after the header). */
export function launchAnswer(a: GuestArch, body: Buffer): LaunchAnswer {
  let at = 0;
  const u32 = () => {
    const v = a.order === "le" ? body.readUInt32LE(at) : body.readUInt32BE(at);
    at += 4;
    return v;
  };
  const blob = () => {
    const n = u32();
    const b = body.subarray(at, at + n);
    at += n;
    return b.toString("utf8");
  };
  const pid = u32();
  const st = u32();
  const kmsgErrno = u32();
  const auditErrno = u32();
  const status = blob();
  const output = blob();
  const audit = blob().split("\0").filter((x) => x.length > 0);
  // The raw wait status: exited when the low 7 bits are 0, else the signal number.
  const sig = st & 0x7f;
  return { pid, code: sig === 0 ? (st >> 8) & 0xff : null, signal: sig === 0 ? null : sig, kmsgErrno, auditErrno, status, output, audit };
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

export const MODE = { probe: 0, accept: 1, eval: 2, launch: 3 } as const;

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
    // Markers may straddle two reads: look in the last few bytes of the previous one as well.
    let tail = Buffer.alloc(0);
    child.stdout.on("data", (b: Buffer) => {
      const now = performance.now() - t0;
      const seen = Buffer.concat([tail, b]);
      if (!bootMs && seen.includes("SFANS")) bootMs = now;
      for (let at = seen.indexOf("SFEND"); at >= 0; at = seen.indexOf("SFEND", at + 5)) answerMs.push(now);
      tail = seen.subarray(Math.max(0, seen.length - 4));
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

/** Request bytes one boot carries at most: the initramfs and the oracle's copy of it live in 512 MiB. */
export const BOOT_BYTES = 48 << 20;

/**
 * Runs `records` in as few boots as fit BOOT_BYTES each (one boot in CI; soaks need several),
 * one after the other, and joins the answers. Times: the first boot's, and the sum of all.
 */
export async function runGuestBoots(a: GuestArch, records: readonly GuestRecord[], timeoutMs: number, extra: CpioFile[] = []): Promise<GuestRun & { boots: number }> {
  const groups: GuestRecord[][] = [[]];
  let bytes = 0;
  for (const r of records) {
    const n = r.request.reduce((s, b) => s + b.length, 0);
    if (bytes + n > BOOT_BYTES && groups[groups.length - 1].length > 0) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1].push(r);
    bytes += n;
  }
  const all: GuestRun = { answers: [], bootMs: 0, totalMs: 0, answerMs: [] };
  for (const g of groups) {
    const run = await runGuest(a, g, timeoutMs, extra);
    if (!all.bootMs) all.bootMs = run.bootMs;
    all.answers.push(...run.answers);
    all.answerMs.push(...run.answerMs.map((ms) => ms + all.totalMs));
    all.totalMs += run.totalMs;
  }
  return { ...all, boots: groups.length };
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
