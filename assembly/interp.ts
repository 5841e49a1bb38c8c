// The interpreter: the kernel's run-time semantics of an accepted seccomp program
// (kernel-seccomp.md section 10), the stacked-filter combination (section 4) and the x86_64
// uretprobe/uprobe exception (section 12) as an option.
//
// Programs must have passed checkProgram: the interpreter does no bounds checks of its own,
// which is what keeps the loop tight. The host enforces this (src/engine/engine.ts refuses to
// run an unchecked program).
import {
  LD_W_ABS, LD_W_LEN, LDX_W_LEN, LD_IMM, LDX_IMM, LD_MEM, LDX_MEM, ST, STX,
  ALU_ADD_K, ALU_SUB_K, ALU_MUL_K, ALU_DIV_K, ALU_OR_K, ALU_AND_K, ALU_LSH_K, ALU_RSH_K,
  ALU_XOR_K, ALU_ADD_X, ALU_SUB_X, ALU_MUL_X, ALU_DIV_X, ALU_OR_X, ALU_AND_X, ALU_LSH_X,
  ALU_RSH_X, ALU_XOR_X, ALU_NEG, MISC_TAX, MISC_TXA, JMP_JA, JMP_JEQ_K, JMP_JGT_K, JMP_JGE_K,
  JMP_JSET_K, JMP_JEQ_X, JMP_JGT_X, JMP_JGE_X, JMP_JSET_X, RET_K, RET_A,
  RET_ACTION_FULL, ACT_ALLOW, DATA_SIZE, AUDIT_ARCH_X86_64,
} from "./opcodes";

/** Option bits for evaluation. */
export const OPT_BYPASS_URETPROBE: u32 = 1; // x86_64 nr 335 skips all filters (6.14+ and stable)
export const OPT_BYPASS_UPROBE: u32 = 2; // x86_64 nr 336 skips all filters (6.17/6.18+)

const NR_URETPROBE: u32 = 335;
const NR_UPROBE: u32 = 336;

/** Scratch memory M[0..15]. */
const SCRATCH: usize = memory.data(64);

/** Instructions executed by the last call of runProgram. */
export let lastExecuted: u32 = 0;

/** Runs one program on one seccomp_data (64 bytes at `data`) and returns its 32-bit result. */
export function runProgram(prog: usize, data: usize): u32 {
  let A: u32 = 0;
  let X: u32 = 0;
  let pc: usize = 0;
  let n: u32 = 0;
  while (true) {
    const ins = prog + (pc << 3);
    const code = load<u16>(ins);
    const k = load<u32>(ins, 4);
    pc++;
    n++;
    switch (code) {
      case LD_W_ABS: { A = load<u32>(data + <usize>k); break; }
      case LD_W_LEN: { A = DATA_SIZE; break; }
      case LDX_W_LEN: { X = DATA_SIZE; break; }
      case LD_IMM: { A = k; break; }
      case LDX_IMM: { X = k; break; }
      case LD_MEM: { A = load<u32>(SCRATCH + (<usize>k << 2)); break; }
      case LDX_MEM: { X = load<u32>(SCRATCH + (<usize>k << 2)); break; }
      case ST: { store<u32>(SCRATCH + (<usize>k << 2), A); break; }
      case STX: { store<u32>(SCRATCH + (<usize>k << 2), X); break; }
      case ALU_ADD_K: { A += k; break; }
      case ALU_SUB_K: { A -= k; break; }
      case ALU_MUL_K: { A *= k; break; }
      case ALU_DIV_K: { A /= k; break; } // k != 0 is a load-time rule
      case ALU_OR_K: { A |= k; break; }
      case ALU_AND_K: { A &= k; break; }
      case ALU_LSH_K: { A <<= k; break; } // k < 32 is a load-time rule
      case ALU_RSH_K: { A >>>= k; break; }
      case ALU_XOR_K: { A ^= k; break; }
      case ALU_ADD_X: { A += X; break; }
      case ALU_SUB_X: { A -= X; break; }
      case ALU_MUL_X: { A *= X; break; }
      case ALU_DIV_X: {
        // Division by X == 0 ends the filter with return value 0 (KILL_THREAD).
        if (X == 0) { lastExecuted = n; return 0; }
        A /= X;
        break;
      }
      case ALU_OR_X: { A |= X; break; }
      case ALU_AND_X: { A &= X; break; }
      case ALU_LSH_X: { A <<= (X & 31); break; } // the kernel shifts by X mod 32
      case ALU_RSH_X: { A >>>= (X & 31); break; }
      case ALU_XOR_X: { A ^= X; break; }
      case ALU_NEG: { A = 0 - A; break; }
      case MISC_TAX: { X = A; break; }
      case MISC_TXA: { A = X; break; }
      case JMP_JA: { pc += <usize>k; break; }
      case JMP_JEQ_K: { pc += A == k ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JGT_K: { pc += A > k ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JGE_K: { pc += A >= k ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JSET_K: { pc += (A & k) != 0 ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JEQ_X: { pc += A == X ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JGT_X: { pc += A > X ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JGE_X: { pc += A >= X ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case JMP_JSET_X: { pc += (A & X) != 0 ? <usize>load<u8>(ins, 2) : <usize>load<u8>(ins, 3); break; }
      case RET_K: { lastExecuted = n; return k; }
      case RET_A: { lastExecuted = n; return A; }
      default: {
        // Unreachable for a checked program. Returning 0 (kill) is the safe answer.
        lastExecuted = n;
        return 0;
      }
    }
  }
}

/** True when the kernel would skip every filter for this input (the 335/336 exception). */
// @ts-ignore: decorator
@inline function bypassed(data: usize, opts: u32): bool {
  if (opts == 0) return false;
  if (load<u32>(data, 4) != AUDIT_ARCH_X86_64) return false;
  const nr = load<u32>(data);
  return ((opts & OPT_BYPASS_URETPROBE) != 0 && nr == NR_URETPROBE)
    || ((opts & OPT_BYPASS_UPROBE) != 0 && nr == NR_UPROBE);
}

/**
 * Evaluates one program on `n` inputs laid out back to back (64 bytes each) and writes each raw
 * 32-bit result to `out`. When `counts` is not 0, also writes the executed-instruction count of
 * each evaluation there. A bypassed input reports ALLOW with 0 instructions.
 */
export function evalBatch(prog: usize, data: usize, n: u32, out: usize, counts: usize, opts: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const d = data + (<usize>i << 6);
    let r: u32;
    let c: u32 = 0;
    if (bypassed(d, opts)) {
      r = ACT_ALLOW;
    } else {
      r = runProgram(prog, d);
      c = lastExecuted;
    }
    store<u32>(out + (<usize>i << 2), r);
    if (counts != 0) store<u32>(counts + (<usize>i << 2), c);
  }
}

/**
 * Evaluates a stack of filters, the kernel's way: every filter runs, newest first, and a
 * result replaces the running one only when its action part is strictly smaller as a signed
 * 32-bit number (so on a tie the newest filter's full value, data included, wins).
 * `progs` holds `nprogs` u32 pointers, oldest first. Writes the combined value per input; the
 * action cache never changes the answer, only the 335/336 exception does (opts).
 */
export function evalStack(progs: usize, nprogs: u32, data: usize, n: u32, out: usize, opts: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const d = data + (<usize>i << 6);
    let ret: u32 = ACT_ALLOW;
    if (!bypassed(d, opts)) {
      for (let j = <i32>nprogs - 1; j >= 0; j--) {
        const p = <usize>load<u32>(progs + (<usize>j << 2));
        const cur = runProgram(p, d);
        if (<i32>(cur & RET_ACTION_FULL) < <i32>(ret & RET_ACTION_FULL)) ret = cur;
      }
    }
    store<u32>(out + (<usize>i << 2), ret);
  }
}
