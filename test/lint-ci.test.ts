// Lint a CI can live with (issue 12 §4): x32 under an explicit x32 ABI entry is intent, not a
// finding; `--fail-on` picks the severity that fails the run.
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicyText } from "../src/policy/index.js";
import { lint, findingsExitCode, type Finding } from "../src/verify/lint.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { runCli } from "./support/cli.js";
import { corpusPath } from "./support/corpus.js";

const dir = mkdtempSync(join(tmpdir(), "sysfence-lint-ci-"));
const sf = (...args: string[]) => runCli(dir, args);

/** A one-rule default-allow OCI profile over the given SCMP_ARCH_* names. */
function profile(name: string, arches: string[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: arches.map((a) => `SCMP_ARCH_${a}`),
    syscalls: [{ names: ["ptrace"], action: "SCMP_ACT_ERRNO" }],
  }));
  return file;
}

function findings(file: string, policyAbis?: string[]): Finding[] {
  const r = compilePolicyText(readFileSync(file, "utf8"), file, { arch: "x86_64" });
  const f = lint(r.programs[0].program, { policyAbis });
  if (f instanceof Inconclusive) throw new Error(f.reason);
  return f;
}

describe("x32 under an explicit x32 ABI entry", () => {
  const withX32 = profile("with-x32", ["X86_64", "X86", "X32"]);
  it("is info (x32-allowed), not the x32-reachable error, read from the program alone", () => {
    const f = findings(withX32);
    expect(f.map((x) => x.id)).toContain("x32-allowed");
    expect(f.map((x) => x.id)).not.toContain("x32-reachable");
    expect(f.find((x) => x.id === "x32-allowed")!.severity).toBe("info");
  });
  it("and from the policy's ABIs", () => {
    expect(findings(withX32, ["x86_64", "x86", "x32"]).map((x) => x.id)).toContain("x32-allowed");
  });
  it("the CLI exits 0 on it by default and 1 with --fail-on info", () => {
    const r = sf("verify", "lint", withX32, "--arch", "x86_64");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("info [x32-allowed]");
    expect(sf("verify", "lint", withX32, "--arch", "x86_64", "--fail-on", "info").code).toBe(1);
  });
  it("a deny-list that never looked at x32 still gets the x32-reachable error", () => {
    writeFileSync(join(dir, "denylist.asm"), ".arch x86_64\nld arch\njeq #AUDIT_ARCH_X86_64, next, kill\nld nr\njeq #execve, kill\nallow: ret ALLOW\nkill: ret KILL_PROCESS\n");
    expect(sf("asm", "denylist.asm", "-o", "denylist.bpf").code).toBe(0);
    const r = sf("verify", "lint", "denylist.bpf", "--arch", "x86_64");
    expect(r.out).toContain("error [x32-reachable]");
    expect(r.code).toBe(1);
  });
});

describe("verify lint --fail-on", () => {
  const docker = corpusPath("profiles/moby-profiles-seccomp-default.json");
  it("Docker's default profile has warnings only: exit 0 by default, 1 with --fail-on warning", () => {
    const r = sf("verify", "lint", docker, "--arch", "x86_64");
    expect(r.out).toContain("warning [int-arg-high-word]");
    expect(r.out).not.toMatch(/: error \[/);
    expect(r.code).toBe(0);
    expect(sf("verify", "lint", docker, "--arch", "x86_64", "--fail-on", "warning").code).toBe(1);
    expect(sf("verify", "lint", docker, "--arch", "x86_64", "--fail-on", "error").code).toBe(0);
  });
  it("an unknown level is bad input (exit 2, one line)", () => {
    const r = sf("verify", "lint", docker, "--fail-on", "fatal");
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain("--fail-on takes error, warning or info");
  });
  it("findingsExitCode ranks severities", () => {
    const w: Finding = { id: "w", severity: "warning", message: "", hint: "" };
    expect(findingsExitCode([w])).toBe(0);
    expect(findingsExitCode([w], "warning")).toBe(1);
    expect(findingsExitCode([w], "info")).toBe(1);
    expect(findingsExitCode([{ ...w, severity: "error" }])).toBe(1);
    expect(findingsExitCode([])).toBe(0);
  });
});
