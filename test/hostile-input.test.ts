// Hostile input (issue 17, and issue 19 sections 5, 9, 10): one smallest reproducer per class
// the fuzz campaign found. Every reader refuses bad input with a typed error naming the place,
// in bounded time and memory, and never compiles a program that differs from the policy.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicyText, evaluatePolicy } from "../src/policy/index.js";
import { parseJson } from "../src/policy/json.js";
import { readCHeader } from "../src/formats/cheader.js";
import { readBounded, SIZE_LIMITS } from "../src/read.js";
import { readTrace } from "../src/traces/reader.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { findArch } from "../src/syscalls/arches.js";
import { syscallNumber } from "../src/syscalls/index.js";
import { Action } from "../src/engine/actions.js";
import { errorOf } from "./support/errors.js";
import { readJsonArray } from "../src/formats/jsonarray.js";
import { InputError } from "../src/errors.js";
import { runCli } from "./support/cli.js";
import { repoRoot } from "./support/corpus.js";

const x86_64 = findArch("x86_64")!;
const PROTO = ["toString", "constructor", "valueOf", "__proto__", "hasOwnProperty"];
const tmp = mkdtempSync(join(tmpdir(), "sysfence-hostile-"));

const thread = (o: object) => JSON.stringify({ vmm: { default_action: "trap", filter_action: "allow", filter: [{ syscall: "read" }], ...o } });
const oci = (o: object) => JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }], ...o });

describe("names that exist on every JavaScript object are not table entries", () => {
  it.each(PROTO)("seccompiler actions: %s is an unknown action", (name) => {
    let e = errorOf(() => compilePolicyText(thread({ default_action: name }), "p.json", { arch: x86_64 }));
    expect(e.message).toMatch(/unknown action/);
    expect(e.where).toMatch(/^p\.json:1 \(\/vmm\/default_action\)$/);
    e = errorOf(() => compilePolicyText(thread({ filter_action: name }), "p.json", { arch: x86_64 }));
    expect(e.message).toMatch(/unknown action/);
  });

  it.each(PROTO)("OCI action, op, errno, arch names: %s is refused", (name) => {
    const at = (text: string) => errorOf(() => compilePolicyText(text, "o.json", { arch: x86_64, kernel: "6.1" }));
    expect(at(oci({ defaultAction: name })).message).toMatch(/unknown action/);
    const withOp = oci({ syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 1, op: name }] }] });
    expect(at(withOp).message).toMatch(/unknown op/);
    const withErrno = oci({ defaultAction: "SCMP_ACT_ERRNO", defaultErrno: name });
    expect(at(withErrno).message).toMatch(/unknown errno name/);
    expect(at(oci({ architectures: [name] })).message).toMatch(/unknown architecture/);
  });

  it("an OCI rule whose op is toString does not compile into a program that differs from the policy", () => {
    // Before: "op": "toString" compiled, and the program answered otherwise than the reference.
    const text = oci({ syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 21505, op: "toString" }] }] });
    const e = errorOf(() => compilePolicyText(text, "o.json", { arch: x86_64, kernel: "6.1" }));
    expect(e.where).toBe("o.json:1 (/syscalls/0/args/0/op)");
  });

  it.each(PROTO)("OCI includes/excludes arches: %s matches no ABI", (name) => {
    const text = oci({ syscalls: [{ names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { arches: [name] } }] });
    const r = compilePolicyText(text, "o.json", { arch: x86_64, kernel: "6.1" });
    const p = r.programs[0];
    const data = { nr: syscallNumber(x86_64, "ptrace")!, arch: x86_64.token, instructionPointer: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n] };
    // The entry is skipped: ptrace gets the default action, in the program and in the reference.
    expect(evaluateBatch(p.program, InputBatch.of([data])).rets[0] >>> 0).toBe(evaluatePolicy(p.ir, data) >>> 0);
    expect((evaluatePolicy(p.ir, data) & 0xffff0000) >>> 0).toBe(Action.ERRNO);
  });

  it.each(PROTO)("C headers: the name %s is an unknown identifier, not a function", (name) => {
    const e = errorOf(() => readCHeader(`struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, ${name}) };`, { where: "f.h" }));
    expect(e.message).toBe(`unknown identifier "${name}"`);
    expect(e.where).toBe("f.h:1");
    const f = errorOf(() => readCHeader(`struct sock_filter f[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, ${name})) };`, { where: "f.h" }));
    expect(f.message).toMatch(/has no field/);
  });
});

describe("bounded reads", () => {
  it("devices and directories are refused in one line, before any byte is read", () => {
    for (const [path, kind] of [["/dev/zero", "a character device"], ["/dev/urandom", "a character device"], [tmp, "a directory"]]) {
      const e = errorOf(() => readBounded(path, SIZE_LIMITS.policy, "a policy file"));
      expect(e.message).toBe(`is ${kind}, not a policy file`);
      expect(e.where).toBe(path);
    }
  });

  it("a file over its format's limit is refused with the limit", () => {
    const big = join(tmp, "big.json");
    writeFileSync(big, Buffer.alloc(SIZE_LIMITS.jail + 1, 0x20));
    const e = errorOf(() => readBounded(big, SIZE_LIMITS.jail, "a jail file"));
    expect(e.message).toBe(`${SIZE_LIMITS.jail + 1} bytes is too large for a jail file (limit 1 MiB)`);
  });

  it("the CLI says so for /dev/zero as a FILTER, a policy, a jail file and run --inputs, in bounded time", () => {
    const cases: [string[], RegExp][] = [
      [["check", "/dev/zero"], /^sysfence: \/dev\/zero: is a character device, not a filter file$/],
      [["compile", "/dev/zero"], /^sysfence: \/dev\/zero: is a character device, not a policy file$/],
      [["run", "filters/qemu-microvm.seccompiler.json", "--inputs", "/dev/zero"], /^sysfence: \/dev\/zero: is a character device, not an inputs file$/],
      [["asm", "/dev/zero", "-o", join(tmp, "x.bpf")], /^sysfence: \/dev\/zero: is a character device, not an assembly file$/],
    ];
    for (const [args, want] of cases) {
      const r = runCli(repoRoot, args);
      expect(r.code).toBe(2);
      expect(r.err.trim()).toMatch(want);
    }
  });

  it("minijail's constants.json: /dev/zero is refused in one line; a changed file is read again", () => {
    const policy = join(tmp, "c.policy");
    writeFileSync(policy, "read: arg0 == MY_CONST\n");
    const compile = (constants: string) => compilePolicyText("read: arg0 == MY_CONST\n", policy, { arch: x86_64, minijail: { constants } });
    const e = errorOf(() => compile("/dev/zero"));
    expect(e.message).toBe("is a character device, not a constants file");
    expect(e.where).toBe("/dev/zero");
    // The parsed file is kept by (inode, size, mtime): a rewritten file must not give the old values.
    const c = join(tmp, "constants.json");
    const write = (v: number) => writeFileSync(c, JSON.stringify({ arch_nr: 0xc000003e, arch_name: "x86_64", bits: 64, syscalls: { read: 0 }, constants: { MY_CONST: v } }));
    const valueOf = () => compile(c).programs[0].ir.arches[0].syscalls[0].rules[0].conditions[0].value;
    write(7);
    expect(valueOf()).toBe(7n);
    expect(valueOf()).toBe(7n);
    write(123456);
    expect(valueOf()).toBe(123456n);
  });

  it("a trace without line ends (/dev/zero) ends with a located error, in constant memory", async () => {
    const err = await readTrace("/dev/zero", { fileIndex: 0, arch: x86_64, format: "strace", sink: { event() {} } }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/line longer than \d+ bytes/);
  });
});

describe("deep nesting and long expressions", () => {
  it("a policy nested 300,000 levels is a located error, not a stack overflow", () => {
    const deep = `{"vmm": ${'{"a":'.repeat(300_000)}1${"}".repeat(300_000)}}`;
    const e = errorOf(() => compilePolicyText(deep, "deep.json", { arch: x86_64 }));
    expect(e.message).toMatch(/nesting deeper than 1000 levels/);
    expect(e.where).toMatch(/^deep\.json:1:\d+$/);
    const arr = errorOf(() => parseJson("[".repeat(300_000) + "]".repeat(300_000), "a.json"));
    expect(arr.message).toMatch(/nesting deeper than/);
  });

  it("C: 100,000 nested parentheses or unary operators are a located error", () => {
    for (const expr of ["(".repeat(100_000) + "1" + ")".repeat(100_000), "- ".repeat(100_000) + "1", "~!".repeat(50_000) + "1"]) {
      const e = errorOf(() => readCHeader(`\nstruct sock_filter f[] = { BPF_STMT(6, ${expr}) };`, { where: "n.h" }));
      expect(e.message).toBe("expression nested deeper than 256 levels");
      expect(e.where).toBe("n.h:2");
    }
  });

  it("C: macros that expand each other are limited in count and depth (issue 19 section 10)", () => {
    const lines = ["#define A0 1"];
    for (let i = 1; i <= 40; i++) lines.push(`#define A${i} A${i - 1} + A${i - 1}`);
    lines.push("struct sock_filter f[] = { BPF_STMT(6, A40) };");
    const e = errorOf(() => readCHeader(lines.join("\n"), { where: "m.h" }));
    expect(e.message).toMatch(/^macro expansion of A\d+ exceeds the limit of \d+ (expansions|tokens) per file/);
    expect(e.where).toBe(`m.h:${lines.length}`);
    const nested = `#define F(x) x\nstruct sock_filter f[] = { BPF_STMT(6, ${"F(".repeat(5000)}1${")".repeat(5000)}) };`;
    const d = errorOf(() => readCHeader(nested, { where: "d.h" }));
    expect(d.message).toBe("macro arguments nested deeper than 200 levels");
    expect(d.where).toBe("d.h:2");
  });

  it("C: a line of 260,000 helper-macro calls stops at the expansion limit, naming its line (fuzz finding c seed 5 #122)", () => {
    const head = "#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)\n";
    const text = head + "struct sock_filter f[] = {\n" + "ALLOW(1),".repeat(260_000) + "\n};\n";
    const e = errorOf(() => readCHeader(text, { where: "w.h", arch: x86_64 }));
    expect(e.message).toBe("macro expansion of ALLOW exceeds the limit of 100000 expansions per file (macros that expand each other grow without bound)");
    expect(e.where).toBe("w.h:3");
  });
});

describe("no quadratic steps", () => {
  it("60,000 keys and 60,000 duplicates of the last one load in linear time", () => {
    const parts: string[] = [];
    for (let i = 0; i < 60_000; i++) parts.push(`"t${i}": {"default_action": "trap", "filter_action": "allow", "filter": []}`);
    for (let i = 0; i < 60_000; i++) parts.push(`"t59999": {"default_action": "trap", "filter_action": "allow", "filter": []}`);
    const doc = parseJson(`{${parts.join(",")}}`, "keys.json");
    expect(doc.duplicates.length).toBe(60_000);
    expect(doc.duplicates[0].first.line).toBe(1);
    const e = errorOf(() => compilePolicyText(`{${parts.join(",")}}`, "keys.json", { arch: x86_64 }));
    expect(e.message).toMatch(/^duplicate thread "t59999"/);
  });

  it("an audit line of a million word characters is read in linear time", async () => {
    const f = join(tmp, "long.log");
    const head = "type=SECCOMP msg=audit(1.2:3): arch=c000003e syscall=41 ";
    writeFileSync(f, head + "x".repeat(1 << 20) + "\n");
    const t0 = performance.now();
    await readTrace(f, { fileIndex: 0, arch: x86_64, format: "audit", sink: { event() {} } });
    expect(performance.now() - t0).toBeLessThan(10_000); // took minutes when quadratic
  });

  it("an audit line of 40,000 \"audit(\" without a closing parenthesis is one located error (fuzz finding audit seed 20261205 #4320)", async () => {
    const f = join(tmp, "open.log");
    writeFileSync(f, "type=SECCOMP msg=audit(1.2:3): arch=c000003e syscall=41\n" + "type=SYSCALL msg=audit(08/05/202d=1 ".repeat(40_000) + "\n");
    const e = await readTrace(f, { fileIndex: 0, arch: x86_64, format: "audit", sink: { event() {} } }).then(() => undefined, (x: unknown) => x as { message: string; where: string });
    expect(e?.message).toBe("a type=SYSCALL record without audit(TIME:SERIAL)");
    expect(e?.where).toBe(`${f}:2`);
  });
});

describe("large but legitimate policies (issue 19 section 5)", () => {
  const ioctls = (n: number) => {
    const filter = [];
    for (let i = 0; i < n; i++) filter.push({ syscall: "ioctl", args: [{ index: 1, type: "dword", op: "eq", val: i * 3 + 1 }] });
    return JSON.stringify({ vmm: { default_action: "trap", filter_action: "allow", filter } });
  };
  it.each([5000, 20_000])("%i ioctl values: a located limit error naming the instructions needed and the syscall", (n) => {
    const e = errorOf(() => compilePolicyText(ioctls(n), "io.json", { arch: x86_64 }));
    expect(e.message).toMatch(new RegExp(`^vmm: compiles to \\d+ instructions, more than the kernel's limit of 4096; the weight is in ioctl \\(x86_64\\): ${n.toLocaleString("en-US")} rules`));
    expect(Number(/compiles to (\d+)/.exec(e.message)![1])).toBeGreaterThan(n);
    expect(e.where).toBe("io.json:1 (/vmm/filter/0)");
  });
  it("3,500 values compile (no recursion on the number of rules) and equal the reference", () => {
    const r = compilePolicyText(ioctls(3500), "io.json", { arch: x86_64 });
    const p = r.programs[0];
    const nr = syscallNumber(x86_64, "ioctl")!;
    const inputs = [0n, 1n, 2n, 4n, 10_498n, 10_499n, 10_500n, 1n << 32n | 4n].map((v) => ({
      nr, arch: x86_64.token, instructionPointer: 0n, args: [0n, v, 0n, 0n, 0n, 0n],
    }));
    const rets = evaluateBatch(p.program, InputBatch.of(inputs)).rets;
    inputs.forEach((d, i) => expect(rets[i] >>> 0).toBe(evaluatePolicy(p.ir, d) >>> 0));
  });
  it("the CLI prints the limit error with exit 2, never an internal error", () => {
    const f = join(tmp, "io.json");
    writeFileSync(f, ioctls(20_000));
    const r = runCli(repoRoot, ["compile", f, "--arch", "x86_64", "-o", join(tmp, "io.bpf")]);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
});

describe("assembly text", () => {
  it("a line of megabytes is refused at once, not scanned quadratically", async () => {
    const { assemble } = await import("../src/text/asm.js");
    const e = errorOf(() => assemble("ld arch\n" + "0000: ".repeat(1_000_000) + "ret #0\n", { file: "l.asm" }));
    expect(e.message).toBe("line longer than 4096 characters");
    expect(e.where).toBe("l.asm:2");
  });
});

describe("verify spec files (fuzz finding spec seed 1 #46)", () => {
  it("20,000 copies of one assertion read and compile the filter once, and each keeps its own name", async () => {
    const { runSpec } = await import("../src/verify/spec.js");
    const dir = mkdtempSync(join(tmp, "spec-"));
    writeFileSync(join(dir, "f.json"), thread({}));
    const one = { allow: "vmm@f.json", syscall: "read", args: [0, "0x10"] };
    const assertions = [{ ...one, name: "first" }, ...Array.from({ length: 20_000 }, () => one), { ...one, name: "last" }, { deny: "vmm@f.json", syscall: "write" }];
    writeFileSync(join(dir, "spec.json"), JSON.stringify({ arch: "x86_64", assertions }));
    const r = runSpec(join(dir, "spec.json"));
    expect(r).toHaveLength(20_003);
    expect(r[0].name).toBe("first");
    expect(r[20_001].name).toBe("last");
    expect(r[1].name).toBe("allow read by vmm@f.json");
    expect(r.slice(0, 20_002).every((x) => x.status === "pass")).toBe(true);
    expect(r[20_002].status).toBe("pass");
  });
});

describe("one line whatever the input holds (fuzz finding jsonarray seed 20261207 #55408, #71579, #72298)", () => {
  it("a JSON array with a line break inside a string: the parser's quoted character is U+000A, on one line", () => {
    const f = join(tmp, "nl.json");
    writeFileSync(f, '[{"code": 6, "jt": 0, "jf": 0, "k\n": 0}]');
    const e = errorOf(() => readJsonArray('[{"code": 6, "jt": 0, "jf": 0, "k\n": 0}]', "nl.json"));
    expect(e.message).toBe("invalid JSON: Invalid character 'U+000A' (line 1, column 34)");
    const r = runCli(repoRoot, ["disasm", f]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`sysfence: ${f}: invalid JSON: Invalid character 'U+000A' (line 1, column 34)\n`);
  });

  it("oneLine() shows every control character of a message or place as U+XXXX", () => {
    const e = new InputError("a\r\nb\u2028c\u0000", "dir/x\ny.json");
    expect(e.oneLine()).toBe("dir/xU+000Ay.json: aU+000DU+000AbU+2028cU+0000");
  });
});

describe("policy text from the API (fuzz finding minijail seed 2 #465)", () => {
  it("text over the policy limit is refused as a file over it would be, before parsing", () => {
    const text = "{" + " ".repeat(SIZE_LIMITS.policy) + "}";
    const e = errorOf(() => compilePolicyText(text, "big.json", { arch: x86_64 }));
    expect(e.message).toBe(`${SIZE_LIMITS.policy + 2} bytes is too large for a policy (limit 16 MiB)`);
    expect(e.where).toBe("big.json");
  });

  it("a minijail line of 200,000 terms is tokenized per character class and ends in the located rule limit", () => {
    const text = "read: " + Array(200_000).fill("arg1 == 7").join(" || ") + "\n";
    const e = errorOf(() => compilePolicyText(text, join(tmp, "long.policy"), { arch: x86_64, minijail: { semantics: "python" } }));
    expect(e.message).toMatch(/^syscall "read": the filters expand to 200001 rules \(over 4096\)/);
    expect(e.where).toBe(`${join(tmp, "long.policy")}:1:1`);
  });
});
