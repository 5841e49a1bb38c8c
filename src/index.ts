// sysfence's typed ESM API. Everything here is synchronous once imported: the engine is
// instantiated on first use. Importing it also lets filter loaders accept policy JSON.
// Only what a user needs is exported (README "API"); engine internals (batch sizing, replay
// deciders, falsification, BDD folding) stay behind these functions. One name per concept:
// `Verdict` is a verifier's answer, `FilterResult` a decoded return value.
export * from "./errors.js";
export { Program, type Insn } from "./engine/program.js";
export { check, accepted, type CheckError, type CheckErrorKind } from "./engine/check.js";
export {
  evaluate, evaluateBatch, evaluateStack, cacheScan,
  type EvalOptions, type ProbeBypass, type BatchResult,
} from "./engine/run.js";
export { InputBatch, encodeData, decodeData, type SeccompData } from "./engine/data.js";
export {
  Action, decodeRet, formatRet, formatResult, parseAction, stronger,
  type ActionName, type FilterResult,
} from "./engine/actions.js";
export { opcodes, opcodeInfo, Form, type OpcodeInfo } from "./engine/opcodes.js";
export { ARCHES, findArch, archesByToken, hostArch, type ArchInfo, type Endian } from "./syscalls/arches.js";
export {
  resolveArch, syscallNumber, syscallName, resolveSyscall, syscallNames, syscallCount,
} from "./syscalls/index.js";
export { disassemble, inferArch, type DisasmOptions } from "./text/disasm.js";
export { assemble, type AsmOptions } from "./text/asm.js";
export {
  installFilter, FilterFlag, FilterTooLargeError, TsyncFailedError, KernelError, type InstallOptions,
} from "./native/install.js";
export { probeKernel, processState, type KernelReport, type ProcessSeccompState } from "./native/probe.js";
export * from "./formats/index.js";
export { parseJsonl, parseRecord, type SyscallRecord } from "./traces/jsonl.js";
export {
  compilePolicyText, compileIR, compileWeighted, weightedMeanInstructions, evaluatePolicy, conditionHolds,
  type PolicyCompileOptions, type CompileOptions, type CompiledPolicy, type CompileResult,
} from "./policy/index.js";
export type {
  PolicyIR, ArchPolicy, SyscallPolicy, NrRange, Rule, ArgCondition, CompareOp, SourceRef, PolicyWarning, CompiledInput,
} from "./policy/ir.js";
export { policy, arg } from "./policy/builder.js";
export { loadPolicy } from "./policy/frontend.js";
export { cacheReport, type CacheReport } from "./engine/cache-report.js";
export {
  subset, stricter, equal, stackEquals, stackEffects, allows, effective,
  type StackEffect, type Verdict, type Counterexample, type VerifyOptions,
} from "./verify/relations.js";
export {
  SymbolicSpace, StaleSpaceError, Witnesses, type Outcome, type PairOutcome, type AnalysisMethod,
} from "./verify/symbolic.js";
export {
  launch, launchStack, LaunchError, validateJail, loadJailFile, jailFromEnv, mergeJail,
  JAIL_ENV, createCgroups, removeCgroups, cgroupV2Mount, numaNodes, prepareJailRoot, removeJailRoot,
  launcherPath, requireLauncher,
  type LaunchOptions, type LaunchHandle, type LaunchResult, type FilterSource, type JailOptions, type BindSpec, type IdMapEntry,
  type LandlockOptions, type CgroupOptions, type JailRootOptions, type DiagnoseMode, type Diagnosis, type BlockedCall,
} from "./launch/index.js";
export {
  readTrace, detectTraceFormat, sniffTraceFile, TRACE_FORMATS,
  type TraceFormat, type TraceFileSummary, type ReadTraceOptions,
} from "./traces/reader.js";
export { parseTraceRecord } from "./traces/jsonl.js";
export { TraceEvent, type TraceSink, type ParseStats } from "./traces/event.js";
export {
  replayTraces, formatReplayText, replayJson,
  type ReplayResult, type ReplayTracesOptions, type SyscallReport, type SyscallOutcome,
} from "./replay/index.js";
export { learnPolicy, type LearnOptions, type LearnResult, type LearnFormat } from "./learn/index.js";
export { lint, lintPolicy, INT_ARGS, type Finding, type Severity } from "./verify/lint.js";
export { explain, explanationSize, type Explanation, type ExplanationSize } from "./verify/explain.js";
export {
  emitPolicy, toSeccompiler, toOci, toMinijail, dialectFrame, POLICY_DIALECTS,
  type PolicyDialect, type EmitResult, type EmitOptions, type DialectFrame,
} from "./policy/emit/index.js";
export { diff, type DiffEntry, type DiffResult } from "./verify/diff.js";
export { runSpec, ciAnnotations, junitXml, type AssertionResult } from "./verify/spec.js";
// Live filters: read back the stacks of running processes; importing this also
// makes `pid:PID[/TID]` a FILTER everywhere (loadFilters, runSpec).
export {
  readLiveFilters, listProcesses, parsePidSpec, stackHash, liveReadRefusal, attestStack, AttestMismatchError,
  type LiveFilter, type LiveStack, type LiveProcess, type ReadLiveOptions, type ProcessRow, type ListOptions,
} from "./live/index.js";
export { dockerRuntimeSeccomp } from "./policy/oci.js";
