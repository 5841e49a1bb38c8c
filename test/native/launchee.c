/*
 * launchee.c: the static program the native launcher execs in the aarch64 guest
 * (test/kernel-cross.test.ts, "the launcher on aarch64"). It makes the calls the test's stacked
 * filters decide and says what it saw, so the host can compare with the engine's evaluateStack:
 *
 *   launchee calls EXIT    getppid, getuid, geteuid, getpid (raw syscalls, no libc caching):
 *                          prints "NAME RESULT" per call (RESULT = -errno or "ok"), exits EXIT
 *   launchee kill          mbind(0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666): a call the
 *                          newest filter kills; if it returns, prints that and exits 99
 *   launchee trap          getgid under a SIGSYS handler: a call an older phase traps; the
 *                          handler prints "sigsys nr N arch A errno E" and exits 77
 *
 * Output is written with write(2) only (nothing buffered is lost when a kill ends the process).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static void say(const char *s) {
  ssize_t r = write(1, s, strlen(s));
  (void)r;
}

static void report(const char *name, long r) {
  char line[96];
  if (r < 0) snprintf(line, sizeof line, "%s -%d\n", name, errno);
  else snprintf(line, sizeof line, "%s ok\n", name);
  say(line);
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
  char line[128];
  (void)sig;
  (void)ctx;
  snprintf(line, sizeof line, "sigsys nr %d arch %x errno %d\n", si->si_syscall, si->si_arch, si->si_errno);
  say(line);
  _exit(77);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "calls")) {
    report("getppid", syscall(SYS_getppid));
    report("getuid", syscall(SYS_getuid));
    report("geteuid", syscall(SYS_geteuid));
    report("getpid", syscall(SYS_getpid));
    return atoi(argv[2]);
  }
  if (argc >= 2 && !strcmp(argv[1], "kill")) {
    long r = syscall(SYS_mbind, 0x1111L, 0x2222L, 0x3333L, 0x4444L, 0x5555L, 0x6666L);
    report("mbind returned", r);
    return 99;
  }
  if (argc >= 2 && !strcmp(argv[1], "trap")) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    report("getgid returned", syscall(SYS_getgid));
    return 98;
  }
  say("usage: launchee calls EXIT | kill | trap\n");
  return 2;
}
