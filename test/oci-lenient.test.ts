// errnoRet on an action without data (issue 12 §5): refused by default (the runtime-spec), dropped
// with a warning under --lenient (runc ignores it).
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicy } from "../src/policy/frontend.js";
import { InputError } from "../src/errors.js";
import { runCli } from "./support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "sysfence-lenient-"));
const sf = (...args: string[]) => runCli(dir, args);
const PROFILE = JSON.stringify({
  defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }],
});
const SAME_WITHOUT = JSON.stringify({
  defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" }],
});

describe("errnoRet on SCMP_ACT_ALLOW", () => {
  it("is an error by default", () => {
    expect(() => loadPolicy(PROFILE, "p.json", { arch: "x86_64" })).toThrow(InputError);
  });
  it("--lenient drops it with a located warning; the program is the one without the field", () => {
    const r = loadPolicy(PROFILE, "p.json", { arch: "x86_64", lenient: true });
    expect(r.warnings.map((w) => w.message)).toEqual(['"errnoRet" has no meaning with SCMP_ACT_ALLOW; dropped (--lenient), as runc does']);
    expect(r.warnings[0].source?.pointer).toBe("/syscalls/0/errnoRet");
  });
  it("the CLI: exit 2 with one located line, then --lenient compiles a program equal to the profile without the field", () => {
    writeFileSync(join(dir, "p.json"), PROFILE);
    writeFileSync(join(dir, "q.json"), SAME_WITHOUT);
    const strict = sf("compile", "p.json", "--arch", "x86_64", "-o", "p.bpf");
    expect(strict.code).toBe(2);
    expect(strict.err.trim()).toBe('sysfence: p.json:1 (/syscalls/0/errnoRet): "errnoRet" is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW (the runtime-spec says the runtime must fail; --lenient drops it, as runc does)');
    const lenient = sf("compile", "p.json", "--arch", "x86_64", "-o", "p.bpf", "--lenient");
    expect(lenient.code).toBe(0);
    expect(lenient.err).toContain('sysfence: warning: p.json:1 (/syscalls/0/errnoRet): "errnoRet" has no meaning with SCMP_ACT_ALLOW; dropped (--lenient), as runc does');
    expect(sf("compile", "q.json", "--arch", "x86_64", "-o", "q.bpf").code).toBe(0);
    expect(sf("verify", "equal", "p.bpf", "q.bpf", "--arch", "x86_64").code).toBe(0);
  });
  it("--lenient reaches every command that reads a policy (run, check, verify lint)", () => {
    writeFileSync(join(dir, "p.json"), PROFILE);
    expect(sf("run", "p.json", "--arch", "x86_64", "--syscall", "read").code).toBe(2);
    const run = sf("run", "p.json", "--arch", "x86_64", "--syscall", "read", "--lenient");
    expect(run.code).toBe(0);
    expect(run.out.trim()).toBe("ALLOW");
    expect(sf("check", "p.json", "--arch", "x86_64", "--lenient").code).toBe(0);
    expect(sf("verify", "lint", "p.json", "--arch", "x86_64", "--lenient").code).toBe(0);
  });
});
