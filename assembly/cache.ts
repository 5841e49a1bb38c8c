// A port of the kernel's action-cache emulator, seccomp_is_const_allow (Linux 5.11+,
// docs/kernel.md section 11): for one (arch, nr), can the program be proven to return
// exactly SECCOMP_RET_ALLOW knowing nothing but nr and arch? It understands only LD W ABS of
// nr/arch, RET K, JA, the four K-jumps and AND K; anything else means "not provable".
import {
  LD_W_ABS, RET_K, JMP_JA, JMP_JEQ_K, JMP_JGT_K, JMP_JGE_K, JMP_JSET_K, ALU_AND_K,
  ACT_ALLOW, OFF_NR, OFF_ARCH, AUDIT_ARCH_X86_64,
} from "./opcodes";
import { OPT_BYPASS_URETPROBE, OPT_BYPASS_UPROBE } from "./interp";

export function constAllow(prog: usize, len: u32, arch: u32, nr: u32, opts: u32): bool {
  // The kernel's own exception: these numbers are reported cacheable before the program is
  // looked at, on the native x86_64 ABI only.
  if (arch == AUDIT_ARCH_X86_64) {
    if ((opts & OPT_BYPASS_URETPROBE) != 0 && nr == 335) return true;
    if ((opts & OPT_BYPASS_UPROBE) != 0 && nr == 336) return true;
  }
  let reg: u32 = 0;
  for (let pc: u32 = 0; pc < len; pc++) {
    const ins = prog + (<usize>pc << 3);
    const code = load<u16>(ins);
    const k = load<u32>(ins, 4);
    switch (code) {
      case LD_W_ABS: {
        if (k == OFF_NR) reg = nr;
        else if (k == OFF_ARCH) reg = arch;
        else return false;
        break;
      }
      case RET_K: return k == ACT_ALLOW;
      case JMP_JA: { pc += k; break; }
      case JMP_JEQ_K: { pc += reg == k ? <u32>load<u8>(ins, 2) : <u32>load<u8>(ins, 3); break; }
      case JMP_JGE_K: { pc += reg >= k ? <u32>load<u8>(ins, 2) : <u32>load<u8>(ins, 3); break; }
      case JMP_JGT_K: { pc += reg > k ? <u32>load<u8>(ins, 2) : <u32>load<u8>(ins, 3); break; }
      case JMP_JSET_K: { pc += (reg & k) != 0 ? <u32>load<u8>(ins, 2) : <u32>load<u8>(ins, 3); break; }
      case ALU_AND_K: { reg &= k; break; }
      default: return false;
    }
  }
  // Running off the end: the kernel warns and counts it as not allowed.
  return false;
}

/** Writes one byte per nr in [0, count): 1 when the kernel would cache ALLOW for (arch, nr). */
export function cacheScan(prog: usize, len: u32, arch: u32, count: u32, out: usize, opts: u32): void {
  for (let nr: u32 = 0; nr < count; nr++) {
    store<u8>(out + <usize>nr, constAllow(prog, len, arch, nr, opts) ? 1 : 0);
  }
}
