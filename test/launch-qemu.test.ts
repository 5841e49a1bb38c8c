// The real VMM end to end: QEMU (-M microvm -nodefaults) boots a Debian kernel with a busybox
// initramfs under the bundled filter (filters/qemu-microvm.seccompiler.json) and exits 0; with
// one syscall it needs removed it is killed and the diagnosis names that syscall. Needs what
// scripts/ci.d/20-qemu.sh installs (qemu-system-x86, the kernel and busybox in .cache/qemu/);
// skips with the reason otherwise. KVM is used only where it can run QEMU (detected, never
// waited on); TCG otherwise.
import { describe, it, expect, beforeAll } from "vitest";
import { skipWhen } from "./support/skip.js";
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { launch, type LaunchOptions, type LaunchResult } from "../src/launch/index.js";
import { which } from "./support/guest.js";
import { repoRoot } from "./support/corpus.js";
import { launcherSkipReason, collect, within } from "./fixtures/launch/support.js";

const CACHE = join(repoRoot, ".cache", "qemu");
const OUT = join(repoRoot, "test", ".out", "qemu");
const FILTER = join(repoRoot, "filters", "qemu-microvm.seccompiler.json");
const MARKER = "SYSFENCE-BOOT-OK";

/** KVM only where QEMU can use it: hardware virtualisation visible and not a PVM host. */
export function accelFor(): { accel: "kvm" | "tcg"; why: string } {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return { accel: "tcg", why: "no usable /dev/kvm" };
  }
  if (existsSync("/sys/module/kvm_pvm")) return { accel: "tcg", why: "/dev/kvm is backed by kvm_pvm (PVM), which QEMU cannot use" };
  const cpu = readFileSync("/proc/cpuinfo", "utf8");
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpu)) return { accel: "tcg", why: "no vmx/svm in /proc/cpuinfo" };
  return { accel: "kvm", why: "vmx/svm present" };
}

function skipReason(): string | undefined {
  if (process.arch !== "x64") return `the QEMU test boots an x86_64 guest (this is ${process.arch})`;
  if (!which("qemu-system-x86_64")) return "qemu-system-x86_64 is not installed (scripts/ci.d/20-qemu.sh installs qemu-system-x86)";
  if (!existsSync(join(CACHE, "vmlinuz"))) return "no guest kernel in .cache/qemu/vmlinuz (scripts/ci.d/20-qemu.sh downloads linux-image-6.1.0-*-cloud-amd64)";
  if (!existsSync(join(CACHE, "busybox"))) return "no busybox in .cache/qemu/busybox (scripts/ci.d/20-qemu.sh downloads busybox-static)";
  return undefined;
}

const why = launcherSkipReason() ?? skipReason();

/** An initramfs whose /init prints the marker and powers off, built with busybox's cpio. */
function buildInitramfs(): string {
  const tree = join(OUT, "initramfs");
  const out = join(OUT, "initrd.cpio");
  rmSync(tree, { recursive: true, force: true });
  for (const d of ["bin", "dev", "proc", "sys"]) mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(join(CACHE, "busybox"), join(tree, "bin", "busybox"));
  chmodSync(join(tree, "bin", "busybox"), 0o755);
  writeFileSync(join(tree, "init"), `#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho ${MARKER}\n/bin/busybox poweroff -f\n`, { mode: 0o755 });
  const r = spawnSync("/bin/sh", ["-c", `find . | ./bin/busybox cpio -o -H newc > '${out}'`], { cwd: tree, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
  return out;
}

let initrd = "";
let accel: "kvm" | "tcg" = "tcg";

/**
 * The guest is told the TSC frequency (tsc_early_khz, from the host's cpu MHz): under TCG on a
 * loaded host the kernel's calibration against the PIT can fail, and the guest then hangs in
 * timer calibration instead of booting.
 */
function tscKhz(): number {
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
  return m ? Math.round(Number(m[1]) * 1000) : 2_000_000;
}

function qemuArgv(kernel: string, initramfs: string): string[] {
  return [
    "qemu-system-x86_64", "-accel", accel, "-M", "microvm", "-nodefaults", "-serial", "stdio",
    "-kernel", kernel, "-initrd", initramfs, "-append", `console=ttyS0 panic=-1 quiet tsc_early_khz=${tscKhz()}`,
    "-nographic", "-no-reboot", "-m", "256",
  ];
}

async function boot(o: Partial<LaunchOptions>, argv = qemuArgv(join(CACHE, "vmlinuz"), initrd)): Promise<{ r: LaunchResult; out: string; ms: number }> {
  const t0 = Date.now();
  const h = launch({ policy: FILTER, thread: "qemu", argv, stdio: ["ignore", "pipe", "pipe"], ...o });
  const out = collect(h.stdout);
  const err = collect(h.stderr);
  const r = await within(h.exit, 90_000, "QEMU boot").catch(async (e) => {
    h.kill("SIGKILL"); // never leave a VM running
    await within(h.exit, 10_000, "QEMU kill");
    throw e;
  });
  const text = (await out) + (await err);
  return { r, out: text, ms: Date.now() - t0 };
}

function policyWithout(syscall: string): { text: string; file: string } {
  const doc = JSON.parse(readFileSync(FILTER, "utf8"));
  doc.qemu.filter = doc.qemu.filter.filter((r: { syscall: string }) => r.syscall !== syscall);
  return { text: JSON.stringify(doc), file: `qemu-microvm-without-${syscall}.json` };
}

describe("QEMU microvm under the launcher", skipWhen(why), () => {
  beforeAll(() => {
    mkdirSync(OUT, { recursive: true });
    initrd = buildInitramfs();
    const a = accelFor();
    accel = a.accel;
    console.log(`[info] QEMU accelerator: ${a.accel} (${a.why})`);
  });

  it("boots under the hand-written filter and exits 0", async () => {
    const { r, out, ms } = await boot({});
    console.log(`[info] QEMU boot under the filter: ${ms} ms`);
    expect(r.error).toBeUndefined();
    expect(out).toContain(MARKER);
    expect(r.code).toBe(0);
  }, 120_000);

  it("with eventfd2 removed it is killed by SIGSYS and the diagnosis names eventfd2 (notify)", async () => {
    const { r } = await boot({ policy: policyWithout("eventfd2"), diagnose: "notify" });
    expect(r.signal).toBe("SIGSYS");
    expect(r.diagnosis?.mode).toBe("notify");
    const c = r.diagnosis!.calls[0];
    expect(c.name).toBe("eventfd2");
    expect(c.arch).toBe("x86_64");
    expect(c.args).toHaveLength(6);
    expect(c.action).toBe("KILL_PROCESS");
  }, 120_000);

  it("with eventfd2 removed, exec mode: SIGSYS, and the kernel log names it where the record got through", async () => {
    const { r } = await boot({ policy: policyWithout("eventfd2") });
    expect(r.signal).toBe("SIGSYS");
    expect(r.diagnosis?.mode).toBe("kmsg");
    if (r.diagnosis!.calls.length) {
      expect(r.diagnosis!.calls[0].name).toBe("eventfd2");
      expect(r.diagnosis!.calls[0].pid).toBe(r.vmmPid);
    } else {
      console.warn(`[note] kmsg diagnosis empty (printk rate limit?): ${r.diagnosis!.note}`);
    }
  }, 120_000);

  it("boots jailed: PID and mount namespaces, per-VM jail root, uid drop, no capabilities, cgroup, Landlock", async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip(`jailed QEMU: needs root (this is uid ${process.getuid?.()})`);
    const base = join(OUT, "jails");
    // Jail files are hard-linked and chowned to the jail's uid: give it copies, not the cache.
    const kernel = join(OUT, "vmlinuz");
    copyFileSync(join(CACHE, "vmlinuz"), kernel);
    rmSync(base, { recursive: true, force: true });
    const binds = ["/usr", "/bin", "/lib", "/lib64"].filter((p) => existsSync(p)).map((src) => ({ src }));
    const argv = qemuArgv("/vmlinuz", "/initrd.cpio");
    const { r, out, ms } = await boot({
      jail: {
        pidns: true, jailRoot: { base, id: "microvm-1", files: [kernel, initrd] }, binds, dev: true, proc: true, tmp: true,
        uid: 65534, gid: 65534, clearCaps: true, cgroup: { pidsMax: 64, memoryMax: "1G" }, dieWithParent: true, newSession: true,
        landlock: { ro: ["/usr/share/qemu", "/usr/share/seabios", "/vmlinuz", "/initrd.cpio"].filter((p) => !p.startsWith("/usr") || existsSync(p)), rx: ["/usr/bin"] },
        clearEnv: true,
      },
    }, argv);
    console.log(`[info] jailed QEMU boot: ${ms} ms`);
    expect(r.error).toBeUndefined();
    expect(out).toContain(MARKER);
    expect(r.code).toBe(0);
    expect(r.leftovers).toEqual([]);
    expect(existsSync(join(base, "qemu-system-x86_64", "microvm-1"))).toBe(false);
  }, 120_000);
});
