// A seccomp program on the host side: the canonical little-endian `struct sock_filter` bytes
// the engine runs. Containers (src/formats/) convert to and from their own layouts (big-endian
// raw files, bincode, C arrays, JSON); this class never changes byte order itself.
import { InputError } from "../errors.js";

/** One instruction, decoded. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export class Program {
  /** Canonical bytes: 8 per instruction, code u16 LE, jt u8, jf u8, k u32 LE. */
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    if (bytes.length % 8 !== 0) {
      throw new InputError(`program size ${bytes.length} is not a multiple of 8 bytes`);
    }
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static fromInsns(insns: readonly Insn[]): Program {
    const bytes = new Uint8Array(insns.length * 8);
    const v = new DataView(bytes.buffer);
    insns.forEach((ins, i) => {
      v.setUint16(i * 8, ins.code, true);
      v.setUint8(i * 8 + 2, ins.jt);
      v.setUint8(i * 8 + 3, ins.jf);
      v.setUint32(i * 8 + 4, ins.k >>> 0, true);
    });
    return new Program(bytes);
  }

  get length(): number {
    return this.bytes.length >>> 3;
  }

  insn(i: number): Insn {
    const o = i * 8;
    return {
      code: this.view.getUint16(o, true),
      jt: this.view.getUint8(o + 2),
      jf: this.view.getUint8(o + 3),
      k: this.view.getUint32(o + 4, true),
    };
  }

  insns(): Insn[] {
    const out: Insn[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.insn(i));
    return out;
  }

  equals(other: Program): boolean {
    if (other.bytes.length !== this.bytes.length) return false;
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] !== other.bytes[i]) return false;
    return true;
  }
}
