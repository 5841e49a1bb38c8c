// Node-level construction for the host's condition builders (src/verify/minimise.ts): the
// minimiser states argument conditions (`<=`, `& mask ==`, ranges) and proves them equal to
// the engine's sets, which needs diagrams built bit by bit. The host cannot reach the unique
// table, so it asks for each node here; the variable order is checked so that a host bug can
// never make a diagram that is not reduced and ordered (it would break equality by node id).
import { mk, bddNodeVar, VARS } from "./bdd";

/** Returned when (v, lo, hi) would not be ordered: the host raises an internal error. */
export const BAD_NODE: u32 = 0xffffffff;

/** The reduced node (v, lo, hi); v must lie above both children (terminals sit below all). */
export function bddMk(v: u32, lo: u32, hi: u32): u32 {
  if (v >= VARS) return BAD_NODE;
  const vl = bddNodeVar(lo);
  const vh = bddNodeVar(hi);
  // bddNodeVar gives 0xffffffff for the terminals, which sort below every variable.
  if (vl <= v || vh <= v) return BAD_NODE;
  return mk(v, lo, hi);
}
