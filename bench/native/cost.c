// Kernel-measured cost of a syscall under a seccomp filter, for the "compile" bench section.
//
//   cost ITERS BATCHES NFILTERS FILTER... CALL...
//
// FILTER is a raw BPF file (struct sock_filter array, host byte order) or "none".
// CALL is "nr,a0,a1,a2,a3,a4,a5" (decimal or 0x hex, missing = 0; "&" = the address of a
// private int, e.g. a futex word).
//
// A filter cannot be removed once installed, so there is one child process per filter. All
// children are started first; each pins itself to the same CPU (the last one this process may
// use), installs its filter (prctl(PR_SET_NO_NEW_PRIVS) + seccomp(SECCOMP_SET_MODE_FILTER, 0))
// and then waits for orders. The parent runs BATCHES rounds; in each round it asks every child
// in turn (the order rotates from round to round) to time ITERS iterations of
// syscall(nr, a0..a5) for each call, with CLOCK_MONOTONIC (vDSO). Only one child runs at a time,
// and the filters alternate every few milliseconds, so a drift in machine speed hits all of them
// alike. Two untimed warm-up rounds come first.
//
// Orders and results pass through shared memory, with futex(FUTEX_WAIT / FUTEX_WAKE) on it, so
// that a filtered child makes no syscall besides the measured one, futex(FUTEX_WAIT) and, at the
// end, exit_group: the policies measured need not allow read or write (Firecracker's vcpu
// thread does not allow read).
//
// Output (stdout, JSON): {"ns": [filter][call][batch] ns per call (null once a child has
// failed), "ret": [filter][call] last return value, "err": [filter][call] errno (0 if none),
// "fail": [filter] "" or why the child failed (e.g. killed by signal 31 = SIGSYS)}.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILTERS 16
#define MAX_CALLS 8
#define MAX_BATCHES 4096
#define WARMUP_BATCHES 2

struct call { long nr; long a[6]; };
struct result { double ns; long ret; int err; };

/* One child's mailbox, in memory shared with the parent. */
struct mailbox {
  int order_seq;  /* bumped by the parent for each order */
  int order;      /* call index; 255 = exit */
  int done_seq;   /* set to order_seq by the child when the result is in */
  struct result res;
};

static long futex(int *addr, int op, int val, const struct timespec *timeout) {
  return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

static int futex_word;

static void load_filter(struct sock_fprog *prog, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  static unsigned char buf[8 * 65536];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n == 0 || n % 8) { fprintf(stderr, "%s: not a raw BPF file\n", path); exit(2); }
  struct sock_filter *ins = malloc(n);
  memcpy(ins, buf, n);
  prog->len = (unsigned short)(n / 8);
  prog->filter = ins;
}

static void parse_call(struct call *c, const char *s) {
  char *copy = strdup(s), *save = NULL;
  int k = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++) {
    long v = strcmp(tok, "&") == 0 ? (long)(intptr_t)&futex_word : (long)strtoull(tok, NULL, 0);
    if (k == 0) c->nr = v;
    else if (k <= 6) c->a[k - 1] = v;
  }
  free(copy);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int last_cpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; c++) if (CPU_ISSET(c, &set)) last = c;
  return last;
}

/* A child: install the filter, then serve orders until told to exit. */
static void child(const struct sock_fprog *prog, int cpu, const struct call *calls, long iters, struct mailbox *mb) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  if (prog) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0) _exit(4);
  }
  int seen = 0;
  for (;;) {
    int seq;
    while ((seq = __atomic_load_n(&mb->order_seq, __ATOMIC_ACQUIRE)) == seen) futex(&mb->order_seq, FUTEX_WAIT, seen, NULL);
    seen = seq;
    int order = mb->order;
    if (order == 255) _exit(0);
    const struct call *k = &calls[order];
    long r = 0;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) r = syscall(k->nr, k->a[0], k->a[1], k->a[2], k->a[3], k->a[4], k->a[5]);
    double t1 = now_ns();
    mb->res.ns = (t1 - t0) / (double)iters;
    mb->res.ret = r;
    mb->res.err = r == -1 ? errno : 0;
    __atomic_store_n(&mb->done_seq, seq, __ATOMIC_RELEASE);
    futex(&mb->done_seq, FUTEX_WAKE, 1, NULL);
  }
}

/* Parent: give a child one order and wait for its result; 0 if the child died (its wait status
   in *status). */
static int ask(struct mailbox *mb, pid_t pid, int order, struct result *res, int *status) {
  int seq = mb->order_seq + 1;
  mb->order = order;
  __atomic_store_n(&mb->order_seq, seq, __ATOMIC_RELEASE);
  futex(&mb->order_seq, FUTEX_WAKE, 1, NULL);
  if (order == 255) return 1;
  const struct timespec tick = { 0, 50 * 1000 * 1000 };
  int cur;
  while ((cur = __atomic_load_n(&mb->done_seq, __ATOMIC_ACQUIRE)) != seq) {
    futex(&mb->done_seq, FUTEX_WAIT, cur, &tick);
    int st;
    if (__atomic_load_n(&mb->done_seq, __ATOMIC_ACQUIRE) != seq && waitpid(pid, &st, WNOHANG) == pid) {
      *status = st;
      return 0;
    }
  }
  *res = mb->res;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s ITERS BATCHES NFILTERS FILTER... CALL...\n", argv[0]);
    return 2;
  }
  long iters = strtol(argv[1], NULL, 10);
  int batches = atoi(argv[2]);
  int nf = atoi(argv[3]);
  if (iters <= 0 || batches <= 0 || batches > MAX_BATCHES || nf <= 0 || nf > MAX_FILTERS || argc < 4 + nf + 1) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  int ncalls = argc - 4 - nf;
  if (ncalls > MAX_CALLS) { fprintf(stderr, "too many calls\n"); return 2; }
  static struct sock_fprog progs[MAX_FILTERS];
  int has_prog[MAX_FILTERS] = {0};
  for (int i = 0; i < nf; i++) {
    if (strcmp(argv[4 + i], "none") != 0) { load_filter(&progs[i], argv[4 + i]); has_prog[i] = 1; }
  }
  struct call calls[MAX_CALLS];
  memset(calls, 0, sizeof calls);
  for (int c = 0; c < ncalls; c++) parse_call(&calls[c], argv[4 + nf + c]);
  struct mailbox *mbs = mmap(NULL, sizeof(struct mailbox) * MAX_FILTERS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mbs == MAP_FAILED) { perror("mmap"); return 1; }
  memset(mbs, 0, sizeof(struct mailbox) * MAX_FILTERS);

  int cpu = last_cpu();
  pid_t pids[MAX_FILTERS];
  int alive[MAX_FILTERS], status[MAX_FILTERS];
  for (int f = 0; f < nf; f++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) child(has_prog[f] ? &progs[f] : NULL, cpu, calls, iters, &mbs[f]);
    pids[f] = pid;
    alive[f] = 1;
    status[f] = 0;
  }

  static struct result out[MAX_FILTERS][MAX_CALLS][MAX_BATCHES];
  static int ok[MAX_FILTERS][MAX_CALLS][MAX_BATCHES];
  for (int r = -WARMUP_BATCHES; r < batches; r++) {
    for (int j = 0; j < nf; j++) {
      int f = (j + (r < 0 ? 0 : r)) % nf;
      for (int c = 0; c < ncalls && alive[f]; c++) {
        struct result res;
        if (!ask(&mbs[f], pids[f], c, &res, &status[f])) {
          alive[f] = 0;
          break;
        }
        if (r >= 0) { out[f][c][r] = res; ok[f][c][r] = 1; }
      }
    }
  }

  char fail[MAX_FILTERS][64];
  for (int f = 0; f < nf; f++) {
    int st = status[f];
    if (alive[f]) {
      struct result dummy;
      ask(&mbs[f], pids[f], 255, &dummy, &st);
      waitpid(pids[f], &st, 0);
    }
    fail[f][0] = 0;
    if (!alive[f] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      if (WIFSIGNALED(st)) snprintf(fail[f], sizeof fail[f], "killed by signal %d", WTERMSIG(st));
      else snprintf(fail[f], sizeof fail[f], "exit status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
  }

  printf("{\"ns\":[");
  for (int f = 0; f < nf; f++) {
    printf("%s[", f ? "," : "");
    for (int c = 0; c < ncalls; c++) {
      printf("%s[", c ? "," : "");
      for (int r = 0; r < batches; r++) {
        if (ok[f][c][r]) printf("%s%.3f", r ? "," : "", out[f][c][r].ns);
        else printf("%snull", r ? "," : "");
      }
      printf("]");
    }
    printf("]");
  }
  printf("],\"ret\":[");
  for (int f = 0; f < nf; f++) {
    printf("%s[", f ? "," : "");
    for (int c = 0; c < ncalls; c++) printf("%s%ld", c ? "," : "", ok[f][c][0] ? out[f][c][0].ret : 0L);
    printf("]");
  }
  printf("],\"err\":[");
  for (int f = 0; f < nf; f++) {
    printf("%s[", f ? "," : "");
    for (int c = 0; c < ncalls; c++) printf("%s%d", c ? "," : "", ok[f][c][0] ? out[f][c][0].err : 0);
    printf("]");
  }
  printf("],\"fail\":[");
  for (int f = 0; f < nf; f++) printf("%s\"%s\"", f ? "," : "", fail[f]);
  printf("]}\n");
  return 0;
}
