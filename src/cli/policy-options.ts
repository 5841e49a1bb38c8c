// The options of the policy dialects, defined once and added to every command that reads a
// policy or a FILTER (the commands with --arch or --policy), so that `compile`, `check`, `run`,
// `verify` (subset, equal, diff, lint, stack, --spec), `explain`, `replay`, `learn --within`,
// `graph` and `launch --policy` read a profile the same way: OCI/Docker capabilities and kernel
// version (`--caps`, `--kernel`), minijail's reading and constants. The parsed choice becomes
// the process-wide default of the policy compiler before the command runs
// (src/policy/index.ts setPolicyDefaults), so no command has to pass it along.
import { Option, type Command } from "commander";
import { InputError } from "../errors.js";
import { setPolicyDefaults, setOciLenient, type PolicyDefaults } from "../policy/index.js";
import { capsFromSpec } from "../policy/oci.js";
import { parseIncludeRoot, type MinijailOptions } from "../policy/minijail/index.js";

const OPTIONS = [
  new Option("--caps <list>", "OCI: the container's capabilities, CAP_A,CAP_B (the whole set; \"\" for none) or +CAP_A,-CAP_B (changes to Docker's default set, the default)"),
  new Option("--kernel <major.minor>", "OCI: kernel version for minKernel (default: this kernel)"),
  new Option("--minijail-semantics <c|python>", "minijail: whose meaning (c: the man page and libminijail, default; python: compile_seccomp_policy.py, as crosvm builds)").choices(["c", "python"]),
  new Option("--minijail-duplicates <mode>", "minijail: a syscall in several statements (refuse: C default; first: Android; concat: Python default)").choices(["refuse", "first", "concat"]),
  new Option("--default-action <action>", "minijail: default action, overriding @default (allow, kill, kill-process, kill-thread, trap, log, trace, user-notify, return N)"),
  new Option("--use-kill-process", "minijail: kill means KILL_PROCESS, not KILL_THREAD"),
  new Option("--constants <file>", "minijail: constants.json for the arch (default: the one beside the policy)"),
  new Option("--include-root <PREFIX=DIR>", "minijail: read @include PREFIX/… from DIR (repeatable; default: beside the including file)")
    .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
];

/** OCI profiles: errnoRet on an action without data is dropped with a warning instead of refused. */
const LENIENT = new Option("--lenient", "OCI: drop errnoRet/errno given with an action other than ERRNO/TRACE, with a warning, as runc does (default: refuse, as the runtime-spec says)");

/** Adds the options to every command (and subcommand) that reads a policy. */
export function addPolicyOptions(program: Command): void {
  const visit = (cmd: Command): void => {
    const longs = new Set(cmd.options.map((o) => o.long));
    if (longs.has("--arch") || longs.has("--policy")) {
      for (const o of OPTIONS) if (!longs.has(o.long)) cmd.addOption(o);
      cmd.hook("preAction", (_this, action) => setPolicyDefaults(policyDefaults(action.opts(), longs)));
      if (!longs.has(LENIENT.long)) cmd.addOption(LENIENT);
      cmd.hook("preAction", (_this, action) => setOciLenient(action.opts().lenient === true));
    }
    cmd.commands.forEach(visit);
  };
  program.commands.forEach(visit);
}

/** The dialect options of a command line (undefined where not given). */
export function policyDefaults(o: Record<string, unknown>, own: Set<string | undefined>): PolicyDefaults {
  const kernel = o.kernel === undefined ? undefined : String(o.kernel);
  if (kernel !== undefined && !/^\d+\.\d+$/.test(kernel)) throw new InputError(`takes "major.minor" (e.g. 6.1), not "${kernel}"`, "--kernel");
  return {
    minijail: minijailOptions(o, own),
    ...(o.caps !== undefined ? { caps: capsFromSpec(String(o.caps)) } : {}),
    ...(kernel !== undefined ? { kernel } : {}),
  };
}

function minijailOptions(o: Record<string, unknown>, own: Set<string | undefined>): MinijailOptions {
  const out: MinijailOptions = {};
  if (o.minijailSemantics !== undefined) out.semantics = o.minijailSemantics as MinijailOptions["semantics"];
  if (o.minijailDuplicates !== undefined) out.duplicates = o.minijailDuplicates as MinijailOptions["duplicates"];
  // A command with its own --default-action (learn) keeps it for itself.
  if (o.defaultAction !== undefined && !own.has("--default-action")) out.defaultAction = String(o.defaultAction);
  if (o.useKillProcess) out.useKillProcess = true;
  if (o.constants !== undefined) out.constants = String(o.constants);
  if (o.includeRoot !== undefined) out.includeRoots = (o.includeRoot as string[]).map(parseIncludeRoot);
  if (out.duplicates === "concat" && out.semantics !== "python") {
    throw new InputError("--minijail-duplicates concat needs --minijail-semantics python");
  }
  return out;
}
