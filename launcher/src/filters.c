/* The filter path: read the pinned bytes from the inherited descriptor, verify length and
 * SHA-256, install them oldest first (TSYNC; LOG/SPEC_ALLOW on request; the newest with a
 * user-notification listener in diagnose mode), resolve the program and exec it. */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

extern char **environ;
int fault_tsync; /* test hook: --fault-tsync (see main.c) */

static void hex(const uint8_t *d, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 15];
  }
  out[64] = 0;
}

void read_filters(void) {
  if (cfg.nfilters == 0) return;
  if (cfg.filter_fd < 0) fail_at(0, "filter", "--filter given without --filter-fd");
  for (int i = 0; i < cfg.nfilters; i++) {
    size_t len = cfg.filters[i].len;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) fail_at(ENOMEM, "filter", "cannot allocate %zu bytes", len);
    ssize_t got = read_full(cfg.filter_fd, buf, len);
    if (got < 0) fail_at(errno, "filter", "reading filter %d from descriptor %d", i + 1, cfg.filter_fd);
    if ((size_t)got != len)
      fail_at(0, "filter", "filter %d is truncated: the host pinned %zu bytes, the descriptor gave %zd", i + 1, len, got);
    uint8_t digest[32];
    sha256(buf, len, digest);
    if (memcmp(digest, cfg.filters[i].sha, 32) != 0) {
      char want[65], have[65];
      hex(cfg.filters[i].sha, want);
      hex(digest, have);
      fail_at(0, "filter", "filter %d does not match its pinned SHA-256 (pinned %s, received %s): refusing corrupted filter bytes",
              i + 1, want, have);
    }
    cfg.filter_bytes[i] = buf;
  }
  char extra;
  ssize_t n;
  do n = read(cfg.filter_fd, &extra, 1);
  while (n < 0 && errno == EINTR);
  if (n > 0) fail_at(0, "filter", "the descriptor holds more bytes than the %d pinned filter(s): refusing", cfg.nfilters);
  close(cfg.filter_fd);
  cfg.filter_fd = -1;
}

static void thread_name(pid_t tid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  out[0] = 0;
  if (fd < 0) return;
  ssize_t n = read(fd, out, cap - 1);
  close(fd);
  if (n < 0) n = 0;
  out[n] = 0;
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
}

/* --fault-tsync: a second thread installs a filter of its own, so the main thread's TSYNC
 * cannot synchronise it and the kernel names it. Exists only so tests can see that failure
 * reported; never used in production. */
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fault_cv = PTHREAD_COND_INITIALIZER;
static int fault_ready;
static void *fault_thread(void *arg) {
  (void)arg;
  prctl(PR_SET_NAME, "sf-fault-tsync");
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {1, &allow};
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  pthread_mutex_lock(&fault_mu);
  fault_ready = 1;
  pthread_cond_signal(&fault_cv);
  pthread_mutex_unlock(&fault_mu);
  for (;;) pause();
  return NULL;
}

static void start_fault_thread(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, fault_thread, NULL) != 0) fail_at(errno, "fault-tsync", "pthread_create");
  pthread_mutex_lock(&fault_mu);
  while (!fault_ready) pthread_cond_wait(&fault_cv, &fault_mu);
  pthread_mutex_unlock(&fault_mu);
}

void install_filters(int *listener_out) {
  if (listener_out) *listener_out = -1;
  if (cfg.nfilters == 0) return;
  if (fault_tsync) start_fault_thread();
  for (int i = 0; i < cfg.nfilters; i++) {
    unsigned long flags = 0;
    if (cfg.tsync) flags |= SECCOMP_FILTER_FLAG_TSYNC;
    if (cfg.log) flags |= SECCOMP_FILTER_FLAG_LOG;
    if (cfg.spec_allow) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    int want_listener = cfg.diag != DIAG_NONE && i == cfg.nfilters - 1 && listener_out;
    if (want_listener) {
      flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
      if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    struct sock_fprog prog = {(unsigned short)(cfg.filters[i].len / 8), (struct sock_filter *)cfg.filter_bytes[i]};
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc > 0 && (flags & SECCOMP_FILTER_FLAG_TSYNC) && !want_listener) {
      char name[64];
      thread_name((pid_t)rc, name, sizeof name);
      fail_at(0, "seccomp", "filter %d: TSYNC failed: thread %ld (%s) of the launcher cannot be synchronised to the new filter "
              "(it runs a filter that is not an ancestor of this one)", i + 1, rc, name[0] ? name : "?");
    }
    if (rc < 0) {
      int e = errno;
      const char *hint = e == EACCES ? " (needs no_new_privs or CAP_SYS_ADMIN)"
                       : e == EINVAL ? " (program or flags refused by this kernel)"
                       : e == ENOMEM ? " (over the kernel's 32768-instruction total for stacked filters)"
                       : e == ESRCH ? " (TSYNC failed for a thread of the launcher)"
                       : e == EBUSY ? " (a filter with a listener is already installed)" : "";
      fail_at(e, "seccomp", "installing filter %d of %d (%zu instructions)%s", i + 1, cfg.nfilters, cfg.filters[i].len / 8, hint);
    }
    if (want_listener) *listener_out = (int)rc;
    free(cfg.filter_bytes[i]);
    cfg.filter_bytes[i] = NULL;
  }
}

/* Finds the program like execvp would, before any filter is installed, so a missing binary is
 * reported as ENOENT with its path instead of dying under the filter. */
int resolve_program(void) {
  const char *name = cfg.argv[0];
  struct stat st;
  if (strchr(name, '/')) {
    if (strlen(name) >= sizeof cfg.exec_path) fail_code(EXIT_NOENT, ENAMETOOLONG, "exec", "%s", name);
    strcpy(cfg.exec_path, name);
    if (stat(name, &st) < 0) {
      int e = errno;
      fail_code(e == ENOENT || e == ENOTDIR ? EXIT_NOENT : EXIT_NOEXEC, e, "exec", "%s", name);
    }
    if (S_ISDIR(st.st_mode)) fail_code(EXIT_NOEXEC, EACCES, "exec", "%s: is a directory", name);
    if (access(name, X_OK) < 0) fail_code(EXIT_NOEXEC, errno, "exec", "%s: not executable", name);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int saw_eacces = 0;
  const char *p = path;
  while (*p) {
    const char *colon = strchr(p, ':');
    size_t dl = colon ? (size_t)(colon - p) : strlen(p);
    char cand[4096];
    if (dl == 0) snprintf(cand, sizeof cand, "./%s", name);
    else snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, p, name);
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(cand, X_OK) == 0) {
        snprintf(cfg.exec_path, sizeof cfg.exec_path, "%s", cand);
        return 0;
      }
      saw_eacces = 1;
    }
    p += dl;
    if (*p == ':') p++;
  }
  if (saw_eacces) fail_code(EXIT_NOEXEC, EACCES, "exec", "%s: found in PATH but not executable", name);
  fail_code(EXIT_NOENT, ENOENT, "exec", "%s (searched PATH=%s)", name, path);
}

void exec_program(void) {
  execve(cfg.exec_path, cfg.argv, environ);
  int e = errno;
  fail_code(e == ENOENT ? EXIT_NOENT : EXIT_NOEXEC, e, "exec", "%s: execve failed after the filter was installed", cfg.exec_path);
}
