// `sysfence launch [--policy P --thread T | --filter BPF] [--stack PHASE]... [jail flags] -- CMD ARGS…`
// Starts CMD under the filter(s) through the native launcher and exits with its status: the
// same code, or 128+N when it was killed by signal N (a diagnosis is printed for SIGSYS).
import type { Command } from "commander";
import { constants } from "node:os";
import { launch, launchStack, LaunchError } from "../../launch/launch.js";
import { refuseBeforeStart } from "../../launch/filters.js";
import { addJailFlags, jailFromEnv, jailFromFlags, loadJailFile, mergeJail, type JailOptions } from "../../launch/jail.js";
import { formatCall, type DiagnoseMode } from "../../launch/diagnose.js";
import { InputError, SysfenceError } from "../../errors.js";
import { err, out } from "../common.js";

const many = (v: string, prev: string[]) => [...prev, v];

/** The launch command's own options; the jail flags come from JAIL_OPTIONS (addJailFlags). */
interface LaunchCliOptions {
  filter?: string;
  policy?: string;
  thread?: string;
  stack: string[];
  log?: boolean;
  attest?: boolean;
  specAllow?: boolean;
  tsync: boolean;
  diagnose: string;
  check?: boolean;
  jail?: string;
  setenv: string[];
  chdir?: string;
}

export function launchCommand(program: Command): void {
  const launchCmd = program
    .command("launch")
    .description("run CMD under a verified filter, in an optional jail, through the native launcher (exit status mirrors CMD's)")
    .argument("<cmd...>", "the program and its arguments, after --")
    .option("--filter <FILTER>", "filter for CMD (any container; T@FILE picks a thread)")
    .option("--policy <FILE>", "policy JSON (seccompiler or OCI), compiled for this machine")
    .option("--thread <T>", "thread of the policy or thread map")
    .option("--stack <FILTER>", "an older phase installed before the filter (repeatable, oldest first)", many, [])
    .option("--log", "SECCOMP_FILTER_FLAG_LOG")
    .option("--attest", "after the exec, read CMD's filters back and prove them byte-identical to the verified ones (root); a mismatch kills CMD")
    .option("--spec-allow", "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
    .option("--no-tsync", "install without TSYNC")
    .option("--diagnose <MODE>", "SIGSYS diagnosis: kmsg (default), notify, permissive, off", "kmsg")
    .option("--check", "refuse or accept the filters and jail, start nothing")
    .option("--jail <FILE>", "jail options from a JSON file (then SYSFENCE_JAIL_* variables, then these flags)")
    .option("--setenv <NAME=VALUE>", "set a variable (repeatable)", many, [])
    .option("--chdir <DIR>", "working directory of CMD");
  addJailFlags(launchCmd);
  launchCmd
    .action(async (cmd: string[], o: LaunchCliOptions) => {
      if (o.filter && o.policy) throw new InputError("give --filter or --policy, not both");
      const diagnose = o.diagnose as DiagnoseMode;
      if (!["off", "kmsg", "notify", "permissive"].includes(diagnose)) throw new InputError(`--diagnose takes kmsg, notify, permissive or off, not "${o.diagnose}"`);
      let jail: JailOptions = o.jail ? loadJailFile(o.jail) : {};
      jail = mergeJail(jail, jailFromEnv());
      jail = mergeJail(jail, jailFromFlags(o as unknown as Record<string, unknown>));
      const env: NodeJS.ProcessEnv = jail.clearEnv ? {} : { ...process.env };
      for (const s of o.setenv) {
        const i = s.indexOf("=");
        if (i <= 0) throw new InputError(`--setenv takes NAME=VALUE, not "${s}"`);
        env[s.slice(0, i)] = s.slice(i + 1);
      }
      for (const k of Object.keys(env)) if (k.startsWith("SYSFENCE_JAIL_")) delete env[k];
      const opts = {
        filter: o.filter, policy: o.policy, thread: o.thread, stack: o.stack, jail, argv: cmd, env,
        cwd: o.chdir, tsync: o.tsync, log: o.log, specAllow: o.specAllow, diagnose, stdio: "inherit" as const,
        attest: o.attest,
      };
      if (o.check) {
        const stack = launchStack(opts);
        for (const w of refuseBeforeStart(stack, { needsUserNotif: diagnose === "notify" || diagnose === "permissive" })) err(`sysfence: warning: ${w}`);
        out(`ok: ${stack.length} filter(s) (${stack.map((f) => `${f.label}: ${f.program.length} instructions`).join(", ") || "none"}); jail ${JSON.stringify(jail)}`);
        return;
      }
      const h = launch(opts);
      let attestError: SysfenceError | undefined;
      if (o.attest) {
        h.ready.then(
          (pid) => err(`sysfence: attest: process ${pid} runs the verified filters, byte-identical and in order`),
          (e) => { if (e instanceof SysfenceError && !(e instanceof LaunchError)) attestError = e; },
        );
      }
      const timeout = jail.stopTimeoutMs ?? 5000;
      let killTimer: NodeJS.Timeout | undefined;
      const forward = (sig: NodeJS.Signals) => {
        h.kill(sig);
        if ((sig === "SIGTERM" || sig === "SIGINT") && !killTimer && timeout > 0) {
          killTimer = setTimeout(() => h.kill("SIGKILL"), timeout);
        }
      };
      const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
      for (const s of sigs) process.on(s, forward);
      const r = await h.exit;
      for (const s of sigs) process.off(s, forward);
      if (killTimer) clearTimeout(killTimer);
      for (const w of r.warnings) err(`sysfence: warning: ${w}`);
      for (const l of r.leftovers) err(`sysfence: warning: could not remove ${l}`);
      if (r.error) err(`sysfence: launch: ${r.error.message}`);
      if (attestError) {
        err(`sysfence: ${attestError.oneLine()}`);
        process.exitCode = attestError.exitCode;
        return;
      }
      if (r.diagnosis) {
        const d = r.diagnosis;
        const head = r.signal === "SIGSYS" ? `${cmd[0]} was killed by SIGSYS (seccomp)` : `diagnose ${d.mode}`;
        if (d.calls.length === 0) err(`sysfence: ${head}; ${d.note ?? "no call was reported"}`);
        else {
          err(`sysfence: ${head}: ${d.mode === "permissive" ? "the filter would have killed" : "blocked"} ${d.calls.length === 1 ? "this call" : `${d.calls.length} calls`}:`);
          for (const c of d.calls) err(`  ${formatCall(c)}`);
        }
      }
      process.exitCode = r.code ?? 128 + ((r.signal && constants.signals[r.signal]) || 0);
    });
}
