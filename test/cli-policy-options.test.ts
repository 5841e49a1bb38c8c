// The policy options every FILTER-taking command shares (src/cli/policy-options.ts): --caps
// (the whole set, or +CAP/-CAP changes to Docker's default set) and --kernel reach an OCI
// profile however a command reads it, and a policy's compile warnings reach every command's
// output the way `compile` prints them.
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { capsFromSpec, DOCKER_DEFAULT_CAPS } from "../src/policy/oci.js";
import { InputError } from "../src/errors.js";

let dir: string;
const sf = (...args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sf-policy-opts-"));
  // mount only with CAP_SYS_ADMIN, bpf only on 5.8 or later: the program depends on both flags.
  writeFileSync(join(dir, "p.json"), JSON.stringify({
    defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
    syscalls: [
      { names: ["read", "exit_group"], action: "SCMP_ACT_ALLOW" },
      { names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
      { names: ["chown"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_CHOWN"] } },
      { names: ["bpf"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "5.8" } },
    ],
  }));
  // What p.json means with CAP_SYS_ADMIN added, CAP_CHOWN dropped, on 6.1.
  writeFileSync(join(dir, "admin.json"), JSON.stringify({
    defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
    syscalls: [{ names: ["read", "exit_group", "mount", "bpf"], action: "SCMP_ACT_ALLOW" }],
  }));
  // An entry whose action is the default: runc skips it, sysfence warns.
  writeFileSync(join(dir, "warn.json"), JSON.stringify({
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }, { names: ["getpid"], action: "SCMP_ACT_ERRNO" }],
  }));
});

describe("--caps and --kernel in every command that takes a FILTER", () => {
  it("run: different programs for different flags", () => {
    const run = (...flags: string[]) => (sc: string) => sf("run", "p.json", "--arch", "x86_64", "--syscall", sc, ...flags).out.trim();
    const plain = run("--kernel", "6.1");
    expect([plain("mount"), plain("chown"), plain("bpf")]).toEqual(["ERRNO(1)", "ALLOW", "ALLOW"]);
    const admin = run("--caps", "+CAP_SYS_ADMIN,-CAP_CHOWN", "--kernel", "6.1");
    expect([admin("mount"), admin("chown"), admin("bpf")]).toEqual(["ALLOW", "ERRNO(1)", "ALLOW"]);
    const bare = run("--caps", "", "--kernel", "5.4");
    expect([bare("mount"), bare("chown"), bare("bpf")]).toEqual(["ERRNO(1)", "ERRNO(1)", "ERRNO(1)"]);
    expect(run("--caps", "sys_admin", "--kernel", "6.1")("mount")).toBe("ALLOW");
  });
  it("verify equal: holds only under the flags that give the same program", () => {
    expect(sf("verify", "equal", "p.json", "admin.json", "--arch", "x86_64", "--caps", "+CAP_SYS_ADMIN,-CAP_CHOWN", "--kernel", "6.1").code).toBe(0);
    expect(sf("verify", "equal", "p.json", "admin.json", "--arch", "x86_64", "--caps", "+CAP_SYS_ADMIN", "--kernel", "6.1").code).toBe(1);
    expect(sf("verify", "equal", "p.json", "admin.json", "--arch", "x86_64", "--caps", "+CAP_SYS_ADMIN,-CAP_CHOWN", "--kernel", "5.4").code).toBe(1);
  });
  it("check, explain, replay, lint, diff, stack and launch --check take the flags", () => {
    const flags = ["--caps", "+CAP_SYS_ADMIN,-CAP_CHOWN", "--kernel", "6.1"];
    writeFileSync(join(dir, "t.jsonl"), '{"arch":"x86_64","syscall":"mount","args":[0,0,0,0,0,0]}\n');
    expect(sf("check", "p.json", "--arch", "x86_64", ...flags).code).toBe(0);
    expect(sf("explain", "p.json", "--arch", "x86_64", ...flags).out).toMatch(/mount \(165\): ALLOW/);
    expect(sf("explain", "p.json", "--arch", "x86_64", "--kernel", "6.1").out).not.toMatch(/mount \(165\)/);
    expect(sf("replay", "p.json", "t.jsonl", "--arch", "x86_64", ...flags).code).toBe(0);
    expect(sf("replay", "p.json", "t.jsonl", "--arch", "x86_64", "--kernel", "6.1").code).toBe(1);
    expect(sf("verify", "lint", "p.json", "--arch", "x86_64", ...flags).err).not.toMatch(/unknown option/);
    expect(sf("verify", "diff", "p.json", "admin.json", "--arch", "x86_64", ...flags).code).toBe(0);
    expect(sf("verify", "stack", "p.json", "--arch", "x86_64", "--equals", "admin.json", ...flags).code).toBe(0);
    const l = sf("launch", "--check", "--policy", "p.json", ...flags, "--", "/bin/true");
    expect(l.err).not.toMatch(/unknown option/);
  });
  it("bad values: one line, exit 2", () => {
    for (const [flags, msg] of [
      [["--caps", "+CAP_SYS_ADMN"], /^sysfence: --caps: unknown capability "CAP_SYS_ADMN"/],
      [["--caps", "+CAP_SYS_ADMIN,CAP_CHOWN"], /^sysfence: --caps: give either a list of capabilities/],
      [["--kernel", "six"], /^sysfence: --kernel: takes "major\.minor"/],
    ] as const) {
      const r = sf("run", "p.json", "--arch", "x86_64", "--syscall", "read", ...flags);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
  });
  it("capsFromSpec: the replacing and the additive form", () => {
    expect([...capsFromSpec("CAP_SYS_ADMIN, chown")]).toEqual(["SYS_ADMIN", "CHOWN"]);
    expect(capsFromSpec("").size).toBe(0);
    const changed = capsFromSpec("+CAP_SYS_ADMIN,-CAP_CHOWN");
    expect(changed.has("SYS_ADMIN") && !changed.has("CHOWN")).toBe(true);
    expect(changed.size).toBe(DOCKER_DEFAULT_CAPS.length);
    expect(() => capsFromSpec("+NOPE")).toThrow(InputError);
  });
});

describe("a policy's compile warnings reach every command's output", () => {
  const warning = /^sysfence: warning: warn\.json:1 \(\/syscalls\/1\): entry for getpid has the default action/m;
  it("verify, run, explain, check print them once, as compile does", () => {
    const compile = sf("compile", "warn.json", "--arch", "x86_64", "-o", "/dev/null");
    expect(compile.err).toMatch(warning);
    for (const args of [
      ["verify", "equal", "warn.json", "warn.json"], ["run", "warn.json", "--syscall", "read"],
      ["explain", "warn.json"], ["check", "warn.json"], ["verify", "lint", "warn.json"],
    ]) {
      const r = sf(...args, "--arch", "x86_64");
      expect(r.err, args.join(" ")).toMatch(warning);
      expect(r.err.match(new RegExp(warning.source, "gm")), args.join(" ")).toHaveLength(1);
    }
  });
  it("launch --policy prints them before start", () => {
    // Allows everything (a launch refuses a filter that would stop the exec), with one warning.
    writeFileSync(join(dir, "allow.json"), JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }],
    }));
    const r = sf("launch", "--check", "--policy", "allow.json", "--", "/bin/true");
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^sysfence: warning: allow\.json:1 \(\/syscalls\/0\): entry for getpid has the default action ALLOW/m);
  });
});
