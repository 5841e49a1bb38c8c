// Policies end to end: a policy file (any dialect) -> IR (frontends) -> programs (engine
// compiler). Importing this module also lets every FILTER argument be a policy JSON, compiled
// on the fly (src/formats/detect.ts policy loader hook).
import { loadPolicy } from "./frontend.js";
import { compileIR } from "./compile.js";
import type { PolicyIR, PolicyWarning } from "./ir.js";
import type { Program } from "../engine/program.js";
import type { ArchInfo } from "../syscalls/arches.js";
import { hostArch } from "../syscalls/arches.js";
import { resolveArch, type ArchLike } from "../syscalls/index.js";
import { registerPolicyLoader } from "../formats/detect.js";

export interface PolicyCompileOptions {
  /** Target ABI, an ArchInfo or a name (default: the host's). */
  arch?: ArchLike;
  /** Only this thread of a seccompiler map. */
  thread?: string;
  /** OCI: the capability set the container has (default: Docker's default set). */
  caps?: Set<string>;
  /** OCI: kernel version "major.minor" for minKernel (default: the running kernel). */
  kernel?: string;
}

export interface CompiledPolicy {
  name: string;
  ir: PolicyIR;
  program: Program;
}

export interface CompileResult {
  programs: CompiledPolicy[];
  warnings: PolicyWarning[];
}

/** Parses and compiles every policy (thread) of a policy file. */
export function compilePolicyText(text: string, file: string, opts: PolicyCompileOptions = {}): CompileResult {
  const arch = opts.arch === undefined ? hostArch() : resolveArch(opts.arch, "options.arch");
  const input = loadPolicy(text, file, { arch, thread: opts.thread, caps: opts.caps, kernel: opts.kernel });
  const programs: CompiledPolicy[] = [];
  for (const [name, ir] of input.policies) programs.push({ name, ir, program: compileIR(ir) });
  return { programs, warnings: input.warnings };
}

registerPolicyLoader((src) => {
  const r = compilePolicyText(src.text, src.file, { arch: src.opts.arch, thread: src.opts.thread });
  return new Map(r.programs.map((p) => [p.name, p.program]));
});

export { compileIR, encodePolicy } from "./compile.js";
export { evaluatePolicy, conditionHolds } from "./reference.js";
export type * from "./ir.js";
