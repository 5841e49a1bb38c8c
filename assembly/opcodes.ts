// The one opcode table of sysfence.
//
// Every part of the engine (checker, interpreter, action-cache emulator, JIT, compiler and
// symbolic engine) names opcodes through the constants below, and the host
// reads the same table out of the Wasm module at load time for its disassembler and assembler
// (src/engine/opcodes.ts). Nothing else in the project spells an opcode value.
//
// The 41 codes are exactly those the kernel accepts for a seccomp filter: the intersection of
// classic BPF's instruction table (net/core/filter.c chk_code_allowed) and seccomp's allow-list
// (seccomp_check_filter). See docs/kernel.md sections 7 and 8.

// ---- code values -------------------------------------------------------------------------
export const LD_W_ABS: u16 = 0x20;
export const LD_W_LEN: u16 = 0x80;
export const LDX_W_LEN: u16 = 0x81;
export const LD_IMM: u16 = 0x00;
export const LDX_IMM: u16 = 0x01;
export const LD_MEM: u16 = 0x60;
export const LDX_MEM: u16 = 0x61;
export const ST: u16 = 0x02;
export const STX: u16 = 0x03;
export const ALU_ADD_K: u16 = 0x04;
export const ALU_SUB_K: u16 = 0x14;
export const ALU_MUL_K: u16 = 0x24;
export const ALU_DIV_K: u16 = 0x34;
export const ALU_OR_K: u16 = 0x44;
export const ALU_AND_K: u16 = 0x54;
export const ALU_LSH_K: u16 = 0x64;
export const ALU_RSH_K: u16 = 0x74;
export const ALU_XOR_K: u16 = 0xa4;
export const ALU_ADD_X: u16 = 0x0c;
export const ALU_SUB_X: u16 = 0x1c;
export const ALU_MUL_X: u16 = 0x2c;
export const ALU_DIV_X: u16 = 0x3c;
export const ALU_OR_X: u16 = 0x4c;
export const ALU_AND_X: u16 = 0x5c;
export const ALU_LSH_X: u16 = 0x6c;
export const ALU_RSH_X: u16 = 0x7c;
export const ALU_XOR_X: u16 = 0xac;
export const ALU_NEG: u16 = 0x84;
export const MISC_TAX: u16 = 0x07;
export const MISC_TXA: u16 = 0x87;
export const JMP_JA: u16 = 0x05;
export const JMP_JEQ_K: u16 = 0x15;
export const JMP_JGT_K: u16 = 0x25;
export const JMP_JGE_K: u16 = 0x35;
export const JMP_JSET_K: u16 = 0x45;
export const JMP_JEQ_X: u16 = 0x1d;
export const JMP_JGT_X: u16 = 0x2d;
export const JMP_JGE_X: u16 = 0x3d;
export const JMP_JSET_X: u16 = 0x4d;
export const RET_K: u16 = 0x06;
export const RET_A: u16 = 0x16;

// ---- operand forms, actions, seccomp_data offsets and limits ------------------------------
// Defined in the engine <-> host contract (contract.ts) and re-exported here, so the engine
// names every opcode-related number through this module.
export {
  F_NONE, F_LD_ABS, F_LEN, F_IMM, F_MEM_LOAD, F_MEM_STORE, F_ALU_K, F_ALU_DIV_K, F_ALU_SHIFT_K,
  F_ALU_X, F_NEG, F_MISC, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A,
  RET_ACTION_FULL, RET_DATA, ACT_KILL_PROCESS, ACT_KILL_THREAD, ACT_TRAP, ACT_ERRNO,
  ACT_USER_NOTIF, ACT_TRACE, ACT_LOG, ACT_ALLOW,
  DATA_SIZE, OFF_NR, OFF_ARCH, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, BPF_MAXINSNS, BPF_MEMWORDS,
} from "./contract";
import {
  F_NONE, F_LD_ABS, F_LEN, F_IMM, F_MEM_LOAD, F_MEM_STORE, F_ALU_K, F_ALU_DIV_K, F_ALU_SHIFT_K,
  F_ALU_X, F_NEG, F_MISC, F_JA, F_JCOND_K, F_JCOND_X, F_RET_K, F_RET_A,
} from "./contract";

// ---- mnemonics ---------------------------------------------------------------------------
// Index into MNEMONICS (space separated), so the host can print and parse the same words.
export const MNEMONICS: string =
  "ld ldx st stx add sub mul div or and lsh rsh xor neg tax txa ja jeq jgt jge jset ret";
const M_LD: u32 = 0, M_LDX: u32 = 1, M_ST: u32 = 2, M_STX: u32 = 3, M_ADD: u32 = 4,
  M_SUB: u32 = 5, M_MUL: u32 = 6, M_DIV: u32 = 7, M_OR: u32 = 8, M_AND: u32 = 9,
  M_LSH: u32 = 10, M_RSH: u32 = 11, M_XOR: u32 = 12, M_NEG: u32 = 13, M_TAX: u32 = 14,
  M_TXA: u32 = 15, M_JA: u32 = 16, M_JEQ: u32 = 17, M_JGT: u32 = 18, M_JGE: u32 = 19,
  M_JSET: u32 = 20, M_RET: u32 = 21;

// ---- dense indices ------------------------------------------------------------------------
// The interpreter dispatches on a dense index 1..41 (one br_table instead of a compare chain
// over the sparse codes); each row below carries its opcode's index.
export const D_LD_W_ABS: u32 = 1;
export const D_LD_W_LEN: u32 = 2;
export const D_LDX_W_LEN: u32 = 3;
export const D_LD_IMM: u32 = 4;
export const D_LDX_IMM: u32 = 5;
export const D_LD_MEM: u32 = 6;
export const D_LDX_MEM: u32 = 7;
export const D_ST: u32 = 8;
export const D_STX: u32 = 9;
export const D_ALU_ADD_K: u32 = 10;
export const D_ALU_SUB_K: u32 = 11;
export const D_ALU_MUL_K: u32 = 12;
export const D_ALU_DIV_K: u32 = 13;
export const D_ALU_OR_K: u32 = 14;
export const D_ALU_AND_K: u32 = 15;
export const D_ALU_LSH_K: u32 = 16;
export const D_ALU_RSH_K: u32 = 17;
export const D_ALU_XOR_K: u32 = 18;
export const D_ALU_ADD_X: u32 = 19;
export const D_ALU_SUB_X: u32 = 20;
export const D_ALU_MUL_X: u32 = 21;
export const D_ALU_DIV_X: u32 = 22;
export const D_ALU_OR_X: u32 = 23;
export const D_ALU_AND_X: u32 = 24;
export const D_ALU_LSH_X: u32 = 25;
export const D_ALU_RSH_X: u32 = 26;
export const D_ALU_XOR_X: u32 = 27;
export const D_ALU_NEG: u32 = 28;
export const D_MISC_TAX: u32 = 29;
export const D_MISC_TXA: u32 = 30;
export const D_JMP_JA: u32 = 31;
export const D_JMP_JEQ_K: u32 = 32;
export const D_JMP_JGT_K: u32 = 33;
export const D_JMP_JGE_K: u32 = 34;
export const D_JMP_JSET_K: u32 = 35;
export const D_JMP_JEQ_X: u32 = 36;
export const D_JMP_JGT_X: u32 = 37;
export const D_JMP_JGE_X: u32 = 38;
export const D_JMP_JSET_X: u32 = 39;
export const D_RET_K: u32 = 40;
export const D_RET_A: u32 = 41;

// @ts-ignore: decorator
@inline function row(dense: u32, code: u16, mnemonic: u32, form: u8): u32 {
  return (<u32>code) | (dense << 8) | (mnemonic << 16) | ((<u32>form) << 24);
}

/** The dense index stored in a table row. */
// @ts-ignore: decorator
@inline export function denseOf(row: u32): u32 {
  return (row >>> 8) & 0xff;
}

/**
 * The table: one u32 per accepted code: code | dense index << 8 | mnemonic << 16 | form << 24
 * (every accepted code is below 256).
 */
export const OPCODE_TABLE: StaticArray<u32> = [
  row(D_LD_W_ABS, LD_W_ABS, M_LD, F_LD_ABS),
  row(D_LD_W_LEN, LD_W_LEN, M_LD, F_LEN),
  row(D_LDX_W_LEN, LDX_W_LEN, M_LDX, F_LEN),
  row(D_LD_IMM, LD_IMM, M_LD, F_IMM),
  row(D_LDX_IMM, LDX_IMM, M_LDX, F_IMM),
  row(D_LD_MEM, LD_MEM, M_LD, F_MEM_LOAD),
  row(D_LDX_MEM, LDX_MEM, M_LDX, F_MEM_LOAD),
  row(D_ST, ST, M_ST, F_MEM_STORE),
  row(D_STX, STX, M_STX, F_MEM_STORE),
  row(D_ALU_ADD_K, ALU_ADD_K, M_ADD, F_ALU_K),
  row(D_ALU_SUB_K, ALU_SUB_K, M_SUB, F_ALU_K),
  row(D_ALU_MUL_K, ALU_MUL_K, M_MUL, F_ALU_K),
  row(D_ALU_DIV_K, ALU_DIV_K, M_DIV, F_ALU_DIV_K),
  row(D_ALU_OR_K, ALU_OR_K, M_OR, F_ALU_K),
  row(D_ALU_AND_K, ALU_AND_K, M_AND, F_ALU_K),
  row(D_ALU_LSH_K, ALU_LSH_K, M_LSH, F_ALU_SHIFT_K),
  row(D_ALU_RSH_K, ALU_RSH_K, M_RSH, F_ALU_SHIFT_K),
  row(D_ALU_XOR_K, ALU_XOR_K, M_XOR, F_ALU_K),
  row(D_ALU_ADD_X, ALU_ADD_X, M_ADD, F_ALU_X),
  row(D_ALU_SUB_X, ALU_SUB_X, M_SUB, F_ALU_X),
  row(D_ALU_MUL_X, ALU_MUL_X, M_MUL, F_ALU_X),
  row(D_ALU_DIV_X, ALU_DIV_X, M_DIV, F_ALU_X),
  row(D_ALU_OR_X, ALU_OR_X, M_OR, F_ALU_X),
  row(D_ALU_AND_X, ALU_AND_X, M_AND, F_ALU_X),
  row(D_ALU_LSH_X, ALU_LSH_X, M_LSH, F_ALU_X),
  row(D_ALU_RSH_X, ALU_RSH_X, M_RSH, F_ALU_X),
  row(D_ALU_XOR_X, ALU_XOR_X, M_XOR, F_ALU_X),
  row(D_ALU_NEG, ALU_NEG, M_NEG, F_NEG),
  row(D_MISC_TAX, MISC_TAX, M_TAX, F_MISC),
  row(D_MISC_TXA, MISC_TXA, M_TXA, F_MISC),
  row(D_JMP_JA, JMP_JA, M_JA, F_JA),
  row(D_JMP_JEQ_K, JMP_JEQ_K, M_JEQ, F_JCOND_K),
  row(D_JMP_JGT_K, JMP_JGT_K, M_JGT, F_JCOND_K),
  row(D_JMP_JGE_K, JMP_JGE_K, M_JGE, F_JCOND_K),
  row(D_JMP_JSET_K, JMP_JSET_K, M_JSET, F_JCOND_K),
  row(D_JMP_JEQ_X, JMP_JEQ_X, M_JEQ, F_JCOND_X),
  row(D_JMP_JGT_X, JMP_JGT_X, M_JGT, F_JCOND_X),
  row(D_JMP_JGE_X, JMP_JGE_X, M_JGE, F_JCOND_X),
  row(D_JMP_JSET_X, JMP_JSET_X, M_JSET, F_JCOND_X),
  row(D_RET_K, RET_K, M_RET, F_RET_K),
  row(D_RET_A, RET_A, M_RET, F_RET_A),
];

/**
 * Codes that classic BPF knows but seccomp refuses (socket-filter loads, MOD, LDX MSH).
 * Kept only so the checker can say "valid classic BPF, not allowed in seccomp" rather than
 * "unknown opcode".
 */
export const CLASSIC_ONLY: StaticArray<u16> = [
  0x28, // ld h abs
  0x30, // ld b abs
  0x40, // ld w ind
  0x48, // ld h ind
  0x50, // ld b ind
  0xb1, // ldx b msh
  0x94, // mod k
  0x9c, // mod x
];

/** form by code, for codes < 256; every accepted code is below 256. */
const FORM_BY_CODE = new StaticArray<u8>(256);
let formInit = false;

export function formOf(code: u32): u8 {
  if (!formInit) {
    for (let i = 0; i < OPCODE_TABLE.length; i++) {
      const r = unchecked(OPCODE_TABLE[i]);
      unchecked(FORM_BY_CODE[r & 0xff] = <u8>(r >>> 24));
    }
    formInit = true;
  }
  if (code >= 256) return F_NONE;
  return unchecked(FORM_BY_CODE[code]);
}

export function isClassicOnly(code: u32): bool {
  for (let i = 0; i < CLASSIC_ONLY.length; i++) {
    if (<u32>unchecked(CLASSIC_ONLY[i]) == code) return true;
  }
  return false;
}
