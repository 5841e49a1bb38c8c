// Hand-written minijail snippets, one per grammar form, with the action each implementation's
// documentation gives for concrete inputs (minijail0(5), syscall_filter.c's comments, the
// Python compiler's docs). Each snippet is compiled and run by the engine's interpreter; the
// reference evaluator of the IR must agree.
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicyText, evaluatePolicy, type CompileResult } from "../src/policy/index.js";
import type { MinijailOptions } from "../src/policy/minijail/index.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { findArch, type ArchInfo } from "../src/syscalls/arches.js";
import { syscallNumber } from "../src/syscalls/index.js";
import { Action } from "../src/engine/actions.js";
import { InputError } from "../src/errors.js";

const ALLOW = Action.ALLOW, TRAP = Action.TRAP, KILL_THREAD = Action.KILL_THREAD, KILL_PROCESS = Action.KILL_PROCESS;
const errno = (n: number) => (Action.ERRNO | n) >>> 0;
const x86_64 = findArch("x86_64")!;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-minijail-"));
});

/** Compiles `text` as p.policy for `arch` (null: no --arch). */
function compile(text: string, opts: MinijailOptions = {}, arch: ArchInfo | null = x86_64): CompileResult {
  const file = join(dir, "p.policy");
  writeFileSync(file, text);
  return compilePolicyText(text, file, { arch: arch ?? undefined, minijail: opts });
}

/** The action for `syscall(args…)`, from the program and (checked equal) from the reference. */
function act(r: CompileResult, syscall: string, args: bigint[] = [], arch = r.programs[0].ir.arches[0].arch): number {
  const p = r.programs[0];
  const d = { arch: arch.token, nr: syscallNumber(arch, syscall)!, args };
  const ret = evaluateBatch(p.program, InputBatch.of([d], arch.endian)).rets[0] >>> 0;
  expect(ret, `${syscall}(${args}) program vs reference`).toBe(evaluatePolicy(p.ir, d));
  return ret;
}

function fails(fn: () => unknown, message: RegExp, where?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(message);
    if (where) expect((e as InputError).where).toMatch(where);
    return;
  }
  throw new Error("expected an error");
}

describe("minijail grammar", () => {
  it("`1` and `allow` allow; unlisted syscalls get the default, kill (the thread)", () => {
    const r = compile("read: 1\nwrite: allow\n");
    expect(act(r, "read")).toBe(ALLOW);
    expect(act(r, "write")).toBe(ALLOW);
    expect(act(r, "open")).toBe(KILL_THREAD);
  });

  it("comments, blank lines and a trailing backslash continuing a line", () => {
    const r = compile("# a comment\n\nioctl: arg1 == 1 || \\\n       arg1 == 2   # trailing comment\n");
    expect(act(r, "ioctl", [0n, 1n])).toBe(ALLOW);
    expect(act(r, "ioctl", [0n, 2n])).toBe(ALLOW);
    expect(act(r, "ioctl", [0n, 3n])).toBe(KILL_THREAD);
  });

  it("{a, b}: several syscalls in one statement", () => {
    const r = compile("{open, openat}: return ENOENT\n");
    expect(act(r, "open")).toBe(errno(2));
    expect(act(r, "openat")).toBe(errno(2));
  });

  it("comparison operators, unsigned and on all 64 bits on x86_64", () => {
    const r = compile([
      "read: arg0 == 3", "write: arg0 != 3", "close: arg0 < 3", "dup: arg0 <= 3", "dup2: arg0 > 3", "lseek: arg0 >= 3",
    ].join("\n"));
    expect(act(r, "read", [3n])).toBe(ALLOW);
    expect(act(r, "read", [0x100000003n])).toBe(KILL_THREAD); // the high word takes part
    expect(act(r, "write", [0x100000003n])).toBe(ALLOW);
    expect(act(r, "write", [3n])).toBe(KILL_THREAD);
    expect(act(r, "close", [2n])).toBe(ALLOW);
    expect(act(r, "close", [0xffffffffffffffffn])).toBe(KILL_THREAD); // unsigned: -1 is the largest
    expect(act(r, "dup", [3n])).toBe(ALLOW);
    expect(act(r, "dup", [4n])).toBe(KILL_THREAD);
    expect(act(r, "dup2", [0x100000000n])).toBe(ALLOW);
    expect(act(r, "dup2", [3n])).toBe(KILL_THREAD);
    expect(act(r, "lseek", [3n])).toBe(ALLOW);
    expect(act(r, "lseek", [2n])).toBe(KILL_THREAD);
  });

  it("`&`: any bit of the mask set; `in`: every set bit within the mask; `~` complements in 64 bits", () => {
    const r = compile("clone: arg0 & CLONE_THREAD|CLONE_VM\nmmap: arg2 in ~PROT_EXEC\nmprotect: arg2 in PROT_READ|PROT_WRITE\n");
    expect(act(r, "clone", [0x10000n])).toBe(ALLOW);
    expect(act(r, "clone", [0x100n])).toBe(ALLOW);
    expect(act(r, "clone", [0x11n])).toBe(KILL_THREAD);
    expect(act(r, "mmap", [0n, 0n, 3n])).toBe(ALLOW);
    expect(act(r, "mmap", [0n, 0n, 0x8000000000000003n])).toBe(ALLOW);
    expect(act(r, "mmap", [0n, 0n, 4n])).toBe(KILL_THREAD);
    expect(act(r, "mprotect", [0n, 0n, 3n])).toBe(ALLOW);
    expect(act(r, "mprotect", [0n, 0n, 0n])).toBe(ALLOW);
    expect(act(r, "mprotect", [0n, 0n, 7n])).toBe(KILL_THREAD);
    expect(act(r, "mprotect", [0n, 0n, 0x100000001n])).toBe(KILL_THREAD);
  });

  it("numbers: hex, octal (leading 0), negative (wraps to the word), parenthesised constants", () => {
    const r = compile("read: arg0 == 0x10\nwrite: arg0 == 010\nclose: arg0 == -1\nopenat: arg2 == (O_RDONLY|O_CLOEXEC)\n");
    expect(act(r, "read", [16n])).toBe(ALLOW);
    expect(act(r, "write", [8n])).toBe(ALLOW);
    expect(act(r, "write", [10n])).toBe(KILL_THREAD);
    expect(act(r, "close", [0xffffffffffffffffn])).toBe(ALLOW);
    expect(act(r, "close", [0xffffffffn])).toBe(KILL_THREAD);
    expect(act(r, "openat", [0n, 0n, 0x80000n])).toBe(ALLOW);
  });

  it("&& inside ||, no parentheses: (a && b) || c", () => {
    const r = compile("socket: arg0 == AF_UNIX && arg1 == SOCK_STREAM || arg0 == AF_INET\n");
    expect(act(r, "socket", [1n, 1n])).toBe(ALLOW);
    expect(act(r, "socket", [1n, 2n])).toBe(KILL_THREAD);
    expect(act(r, "socket", [2n, 99n])).toBe(ALLOW);
  });

  it("bare actions: return, kill, kill-process, kill-thread, trap, trace, log, user-notify", () => {
    const r = compile([
      "read: return 5", "write: kill", "close: kill-process", "dup: kill-thread", "dup2: trap", "lseek: trace", "brk: log", "getpid: user-notify",
    ].join("\n"));
    expect(act(r, "read")).toBe(errno(5));
    expect(act(r, "write")).toBe(KILL_THREAD);
    expect(act(r, "close")).toBe(KILL_PROCESS);
    expect(act(r, "dup")).toBe(KILL_THREAD);
    expect(act(r, "dup2")).toBe(TRAP);
    expect(act(r, "lseek")).toBe(Action.TRACE);
    expect(act(r, "brk")).toBe(Action.LOG);
    expect(act(r, "getpid")).toBe(Action.USER_NOTIF);
    const k = compile("write: kill\n", { useKillProcess: true });
    expect(act(k, "write")).toBe(KILL_PROCESS);
    expect(act(k, "read")).toBe(KILL_PROCESS); // the default is kill too
    expect(k.programs[0].ir.mismatchAction).toBe(KILL_THREAD); // the C library's arch check: always the thread
    expect(compile("write: kill\n", { useKillProcess: true, semantics: "python" }).programs[0].ir.mismatchAction).toBe(KILL_PROCESS);
  });

  it("`expr; return N`: C allows when expr holds, else errno; Python returns errno when it holds, else the default", () => {
    const text = "openat: arg2 == O_RDONLY; return ENOENT\n";
    const c = compile(text);
    expect(act(c, "openat", [0n, 0n, 0n])).toBe(ALLOW);
    expect(act(c, "openat", [0n, 0n, 1n])).toBe(errno(2));
    const py = compile(text, { semantics: "python" });
    expect(act(py, "openat", [0n, 0n, 0n])).toBe(errno(2));
    expect(act(py, "openat", [0n, 0n, 1n])).toBe(KILL_THREAD);
  });

  it("@default and --default-action (which may be permissive); @default refuses permissive actions", () => {
    expect(act(compile("@default trap\nread: 1\n"), "write")).toBe(TRAP);
    expect(act(compile("@default trap\nread: 1\n", { defaultAction: "return 1" }), "write")).toBe(errno(1));
    expect(act(compile("read: arg0 == 1\n", { defaultAction: "log" }), "read", [2n])).toBe(Action.LOG);
    fails(() => compile("@default allow\n"), /@default takes kill/, /p\.policy:1:10$/);
  });

  it("@denylist: everything not listed is allowed; each filter must return an errno", () => {
    const r = compile("@denylist\nptrace: return EPERM\nsocket: arg0 == AF_INET; return EACCES\n", { semantics: "python" });
    expect(act(r, "read")).toBe(ALLOW);
    expect(act(r, "ptrace")).toBe(errno(1));
    expect(act(r, "socket", [2n])).toBe(errno(13));
    expect(act(r, "socket", [1n])).toBe(ALLOW);
    fails(() => compile("@denylist\nptrace: kill\n"), /every filter ends in `return ERRNO`/);
  });

  it("[arch=…] metadata keeps a statement for those arches only", () => {
    const r = compile("read [arch=x86_64]: 1\nwrite [arch=arm64]: 1\n");
    expect(act(r, "read")).toBe(ALLOW);
    expect(act(r, "write")).toBe(KILL_THREAD);
    const a = compile("read [arch=x86_64]: 1\nwrite [arch=arm64]: 1\n", {}, findArch("aarch64")!);
    expect(act(a, "write")).toBe(ALLOW);
    expect(act(a, "read")).toBe(KILL_THREAD);
  });

  it("filter lists {f1, f2} (Python compiler): tried in order; refused in the C reading", () => {
    const r = compile("brk: {arg0 == 0; return ENOMEM, arg0 < 0x1000; trap, allow}\n", { semantics: "python" });
    expect(act(r, "brk", [0n])).toBe(errno(12));
    expect(act(r, "brk", [5n])).toBe(TRAP);
    expect(act(r, "brk", [0x2000n])).toBe(ALLOW);
    fails(() => compile("brk: {arg0 == 0, allow}\n"), /filter list/, /p\.policy:1:4$/);
  });

  it("a syscall listed twice: refused (C), first kept (Android), filters appended (Python)", () => {
    const text = "tgkill: arg2 == SIGABRT\ntgkill: 1\n";
    fails(() => compile(text), /listed again here \(first at .*p\.policy:1:1\)/, /p\.policy:2:1$/);
    const first = compile(text, { duplicates: "first" });
    expect(act(first, "tgkill", [0n, 0n, 9n])).toBe(KILL_THREAD);
    expect(first.warnings).toHaveLength(1);
    const py = compile(text, { semantics: "python" });
    expect(act(py, "tgkill", [0n, 0n, 9n])).toBe(ALLOW);
    fails(() => compile("tgkill: 1\ntgkill: arg2 == 6\n", { semantics: "python" }), /already has an unconditional action/, /p\.policy:2:9$/);
  });

  it("32-bit ABIs compare the low word; constants above 32 bits do not fit", () => {
    const x86 = findArch("x86")!;
    const r = compile("read: arg0 == 0xffffffff\nwrite: arg0 == -1\n", {}, x86);
    expect(act(r, "read", [0xffffffffn], x86)).toBe(ALLOW);
    expect(act(r, "write", [0xffffffffn], x86)).toBe(ALLOW);
    fails(() => compile("read: arg0 == 0x100000000\n", {}, x86), /does not fit in 32 bits/, /p\.policy:1:15$/);
  });

  it("located errors: unknown constant, unknown syscall, bad token, missing arch", () => {
    fails(() => compile("read: arg0 == NOT_A_CONSTANT\n"), /unknown constant "NOT_A_CONSTANT"/, /p\.policy:1:15$/);
    fails(() => compile("\nnot_a_syscall: 1\n"), /unknown syscall "not_a_syscall" for arch x86_64/, /p\.policy:2:1$/);
    fails(() => compile("read: arg0 == 1 $\n"), /invalid token "\$"/, /p\.policy:1:17$/);
    fails(() => compile("read: arg7 == 1\n"), /six arguments/, /p\.policy:1:7$/);
    fails(() => compile("read: 1\n", {}, null), /does not name its arch: give --arch/);
  });
});

describe("minijail files", () => {
  it("@include by absolute path through --include-root, or beside the including file; missing includes are located", () => {
    const sub = join(dir, "inc");
    mkdirSync(join(sub, "installed"), { recursive: true });
    writeFileSync(join(sub, "installed", "common.policy"), "read: 1\n");
    writeFileSync(join(sub, "common.policy"), "write: 1\n");
    const main = join(sub, "main.policy");
    const text = "@include /usr/share/policy/x/common.policy\nclose: 1\n";
    writeFileSync(main, text);
    const rooted = compilePolicyText(text, main, { arch: x86_64, minijail: { includeRoots: [{ prefix: "/usr/share/policy/x", dir: join(sub, "installed") }] } });
    expect(act(rooted, "read")).toBe(ALLOW);
    expect(act(rooted, "write")).toBe(KILL_THREAD);
    const beside = compilePolicyText(text, main, { arch: x86_64 });
    expect(act(beside, "write")).toBe(ALLOW);
    expect(act(beside, "read")).toBe(KILL_THREAD);
    fails(
      () => compilePolicyText("@include /usr/share/policy/x/absent.policy\n", main, { arch: x86_64 }),
      /cannot @include \/usr\/share\/policy\/x\/absent.policy: no file .*absent.policy .*--include-root/,
      /main\.policy:1:1$/,
    );
  });

  it("@include inside an included file: refused by the C reading, followed by the Python one", () => {
    const sub = join(dir, "nest");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "a.policy"), "@include ./b.policy\nread: 1\n");
    writeFileSync(join(sub, "b.policy"), "write: 1\n");
    const main = join(sub, "main.policy");
    writeFileSync(main, "@include ./a.policy\n");
    fails(() => compilePolicyText("@include ./a.policy\n", main, { arch: x86_64 }), /allows one level/, /a\.policy:1:1$/);
    const py = compilePolicyText("@include ./a.policy\n", main, { arch: x86_64, minijail: { semantics: "python" } });
    expect(act(py, "write")).toBe(ALLOW);
  });

  it("constants.json beside the policy gives the arch and the constants; @frequency counts are read", () => {
    const sub = join(dir, "consts");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "constants.json"), JSON.stringify({ arch_nr: 0xc00000b7, arch_name: "arm64", bits: 64, syscalls: {}, constants: { MY_FLAG: 8 } }));
    writeFileSync(join(sub, "p.frequency"), "read: 10\nwrite: 5\nread: 1\n");
    const main = join(sub, "p.policy");
    const text = "@frequency ./p.frequency\nread: arg0 == MY_FLAG\nwrite: 1\n";
    writeFileSync(main, text);
    const r = compilePolicyText(text, main, {});
    const aarch64 = findArch("aarch64")!;
    expect(r.programs[0].ir.arches[0].arch).toBe(aarch64);
    expect(act(r, "read", [8n])).toBe(ALLOW);
    expect(r.frequency?.get(syscallNumber(aarch64, "read")!)).toBe(11n);
    fails(() => compilePolicyText(text, main, { arch: x86_64 }), /constants for arm64, not x86_64/);
  });
});
