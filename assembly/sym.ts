// The symbolic engine: symbolic execution of a seccomp program over all 2^512 inputs at once.
//
// This file is its map and its reset; the engine lives in rooms, each owning its state:
//   symvec.ts      bit vectors: a register's 32 bits as BDDs, the ALU as circuits, comparisons
//   symstate.ts    register states, scratch memories, the one transfer function, the register
//                  pass and each state's suffix diagram, and the bound that was hit
//   sympart.ts     partitions: a program's exact partition by return value (backward, forward)
//                  into result slots
//   symrel.ts      relational analysis: where two programs return different values
//   symwitness.ts  witness search: concrete inputs on which they differ, for costly relations
// The BDDs themselves are bdd.ts. Every bound (BDD nodes, states, distinct return values,
// vectors) is explicit; when one is hit the analysis reports which, and the host answers
// "inconclusive" (docs/architecture.md, "Symbolic verification: design").
import { vecReset } from "./symvec";
import { memReset, stateCount } from "./symstate";
import { outcomesReset } from "./sympart";

export { symAnalyze, symOutcomeCount, symOutcomeValue, symOutcomeSet } from "./sympart";
export { symRelate, symRelCount, symRelP, symRelQ, symRelSet } from "./symrel";
export { symRelWitnessCount, symRelWitness } from "./symwitness";

/**
 * Starts over in a new BDD space (the host calls it after bddReset): every vector, scratch
 * memory and result slot held ids of the old one.
 */
export function symReset(): void {
  vecReset();
  memReset();
  outcomesReset();
}

/** States the last analysis created (for the host's statistics). */
export function symStates(): i32 {
  return stateCount;
}
