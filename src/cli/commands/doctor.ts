// `sysfence doctor`: what this kernel supports and the calling process's seccomp state.
import type { Command } from "commander";
import { probeKernel } from "../../native/probe.js";
import { out } from "../common.js";

export function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("report what this kernel supports: seccomp modes, actions, flags, process state")
    .option("--json", "machine-readable report")
    .action((o: { json?: boolean }) => {
      const r = probeKernel();
      if (o.json) {
        out(JSON.stringify(r, null, 2));
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
      out(lines.join("\n"));
    });
}
