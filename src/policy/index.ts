// Policies end to end: a policy file (any dialect) -> IR (frontends) -> programs (engine
// compiler). Importing this module also lets every FILTER argument be a policy JSON, compiled
// on the fly (src/formats/detect.ts policy loader hook).
import { loadPolicy, type Dialect } from "./frontend.js";
import { compileIR } from "./compile.js";
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

let minijailDefaults: MinijailOptions = {};

/**
 * The minijail options used when a call gives none (the CLI sets them from its flags once per
 * command, so every command that reads a FILTER or a policy reads minijail files alike).
 */
export function setMinijailDefaults(opts: MinijailOptions): void {
  minijailDefaults = opts;
}

/** Parses and compiles every policy (thread) of a policy file. */
export function compilePolicyText(text: string, file: string, opts: PolicyCompileOptions = {}): CompileResult {
  // A minijail file may name its arch in its constants file: no arch means "let the reader decide".
  const arch = opts.arch === undefined ? undefined : resolveArch(opts.arch, "options.arch");
  const input = loadPolicy(text, file, {
    arch, thread: opts.thread, caps: opts.caps, kernel: opts.kernel, minijail: opts.minijail ?? minijailDefaults,
  });
  const programs: CompiledPolicy[] = [];
  for (const [name, ir] of input.policies) programs.push({ name, ir, program: compileIR(ir) });
  return { programs, warnings: input.warnings, dialect: input.dialect, frequency: input.frequency };
}

export { setOciLenient } from "./frontend.js";

registerPolicyLoader((src) => {
  const r = compilePolicyText(src.text, src.file, {
    arch: src.opts.arch, thread: src.opts.thread, minijail: src.opts.policy?.minijail as MinijailOptions | undefined,
  });
  return new Map(r.programs.map((p) => [p.name, p.program]));
});

export { compileIR, encodePolicy } from "./compile.js";
export { evaluatePolicy, conditionHolds } from "./reference.js";
export type * from "./ir.js";
