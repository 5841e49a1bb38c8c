// Jail options are declared once (JAIL_OPTIONS); the flags, SYSFENCE_JAIL_* variables, JSON
// validation, launcher arguments and the README table derive from it. These tests fail when a
// derived place disagrees with the table (or the launcher's --help with the table), and prove
// that one schema types and ranges every way in: file, variables, flags and the API.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";
import {
  JAIL_OPTIONS, JAIL_ENV, LAUNCHER_HOST_ARGS, LAUNCHER_TEST_ARGS, addJailFlags, jailArgs, jailFromEnv, jailFromFlags, jailOptionsMarkdown,
  loadJailFile, mergeJail, validateJail, type JailOptions,
} from "../src/launch/jail.js";
import { launch } from "../src/launch/launch.js";
import { InputError } from "../src/errors.js";
import { LAUNCHER, skipLauncher } from "./fixtures/launch/support.js";

const dir = mkdtempSync(join(tmpdir(), "sysfence-jailopts-"));

function line(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.oneLine();
    throw e;
  }
  return "(no error)";
}

/** One sample text per option, as a flag value and a variable would carry it. */
function sample(key: string, meta: string): string {
  const by: Record<string, string> = {
    uidMap: "0 1000 1", gidMap: "0 1000 1", devices: "kvm", rlimits: "NOFILE=64:128", "cgroup.version": "2",
    "cgroup.memoryMax": "512M", "cgroup.pidsMax": "64", "cgroup.cpuMax": "50000 100000", "jailRoot.id": "vm-1",
  };
  return by[key] ?? (meta === "N" || meta === "MS" ? "7" : meta === "SRC[:DST]" ? "/usr:/u" : meta === "NAME" ? "HOME" : "/srv/x");
}

/** Flags and variables that set every option (negated ones to false). */
function everything(): { argv: string[]; env: Record<string, string> } {
  const argv: string[] = [];
  const env: Record<string, string> = {};
  for (const o of JAIL_OPTIONS) {
    const isSwitch = o.type.meta === "";
    if (isSwitch) {
      argv.push(o.flag);
      env[o.env] = o.negated ? "0" : "1";
    } else {
      argv.push(o.flag, sample(o.key, o.type.meta));
      env[o.env] = sample(o.key, o.type.meta);
    }
  }
  return { argv, env };
}

describe("JAIL_OPTIONS is the one declaration", () => {
  it("each option has a distinct flag and variable, and the variables are JAIL_ENV", () => {
    const flags = JAIL_OPTIONS.map((o) => o.flag);
    const envs = JAIL_OPTIONS.map((o) => o.env);
    expect(new Set(flags).size).toBe(flags.length);
    expect(new Set(envs).size).toBe(envs.length);
    expect(Object.keys(JAIL_ENV).sort()).toEqual(["SYSFENCE_JAIL_FILE", ...envs].sort());
    for (const o of JAIL_OPTIONS) expect(o.doc.length, o.key).toBeGreaterThan(3);
  });

  it("the launch command has exactly the table's jail flags", () => {
    const cmd = addJailFlags(new Command());
    expect(cmd.options.map((o) => o.long)).toEqual(JAIL_OPTIONS.map((o) => o.flag));
    const help = runCli(dir, ["launch", "--help"]).out;
    for (const o of JAIL_OPTIONS) expect(help, o.flag).toContain(o.flag);
  });

  it("flags, variables and the equivalent JSON give the same jail, and every launcher argument is produced", () => {
    const { argv, env } = everything();
    const cmd = addJailFlags(new Command()).exitOverride();
    cmd.parse(argv, { from: "user" });
    const fromFlags = jailFromFlags(cmd.opts());
    const fromEnv = jailFromEnv(env);
    expect(fromFlags).toEqual(fromEnv);
    // The JSON a user would write for the same jail passes the same schema unchanged.
    const f = join(dir, "all.json");
    writeFileSync(f, JSON.stringify(fromEnv));
    expect(loadJailFile(f)).toEqual(fromEnv);
    const args = jailArgs(validateJail(fromEnv), { joins: ["/cg/cgroup.procs"], stopTimeoutMs: 7, parentPid: 1 });
    // Negated switches are set to false above: their launcher argument is the default's.
    for (const o of JAIL_OPTIONS) if (o.launcher && !(o.negated && !o.launcher.includes("-no-"))) expect(args, o.key).toContain(o.launcher);
    expect(jailArgs({ landlock: true })).toEqual(["--landlock", "--landlock-system"]);
    expect(args).toContain("nofile=64:128");
  });

  it.skipIf(skipLauncher("launcher --help"))("agrees with the launcher's --help: every table argument exists, every jail argument is in the table", () => {
    const help = spawnSync(LAUNCHER, ["--help"], { encoding: "utf8" }).stdout;
    const inHelp = new Set(help.match(/--[a-z][a-z-]*/g));
    for (const o of JAIL_OPTIONS) if (o.launcher) expect(inHelp.has(o.launcher), o.launcher).toBe(true);
    const table = new Set<string>([...JAIL_OPTIONS.map((o) => o.launcher), ...LAUNCHER_HOST_ARGS, ...LAUNCHER_TEST_ARGS]);
    for (const a of inHelp) if (a !== "--help") expect(table.has(a), `${a} is in launcher --help but in no jail option`).toBe(true);
  });

  it("the README's jail table is the rendered table", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const m = /<!-- jail-options -->\n([\s\S]*?)\n<!-- \/jail-options -->/.exec(readme);
    expect(m, "README.md has a <!-- jail-options --> section").not.toBeNull();
    expect(m![1]).toBe(jailOptionsMarkdown());
  });
});

describe("one schema for files, variables, flags and the API", () => {
  const f = join(dir, "jail.json");
  const file = (o: unknown) => {
    writeFileSync(f, JSON.stringify(o));
    return line(() => loadJailFile(f));
  };

  it("wrong JSON types are located errors, never a crash later (was: v.trim is not a function)", () => {
    expect(file({ cgroup: { memoryMax: true } })).toMatch(/jail\.json\/cgroup\/memoryMax: must be a string or a number/);
    expect(file({ cgroup: { cpuMax: 5 } })).toMatch(/jail\.json\/cgroup\/cpuMax: must be a string/);
    expect(file({ root: 5 })).toMatch(/jail\.json\/root: must be a non-empty string/);
    expect(file({ pidns: "yes" })).toMatch(/jail\.json\/pidns: must be true or false/);
    expect(file({ jailRoot: { base: 1, id: "x" } })).toMatch(/jail\.json\/jailRoot\/base: must be a non-empty string/);
    expect(file({ landlock: { ro: "/etc" } })).toMatch(/jail\.json\/landlock\/ro: must be an array of strings/);
    expect(file({ rlimits: { nofile: [] } })).toMatch(/jail\.json\/rlimits\/nofile: must be a count/);
    expect(line(() => validateJail({ cgroup: { pidsMax: 5n } }))).toMatch(/^jail\/cgroup\/pidsMax: must be a string or a number/);
  });

  it("ranges come from the C types: ids, counts, times, rlimits, cgroup limits", () => {
    expect(file({ stopTimeoutMs: 2 ** 31 })).toMatch(/jail\.json\/stopTimeoutMs: must be an integer 0\.\.2147483647/);
    expect(file({ numaNode: -1 })).toMatch(/jail\.json\/numaNode: must be an integer/);
    expect(file({ uid: 2 ** 53 })).toMatch(/jail\.json\/uid: must be an id 0\.\.4294967294/);
    expect(file({ userns: true, uidMap: [{ inside: 0, outside: 4294967296, count: 1 }] })).toMatch(/jail\.json\/uidMap\/0\/outside: must be an id \(0\.\.4294967295\)/);
    expect(file({ rlimits: { nofile: "18446744073709551615" } })).toMatch(/rlimits\/nofile: must be a count/);
    expect(file({ rlimits: { nofile: "10:5" } })).toMatch(/soft limit above the hard limit/);
    expect(file({ cgroup: { memoryMax: "99999999999T" } })).toMatch(/cgroup\/memoryMax: \d+ is out of range/);
    expect(line(() => jailFromEnv({ SYSFENCE_JAIL_STOP_TIMEOUT_MS: "4294967296" }))).toMatch(/^SYSFENCE_JAIL_STOP_TIMEOUT_MS: must be an integer 0\.\.2147483647/);
    expect(line(() => jailFromEnv({ SYSFENCE_JAIL_UID_MAP: "0 4294967296 1", SYSFENCE_JAIL_USERNS: "1" }))).toMatch(/^SYSFENCE_JAIL_UID_MAP: "0 4294967296 1"/);
  });

  it("unknown keys are refused with a suggestion, at every level", () => {
    expect(file({ userNS: true })).toMatch(/jail\.json\/userNS: unknown option "userNS" \(did you mean "userns"\?\)/);
    expect(file({ cgroup: { memorymax: "1G" } })).toMatch(/jail\.json\/cgroup\/memorymax: unknown option "memorymax" \(did you mean "memoryMax"\?\)/);
    expect(file({ binds: [{ src: "/usr", dest: "/u" }] })).toMatch(/binds\/0\/dest: unknown option "dest" \(did you mean "dst"\?\)/);
    expect(line(() => jailFromEnv({ SYSFENCE_JAIL_USRENS: "1" }))).toMatch(/^SYSFENCE_JAIL_USRENS: unknown jail variable \(did you mean "SYSFENCE_JAIL_USERNS"\?\)/);
    expect(file({ devices: ["kmv"] })).toMatch(/devices\/0: unknown device "kmv" \(did you mean "kvm"\?\)/);
  });

  it("rlimit names as users write them: NOFILE, nofile, RLIMIT_NOFILE", () => {
    for (const name of ["NOFILE", "nofile", "RLIMIT_NOFILE", "rlimit_nofile"]) {
      const j = validateJail({ rlimits: { [name]: 64 } });
      expect(j.rlimits).toEqual({ nofile: 64 });
      expect(jailArgs(j)).toEqual(["--rlimit", "nofile=64"]);
    }
    expect(jailFromEnv({ SYSFENCE_JAIL_RLIMITS: "RLIMIT_CORE=0" }).rlimits).toEqual({ core: 0 });
    expect(line(() => validateJail({ rlimits: { NOFILES: 1 } }))).toMatch(/unknown rlimit \(did you mean "nofile"\?\)/);
  });

  it("an id map without a user namespace is refused, not ignored; layers are checked once merged", () => {
    expect(line(() => validateJail({ uidMap: [{ inside: 0, outside: 0, count: 1 }] }))).toMatch(/^jail\/uidMap: needs userns: true/);
    // The map from a file, the namespace from a variable: fine once merged.
    writeFileSync(f, JSON.stringify({ userns: true }));
    expect(jailFromEnv({ SYSFENCE_JAIL_FILE: f, SYSFENCE_JAIL_UID_MAP: "0 0 1" }).uidMap).toHaveLength(1);
  });

  it("a bare switch over settings keeps them (--cgroup over a file's cgroup limits)", () => {
    writeFileSync(f, JSON.stringify({ cgroup: { memoryMax: "1G" } }));
    const cmd = addJailFlags(new Command()).exitOverride();
    cmd.parse(["--cgroup"], { from: "user" });
    expect(mergeJail(loadJailFile(f), jailFromFlags(cmd.opts())).cgroup).toEqual({ memoryMax: "1G" });
    expect(jailFromEnv({ SYSFENCE_JAIL_FILE: f, SYSFENCE_JAIL_CGROUP: "1" }).cgroup).toEqual({ memoryMax: "1G" });
  });

  it("the CLI: a bad jail file, variable or flag exits 2 with one line and starts nothing", () => {
    writeFileSync(f, JSON.stringify({ cgroup: { memoryMax: true } }));
    const marker = join(dir, "ran");
    const runs: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [["--jail", f], {}, /jail\.json\/cgroup\/memoryMax: must be a string or a number/],
      [[], { SYSFENCE_JAIL_RLIMITS: "NOFILE=-1" }, /rlimits\/NOFILE: must be a count/],
      [["--stop-timeout", "99999999999"], {}, /--stop-timeout: must be an integer 0\.\.2147483647/],
      [["--rlimit", "NOFILES=1"], {}, /unknown rlimit \(did you mean "nofile"\?\)/],
    ];
    for (const [flags, env, want] of runs) {
      const r = spawnSync(process.execPath, [join(repoRoot, "bin/sysfence.js"), "launch", ...flags, "--", "/bin/sh", "-c", `touch ${marker}`], {
        encoding: "utf8", cwd: dir, env: { ...process.env, ...env },
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it("the API: launch() refuses a bad jail before starting anything", () => {
    const bad: [JailOptions, RegExp][] = [
      [{ cgroup: { memoryMax: true } } as unknown as JailOptions, /^jail\/cgroup\/memoryMax: must be a string or a number/],
      [{ rlimits: { NOFILE: "1:0" } }, /^jail\/rlimits\/NOFILE: soft limit above the hard limit/],
      [{ stopTimeoutMs: 1.5 }, /^jail\/stopTimeoutMs: must be an integer/],
    ];
    for (const [jail, want] of bad) {
      expect(line(() => launch({ filter: new Uint8Array(8), argv: ["/bin/true"], jail }))).toMatch(want);
    }
  });
});
