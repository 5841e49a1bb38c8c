/* `sysfence-launcher --probe`: what this kernel and this user may do, one "key value" line
 * each, for `sysfence doctor`. Every probe runs in a throw-away child. */
#include "launcher.h"
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

typedef int (*probe_fn)(void);

/* Runs fn in a child; returns 0 or the errno the child exited with. */
static int in_child(probe_fn fn) {
  pid_t p = fork();
  if (p < 0) return errno;
  if (p == 0) _exit(fn());
  int st;
  while (waitpid(p, &st, 0) < 0)
    if (errno != EINTR) return errno;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return EINTR;
}

static int p_userns(void) { return unshare(CLONE_NEWUSER) < 0 ? errno : 0; }
static int p_userns_unpriv(void) {
  if (geteuid() == 0) {
    if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) return errno;
  }
  return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
}
static int p_pidns(void) { return unshare(CLONE_NEWPID) < 0 ? errno : 0; }
static int p_mountns(void) { return unshare(CLONE_NEWNS) < 0 ? errno : 0; }

static void line(const char *key, int err) {
  if (err) printf("%s %s\n", key, errno_name(err));
  else printf("%s ok\n", key);
}

int run_probe(void) {
  line("userns_root", geteuid() == 0 ? in_child(p_userns) : EPERM);
  line("userns_unprivileged", in_child(p_userns_unpriv));
  line("userns_self", in_child(p_userns));
  line("pidns", in_child(p_pidns));
  line("mountns", in_child(p_mountns));
  int abi = landlock_abi();
  if (abi > 0) printf("landlock_abi %d\n", abi);
  else printf("landlock_abi %s\n", errno_name(-abi));
  long r = syscall(SYS_pidfd_getfd, -1, 0, 0);
  line("pidfd_getfd", r < 0 && errno == ENOSYS ? ENOSYS : 0);
  r = syscall(SYS_close_range, ~0U, ~0U, 0);
  line("close_range", r < 0 && errno == ENOSYS ? ENOSYS : 0);
  r = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0);
  line("mount_setattr", r < 0 && errno == ENOSYS ? ENOSYS : 0);
  fflush(stdout);
  return 0;
}
