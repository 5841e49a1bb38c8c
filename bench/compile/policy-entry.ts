// Entry for the bench's esbuild step (bench/compile/compiler.mjs): the policy compiler and the
// reference evaluator straight from src/, for a dist/ bundle that does not export them.
export { compilePolicyText, compileIR, evaluatePolicy, conditionHolds } from "../../src/policy/index.js";
export { resolveArch } from "../../src/syscalls/index.js";
