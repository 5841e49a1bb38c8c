// `verify --probe-bypass`: the kernel skips every filter for x86_64 uretprobe (335) and, on newer
// kernels, uprobe (336) (docs/kernel.md 12); with the flag, relations, diff, stack and spec files
// treat those numbers as the kernel does, so they report no difference a process cannot see.
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { withProbeBypass, bypassedNumbers } from "../src/verify/bypass.js";
import { parseOci } from "../src/policy/oci.js";
import { compileIR } from "../src/policy/compile.js";
import { evaluateBatch, type ProbeBypass } from "../src/engine/run.js";
import { InputBatch, type SeccompData } from "../src/engine/data.js";
import { equal } from "../src/verify/relations.js";
import { resolveArch } from "../src/syscalls/index.js";

const X86_64 = resolveArch("x86_64");
const X86 = resolveArch("x86");

/** An OCI profile over x86_64 and x86 allowing `names` (default ERRNO(1)). */
function profile(names: string[]): string {
  return JSON.stringify({
    defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    syscalls: [{ names, action: "SCMP_ACT_ALLOW" }],
  });
}
const program = (names: string[]) => compileIR(parseOci(profile(names), "p.json", { arch: X86_64, kernel: "6.1" }).policy);

const BASE = ["read", "write", "exit_group"];
let dir: string;
const sf = (...args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-bypass-"));
  writeFileSync(join(dir, "base.json"), profile(BASE));
  writeFileSync(join(dir, "uret.json"), profile([...BASE, "uretprobe"]));
  writeFileSync(join(dir, "both.json"), profile([...BASE, "uretprobe", "uprobe"]));
});

describe("withProbeBypass", () => {
  it("gives, on every input tried, what the interpreter's own probe-bypass model gives", () => {
    const p = program(BASE);
    const inputs: SeccompData[] = [];
    for (const token of [X86_64.token, X86.token, 0x40000028]) {
      for (const nr of [0, 1, 3, 231, 252, 334, 335, 336, 337, 0x40000000 + 335, 0xffffffff]) {
        inputs.push({ arch: token, nr, args: [0n, 335n, 0xffffffffn, 0n, 0n, 0n] });
      }
    }
    const batch = InputBatch.of(inputs);
    for (const mode of ["none", "uretprobe", "uretprobe+uprobe"] as ProbeBypass[]) {
      const model = evaluateBatch(p, batch, { probeBypass: mode }).rets;
      const prefixed = evaluateBatch(withProbeBypass(p, mode), batch).rets;
      expect([...prefixed], mode).toEqual([...model]);
    }
    // The cases that matter: 335 on x86_64 runs under the bypass; 335 on i386 is filtered.
    const at = (token: number, nr: number) => inputs.findIndex((d) => d.arch === token && d.nr === nr);
    const under = evaluateBatch(withProbeBypass(p, "uretprobe"), batch).rets;
    expect(under[at(X86_64.token, 335)] >>> 0).toBe(0x7fff0000);
    expect(under[at(X86_64.token, 336)] >>> 0).toBe(0x00050001);
    expect(under[at(X86.token, 335)] >>> 0).toBe(0x00050001);
    expect(bypassedNumbers("uretprobe+uprobe")).toEqual([335, 336]);
  });

  it("makes two filters that differ only on uretprobe equal, and keeps others apart", () => {
    const a = program(BASE);
    const b = program([...BASE, "uretprobe"]);
    expect(equal(a, b)).toMatchObject({ holds: false });
    expect(equal(withProbeBypass(a, "uretprobe"), withProbeBypass(b, "uretprobe"))).toMatchObject({ holds: true });
    const c = program([...BASE, "getpid"]);
    expect(equal(withProbeBypass(a, "uretprobe+uprobe"), withProbeBypass(c, "uretprobe+uprobe"))).toMatchObject({ holds: false });
  });
});

describe("sysfence verify --probe-bypass", () => {
  it("equal and subset: a difference on uretprobe alone disappears with the flag", () => {
    expect(sf("verify", "equal", "base.json", "uret.json", "--arch", "x86_64").code).toBe(1);
    expect(sf("verify", "equal", "base.json", "uret.json", "--arch", "x86_64", "--probe-bypass", "uretprobe").code).toBe(0);
    expect(sf("verify", "subset", "uret.json", "base.json", "--arch", "x86_64").code).toBe(1);
    expect(sf("verify", "subset", "uret.json", "base.json", "--arch", "x86_64", "--probe-bypass", "uretprobe").code).toBe(0);
    // uprobe is bypassed only in the newer kernels' mode.
    expect(sf("verify", "equal", "base.json", "both.json", "--arch", "x86_64", "--probe-bypass", "uretprobe").code).toBe(1);
    expect(sf("verify", "equal", "base.json", "both.json", "--arch", "x86_64", "--probe-bypass", "uretprobe+uprobe").code).toBe(0);
  });

  it("diff names only what a process can see", () => {
    const plain = sf("verify", "diff", "base.json", "both.json", "--arch", "x86_64", "--json");
    expect(plain.code).toBe(1);
    expect(JSON.parse(plain.out).differences.map((d: { syscall: string }) => d.syscall)).toEqual(["uretprobe", "uprobe"]);
    const r = sf("verify", "diff", "base.json", "both.json", "--arch", "x86_64", "--json", "--probe-bypass", "uretprobe");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).differences.map((d: { syscall: string }) => d.syscall)).toEqual(["uprobe"]);
    expect(sf("verify", "diff", "base.json", "both.json", "--arch", "x86_64", "--probe-bypass", "uretprobe+uprobe").code).toBe(0);
  });

  it("stack --equals takes it too", () => {
    expect(sf("verify", "stack", "uret.json", "--equals", "base.json", "--arch", "x86_64").code).toBe(1);
    expect(sf("verify", "stack", "uret.json", "--equals", "base.json", "--arch", "x86_64", "--probe-bypass", "uretprobe").code).toBe(0);
  });

  it("spec files: a \"probeBypass\" option, overridden by the command line", () => {
    const assertions = [{ equal: ["base.json", "both.json"] }];
    writeFileSync(join(dir, "plain.verify.json"), JSON.stringify({ arch: "x86_64", assertions }));
    writeFileSync(join(dir, "probe.verify.json"), JSON.stringify({ arch: "x86_64", probeBypass: "uretprobe+uprobe", assertions }));
    expect(sf("verify", "--spec", "plain.verify.json").code).toBe(1);
    expect(sf("verify", "--spec", "probe.verify.json").code).toBe(0);
    expect(sf("verify", "--spec", "plain.verify.json", "--probe-bypass", "uretprobe+uprobe").code).toBe(0);
    expect(sf("verify", "--spec", "probe.verify.json", "--probe-bypass", "none").code).toBe(1);
    writeFileSync(join(dir, "bad.verify.json"), JSON.stringify({ arch: "x86_64", probeBypass: "always", assertions }));
    const bad = sf("verify", "--spec", "bad.verify.json");
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(bad.err).toMatch(/bad\.verify\.json \(\/probeBypass\).*takes none, uretprobe or uretprobe\+uprobe, not "always"/);
  });

  it("a bad mode is a one-line error (exit 2); lint does not take the flag", () => {
    const r = sf("verify", "equal", "base.json", "uret.json", "--arch", "x86_64", "--probe-bypass", "sometimes");
    expect(r.code).toBe(2);
    // (Warnings about the profiles may come first: uretprobe does not exist on x86.)
    const errors = r.err.trim().split("\n").filter((l) => !l.startsWith("sysfence: warning:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^sysfence: .*--probe-bypass takes none, uretprobe or uretprobe\+uprobe, not "sometimes"$/);
    expect(sf("verify", "lint", "base.json", "--arch", "x86_64", "--probe-bypass", "uretprobe").code).toBe(2);
  });
});
