// What runtimes install where a policy is silent, checked against libseccomp itself: each profile
// here is compiled by sysfence and, through Debian's python3-seccomp (libseccomp 2.5.4, what
// runc, crun and Docker link), by libseccomp from the same entries (the bench's translator,
// bench/compile/libseccomp.py), and the two filters are compared with `verify equal`'s relation.
// Points (docs/policies.md, docs/formats.md 4.5-4.6):
// - nr -1 on x86_64 gets the default action, not the x32 (bad-arch) action;
// - socket/ipc-family entries without argument checks are mirrored into socketcall/ipc(a0 == call);
// - entries WITH checks are not (sysfence warns): the filters then differ on exactly the
//   multiplexer inputs libseccomp adds, and nowhere else.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { parseOci } from "../src/policy/oci.js";
import { compileIR } from "../src/policy/compile.js";
import type { Program } from "../src/engine/program.js";
import { readRaw } from "../src/formats/raw.js";
import { evaluate } from "../src/engine/run.js";
import { formatRet } from "../src/engine/actions.js";
import { equal } from "../src/verify/relations.js";
import { diff } from "../src/verify/diff.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { resolveArch, syscallNumber } from "../src/syscalls/index.js";
import { skipWhen } from "./support/skip.js";
// @ts-expect-error: a plain .mjs module of the bench, no types
import { buildAll } from "../bench/compile/libseccomp.mjs";

const PYTHON = "/usr/bin/python3";
const missing = spawnSync(PYTHON, ["-c", "import seccomp"], { stdio: "ignore" }).status === 0
  ? undefined
  : "python3-seccomp is not installed (apt-get install -y python3-seccomp; scripts/ci.d/30-python-seccomp.sh)";

const ALLOW = 0x7fff0000;
const ERRNO = (n: number) => (0x00050000 | n) >>> 0;
const KILL_THREAD = 0;
const ACTIONS: Record<string, (e: Entry) => number> = {
  SCMP_ACT_ALLOW: () => ALLOW,
  SCMP_ACT_ERRNO: (e) => ERRNO(e.errnoRet ?? 1),
  SCMP_ACT_KILL: () => KILL_THREAD,
};

interface Arg { index: number; value: number; valueTwo?: number; op: string }
interface Entry { names: string[]; action: string; errnoRet?: number; args?: Arg[] }

/** An OCI profile with default ERRNO(1) over `arches` (SCMP_ARCH_ names without the prefix). */
function profile(arches: string[], syscalls: Entry[]): string {
  return JSON.stringify({
    defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
    architectures: arches.map((a) => `SCMP_ARCH_${a.toUpperCase()}`), syscalls,
  });
}

/** sysfence's filter for the profile, compiled for its first ABI (with the others). */
function sysfence(arches: string[], syscalls: Entry[]) {
  const r = parseOci(profile(arches, syscalls), "p.json", { arch: resolveArch(arches[0]), kernel: "6.1" });
  return { program: compileIR(r.policy), warnings: r.warnings.map((w) => w.message) };
}

/**
 * libseccomp's filter for the same entries, as runc builds it: every name of every entry added
 * by name with its conditions (non-exact rules), default ERRNO(1), bad arch KILL.
 */
function libseccomp(arches: string[], syscalls: Entry[]): Program {
  const rules = syscalls.flatMap((e) => e.names.map((name) => ({
    name,
    action: ACTIONS[e.action](e),
    args: (e.args ?? []).map((a) => [a.index, a.op.replace("SCMP_CMP_", ""), String(a.value), String(a.valueTwo ?? 0)]),
  })));
  const { results } = buildAll(PYTHON, [{ id: "p", level: 2, default: ERRNO(1), badarch: KILL_THREAD, groups: [{ arches, rules }] }]);
  const r = results.p;
  if (r.error) throw new Error(`libseccomp: ${r.error}`);
  expect(r.skipped, "libseccomp refused a rule").toEqual([]);
  // libseccomp writes the program in its ABIs' byte order (big-endian for s390x).
  return readRaw(r.bytes, resolveArch(arches[0]).endian);
}

/** One call's action under a filter, printed. */
function act(p: Program, arch: string, nr: number, args: bigint[] = []): string {
  return formatRet(evaluate(p, { arch: resolveArch(arch).token, nr, args }).ret);
}
const nrOf = (arch: string, name: string): number => syscallNumber(resolveArch(arch), name)!;

function expectEqual(a: Program, b: Program): void {
  const v = equal(a, b);
  if (v instanceof Inconclusive) throw new Error(`inconclusive: ${v.message}`);
  expect(v.holds, v.holds ? "" : `differs on ${JSON.stringify(v.counterexample.data, (_, x) => (typeof x === "bigint" ? x.toString(16) : x))}`).toBe(true);
}

/** A Kubernetes-style allow-list: the socket and ipc families allowed outright, plus basics. */
const ALLOW_LIST: Entry[] = [
  { names: ["read", "write", "exit_group", "rt_sigreturn"], action: "SCMP_ACT_ALLOW" },
  { names: ["accept4", "bind", "connect", "listen", "socket", "getsockopt", "setsockopt", "sendmsg", "recvmsg", "send", "recv"], action: "SCMP_ACT_ALLOW" },
  { names: ["shmat", "shmdt", "shmget", "semop", "semget"], action: "SCMP_ACT_ALLOW" },
  { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
];

describe("sysfence's compile of a profile equals libseccomp 2.5.4's (python3-seccomp)", skipWhen(missing), () => {
  it("x86_64: syscall -1 gets the profile's default action, as libseccomp's `jeq #-1` before its x32 check gives it", () => {
    const entries = ALLOW_LIST.slice(0, 1);
    const ours = sysfence(["x86_64"], entries).program;
    const theirs = libseccomp(["x86_64"], entries);
    expect(act(theirs, "x86_64", 0xffffffff)).toBe("ERRNO(1)");
    expect(act(ours, "x86_64", 0xffffffff)).toBe("ERRNO(1)");
    // The x32 numbers around it still get the bad-arch action in both.
    for (const nr of [0x40000000, 0xfffffffe]) {
      expect(act(ours, "x86_64", nr)).toBe("KILL_THREAD");
      expect(act(theirs, "x86_64", nr)).toBe("KILL_THREAD");
    }
    expectEqual(ours, theirs);
  });

  it("x86_64 with x86 and x32 (Docker's ABIs): equal, -1 included", () => {
    const ours = sysfence(["x86_64", "x86", "x32"], ALLOW_LIST.slice(0, 1)).program;
    const theirs = libseccomp(["x86_64", "x86", "x32"], ALLOW_LIST.slice(0, 1));
    expect(act(ours, "x86_64", 0xffffffff)).toBe("ERRNO(1)");
    expectEqual(ours, theirs);
  });

  it("x86: socket-family entries without checks are mirrored into socketcall(a0 == call), ipc-family into ipc(a0 == call)", () => {
    const { program: ours, warnings } = sysfence(["x86"], ALLOW_LIST);
    const theirs = libseccomp(["x86"], ALLOW_LIST);
    const socketcall = nrOf("x86", "socketcall");
    const ipc = nrOf("x86", "ipc");
    // accept4 18, bind 2, send 9 (no direct send on x86); semop 1 (no direct semop), shmat 21.
    for (const [nr, a0, want] of [[socketcall, 18n, "ALLOW"], [socketcall, 2n, "ALLOW"], [socketcall, 9n, "ALLOW"], [socketcall, 5n, "ERRNO(1)"],
      [ipc, 1n, "ALLOW"], [ipc, 21n, "ALLOW"], [ipc, 3n, "ERRNO(1)"]] as const) {
      expect(act(ours, "x86", nr, [a0]), `sysfence ${nr}(${a0})`).toBe(want);
      expect(act(theirs, "x86", nr, [a0]), `libseccomp ${nr}(${a0})`).toBe(want);
    }
    expect(act(ours, "x86", nrOf("x86", "accept4"))).toBe("ALLOW");
    expect(warnings.filter((m) => /socketcall|ipc/.test(m))).toEqual([]);
    expectEqual(ours, theirs);
  });

  it("s390x: the mirror compares a0 as 64 bits, for ipc too (ipc-family names with and without a direct number)", () => {
    const ours = sysfence(["s390x"], ALLOW_LIST).program;
    const theirs = libseccomp(["s390x"], ALLOW_LIST);
    const ipc = nrOf("s390x", "ipc");
    expect(act(ours, "s390x", ipc, [21n])).toBe("ALLOW");
    expect(act(ours, "s390x", ipc, [0x1_00000015n])).toBe("ERRNO(1)");
    expect(act(theirs, "s390x", ipc, [0x1_00000015n])).toBe("ERRNO(1)");
    expectEqual(ours, theirs);
  });

  it("ppc64le and mipsel mirror too; aarch64 has no multiplexer and nothing is mirrored", () => {
    for (const arch of ["ppc64le", "mipsel", "aarch64"]) {
      const ours = sysfence([arch], ALLOW_LIST).program;
      const theirs = libseccomp([arch], ALLOW_LIST);
      expectEqual(ours, theirs);
    }
  });

  it("argument-restricted entries: sysfence warns and adds no socketcall rule; the only difference is the socketcall inputs libseccomp adds", () => {
    // Docker's `socket` rule (a0 != AF_VSOCK) and a connect check on a1: libseccomp turns them
    // into socketcall(a0 == 1) (the family check replaced) and socketcall(a0 == 3 && a1 == 5)
    // (a1 is the pointer to the real arguments there).
    const entries: Entry[] = [
      { names: ["read", "exit_group"], action: "SCMP_ACT_ALLOW" },
      { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 40, op: "SCMP_CMP_NE" }] },
      { names: ["connect"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 5, op: "SCMP_CMP_EQ" }] },
    ];
    const { program: ours, warnings } = sysfence(["x86"], entries);
    const theirs = libseccomp(["x86"], entries);
    expect(warnings.some((m) => /^socket has argument-restricted rules .* x86's multiplexed socketcall\(102\)/.test(m))).toBe(true);
    expect(warnings.some((m) => /^connect has argument-restricted rules .* x86's multiplexed socketcall\(102\)/.test(m))).toBe(true);

    const v = equal(ours, theirs);
    if (v instanceof Inconclusive) throw new Error(`inconclusive: ${v.message}`);
    expect(v.holds).toBe(false);
    const d = diff(ours, theirs);
    if (d instanceof Inconclusive) throw new Error(`inconclusive: ${d.message}`);
    // Exactly one place: socketcall on x86, default (sysfence) against ALLOW (libseccomp).
    expect(d.entries.map((e) => [e.arch, e.syscall, e.a, e.b])).toEqual([["x86", "socketcall", "ERRNO(1)", "ALLOW"]]);
    // And within socketcall exactly the two mirrored rules: a0 == 1, and a0 == 3 with a1 == 5.
    const sc = nrOf("x86", "socketcall");
    for (const [args, differs] of [[[1n, 0n], true], [[1n, 7n], true], [[3n, 5n], true], [[3n, 6n], false], [[2n, 5n], false], [[40n, 5n], false]] as const) {
      const a = act(ours, "x86", sc, [...args]);
      const b = act(theirs, "x86", sc, [...args]);
      expect(a !== b, `socketcall(${args.join(", ")}): sysfence ${a}, libseccomp ${b}`).toBe(differs);
    }
    // The direct calls agree: the checks are enforced where the arguments are readable.
    expect(act(ours, "x86", nrOf("x86", "socket"), [40n])).toBe("ERRNO(1)");
    expect(act(theirs, "x86", nrOf("x86", "socket"), [40n])).toBe("ERRNO(1)");
  });
});
