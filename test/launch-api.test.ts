// launch(): the host API over the native launcher, without jail options.
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, LaunchError } from "../src/launch/index.js";
import { RejectedProgramError, EnvironmentError } from "../src/errors.js";
import { assemble } from "../src/text/asm.js";
import { launcherSkipReason, denyFilter, allowAll, collect, within } from "./fixtures/launch/support.js";

const why = launcherSkipReason();

describe("launch", skipWhen(why), () => {
  it("runs a program under a filter; stdout, exit code and pid mirror it", async () => {
    const h = launch({ filter: denyFilter(["ptrace"]), argv: ["/bin/sh", "-c", "echo hello $$; exit 7"] });
    const out = collect(h.stdout);
    const pid = await within(h.ready, 5000, "ready");
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(7);
    expect(pid).toBe(h.pid);
    expect((await out).trim()).toBe(`hello ${h.pid}`);
  });

  it("the program really runs under the filter (Seccomp: 2, NoNewPrivs: 1)", async () => {
    const h = launch({ filter: allowAll(), argv: ["cat", "/proc/self/status"] });
    const out = collect(h.stdout);
    await within(h.exit, 5000, "exit");
    const s = await out;
    expect(s).toMatch(/^Seccomp:\s+2$/m);
    expect(s).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(s).toMatch(/^Seccomp_filters:\s+1$/m);
  });

  it("a denied syscall kills the program with SIGSYS and the kernel log names it", async () => {
    const h = launch({ filter: denyFilter(["mkdirat", "mkdir"]), argv: ["/bin/mkdir", "/tmp/sysfence-never-made"], stdio: "ignore" });
    const r = await within(h.exit, 5000, "exit");
    expect(r.signal).toBe("SIGSYS");
    expect(r.diagnosis?.mode).toBe("kmsg");
    if (r.diagnosis?.calls.length) {
      expect(["mkdir", "mkdirat"]).toContain(r.diagnosis.calls[0].name);
      expect(r.diagnosis.calls[0].action).toBe("KILL_PROCESS");
    } else {
      console.warn(`[note] kmsg diagnosis found nothing: ${r.diagnosis?.note}`);
    }
  });

  it("diagnose notify: the supervisor reports the call with its arguments, then SIGSYS", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sysfence-notify-"));
    const h = launch({ filter: denyFilter(["mkdir", "mkdirat"]), argv: ["/bin/mkdir", "-m", "700", join(dir, "x")], diagnose: "notify", stdio: "ignore" });
    const r = await within(h.exit, 5000, "exit");
    expect(h.mode).toBe("supervisor");
    expect(r.signal).toBe("SIGSYS");
    expect(r.vmmPid).toBeGreaterThan(0);
    const c = r.diagnosis!.calls[0];
    expect(c).toMatchObject({ source: "notify", name: "mkdir", nr: 83, arch: "x86_64", pid: r.vmmPid, action: "KILL_PROCESS" });
    expect(c.args![1]).toBe(0o700n);
    expect(existsSync(join(dir, "x"))).toBe(false);
  });

  it("diagnose permissive: every would-be kill is reported and the program completes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sysfence-permissive-"));
    const h = launch({ filter: denyFilter(["mkdir", "mkdirat", "rmdir"]), argv: ["/bin/sh", "-c", `mkdir ${dir}/a && rmdir ${dir}/a && mkdir ${dir}/b`], diagnose: "permissive", stdio: "ignore" });
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(0);
    expect(r.diagnosis!.calls.map((c) => c.name)).toEqual(["mkdir", "rmdir", "mkdir"]);
    expect(existsSync(join(dir, "b"))).toBe(true);
  });

  it("LOG and SPEC_ALLOW flags, and no TSYNC, are accepted by the kernel", async () => {
    for (const o of [{ log: true }, { specAllow: true }, { tsync: false }]) {
      const r = await within(launch({ filter: allowAll(), argv: ["/bin/true"], stdio: "ignore", ...o }).exit, 5000, "exit");
      expect(r).toMatchObject({ code: 0, error: undefined });
    }
  });

  it("a missing program gives ENOENT with its path", async () => {
    const h = launch({ filter: allowAll(), argv: ["/nonexistent/qemu-system-x86_64", "-M", "microvm"] });
    await expect(h.ready).rejects.toBeInstanceOf(LaunchError);
    const err = (await h.ready.then(() => undefined, (e: unknown) => e)) as LaunchError;
    expect(err.errno).toBe("ENOENT");
    expect(err.message).toContain("/nonexistent/qemu-system-x86_64");
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(127);
    expect(r.error?.errno).toBe("ENOENT");
  });

  it("a program not in PATH gives ENOENT naming it", async () => {
    const h = launch({ argv: ["sysfence-no-such-vmm"], stdio: "ignore" });
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(127);
    expect(r.error?.message).toMatch(/sysfence-no-such-vmm.*PATH/);
  });

  it("refuses a program the kernel would reject before starting anything", () => {
    const bad = assemble(".insn 0x94, 0, 0, 2\nret ALLOW"); // MOD K: seccomp rejects it
    expect(() => launch({ filter: bad, argv: ["/bin/true"] })).toThrow(RejectedProgramError);
  });

  it("refuses a filter that would kill the final execve", () => {
    expect(() => launch({ filter: denyFilter(["execve"]), argv: ["/bin/true"] })).toThrow(/KILL_PROCESS for execve on x86_64/);
    expect(() => launch({ filter: denyFilter(["execve"], "ERRNO(1)"), argv: ["/bin/true"] })).toThrow(/ERRNO\(1\) for execve.*would fail/);
  });

  it("refuses a stack whose earlier phase kills the seccomp() that installs the next", () => {
    expect(() => launch({ stack: [denyFilter(["seccomp"])], filter: allowAll(), argv: ["/bin/true"] })).toThrow(/seccomp\(\).*phase 2/);
  });

  it("refuses a stack over the kernel's 32768-instruction total", () => {
    const big = assemble(Array.from({ length: 4095 }, () => "ld nr").join("\n") + "\nret ALLOW");
    const stack = Array.from({ length: 8 }, () => big);
    expect(() => launch({ stack, filter: big, argv: ["/bin/true"] })).toThrow(/totals 36896 instructions/);
  });

  it("refuses an action this kernel lacks (actions_avail)", async () => {
    const { refuseBeforeStart } = await import("../src/launch/filters.js");
    const p = { label: "log.bpf", program: assemble("ret LOG") };
    expect(() => refuseBeforeStart([p], { actionsAvail: new Set(["kill_process", "allow"]) })).toThrow(EnvironmentError);
    expect(() => refuseBeforeStart([p], { actionsAvail: new Set(["kill_process", "allow"]) })).toThrow(/LOG, which this kernel lacks/);
  });

  it("stacks phases: both filters are installed, oldest first", async () => {
    const h = launch({ stack: [denyFilter(["ptrace"])], filter: denyFilter(["kexec_load"]), argv: ["cat", "/proc/self/status"] });
    const out = collect(h.stdout);
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(0);
    expect(await out).toMatch(/^Seccomp_filters:\s+2$/m);
  });

  it("compiles a policy on the fly (policy + thread)", async () => {
    const text = JSON.stringify({
      main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }, { syscall: "mkdirat" }] },
    });
    const h = launch({ policy: { text, file: "inline.json" }, thread: "main", argv: ["/bin/mkdir", "/proc/sysfence-x"], stdio: ["ignore", "ignore", "pipe"] });
    const err = collect(h.stderr);
    const r = await within(h.exit, 5000, "exit");
    expect(r.code).toBe(1);
    expect(await err).toMatch(/Operation not permitted/);
  });

  it("stdio is inheritable and every other descriptor is closed", async () => {
    const h = launch({ filter: allowAll(), argv: ["/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"] });
    const out = collect(h.stdout);
    await within(h.exit, 5000, "exit");
    // 0-2, plus the descriptor ls opens for /proc/self/fd.
    expect((await out).trim().split(" ").map(Number).filter((n) => n > 2).length).toBeLessThanOrEqual(1);
  });

  it("kill() and stop() end the program", async () => {
    const h = launch({ filter: allowAll(), argv: ["sleep", "30"] });
    await within(h.ready, 5000, "ready");
    const r = await within(h.stop(2000), 5000, "stop");
    expect(r.signal).toBe("SIGTERM");
  });
});
