// Warnings a multi-ABI profile triggers by design are summarised (issue 12 §4): a count per ABI,
// the names with --verbose; names that exist on no ABI the profile lists keep a full warning.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { corpusPath } from "./support/corpus.js";

const dir = mkdtempSync(join(tmpdir(), "sysfence-warnsum-"));
const sf = (...args: string[]) => runCli(dir, args);
const docker = corpusPath("profiles/moby-profiles-seccomp-default.json");
const warnings = (err: string) => err.split("\n").filter((l) => l.startsWith("sysfence: warning:"));

describe("missing-name warnings", () => {
  it("Docker's profile on aarch64: one count line per ABI, no names; a name no listed ABI has is named", () => {
    const r = sf("compile", docker, "--arch", "aarch64", "-o", "d.bpf");
    expect(r.code).toBe(0);
    const w = warnings(r.err);
    expect(w).toContain("sysfence: warning: 106 syscall names of the profile do not exist on aarch64 (they belong to other ABIs the profile lists) and were skipped there, as runtimes do");
    expect(w).toContain("sysfence: warning: 20 syscall names of the profile do not exist on arm (they belong to other ABIs the profile lists) and were skipped there, as runtimes do");
    // sync_file_range2 is powerpc's name (arm calls 341 arm_sync_file_range); moby lists no ppc ABI.
    expect(w.find((l) => l.includes("exists on none of its ABIs"))).toMatch(/: 1 syscall name of the profile exists on none of its ABIs \(aarch64, arm, x86_64, .*\) and was skipped: sync_file_range2 \(a typo/);
    for (const l of w) expect(l.length, l).toBeLessThan(400);
  });
  it("--verbose prints the names behind the count", () => {
    const r = sf("compile", docker, "--arch", "aarch64", "-o", "d.bpf", "--verbose");
    const line = warnings(r.err).find((l) => l.includes("do not exist on aarch64"))!;
    expect(line).toMatch(/as runtimes do: _llseek, _newselect, access, alarm, /);
    expect(line.split(": ").pop()!.split(", ")).toHaveLength(106);
  });
  it("a typo in a one-ABI profile is named in full", () => {
    writeFileSync(join(dir, "typo.json"), JSON.stringify({
      defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["read", "wirte", "select"], action: "SCMP_ACT_ALLOW" }],
    }));
    const w = warnings(sf("compile", "typo.json", "--arch", "x86_64", "-o", "t.bpf").err);
    expect(w).toEqual(["sysfence: warning: 1 syscall name of the profile exists on none of its ABIs (x86_64) and was skipped: wirte (a typo, a call of an ABI the profile does not list, or newer than sysfence's syscall tables)"]);
  });
});
