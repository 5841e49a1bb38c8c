// `sysfence compile` and policies wherever a FILTER is accepted; `check --cache`.
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";
import { readBincode } from "../src/formats/bincode.js";

let dir: string;
const sf = (...args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-compile-"));
  copyFileSync(join(repoRoot, "test/fixtures/policies/seccompiler-example.json"), join(dir, "fc.json"));
  copyFileSync(join(repoRoot, "test/fixtures/policies/oci-small.json"), join(dir, "oci.json"));
});

describe("sysfence compile", () => {
  it("writes one raw file per thread, or one for a single policy", () => {
    let r = sf("compile", "fc.json", "--arch", "x86_64", "-o", "out");
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["api.bpf", "vcpu.bpf", "vmm.bpf"]);
    expect(r.err).toMatch(/vmm: \d+ instructions \(x86_64\)/);
    r = sf("compile", "fc.json", "--arch", "x86_64", "--thread", "vmm", "-o", "vmm.bpf");
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "vmm.bpf"))).toEqual(readFileSync(join(dir, "out/vmm.bpf")));
    expect(sf("check", "vmm.bpf").code).toBe(0);
  });
  it("writes a bincode map Firecracker and BoxLite can read (sorted lower-case keys)", () => {
    expect(sf("compile", "fc.json", "--arch", "x86_64", "--format", "bincode", "-o", "fc.bin").code).toBe(0);
    const map = readBincode(readFileSync(join(dir, "fc.bin")));
    expect([...map.keys()]).toEqual(["api", "vcpu", "vmm"]);
    expect(sf("run", "vmm@fc.bin", "--syscall", "ioctl", "--args", "0,21505").out).toBe("ALLOW\n");
    expect(sf("run", "vmm@fc.bin", "--syscall", "ioctl", "--args", "0,21506").out).toBe("TRAP(0)\n");
  });
  it("writes big-endian raw for s390x and C, JSON and disassembly", () => {
    expect(sf("compile", "fc.json", "--arch", "s390x", "--thread", "vmm", "-o", "s390x.bpf").code).toBe(0);
    expect([...readFileSync(join(dir, "s390x.bpf")).subarray(0, 2)]).toEqual([0x00, 0x20]);
    expect(sf("check", "s390x.bpf", "--arch", "s390x").code).toBe(0);
    expect(sf("compile", "fc.json", "--arch", "aarch64", "--format", "c", "-o", "fc.h").code).toBe(0);
    expect(readFileSync(join(dir, "fc.h"), "utf8")).toMatch(/static const struct sock_filter vmm\[\]/);
    const d = sf("compile", "fc.json", "--arch", "aarch64", "--thread", "vmm", "--format", "disasm");
    expect(d.out).toMatch(/^\.arch aarch64$/m);
    expect(d.out).toMatch(/jeq #ioctl/);
    expect(sf("compile", "fc.json", "--format", "json", "--thread", "api", "-o", "api.json").code).toBe(0);
    expect(sf("check", "api.json").code).toBe(0);
  });
  it("accepts a policy wherever a FILTER is accepted (compiled for --arch)", () => {
    expect(sf("check", "fc.json", "--arch", "x86_64").out).toMatch(/fc\.json\[api\]: ok/);
    expect(sf("run", "vmm@fc.json", "--arch", "x86_64", "--syscall", "mmap", "--args", "0,4096,7").out).toBe("TRAP(0)\n");
    expect(sf("run", "vmm@fc.json", "--arch", "x86_64", "--syscall", "mmap", "--args", "0,4096,3").out).toBe("ALLOW\n");
    expect(sf("run", "oci.json", "--arch", "x86_64", "--syscall", "ptrace", "--json").out).toBe('{"action":"ERRNO","data":38,"ret":"0x00050026"}\n');
  });
  it("points errors at the policy line and pointer, and names the arch", () => {
    writeFileSync(join(dir, "bad.json"), '{\n  "vmm": {\n    "default_action": "trap",\n    "filter_action": "allow",\n    "filter": [ { "syscall": "open" } ]\n  }\n}\n');
    const r = sf("compile", "bad.json", "--arch", "aarch64", "-o", "x.bpf");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^sysfence: bad\.json:5 \(\/vmm\/filter\/0\/syscall\): .*"open".*aarch64/);
  });
  it("check --cache reports the syscalls the kernel never runs the filter for", () => {
    const r = sf("check", "--cache", "--json", "vmm@fc.json", "--arch", "x86_64");
    const j = JSON.parse(r.out);
    const c = j.cache.find((x: { arch: string }) => x.arch === "x86_64");
    expect(c.cached).toEqual([0]); // read; ioctl and mmap check arguments
    expect(sf("check", "--cache", "vmm@fc.json", "--arch", "x86_64").out).toMatch(/cache x86_64: 1 of \d+ syscall numbers always allowed without running the filter: read/);
  });
});
