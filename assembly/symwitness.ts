// Witness search: concrete inputs on which two programs differ, found when deciding their whole
// relation is too costly.
//
// A fork of the relational analysis (symrel.ts) whose diagram is not FALSE shows that P and Q
// differ on the inputs that reach it with some slice of values. Deciding the whole relation can
// still run out of budget further up (the set of inputs that reach a deep instruction can be
// large). So forks that differ are remembered here, and when the analysis nears its node budget
// it stops and, with the rest of the budget, looks for one concrete input that reaches each
// remembered fork: a depth-first walk over P's register states from the entry, with the path
// condition as a BDD, that enters only states from which the fork's state is reachable and
// skips a state when the path condition is inside what already failed there. The answer is
// then still "inconclusive" from the engine; the host re-runs the inputs found and uses one only
// when it shows the relation failing.
//
// Owns: the remembered forks, the search's budget (steps, nodes, when to start) and its walk
// stack, and the inputs found (symRelWitness*). It reads P's states (symstate.ts) and changes
// none of them.
import { FALSE, TRUE, bddAnd, bddOr, bddNot, bddSatOne, bddLeq, nodeCount, nodeBudget } from "./bdd";
import { LIMIT_NONE, BPF_MAXINSNS, DATA_SIZE } from "./contract";
import { MAX_STATES, sT, sF, sKind, sC, sNext, headAt, status, T_BRANCH, T_DIV_X } from "./symstate";

const MAX_WITNESSES: i32 = 8;
const WORDS: i32 = <i32>(DATA_SIZE >> 2); // an input: the 16 words of seccomp_data
const witnessWords = new StaticArray<u32>(MAX_WITNESSES * WORDS);
let witnessCount: i32 = 0;
let searchSteps: i32 = 0;
const SEARCH_STEPS: i32 = 1 << 12; // per relational analysis
const canReach = new StaticArray<u8>(MAX_STATES);
const failedAt = new StaticArray<u32>(MAX_STATES);
const WALK: i32 = <i32>BPF_MAXINSNS + 1; // one walk entry per instruction of a path, and the end
const walkState = new StaticArray<i32>(WALK);
const walkCond = new StaticArray<u32>(WALK);
const walkNext = new StaticArray<u8>(WALK);
let entryOfP: i32 = 0;
let searchAt: u32 = 0; // the node count at which the search starts (0: not in this analysis)
let searchNodes: u32 = 0; // the node count at which the witness search gives up
const forkState = new StaticArray<i32>(MAX_WITNESSES);
const forkWant = new StaticArray<u32>(MAX_WITNESSES);
let forkCount: i32 = 0;

/**
 * Starts a relational analysis whose P begins at state `entryP`; `witnesses` allows a search
 * (otherwise searchDue never says yes).
 */
export function witnessStart(witnesses: bool, entryP: i32): void {
  // The search starts once an eighth of the node budget is used (cheap analyses never reach
  // it, so their answers come from the diagrams alone).
  searchAt = witnesses ? nodeBudget() >> 3 : 0;
  witnessCount = 0;
  searchSteps = 0;
  forkCount = 0;
  entryOfP = entryP;
}

/** Remembers that P's state `state` (a fork) differs from Q on the inputs of `want`. */
export function rememberFork(state: i32, want: u32): void {
  if (forkCount < MAX_WITNESSES) {
    unchecked(forkState[forkCount] = state);
    unchecked(forkWant[forkCount] = want);
    forkCount++;
  }
}

/** A costly analysis with known differences: time to look for witnesses (once). */
export function searchDue(): bool {
  return searchAt != 0 && forkCount > 0 && nodeCount() > searchAt;
}

/** Looks for an input reaching each remembered fork; true when one was found. */
export function searchWitnesses(lenP: u32): bool {
  searchAt = 0;
  // The search may spend 1/64 of the budget; a failed search then costs little.
  searchNodes = nodeCount() + (nodeBudget() >> 6);
  for (let i = 0; i < forkCount; i++) searchWitness(unchecked(forkState[i]), unchecked(forkWant[i]), lenP);
  return witnessCount > 0;
}

/** Looks for an input that reaches P's state `target` and lies in `want`; records it if found. */
function searchWitness(target: i32, want: u32, lenP: u32): void {
  if (witnessCount >= MAX_WITNESSES || searchSteps >= SEARCH_STEPS) return;
  // Which states of P's main pass can reach the target (successors have larger pcs).
  for (let pc = <i32>lenP - 1; pc >= 0; pc--) {
    let s = unchecked(headAt[pc]);
    while (s >= 0) {
      const t = unchecked(sT[s]);
      const f = unchecked(sF[s]);
      unchecked(canReach[s] = <u8>(s == target || (t >= 0 && unchecked(canReach[t]) != 0) || (f >= 0 && unchecked(canReach[f]) != 0) ? 1 : 0));
      unchecked(failedAt[s] = FALSE);
      s = unchecked(sNext[s]);
    }
  }
  if (unchecked(canReach[entryOfP]) == 0) return;
  let sp = 0;
  unchecked(walkState[0] = entryOfP);
  unchecked(walkCond[0] = TRUE);
  unchecked(walkNext[0] = 0);
  sp = 1;
  while (sp > 0) {
    if (++searchSteps > SEARCH_STEPS || nodeCount() > searchNodes || status() != LIMIT_NONE) return;
    const s = unchecked(walkState[sp - 1]);
    const cond = unchecked(walkCond[sp - 1]);
    if (s == target) {
      const hit = bddAnd(cond, want);
      if (hit != FALSE) {
        bddSatOne(hit, changetype<usize>(witnessWords) + (<usize>(witnessCount * WORDS) << 2));
        witnessCount++;
        return;
      }
    }
    const which = unchecked(walkNext[sp - 1]);
    if (s == target || which >= 2) {
      // Done here: remember that this condition leads nowhere from s.
      unchecked(failedAt[s] = bddOr(unchecked(failedAt[s]), cond));
      sp--;
      continue;
    }
    unchecked(walkNext[sp - 1] = which + 1);
    const succ = which == 0 ? unchecked(sT[s]) : unchecked(sF[s]);
    if (succ < 0 || unchecked(canReach[succ]) == 0) continue;
    const kind = unchecked(sKind[s]);
    const c = unchecked(sC[s]);
    let next = cond;
    if (kind == T_BRANCH) next = bddAnd(cond, which == 0 ? c : bddNot(c));
    else if (kind == T_DIV_X) next = bddAnd(cond, bddNot(c));
    if (next == FALSE || bddLeq(next, unchecked(failedAt[succ]))) continue;
    if (sp >= WALK) continue;
    unchecked(walkState[sp] = succ);
    unchecked(walkCond[sp] = next);
    unchecked(walkNext[sp] = 0);
    sp++;
  }
}

/** Candidate inputs on which the last relational analysis saw the programs differ. */
export function symRelWitnessCount(): i32 { return witnessCount; }
export function symRelWitness(i: i32, word: i32): u32 { return unchecked(witnessWords[i * WORDS + word]); }
