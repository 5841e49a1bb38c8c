// Policies end to end: a policy file (any dialect) -> IR (frontends) -> programs (engine
// compiler). Importing this module also lets every FILTER argument be a policy JSON, compiled
// on the fly (src/formats/detect.ts policy loader hook).
import { loadPolicy, type Dialect } from "./frontend.js";
import { compileIR, compileWeighted } from "./compile.js";
import type { PolicyIR, PolicyWarning } from "./ir.js";
import type { Program } from "../engine/program.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { resolveArch, type ArchLike } from "../syscalls/index.js";
import { registerPolicyLoader } from "../formats/detect.js";
import type { MinijailOptions } from "./minijail/index.js";

export interface PolicyCompileOptions {
  /** Target ABI, an ArchInfo or a name (default: the host's). */
  arch?: ArchLike;
  /** Only this thread of a seccompiler map. */
  thread?: string;
  /** OCI: the capability set the container has (default: Docker's default set). */
  caps?: Set<string>;
  /** OCI: kernel version "major.minor" for minKernel (default: the running kernel). */
  kernel?: string;
  /** minijail: semantics, constants, include roots, default action (src/policy/minijail). */
  minijail?: MinijailOptions;
  /** minijail: balance the decision tree by the policy's @frequency counts (default true). */
  frequencyWeights?: boolean;
}

export interface CompiledPolicy {
  name: string;
  ir: PolicyIR;
  program: Program;
}

export interface CompileResult {
  programs: CompiledPolicy[];
  warnings: PolicyWarning[];
  dialect?: Dialect;
  /** minijail: @frequency call counts by syscall number. */
  frequency?: Map<number, bigint>;
}

/** Options of the policy dialects that a call may leave out (see setPolicyDefaults). */
export type PolicyDefaults = Pick<PolicyCompileOptions, "caps" | "kernel" | "minijail">;

let defaults: PolicyDefaults = {};

/**
 * The dialect options used when a call gives none: OCI capabilities and kernel version, minijail
 * semantics and constants. The CLI sets them from its flags once per command
 * (src/cli/policy-options.ts), so every command that reads a FILTER or a policy reads a
 * profile alike, whether it compiles it itself or through the FILTER loader.
 */
export function setPolicyDefaults(d: PolicyDefaults): void {
  defaults = { ...d };
}

/** The defaults in force (for callers that read a policy with the frontend directly). */
export function currentPolicyDefaults(): PolicyDefaults {
  return { ...defaults };
}

/** A warning as one line: `file:line (pointer): message` (the parts that are known). */
export function formatPolicyWarning(w: PolicyWarning): string {
  const s = w.source;
  const where = s ? `${s.file}${s.line ? `:${s.line}` : ""}${s.pointer ? ` (${s.pointer})` : ""}: ` : "";
  return `${where}${w.message}`;
}

/** Parses and compiles every policy (thread) of a policy file. */
export function compilePolicyText(text: string, file: string, opts: PolicyCompileOptions = {}): CompileResult {
  // A minijail file may name its arch in its constants file: no arch means "let the reader decide".
  const arch = opts.arch === undefined ? undefined : resolveArch(opts.arch, "options.arch");
  const input = loadPolicy(text, file, {
    arch, thread: opts.thread, caps: opts.caps ?? defaults.caps, kernel: opts.kernel ?? defaults.kernel,
    minijail: opts.minijail ?? defaults.minijail ?? {},
  });
  const programs: CompiledPolicy[] = [];
  // @frequency counts (minijail) weight the decision tree; the meaning never changes.
  const weigh = input.frequency && input.frequency.size > 0 && opts.frequencyWeights !== false;
  for (const [name, ir] of input.policies) {
    programs.push({ name, ir, program: weigh ? compileWeighted(ir, input.frequency!) : compileIR(ir) });
  }
  return { programs, warnings: input.warnings, dialect: input.dialect, frequency: input.frequency };
}

export { setOciLenient } from "./frontend.js";

// Every FILTER may be a policy: compiled with the options of the load (else the defaults above),
// its warnings handed on with the programs so that every command prints them.
registerPolicyLoader((src) => {
  const o = (src.opts.policy ?? {}) as PolicyDefaults;
  const r = compilePolicyText(src.text, src.file, {
    arch: src.opts.arch, thread: src.opts.thread, minijail: o.minijail, caps: o.caps, kernel: o.kernel,
  });
  return { programs: new Map(r.programs.map((p) => [p.name, p.program])), warnings: r.warnings.map(formatPolicyWarning) };
});

export { compileIR, compileWeighted, encodePolicy, weightedMeanInstructions, type CompileOptions } from "./compile.js";
export { evaluatePolicy, conditionHolds } from "./reference.js";
export type * from "./ir.js";
