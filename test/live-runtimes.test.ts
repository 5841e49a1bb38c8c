// Live filters of real containers: Debian's runc and crun run busybox under Docker's default
// profile, converted as Docker's daemon converts it. sysfence reads the installed filter back
// and compares it with its own compile of the same profile: the runtime's filter is a subset,
// and every place where the profile allows more is one of two documented runtime behaviours,
// asserted entry by entry from `verify diff`:
//   - runc's ENOSYS stub: numbers above the highest syscall the installed libseccomp
//     resolves get ERRNO(38), so newer programs fall back instead of failing with EPERM;
//   - names the installed libseccomp does not know are dropped by the runtime (the default
//     action applies), where sysfence's own tables know them.
import { describe, it, expect, afterAll } from "vitest";
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dockerRuntimeSeccomp } from "../src/policy/oci.js";
import { hostArch, findArch } from "../src/syscalls/arches.js";
import { readLiveFilters } from "../src/live/index.js";
import { runCli } from "./support/cli.js";
import { repoRoot } from "./support/corpus.js";
import { liveSkipReason, work } from "./fixtures/live/support.js";
import { makeBundle, runContainer, runtimeSkipReason, type Container, type Runtime } from "./fixtures/live/runtimes.js";

const PROFILE = join(repoRoot, "test", "corpus", "profiles", "moby-profiles-seccomp-default.json");
const require = createRequire(import.meta.url);

/**
 * The installed libseccomp's answer: does it have `name` on the ABI with its token `token`?
 * (Negative answers are "unknown" and the pseudo-numbers of calls an ABI lacks.)
 */
function libseccompKnows(): ((token: number, name: string) => boolean) | undefined {
  try {
    const koffi = require("koffi");
    const lib = koffi.load("libseccomp.so.2");
    const resolve = lib.func("int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)");
    return (token, name) => resolve(token, name) >= 0;
  } catch {
    return undefined;
  }
}

const knows = libseccompKnows();
const live: Container[] = [];
afterAll(() => {
  for (const c of live) c.remove();
});

interface DiffEntry { arch: string; syscall: string; nr: [number, number]; a: string; b: string; when: string; note?: string }

for (const rt of ["runc", "crun"] as Runtime[]) {
  const why = liveSkipReason() ?? runtimeSkipReason(rt) ?? (knows ? undefined : "libseccomp.so.2 cannot be loaded");
  if (why) console.warn(`[skip] ${rt} container filters: ${why}`);

  describe.skipIf(why)(`${rt} under Docker's default profile`, () => {
    it("dump reads the container's filter; verify subset holds one way and the other way's diff is explained", () => {
      const seccomp = dockerRuntimeSeccomp(readFileSync(PROFILE, "utf8"), PROFILE, { arch: hostArch() });
      const c = runContainer(rt, makeBundle(seccomp));
      live.push(c);
      const p = readLiveFilters(c.pid);
      expect(p.stacks).toHaveLength(1);
      expect(p.stacks[0].filters).toHaveLength(1);
      // Both runtimes generate around a thousand instructions for this profile on x86_64.
      expect(p.stacks[0].filters[0].program.length).toBeGreaterThan(500);

      const spec = `pid:${c.pid}`;
      const sub = runCli(work, ["verify", "subset", spec, PROFILE, "--arch", hostArch().name]);
      expect(sub.out).toContain("holds");
      expect(sub.code).toBe(0);
      const back = runCli(work, ["verify", "subset", PROFILE, spec, "--arch", hostArch().name]);
      expect(back.code).toBe(1);

      const d = runCli(work, ["verify", "diff", spec, PROFILE, "--arch", hostArch().name, "--json"]);
      expect(d.code, d.err).toBe(1);
      const entries: DiffEntry[] = JSON.parse(d.out).differences;
      const seen = { stub: 0, unknown: 0 };
      for (const e of entries) {
        // libseccomp has its own token for x32 (0x4000003e); the kernel reports x32 calls
        // with AUDIT_ARCH_X86_64 and the x32 bit in the number.
        const token = e.arch === "x32" ? 0x4000003e : findArch(e.arch)!.token;
        if (e.a === "ERRNO(38)") {
          // The stub: above every number of the profile that libseccomp resolves on this ABI.
          seen.stub++;
          expect(e.b, JSON.stringify(e)).toMatch(/^(ALLOW|ERRNO\(1\))$/);
          // verify diff names the cause: the runtime's compiler does not know these numbers.
          const from = /^not known to the other compiler: A answers ENOSYS from nr (\d+) up$/.exec(e.note ?? "");
          expect(from, JSON.stringify(e)).not.toBeNull();
          expect(Number(from![1])).toBeLessThanOrEqual(e.nr[0]);
          if (e.b === "ALLOW") expect(knows!(token, e.syscall), JSON.stringify(e)).toBe(false);
        } else {
          // A name the runtime's libseccomp does not know: default action instead of the rule.
          seen.unknown++;
          expect([e.a, e.b, e.when, e.note], JSON.stringify(e)).toEqual(["ERRNO(1)", "ALLOW", "always", undefined]);
          expect(knows!(token, e.syscall), JSON.stringify(e)).toBe(false);
        }
      }
      // runc prepends its stub; crun 1.8 has none (its differences are unknown names only).
      if (rt === "runc") expect(seen.stub).toBeGreaterThan(0);
      else expect(seen.stub).toBe(0);
      expect(seen.unknown).toBeGreaterThan(0);
      // After the stub threshold nothing but the stub: the first stub number per ABI is above
      // every number that differs for another reason.
      for (const arch of new Set(entries.map((e) => e.arch))) {
        const mine = entries.filter((e) => e.arch === arch);
        const firstStub = Math.min(...mine.filter((e) => e.a === "ERRNO(38)").map((e) => e.nr[0]));
        for (const e of mine.filter((x) => x.a !== "ERRNO(38)")) expect(e.nr[1]).toBeLessThan(firstStub);
      }
      c.remove();
    });

    it("socket/ipc-family entries without checks reach socketcall/ipc on x86 as sysfence compiles them; -1 gets the default", (ctx) => {
      if (hostArch().name !== "x86_64") ctx.skip(`the x86 multiplexers need an x86_64 host (this is ${hostArch().name})`);
      // Default ALLOW so busybox runs; the families get ERRNO(13) by name, which libseccomp also
      // gives socketcall(a0 == call) and ipc(a0 == call) on x86 (docs/formats.md 4.6).
      const profile = JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        syscalls: [
          { names: ["accept4", "bind", "connect", "listen", "send"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
          { names: ["shmat", "semop"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        ],
      });
      const file = join(work, `mux-${rt}.json`);
      writeFileSync(file, profile);
      const c = runContainer(rt, makeBundle(dockerRuntimeSeccomp(profile, file, { arch: hostArch() })));
      live.push(c);
      const spec = `pid:${c.pid}`;
      const act = (f: string, arch: string, nr: string, args: string[] = []) =>
        runCli(work, ["run", f, "--arch", arch, "--syscall", nr, ...(args.length ? ["--args", args.join(",")] : [])]).out.trim();
      // The runtime mirrors (socketcall 102: accept4 18, send 9; ipc 117: semop 1, shmat 21), and so does sysfence.
      for (const [nr, a0] of [["102", "18"], ["102", "9"], ["117", "1"], ["117", "21"]]) {
        expect(act(spec, "x86", nr, [a0]), `${rt} x86 ${nr}(${a0})`).toBe("ERRNO(13)");
        expect(act(file, "x86", nr, [a0]), `sysfence x86 ${nr}(${a0})`).toBe("ERRNO(13)");
      }
      expect(act(spec, "x86", "102", ["1"])).toBe("ALLOW");
      // -1 on x86_64: the default action in both (sysfence gave it the x32 action before).
      expect(act(spec, "x86_64", "4294967295")).toBe(act(file, "x86_64", "4294967295"));
      // verify diff: no difference on socketcall, ipc or -1 (runc's ENOSYS stub and names the
      // runtime's libseccomp does not know may differ, as above).
      const d = runCli(work, ["verify", "diff", spec, file, "--arch", "x86_64", "--json"]);
      const entries: DiffEntry[] = d.code === 0 ? [] : JSON.parse(d.out).differences;
      expect(entries.filter((e) => /^(socketcall|ipc)$/.test(e.syscall) || e.nr[1] === 0xffffffff && e.a !== "ERRNO(38)")).toEqual([]);
      c.remove();
    });
  });
}
