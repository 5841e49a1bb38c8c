// The kernel's acceptance check (run in the engine, assembly/check.ts), with the engine's error
// codes turned into sentences a person understands.
import { engine, Region } from "./wasm.js";
import { InternalError } from "../errors.js";
import type { Program } from "./program.js";
import * as C from "./contract.generated.js";

export interface CheckError {
  /** Instruction index, or -1 for errors about the whole program (its length). */
  index: number;
  /** Machine-readable kind. */
  kind: CheckErrorKind;
  /** A sentence for a person. */
  reason: string;
}

export type CheckErrorKind =
  | "empty" | "too-long" | "unknown-opcode" | "not-seccomp-opcode" | "load-offset"
  | "load-alignment" | "div-by-zero" | "shift-range" | "scratch-index" | "ja-range"
  | "jt-range" | "jf-range" | "last-not-ret" | "scratch-unwritten";

/** The engine's error codes (assembly/contract.ts E_*) by kind. */
const KINDS = new Map<number, CheckErrorKind>([
  [C.E_LEN_ZERO, "empty"], [C.E_LEN_TOO_LONG, "too-long"], [C.E_OPCODE_UNKNOWN, "unknown-opcode"],
  [C.E_OPCODE_NOT_SECCOMP, "not-seccomp-opcode"], [C.E_LD_ABS_RANGE, "load-offset"],
  [C.E_LD_ABS_ALIGN, "load-alignment"], [C.E_DIV_ZERO, "div-by-zero"],
  [C.E_SHIFT_RANGE, "shift-range"], [C.E_MEM_RANGE, "scratch-index"], [C.E_JA_RANGE, "ja-range"],
  [C.E_JT_RANGE, "jt-range"], [C.E_JF_RANGE, "jf-range"], [C.E_LAST_NOT_RET, "last-not-ret"],
  [C.E_SCRATCH_UNWRITTEN, "scratch-unwritten"],
]);

/**
 * Names of the codes classic BPF knows and seccomp refuses (the engine's CLASSIC_ONLY list,
 * assembly/opcodes.ts); test/contract.test.ts checks both name the same codes.
 */
export const CLASSIC_NAMES: Record<number, string> = {
  0x28: "ld h abs (16-bit packet load)", 0x30: "ld b abs (8-bit packet load)",
  0x40: "ld w ind (indexed load)", 0x48: "ld h ind (indexed load)", 0x50: "ld b ind (indexed load)",
  0xb1: "ldx b msh (IP header length load)", 0x94: "mod k", 0x9c: "mod x",
};

function hex(n: number, w = 2): string {
  return "0x" + (n >>> 0).toString(16).padStart(w, "0");
}

function reasonFor(kind: CheckErrorKind, detail: number, index: number, len: number): string {
  switch (kind) {
    case "empty": return "the program is empty (the kernel needs 1 to 4096 instructions)";
    case "too-long": return `the program has ${detail} instructions; the kernel accepts at most ${C.BPF_MAXINSNS}`;
    case "unknown-opcode": return `opcode ${hex(detail, 4)} is not a classic BPF instruction the kernel knows`;
    case "not-seccomp-opcode": return `opcode ${hex(detail)} (${CLASSIC_NAMES[detail] ?? "classic BPF"}) is valid classic BPF but seccomp does not allow it`;
    case "load-offset": return `load from offset ${detail} is outside seccomp_data (offsets 0..60)`;
    case "load-alignment": return `load from offset ${detail} is not 4-byte aligned (seccomp loads whole 32-bit words)`;
    case "div-by-zero": return "division by the constant 0";
    case "shift-range": return `shift by ${detail}; constant shifts must be below 32`;
    case "scratch-index": return `scratch cell M[${detail}] does not exist (cells 0..15)`;
    case "ja-range": return `ja +${detail} jumps to ${index + 1 + detail}, past the last instruction ${len - 1}`;
    case "jt-range": return `true branch +${detail} jumps to ${index + 1 + detail}, past the last instruction ${len - 1}`;
    case "jf-range": return `false branch +${detail} jumps to ${index + 1 + detail}, past the last instruction ${len - 1}`;
    case "last-not-ret": return `the last instruction (opcode ${hex(detail)}) is not a ret`;
    case "scratch-unwritten": return `M[${detail}] may be read before it is written (the kernel's linear scratch check; a ret does not reset what it knows)`;
  }
}

const out = { region: undefined as Region | undefined };
const prog = { region: undefined as Region | undefined };

/**
 * Every reason the kernel would refuse `program` as a seccomp filter, in instruction order.
 * An empty list means the kernel accepts it.
 */
export function check(program: Program): CheckError[] {
  const e = engine();
  prog.region ??= new Region(8 * C.BPF_MAXINSNS);
  out.region ??= new Region(C.CHECK_RECORD_BYTES * 256);
  const len = program.length;
  prog.region.ensure(program.bytes.length);
  if (len > 0) prog.region.u8().set(program.bytes);
  const rec = C.CHECK_RECORD_BYTES;
  let cap = out.region.byteLength / rec | 0;
  let count = e.checkProgram(prog.region.ptr, len, out.region.ptr, cap);
  if (count > cap) {
    out.region.ensure(count * rec);
    cap = out.region.byteLength / rec | 0;
    count = e.checkProgram(prog.region.ptr, len, out.region.ptr, cap);
  }
  const w = out.region.u32();
  const errors: CheckError[] = [];
  for (let i = 0; i < count; i++) {
    const index = w[i * 3] === C.CHECK_NO_INDEX ? -1 : w[i * 3];
    const kind = KINDS.get(w[i * 3 + 1]);
    if (kind === undefined) throw new InternalError(`unknown check error code ${w[i * 3 + 1]}`);
    const detail = w[i * 3 + 2];
    errors.push({ index, kind, reason: reasonFor(kind, detail, index, len) });
  }
  // Instruction order, program-level errors first; the scratch pass runs after the structural
  // one, so merge the two sequences stably.
  errors.sort((a, b) => a.index - b.index);
  return errors;
}

export function accepted(program: Program): boolean {
  return check(program).length === 0;
}
