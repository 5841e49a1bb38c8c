// `--thread` across commands, checked against the README's own sentence about it: commands that
// look at each filter on their own take every thread of a map or policy; commands that combine
// filters need one thread per FILTER and say so in one line (exit 2). The lists are read from the
// README, so the text and the behaviour cannot drift apart. Also: each command's `--help` line for
// --thread says the same.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";

const filters = join(repoRoot, "filters");
const POLICY = "vmm.seccompiler.json"; // two threads: vmm and api
const sf = (args: string[]) => runCli(filters, args);

/** The two command lists of the README's `--thread` paragraph. */
function readmeLists(): { every: string[]; one: string[] } {
  const text = readFileSync(join(repoRoot, "README.md"), "utf8").replace(/\s+/g, " ");
  const m = /Without one, commands that look at each filter on its own \(([^)]*)\) take every thread; commands that combine filters \(([^)]*)\) need one thread per FILTER/.exec(text);
  expect(m, "the README's --thread paragraph").not.toBeNull();
  const names = (s: string) => [...s.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
  return { every: names(m![1]), one: names(m![2]) };
}

/** Arguments that run COMMAND (as the README names it) on the two-thread policy. */
function argsFor(cmd: string): string[] {
  const arch = ["--arch", "x86_64"];
  if (cmd === "compile") return ["compile", POLICY, ...arch, "--format", "disasm"];
  if (cmd === "run") return ["run", POLICY, ...arch, "--syscall", "read"];
  if (cmd === "replay") return ["replay", POLICY, "qemu-microvm-boot.strace.gz", ...arch];
  if (cmd.startsWith("verify ") && cmd.includes("/")) return []; // expanded below
  return [...cmd.split(" "), POLICY, ...arch];
}

describe("--thread: the README's sentence holds", () => {
  const { every, one } = readmeLists();

  it("lists the commands", () => {
    expect(every).toEqual(["check", "disasm", "compile", "explain", "verify lint"]);
    expect(one).toEqual(["run", "replay", "verify equal/subset/diff/stack"]);
  });

  for (const cmd of every) {
    it(`${cmd}: every thread without --thread`, () => {
      const r = sf(argsFor(cmd));
      expect(r.code, r.err).toBe(0);
      const all = r.out + r.err;
      expect(all).toMatch(/\bvmm\b/);
      expect(all).toMatch(/\bapi\b/);
    });
  }

  const combining = one.flatMap((c) => c.startsWith("verify ") ? c.slice(7).split("/").map((v) => `verify ${v}`) : [c]);
  for (const cmd of combining) {
    it(`${cmd}: one line asking for a thread, exit 2; with --thread it runs`, () => {
      const args = cmd.startsWith("verify ")
        ? [...cmd.split(" "), POLICY, ...(cmd === "verify stack" ? [] : [POLICY]), "--arch", "x86_64"]
        : argsFor(cmd);
      const r = sf(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/holds 2 filters \(vmm, api\); this command combines one filter per FILTER argument: pick a thread with --thread T or T@FILE/);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      const picked = sf([...args, "--thread", "vmm"]);
      expect([0, 1], picked.err).toContain(picked.code);
    });
  }

  it("explain with a policy dialect output needs one thread and says why", () => {
    const r = sf(["explain", POLICY, "--arch", "x86_64", "--format", "seccompiler"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--format seccompiler writes one policy; pick a thread/);
    const picked = sf(["explain", POLICY, "--arch", "x86_64", "--format", "seccompiler", "--thread", "api"]);
    expect(picked.code, picked.err).toBe(0);
    expect(JSON.parse(picked.out)).toHaveProperty("main"); // the explained policy is named "main"
  });
});

describe("--help says the same", () => {
  const helpLine = (cmd: string[]) => sf([...cmd, "--help"]).out.replace(/\s+/g, " ");
  it.each([["check"], ["disasm"], ["explain"], ["compile"]])("%s: --thread defaults to every thread", (cmd) => {
    expect(helpLine([cmd])).toMatch(/--thread <name> .*default: every thread/);
  });
  it.each([["run"], ["replay"]])("%s: --thread is for maps and policies, needed when a file holds several", (cmd) => {
    expect(helpLine([cmd])).toMatch(/--thread <name> thread of a map or policy, for every FILTER \(needed when one holds several/);
  });
  it("check names policy JSON among its inputs", () => {
    expect(helpLine(["check"])).toMatch(/policy JSON/);
  });
});
