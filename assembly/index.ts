// The engine's export surface: the only functions the host calls (through
// src/engine/wasm.ts, the one host<->Wasm boundary module). Everything crosses as numbers and
// pointers into this module's memory; 64-bit values cross as pairs of 32-bit words.
import { OPCODE_TABLE, MNEMONICS } from "./opcodes";

export { checkProgram } from "./check";
export { evalBatch, evalStack } from "./interp";
export { cacheScan } from "./cache";

/** Unmanaged allocation for host buffers (programs, inputs, results). */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

export function dealloc(ptr: usize): void {
  heap.free(ptr);
}

/** The opcode table (see opcodes.ts), for the host's disassembler and assembler. */
export function opcodeTablePtr(): usize {
  return changetype<usize>(OPCODE_TABLE);
}

export function opcodeTableLen(): i32 {
  return OPCODE_TABLE.length;
}

export function opcodeMnemonics(): string {
  return MNEMONICS;
}
export { compilePolicy, compiledLength } from "./compile";
export {
  bddReset, bddAnd, bddOr, bddXor, bddNot, bddDiff, bddExistsWord, bddRestrictWord, bddSatOne,
  bddWordRanges, bddWordEquals, bddNodeVar, bddNodeLo, bddNodeHi, nodeCount as bddNodeCount,
} from "./bdd";
export {
  symReset, symAnalyze, symOutcomeCount, symOutcomeValue, symOutcomeSet, symStates,
  symRelate, symRelCount, symRelWitnessCount, symRelWitness, symRelP, symRelQ, symRelSet,
} from "./sym";
import { overflowed } from "./bdd";

/** True when the BDD node budget was exceeded since the last bddReset. */
export function bddOverflowed(): bool {
  return overflowed;
}
export { jitCompile } from "./jit";
export { bddMk } from "./bddbuild";
