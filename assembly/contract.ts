// The engine <-> host contract: every number both sides must agree on, written once.
//
// The engine (assembly/) imports these constants; the host reads them from
// src/engine/contract.generated.ts, which scripts/gen-contract.mjs writes from this file (run
// `npm run gen:contract` after an edit and commit both). test/contract.test.ts fails when the
// generated file is stale or when a value differs from the one the built module exports (the
// engine exports every constant below as a global, assembly/index.ts).
//
// Format, so the generator can read it: one `export const NAME: TYPE = VALUE;` per line, TYPE
// one of u8 u16 u32 i32, VALUE an integer literal or `1 << n`; a trailing `//` comment becomes
// the constant's doc comment on the host side. Nothing but constants lives here.

// ---- seccomp return values (docs/kernel.md sections 3-4) ----------------------------------
export const RET_ACTION_FULL: u32 = 0xffff0000; // the action bits of a return value
export const RET_DATA: u32 = 0x0000ffff; // the data bits (errno, trap/trace data)
export const ACT_KILL_PROCESS: u32 = 0x80000000;
export const ACT_KILL_THREAD: u32 = 0x00000000;
export const ACT_TRAP: u32 = 0x00030000;
export const ACT_ERRNO: u32 = 0x00050000;
export const ACT_USER_NOTIF: u32 = 0x7fc00000;
export const ACT_TRACE: u32 = 0x7ff00000;
export const ACT_LOG: u32 = 0x7ffc0000;
export const ACT_ALLOW: u32 = 0x7fff0000;

// ---- seccomp_data and kernel limits ---------------------------------------------------------
export const DATA_SIZE: u32 = 64; // bytes of struct seccomp_data: 16 32-bit words
export const OFF_NR: u32 = 0; // offset of nr
export const OFF_ARCH: u32 = 4; // offset of arch
export const AUDIT_ARCH_X86_64: u32 = 0xc000003e; // the x86_64 (and x32) arch token
export const X32_SYSCALL_BIT: u32 = 0x40000000; // set in nr by x32 syscalls (AUDIT_ARCH_X86_64)
export const BPF_MAXINSNS: u32 = 4096; // instructions per filter
export const BPF_MEMWORDS: u32 = 16; // scratch cells M[0..15]
export const MAX_INSNS_PER_PATH: u32 = 32768; // a stack's total, each filter counting +4
export const NR_URETPROBE: u32 = 335; // x86_64 uretprobe: skips every filter on 6.14+
export const NR_UPROBE: u32 = 336; // x86_64 uprobe: skips every filter on 6.17/6.18+

// ---- operand forms of the opcode table (assembly/opcodes.ts) -------------------------------
// The form says how k (and jt/jf) are read, which load-time rule applies, and how the
// disassembler prints the operand. 0 means "not an accepted seccomp opcode".
export const F_NONE: u8 = 0; // not an accepted seccomp opcode
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

// ---- check error codes (assembly/check.ts; sentences in src/engine/check.ts) ----------------
export const E_LEN_ZERO: u32 = 1; // program-level
export const E_LEN_TOO_LONG: u32 = 2; // program-level, detail = len
export const E_OPCODE_UNKNOWN: u32 = 3; // detail = code
export const E_OPCODE_NOT_SECCOMP: u32 = 4; // detail = code
export const E_LD_ABS_RANGE: u32 = 5; // detail = k
export const E_LD_ABS_ALIGN: u32 = 6; // detail = k
export const E_DIV_ZERO: u32 = 7; // constant division by 0
export const E_SHIFT_RANGE: u32 = 8; // detail = k
export const E_MEM_RANGE: u32 = 9; // detail = k
export const E_JA_RANGE: u32 = 10; // detail = k
export const E_JT_RANGE: u32 = 11; // detail = jt
export const E_JF_RANGE: u32 = 12; // detail = jf
export const E_LAST_NOT_RET: u32 = 13; // detail = code of the last instruction
export const E_SCRATCH_UNWRITTEN: u32 = 14; // detail = cell
export const CHECK_NO_INDEX: u32 = 0xffffffff; // index of a program-level error
export const CHECK_RECORD_BYTES: u32 = 12; // one error: index, code, detail (u32 each)

// ---- interpreter option bits (evalBatch, evalStack, cacheScan) -----------------------------
export const OPT_BYPASS_URETPROBE: u32 = 1; // x86_64 nr 335 skips all filters (6.14+ and stable)
export const OPT_BYPASS_UPROBE: u32 = 2; // x86_64 nr 336 skips all filters (6.17/6.18+)

// ---- policy compiler (assembly/compile.ts; encoding in src/policy/compile.ts) -------------
export const C_OK: i32 = 0; // compiled
export const C_ERR_FORMAT: i32 = -1; // the encoded IR is malformed
export const C_ERR_TOO_LONG: i32 = -2; // the program needs more than the output capacity
export const C_ERR_NODES: i32 = -3; // the compiler's node table is full
export const C_VERSION: u32 = 1; // word 0 of the encoding
export const C_FLAG_BIG_ENDIAN: u32 = 1; // word 1, bit 0: the target is big-endian
export const C_FLAG_WEIGHTS: u32 = 2; // word 1, bit 1: each group carries call-frequency weights
export const C_OP_EQ: u32 = 0; // condition operators
export const C_OP_NE: u32 = 1;
export const C_OP_LT: u32 = 2;
export const C_OP_LE: u32 = 3;
export const C_OP_GT: u32 = 4;
export const C_OP_GE: u32 = 5;
export const C_OP_MASKED_EQ: u32 = 6;

// ---- symbolic engine (assembly/sym*.ts, assembly/bdd.ts) ----------------------------------
export const LIMIT_NONE: i32 = 0; // analysis complete
export const LIMIT_NODES: i32 = 1; // BDD node budget
export const LIMIT_STATES: i32 = 2; // distinct register states
export const LIMIT_OUTCOMES: i32 = 3; // distinct return values (RET A)
export const LIMIT_VECTORS: i32 = 4; // vector pool
export const STOPPED_WITNESS: i32 = 5; // relational analysis stopped early: candidate inputs found
export const ERR_BAD_PROGRAM: i32 = -1; // the program is not one the engine analyses
export const METHOD_AUTO: i32 = 0; // backward, forward when register states explode
export const METHOD_FORWARD: i32 = 1; // path conditions
export const METHOD_BACKWARD: i32 = 2; // suffix functions
export const SYM_SLOTS: i32 = 8; // analysed programs kept per BDD space
export const MAX_OUTCOMES: i32 = 1024; // distinct return values per analysis
export const BDD_NODE_CAP: u32 = 1 << 21; // largest node budget (and the default)
export const BDD_VARS: u32 = 512; // input bits: 16 words of 32
export const BDD_FALSE: u32 = 0; // the terminal node of the empty set (no input)
export const BDD_TRUE: u32 = 1; // the terminal node of every input
