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
 * The name of a code classic BPF knows and seccomp refuses, read off the code's fields (class,
 * size, mode; ALU op and source): which codes those are is the engine's CLASSIC_ONLY list
 * (assembly/opcodes.ts), the one place they are listed. Socket filters load packet bytes
 * (`abs`, `ind`, `msh`) and may use MOD; seccomp_data is read in 32-bit words only.
 */
export function classicName(code: number): string {
  const cls = code & 0x07;
  if (cls === 0x04) {
    // ALU: op in the high nibble, source bit 0x08 (X) or K.
    const op = code & 0xf0;
    return `${op === 0x90 ? "mod" : `alu op ${hex(op)}`} ${code & 0x08 ? "x" : "k"}`;
  }
  const name = cls === 0x00 ? "ld" : cls === 0x01 ? "ldx" : `class ${cls}`;
  const size = ({ 0x00: "w", 0x08: "h", 0x10: "b" } as Record<number, string>)[code & 0x18] ?? "dw";
  const mode = code & 0xe0;
  const how = mode === 0x20 ? "abs (packet load)" : mode === 0x40 ? "ind (indexed packet load)" : mode === 0xa0 ? "msh (IP header length load)" : `mode ${hex(mode)}`;
  return `${name} ${size} ${how}`;
}

function hex(n: number, w = 2): string {
  return "0x" + (n >>> 0).toString(16).padStart(w, "0");
}

function reasonFor(kind: CheckErrorKind, detail: number, index: number, len: number): string {
  switch (kind) {
    case "empty": return "the program is empty (the kernel needs 1 to 4096 instructions)";
    case "too-long": return `the program has ${detail} instructions; the kernel accepts at most ${C.BPF_MAXINSNS}`;
    case "unknown-opcode": return `opcode ${hex(detail, 4)} is not a classic BPF instruction the kernel knows`;
    case "not-seccomp-opcode": return `opcode ${hex(detail)} (${classicName(detail)}) is valid classic BPF but seccomp does not allow it`;
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
