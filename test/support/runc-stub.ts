// The ENOSYS stub runc prepends to the filter libseccomp generates (runc's
// libcontainer/seccomp/patchbpf): per arch token the profile lists, numbers above the largest
// syscall number the profile names *and its libseccomp knows* get ERRNO(ENOSYS) instead of the
// profile's default, so a program probing a call newer than the runtime sees "not implemented".
// Shape (facts of runc's patcher, built here from scratch):
//   ld arch; jeq TOKEN → that token's check (one per token); otherwise ja → the filter
//   check: ld nr; [s390/s390x: nr == 0 (setup, the multiplexer) → ENOSYS];
//          x86_64 alone: nr has the x32 bit → the filter; x86_64 with x32: the x32 bit picks
//          which maximum applies; nr > max → ENOSYS; otherwise → the filter
//   ENOSYS: ret ERRNO(38)
// runc leaves the filter alone when the profile's default errno is already ENOSYS.
import { Program, type Insn } from "../../src/engine/program.js";
import { Action } from "../../src/engine/actions.js";
import type { ArchInfo } from "../../src/syscalls/arches.js";
import type { PolicyIR } from "../../src/policy/ir.js";
import { X32_BIT } from "../../src/policy/ir.js";

const LD_W_ABS = 0x20, JEQ_K = 0x15, JGT_K = 0x25, JSET_K = 0x45, JA = 0x05, RET_K = 0x06;

/** ERRNO(ENOSYS) on the generic ABIs runc's stub covers (38). */
export const RUNC_ENOSYS = (Action.ERRNO | 38) >>> 0;

/**
 * The last table number libseccomp 2.5.4 knows on the generic-numbered ABIs
 * (set_mempolicy_home_node, 450): the release runc and Docker ship with in the issue's
 * comparison. Calls above it (cachestat, fchmodat2, map_shadow_stack, futex_waitv…, mseal, the
 * *xattrat calls) are newer than that libseccomp.
 */
export const LIBSECCOMP_254_LAST = 450;

/** One ABI's maximum: numbers of `arch` above `max` (seccomp_data.nr, base included) get ENOSYS. */
export interface StubMax {
  arch: ArchInfo;
  max: number;
}

/**
 * The maxima runc computes for a compiled profile: per section, the largest number the profile
 * lists that a libseccomp knowing table numbers up to `last` (x32's legacy 512.. calls and ARM's
 * private calls are older, so known) would know.
 */
export function runcMaxima(ir: PolicyIR, last = LIBSECCOMP_254_LAST): StubMax[] {
  const out: StubMax[] = [];
  for (const sec of ir.arches) {
    const base = sec.arch.nrBase >>> 0;
    let max = -1;
    for (const s of sec.syscalls) {
      const n = (s.nr >>> 0) - base;
      const known = n <= last || (sec.arch.name === "x32" && n >= 512 && n < 0x0f0000) || s.nr >>> 0 >= 0x0f0000;
      if (known && s.nr >>> 0 > max) max = s.nr >>> 0;
    }
    if (max >= 0) out.push({ arch: sec.arch, max });
  }
  return out;
}

/** `filter` with runc's ENOSYS stub in front, for the given maxima. */
export function withRuncStub(filter: Program, maxima: StubMax[]): Program {
  // Checks are laid out after the arch dispatch; jumps are relative, so build back to front.
  const byToken = new Map<number, StubMax[]>();
  for (const m of maxima) byToken.set(m.arch.token >>> 0, [...(byToken.get(m.arch.token >>> 0) ?? []), m]);
  // Tail: [checks…] ENOSYS-ret, then the filter. Each check is a list with symbolic targets.
  type Op = { code: number; k: number; t?: "enosys" | "filter" | number; f?: "enosys" | "filter" | number };
  const checks: Op[][] = [];
  for (const [token, ms] of byToken) {
    const ops: Op[] = [{ code: LD_W_ABS, k: 0 }];
    const name = ms[0].arch.name;
    if (name === "s390x" || name === "s390") ops.push({ code: JEQ_K, k: 0, t: "enosys", f: 0 });
    const x32 = ms.find((m) => m.arch.nrBase === X32_BIT);
    const plain = ms.find((m) => m.arch.nrBase !== X32_BIT);
    if (plain && x32) {
      // jset x32 bit → x32's maximum, else x86_64's
      ops.push({ code: JSET_K, k: X32_BIT, t: 1, f: 0 });
      ops.push({ code: JGT_K, k: plain.max, t: "enosys", f: "filter" });
      ops.push({ code: JGT_K, k: x32.max, t: "enosys", f: "filter" });
    } else if (plain && token === 0xc000003e) {
      ops.push({ code: JSET_K, k: X32_BIT, t: "filter", f: 0 });
      ops.push({ code: JGT_K, k: plain.max, t: "enosys", f: "filter" });
    } else {
      ops.push({ code: JGT_K, k: (plain ?? x32)!.max, t: "enosys", f: "filter" });
    }
    checks.push(ops);
  }
  const tokens = [...byToken.keys()];
  // Layout: ld arch; jeq per token; ja filter; checks…; ret ENOSYS; filter.
  const head = 1 + tokens.length + 1;
  const starts: number[] = [];
  let pos = head;
  for (const c of checks) {
    starts.push(pos);
    pos += c.length;
  }
  const enosysAt = pos;
  const filterAt = pos + 1;
  const insns: Insn[] = [{ code: LD_W_ABS, jt: 0, jf: 0, k: 4 }];
  tokens.forEach((tok, i) => {
    const at = insns.length;
    insns.push({ code: JEQ_K, jt: starts[i] - at - 1, jf: 0, k: tok });
  });
  insns.push({ code: JA, jt: 0, jf: 0, k: filterAt - insns.length - 1 });
  const target = (at: number, t: Op["t"]): number => {
    const abs = t === "enosys" ? enosysAt : t === "filter" ? filterAt : at + 1 + (t ?? 0);
    const off = abs - at - 1;
    if (off < 0 || off > 255) throw new Error(`runc stub: jump of ${off} out of range`);
    return off;
  };
  for (const c of checks) {
    for (const op of c) {
      const at = insns.length;
      if (op.code === LD_W_ABS) insns.push({ code: op.code, jt: 0, jf: 0, k: op.k });
      else insns.push({ code: op.code, jt: target(at, op.t), jf: target(at, op.f), k: op.k >>> 0 });
    }
  }
  insns.push({ code: RET_K, jt: 0, jf: 0, k: RUNC_ENOSYS });
  const stub = Program.fromInsns(insns);
  const bytes = new Uint8Array(stub.bytes.length + filter.bytes.length);
  bytes.set(stub.bytes, 0);
  bytes.set(filter.bytes, stub.bytes.length);
  return new Program(bytes);
}
