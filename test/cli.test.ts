// The CLI contract (README): outputs, --json shapes, exit codes, one-line errors without stack
// traces. Runs the built bin/sysfence.js as a user would.
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";
import { writeBincode } from "../src/formats/bincode.js";
import { readRaw } from "../src/formats/raw.js";

let dir: string;

const sf = (...args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-cli-"));
  expect(sf("asm", join(repoRoot, "filters/vmm-demo.x86_64.asm"), "-o", "vmm.bpf").code).toBe(0);
  expect(sf("asm", join(repoRoot, "filters/deny-ptrace.x86_64.asm"), "-o", "older.bpf").code).toBe(0);
  // A program the kernel rejects: a jump past the end and a division by the constant 0.
  writeFileSync(join(dir, "bad.asm"), ".insn 0x15, 9, 0, 0\ndiv #0\nret a\n");
  expect(sf("asm", "bad.asm", "-o", "bad.bpf").code).toBe(1); // refused without --force
  expect(sf("asm", "bad.asm", "-o", "bad.bpf", "--force").code).toBe(0);
  const vmm = readRaw(readFileSync(join(dir, "vmm.bpf")));
  writeFileSync(join(dir, "map.bin"), writeBincode(new Map([["VMM", vmm], ["api", vmm]])));
});

describe("sysfence check", () => {
  it("exits 0 when accepted, 1 when any is rejected, with reasons per instruction", () => {
    expect(sf("check", "vmm.bpf")).toMatchObject({ code: 0, out: "vmm.bpf: ok (26 instructions)\n" });
    const r = sf("check", "vmm.bpf", "bad.bpf");
    expect(r.code).toBe(1);
    expect(r.out).toContain("bad.bpf: rejected (2 errors)");
    expect(r.out).toMatch(/insn 0: true branch \+9 jumps to 10, past the last instruction 2/);
  });
  it("--json prints one object per program", () => {
    const r = sf("check", "--json", "vmm.bpf", "bad.bpf");
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ file: "vmm.bpf", thread: null, ok: true, instructions: 26, errors: [] });
    expect(lines[1].ok).toBe(false);
    expect(lines[1].errors[0]).toMatchObject({ index: 0, kind: "jt-range" });
  });
  it("checks every thread of a bincode map, or one with T@FILE / --thread", () => {
    expect(sf("check", "map.bin").out).toBe("map.bin[api]: ok (26 instructions)\nmap.bin[vmm]: ok (26 instructions)\n");
    expect(sf("check", "vmm@map.bin").out).toBe("map.bin[vmm]: ok (26 instructions)\n");
    const r = sf("check", "map.bin", "--thread", "vcpu");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/vcpu/);
  });
});

describe("sysfence run", () => {
  it("prints the action for one syscall", () => {
    expect(sf("run", "vmm.bpf", "--arch", "x86_64", "--syscall", "read").out).toBe("ALLOW\n");
    expect(sf("run", "vmm.bpf", "--syscall", "socket", "--args", "2,1,0").out).toBe("ERRNO(1)\n");
    expect(sf("run", "vmm.bpf", "--syscall", "socket", "--args", "0xffffffff00000001,1,0").out).toBe("ALLOW\n");
    expect(sf("run", "vmm.bpf", "--syscall", "execve").out).toBe("TRAP(0)\n");
    expect(sf("run", "vmm.bpf", "--syscall", "59", "--json").out).toBe('{"action":"TRAP","data":0,"ret":"0x00030000"}\n');
  });
  it("evaluates JSON lines, exactly to 64 bits", () => {
    writeFileSync(join(dir, "in.jsonl"), [
      '{"arch":"x86_64","nr":41,"args":["0x1",2]}',
      '{"arch":"x86_64","syscall":"socket","args":[18446744069414584321,1]}', // 0xffffffff00000001
      '{"arch":"x86_64","syscall":"socket","args":[9007199254740993,1]}', // 2^53+1: low word 1
      '{"arch":"x86","syscall":"read"}',
      '{"arch":"x86_64","nr":1073741824}',
    ].join("\n"));
    expect(sf("run", "vmm.bpf", "--inputs", "in.jsonl").out).toBe("ALLOW\nALLOW\nALLOW\nKILL_PROCESS\nKILL_PROCESS\n");
  });
  it("evaluates a stack, first FILTER oldest", () => {
    const r = sf("run", "older.bpf", "vmm.bpf", "--syscall", "openat", "--json");
    expect(JSON.parse(r.out)).toEqual({ action: "ERRNO", data: 1, ret: "0x00050001" }); // tie: newest wins
    expect(sf("run", "vmm.bpf", "older.bpf", "--syscall", "openat").out).toBe("ERRNO(13)\n");
  });
  it("models the uretprobe exception only when asked", () => {
    expect(sf("run", "vmm.bpf", "--syscall", "335").out).toBe("TRAP(0)\n");
    expect(sf("run", "vmm.bpf", "--syscall", "335", "--probe-bypass", "uretprobe").out).toBe("ALLOW\n");
  });
  it("refuses to run a program the kernel would reject", () => {
    const r = sf("run", "bad.bpf", "--syscall", "read");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^sysfence: the kernel would reject this program/);
  });
});

describe("disasm and asm", () => {
  it("round-trips through files byte for byte", () => {
    const text = sf("disasm", "vmm.bpf");
    expect(text.code).toBe(0);
    writeFileSync(join(dir, "vmm.asm"), text.out);
    expect(sf("asm", "vmm.asm", "-o", "vmm2.bpf").code).toBe(0);
    expect(readFileSync(join(dir, "vmm2.bpf"))).toEqual(readFileSync(join(dir, "vmm.bpf")));
  });
  it("writes C and JSON containers that read back", () => {
    expect(sf("asm", "vmm.asm", "-o", "vmm.h", "--format", "c").code).toBe(0);
    expect(sf("asm", "vmm.asm", "-o", "vmm.json", "--format", "json").code).toBe(0);
    expect(sf("check", "vmm.h", "vmm.json").code).toBe(0);
    expect(sf("disasm", "vmm.h").out).toBe(sf("disasm", "vmm.bpf").out);
  });
  it("writes big-endian raw files for big-endian arches", () => {
    expect(sf("asm", "vmm.asm", "-o", "vmm-be.bpf", "--endian", "be").code).toBe(0);
    const be = readFileSync(join(dir, "vmm-be.bpf"));
    expect([...be.subarray(0, 2)]).toEqual([0x00, 0x20]);
    expect(sf("check", "vmm-be.bpf", "--endian", "be").code).toBe(0);
  });
});

describe("bad input", () => {
  const cases: [string[], RegExp][] = [
    [["check", "missing.bpf"], /^sysfence: missing\.bpf: .*no such file/i],
    [["run", "vmm.bpf", "--syscall", "nosuchcall"], /^sysfence: --syscall: unknown syscall "nosuchcall" for arch x86_64$/],
    [["run", "vmm.bpf", "--arch", "vax", "--syscall", "read"], /^sysfence: --arch: unknown arch "vax"$/],
    [["run", "vmm.bpf", "--syscall", "read", "--args", "1,2,3,4,5,6,7"], /at most 6/],
    [["run", "vmm.bpf", "--syscall", "read", "--args", "0x10000000000000000"], /does not fit in 64 bits/],
    [["frobnicate"], /unknown command/],
  ];
  it("prints one line naming the place, exits 2, never a stack trace", () => {
    writeFileSync(join(dir, "trunc.bpf"), Buffer.alloc(13, 0));
    writeFileSync(join(dir, "bad.jsonl"), '{"arch":"x86_64","nr":1}\n{"arch":"x86_64","nr":\n');
    cases.push([["check", "trunc.bpf"], /^sysfence: trunc\.bpf/]);
    cases.push([["run", "vmm.bpf", "--inputs", "bad.jsonl"], /^sysfence: bad\.jsonl:2: invalid JSON/]);
    for (const [args, re] of cases) {
      const r = sf(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.split("\n")[0], args.join(" ")).toMatch(re);
      expect(r.err, args.join(" ")).not.toMatch(/\n\s+at /);
    }
  });
});

describe("demo and doctor", () => {
  it("demo runs the main job on the bundled filters", () => {
    const r = sf("demo");
    expect(r.code).toBe(0);
    expect(r.out).toContain("vmm-demo.x86_64.asm          26 instructions, accepted by the kernel's rules");
    expect(r.out).toContain("round trip: identical bytes");
    expect(r.out).toMatch(/socket\(0x1_00000001.*ALLOW/);
    expect(r.out).toMatch(/x86_64: 14 syscalls cached/);
    expect(r.out).toMatch(/^x86_64 +vmm \d+ insns \(accepted, \d+ syscalls cached\)/m);
    expect(r.out).toMatch(/ioctl\(fd, KVM_RUN\) with garbage in the high word \(musl\) +ALLOW/);
    expect(r.out).toMatch(/mmap\(…, PROT_READ\|PROT_EXEC, …\) +TRAP\(0\)/);
    expect(r.out).toMatch(/api ⊆ vmm: does not hold; counterexample x86_64 \w+ \(nr \d+\): api ALLOW, vmm TRAP\(0\)/);
    expect(r.out).toMatch(/qemu-microvm policy \(qemu\): (\d+) calls, \1 allowed, 0 denied/);
    expect(r.out).toMatch(/vmm: refused before anything starts: .*execve/);
  });
  it("doctor reports the kernel's actions", () => {
    const r = sf("doctor", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.kernel).toBeTypeOf("string");
    if (process.platform === "linux") expect(j.actionsAvail).toContain("allow");
  });
});
