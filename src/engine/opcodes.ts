// The host's view of the engine's opcode table (assembly/opcodes.ts), read out of the Wasm
// module once. The disassembler and assembler use this; no opcode value is spelled here.
import { engine } from "./wasm.js";
import type { Insn } from "./program.js";

/** Operand forms, mirroring assembly/opcodes.ts F_* values. */
export const Form = {
  NONE: 0, LD_ABS: 1, LEN: 2, IMM: 3, MEM_LOAD: 4, MEM_STORE: 5, ALU_K: 6, ALU_DIV_K: 7,
  ALU_SHIFT_K: 8, ALU_X: 9, NEG: 10, MISC: 11, JA: 12, JCOND_K: 13, JCOND_X: 14, RET_K: 15,
  RET_A: 16,
} as const;
export type Form = (typeof Form)[keyof typeof Form];

export interface OpcodeInfo {
  code: number;
  mnemonic: string;
  form: Form;
}

let table: { byCode: Map<number, OpcodeInfo>; all: OpcodeInfo[] } | undefined;

function load(): NonNullable<typeof table> {
  if (table) return table;
  const e = engine();
  const names = e.__getString(e.opcodeMnemonics()).split(" ");
  const n = e.opcodeTableLen();
  const rows = new Uint32Array(e.memory.buffer, e.opcodeTablePtr(), n);
  const all: OpcodeInfo[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    all.push({ code: r & 0xffff, mnemonic: names[(r >>> 16) & 0xff], form: (r >>> 24) as Form });
  }
  table = { byCode: new Map(all.map((o) => [o.code, o])), all };
  return table;
}

/** The 41 accepted opcodes. */
export function opcodes(): readonly OpcodeInfo[] {
  return load().all;
}

/** Info for an accepted code; undefined for anything the kernel refuses. */
export function opcodeInfo(code: number): OpcodeInfo | undefined {
  return load().byCode.get(code);
}

/** Finds the code for a mnemonic and form (e.g. "jeq" + JCOND_X). */
export function findOpcode(mnemonic: string, form: Form): OpcodeInfo | undefined {
  return load().all.find((o) => o.mnemonic === mnemonic && o.form === form);
}

export function isJump(form: Form): boolean {
  return form === Form.JA || form === Form.JCOND_K || form === Form.JCOND_X;
}

/** How control leaves an instruction: fall through, an unconditional jump, or a branch. */
export type EdgeKind = "next" | "jump" | "true" | "false";

/**
 * Where control goes after `ins` at `pc` (absolute targets; empty for returns). Jumps only go
 * forward, which is what lets graphs, paths and walks visit instructions in order.
 */
export function successors(ins: Insn, pc: number): { to: number; kind: EdgeKind }[] {
  const info = opcodeInfo(ins.code);
  if (!info) return [];
  switch (info.form) {
    case Form.RET_K:
    case Form.RET_A:
      return [];
    case Form.JA:
      return [{ to: pc + 1 + (ins.k >>> 0), kind: "jump" }];
    case Form.JCOND_K:
    case Form.JCOND_X:
      return [
        { to: pc + 1 + ins.jt, kind: "true" },
        { to: pc + 1 + ins.jf, kind: "false" },
      ];
    default:
      return [{ to: pc + 1, kind: "next" }];
  }
}
