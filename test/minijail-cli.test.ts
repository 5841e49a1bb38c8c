// minijail policies through the CLI: every command that takes a policy reads them, with the
// minijail options; explain and learn write them; the explain → minijail → compile round trip
// proves equal over the crosvm corpus; text files sysfence does not read are named.
import { describe, it, expect, beforeAll } from "vitest";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli } from "./support/cli.js";
import { compilePolicyText } from "../src/policy/index.js";
import { explain } from "../src/verify/explain.js";
import { equal } from "../src/verify/relations.js";
import { toMinijail } from "../src/policy/minijail/emit.js";
import { Inconclusive } from "../src/verify/symbolic.js";

const CROSVM = join(repoRoot, "test", "corpus", "policies", "crosvm");
const PY = ["--minijail-semantics", "python", "--default-action", "trap"];
let dir: string;
const sf = (args: string[]) => runCli(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-minijail-cli-"));
  cpSync(CROSVM, join(dir, "crosvm"), { recursive: true });
  writeFileSync(join(dir, "t.strace"), [
    "1  openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = 3",
    "1  read(3, \"host\\n\", 4096) = 5",
    "1  close(3) = 0",
    "1  exit_group(0) = ?",
  ].join("\n") + "\n");
});

describe("minijail policies in every command", () => {
  const bd = "crosvm/x86_64/block_device.policy";
  it("compile: the arch from constants.json, includes beside the file; the C reading refuses with the place", () => {
    const r = sf(["compile", bd, ...PY, "-o", "bd.bpf"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^sysfence: block_device: \d+ instructions \(x86_64\)$/m);
    const c = sf(["compile", bd, "-o", "x.bpf"]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/^sysfence: crosvm\/x86_64\/block\.policy:22:1: syscall "prctl" is listed again here \(first at crosvm\/x86_64\/common_device\.policy:50:1\)/);
  });

  it("--include-root maps the install prefix; a missing include is a located error", () => {
    writeFileSync(join(dir, "dev.policy"), "@include /usr/share/policy/crosvm/common_device.policy\ngetrandom: 1\n");
    const missing = sf(["check", "dev.policy", "--arch", "x86_64", ...PY]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^sysfence: dev\.policy:1:1: cannot @include \/usr\/share\/policy\/crosvm\/common_device\.policy: no file common_device\.policy .*--include-root/);
    const ok = sf(["check", "dev.policy", "--arch", "x86_64", ...PY, "--include-root", "/usr/share/policy/crosvm=crosvm/x86_64"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^dev\.policy\[dev\]: ok \(\d+ instructions\)$/m);
  });

  it("run, verify subset and equal, replay, explain take the file and the options", () => {
    expect(sf(["run", bd, ...PY, "--syscall", "mmap", "--args", "0,4096,7"]).out.trim()).toBe("TRAP(0)");
    expect(sf(["run", bd, ...PY, "--use-kill-process", "--default-action", "kill", "--syscall", "execve"]).out.trim()).toBe("KILL_PROCESS");
    const sub = sf(["verify", "subset", "crosvm/x86_64/rng_device.policy", bd, ...PY]);
    expect(sub.code).toBe(1);
    expect(sub.out).toContain("counterexample: x86_64 getrandom (nr 318)");
    expect(sf(["verify", "equal", "bd.bpf", bd, ...PY]).code).toBe(0);
    expect(sf(["replay", bd, "t.strace", ...PY]).code).toBe(1); // openat of /etc/hostname is not in a device policy
    const ex = sf(["explain", bd, ...PY]);
    expect(ex.code).toBe(0);
    expect(ex.out).toMatch(/^ {2}open \(2\): ERRNO\(2\)$/m);
  });

  it("launch --policy reads a minijail policy (refusal before start names the policy's problem)", () => {
    const r = sf(["launch", "--policy", "crosvm/x86_64/block_device.policy", "--", "/bin/true"]);
    expect(r.err).toMatch(/block\.policy:22:1: syscall "prctl" is listed again here/);
    expect(r.code).toBe(2);
  });
});

describe("minijail policies written", () => {
  it("explain --format minijail, in the C reading by default and the Python one on request, compiles back equal", () => {
    expect(sf(["compile", "crosvm/x86_64/common_device.policy", "--minijail-semantics", "c", "-o", "cd.bpf"]).code).toBe(0);
    const c = sf(["explain", "cd.bpf", "--arch", "x86_64", "--format", "minijail", "-o", "cd.policy"]);
    expect(c.code).toBe(0);
    const text = readFileSync(join(dir, "cd.policy"), "utf8");
    expect(text).toMatch(/^# x86_64 seccomp policy in minijail's C reading/);
    expect(text).toMatch(/^@default kill-thread$/m);
    expect(text).toMatch(/^mmap: arg2 in ~0x4$/m);
    expect(sf(["verify", "equal", "cd.bpf", "cd.policy", "--arch", "x86_64"]).code).toBe(0);
  });

  it("explain --format minijail says why a filter does not fit", () => {
    writeFileSync(join(dir, "two.json"), JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }));
    const r = sf(["explain", "two.json", "--arch", "x86_64", "--format", "minijail"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not expressible as a minijail policy: a minijail policy is for one ABI; this filter has x86_64, x86/);
  });

  it("learn --format minijail writes a policy that compiles back and replays clean", () => {
    const r = sf(["learn", "t.strace", "--arch", "x86_64", "--format", "minijail", "-o", "learned.policy"]);
    expect(r.code).toBe(0);
    const text = readFileSync(join(dir, "learned.policy"), "utf8");
    expect(text).toMatch(/^@default kill-process$/m);
    expect(text).toMatch(/^read: 1$/m);
    expect(sf(["replay", "learned.policy", "t.strace", "--arch", "x86_64"]).code).toBe(0);
  });

  it("round trip over the crosvm corpus: explain → minijail (Python reading) → compile → verify equal", () => {
    let n = 0;
    for (const arch of ["x86_64", "aarch64"]) {
      for (const f of readdirSync(join(CROSVM, arch)).filter((x) => x.endsWith(".policy"))) {
        const file = join(CROSVM, arch, f);
        const opts = { semantics: "python" as const, defaultAction: "trap" };
        const p = compilePolicyText(readFileSync(file, "utf8"), file, { minijail: opts }).programs[0];
        const e = explain(p.program);
        if (e instanceof Inconclusive || !e.ir) throw new Error(`${arch}/${f}: ${e instanceof Inconclusive ? e.reason : e.problems.join("; ")}`);
        const m = toMinijail(e.ir, { semantics: "python" });
        expect(m.reason, `${arch}/${f}`).toBeUndefined();
        const out = join(dir, `rt-${arch}-${f}`);
        writeFileSync(out, m.text!);
        const back = compilePolicyText(m.text!, out, { arch: p.ir.arches[0].arch, minijail: { semantics: "python" } }).programs[0];
        const v = equal(back.program, p.program);
        expect(v instanceof Inconclusive ? v.reason : v.holds, `${arch}/${f}`).toBe(true);
        n++;
      }
    }
    expect(n).toBe(81);
  });
});

describe("text the detector names", () => {
  const cases: [string, string, RegExp][] = [
    ["unit.service", "[Unit]\nDescription=x\n[Service]\nSystemCallFilter=@system-service\n", /looks like a systemd unit .*: not supported/],
    ["deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n", /looks like YAML that is not a Kubernetes SeccompProfile \(kind: Deployment\): not supported/],
    ["conf.ini", "[main]\nkey = value\n", /looks like an INI file: not supported/],
  ];
  for (const [name, text, msg] of cases) {
    it(`${name}: one line, exit 2`, () => {
      writeFileSync(join(dir, name), text);
      for (const cmd of [["compile", name, "--arch", "x86_64", "-o", "o.bpf"], ["check", name]]) {
        const r = sf(cmd);
        expect(r.code).toBe(2);
        expect(r.err.trim().split("\n")).toHaveLength(1);
        expect(r.err).toMatch(msg);
      }
    });
  }
  it("a minijail policy is not \"invalid JSON\" any more", () => {
    writeFileSync(join(dir, "m.policy"), "# a comment\nread: 1\n");
    const r = sf(["check", "m.policy", "--arch", "x86_64"]);
    expect(r.code).toBe(0);
  });
});
