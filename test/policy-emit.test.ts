// The policy emitter layer (src/policy/emit/): explain and learn write one spelling per dialect,
// and what is written means, as sysfence's frontends read it back and the verifier compares it,
// exactly the IR it came from: compile back + verify equal. 32-bit ABIs, the one errno table,
// and OCI profiles for filters over several ABIs (one `architectures` list when the ABIs agree,
// one archMap target per ABI when they do not).
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicyText } from "../src/policy/index.js";
import { compileIR } from "../src/policy/compile.js";
import { policy, arg } from "../src/policy/builder.js";
import { emitPolicy, toOci, dialectFrame, POLICY_DIALECTS, type PolicyDialect } from "../src/policy/emit/index.js";
import { learnedPolicyIR } from "../src/learn/index.js";
import { explain } from "../src/verify/explain.js";
import { equal } from "../src/verify/relations.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { findArch } from "../src/syscalls/arches.js";
import { errnoNumber } from "../src/syscalls/errno.js";
import { readCHeader } from "../src/formats/cheader.js";
import { writeRaw } from "../src/formats/raw.js";
import { Action } from "../src/engine/actions.js";
import type { PolicyIR } from "../src/policy/ir.js";
import type { Program } from "../src/engine/program.js";
import { runCli } from "./support/cli.js";

const KT = Action.KILL_THREAD >>> 0;

function explained(p: Program): PolicyIR {
  const e = explain(p, { oneCompPerArg: true });
  if (e instanceof Inconclusive) throw new Error(e.reason);
  expect(e.problems).toEqual([]);
  return e.ir!;
}

/** `text` read back by sysfence's frontend for `arch` equals `expected` (the verifier decides). */
function readsBackEqual(text: string, arch: string, expected: Program, flags: string[] = []): void {
  const minijail = flags.includes("--minijail-semantics python") ? { semantics: "python" as const } : undefined;
  const back = compilePolicyText(text, "emitted", { arch, ...(minijail ? { minijail } : {}) }).programs[0].program;
  expect(equal(back, expected), `${arch}\n${text}`).toMatchObject({ holds: true });
}

describe("one spelling for explain and learn", () => {
  // The learned rule "ioctl when arg1 (low word) == 0x5401" on a 64-bit and a 32-bit ABI.
  for (const archName of ["x86_64", "x86", "arm"]) {
    it(`${archName}: a learned policy and the explanation of its program are written alike and read back equal, in every dialect`, () => {
      const arch = findArch(archName)!;
      for (const dialect of POLICY_DIALECTS) {
        const learned = learnedPolicyIR(
          [{ name: "read" }, { name: "ioctl", conds: [{ index: 1, width: 32, value: 0x5401n }] }],
          arch, Action.KILL_PROCESS >>> 0, dialect,
        );
        const program = compileIR(learned);
        const fromLearn = emitPolicy(learned, dialect);
        expect(fromLearn.reason, dialect).toBeUndefined();
        readsBackEqual(fromLearn.text!, archName, program, fromLearn.flags);
        const fromExplain = emitPolicy(explained(program), dialect);
        expect(fromExplain.reason, dialect).toBeUndefined();
        readsBackEqual(fromExplain.text!, archName, program, fromExplain.flags);
        if (dialect === "oci") {
          // The comparison is spelled the same way by both: a low-word mask where OCI reads all
          // 64 bits, a plain equality where it reads the low word.
          const args = (t: string) => JSON.parse(t).syscalls.find((e: { names: string[] }) => e.names.includes("ioctl")).args;
          expect(args(fromExplain.text!)).toEqual(args(fromLearn.text!));
          expect(args(fromLearn.text!)).toEqual(archName === "x86_64"
            ? [{ index: 1, value: 0xffffffff, valueTwo: 0x5401, op: "SCMP_CMP_MASKED_EQ" }]
            : [{ index: 1, value: 0x5401, valueTwo: 0, op: "SCMP_CMP_EQ" }]);
        }
      }
    });
  }
  it("each dialect's frame is what its reader gives unknown arches and x32", () => {
    const x86_64 = findArch("x86_64")!;
    for (const dialect of ["seccompiler", "oci"] as PolicyDialect[]) {
      const text = emitPolicy(learnedPolicyIR([{ name: "read" }], x86_64, (Action.ERRNO | 1) >>> 0, dialect), dialect).text!;
      const ir = compilePolicyText(text, "t", { arch: "x86_64" }).programs[0].ir;
      expect({ mismatchAction: ir.mismatchAction >>> 0, x32Action: ir.x32Action! >>> 0 }).toEqual(dialectFrame(dialect, x86_64, (Action.ERRNO | 1) >>> 0));
    }
  });
  it("what a dialect cannot state is a reason, not a text", () => {
    const ir = learnedPolicyIR([{ name: "read" }], findArch("x86_64")!, (Action.TRAP | 5) >>> 0, "oci");
    const trap = toOci(ir);
    expect(trap.text).toBeUndefined();
    expect(trap.reason).toMatch(/TRAP\(5\) has no spelling in an OCI profile/);
    const wide = policy({ arch: "x86", default: "kill_thread", mismatch: "kill_thread" }).rule("read", [arg(0).lt(3n)], "allow").build();
    wide.arches[0].syscalls[0].rules[0].conditions[0].width = 64;
    expect(toOci(wide).reason).toMatch(/all 64 bits of an argument has no OCI spelling on a 32-bit ABI/);
  });
  it("x86: a socket-family call allowed outright fits only when socketcall(call) gets the same (runtimes mirror the entry)", () => {
    const b = () => policy({ arch: "x86", default: "errno(1)", mismatch: "kill_thread" }).allow("read", "accept4");
    const bare = toOci(b().build());
    expect(bare.text).toBeUndefined();
    expect(bare.reason).toMatch(/on x86 an OCI entry giving accept4 ALLOW outright also applies to socketcall\(18, …\)/);
    // With the mirrored rule in the filter (what sysfence compiles from such a profile), it fits
    // and reads back equal.
    const mirrored = b().rule("socketcall", [arg(0).eq(18n)], "allow").build();
    const text = toOci(mirrored).text!;
    readsBackEqual(text, "x86", compileIR(mirrored));
    // socketcall decided outright absorbs the mirror.
    expect(toOci(b().rule("socketcall", [], "kill_thread").build()).text).toBeDefined();
  });
});

describe("one errno table", () => {
  it("EWOULDBLOCK is EAGAIN for OCI names and C headers alike; ENOSYS per ABI", () => {
    const x86_64 = findArch("x86_64")!;
    expect(errnoNumber("EWOULDBLOCK", x86_64)).toBe(11);
    expect(errnoNumber(" enosys ", findArch("mips")!)).toBe(89);
    const c = readCHeader(
      "struct sock_filter f[] = {\n  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EWOULDBLOCK),\n};\n",
      { where: "f.c", arch: x86_64 },
    );
    expect(c.get("f")!.insn(0).k).toBe((Action.ERRNO | 11) >>> 0);
    const oci = compilePolicyText(JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", defaultErrno: "EWOULDBLOCK", syscalls: [] }), "p.json", { arch: "x86_64" });
    expect(oci.programs[0].ir.arches[0].defaultAction >>> 0).toBe((Action.ERRNO | 11) >>> 0);
  });
});

describe("OCI profiles for filters over several ABIs", () => {
  it("ABIs that agree: one `architectures` list; read back for each of them, equal to the whole filter", () => {
    const profile = {
      defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
      ],
    };
    const original = compilePolicyText(JSON.stringify(profile), "p.json", { arch: "x86_64" }).programs[0].program;
    const out = toOci(explained(original));
    expect(out.reason).toBeUndefined();
    expect(out.notes).toEqual([]);
    expect(JSON.parse(out.text!).architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    for (const arch of ["x86_64", "x86"]) readsBackEqual(out.text!, arch, original);
  });
  it("ABIs that differ: one archMap target per ABI with includes.arches; read back for each, equal to the filter on that ABI", () => {
    const a = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_thread" })
      .allow("read", "write")
      .rule("ioctl", [arg(1).dword().eq(0x5401n)], "allow")
      .build();
    const b = policy({ arch: "aarch64", default: "errno(1)", mismatch: "kill_thread" })
      .allow("read")
      .rule("ioctl", [arg(1).dword().eq(0x5413n)], "allow")
      .rule("openat", [], "errno(13)")
      .build();
    const both: PolicyIR = { arches: [...a.arches, ...b.arches], mismatchAction: KT, x32Action: KT };
    const ir = explained(compileIR(both));
    const out = toOci(ir);
    expect(out.reason).toBeUndefined();
    expect(out.notes.join()).toMatch(/one archMap target per ABI/);
    const doc = JSON.parse(out.text!);
    expect(doc.archMap).toEqual([
      { architecture: "SCMP_ARCH_X86_64", subArchitectures: [] },
      { architecture: "SCMP_ARCH_AARCH64", subArchitectures: [] },
    ]);
    expect(doc.syscalls.every((e: { includes?: { arches: string[] } }) => e.includes?.arches.length === 1)).toBe(true);
    for (const sec of ir.arches) {
      const alone = compileIR({ arches: [sec], mismatchAction: KT, ...(sec.arch.name === "x86_64" ? { x32Action: KT } : {}) });
      readsBackEqual(out.text!, sec.arch.name, alone);
    }
  });
  it("refuses what OCI cannot hold: different default actions per ABI", () => {
    const a = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_thread" }).allow("read").build();
    const b = policy({ arch: "x86", default: "kill_thread", mismatch: "kill_thread" }).allow("read").build();
    expect(toOci({ arches: [...a.arches, ...b.arches], mismatchAction: KT, x32Action: KT }).reason).toMatch(/one default action/);
  });
});

describe("sysfence explain --format oci on a multi-ABI filter", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sf-emit-"));
  });
  it("writes the per-ABI profile, says so on stderr, and the profile reads back equal per ABI", () => {
    const a = policy({ arch: "x86_64", default: "errno(1)", mismatch: "kill_thread" }).allow("read").build();
    const b = policy({ arch: "aarch64", default: "errno(1)", mismatch: "kill_thread" }).allow("write").build();
    const both: PolicyIR = { arches: [...a.arches, ...b.arches], mismatchAction: KT, x32Action: KT };
    writeFileSync(join(dir, "two.bpf"), writeRaw(compileIR(both), "le"));
    const r = runCli(dir, ["explain", "two.bpf", "--format", "oci", "-o", "two.json"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^sysfence: two\.bpf: note: the ABIs x86_64, aarch64 are treated differently/m);
    for (const [arch, sec] of [["x86_64", a], ["aarch64", b]] as const) {
      writeFileSync(join(dir, `alone-${arch}.bpf`), writeRaw(compileIR(sec), "le"));
      expect(runCli(dir, ["verify", "equal", "two.json", `alone-${arch}.bpf`, "--arch", arch]).code, arch).toBe(0);
    }
  });
});
