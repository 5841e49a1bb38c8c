// The interpreter: the kernel's run-time semantics of an accepted seccomp program
// (docs/kernel.md section 10), the stacked-filter combination (section 4) and the x86_64
// uretprobe/uprobe exception (section 12) as an option.
//
// Programs must have passed checkProgram: the interpreter does no bounds checks of its own,
// which is what keeps the loop tight. The host enforces this (requireAccepted in
// src/engine/run.ts refuses to run an unchecked program).
import {
  D_LD_W_ABS, D_LD_W_LEN, D_LDX_W_LEN, D_LD_IMM, D_LDX_IMM, D_LD_MEM, D_LDX_MEM, D_ST, D_STX,
  D_ALU_ADD_K, D_ALU_SUB_K, D_ALU_MUL_K, D_ALU_DIV_K, D_ALU_OR_K, D_ALU_AND_K, D_ALU_LSH_K,
  D_ALU_RSH_K, D_ALU_XOR_K, D_ALU_ADD_X, D_ALU_SUB_X, D_ALU_MUL_X, D_ALU_DIV_X, D_ALU_OR_X,
  D_ALU_AND_X, D_ALU_LSH_X, D_ALU_RSH_X, D_ALU_XOR_X, D_ALU_NEG, D_MISC_TAX, D_MISC_TXA,
  D_JMP_JA, D_JMP_JEQ_K, D_JMP_JGT_K, D_JMP_JGE_K, D_JMP_JSET_K, D_JMP_JEQ_X, D_JMP_JGT_X,
  D_JMP_JGE_X, D_JMP_JSET_X, D_RET_K, D_RET_A, OPCODE_TABLE, denseOf,
  RET_ACTION_FULL, ACT_ALLOW, DATA_SIZE, AUDIT_ARCH_X86_64,
} from "./opcodes";
import { OPT_BYPASS_URETPROBE, OPT_BYPASS_UPROBE, NR_URETPROBE, NR_UPROBE } from "./contract";

// Dense dispatch: the opcode values are sparse (0x00..0xac), and a switch over them compiles
// to a chain of 41 compares; over 1..41 it compiles to one br_table. Each opcode's dense index
// is declared with its row of the opcode table (opcodes.ts, D_*); DENSE maps code -> index and
// is filled from that table.
const DENSE: usize = memory.data(256);
let denseReady = false;

function initDense(): void {
  for (let i = 0; i < OPCODE_TABLE.length; i++) {
    const r = unchecked(OPCODE_TABLE[i]);
    store<u8>(DENSE + <usize>(r & 0xff), <u8>denseOf(r));
  }
  denseReady = true;
}

/** Scratch memory M[0..15]. */
const SCRATCH: usize = memory.data(64);

/** Instructions executed by the last call of runDecoded. */
export let lastExecuted: u32 = 0;

// Pre-decoded form: 16 bytes per instruction, made once per batch, so the hot loop neither
// translates opcodes nor computes jump targets:
//   +0 u32 dense op index   +4 u32 k   +8 u32 address if true / of JA target   +12 u32 if false
export const DECODED_SIZE: u32 = 16;

/** Decodes `len` checked instructions at `prog` into `dst` (len * 16 bytes). */
export function predecode(prog: usize, len: u32, dst: usize): void {
  if (!denseReady) initDense();
  for (let pc: u32 = 0; pc < len; pc++) {
    const ins = prog + (<usize>pc << 3);
    const code = <u32>load<u16>(ins);
    const d = dst + (<usize>pc << 4);
    const op = <u32>load<u8>(DENSE + <usize>(code & 0xff));
    const k = load<u32>(ins, 4);
    const next = dst + (<usize>(pc + 1) << 4);
    store<u32>(d, code < 256 ? op : 0);
    store<u32>(d, k, 4);
    if (op == D_JMP_JA) {
      store<u32>(d, <u32>(next + (<usize>k << 4)), 8);
      store<u32>(d, 0, 12);
    } else {
      store<u32>(d, <u32>(next + (<usize>load<u8>(ins, 2) << 4)), 8);
      store<u32>(d, <u32>(next + (<usize>load<u8>(ins, 3) << 4)), 12);
    }
  }
}

/** Runs one pre-decoded program on one seccomp_data (64 bytes at `data`). */
export function runDecoded(code: usize, data: usize): u32 {
  let A: u32 = 0;
  let X: u32 = 0;
  let ip = code;
  let n: u32 = 0;
  while (true) {
    const k = load<u32>(ip, 4);
    n++;
    switch (load<u32>(ip)) {
      case D_LD_W_ABS: { A = load<u32>(data + <usize>k); ip += 16; break; }
      case D_JMP_JEQ_K: { ip = <usize>load<u32>(ip + 12 - (<usize>(A == k) << 2)); break; }
      case D_JMP_JGT_K: { ip = <usize>load<u32>(ip + 12 - (<usize>(A > k) << 2)); break; }
      case D_JMP_JGE_K: { ip = <usize>load<u32>(ip + 12 - (<usize>(A >= k) << 2)); break; }
      case D_JMP_JSET_K: { ip = <usize>load<u32>(ip + 12 - (<usize>((A & k) != 0) << 2)); break; }
      case D_RET_K: { lastExecuted = n; return k; }
      case D_ALU_AND_K: { A &= k; ip += 16; break; }
      case D_JMP_JA: { ip = <usize>load<u32>(ip, 8); break; }
      case D_LD_W_LEN: { A = DATA_SIZE; ip += 16; break; }
      case D_LDX_W_LEN: { X = DATA_SIZE; ip += 16; break; }
      case D_LD_IMM: { A = k; ip += 16; break; }
      case D_LDX_IMM: { X = k; ip += 16; break; }
      case D_LD_MEM: { A = load<u32>(SCRATCH + (<usize>k << 2)); ip += 16; break; }
      case D_LDX_MEM: { X = load<u32>(SCRATCH + (<usize>k << 2)); ip += 16; break; }
      case D_ST: { store<u32>(SCRATCH + (<usize>k << 2), A); ip += 16; break; }
      case D_STX: { store<u32>(SCRATCH + (<usize>k << 2), X); ip += 16; break; }
      case D_ALU_ADD_K: { A += k; ip += 16; break; }
      case D_ALU_SUB_K: { A -= k; ip += 16; break; }
      case D_ALU_MUL_K: { A *= k; ip += 16; break; }
      case D_ALU_DIV_K: { A /= k; ip += 16; break; } // k != 0 is a load-time rule
      case D_ALU_OR_K: { A |= k; ip += 16; break; }
      case D_ALU_LSH_K: { A <<= k; ip += 16; break; } // k < 32 is a load-time rule
      case D_ALU_RSH_K: { A >>>= k; ip += 16; break; }
      case D_ALU_XOR_K: { A ^= k; ip += 16; break; }
      case D_ALU_ADD_X: { A += X; ip += 16; break; }
      case D_ALU_SUB_X: { A -= X; ip += 16; break; }
      case D_ALU_MUL_X: { A *= X; ip += 16; break; }
      case D_ALU_DIV_X: {
        // Division by X == 0 ends the filter with return value 0 (KILL_THREAD).
        if (X == 0) { lastExecuted = n; return 0; }
        A /= X;
        ip += 16;
        break;
      }
      case D_ALU_OR_X: { A |= X; ip += 16; break; }
      case D_ALU_AND_X: { A &= X; ip += 16; break; }
      case D_ALU_LSH_X: { A <<= (X & 31); ip += 16; break; } // the kernel shifts by X mod 32
      case D_ALU_RSH_X: { A >>>= (X & 31); ip += 16; break; }
      case D_ALU_XOR_X: { A ^= X; ip += 16; break; }
      case D_ALU_NEG: { A = 0 - A; ip += 16; break; }
      case D_MISC_TAX: { X = A; ip += 16; break; }
      case D_MISC_TXA: { A = X; ip += 16; break; }
      case D_JMP_JEQ_X: { ip = <usize>load<u32>(ip + 12 - (<usize>(A == X) << 2)); break; }
      case D_JMP_JGT_X: { ip = <usize>load<u32>(ip + 12 - (<usize>(A > X) << 2)); break; }
      case D_JMP_JGE_X: { ip = <usize>load<u32>(ip + 12 - (<usize>(A >= X) << 2)); break; }
      case D_JMP_JSET_X: { ip = <usize>load<u32>(ip + 12 - (<usize>((A & X) != 0) << 2)); break; }
      case D_RET_A: { lastExecuted = n; return A; }
      default: {
        // Unreachable for a checked program. Returning 0 (kill) is the safe answer.
        lastExecuted = n;
        return 0;
      }
    }
  }
}

/** Decoded copy of the program of the current evalBatch call. */
const DECODED = new StaticArray<u8>(4096 * 16);

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
 * Evaluates one program (`len` instructions at `prog`) on `n` inputs laid out back to back
 * (64 bytes each) and writes each raw 32-bit result to `out`. When `counts` is not 0, also
 * writes the executed-instruction count of each evaluation there. A bypassed input reports
 * ALLOW with 0 instructions.
 */
export function evalBatch(prog: usize, len: u32, data: usize, n: u32, out: usize, counts: usize, opts: u32): void {
  const code = changetype<usize>(DECODED);
  predecode(prog, len, code);
  for (let i: u32 = 0; i < n; i++) {
    const d = data + (<usize>i << 6);
    let r: u32;
    let c: u32 = 0;
    if (bypassed(d, opts)) {
      r = ACT_ALLOW;
    } else {
      r = runDecoded(code, d);
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
 * `progs` holds `nprogs` (pointer, length) u32 pairs, oldest first. Writes the combined value
 * per input; the action cache never changes the answer, only the 335/336 exception does (opts).
 */
export function evalStack(progs: usize, nprogs: u32, data: usize, n: u32, out: usize, opts: u32): void {
  const decoded = new StaticArray<usize>(nprogs);
  for (let j: u32 = 0; j < nprogs; j++) {
    const p = <usize>load<u32>(progs + (<usize>j << 3));
    const len = load<u32>(progs + (<usize>j << 3), 4);
    const dst = heap.alloc(<usize>len << 4);
    predecode(p, len, dst);
    decoded[j] = dst;
  }
  for (let i: u32 = 0; i < n; i++) {
    const d = data + (<usize>i << 6);
    let ret: u32 = ACT_ALLOW;
    if (!bypassed(d, opts)) {
      for (let j = <i32>nprogs - 1; j >= 0; j--) {
        const cur = runDecoded(unchecked(decoded[j]), d);
        if (<i32>(cur & RET_ACTION_FULL) < <i32>(ret & RET_ACTION_FULL)) ret = cur;
      }
    }
    store<u32>(out + (<usize>i << 2), ret);
  }
  for (let j: u32 = 0; j < nprogs; j++) heap.free(decoded[j]);
}
