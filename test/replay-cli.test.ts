// `sysfence replay` as a user runs it (the built bin/sysfence.js): outputs, exit codes, gzip,
// stdin, policies as FILTERs, and one-line errors for bad input; the progress bar's rules.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { PassThrough } from "node:stream";
import { repoRoot } from "./support/corpus.js";
import { progressBar, PROGRESS_MIN_BYTES, splitFilterAndTraces } from "../src/cli/commands/replay.js";

const bin = join(repoRoot, "bin/sysfence.js");
let dir: string;

function sf(args: string[], input?: string | Buffer): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir, timeout: 60_000, input });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-replay-cli-"));
  // Denies socket(AF_INET…) with EACCES and kills on ptrace; looks at nothing else.
  writeFileSync(join(dir, "f.asm"), [
    ".arch x86_64", "ld arch", "jeq #AUDIT_ARCH_X86_64, ok, kill", "ok: ld nr", "jeq #socket, sock", "jeq #ptrace, kill",
    "ret ALLOW", "sock: ld args[0].lo", "jeq #2, eacces, allow", "allow: ret ALLOW", "eacces: ret ERRNO(13)", "kill: ret KILL_PROCESS", "",
  ].join("\n"));
  expect(sf(["asm", "f.asm", "-o", "f.bpf"]).code).toBe(0);
  for (const f of ["shapes.strace", "garbage.strace", "unknown-syscall.strace", "audit-raw.log", "calls.jsonl"]) {
    copyFileSync(join(repoRoot, "test/fixtures/traces", f), join(dir, f));
  }
  writeFileSync(join(dir, "clean.strace"), "1  read(0, \"\", 1) = 0\n1  socket(AF_UNIX, SOCK_STREAM, 0) = 3\n");
  writeFileSync(join(dir, "inet.strace"), "1  socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES (Permission denied)\n1  socket(AF_UNIX, SOCK_STREAM, 0) = 3\n");
  writeFileSync(join(dir, "dep.strace"), "1  socket(AF_WHATEVER, SOCK_STREAM, 0) = 3\n");
});

describe("sysfence replay", () => {
  it("exit 0 when nothing is denied, 1 when something is; the first line of the denial", () => {
    const ok = sf(["replay", "f.bpf", "clean.strace"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^total: 2 calls evaluated: 2 allowed, 0 denied, 0 depends$/m);
    const no = sf(["replay", "f.bpf", "inet.strace"]);
    expect(no.code).toBe(1);
    expect(no.out).toContain("denied:\n  socket: ERRNO(13), 1 call, first at inet.strace:1\n      1  socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES");
  });
  it("--strict also fails on depends; --json is one object", () => {
    expect(sf(["replay", "f.bpf", "dep.strace"]).code).toBe(0);
    expect(sf(["replay", "f.bpf", "dep.strace", "--strict"]).code).toBe(1);
    const j = JSON.parse(sf(["replay", "f.bpf", "dep.strace", "--json"]).out);
    expect(j).toMatchObject({
      filters: [{ file: "f.bpf", thread: null }], method: "symbolic",
      traces: [{ file: "dep.strace", format: "strace", gzip: false, lines: 1, calls: 1 }],
      totals: { events: 1, evaluated: 1, allowed: 0, denied: 0, depends: 1 },
    });
    expect(j.syscalls[0].outcomes[0]).toMatchObject({ kind: "depends", dependsOn: ["arg0"], actions: ["ERRNO(13)", "ALLOW"] });
  });
  it("several traces of different formats, gzip, and stdin", () => {
    writeFileSync(join(dir, "inet.strace.gz"), gzipSync(readFileSync(join(dir, "inet.strace"))));
    const r = sf(["replay", "f.bpf", "clean.strace", "inet.strace.gz", "calls.jsonl", "--json"]);
    const j = JSON.parse(r.out);
    expect(j.traces.map((t: { format: string; gzip: boolean }) => [t.format, t.gzip])).toEqual([["strace", false], ["strace", true], ["jsonl", false]]);
    expect(j.totals.denied).toBe(2); // inet.strace.gz line 1 and calls.jsonl line 2 (AF_INET)
    const s = sf(["replay", "f.bpf", "-"], readFileSync(join(dir, "inet.strace")));
    expect(s.code).toBe(1);
    expect(s.out).toContain("first at <stdin>:1");
    const g = sf(["replay", "f.bpf", "-"], gzipSync(readFileSync(join(dir, "inet.strace"))));
    expect(g.out).toContain("<stdin>: strace (gzip), 2 lines, 2 calls");
  });
  it("a stack of filters, and a policy JSON as FILTER", () => {
    writeFileSync(join(dir, "p.json"), JSON.stringify({ main: { default_action: "kill_process", filter_action: "allow", filter: [{ syscall: "read" }, { syscall: "socket" }] } }));
    const r = sf(["replay", "p.json", "f.bpf", "clean.strace", "--arch", "x86_64"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^replay: p\.json\[main\] \+ f\.bpf \(a stack, oldest first; decided by the symbolic engine\)$/m);
    const audit = sf(["replay", "p.json", "audit-raw.log", "--arch", "x86_64"]);
    expect(audit.code).toBe(1); // close, write (x32), msync (aarch64), getpid are not in the policy
  });
});

describe("sysfence replay: bad input is one line, exit 2", () => {
  it.each([
    [["f.bpf", "garbage.strace"], /^sysfence: garbage\.strace:3: not a strace line: "this is not strace output"\n$/],
    [["f.bpf", "unknown-syscall.strace"], /^sysfence: unknown-syscall\.strace:2: unknown syscall "frobnicate" for arch x86_64\n$/],
    [["f.bpf"], /^sysfence: give at least one TRACE after the FILTER/],
    [["clean.strace"], /^sysfence: give a FILTER before the traces\n$/],
    [["f.bpf", "clean.strace", "f.bpf"], /^sysfence: f\.bpf: not a trace \(strace text, audit log or JSON lines\); FILTERs come before TRACEs\n$/],
    [["f.bpf", "clean.strace", "missing.strace"], /^sysfence: missing\.strace: cannot read: no such file\n$/],
    [["f.bpf", "clean.strace", "--trace-format", "ltrace"], /^sysfence: --trace-format takes strace, audit, jsonl, not "ltrace"\n$/],
  ])("%j", (args, msg) => {
    const r = sf(["replay", ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });
  it("truncated gzip", () => {
    const big = Buffer.from(Array.from({ length: 30000 }, (_, i) => `1  close(${i}) = 0\n`).join(""));
    const gz = gzipSync(big);
    writeFileSync(join(dir, "cut.gz"), gz.subarray(0, gz.length - 200));
    const r = sf(["replay", "f.bpf", "cut.gz"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^sysfence: cut\.gz:\d+: truncated gzip data \(unexpected end of file\)\n$/);
  });
});

describe("progress bar", () => {
  it("only on a terminal, only for large inputs", () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true }) as unknown as NodeJS.WriteStream;
    let written = "";
    (tty as unknown as PassThrough).on("data", (c) => (written += c));
    const bar = progressBar(64 << 20, tty)!;
    expect(bar).toBeDefined();
    bar.update(32 << 20);
    bar.stop();
    expect(written).toMatch(/replay \[.*\] \d+% \| 32\/64 MiB/);
    const pipe = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
    expect(progressBar(64 << 20, pipe)).toBeUndefined();
    expect(progressBar(PROGRESS_MIN_BYTES - 1, tty)).toBeUndefined();
    expect(progressBar(undefined, tty)).toBeUndefined(); // stdin: size unknown
    expect(progressBar(64 << 20, tty, false)).toBeUndefined(); // --no-progress
  });
  it("splits FILTER… TRACE… by content", () => {
    expect(splitFilterAndTraces([join(dir, "f.bpf"), join(dir, "clean.strace"), "-"])).toEqual({
      filters: [join(dir, "f.bpf")], traces: [join(dir, "clean.strace"), "-"],
    });
  });
});
