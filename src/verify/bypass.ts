// `--probe-bypass` for the verifier: the kernel skips every seccomp filter for the native x86_64
// uretprobe (335) and, on newer kernels, uprobe (336) syscalls (docs/kernel.md 12), so no process
// can see what a filter says for them. `run` models that in the interpreter; the verifier models
// it on the program itself: each filter gets a prefix that answers ALLOW for those numbers on
// AUDIT_ARCH_X86_64 (what the kernel does: the call runs) and otherwise enters the original
// program with A reset to 0, as the kernel starts it. Relations, diffs and stacks computed on the
// prefixed programs then report only differences a process can observe.
import { Program, type Insn } from "../engine/program.js";
import { findOpcode, Form } from "../engine/opcodes.js";
import { AUDIT_ARCH_X86_64, NR_URETPROBE, NR_UPROBE, BPF_MAXINSNS } from "../engine/contract.generated.js";
import { Action } from "../engine/actions.js";
import { InputError, InternalError } from "../errors.js";
import type { ProbeBypass } from "../engine/run.js";

export type { ProbeBypass };

/** The values `--probe-bypass` takes (as `run` takes them). */
export const PROBE_BYPASS_MODES: readonly ProbeBypass[] = ["none", "uretprobe", "uretprobe+uprobe"];

/** Parses a `--probe-bypass` value (or a spec file's `probeBypass`); `where` names it in errors. */
export function probeBypassOption(v: string | undefined, where = "--probe-bypass"): ProbeBypass {
  if (v === undefined) return "none";
  if ((PROBE_BYPASS_MODES as readonly string[]).includes(v)) return v as ProbeBypass;
  throw new InputError(`${where} takes none, uretprobe or uretprobe+uprobe, not "${v}"`);
}

/** The syscall numbers the kernel lets through on x86_64 without running a filter, per mode. */
export function bypassedNumbers(mode: ProbeBypass): number[] {
  return mode === "uretprobe" ? [NR_URETPROBE] : mode === "uretprobe+uprobe" ? [NR_URETPROBE, NR_UPROBE] : [];
}

function code(mnemonic: string, form: Form): number {
  const o = findOpcode(mnemonic, form);
  if (!o) throw new InternalError(`no ${mnemonic} opcode of form ${form} in the engine's table`);
  return o.code;
}

/**
 * `p` as the kernel runs it under `mode`: ALLOW for the bypassed numbers on AUDIT_ARCH_X86_64,
 * `p` itself (entered with A = 0) for every other input. Mode "none" returns `p` unchanged.
 *
 *   0: ld [4]                 arch
 *   1: jeq #AUDIT_ARCH_X86_64, 2, ENTER
 *   2: ld [0]                 nr
 *   3…: jeq #nr, ALLOW, next  one per bypassed number, the last one falls to ENTER
 *   ALLOW: ret #ALLOW
 *   ENTER: ld #0; then p
 */
export function withProbeBypass(p: Program, mode: ProbeBypass): Program {
  const nrs = bypassedNumbers(mode);
  if (nrs.length === 0) return p;
  const ldAbs = code("ld", Form.LD_ABS);
  const jeq = code("jeq", Form.JCOND_K);
  const ret = code("ret", Form.RET_K);
  const ldImm = code("ld", Form.IMM);
  const n = nrs.length;
  const allowAt = 3 + n; // index of ret ALLOW
  const enterAt = allowAt + 1; // index of ld #0
  const pre: Insn[] = [
    { code: ldAbs, jt: 0, jf: 0, k: 4 },
    { code: jeq, jt: 0, jf: enterAt - 2, k: AUDIT_ARCH_X86_64 },
    { code: ldAbs, jt: 0, jf: 0, k: 0 },
    ...nrs.map((nr, i) => {
      const pc = 3 + i;
      return { code: jeq, jt: allowAt - pc - 1, jf: i === n - 1 ? enterAt - pc - 1 : 0, k: nr };
    }),
    { code: ret, jt: 0, jf: 0, k: Action.ALLOW >>> 0 },
    { code: ldImm, jt: 0, jf: 0, k: 0 },
  ];
  if (pre.length + p.length > BPF_MAXINSNS) {
    throw new InputError(`--probe-bypass adds ${pre.length} instructions to a program of ${p.length}, past the ${BPF_MAXINSNS} the verifier reads`);
  }
  const bytes = new Uint8Array((pre.length + p.length) * 8);
  bytes.set(Program.fromInsns(pre).bytes, 0);
  bytes.set(p.bytes, pre.length * 8);
  return new Program(bytes);
}
