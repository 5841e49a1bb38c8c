// The kernel's acceptance check for a seccomp program, reproduced exactly:
// bpf_check_classic (structure, then the linear scratch-memory pass) and seccomp_check_filter
// (the 41-code allow-list and the k rules of LD W ABS). See docs/kernel.md sections 6-9.
//
// The kernel stops at the first failure; we report every failure so a person can fix a program
// in one pass. The decision "accepted" is exactly "no errors".
import {
  formOf, isClassicOnly, F_NONE, F_LD_ABS, F_MEM_LOAD, F_MEM_STORE, F_ALU_DIV_K,
  F_ALU_SHIFT_K, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A, BPF_MAXINSNS, BPF_MEMWORDS,
} from "./opcodes";

// Error codes; the host (src/engine/check.ts) turns them into sentences.
export const E_LEN_ZERO: u32 = 1; // program-level
export const E_LEN_TOO_LONG: u32 = 2; // program-level, detail = len
export const E_OPCODE_UNKNOWN: u32 = 3; // detail = code
export const E_OPCODE_NOT_SECCOMP: u32 = 4; // detail = code
export const E_LD_ABS_RANGE: u32 = 5; // detail = k
export const E_LD_ABS_ALIGN: u32 = 6; // detail = k
export const E_DIV_ZERO: u32 = 7;
export const E_SHIFT_RANGE: u32 = 8; // detail = k
export const E_MEM_RANGE: u32 = 9; // detail = k
export const E_JA_RANGE: u32 = 10; // detail = k
export const E_JT_RANGE: u32 = 11; // detail = jt
export const E_JF_RANGE: u32 = 12; // detail = jf
export const E_LAST_NOT_RET: u32 = 13; // detail = code of the last instruction
export const E_SCRATCH_UNWRITTEN: u32 = 14; // detail = cell

export const NO_INDEX: u32 = 0xffffffff;

let outPtr: usize = 0;
let outCap: u32 = 0;
let outCount: u32 = 0;

function report(index: u32, code: u32, detail: u32): void {
  if (outCount < outCap) {
    const p = outPtr + (<usize>outCount) * 12;
    store<u32>(p, index);
    store<u32>(p, code, 4);
    store<u32>(p, detail, 8);
  }
  outCount++;
}

/** Scratch for the linear pass: one u16 mask per instruction. */
const MASKS = new StaticArray<u16>(BPF_MAXINSNS);

/**
 * Checks `len` instructions at `prog` (canonical little-endian sock_filter layout).
 * Writes up to `cap` errors as (index, code, detail) u32 triples at `out`, and returns the
 * total number of errors found (which may exceed cap).
 */
export function checkProgram(prog: usize, len: u32, out: usize, cap: u32): u32 {
  outPtr = out;
  outCap = cap;
  outCount = 0;
  if (len == 0) {
    report(NO_INDEX, E_LEN_ZERO, 0);
    return outCount;
  }
  if (len > BPF_MAXINSNS) {
    // The kernel refuses before it reads a single instruction.
    report(NO_INDEX, E_LEN_TOO_LONG, len);
    return outCount;
  }
  let jumpsInRange = true;
  for (let pc: u32 = 0; pc < len; pc++) {
    const ins = prog + (<usize>pc << 3);
    const code = <u32>load<u16>(ins);
    const jt = <u32>load<u8>(ins, 2);
    const jf = <u32>load<u8>(ins, 3);
    const k = load<u32>(ins, 4);
    const form = formOf(code);
    switch (form) {
      case F_NONE: {
        report(pc, isClassicOnly(code) ? E_OPCODE_NOT_SECCOMP : E_OPCODE_UNKNOWN, code);
        break;
      }
      case F_LD_ABS: {
        if (k >= 64) report(pc, E_LD_ABS_RANGE, k);
        else if (k & 3) report(pc, E_LD_ABS_ALIGN, k);
        break;
      }
      case F_ALU_DIV_K: {
        if (k == 0) report(pc, E_DIV_ZERO, k);
        break;
      }
      case F_ALU_SHIFT_K: {
        if (k >= 32) report(pc, E_SHIFT_RANGE, k);
        break;
      }
      case F_MEM_LOAD:
      case F_MEM_STORE: {
        if (k >= BPF_MEMWORDS) report(pc, E_MEM_RANGE, k);
        break;
      }
      case F_JA: {
        // Kernel: k >= (unsigned)(flen - pc - 1) is rejected (32-bit unsigned compare).
        if (k >= len - pc - 1) {
          report(pc, E_JA_RANGE, k);
          jumpsInRange = false;
        }
        break;
      }
      case F_JCOND_K:
      case F_JCOND_X: {
        if (pc + jt + 1 >= len) {
          report(pc, E_JT_RANGE, jt);
          jumpsInRange = false;
        }
        if (pc + jf + 1 >= len) {
          report(pc, E_JF_RANGE, jf);
          jumpsInRange = false;
        }
        break;
      }
      default:
        break;
    }
  }
  const last = <u32>load<u16>(prog + (<usize>(len - 1) << 3));
  const lastForm = formOf(last);
  if (lastForm != F_RET_K && lastForm != F_RET_A) report(len - 1, E_LAST_NOT_RET, last);
  // The scratch pass indexes jump targets, so it needs them in range; cells are masked so an
  // out-of-range k (already reported) cannot index outside the 16-bit set.
  if (jumpsInRange) scratchPass(prog, len);
  return outCount;
}

/**
 * The kernel's check_load_and_stores: one linear forward pass, not a CFG dataflow. A RET does
 * not reset the running `valid` set, so the instruction after a RET inherits the state before
 * it (the quirk documented in docs/kernel.md section 9).
 */
function scratchPass(prog: usize, len: u32): void {
  for (let i: u32 = 0; i < len; i++) unchecked(MASKS[i] = 0xffff);
  let valid: u32 = 0;
  for (let pc: u32 = 0; pc < len; pc++) {
    valid &= <u32>unchecked(MASKS[pc]);
    const ins = prog + (<usize>pc << 3);
    const code = <u32>load<u16>(ins);
    const k = load<u32>(ins, 4);
    const form = formOf(code);
    if (form == F_MEM_STORE) {
      valid |= (<u32>1 << (k & 15));
    } else if (form == F_MEM_LOAD) {
      if (k < BPF_MEMWORDS && !(valid & (<u32>1 << k))) report(pc, E_SCRATCH_UNWRITTEN, k);
    } else if (form == F_JA) {
      const t = pc + 1 + k;
      unchecked(MASKS[t] = <u16>(<u32>unchecked(MASKS[t]) & valid));
      valid = 0xffff;
    } else if (form == F_JCOND_K || form == F_JCOND_X) {
      const t = pc + 1 + <u32>load<u8>(ins, 2);
      const f = pc + 1 + <u32>load<u8>(ins, 3);
      unchecked(MASKS[t] = <u16>(<u32>unchecked(MASKS[t]) & valid));
      unchecked(MASKS[f] = <u16>(<u32>unchecked(MASKS[f]) & valid));
      valid = 0xffff;
    }
  }
}
