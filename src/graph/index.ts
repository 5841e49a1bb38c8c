// Pictures of filters and policies (`sysfence graph`, the playground): control-flow graphs with
// folded syscall dispatch, policy trees, DOT text and SVG.
export { programGraph, describeNumbers, type ProgramGraph, type GraphBlock, type GraphDispatch, type GraphEdge, type GraphOptions, type RetKind } from "./cfg.js";
export { programDot, RET_COLOURS } from "./dot.js";
export { policyDot, conditionText } from "./policy.js";
export { dotToSvg } from "./svg.js";
