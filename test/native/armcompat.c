/*
 * armcompat.c: a 32-bit ARM (AArch32) program for the arm compat ABI of the aarch64 guest
 * (test/kernel-cross.test.ts). Without a C library (built -nostdlib -static): it makes one
 * syscall, getppid (arm nr 64), which a filter sees with arch = AUDIT_ARCH_ARM, and then
 * exit_group(64) (arm nr 248) if the call returned. A filter compiled for aarch64 alone rejects
 * the foreign arch; the test checks the kernel's verdict against the engine's.
 */
static long sys0(long nr) {
  register long r7 __asm__("r7") = nr;
  register long r0 __asm__("r0");
  __asm__ volatile("svc 0" : "=r"(r0) : "r"(r7) : "memory");
  return r0;
}

static void __attribute__((noreturn)) exit_group(long code) {
  register long r7 __asm__("r7") = 248;
  register long r0 __asm__("r0") = code;
  for (;;) __asm__ volatile("svc 0" : : "r"(r7), "r"(r0) : "memory");
}

void __attribute__((noreturn)) _start(void) {
  sys0(64);
  exit_group(64);
}
