import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import fc from "fast-check";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readCHeader, writeCHeader, cIdentifier } from "../src/formats/cheader.js";
import { writeRaw } from "../src/formats/raw.js";
import { Program, type Insn } from "../src/engine/program.js";
import { check } from "../src/engine/check.js";
import { resolveArch, hostArch } from "../src/syscalls/index.js";
import { errorOf } from "./support/errors.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "formats");
const fixture = (name: string): string => readFileSync(join(fixtures, name), "utf8");

const ALLOW_ALL = Program.fromInsns([
  { code: 0x20, jt: 0, jf: 0, k: 4 },
  { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
  { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
  { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
]);

/** helper-macros.c as the C compiler sees it, for a target whose numbers are given. */
function helperMacrosExpected(token: number, read: number, write: number, exitGroup: number): Insn[] {
  const I = (code: number, jt: number, jf: number, k: number): Insn => ({ code, jt, jf, k });
  return [
    I(0x20, 0, 0, 4), I(0x15, 1, 0, token), I(0x06, 0, 0, 0x80000000),
    I(0x20, 0, 0, 0),
    I(0x15, 0, 1, read), I(0x06, 0, 0, 0x7fff0000),
    I(0x15, 0, 1, write), I(0x06, 0, 0, 0x7fff0000),
    I(0x15, 0, 1, exitGroup), I(0x06, 0, 0, 0x7fff0000),
    I(0x06, 0, 0, 0x00050001),
  ];
}


const read = (text: string, opts: Parameters<typeof readCHeader>[1] = {}) =>
  readCHeader(text, { where: "f.h", ...opts });
const only = (text: string, opts: Parameters<typeof readCHeader>[1] = {}): Insn[] => {
  const m = read(text, opts);
  expect(m.size).toBe(1);
  return [...m.values()][0].insns();
};

describe("reading C: macro forms", () => {
  it("reads helper-macros.c for x86_64 and aarch64 (arch conditionals, ##, __NR_)", () => {
    const text = fixture("helper-macros.c");
    const x = read(text, { arch: resolveArch("x86_64") });
    expect([...x.keys()]).toEqual(["filter"]);
    expect(x.get("filter")!.insns()).toEqual(helperMacrosExpected(0xc000003e, 0, 1, 231));
    expect(check(x.get("filter")!)).toEqual([]);
    const a = read(text, { arch: resolveArch("aarch64") });
    expect(a.get("filter")!.insns()).toEqual(helperMacrosExpected(0xc00000b7, 63, 64, 94));
  });

  it("fires the file's #error for other targets, and hints at an arch when none is given", () => {
    const text = fixture("helper-macros.c");
    const e = errorOf(() => read(text));
    expect(e.oneLine()).toBe('f.h:18: the file\'s #error fired: "unsupported target" (if it is about the target, give an arch so the file\'s arch conditionals resolve)');
    expect(errorOf(() => read(text, { arch: resolveArch("riscv64") })).oneLine()).toBe('f.h:18: the file\'s #error fired: "unsupported target"');
  });

  it("knows the uapi constants, offsetof and C arithmetic", () => {
    const text = `
      struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
        BPF_STMT(BPF_LD+BPF_W+BPF_ABS, (offsetof(struct seccomp_data, instruction_pointer))),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, ~0x7U, 0, 1),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 2, 0),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, (1 << 3) - 1),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_A, 0),
        BPF_STMT(BPF_RET + BPF_K, SECCOMP_RET_TRACE | 0x10),
        BPF_STMT((unsigned short)(BPF_RET | BPF_K), (__u32)-1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_ST, 017),
        BPF_STMT(BPF_LDX | BPF_MEM, 0b11),
        BPF_STMT(BPF_RET | BPF_K, 'A' * 2 > 100 ? SECCOMP_RET_LOG : SECCOMP_RET_TRAP),
        BPF_JUMP(BPF_JMP+BPF_JEQ+BPF_K, AUDIT_ARCH_S390X, 0, 0),
        BPF_JUMP(BPF_JMP+BPF_JEQ+BPF_K, __X32_SYSCALL_BIT | 520, 0, 0),
      };`;
    expect(only(text)).toEqual([
      { code: 0x20, jt: 0, jf: 0, k: 28 },
      { code: 0x20, jt: 0, jf: 0, k: 8 },
      { code: 0x45, jt: 0, jf: 1, k: 0xfffffff8 },
      { code: 0x3d, jt: 2, jf: 0, k: 0 },
      { code: 0x54, jt: 0, jf: 0, k: 7 },
      { code: 0x07, jt: 0, jf: 0, k: 0 },
      { code: 0x06, jt: 0, jf: 0, k: 0x0005000d },
      { code: 0x16, jt: 0, jf: 0, k: 0 },
      { code: 0x06, jt: 0, jf: 0, k: 0x7ff00010 },
      { code: 0x06, jt: 0, jf: 0, k: 0xffffffff },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fc00000 },
      { code: 0x02, jt: 0, jf: 0, k: 15 },
      { code: 0x61, jt: 0, jf: 0, k: 3 },
      { code: 0x06, jt: 0, jf: 0, k: 0x7ffc0000 },
      { code: 0x15, jt: 0, jf: 0, k: 0x80000016 },
      { code: 0x15, jt: 0, jf: 0, k: 0x40000208 },
    ]);
  });

  it("resolves __NR_x / SYS_x and ENOSYS per arch", () => {
    const text = `struct sock_filter f[] = {
      BPF_JUMP(BPF_JMP+BPF_JEQ+BPF_K, __NR_execve, 0, 1),
      BPF_JUMP(BPF_JMP+BPF_JEQ+BPF_K, SYS_read, 0, 1),
      BPF_STMT(BPF_RET+BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    };`;
    const ks = (a: string) => only(text, { arch: resolveArch(a) }).map((i) => i.k);
    expect(ks("x86_64")).toEqual([59, 0, 0x50026]);
    expect(ks("x32")).toEqual([0x40000208, 0x40000000, 0x50026]);
    expect(ks("mips")).toEqual([4011, 4003, 0x50059]);
    expect(ks("parisc")).toEqual([11, 3, 0x500fb]);
    const e = errorOf(() => read(text));
    expect(e.oneLine()).toBe("f.h:2: __NR_execve needs an arch to be resolved (give one, e.g. --arch x86_64)");
    const e2 = errorOf(() => read(`struct sock_filter f[] = {\n BPF_STMT(BPF_LD, __NR_open) };`, { arch: resolveArch("aarch64") }));
    expect(e2.oneLine()).toBe('f.h:2: __NR_open: arch aarch64 has no syscall "open"');
  });

  it("expands the file's own macros: object-like, function-like, variadic, nested, rescanned", () => {
    const text = `
      #define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
      #define ALLOW RET(SECCOMP_RET_ALLOW)
      #define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
      #define JEQ(...) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __VA_ARGS__)
      #define INDIRECT RET
      #define SELF SELF
      #define EMPTY
      #define PAREN (4)
      #define TWICE(x) x, x
      #undef UNUSED
      struct sock_filter f[] = {
        LOAD(arch),
        JEQ(AUDIT_ARCH_X86_64, 1, 0) EMPTY,
        INDIRECT(SECCOMP_RET_KILL),
        TWICE(ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PAREN),
      };`;
    expect(only(text)).toEqual([
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
      { code: 0x20, jt: 0, jf: 0, k: 4 },
    ]);
    // A self-referencing macro stops expanding (and is then an unknown name).
    const e = errorOf(() => read(`#define SELF SELF\nstruct sock_filter f[] = { BPF_STMT(BPF_RET, SELF) };`));
    expect(e.oneLine()).toBe('f.h:2: unknown identifier "SELF"');
  });

  it("follows #if/#ifdef/#ifndef/#elif/#else, with the arch's predefined macros", () => {
    const text = `
      #define LEVEL 2
      #ifndef SECCOMP_RET_KILL_PROCESS
      #define SECCOMP_RET_KILL_PROCESS 0x12345678 /* a fallback define: ignored, the real value wins */
      #endif
      #if LEVEL > 1 && defined(LEVEL) && !defined UNDEFINED_THING
      # define K 1
      #elif 1
      # define K 2
      #else
      # define K 3
      #endif
      #ifdef __s390x__
      # define E 0x10
      #else
      # define E 0x20
      #endif
      #if 0
      #error not taken
      struct sock_filter hidden[] = { { 1, 2, 3, 4 } };
      #endif
      struct sock_filter f[] = {
        BPF_STMT(BPF_RET | BPF_K, K | E),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      };`;
    expect(only(text).map((i) => i.k)).toEqual([0x21, 0x80000000]);
    expect(only(text, { arch: resolveArch("s390x") }).map((i) => i.k)).toEqual([0x11, 0x80000000]);
  });
});

describe("reading C: numeric tuples and byte arrays", () => {
  it("reads every array of tuples.h by name, in file order", () => {
    const m = read(fixture("tuples.h"));
    expect([...m.keys()]).toEqual(["hex_tuples", "decimal_tuples"]);
    for (const p of m.values()) expect(p.equals(ALLOW_ALL)).toBe(true);
  });

  it("reads seccomp-tools style tuples without spaces", () => {
    const text = "struct sock_filter filter[] = {\n{0x20, 0x00, 0x00, 0x00000004},\n{0x15, 0x01, 0x00, 0xc000003e},\n{0x06, 0x00, 0x00, 0x80000000},\n{0x06, 0x00, 0x00, 0x7fff0000}\n};";
    expect(Program.fromInsns(only(text)).equals(ALLOW_ALL)).toBe(true);
  });

  it("reads seccomp-tools `carray` byte arrays, in the target's byte order", () => {
    const le = `unsigned char bpf[] = {${[...writeRaw(ALLOW_ALL, "le")].join(",")}};\n`;
    expect(Program.fromInsns(only(le)).equals(ALLOW_ALL)).toBe(true);
    const be = `static unsigned char bpf[] = {${[...writeRaw(ALLOW_ALL, "be")].join(", ")}};\n`;
    expect(Program.fromInsns(only(be, { endian: "be" })).equals(ALLOW_ALL)).toBe(true);
    expect(Program.fromInsns(only(be, { arch: resolveArch("s390x") })).equals(ALLOW_ALL)).toBe(true);
  });

  it("skips attributes after the brackets and reads empty arrays", () => {
    const text = "static const struct sock_filter f[4] __attribute__((unused, aligned(8))) = { {6,0,0,0} };\nstruct sock_filter none[] = {};";
    const m = read(text);
    expect([...m.keys()]).toEqual(["f", "none"]);
    expect(m.get("none")!.length).toBe(0);
  });

  it("ignores byte arrays when the file has sock_filter arrays", () => {
    const text = `unsigned char junk[] = {1,2,3};\nstruct sock_filter f[] = { {6,0,0,0} };`;
    expect([...read(text).keys()]).toEqual(["f"]);
  });
});

describe("reading C: errors name the file and line", () => {
  const cases: [string, string, string?][] = [
    ["struct sock_filter f[] = {\n  { 6, 0, 0, 0 },\n  { 6, 0, 0 },\n};", "f.h:3: an instruction needs 4 values { code, jt, jf, k }, got 3"],
    ["struct sock_filter f[] = {\n  { 6, 256, 0, 0 },\n};", "f.h:2: jt 256 is out of range (0 .. 255)"],
    ["struct sock_filter f[] = {\n  { 0x10000, 0, 0, 0 },\n};", "f.h:2: code 65536 is out of range (0 .. 0xffff)"],
    ["struct sock_filter f[] = {\n  { 6, 0, 0, 0x100000000 },\n};", "f.h:2: k 4294967296 is out of range (a 32-bit value)"],
    ["struct sock_filter f[] = {\n\n  BPF_STMT(BPF_RET, FOO),\n};", 'f.h:3: unknown identifier "FOO"'],
    ["struct sock_filter f[] = {\n  BPF_JUMP(BPF_JMP, 0, 1),\n};", 'f.h:2: expected "," but found ")"'],
    ["struct sock_filter f[] = {\n  6, 0, 0, 0,\n};", 'f.h:2: expected an instruction ({ code, jt, jf, k }, BPF_STMT or BPF_JUMP) but found "6"'],
    ["struct sock_filter f[] = {\n  BPF_STMT(BPF_RET, 1 / 0),\n};", "f.h:2: division by zero in a constant expression"],
    ["struct sock_filter f[] = {\n  BPF_STMT(BPF_LD, offsetof(struct seccomp_data, args[6])),\n};", "f.h:2: args[6] does not exist (args[0] .. args[5])"],
    ["struct sock_filter f[] = {\n  BPF_STMT(BPF_LD, offsetof(struct seccomp_data, pid)),\n};", 'f.h:2: struct seccomp_data has no field "pid"'],
    ["struct sock_filter f[] = {\n  BPF_STMT(BPF_LD, offsetof(struct foo, x)),\n};", "f.h:2: offsetof is only supported for struct seccomp_data"],
    ["struct sock_filter f[] = {\n  { .code = 6, .code = 6 },\n};", "f.h:2: field .code given twice"],
    ["struct sock_filter f[] = {\n  { .op = 6 },\n};", 'f.h:2: struct sock_filter has no field "op"'],
    ["#define M(a, b) BPF_STMT(a, b)\nstruct sock_filter f[] = {\n  M(6),\n};", "f.h:3: macro M (defined at line 1) takes 2 arguments, got 1"],
    ["struct sock_filter f[] = { {6,0,0,0} };\nstruct sock_filter f[] = { {6,0,0,0} };", "f.h:2: two filter arrays are named f (lines 1 and 2)"],
    ["unsigned char b[] = {\n 1, 2, 3 };", "f.h:1: byte array b has 3 bytes, not a multiple of 8 (one struct sock_filter is 8 bytes)"],
    ["unsigned char b[] = {\n 1, 2, 3, 4, 5, 6, 7, 256 };", "f.h:2: byte 7 of b is 256, out of range for a byte"],
    ["int main(void) { return 0; }", "f.h: no `struct sock_filter NAME[] = { ... }` array (or byte array) found"],
    ["/* never closed\nstruct sock_filter f[] = {};", "f.h:1: unterminated /* comment"],
    ["#if 1\nstruct sock_filter f[] = { {6,0,0,0} };", "f.h:1: #if without a matching #endif"],
    ["#endif\n", "f.h:1: #endif without a matching #if"],
    ["#if 1\n#else\n#else\n#endif", "f.h:3: #else without a matching #if"],
    ["struct sock_filter f[] = {\n  { 6, 0, 0, 0 },\n", "f.h:1: the initializer of f is not closed"],
    ["#define F(x BPF_STMT(6, 0)\nstruct sock_filter f[] = { F(1) };", "f.h:1: malformed parameter list of macro F"],
    ["#define F(x) x\nstruct sock_filter f[] = { F(BPF_STMT(6, 0) };", "f.h:2: unterminated call of macro F"],
    ['struct sock_filter f[] = {\n  BPF_STMT(BPF_RET, "x"),\n};', 'f.h:2: unexpected "x" where a value was expected'],
  ];
  for (const [text, message] of cases) {
    it(message, () => {
      expect(errorOf(() => read(text)).oneLine()).toBe(message);
    });
  }
  it("says `line N` when no file name is given", () => {
    expect(errorOf(() => readCHeader("struct sock_filter f[] = {\n BPF_STMT(X, 0) };")).oneLine()).toBe('line 2: unknown identifier "X"');
  });
});

describe("writing C", () => {
  it("writes tuples, a length define and a sock_fprog", () => {
    const h = writeCHeader(new Map([["vcpu", ALLOW_ALL]]));
    expect(h).toContain("#include <linux/filter.h>");
    expect(h).toContain(
      "static const struct sock_filter vcpu[] = {\n" +
        "\t{ 0x20, 0, 0, 0x00000004 }, /* 0000: ld arch */\n" +
        "\t{ 0x15, 1, 0, 0xc000003e }, /* 0001: jeq #AUDIT_ARCH_X86_64, 0003, 0002 */\n",
    );
    expect(h).toContain("#define VCPU_LEN 4");
    expect(h).toContain("static const struct sock_fprog vcpu_prog = {\n\t.len = VCPU_LEN,\n\t.filter = (struct sock_filter *)vcpu,\n};");
    expect(h).toMatch(/^\/\* Generated by sysfence.*\n#ifndef SYSFENCE_VCPU_H\n#define SYSFENCE_VCPU_H\n/);
    expect(h.trimEnd().endsWith("#endif /* SYSFENCE_VCPU_H */")).toBe(true);
    expect(writeCHeader([{ name: "vcpu", program: ALLOW_ALL }])).toBe(h);
    expect(writeCHeader([["vcpu", ALLOW_ALL]])).toBe(h);
    expect(writeCHeader([["vcpu", ALLOW_ALL]], { guard: "my-guard.h" })).toContain("#ifndef MY_GUARD\n");
  });

  it("derives sanitised C identifiers", () => {
    expect(cIdentifier("vcpu")).toBe("vcpu");
    expect(cIdentifier("33-sim-socket_syscalls_be.bpf")).toBe("filter_33_sim_socket_syscalls_be");
    expect(cIdentifier("some/dir/my filter.json")).toBe("my_filter");
    expect(cIdentifier("__reserved")).toBe("reserved");
    expect(cIdentifier("int")).toBe("int_filter");
    expect(cIdentifier("@@@")).toBe("filter");
    expect(cIdentifier("")).toBe("filter");
    expect(cIdentifier("vcpu.thread.0")).toBe("vcpu_thread");
  });

  it("refuses names that collide once sanitised, and empty input", () => {
    expect(errorOf(() => writeCHeader([["a-b", ALLOW_ALL], ["a_b", ALLOW_ALL]])).message).toBe('names "a-b" and "a_b" give the same C identifier a_b');
    expect(errorOf(() => writeCHeader([["vcpu", ALLOW_ALL], ["VCPU", ALLOW_ALL]])).message).toBe('names "vcpu" and "VCPU" give the same C identifier VCPU');
    expect(errorOf(() => writeCHeader([])).message).toBe("no program to write");
  });

  it("round-trips random programs through write and read (property)", () => {
    const insn = fc.record({
      code: fc.integer({ min: 0, max: 0xffff }),
      jt: fc.integer({ min: 0, max: 255 }),
      jf: fc.integer({ min: 0, max: 255 }),
      k: fc.integer({ min: 0, max: 0xffffffff }),
    });
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, fc.array(insn, { maxLength: 50 })), { selector: ([n]) => cIdentifier(n).toUpperCase(), minLength: 1, maxLength: 4 }),
        (entries) => {
          const back = readCHeader(writeCHeader(entries.map(([n, i]) => [n, Program.fromInsns(i)] as const)));
          expect([...back.keys()]).toEqual(entries.map(([n]) => cIdentifier(n)));
          entries.forEach(([n, i]) => expect(back.get(cIdentifier(n))!.bytes).toEqual(Program.fromInsns(i).bytes));
        },
      ),
      { numRuns: 200 },
    );
  });
});

// The C compiler is the oracle for both directions, when there is one.
const cc = spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;
const noCc = cc ? undefined : "no C compiler (cc): compile checks of the C reader and writer";

function compileAndDump(source: string, includeDir: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "sysfence-cc-"));
  try {
    writeFileSync(join(dir, "main.c"), source);
    const exe = join(dir, "main");
    const r = spawnSync("cc", ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", includeDir, "-o", exe, join(dir, "main.c")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cc failed:\n${r.stderr}`);
    const run = spawnSync(exe, []);
    if (run.status !== 0) throw new Error(`program failed: ${run.stderr}`);
    return new Uint8Array(run.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("C compiler agreement", skipWhen(noCc), () => {
  it("the writer's header compiles warning-free and holds exactly the program bytes", () => {
    const dir = mkdtempSync(join(tmpdir(), "sysfence-h-"));
    try {
      const other = Program.fromInsns([{ code: 0x06, jt: 0, jf: 0, k: 0x00050001 }]);
      writeFileSync(join(dir, "filters.h"), writeCHeader([["vcpu", ALLOW_ALL], ["api-thread", other]]));
      const out = compileAndDump(
        `#include <stdio.h>\n#include "filters.h"\n` +
          `int main(void) {\n` +
          `  if (vcpu_prog.len != VCPU_LEN || api_thread_prog.len != API_THREAD_LEN) return 1;\n` +
          `  fwrite(vcpu, 1, sizeof vcpu, stdout);\n  fwrite(api_thread, 1, sizeof api_thread, stdout);\n  return 0;\n}\n`,
        dir,
      );
      // The host's layout: compare in its byte order.
      const e = hostArch().endian;
      expect([...out]).toEqual([...writeRaw(ALLOW_ALL, e), ...writeRaw(other, e)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const fixtureArch = ["x86_64", "aarch64"].includes(hostArch().name) ? undefined : `helper-macros.c and tuples.h are x86_64/aarch64 sources (this host is ${hostArch().name})`;
  it("reads helper-macros.c and tuples.h exactly as cc compiles them", skipWhen(fixtureArch), () => {
    const host = hostArch();
    const macros = compileAndDump(
      `#include <stdio.h>\n#include "helper-macros.c"\nint main(void) { fwrite(filter, 1, sizeof filter, stdout); return install_filter(); }\n`,
      fixtures,
    );
    expect([...readCHeader(fixture("helper-macros.c"), { arch: host }).get("filter")!.bytes]).toEqual([...macros]);
    const tuples = compileAndDump(
      `#include <stdio.h>\n#include "tuples.h"\nint main(void) { fwrite(hex_tuples, 1, sizeof hex_tuples, stdout); fwrite(decimal_tuples, 1, sizeof decimal_tuples, stdout); return 0; }\n`,
      fixtures,
    );
    const m = readCHeader(fixture("tuples.h"));
    expect([...tuples]).toEqual([...m.get("hex_tuples")!.bytes, ...m.get("decimal_tuples")!.bytes]);
  });
});
