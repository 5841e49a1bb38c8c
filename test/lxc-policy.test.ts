// LXC seccomp policies: hand-written policies for every form with the action LXC's
// documentation (lxc.container.conf(5), doc/examples, the comments of src/lxc/seccomp.c) gives
// for concrete calls, located errors where LXC refuses a file, and LXC's own policies
// (test/corpus/policies/lxc, LGPL-2.1-or-later).
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicyText, type CompileResult } from "../src/policy/index.js";
import { sniffText } from "../src/formats/detect.js";
import { Action } from "../src/engine/actions.js";
import { InputError } from "../src/errors.js";
import { repoRoot } from "./support/corpus.js";
import { actOf } from "./support/policy-act.js";

const ALLOW = Action.ALLOW, TRAP = Action.TRAP, KILL_THREAD = Action.KILL_THREAD, NOTIFY = Action.USER_NOTIF;
const errno = (n: number) => (Action.ERRNO | n) >>> 0;
const CORPUS = join(repoRoot, "test", "corpus", "policies", "lxc");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-lxc-"));
});

function compile(text: string, arch = "x86_64", name = "p.seccomp"): CompileResult {
  const file = join(dir, name);
  writeFileSync(file, text);
  return compilePolicyText(text, file, { arch });
}
function errorOf(text: string, name = "bad.seccomp"): string {
  try {
    compile(text, "x86_64", name);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).oneLine();
  }
  throw new Error("expected an error");
}

describe("LXC policy forms", () => {
  it("is detected as an LXC policy, even when a comment looks like C", () => {
    expect(sniffText("2\ndenylist\n# if 'errno 0' was not appended\nmknod errno 0\n")).toMatchObject({ kind: "policy", dialect: "lxc" });
  });

  it("version 1: an allowlist of syscall numbers, everything else killed", () => {
    const p = compile("1\nallowlist\n0\n1\n60\n").programs[0];
    expect(compile("1\nallowlist\n0\n").dialect).toBe("lxc");
    expect(actOf(p, "read")).toBe(ALLOW); // 0 on x86_64
    expect(actOf(p, "write")).toBe(ALLOW);
    expect(actOf(p, "exit")).toBe(ALLOW);
    expect(actOf(p, "openat")).toBe(KILL_THREAD); // SCMP_ACT_KILL
  });

  it("allowlist [action]: listed calls allowed, the rest get the mode's action (kill by default)", () => {
    const kill = compile("2\nallowlist\nread\nwrite\n").programs[0];
    expect(actOf(kill, "read")).toBe(ALLOW);
    expect(actOf(kill, "openat")).toBe(KILL_THREAD);
    const trap = compile("2\nallowlist trap\nread\n").programs[0];
    expect(actOf(trap, "openat")).toBe(TRAP);
    const en = compile("2\nallowlist errno 38\nread\n").programs[0];
    expect(actOf(en, "openat")).toBe(errno(38));
  });

  it("denylist [action]: listed calls killed by default, the rest allowed; actions per line", () => {
    const p = compile("2\ndenylist\nmount\nmknod errno 0\numount2 trap\nkeyctl notify\nptrace kill\nkexec_load errno 1 # no kexec\n").programs[0];
    expect(actOf(p, "read")).toBe(ALLOW);
    expect(actOf(p, "mount")).toBe(KILL_THREAD);
    expect(actOf(p, "mknod")).toBe(errno(0)); // "'errno 0' means … immediately return 0"
    expect(actOf(p, "umount2")).toBe(TRAP);
    expect(actOf(p, "keyctl")).toBe(NOTIFY);
    expect(actOf(p, "ptrace")).toBe(KILL_THREAD);
    expect(actOf(p, "kexec_load")).toBe(errno(1));
  });

  it("legacy whitelist / blacklist mean allowlist / denylist", () => {
    expect(actOf(compile("2\nwhitelist\nread\n").programs[0], "openat")).toBe(KILL_THREAD);
    expect(actOf(compile("2\nblacklist\nmount errno 1\n").programs[0], "openat")).toBe(ALLOW);
  });

  it("reject_force_umount: umount2 with MNT_FORCE gets EACCES", () => {
    const p = compile("2\ndenylist\nreject_force_umount  # comment\n").programs[0];
    expect(actOf(p, "umount2", [0n, 1n])).toBe(errno(13));
    expect(actOf(p, "umount2", [0n, 3n])).toBe(errno(13));
    expect(actOf(p, "umount2", [0n, 2n])).toBe(ALLOW);
  });

  it("argument rules [index,value,op(,mask)]: every operator, long and short forms", () => {
    const p = compile([
      "2", "allowlist errno 1",
      "personality allow [0,0,SCMP_CMP_EQ]",
      "dup allow [0,3,==]",
      "close allow [0,3,SCMP_CMP_GE]",
      "kill allow [1,9,!=]",
      "setuid allow [0,1000,<]",
      "setgid allow [0,1000,SCMP_CMP_LE]",
      "dup2 allow [1,10,>]",
      "mmap allow [2,0,SCMP_CMP_MASKED_EQ,4]",
      "mprotect allow [2,0,&=,0x4]",
      "socket allow [0,1,==][1,1,SCMP_CMP_EQ]",
      "",
    ].join("\n")).programs[0];
    expect(actOf(p, "personality", [0n])).toBe(ALLOW);
    expect(actOf(p, "personality", [8n])).toBe(errno(1));
    expect(actOf(p, "dup", [3n])).toBe(ALLOW);
    expect(actOf(p, "dup", [4n])).toBe(errno(1));
    expect(actOf(p, "close", [2n])).toBe(errno(1));
    expect(actOf(p, "close", [3n])).toBe(ALLOW);
    expect(actOf(p, "kill", [1n, 9n])).toBe(errno(1));
    expect(actOf(p, "kill", [1n, 15n])).toBe(ALLOW);
    expect(actOf(p, "setuid", [999n])).toBe(ALLOW);
    expect(actOf(p, "setuid", [1000n])).toBe(errno(1));
    expect(actOf(p, "setgid", [1000n])).toBe(ALLOW);
    expect(actOf(p, "dup2", [0n, 11n])).toBe(ALLOW);
    expect(actOf(p, "dup2", [0n, 10n])).toBe(errno(1));
    // [index,value,MASKED_EQ,mask]: (arg & mask) == value
    expect(actOf(p, "mmap", [0n, 0n, 3n])).toBe(ALLOW);
    expect(actOf(p, "mmap", [0n, 0n, 7n])).toBe(errno(1));
    expect(actOf(p, "mprotect", [0n, 0n, 5n])).toBe(errno(1));
    // several rules on one line are ANDed
    expect(actOf(p, "socket", [1n, 1n])).toBe(ALLOW);
    expect(actOf(p, "socket", [1n, 2n])).toBe(errno(1));
    // 64-bit compares on x86_64
    expect(actOf(p, "dup", [(1n << 32n) | 3n])).toBe(errno(1));
  });

  it("[arch] sections: read on the hosts they name, skipped elsewhere; x86_64 also covers x86 and x32", () => {
    const text = "2\nallowlist\nread\n[x86_64]\nwrite\n[arm64]\nopenat\n[all]\nclose\n";
    const x = compile(text, "x86_64").programs[0];
    expect(x.ir.arches.map((a) => a.arch.name)).toEqual(["x86_64", "x86", "x32"]);
    expect(actOf(x, "read")).toBe(ALLOW);
    expect(actOf(x, "write")).toBe(ALLOW);
    expect(actOf(x, "openat")).toBe(KILL_THREAD); // [arm64] is not read on x86_64
    expect(actOf(x, "close")).toBe(ALLOW);
    expect(actOf(x, "write", [], "x86")).toBe(ALLOW); // rules go to every ABI of the filter
    expect(actOf(x, "read", [], "x32")).toBe(ALLOW);
    const a = compile(text, "aarch64").programs[0];
    expect(a.ir.arches.map((s) => s.arch.name)).toEqual(["aarch64", "arm"]);
    expect(actOf(a, "write")).toBe(KILL_THREAD); // [x86_64] is not read on aarch64
    expect(actOf(a, "openat")).toBe(ALLOW);
    expect(actOf(a, "close")).toBe(ALLOW);
  });
});

describe("files LXC refuses: located errors", () => {
  it("version, mode, debug", () => {
    expect(errorOf("3\nallowlist\n", "v.seccomp")).toMatch(/v\.seccomp:1:1: policy version 3/);
    expect(errorOf("2\nmaybelist\n", "m.seccomp")).toMatch(/m\.seccomp: is not a policy sysfence reads/);
    expect(errorOf("1\ndenylist\n0\n", "d1.seccomp")).toMatch(/d1\.seccomp:2:1: .*allowlist/);
    expect(errorOf("2\nallowlist debug\n", "dbg.seccomp")).toMatch(/dbg\.seccomp:2:\d+: "debug"/);
  });
  it("actions, sections and argument rules", () => {
    expect(errorOf("2\nallowlist\nread deny\n", "a.seccomp")).toMatch(/a\.seccomp:3:6: unrecognised action "deny"/);
    expect(errorOf("2\nallowlist\nread [0,1,==]\n", "n.seccomp")).toMatch(/n\.seccomp:3:6: unrecognised action "\[0,1,==\]"/);
    expect(errorOf("2\nallowlist\n[sparc]\n", "s.seccomp")).toMatch(/s\.seccomp:3:1: unsupported architecture section/);
    expect(errorOf("2\nallowlist errno 1\nread allow [0,1,=~]\n", "o.seccomp")).toMatch(/o\.seccomp:3:12: .*unknown operator "=~"/);
    expect(errorOf("2\nallowlist errno 1\nread allow [7,1,==]\n", "i.seccomp")).toMatch(/i\.seccomp:3:12: .*index 7/);
    expect(errorOf("2\nallowlist errno 1\nread allow [0,1,==][0,2,==]\n", "dup.seccomp")).toMatch(/dup\.seccomp:3:\d+: two rules on argument 0/);
    expect(errorOf("2\ndenylist errno 1\nread errno 1\n", "def.seccomp")).toMatch(/def\.seccomp:3:1: .*is the policy's default/);
  });
});

describe("LXC's own policies (vendored)", () => {
  it("common.seccomp: the template denylist", () => {
    const file = join(CORPUS, "common.seccomp");
    const r = compilePolicyText(readFileSync(file, "utf8"), file, { arch: "x86_64" });
    const p = r.programs[0];
    expect(r.dialect).toBe("lxc");
    expect(actOf(p, "read")).toBe(ALLOW);
    expect(actOf(p, "kexec_load")).toBe(errno(1));
    expect(actOf(p, "open_by_handle_at")).toBe(errno(1));
    expect(actOf(p, "init_module")).toBe(errno(1));
    expect(actOf(p, "finit_module", [], "x86")).toBe(errno(1));
    expect(actOf(p, "delete_module", [], "x32")).toBe(errno(1));
    expect(actOf(p, "umount2", [0n, 1n])).toBe(errno(13)); // "comment this to allow umount -f"
    expect(actOf(p, "umount2", [0n, 0n])).toBe(ALLOW);
  });
  it("seccomp-v2.conf: allowlist trap with [x86_64] and [x86] sections", () => {
    const file = join(CORPUS, "seccomp-v2.conf");
    const p = compilePolicyText(readFileSync(file, "utf8"), file, { arch: "x86_64" }).programs[0];
    for (const s of ["open", "close", "read", "write", "mount", "umount2"]) expect(actOf(p, s), s).toBe(ALLOW);
    expect(actOf(p, "openat")).toBe(TRAP); // "we will cause a SIGSYS to be sent to the task instead"
    expect(actOf(p, "read", [], "x86")).toBe(ALLOW);
    expect(actOf(p, "socketcall", [], "x86")).toBe(TRAP);
  });
});
