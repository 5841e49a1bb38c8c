// Assertion files: every kind of assertion, GitHub annotations pointing at the policy rule's
// line, JUnit XML, and the exit codes.
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, copyFileSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";

let dir: string;
const sf = (...args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-spec-"));
  copyFileSync(join(repoRoot, "test/fixtures/policies/seccompiler-example.json"), join(dir, "fc.json"));
  const spec = (assertions: unknown[]) => JSON.stringify({ arch: "x86_64", assertions });
  writeFileSync(join(dir, "good.json"), spec([
    { name: "api inside vmm", subset: ["api@fc.json", "vmm@fc.json"] },
    { stricter: ["api@fc.json", "vmm@fc.json"] },
    { equal: ["vmm@fc.json", "vmm@fc.json"] },
    { stack: ["api@fc.json", "vmm@fc.json"], equals: "api@fc.json" },
    { deny: "vmm@fc.json", syscall: "execve" },
    { allow: "vmm@fc.json", syscall: "read" },
    { allow: "vmm@fc.json", syscall: "ioctl", args: [3, "0x5401"] },
    { deny: "vmm@fc.json", syscall: "ioctl", args: [3, "0x5402"] },
    // The example policy denies rt_sigreturn (a signal-return-denied warning): gate on errors.
    { lint: "vmm@fc.json", fail: "error" },
  ]));
  writeFileSync(join(dir, "bad.json"), spec([
    { name: "vmm inside api", subset: ["vmm@fc.json", "api@fc.json"] },
    { deny: "vmm@fc.json", syscall: "ioctl" },
    { name: "budget", equal: ["vmm@fc.json", "api@fc.json"] },
  ]));
});

describe("verify --spec", () => {
  it("passes a spec whose assertions all hold (exit 0)", () => {
    const r = sf("verify", "--spec", "good.json", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.results.map((x: { status: string }) => x.status)).toEqual(new Array(9).fill("pass"));
  });
  it("fails with annotations at the rule's line and JUnit XML (exit 1)", () => {
    const r = sf("verify", "--spec", "bad.json", "--ci", "--junit", "out.xml");
    expect(r.code).toBe(1);
    const ann = r.out.split("\n").filter((l) => l.startsWith("::"));
    // The vmm thread's `read` rule is on line 6 of the fixture, `ioctl` on line 7.
    expect(ann[0]).toMatch(/^::error file=fc\.json,line=6,title=sysfence%3A vmm inside api::does not hold: x86_64 read/);
    expect(ann[1]).toMatch(/^::error file=fc\.json,line=7,.*::ioctl is allowed for some arguments only$/);
    const xml = readFileSync(join(dir, "out.xml"), "utf8");
    expect(xml).toMatch(/<testsuite name="sysfence verify" tests="3" failures="3" errors="0">/);
    expect(xml).toMatch(/<testcase classname="sysfence.verify" name="vmm inside api" file="fc.json"><failure message="does not hold/);
  });
  it("bad spec input exits 2 with the place", () => {
    writeFileSync(join(dir, "broken.json"), JSON.stringify({ assertions: [{ frobnicate: 1 }] }));
    const r = sf("verify", "--spec", "broken.json");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.json \(\/assertions\/0\): unknown assertion/);
  });
});
