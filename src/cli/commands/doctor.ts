// `sysfence doctor`: what this kernel supports and the calling process's seccomp state, and what
// the launcher's jail can use here: user namespaces (with the cause and the fix when they are
// blocked, and an AppArmor profile for the launcher where AppArmor is the cause), PID and mount
// namespaces, Landlock's ABI, the cgroup v2 mount, NUMA nodes.
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { probeKernel, probeLaunchEnvironment, type LaunchEnvironmentReport } from "../../native/probe.js";
import { launcherPath } from "../../launch/binary.js";
import { cgroupV1Mount, cgroupV2Mount, numaNodes, ownCgroups, v2Controllers } from "../../launch/cgroup.js";
import { join } from "node:path";
import { out } from "../common.js";

const LANDLOCK_FEATURES: [number, string][] = [
  [1, "filesystem"], [2, "refer"], [3, "truncate"], [4, "TCP bind/connect"], [5, "device ioctl"],
  [6, "scoped signals and abstract unix sockets"], [7, "audit logging flags"],
];

function launchLines(e: LaunchEnvironmentReport): string[] {
  const lines: string[] = [];
  const yes = (v: string | undefined) => (v === undefined ? "not probed" : v === "ok" ? "yes" : `no (${v})`);
  lines.push(`launcher          ${e.launcher.path}${e.launcher.built ? "" : " (not built: run `node launcher/build.mjs`; namespace probes skipped)"}`);
  const u = e.userns;
  lines.push(`user namespaces   root: ${yes(u.root)}, unprivileged: ${yes(u.unprivileged)}`);
  if (u.cause) lines.push(`                  cause: ${u.cause}`);
  if (u.fix) lines.push(`                  fix: ${u.fix}`);
  if (e.apparmorProfile) {
    const p = e.apparmorProfile;
    lines.push(p.written
      ? `apparmor profile  wrote ${p.path}; load it with: ${p.command}`
      : `apparmor profile  could not write ${p.path} (${p.error}); rerun as root or with --apparmor-dir DIR, then: ${p.command}`);
  }
  lines.push(`pid namespaces    ${yes(e.pidns)}; mount namespaces ${yes(e.mountns)}; pidfd_getfd (diagnose notify) ${yes(e.pidfdGetfd)}`);
  if (e.landlockAbi) {
    const feats = LANDLOCK_FEATURES.filter(([v]) => v <= e.landlockAbi!).map(([, f]) => f).join(", ");
    lines.push(`landlock          ABI ${e.landlockAbi} (${feats})`);
  } else {
    lines.push(`landlock          unavailable${e.landlockError ? ` (${e.landlockError})` : ""}`);
  }
  if (e.cgroupV2) {
    const v1 = e.cgroupV1Controllers.length ? `; hybrid: ${e.cgroupV1Controllers.join(" ")} on cgroup v1 (used for limits v2 lacks)` : "";
    lines.push(`cgroup v2         ${e.cgroupV2.mountpoint} (controllers here: ${e.cgroupV2.controllers.join(" ") || "none"})${v1}`);
  } else {
    lines.push(`cgroup v2         not mounted${e.cgroupV1Controllers.length ? ` (v1 controllers: ${e.cgroupV1Controllers.join(" ")})` : ""}`);
  }
  lines.push(`numa nodes        ${e.numaNodes.length ? e.numaNodes.join(" ") : "none exposed"}`);
  return lines;
}

export function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("report what this kernel supports: seccomp modes, actions, flags, process state, and the launcher's jail features")
    .option("--json", "machine-readable report")
    .option("--apparmor-dir <DIR>", "where to write the launcher's AppArmor profile when AppArmor blocks user namespaces (default: /etc/apparmor.d when writable)")
    .option("--write-apparmor", "write the AppArmor profile even when nothing blocks user namespaces")
    .action((o: { json?: boolean; apparmorDir?: string; writeApparmor?: boolean }) => {
      const r = probeKernel();
      const v2 = cgroupV2Mount();
      const own = ownCgroups();
      const env = probeLaunchEnvironment({
        launcher: launcherPath(),
        writeApparmorTo: o.apparmorDir ?? (existsSync("/etc/apparmor.d") ? "/etc/apparmor.d" : undefined),
        forceApparmor: o.writeApparmor,
        cgroup: {
          v2: v2 ? { mountpoint: v2.mountpoint, controllers: v2Controllers(join(v2.mountpoint, own.get("") ?? "/")) } : undefined,
          v1: ["cpu", "cpuset", "memory", "pids"].filter((c) => cgroupV1Mount(c)),
        },
        numaNodes: numaNodes(),
      });
      if (o.json) {
        out(JSON.stringify({ ...r, launch: env }, null, 2));
        return;
      }
      const yes = (b: boolean | undefined) => (b === undefined ? "unknown" : b ? "yes" : "no");
      const lines = [
        `kernel            ${r.kernel} (${r.machine})`,
        `seccomp modes     strict: ${yes(r.strictMode)}, filter: ${yes(r.filterMode)}`,
        `actions_avail     ${r.actionsAvail?.join(" ") ?? "unreadable"}`,
        `actions_logged    ${r.actionsLogged?.join(" ") ?? "unreadable"}`,
      ];
      if (r.actionProbe) {
        lines.push(`action probe      ${Object.entries(r.actionProbe).map(([k, v]) => `${k}:${v ? "yes" : "no"}`).join(" ")}`);
      }
      if (r.flags) {
        lines.push(`filter flags      ${Object.entries(r.flags).map(([k, v]) => `${k}:${v ? "yes" : "no"}`).join(" ")}`);
      }
      if (r.notifSizes) {
        lines.push(`user notification seccomp_notif ${r.notifSizes.notif} B, resp ${r.notifSizes.resp} B, seccomp_data ${r.notifSizes.data} B`);
      }
      if (r.probeError) lines.push(`kernel probes     not run: ${r.probeError}`);
      const mode = ["disabled", "strict", "filter"][r.self.mode ?? -1] ?? "unknown";
      lines.push(`this process      seccomp ${mode}, ${r.self.filters ?? "?"} filter(s), no_new_privs ${yes(r.self.noNewPrivs)}`);
      lines.push(...launchLines(env));
      out(lines.join("\n"));
    });
}
