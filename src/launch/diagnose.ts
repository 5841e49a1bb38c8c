// Which syscall killed the VMM. Three sources, each with what it can and cannot see
// (launcher/README.md, "SIGSYS diagnosis"):
//   kmsg        after a death by SIGSYS, the kernel's audit record (type=1326) for the pid, read
//               from /dev/kmsg: syscall number, arch, instruction pointer, action; no arguments;
//   notify      the newest filter's kills become user notifications to the supervisor, which
//               reports the call with all six arguments, then kills the VMM with SIGSYS;
//   permissive  the same, but the call continues: every would-be kill of the run is reported.
import { closeSync, constants, openSync, readSync } from "node:fs";
import { decodeRet, formatRet } from "../engine/actions.js";
import { evaluateStack } from "../engine/run.js";
import { InputBatch } from "../engine/data.js";
import type { Program } from "../engine/program.js";
import { archesByToken } from "../syscalls/arches.js";
import { syscallName } from "../syscalls/index.js";

export type DiagnoseMode = "off" | "kmsg" | "notify" | "permissive";

export interface BlockedCall {
  source: "kmsg" | "notify" | "permissive";
  /** The process (kmsg: thread group) or thread (notify) that made the call. */
  pid: number;
  nr: number;
  /** The syscall's name for its arch, when the table knows it. */
  name?: string;
  arch: string;
  archToken: number;
  ip?: bigint;
  /** All six arguments (notify and permissive only). */
  args?: bigint[];
  /**
   * The action: for kmsg the kernel's (its code= field); for notify/permissive what the
   * original filter stack returns for exactly this call, computed by the engine.
   */
  action?: string;
}

export interface Diagnosis {
  mode: DiagnoseMode;
  calls: BlockedCall[];
  /** Why nothing was found, or what this mode could not see. */
  note?: string;
}

function archName(token: number): string {
  return archesByToken(token)[0]?.name ?? `0x${token.toString(16).padStart(8, "0")}`;
}

function nameOf(token: number, nr: number): string | undefined {
  const a = archesByToken(token);
  for (const arch of a) {
    const n = syscallName(arch, nr);
    if (n) return n;
  }
  return undefined;
}

/** One status line "N pid nr arch ip a0..a5" from the supervisor. */
export function parseNotification(line: string, source: "notify" | "permissive"): BlockedCall | undefined {
  const p = line.trim().split(/\s+/);
  if (p[0] !== "N" || p.length < 11) return undefined;
  const token = Number.parseInt(p[3], 16) >>> 0;
  const nr = Number(p[2]);
  return {
    source, pid: Number(p[1]), nr, name: nameOf(token, nr), arch: archName(token), archToken: token,
    ip: BigInt(p[4]), args: p.slice(5, 11).map((x) => BigInt(x)),
  };
}

/** Adds the original stack's verdict (engine) to calls whose arguments are known. */
export function confirmWithStack(calls: BlockedCall[], stack: readonly Program[]): void {
  if (stack.length === 0) return;
  const known = calls.filter((c) => c.args);
  if (known.length === 0) return;
  const rets = evaluateStack(stack, InputBatch.of(known.map((c) => ({ nr: c.nr, arch: c.archToken, instructionPointer: c.ip, args: c.args }))));
  known.forEach((c, i) => (c.action = formatRet(rets[i])));
}

export interface KmsgRecord {
  seq: number;
  /** Audit timestamp, ms since the epoch. */
  time: number;
  type: number;
  fields: Record<string, string>;
}

/** Parses one /dev/kmsg record holding an audit SECCOMP (1326) message, else undefined. */
export function parseKmsgRecord(text: string): KmsgRecord | undefined {
  const semi = text.indexOf(";");
  if (semi < 0) return undefined;
  const head = text.slice(0, semi).split(",");
  const msg = text.slice(semi + 1).split("\n")[0];
  const m = /type=(\d+) audit\((\d+)\.(\d+):\d+\):(.*)$/.exec(msg);
  if (!m || m[1] !== "1326") return undefined;
  const fields: Record<string, string> = {};
  for (const f of m[4].matchAll(/(\w+)=("[^"]*"|\S+)/g)) fields[f[1]] = f[2].replace(/^"|"$/g, "");
  return { seq: Number(head[1]), time: Number(m[2]) * 1000 + Number(m[3]), type: 1326, fields };
}

/** Reads every audit SECCOMP record in the kernel log (non-blocking). */
export function readKmsgSeccomp(): { records: KmsgRecord[]; error?: string } {
  let fd: number;
  try {
    fd = openSync("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { records: [], error: `cannot read the kernel log (/dev/kmsg: ${code}${code === "EPERM" || code === "EACCES" ? "; needs root or CAP_SYSLOG when kernel.dmesg_restrict is 1" : ""})` };
  }
  const records: KmsgRecord[] = [];
  const buf = Buffer.alloc(8192);
  try {
    for (let i = 0; i < 1_000_000; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EPIPE") continue; // a record was overwritten while we read: go on
        if (code === "EAGAIN") break;
        throw e;
      }
      if (n <= 0) break;
      const text = buf.toString("utf8", 0, n);
      if (!text.includes("type=1326")) continue;
      const r = parseKmsgRecord(text);
      if (r) records.push(r);
    }
  } finally {
    closeSync(fd);
  }
  return { records };
}

/** Audit records become calls. */
export function recordToCall(r: KmsgRecord): BlockedCall {
  const token = Number.parseInt(r.fields.arch ?? "0", 16) >>> 0;
  const nr = Number(r.fields.syscall ?? -1);
  const code = r.fields.code !== undefined ? Number.parseInt(r.fields.code, 16) >>> 0 : undefined;
  return {
    source: "kmsg", pid: Number(r.fields.pid), nr, name: nameOf(token, nr), arch: archName(token), archToken: token,
    ip: r.fields.ip ? BigInt(r.fields.ip) : undefined,
    action: code === undefined ? undefined : formatRet(code),
  };
}

/**
 * After a death by SIGSYS: the kernel's audit records for `pids` since `sinceMs` (the kernel
 * hands records to the log from its audit thread, so this retries for up to `waitMs`).
 */
export async function kmsgDiagnosis(pids: readonly number[], sinceMs: number, waitMs = 600): Promise<Diagnosis> {
  const deadline = Date.now() + waitMs;
  const want = new Set(pids.filter((p) => p > 0));
  for (;;) {
    const { records, error } = readKmsgSeccomp();
    if (error) return { mode: "kmsg", calls: [], note: error };
    const mine = records.filter((r) => want.has(Number(r.fields.pid)) && r.time >= sinceMs - 2000);
    const killing = mine.filter((r) => {
      const code = Number.parseInt(r.fields.code ?? "0", 16) >>> 0;
      const a = decodeRet(code);
      return a.unknown || a.action === "KILL_PROCESS" || a.action === "KILL_THREAD" || r.fields.sig === "31";
    });
    if (killing.length > 0) return { mode: "kmsg", calls: killing.map(recordToCall) };
    if (Date.now() >= deadline) {
      return {
        mode: "kmsg", calls: [],
        note: "no seccomp audit record for the process in the kernel log (records are rate-limited by printk, go to auditd instead when it runs, " +
          "and are only written for actions listed in /proc/sys/kernel/seccomp/actions_logged); rerun with diagnose notify",
      };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One line per call, for the CLI and error messages. */
export function formatCall(c: BlockedCall): string {
  const name = c.name ?? "?";
  const args = c.args ? ` args ${c.args.map((a) => "0x" + a.toString(16)).join(" ")}` : "";
  const ip = c.ip !== undefined ? ` ip 0x${c.ip.toString(16)}` : "";
  const act = c.action ? `: ${c.action}` : "";
  return `${name} (nr ${c.nr}, ${c.arch}) by pid ${c.pid}${args}${ip}${act} [${c.source}]`;
}
