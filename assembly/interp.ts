// The interpreter: the kernel's run-time semantics of an accepted seccomp program
// (docs/kernel.md section 10), the stacked-filter combination (section 4) and the x86_64
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


// Dense dispatch: the opcode values are sparse (0x00..0xac), and a switch over them compiles
// to a chain of 41 compares; over 1..41 it compiles to one br_table. DENSE maps code -> index.
const D_LD_W_ABS: u32 = 1;
const D_LD_W_LEN: u32 = 2;
const D_LDX_W_LEN: u32 = 3;
const D_LD_IMM: u32 = 4;
const D_LDX_IMM: u32 = 5;
const D_LD_MEM: u32 = 6;
const D_LDX_MEM: u32 = 7;
const D_ST: u32 = 8;
const D_STX: u32 = 9;
const D_ALU_ADD_K: u32 = 10;
const D_ALU_SUB_K: u32 = 11;
const D_ALU_MUL_K: u32 = 12;
const D_ALU_DIV_K: u32 = 13;
const D_ALU_OR_K: u32 = 14;
const D_ALU_AND_K: u32 = 15;
const D_ALU_LSH_K: u32 = 16;
const D_ALU_RSH_K: u32 = 17;
const D_ALU_XOR_K: u32 = 18;
const D_ALU_ADD_X: u32 = 19;
const D_ALU_SUB_X: u32 = 20;
const D_ALU_MUL_X: u32 = 21;
const D_ALU_DIV_X: u32 = 22;
const D_ALU_OR_X: u32 = 23;
const D_ALU_AND_X: u32 = 24;
const D_ALU_LSH_X: u32 = 25;
const D_ALU_RSH_X: u32 = 26;
const D_ALU_XOR_X: u32 = 27;
const D_ALU_NEG: u32 = 28;
const D_MISC_TAX: u32 = 29;
const D_MISC_TXA: u32 = 30;
const D_JMP_JA: u32 = 31;
const D_JMP_JEQ_K: u32 = 32;
const D_JMP_JGT_K: u32 = 33;
const D_JMP_JGE_K: u32 = 34;
const D_JMP_JSET_K: u32 = 35;
const D_JMP_JEQ_X: u32 = 36;
const D_JMP_JGT_X: u32 = 37;
const D_JMP_JGE_X: u32 = 38;
const D_JMP_JSET_X: u32 = 39;
const D_RET_K: u32 = 40;
const D_RET_A: u32 = 41;
const DENSE: usize = memory.data(256);
let denseReady = false;

function initDense(): void {
  store<u8>(DENSE + <usize>LD_W_ABS, <u8>D_LD_W_ABS);
  store<u8>(DENSE + <usize>LD_W_LEN, <u8>D_LD_W_LEN);
  store<u8>(DENSE + <usize>LDX_W_LEN, <u8>D_LDX_W_LEN);
  store<u8>(DENSE + <usize>LD_IMM, <u8>D_LD_IMM);
  store<u8>(DENSE + <usize>LDX_IMM, <u8>D_LDX_IMM);
  store<u8>(DENSE + <usize>LD_MEM, <u8>D_LD_MEM);
  store<u8>(DENSE + <usize>LDX_MEM, <u8>D_LDX_MEM);
  store<u8>(DENSE + <usize>ST, <u8>D_ST);
  store<u8>(DENSE + <usize>STX, <u8>D_STX);
  store<u8>(DENSE + <usize>ALU_ADD_K, <u8>D_ALU_ADD_K);
  store<u8>(DENSE + <usize>ALU_SUB_K, <u8>D_ALU_SUB_K);
  store<u8>(DENSE + <usize>ALU_MUL_K, <u8>D_ALU_MUL_K);
  store<u8>(DENSE + <usize>ALU_DIV_K, <u8>D_ALU_DIV_K);
  store<u8>(DENSE + <usize>ALU_OR_K, <u8>D_ALU_OR_K);
  store<u8>(DENSE + <usize>ALU_AND_K, <u8>D_ALU_AND_K);
  store<u8>(DENSE + <usize>ALU_LSH_K, <u8>D_ALU_LSH_K);
  store<u8>(DENSE + <usize>ALU_RSH_K, <u8>D_ALU_RSH_K);
  store<u8>(DENSE + <usize>ALU_XOR_K, <u8>D_ALU_XOR_K);
  store<u8>(DENSE + <usize>ALU_ADD_X, <u8>D_ALU_ADD_X);
  store<u8>(DENSE + <usize>ALU_SUB_X, <u8>D_ALU_SUB_X);
  store<u8>(DENSE + <usize>ALU_MUL_X, <u8>D_ALU_MUL_X);
  store<u8>(DENSE + <usize>ALU_DIV_X, <u8>D_ALU_DIV_X);
  store<u8>(DENSE + <usize>ALU_OR_X, <u8>D_ALU_OR_X);
  store<u8>(DENSE + <usize>ALU_AND_X, <u8>D_ALU_AND_X);
  store<u8>(DENSE + <usize>ALU_LSH_X, <u8>D_ALU_LSH_X);
  store<u8>(DENSE + <usize>ALU_RSH_X, <u8>D_ALU_RSH_X);
  store<u8>(DENSE + <usize>ALU_XOR_X, <u8>D_ALU_XOR_X);
  store<u8>(DENSE + <usize>ALU_NEG, <u8>D_ALU_NEG);
  store<u8>(DENSE + <usize>MISC_TAX, <u8>D_MISC_TAX);
  store<u8>(DENSE + <usize>MISC_TXA, <u8>D_MISC_TXA);
  store<u8>(DENSE + <usize>JMP_JA, <u8>D_JMP_JA);
  store<u8>(DENSE + <usize>JMP_JEQ_K, <u8>D_JMP_JEQ_K);
  store<u8>(DENSE + <usize>JMP_JGT_K, <u8>D_JMP_JGT_K);
  store<u8>(DENSE + <usize>JMP_JGE_K, <u8>D_JMP_JGE_K);
  store<u8>(DENSE + <usize>JMP_JSET_K, <u8>D_JMP_JSET_K);
  store<u8>(DENSE + <usize>JMP_JEQ_X, <u8>D_JMP_JEQ_X);
  store<u8>(DENSE + <usize>JMP_JGT_X, <u8>D_JMP_JGT_X);
  store<u8>(DENSE + <usize>JMP_JGE_X, <u8>D_JMP_JGE_X);
  store<u8>(DENSE + <usize>JMP_JSET_X, <u8>D_JMP_JSET_X);
  store<u8>(DENSE + <usize>RET_K, <u8>D_RET_K);
  store<u8>(DENSE + <usize>RET_A, <u8>D_RET_A);
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
