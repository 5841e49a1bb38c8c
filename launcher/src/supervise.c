/* Two ways to run the jailed program:
 *
 *  exec mode (default): this process sets up the jail and execs the program, so the program's
 *  pid is the pid the host spawned, and its exit status is the launcher's.
 *
 *  supervisor mode (PID namespace, or diagnose notify/permissive): this process (L) stays
 *  outside, clones the jailed side and mirrors its exit status (same code, or the same signal
 *  re-raised). With a PID namespace the clone is a minimal, non-dumpable PID 1 (Q) that forks
 *  the program's process (R), forwards signals to it, reaps everything and exits as soon as R
 *  exits (the kernel then kills whatever is left in the namespace). L forwards SIGTERM, SIGINT,
 *  SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2, escalates SIGTERM/SIGINT to SIGKILL after
 *  --stop-timeout, removes the cgroups it was given, and in diagnose mode owns the seccomp
 *  user-notification listener: R installs its newest filter with NEW_LISTENER and, without a
 *  single syscall (the filter is already active), publishes the descriptor number in shared
 *  memory and spins until L has copied it with pidfd_getfd. */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

struct shared {
  volatile int listener; /* R: descriptor number of the listener, -1 until installed */
  volatile int taken;    /* L: 1 taken, -1 failed, 0 pending */
};

extern int ctl_fd;
extern char **environ;

static int ctl[2] = {-1, -1}, qpipe[2] = {-1, -1}, syncp[2] = {-1, -1}, alive[2] = {-1, -1};
static volatile pid_t q_target = -1;

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define NFORWARDED (sizeof FORWARDED / sizeof FORWARDED[0])

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* ---- the jailed side ----------------------------------------------------------------------- */

static void inheritable_stdio_and_close_rest(void) {
  for (int fd = 0; fd <= 2; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  int keep[2] = {cfg.status_fd, ctl_fd};
  for (int i = 0; i < 2; i++)
    if (keep[i] >= 0) fcntl(keep[i], F_SETFD, FD_CLOEXEC);
  /* Close every descriptor above 2 except the two kept (which close at exec). */
  int lo = 3;
  int ks[2] = {keep[0] < keep[1] ? keep[0] : keep[1], keep[0] < keep[1] ? keep[1] : keep[0]};
  for (int i = 0; i < 2; i++) {
    if (ks[i] < lo) continue;
    if (ks[i] > lo && syscall(SYS_close_range, lo, ks[i] - 1, 0) < 0)
      for (int fd = lo; fd < ks[i]; fd++) close(fd);
    lo = ks[i] + 1;
  }
  if (syscall(SYS_close_range, lo, ~0U, 0) < 0)
    for (int fd = lo; fd < 65536; fd++) close(fd);
}

static void spin_until_taken(struct shared *sh) {
  for (unsigned long i = 0; sh->taken == 0 && i < 2000000000UL; i++) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ volatile("" ::: "memory");
#endif
  }
}

void jail_and_exec(void *shared_ptr) {
  struct shared *sh = shared_ptr;
  pid_t parent = getppid();
  if (sh) {
    /* Tells the supervisor our pid as it sees it (SCM_CREDENTIALS, translated by the kernel). */
    const char hello = 'R';
    if (send(ctl_fd, &hello, 1, 0) < 0) fail_at(errno, "supervisor", "hello");
  } else {
    join_cgroups();
    if (cfg.userns) setup_userns();
  }
  if (need_mount_setup()) setup_mounts();
  if (cfg.chdir_to) {
    if (chdir(cfg.chdir_to) < 0) fail_at(errno, "chdir", "%s", cfg.chdir_to);
  } else if (cfg.root || cfg.nbinds || cfg.dev) {
    if (chdir("/") < 0) fail_at(errno, "chdir", "/");
  }
  resolve_program();
  apply_rlimits();
  drop_credentials();
  if (cfg.clear_caps) clear_capabilities();
  if (sh) set_pdeathsig_checked(parent);
  else if (cfg.die_with_parent) set_pdeathsig_checked(cfg.parent_pid);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_at(errno, "no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
  if (cfg.landlock) apply_landlock();
  inheritable_stdio_and_close_rest();
  /* Exec mode: the jail is ready; next come the filters and the exec (EOF on the status
   * descriptor then means the exec happened, unless an error line follows). */
  if (!sh) status_line("R %d", (int)getpid());
  int listener = -1;
  install_filters(sh ? &listener : NULL);
  if (sh && listener >= 0) {
    sh->listener = listener;
    spin_until_taken(sh);
    if (sh->taken != 1) _exit(EXIT_LAUNCHER); /* L reports why and kills us anyway */
  }
  exec_program();
}

/* ---- PID 1 of the new PID namespace --------------------------------------------------------- */

static void q_forward(int sig) {
  if (q_target > 0) kill(q_target, sig);
}

static void init_process(struct shared *sh) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "sysfence-init");
  pid_t r = fork();
  if (r < 0) fail_at(errno, "pidns", "fork of the program's process");
  if (r == 0) {
    close_fd(&qpipe[1]);
    jail_and_exec(sh);
  }
  q_target = r;
  close_fd(&ctl[1]);
  ctl_fd = -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = q_forward;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < NFORWARDED; i++) sigaction(FORWARDED[i], &sa, NULL);
  for (;;) {
    int st;
    pid_t w = waitpid(-1, &st, 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(EXIT_LAUNCHER);
    }
    if (w == r) {
      ssize_t n = write(qpipe[1], &st, sizeof st);
      (void)n;
      _exit(0); /* the kernel kills whatever else is left in the namespace */
    }
  }
}

static void child_entry(struct shared *sh) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  close_fd(&ctl[0]);
  close_fd(&qpipe[0]);
  close_fd(&syncp[1]);
  close_fd(&alive[1]);
  ctl_fd = ctl[1];
  char go;
  if (read(syncp[0], &go, 1) != 1) _exit(EXIT_LAUNCHER); /* the supervisor died or failed */
  close_fd(&syncp[0]);
  if (cfg.userns) become_ns_root();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(EXIT_LAUNCHER);
  struct pollfd pf = {alive[0], POLLIN, 0};
  if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLIN))) _exit(EXIT_LAUNCHER);
  close_fd(&alive[0]);
  join_cgroups();
  if (!cfg.pidns) jail_and_exec(sh);
  init_process(sh);
}

/* ---- the supervisor ----------------------------------------------------------------------- */

static void remove_cgroup(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/cgroup.kill", dir);
  write_file(path, "1");
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n > 0) {
        buf[n] = 0;
        for (char *p = buf; *p;) {
          long pid = strtol(p, &p, 10);
          if (pid > 0) kill((pid_t)pid, SIGKILL);
          while (*p == '\n') p++;
        }
      }
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  msg("could not remove cgroup %s: %s", dir, strerror(errno));
}

static void mirror(int st) __attribute__((noreturn));
static void mirror(int st) {
  for (int i = 0; i < cfg.ncleanup; i++) remove_cgroup(cfg.cg_cleanup[i]);
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
  int sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no core file from the launcher itself */
  signal(sig, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  raise(sig);
  _exit(128 + sig);
}

static void report_notification(const struct seccomp_notif *n) {
  status_line("N %u %d 0x%08x 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx", n->pid, n->data.nr, n->data.arch,
              (unsigned long long)n->data.instruction_pointer, (unsigned long long)n->data.args[0],
              (unsigned long long)n->data.args[1], (unsigned long long)n->data.args[2],
              (unsigned long long)n->data.args[3], (unsigned long long)n->data.args[4],
              (unsigned long long)n->data.args[5]);
  if (cfg.status_fd < 0)
    msg("diagnose: pid %u would be killed by the filter: syscall %d (arch 0x%08x) args 0x%llx 0x%llx 0x%llx", n->pid,
        n->data.nr, n->data.arch, (unsigned long long)n->data.args[0], (unsigned long long)n->data.args[1],
        (unsigned long long)n->data.args[2]);
}

void run_supervised(void) {
  struct shared *sh = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) fail_at(errno, "supervisor", "mmap");
  sh->listener = -1;
  sh->taken = 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) fail_at(errno, "supervisor", "socketpair");
  int one = 1;
  setsockopt(ctl[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  if (pipe2(qpipe, O_CLOEXEC) < 0 || pipe2(syncp, O_CLOEXEC) < 0 || pipe2(alive, O_CLOEXEC) < 0)
    fail_at(errno, "supervisor", "pipe");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < NFORWARDED; i++) sigaddset(&set, FORWARDED[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) fail_at(errno, "supervisor", "signalfd");

  unsigned long flags = SIGCHLD;
  if (cfg.userns) flags |= CLONE_NEWUSER;
  if (cfg.pidns) flags |= CLONE_NEWPID;
  pid_t child = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (child < 0) {
    int e = errno;
    fail_at(e, "supervisor", "clone(%s%s)", cfg.userns ? "CLONE_NEWUSER " : "", cfg.pidns ? "CLONE_NEWPID" : "");
  }
  if (child == 0) child_entry(sh);

  close_fd(&ctl[1]);
  close_fd(&qpipe[1]);
  close_fd(&syncp[0]);
  close_fd(&alive[0]);
  if (cfg.userns) {
    int e = write_id_maps(child);
    if (e) {
      kill(child, SIGKILL);
      fail_at(e, "userns", "writing uid_map \"%s\" / gid_map \"%s\" for pid %d", cfg.uid_map, cfg.gid_map, (int)child);
    }
  }
  if (write(syncp[1], "g", 1) != 1) fail_at(errno, "supervisor", "starting the child");
  close_fd(&syncp[1]);

  pid_t vmm = -1;
  int pidfd = -1, listener = -1, r_failed = 0, ctl_open = 1, done = 0, child_status = 0;
  long long stop_deadline = 0, sigsys_deadline = 0;
  while (!done) {
    struct pollfd pf[3];
    int np = 0;
    pf[np++] = (struct pollfd){sfd, POLLIN, 0};
    int ctl_i = -1, lis_i = -1;
    if (ctl_open) {
      ctl_i = np;
      pf[np++] = (struct pollfd){ctl[0], POLLIN, 0};
    }
    if (listener >= 0) {
      lis_i = np;
      pf[np++] = (struct pollfd){listener, POLLIN, 0};
    }
    int timeout = -1;
    long long now = now_ms();
    if (cfg.diag != DIAG_NONE && sh->taken == 0 && ctl_open) timeout = 1;
    if (stop_deadline) timeout = timeout < 0 || stop_deadline - now < timeout ? (int)(stop_deadline > now ? stop_deadline - now : 0) : timeout;
    if (sigsys_deadline) timeout = timeout < 0 || sigsys_deadline - now < timeout ? (int)(sigsys_deadline > now ? sigsys_deadline - now : 0) : timeout;
    int pr = poll(pf, (nfds_t)np, timeout);
    if (pr < 0 && errno != EINTR) fail_at(errno, "supervisor", "poll");
    now = now_ms();

    if (ctl_i >= 0 && (pf[ctl_i].revents & (POLLIN | POLLHUP))) {
      char buf[16];
      char cbuf[CMSG_SPACE(sizeof(struct ucred))];
      struct iovec iov = {buf, sizeof buf};
      struct msghdr mh = {0};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof cbuf;
      ssize_t n = recvmsg(ctl[0], &mh, MSG_DONTWAIT);
      if (n > 0 && buf[0] == 'R') {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof uc);
            vmm = uc.pid;
          }
        if (vmm > 0) {
          status_line("P %d", (int)vmm);
          if (cfg.diag != DIAG_NONE) pidfd = (int)syscall(SYS_pidfd_open, vmm, 0);
        }
      } else if (n > 0 && buf[0] == '!') {
        r_failed = 1;
      } else if (n == 0) {
        ctl_open = 0;
        close_fd(&ctl[0]);
        if (!r_failed && vmm > 0) status_line("X");
      }
    }
    /* The listener is taken once R's pid is known (its hello precedes the install; if it has
     * not been read yet, the next round reads it first). */
    if (cfg.diag != DIAG_NONE && sh->taken == 0 && sh->listener >= 0 && (vmm > 0 || !ctl_open)) {
      int fd = pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, pidfd, sh->listener, 0) : -1;
      if (fd < 0) {
        int e = pidfd >= 0 ? errno : ESRCH;
        sh->taken = -1;
        status_line("E %d %s diagnose\tcannot take the seccomp listener from pid %d with pidfd_getfd", EXIT_LAUNCHER,
                    errno_name(e), (int)vmm);
        kill(child, SIGKILL);
        if (vmm > 0 && vmm != child) kill(vmm, SIGKILL);
      } else {
        listener = fd;
        sh->taken = 1;
      }
    }
    if (lis_i >= 0 && (pf[lis_i].revents & POLLIN)) {
      struct seccomp_notif n;
      memset(&n, 0, sizeof n);
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
        report_notification(&n);
        if (cfg.diag == DIAG_PERMISSIVE) {
          struct seccomp_notif_resp resp;
          memset(&resp, 0, sizeof resp);
          resp.id = n.id;
          resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
          ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        } else if (!sigsys_deadline) {
          /* What the filter would have done: the process dies of SIGSYS. */
          kill(vmm > 0 ? vmm : child, SIGSYS);
          sigsys_deadline = now + 200;
        }
      }
    } else if (lis_i >= 0 && (pf[lis_i].revents & (POLLHUP | POLLERR))) {
      close_fd(&listener);
    }
    if (sigsys_deadline && now >= sigsys_deadline) {
      sigsys_deadline = 0;
      kill(child, SIGKILL);
      if (vmm > 0 && vmm != child) kill(vmm, SIGKILL);
    }
    if (stop_deadline && now >= stop_deadline) {
      stop_deadline = 0;
      kill(child, SIGKILL);
      if (vmm > 0 && vmm != child) kill(vmm, SIGKILL);
    }
    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) continue;
        kill(child, sig);
        if ((sig == SIGTERM || sig == SIGINT) && cfg.stop_timeout_ms > 0 && !stop_deadline)
          stop_deadline = now + cfg.stop_timeout_ms;
      }
      int st;
      pid_t w = waitpid(child, &st, WNOHANG);
      if (w == child) {
        child_status = st;
        done = 1;
      }
    }
  }
  if (cfg.pidns) {
    int st;
    /* Q reports R's exact status; without it (Q was killed) Q's own status stands. */
    if (read(qpipe[0], &st, sizeof st) == (ssize_t)sizeof st) child_status = st;
  }
  mirror(child_status);
}
