// A compiler from a checked seccomp program to a WebAssembly module, so batches run as native
// code (V8 compiles the module) instead of through the interpreter's dispatch loop.
//
// cBPF jumps only go forward, which maps onto nested blocks: the body of `eval` opens one block
// per instruction 1..n-1, innermost first; instruction i's code sits right after the `end` of
// block i, so from instruction i, `br d` lands on instruction i+1+d. A conditional jump is
// `br_if jt` then `br jf` (omitted when jf is 0: falling out of the block is the next
// instruction). The kernel's semantics carry over exactly: i32 arithmetic wraps, wasm shifts
// take the count mod 32 (the kernel's rule for shifts by X), unsigned division, and DIV by
// X == 0 returns 0. Scratch cells are locals.
//
// Module: imports env.memory (the engine's memory); exports
//   eval(data: i32) -> i32
//   batch(data: i32, n: i32, out: i32)   // n inputs of 64 bytes at data, results at out
import {
  formOf, F_LD_ABS, F_LEN, F_IMM, F_MEM_LOAD, F_MEM_STORE, F_ALU_K, F_ALU_DIV_K, F_ALU_SHIFT_K,
  F_ALU_X, F_NEG, F_MISC, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A,
  LD_IMM, LD_MEM, ST, LD_W_LEN, MISC_TAX,
  ALU_ADD_K, ALU_SUB_K, ALU_MUL_K, ALU_DIV_K, ALU_OR_K, ALU_AND_K, ALU_LSH_K, ALU_RSH_K,
  ALU_ADD_X, ALU_SUB_X, ALU_MUL_X, ALU_DIV_X, ALU_OR_X, ALU_AND_X, ALU_LSH_X, ALU_RSH_X,
  JMP_JEQ_K, JMP_JGT_K, JMP_JGE_K, JMP_JEQ_X, JMP_JGT_X, JMP_JGE_X,
} from "./opcodes";

let out: usize = 0;
let pos: u32 = 0;
let cap: u32 = 0;
let full = false;

function byte(b: u32): void {
  if (pos >= cap) {
    full = true;
    return;
  }
  store<u8>(out + <usize>pos, <u8>b);
  pos++;
}

function uleb(v: u32): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v != 0) b |= 0x80;
    byte(b);
  } while (v != 0);
}

function sleb(v: i32): void {
  while (true) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0)) {
      byte(<u32>b);
      return;
    }
    byte(<u32>b | 0x80);
  }
}

// Local indices of eval: 0 data (param), 1 A, 2 X, 3..18 M[0..15].
const L_DATA: u32 = 0;
const L_A: u32 = 1;
const L_X: u32 = 2;
const L_M: u32 = 3;

function getA(): void { byte(0x20); uleb(L_A); }
function setA(): void { byte(0x21); uleb(L_A); }
function getX(): void { byte(0x20); uleb(L_X); }
function setX(): void { byte(0x21); uleb(L_X); }
function constI(k: u32): void { byte(0x41); sleb(<i32>k); }

/** The body of `eval` (locals declaration included) for the program. */
function evalBody(prog: usize, len: u32): void {
  // locals: 18 x i32 (A, X, M0..M15)
  uleb(1);
  uleb(18);
  byte(0x7f);
  // Open blocks for instructions n-1 down to 1 (outermost is the last instruction's).
  for (let i: u32 = 1; i < len; i++) {
    byte(0x02);
    byte(0x40);
  }
  for (let pc: u32 = 0; pc < len; pc++) {
    if (pc > 0) byte(0x0b); // end of block pc: instruction pc starts here
    const ins = prog + (<usize>pc << 3);
    const code = load<u16>(ins);
    const jt = <u32>load<u8>(ins, 2);
    const jf = <u32>load<u8>(ins, 3);
    const k = load<u32>(ins, 4);
    const form = formOf(code);
    switch (form) {
      case F_LD_ABS: {
        byte(0x20); uleb(L_DATA);
        byte(0x28); uleb(2); uleb(k); // i32.load align=4 offset=k
        setA();
        break;
      }
      case F_LEN: { constI(64); if (code == LD_W_LEN) setA(); else setX(); break; }
      case F_IMM: { constI(k); if (code == LD_IMM) setA(); else setX(); break; }
      case F_MEM_LOAD: {
        byte(0x20); uleb(L_M + (k & 15));
        if (code == LD_MEM) setA(); else setX();
        break;
      }
      case F_MEM_STORE: {
        if (code == ST) getA(); else getX();
        byte(0x21); uleb(L_M + (k & 15));
        break;
      }
      case F_ALU_K: case F_ALU_DIV_K: case F_ALU_SHIFT_K: {
        getA();
        constI(k);
        if (code == ALU_ADD_K) byte(0x6a);
        else if (code == ALU_SUB_K) byte(0x6b);
        else if (code == ALU_MUL_K) byte(0x6c);
        else if (code == ALU_DIV_K) byte(0x6e); // div_u (k != 0 by the check)
        else if (code == ALU_OR_K) byte(0x72);
        else if (code == ALU_AND_K) byte(0x71);
        else if (code == ALU_LSH_K) byte(0x74);
        else if (code == ALU_RSH_K) byte(0x76);
        else byte(0x73); // xor
        setA();
        break;
      }
      case F_ALU_X: {
        if (code == ALU_DIV_X) {
          // X == 0: the filter returns 0.
          getX(); byte(0x45); byte(0x04); byte(0x40); constI(0); byte(0x0f); byte(0x0b);
        }
        getA();
        getX();
        if (code == ALU_ADD_X) byte(0x6a);
        else if (code == ALU_SUB_X) byte(0x6b);
        else if (code == ALU_MUL_X) byte(0x6c);
        else if (code == ALU_DIV_X) byte(0x6e);
        else if (code == ALU_OR_X) byte(0x72);
        else if (code == ALU_AND_X) byte(0x71);
        else if (code == ALU_LSH_X) byte(0x74); // count mod 32, as the kernel
        else if (code == ALU_RSH_X) byte(0x76);
        else byte(0x73);
        setA();
        break;
      }
      case F_NEG: { constI(0); getA(); byte(0x6b); setA(); break; }
      case F_MISC: {
        if (code == MISC_TAX) { getA(); setX(); } else { getX(); setA(); }
        break;
      }
      case F_JA: { if (k != 0) { byte(0x0c); uleb(k); } break; }
      case F_JCOND_K: case F_JCOND_X: {
        getA();
        if (form == F_JCOND_K) constI(k); else getX();
        if (code == JMP_JEQ_K || code == JMP_JEQ_X) byte(0x46);
        else if (code == JMP_JGT_K || code == JMP_JGT_X) byte(0x4b); // gt_u
        else if (code == JMP_JGE_K || code == JMP_JGE_X) byte(0x4f); // ge_u
        else byte(0x71); // jset: A & src, non-zero is true
        byte(0x0d); uleb(jt); // br_if jt
        if (jf != 0) { byte(0x0c); uleb(jf); }
        break;
      }
      case F_RET_K: { constI(k); byte(0x0f); break; }
      case F_RET_A: { getA(); byte(0x0f); break; }
      default: { constI(0); byte(0x0f); break; }
    }
  }
  byte(0x00); // unreachable: the last instruction is a ret
  byte(0x0b); // end of function
}

/** The body of `batch(data, n, out)`: calls eval (function 0) for each input. */
function batchBody(): void {
  uleb(0); // no extra locals
  // loop: if n == 0 return; store(out, eval(data)); data += 64; out += 4; n -= 1; br loop
  byte(0x03); byte(0x40);
  byte(0x20); uleb(1); byte(0x45); byte(0x04); byte(0x40); byte(0x0f); byte(0x0b);
  byte(0x20); uleb(2);
  byte(0x20); uleb(0); byte(0x10); uleb(0);
  byte(0x36); uleb(2); uleb(0);
  byte(0x20); uleb(0); constI(64); byte(0x6a); byte(0x21); uleb(0);
  byte(0x20); uleb(2); constI(4); byte(0x6a); byte(0x21); uleb(2);
  byte(0x20); uleb(1); constI(1); byte(0x6b); byte(0x21); uleb(1);
  byte(0x0c); uleb(0);
  byte(0x0b);
  byte(0x0b);
}

/** Writes `len` as a 5-byte padded LEB128 at `at` (sizes are patched after the fact). */
function patch5(at: u32, v: u32): void {
  for (let i: u32 = 0; i < 5; i++) {
    let b = v & 0x7f;
    v >>>= 7;
    if (i < 4) b |= 0x80;
    store<u8>(out + <usize>(at + i), <u8>b);
  }
}

function reserve5(): u32 {
  const at = pos;
  for (let i = 0; i < 5; i++) byte(0);
  return at;
}

/**
 * Compiles the checked program at `prog` into a module at `dst` (room for `room` bytes).
 * Returns the module's size, or -1 when it does not fit.
 */
export function jitCompile(prog: usize, len: u32, dst: usize, room: u32): i32 {
  out = dst;
  pos = 0;
  cap = room;
  full = false;
  // magic, version
  byte(0x00); byte(0x61); byte(0x73); byte(0x6d);
  byte(0x01); byte(0x00); byte(0x00); byte(0x00);
  // type section: 0 = (i32) -> i32, 1 = (i32, i32, i32) -> ()
  byte(0x01);
  let s = reserve5();
  let start = pos;
  uleb(2);
  byte(0x60); uleb(1); byte(0x7f); uleb(1); byte(0x7f);
  byte(0x60); uleb(3); byte(0x7f); byte(0x7f); byte(0x7f); uleb(0);
  if (full) return -1;
  patch5(s, pos - start);
  // import section: env.memory
  byte(0x02);
  s = reserve5();
  start = pos;
  uleb(1);
  uleb(3); byte(0x65); byte(0x6e); byte(0x76); // "env"
  uleb(6); byte(0x6d); byte(0x65); byte(0x6d); byte(0x6f); byte(0x72); byte(0x79); // "memory"
  byte(0x02); byte(0x00); uleb(0); // memory, min 0
  if (full) return -1;
  patch5(s, pos - start);
  // function section
  byte(0x03); uleb(3); uleb(2); uleb(0); uleb(1);
  // export section: eval = 0, batch = 1
  byte(0x07);
  s = reserve5();
  start = pos;
  uleb(2);
  uleb(4); byte(0x65); byte(0x76); byte(0x61); byte(0x6c); byte(0x00); uleb(0);
  uleb(5); byte(0x62); byte(0x61); byte(0x74); byte(0x63); byte(0x68); byte(0x00); uleb(1);
  if (full) return -1;
  patch5(s, pos - start);
  // code section
  byte(0x0a);
  const codeSize = reserve5();
  const codeStart = pos;
  uleb(2);
  const f0 = reserve5();
  const f0Start = pos;
  evalBody(prog, len);
  if (full) return -1;
  patch5(f0, pos - f0Start);
  const f1 = reserve5();
  const f1Start = pos;
  batchBody();
  if (full) return -1;
  patch5(f1, pos - f1Start);
  patch5(codeSize, pos - codeStart);
  return full ? -1 : <i32>pos;
}
