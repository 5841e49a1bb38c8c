// Values accepted and then changed, fields accepted and then ignored: each finding's smallest
// reproducer, through the CLI (exit code, one located line) and through the API.
//   - audit and JSONL numbers are never cut to 32 bits;
//   - spec files: 65-bit values, more than 6 args and unknown fields are located errors;
//   - -o writes to devices and FIFOs, replaces regular files atomically;
//   - learn takes strace's syscall_0x… names by number.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, statSync, mkdirSync, symlinkSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { runCli, bin } from "./support/cli.js";
import { parseTraceRecord } from "../src/traces/jsonl.js";
import { replayTraces } from "../src/replay/index.js";
import { runSpec } from "../src/verify/spec.js";
import { learnPolicy } from "../src/learn/index.js";
import { writeOutput } from "../src/cli/output.js";
import { assemble } from "../src/text/asm.js";
import { findArch } from "../src/syscalls/index.js";
import { InputError } from "../src/errors.js";

const x86_64 = findArch("x86_64")!;
let dir: string;
const sf = (...args: string[]) => runCli(dir, args);

/** The one line the CLI would print for what `f` throws (sync or async). */
async function oneLine(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof InputError) return e.oneLine();
    throw e;
  }
  return "no error";
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-exact-"));
  // Allows read only: a record replayed as read would be allowed.
  writeFileSync(join(dir, "f.asm"), [".arch x86_64", "ld arch", "jeq #AUDIT_ARCH_X86_64, ok, kill", "ok: ld nr", "jeq #read, allow, kill", "allow: ret ALLOW", "kill: ret KILL_PROCESS", ""].join("\n"));
  expect(sf("asm", "f.asm", "-o", "f.bpf").code).toBe(0);
});

describe("audit and JSONL numbers are never cut to 32 bits", () => {
  const audit = (sys: string, extra = "") =>
    `type=SECCOMP msg=audit(1613596317.899:6461): auid=0 uid=0 gid=0 ses=1 pid=42 comm="x" exe="/x" sig=0 arch=c000003e syscall=${sys} compat=0 ip=0x1 code=0x0${extra}\n`;

  it("audit syscall=4294967296 is an error at the line, not read (CLI and API)", async () => {
    writeFileSync(join(dir, "wide.log"), audit("4294967296"));
    const r = sf("replay", "f.bpf", "wide.log");
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/wide\.log:1: syscall= 4294967296 is out of range 0\.\.4294967295/);
    const p = assemble(readFileSync(join(dir, "f.asm"), "utf8"));
    expect(await oneLine(() => replayTraces([p], [join(dir, "wide.log")], { arch: x86_64 }))).toMatch(/wide\.log:1: syscall= 4294967296/);
    // The largest 32-bit value is still a (denied) call, and read is read.
    writeFileSync(join(dir, "edge.log"), audit("4294967295") + audit("0").replace("6461", "6462"));
    const ok = await replayTraces([p], [join(dir, "edge.log")], { arch: x86_64 });
    expect([ok.totals.allowed, ok.totals.denied]).toEqual([1, 1]);
  });

  it("audit pid= and exit= out of their types are errors", async () => {
    writeFileSync(join(dir, "pid.log"), audit("0").replace("pid=42", "pid=4294967338"));
    expect(sf("replay", "f.bpf", "pid.log").err).toMatch(/pid\.log:1: pid= 4294967338 is out of range/);
    writeFileSync(join(dir, "exit.log"), `type=SYSCALL msg=audit(1.0:7): arch=c000003e syscall=0 success=yes exit=36893488147419103232 a0=0 a1=0 a2=0 a3=0 pid=1\n`);
    expect(sf("replay", "f.bpf", "exit.log").err).toMatch(/exit\.log:1: exit= 36893488147419103232 does not fit in 64 bits/);
  });

  it('JSONL "arch": 7516192830 (x86_64 + 2^32) is an error, not x86_64 (CLI and API)', () => {
    writeFileSync(join(dir, "arch.jsonl"), '{"arch": 7516192830, "nr": 0}\n');
    const r = sf("replay", "f.bpf", "arch.jsonl");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/arch\.jsonl:1: "arch" 7516192830 is out of range 0\.\.4294967295/);
    expect(() => parseTraceRecord('{"arch": 7516192830, "nr": 0}', 1, "t.jsonl")).toThrow(/out of range/);
    expect(parseTraceRecord('{"arch": 3221225534, "nr": 0}', 1, "t.jsonl").arch.name).toBe("x86_64");
  });

  it('JSONL "pid" and "ret" are checked against their types; unknown fields suggest the name', () => {
    const line = (s: string) => oneLine(() => parseTraceRecord(s, 3, "t.jsonl", x86_64));
    return Promise.all([
      expect(line('{"nr": 0, "pid": 2147483648}')).resolves.toMatch(/^t\.jsonl:3: "pid" 2147483648 is out of range/),
      expect(line('{"nr": 0, "ret": 18446744073709551616}')).resolves.toMatch(/"ret" 18446744073709551616 does not fit in 64 bits/),
      expect(line('{"nr": 0, "ret": 9007199254740993}')).resolves.toMatch(/"ret" 9007199254740993 is not exact/),
      expect(line('{"nr": 0, "arg": [1]}')).resolves.toMatch(/unknown field "arg" \(did you mean "args"\?\)/),
      // 2^64-1 is the register's -1.
      expect(Promise.resolve(parseTraceRecord('{"nr": 0, "ret": 18446744073709551615}', 1, "t", x86_64).ret)).resolves.toBe(-1),
    ]);
  });
});

describe("verify spec files refuse what they cannot mean", () => {
  const fc = join(repoRoot, "filters/vmm.seccompiler.json");
  const spec = (name: string, a: unknown, top: Record<string, unknown> = {}) => {
    writeFileSync(join(dir, name), JSON.stringify({ arch: "x86_64", ...top, assertions: [a] }).replace('"WIDE"', "18446744073709551616"));
    return name;
  };
  const cases: [string, unknown, RegExp][] = [
    ["wide.spec.json", { allow: `vmm@${fc}`, syscall: "ioctl", args: [3, "0x1000000000000ae80"] }, /\(\/assertions\/0\/args\/1\): args\[1\] 18446744073709596288 does not fit in 64 bits/],
    ["widenum.spec.json", { allow: `vmm@${fc}`, syscall: "ioctl", args: [3, "WIDE"] }, /\(\/assertions\/0\/args\/1\): args\[1\] 18446744073709551616 does not fit/],
    ["eight.spec.json", { allow: `vmm@${fc}`, syscall: "read", args: [1, 2, 3, 4, 5, 6, 7, 8] }, /\(\/assertions\/0\/args\): "args" has 8 values; struct seccomp_data has 6/],
    ["typo.spec.json", { allow: `vmm@${fc}`, syscall: "ioctl", arg: [3, 1] }, /\(\/assertions\/0\/arg\): unknown field "arg" \(did you mean "args"\?\)/],
    ["bogus.spec.json", { deny: `vmm@${fc}`, syscall: "execve", bogus: 1 }, /\(\/assertions\/0\/bogus\): unknown field "bogus"/],
    ["two.spec.json", { deny: `vmm@${fc}`, lint: `vmm@${fc}`, syscall: "execve" }, /\(\/assertions\/0\): one assertion per object/],
    ["kind.spec.json", { alow: `vmm@${fc}`, syscall: "read" }, /unknown assertion: .*"alow" \(did you mean "allow"\?\)/],
  ];
  for (const [name, a, want] of cases) {
    it(`${name}: exit 2 naming the place (CLI and API)`, async () => {
      const f = spec(name, a);
      const r = sf("verify", "--spec", f);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(want);
      expect(r.out).toBe("");
      expect(await oneLine(() => runSpec(join(dir, f)))).toMatch(want);
    });
  }
  it("an unknown top-level key is refused; a 64-bit value still works", async () => {
    const f = spec("top.spec.json", { deny: `vmm@${fc}`, syscall: "execve" }, { asertions: [] });
    expect(sf("verify", "--spec", f).err).toMatch(/top\.spec\.json \(\/asertions\): unknown field "asertions" \(did you mean "assertions"\?\)/);
    const ok = spec("ok.spec.json", { deny: `vmm@${fc}`, syscall: "ioctl", args: [3, "0xffffffffffffffff"] });
    expect(runSpec(join(dir, ok))[0].status).toBe("pass");
  });
});

describe("-o behaves like every Unix tool", () => {
  it("compile -o /dev/null works, with one thread and with several", () => {
    for (const t of [["--thread", "vmm"], []]) {
      const r = sf("compile", join(repoRoot, "filters/vmm.seccompiler.json"), ...t, "-o", "/dev/null");
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/vmm: \d+ instructions/);
    }
  });

  it("a FIFO receives the program", () => {
    const fifo = join(dir, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // The reader runs in the same shell so the FIFO has one while sysfence writes.
    const r = spawnSync("sh", ["-c", `wc -c < '${fifo}' & ${JSON.stringify(process.execPath)} '${bin}' compile '${join(repoRoot, "filters/vmm.seccompiler.json")}' --thread vmm -o '${fifo}'; wait`], { encoding: "utf8", cwd: dir });
    expect(r.status).toBe(0);
    // vmm's program, 8 bytes per instruction, as the compile reports it.
    const n = Number(/vmm: (\d+) instructions/.exec(r.stderr)?.[1]);
    expect(Number(r.stdout.trim())).toBe(8 * n);
    expect(n).toBeGreaterThan(0);
  });

  it("a directory gets one THREAD.bpf per thread; a regular file with several threads is a located error", () => {
    const d = join(dir, "threads");
    mkdirSync(d);
    expect(sf("compile", join(repoRoot, "filters/vmm.seccompiler.json"), "--thread", "vmm", "-o", d).code).toBe(0);
    expect(readdirSync(d)).toEqual(["vmm.bpf"]);
    writeFileSync(join(dir, "one.bpf"), "x");
    const r = sf("compile", join(repoRoot, "filters/vmm.seccompiler.json"), "-o", "one.bpf");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/one\.bpf: the policy holds 2 threads \(vmm, api\): give a directory/);
    expect(readFileSync(join(dir, "one.bpf"), "utf8")).toBe("x");
    // A text format cannot go to a directory.
    expect(sf("compile", join(repoRoot, "filters/vmm.seccompiler.json"), "--format", "c", "-o", d).err).toMatch(/is a directory/);
  });

  it("an interrupted write leaves the previous output whole (file size limit hit mid-write)", () => {
    const prev = join(dir, "prev.txt");
    writeFileSync(prev, "previous output\n", { mode: 0o640 });
    // ulimit -f 1: the write fails (EFBIG) after 512 bytes; a write in place would leave 512 bytes.
    const r = spawnSync("sh", ["-c", `ulimit -f 1; exec ${JSON.stringify(process.execPath)} '${bin}' compile '${join(repoRoot, "filters/vmm.seccompiler.json")}' --format disasm -o prev.txt`], { encoding: "utf8", cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/prev\.txt: cannot write: EFBIG/);
    expect(readFileSync(prev, "utf8")).toBe("previous output\n");
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    // Without the limit it is replaced, keeping its mode.
    expect(sf("compile", join(repoRoot, "filters/vmm.seccompiler.json"), "--format", "disasm", "-o", "prev.txt").code).toBe(0);
    expect(readFileSync(prev, "utf8")).toMatch(/^; ---- vmm/);
    expect(statSync(prev).mode & 0o777).toBe(0o640);
  });

  it("writeOutput (API): symlinks are followed, the link stays a link", () => {
    const real = join(dir, "real.txt");
    writeFileSync(real, "old");
    symlinkSync(real, join(dir, "link.txt"));
    writeOutput(join(dir, "link.txt"), "new");
    expect(lstatSync(join(dir, "link.txt")).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toBe("new");
    expect(() => writeOutput(join(dir, "nodir", "x"), "y")).toThrow(/cannot write: ENOENT/);
  });
});

describe("learn accepts strace's syscall_0x… names", () => {
  const trace = '1  read(0, "", 1) = 0\n1  syscall_0x1b6(0x3, 0x4, 0) = 5\n1  exit_group(0) = ?\n';
  it("by number, named by the table (CLI and API)", async () => {
    writeFileSync(join(dir, "hex.strace"), trace);
    const r = sf("learn", "--arch", "x86_64", "hex.strace", "-o", "learned.json");
    expect(r.err).not.toMatch(/unknown syscall/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "learned.json"), "utf8")).toMatch(/"syscall": "pidfd_getfd"/);
    const api = await learnPolicy([join(dir, "hex.strace")], { arch: x86_64 });
    expect(api.rules.map((x) => x.name)).toContain("pidfd_getfd");
    expect(api.replay?.totals.denied).toBe(0);
  });
  it("a number the table has no name for is left out with a warning, not an error about the learned file", async () => {
    writeFileSync(join(dir, "noname.strace"), trace + "1  syscall_0x3ff(0x1) = -1 ENOSYS (Function not implemented)\n");
    const api = await learnPolicy([join(dir, "noname.strace")], { arch: x86_64 });
    expect(api.warnings.join("\n")).toMatch(/syscall_0x3ff \(nr 1023, seen 1 time, first at .*noname\.strace:4\) has no name on x86_64/);
    expect(api.rules.map((x) => x.name)).toContain("pidfd_getfd");
    const r = sf("learn", "--arch", "x86_64", "noname.strace", "-o", "/dev/null");
    expect(r.err).not.toMatch(/learned policy>/);
    expect(r.err).toMatch(/replay of the traces under it: 4 calls, 3 allowed, 1 denied/);
  });
});
