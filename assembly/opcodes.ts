// The one opcode table of sysfence.
//
// Every part of the engine (checker, interpreter, action-cache emulator, and later the
// compiler and the symbolic verifier) names opcodes through the constants below, and the host
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

// ---- operand forms -----------------------------------------------------------------------
// The form says how k (and jt/jf) are read, which load-time rule applies, and how the
// disassembler prints the operand. 0 means "not an accepted seccomp opcode".
export const F_NONE: u8 = 0;
export const F_LD_ABS: u8 = 1; // k: data offset, k < 64 and k % 4 == 0
export const F_LEN: u8 = 2; // no operand; loads 64
export const F_IMM: u8 = 3; // k: immediate
export const F_MEM_LOAD: u8 = 4; // k: scratch cell < 16, must be written before
export const F_MEM_STORE: u8 = 5; // k: scratch cell < 16
export const F_ALU_K: u8 = 6; // k: immediate
export const F_ALU_DIV_K: u8 = 7; // k: immediate, k != 0
export const F_ALU_SHIFT_K: u8 = 8; // k: immediate, k < 32
export const F_ALU_X: u8 = 9; // source X
export const F_NEG: u8 = 10; // no operand
export const F_MISC: u8 = 11; // no operand (tax, txa)
export const F_JA: u8 = 12; // k: relative offset
export const F_JCOND_K: u8 = 13; // k: immediate, jt/jf: relative offsets
export const F_JCOND_X: u8 = 14; // source X, jt/jf: relative offsets
export const F_RET_K: u8 = 15; // k: return value
export const F_RET_A: u8 = 16; // returns A

// ---- mnemonics ---------------------------------------------------------------------------
// Index into MNEMONICS (space separated), so the host can print and parse the same words.
export const MNEMONICS: string =
  "ld ldx st stx add sub mul div or and lsh rsh xor neg tax txa ja jeq jgt jge jset ret";
const M_LD: u32 = 0, M_LDX: u32 = 1, M_ST: u32 = 2, M_STX: u32 = 3, M_ADD: u32 = 4,
  M_SUB: u32 = 5, M_MUL: u32 = 6, M_DIV: u32 = 7, M_OR: u32 = 8, M_AND: u32 = 9,
  M_LSH: u32 = 10, M_RSH: u32 = 11, M_XOR: u32 = 12, M_NEG: u32 = 13, M_TAX: u32 = 14,
  M_TXA: u32 = 15, M_JA: u32 = 16, M_JEQ: u32 = 17, M_JGT: u32 = 18, M_JGE: u32 = 19,
  M_JSET: u32 = 20, M_RET: u32 = 21;

// @ts-ignore: decorator
@inline function row(code: u16, mnemonic: u32, form: u8): u32 {
  return (<u32>code) | (mnemonic << 16) | ((<u32>form) << 24);
}

/** The table: one u32 per accepted code: code | mnemonic << 16 | form << 24. */
export const OPCODE_TABLE: StaticArray<u32> = [
  row(LD_W_ABS, M_LD, F_LD_ABS),
  row(LD_W_LEN, M_LD, F_LEN),
  row(LDX_W_LEN, M_LDX, F_LEN),
  row(LD_IMM, M_LD, F_IMM),
  row(LDX_IMM, M_LDX, F_IMM),
  row(LD_MEM, M_LD, F_MEM_LOAD),
  row(LDX_MEM, M_LDX, F_MEM_LOAD),
  row(ST, M_ST, F_MEM_STORE),
  row(STX, M_STX, F_MEM_STORE),
  row(ALU_ADD_K, M_ADD, F_ALU_K),
  row(ALU_SUB_K, M_SUB, F_ALU_K),
  row(ALU_MUL_K, M_MUL, F_ALU_K),
  row(ALU_DIV_K, M_DIV, F_ALU_DIV_K),
  row(ALU_OR_K, M_OR, F_ALU_K),
  row(ALU_AND_K, M_AND, F_ALU_K),
  row(ALU_LSH_K, M_LSH, F_ALU_SHIFT_K),
  row(ALU_RSH_K, M_RSH, F_ALU_SHIFT_K),
  row(ALU_XOR_K, M_XOR, F_ALU_K),
  row(ALU_ADD_X, M_ADD, F_ALU_X),
  row(ALU_SUB_X, M_SUB, F_ALU_X),
  row(ALU_MUL_X, M_MUL, F_ALU_X),
  row(ALU_DIV_X, M_DIV, F_ALU_X),
  row(ALU_OR_X, M_OR, F_ALU_X),
  row(ALU_AND_X, M_AND, F_ALU_X),
  row(ALU_LSH_X, M_LSH, F_ALU_X),
  row(ALU_RSH_X, M_RSH, F_ALU_X),
  row(ALU_XOR_X, M_XOR, F_ALU_X),
  row(ALU_NEG, M_NEG, F_NEG),
  row(MISC_TAX, M_TAX, F_MISC),
  row(MISC_TXA, M_TXA, F_MISC),
  row(JMP_JA, M_JA, F_JA),
  row(JMP_JEQ_K, M_JEQ, F_JCOND_K),
  row(JMP_JGT_K, M_JGT, F_JCOND_K),
  row(JMP_JGE_K, M_JGE, F_JCOND_K),
  row(JMP_JSET_K, M_JSET, F_JCOND_K),
  row(JMP_JEQ_X, M_JEQ, F_JCOND_X),
  row(JMP_JGT_X, M_JGT, F_JCOND_X),
  row(JMP_JGE_X, M_JGE, F_JCOND_X),
  row(JMP_JSET_X, M_JSET, F_JCOND_X),
  row(RET_K, M_RET, F_RET_K),
  row(RET_A, M_RET, F_RET_A),
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
      unchecked(FORM_BY_CODE[r & 0xffff] = <u8>(r >>> 24));
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

// ---- return values -----------------------------------------------------------------------
export const RET_ACTION_FULL: u32 = 0xffff0000;
export const RET_DATA: u32 = 0x0000ffff;
export const ACT_KILL_PROCESS: u32 = 0x80000000;
export const ACT_KILL_THREAD: u32 = 0x00000000;
export const ACT_TRAP: u32 = 0x00030000;
export const ACT_ERRNO: u32 = 0x00050000;
export const ACT_USER_NOTIF: u32 = 0x7fc00000;
export const ACT_TRACE: u32 = 0x7ff00000;
export const ACT_LOG: u32 = 0x7ffc0000;
export const ACT_ALLOW: u32 = 0x7fff0000;

// ---- seccomp_data ------------------------------------------------------------------------
export const DATA_SIZE: u32 = 64; // bytes; 16 32-bit words
export const OFF_NR: u32 = 0;
export const OFF_ARCH: u32 = 4;
export const AUDIT_ARCH_X86_64: u32 = 0xc000003e;
export const BPF_MAXINSNS: u32 = 4096;
export const BPF_MEMWORDS: u32 = 16;
