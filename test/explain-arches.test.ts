// explain on every filter a user meets: every corpus policy compiled for x86_64, aarch64 and
// s390x is explained and proven equal (explain recompiles its answer and runs `verify equal`),
// including the ABIs a multi-ABI compile adds (arm with its private calls above the table, x86,
// s390, x32); and filters with runc's ENOSYS stub in front (test/support/runc-stub.ts) read as
// the policy plus one section for the numbers the stub answers, and `verify diff` against
// them names the stub as the cause.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { compilePolicyText, type CompiledPolicy } from "../src/policy/index.js";
import { compileIR } from "../src/policy/compile.js";
import { findArch } from "../src/syscalls/arches.js";
import { syscallNumber } from "../src/syscalls/index.js";
import { explain, type Explanation } from "../src/verify/explain.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import { evaluateBatch } from "../src/engine/run.js";
import { InputBatch } from "../src/engine/data.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { Action } from "../src/engine/actions.js";
import type { PolicyIR } from "../src/policy/ir.js";
import { corpusPath } from "./support/corpus.js";
import { withRuncStub, runcMaxima, RUNC_ENOSYS } from "./support/runc-stub.js";
import { diff } from "../src/verify/diff.js";
import { diffLines } from "../src/verify/report.js";
import { policy, arg } from "../src/policy/builder.js";
import { emitPolicy } from "../src/policy/emit/index.js";
import { policyDot } from "../src/graph/policy.js";

const ARCHES = ["x86_64", "aarch64", "s390x"] as const;

/** Every corpus policy and the ABIs it is compiled for. Firecracker's x86_64 filters name calls
 *  aarch64 does not have (open, stat…): they compile for x86_64 and s390x only (asserted below). */
const POLICIES: [string, readonly string[]][] = [
  ["profiles/moby-profiles-seccomp-default.json", ARCHES],
  ["profiles/containers-common-seccomp.json", ARCHES],
  ["policies/kubernetes/seccompprofile.yaml", ["x86_64", "aarch64"]], // lists x86_64 (little-endian) only
  ["filters/firecracker/x86_64-unknown-linux-musl.json", ["x86_64", "s390x"]],
  ["filters/firecracker/aarch64-unknown-linux-musl.json", ARCHES],
  ["filters/firecracker/v1.10.1/x86_64-unknown-linux-musl.json", ["x86_64", "s390x"]],
  ["filters/firecracker/v1.10.1/aarch64-unknown-linux-musl.json", ARCHES],
  ["filters/firecracker/unimplemented.json", ARCHES],
];

const compile = (rel: string, arch: string): CompiledPolicy[] =>
  compilePolicyText(readFileSync(corpusPath(...rel.split("/")), "utf8"), rel, { arch: findArch(arch)!, kernel: "6.8" }).programs;

function explained(p: CompiledPolicy["program"], who: string): Explanation {
  const e = explain(p);
  if (e instanceof Inconclusive) throw new Error(`${who}: inconclusive: ${e.reason}`);
  expect(e.problems, who).toEqual([]);
  expect(e.ir, who).toBeDefined(); // present only once proven equal to the filter
  return e;
}

describe("explain proves equality on every corpus policy and ABI", () => {
  for (const [rel, arches] of POLICIES) {
    for (const arch of arches) {
      it(`${rel} (${arch})`, () => {
        const programs = compile(rel, arch);
        expect(programs.length).toBeGreaterThan(0);
        for (const p of programs) {
          const e = explained(p.program, `${rel} ${arch} ${p.name}`);
          // Every ABI the compile covers has a section or the x32 line.
          for (const a of p.ir.arches) {
            const stated = e.ir!.arches.some((s) => s.arch.name === a.arch.name) || (a.arch.name === "x32" && e.ir!.x32Action !== undefined);
            expect(stated, `${p.name}: ${a.arch.name}`).toBe(true);
          }
        }
      });
    }
  }

  it("Firecracker's x86_64 filters name calls aarch64 lacks, so they are not compiled for it", () => {
    expect(() => compile("filters/firecracker/x86_64-unknown-linux-musl.json", "aarch64")).toThrow(/unknown syscall/);
  });

  it("Docker on aarch64: the arm section states ARM's private calls by name, above the table", () => {
    const [p] = compile("profiles/moby-profiles-seccomp-default.json", "aarch64");
    const e = explained(p.program, "docker aarch64");
    const arm = e.ir!.arches.find((s) => s.arch.name === "arm")!;
    for (const name of ["breakpoint", "cacheflush", "set_tls"]) {
      const nr = syscallNumber(arm.arch, name)!;
      expect(nr).toBeGreaterThanOrEqual(0x0f0000);
      expect(arm.syscalls.find((s) => s.nr === nr), name).toMatchObject({ name, rules: [{ conditions: [], action: Action.ALLOW }] });
      expect(e.text).toContain(`  ${name} (${nr}): ALLOW`);
    }
    expect(arm.ranges).toBeUndefined(); // the profile's default reaches every number past the table
  });

  it("-1 and numbers past the table unlike the default are stated (a hand-written IR)", () => {
    const aarch64 = findArch("aarch64")!;
    const eperm = (Action.ERRNO | 1) >>> 0;
    const ir: PolicyIR = {
      arches: [{
        arch: aarch64, defaultAction: eperm,
        syscalls: [{ nr: 63, name: "read", rules: [{ conditions: [], action: Action.ALLOW }] }, { nr: 0xffffffff, name: "-1", rules: [{ conditions: [], action: Action.LOG }] }],
        ranges: [{ lo: 1000, hi: 0xfffffffe, action: RUNC_ENOSYS }],
      }],
      mismatchAction: Action.KILL_PROCESS,
    };
    const e = explained(compileIR(ir), "hand-written");
    const sec = e.ir!.arches[0];
    expect(sec.defaultAction).toBe(eperm);
    expect(sec.ranges).toEqual([{ lo: 1000, hi: 0xfffffffe, action: RUNC_ENOSYS }]);
    expect(sec.syscalls.map((s) => s.name)).toEqual(["read", "-1"]);
    expect(e.text).toContain("  -1 (4294967295): LOG");
    expect(e.text).toContain("aarch64, ranges of numbers:\n  numbers 1000..4294967294: ERRNO(38)");
  });

  it("policy dialects refuse ranges and unnamed numbers with a reason; a range across ABIs is refused", () => {
    const [p] = compile("profiles/moby-profiles-seccomp-default.json", "x86_64");
    const stubbed = explained(withRuncStub(p.program, runcMaxima(p.ir)), "docker x86_64 + runc stub");
    expect(emitPolicy(stubbed.ir!, "oci").reason).toMatch(/^x86_64 numbers 450\.\.1073741823 get ERRNO\(38\), unlike the default ERRNO\(1\); an OCI profile names syscalls, not ranges of numbers$/);
    expect(emitPolicy(stubbed.ir!, "minijail").reason).toMatch(/a minijail policy is for one ABI|not ranges of numbers/);
    // The picture of the decompiled policy draws the range as a node of its ABI.
    expect(policyDot(stubbed.ir!, "docker")).toMatch(/label="numbers 450\.\.1073741823: ERRNO\(38\)"/);
    const aarch64 = findArch("aarch64")!;
    const minus1: PolicyIR = { arches: [{ arch: aarch64, defaultAction: Action.KILL_PROCESS, syscalls: [{ nr: 0xffffffff, name: "-1", rules: [{ conditions: [], action: Action.ALLOW }] }] }], mismatchAction: Action.KILL_PROCESS };
    expect(emitPolicy(minus1, "seccompiler").reason).toBe("aarch64 syscall 4294967295 has no name seccompiler JSON could use");
    const x86_64 = findArch("x86_64")!;
    const across: PolicyIR = { arches: [{ arch: x86_64, defaultAction: Action.ALLOW, syscalls: [], ranges: [{ lo: 500, hi: 0x40000010, action: RUNC_ENOSYS }] }], mismatchAction: Action.KILL_PROCESS };
    expect(() => compileIR(across)).toThrow(/x86_64 range 500\.\.1073741840 crosses its ABI's part of the syscall numbers/);
    // -1 is x86_64's when the policy has an x86_64 section (the reference evaluator reads it so):
    // an x32 range over it would compile to something else than the IR means.
    const x32 = findArch("x32")!;
    const x32Over = (withMain: boolean): PolicyIR => ({
      arches: [
        ...(withMain ? [{ arch: x86_64, defaultAction: Action.ALLOW, syscalls: [] }] : []),
        { arch: x32, defaultAction: Action.ALLOW, syscalls: [], ranges: [{ lo: 0xffffffff, hi: 0xffffffff, action: RUNC_ENOSYS }] },
      ],
      mismatchAction: Action.KILL_PROCESS,
    });
    expect(() => compileIR(x32Over(true))).toThrow(/x32 range 4294967295\.\.4294967295 crosses its ABI's part/);
    // Without an x86_64 section -1 is x32's, and the range applies: compiled = reference = ENOSYS.
    const minusOne = { arch: x86_64.token, nr: 0xffffffff | 0 };
    const [ret] = evaluateBatch(compileIR(x32Over(false)), InputBatch.of([minusOne], "le"), { engine: "interpreter" }).rets;
    expect([ret >>> 0, evaluatePolicy(x32Over(false), minusOne) >>> 0]).toEqual([RUNC_ENOSYS >>> 0, RUNC_ENOSYS >>> 0]);
  });

  it("the compiled ranges mean what the reference evaluator says (every run edge)", () => {
    const x86_64 = findArch("x86_64")!;
    const ir: PolicyIR = {
      arches: [{ arch: x86_64, defaultAction: (Action.ERRNO | 1) >>> 0, syscalls: [{ nr: 0, name: "read", rules: [{ conditions: [], action: Action.ALLOW }] }], ranges: [{ lo: 451, hi: 0x3fffffff, action: RUNC_ENOSYS }] }],
      mismatchAction: Action.KILL_PROCESS, x32Action: Action.KILL_THREAD,
    };
    const nrs = [0, 1, 450, 451, 452, 0x3ffffffe, 0x3fffffff, 0x40000000, 0xffffffff];
    const inputs = nrs.map((nr) => ({ arch: x86_64.token, nr, args: [0n, 0n, 0n, 0n, 0n, 0n] }));
    const got = evaluateBatch(compileIR(ir), InputBatch.of(inputs, "le"), { engine: "interpreter" }).rets;
    expect([...got]).toEqual(inputs.map((d) => evaluatePolicy(ir, d)));
    expect(got[3]).toBe(RUNC_ENOSYS);
    expect(got[2]).toBe((Action.ERRNO | 1) >>> 0);
  });
});

describe("runc's ENOSYS stub", () => {
  const docker = "profiles/moby-profiles-seccomp-default.json";

  for (const arch of ARCHES) {
    it(`Docker ${arch}: the stubbed filter reads as the policy plus one range of ENOSYS numbers`, () => {
      const [p] = compile(docker, arch);
      const plain = explained(p.program, `docker ${arch}`);
      const maxima = runcMaxima(p.ir);
      const stubbed = explained(withRuncStub(p.program, maxima), `docker ${arch} + runc stub`);
      const main = maxima.find((m) => m.arch.name === arch)!;
      const sec = stubbed.ir!.arches.find((s) => s.arch.name === arch)!;
      const plainSec = plain.ir!.arches.find((s) => s.arch.name === arch)!;
      // The section default is the policy's, not the stub's answer for numbers it does not know.
      expect(sec.defaultAction).toBe(plainSec.defaultAction);
      expect(sec.ranges?.[0]).toMatchObject({ lo: main.max + 1, action: RUNC_ENOSYS });
      // No "otherwise ERRNO(38)" on syscalls the stub never answers.
      for (const line of stubbed.text.split("\n")) {
        const m = /^ {2}\S+ \((\d+)\):.*otherwise ERRNO\(38\)/.exec(line);
        if (m) expect(Number(m[1]), line).toBeGreaterThan(main.max);
      }
      // Near the stub-less length: the calls newer than the stub's libseccomp leave the list,
      // a range line (and a header per ABI) comes in.
      const a = plain.text.split("\n").length, b = stubbed.text.split("\n").length;
      expect(Math.abs(a - b), `${a} lines without the stub, ${b} with it`).toBeLessThanOrEqual(12 * maxima.length);
    });
  }

  it("the stub's ENOSYS numbers keep the names of the table's calls they cover", () => {
    const [p] = compile(docker, "x86_64");
    const maxima = runcMaxima(p.ir);
    const max = maxima.find((m) => m.arch.name === "x86_64")!.max;
    expect(max).toBe(449); // futex_waitv: the profile does not list set_mempolicy_home_node (450)
    const stubbed = explained(withRuncStub(p.program, maxima), "docker x86_64 + runc stub");
    expect(stubbed.text).toMatch(/\nx86_64, ranges of numbers:\n {2}numbers 450\.\.1073741823: ERRNO\(38\) \(includes \d+ named calls: set_mempolicy_home_node … \w+\)\n/);
    // -1 belongs to x86_64 (src/policy/ir.ts step 2): the stub answers it too, stated by itself.
    expect(stubbed.text).toContain("\n  -1 (4294967295): ERRNO(38)\n");
    expect(stubbed.text).toContain("\nx32, ranges of numbers:\n  numbers 1073742372..4294967294: ERRNO(38)\n");
  });
});

describe("verify diff against a runtime's filter", () => {
  const docker = "profiles/moby-profiles-seccomp-default.json";

  it("numbers the other filter's ENOSYS stub answers are 'not known to the other compiler', ranges read 'always'", () => {
    const [p] = compile(docker, "x86_64");
    const maxima = runcMaxima(p.ir);
    const r = diff(p.program, withRuncStub(p.program, maxima));
    if (r instanceof Inconclusive) throw new Error(r.reason);
    const x86_64 = r.entries.filter((e) => e.arch === "x86_64");
    expect(x86_64.length).toBeGreaterThan(0);
    for (const e of r.entries) {
      const from = maxima.find((m) => m.arch.name === e.arch)!.max + 1;
      expect(e.b, `${e.arch} ${e.syscall}`).toBe("ERRNO(38)");
      expect(e.nr[0]).toBeGreaterThanOrEqual(from);
      expect(e.note, `${e.arch} ${e.syscall}`).toBe(`not known to the other compiler: B answers ENOSYS from nr ${from} up`);
      expect(e.when, `${e.arch} ${e.syscall}`).toBe("always"); // no argument is read there
    }
    expect(x86_64.find((e) => e.syscall === "mseal")).toMatchObject({ nr: [462, 462], a: "ALLOW" });
    expect(x86_64[x86_64.length - 1]).toMatchObject({ nr: [x86_64[x86_64.length - 2].nr[1] + 1, 0x3fffffff], a: "ERRNO(1)" });
    // The text says the cause once per ABI, with its entries under it.
    const text = diffLines(r, ["sysfence", "runc"]).join("\n");
    expect(text).toContain("x86_64:\n  not known to the other compiler: B answers ENOSYS from nr 450 up:\n    set_mempolicy_home_node (450): A ERRNO(1), B ERRNO(38)\n    cachestat (451): A ALLOW, B ERRNO(38)\n");
    // The other way round, the stub is A's.
    const back = diff(withRuncStub(p.program, maxima), p.program);
    if (back instanceof Inconclusive) throw new Error(back.reason);
    expect(back.entries.every((e) => e.note?.startsWith("not known to the other compiler: A answers ENOSYS"))).toBe(true);
  });

  it("a filter whose default is ENOSYS has no stub: containers-common against Docker carries no such note", () => {
    const [a] = compile(docker, "x86_64");
    const [b] = compile("profiles/containers-common-seccomp.json", "x86_64");
    const r = diff(a.program, b.program);
    if (r instanceof Inconclusive) throw new Error(r.reason);
    expect(r.entries.some((e) => e.b === "ERRNO(38)")).toBe(true);
    expect(r.entries.filter((e) => e.note)).toEqual([]);
  });

  it("a range of arch tokens reads 'always' when only a known arch's difference reads arguments", () => {
    const a = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_process" }).allow("read").build();
    const b = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_thread" }).rule("read", [arg(0).qword().ne(1n)], "allow").build();
    const r = diff(compileIR(a), compileIR(b));
    if (r instanceof Inconclusive) throw new Error(r.reason);
    expect(r.entries.find((e) => e.arch === "x86_64" && e.syscall === "read")).toMatchObject({ when: "args[0] == 1" });
    const foreign = r.entries.filter((e) => e.arch.includes(".."));
    expect(foreign.length).toBeGreaterThan(0);
    for (const e of foreign) expect(e).toMatchObject({ nr: [0, 0xffffffff], a: "KILL_PROCESS", b: "KILL_THREAD", when: "always" });
  });
});
