// The kernel's acceptance check (run in the engine, assembly/check.ts), with the engine's error
// codes turned into sentences a person understands.
import { engine, Region } from "./wasm.js";
import type { Program } from "./program.js";

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

const KINDS: CheckErrorKind[] = [
  "empty", "empty", "too-long", "unknown-opcode", "not-seccomp-opcode", "load-offset",
  "load-alignment", "div-by-zero", "shift-range", "scratch-index", "ja-range", "jt-range",
  "jf-range", "last-not-ret", "scratch-unwritten",
];

const CLASSIC_NAMES: Record<number, string> = {
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
    case "too-long": return `the program has ${detail} instructions; the kernel accepts at most 4096`;
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
  prog.region ??= new Region(8 * 4096);
  out.region ??= new Region(12 * 256);
  const len = program.length;
  prog.region.ensure(program.bytes.length);
  if (len > 0) prog.region.u8().set(program.bytes);
  let cap = out.region.byteLength / 12 | 0;
  let count = e.checkProgram(prog.region.ptr, len, out.region.ptr, cap);
  if (count > cap) {
    out.region.ensure(count * 12);
    cap = out.region.byteLength / 12 | 0;
    count = e.checkProgram(prog.region.ptr, len, out.region.ptr, cap);
  }
  const w = out.region.u32();
  const errors: CheckError[] = [];
  for (let i = 0; i < count; i++) {
    const index = w[i * 3] === 0xffffffff ? -1 : w[i * 3];
    const kind = KINDS[w[i * 3 + 1]];
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
