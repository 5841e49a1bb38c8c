/*
 * oracle.c: the real-kernel oracle for sysfence's differential tests (x86_64 Linux on the host;
 * aarch64 and s390x as the init of a QEMU guest, see "guest mode" below).
 *
 * The test driver (test/support/oracle.ts) compiles this file with `cc -O2 -no-pie` into
 * test/.out/ and talks to it over stdin/stdout. The helper reads ALL of stdin first, then does
 * the work, then writes its answers; diagnostics go to stderr. Exit status: 0 = done, 2 = bad
 * request (protocol error, or a request the helper refuses as unsafe), 1 = system error.
 *
 * Every integer on the wire is in the byte order of the machine the helper runs on (little-endian
 * on x86_64 and aarch64, big-endian on s390x). An instruction is the kernel's struct sock_filter:
 * u16 code, u8 jt, u8 jf, u32 k (8 bytes).
 *
 * Every answer starts with a 16-byte header:
 *     "SFORACL1"  u64 ip
 * where ip is the trampoline's return address, i.e. the seccomp_data.instruction_pointer the
 * kernel reports for the syscalls the eval mode issues. (Built with -no-pie it is the same in
 * every run, but the driver always uses the value from the header.)
 *
 * ---- usage: oracle probe --------------------------------------------------------------------
 *   No input. A child installs `ret ALLOW`; answer: header, u32 result (0 or the errno).
 *
 * ---- usage: oracle accept -------------------------------------------------------------------
 *   Does the kernel take this program? Request: records until EOF:
 *       u32 len (0..65535, the sock_fprog.len to pass; it is an unsigned short)
 *       len x 8 bytes of instructions
 *   Answer: header, then one u32 per record:
 *       0            installed
 *       e (1..4095)  seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog) failed with errno e
 *       0x10000|s    the child died of signal s while installing (never expected)
 *       0x20000|x    the child exited with status x while installing (never expected)
 *       0x30000|v    seccomp() returned a positive value v (never expected)
 *   Each attempt runs in a child that has set PR_SET_NO_NEW_PRIVS and uses the raw syscall.
 *   A rejected install leaves no trace on the task, so one child tries programs in order until
 *   one is accepted; it then records the result in shared memory and dies (an installed filter
 *   may refuse even exit_group, so it ends with exit_group, then ud2). The next program gets a
 *   fresh child. Most mutated programs are rejected, so this costs about one fork per
 *   ACCEPTED program.
 *
 * ---- usage: oracle eval ---------------------------------------------------------------------
 *   What does the kernel return for these inputs? Request: records until EOF:
 *       u32 floor        the catch-all's value for trampoline syscalls (see below)
 *       u32 nbodies      1..8, oldest first
 *       nbodies x { u32 len; len x 8 bytes }   program bodies (already rewritten by the driver)
 *       u32 ninputs
 *       ninputs x 14 u32: nr_lo, nr_hi, then args[0..5] as (lo, hi) pairs
 *   The helper installs, in one child, oldest first:
 *       1. the CATCH-ALL (6 insns):   ld [8]; jeq #ip_lo, 0, 3; ld [12]; jeq #ip_hi, 0, 1;
 *                                     ret #floor; ret #ALLOW
 *       2. per body, the IP GATE (7 insns) followed by the body:
 *                                     ld [8]; jeq #ip_lo, 1, 0; ret #ALLOW;
 *                                     ld [12]; jeq #ip_hi, 1, 0; ret #ALLOW; ld #0; <body>
 *          Only syscalls from the trampoline reach a body; `ld #0` restores A = 0 (the gate
 *          never touches X, which is still 0). Relative jumps inside the body are unchanged.
 *   (on a big-endian machine the gates load [12] for ip_lo and [8] for ip_hi: the low half of
 *   a 64-bit field sits at +4 there) and then issues, for each input, the raw syscall
 *   (x86_64: rax = nr_hi:nr_lo, rdi, rsi, rdx, r10, r8, r9 = args; aarch64: x8, x0..x5;
 *   s390x: `svc 0` with r1, r2..r7) from the trampoline, with every signal blocked except
 *   SIGSYS, which has a
 *   handler (so TRAP is observable). The floor must be an action that never lets the syscall
 *   run (its action part, as a signed number, below LOG; ERRNO data not 0 and not 512..516):
 *   whatever the bodies return, the stack's result is at most the floor, so no tested syscall
 *   ever runs. Bodies may not contain `ret #ERRNO(512..516)` (the kernel restarts those).
 *   Answer per record:
 *       u32 nprog (= nbodies + 1); nprog x { u32 len; len x 8 bytes }   the programs actually
 *           installed, oldest first (the driver interprets exactly these)
 *       u32 install      0, or (i << 16) | errno when program i (0 = catch-all) was refused
 *       u32 ninputs; ninputs x { u32 kind; u32 value }:
 *           kind 0 ERRNO     the syscall returned -value (1..4095)
 *           kind 1 RETURNED  the syscall returned a non-error value (low 32 bits in value)
 *           kind 2 TRAP      SIGSYS with si_code SYS_SECCOMP, si_errno = value (si_arch,
 *                            si_call_addr and si_syscall matched the call)
 *           kind 3 SIGNAL    the child was killed by signal `value` during this call
 *                            (SIGSYS = 31: a kill action, e.g. DIV by X == 0 returning 0)
 *           kind 4 SKIPPED   not issued: value 0 = nr 335/336 (uretprobe/uprobe bypass seccomp
 *                            on x86_64 and would really run), 1 = the register a TRAP rolls
 *                            back (x86_64 rax = nr; aarch64 x0 and s390x r2 = args[0]) in
 *                            -516..-512 (the signal return would see a kernel restart code),
 *                            2 = s390x nr 7 (restart_syscall: the entry code moves the PSW
 *                            before seccomp runs, so the IP gate would not hold)
 *           kind 5 INSTALL   not issued because an install failed (value as `install`)
 *           kind 6 ANOMALY   anything else (value: 1 = bad siginfo, 2 = child exited early)
 *   One child serves all inputs of a record; after a kill the next input continues in a fresh
 *   child (which installs the same filters again).
 *   seccomp_data.nr is what the arch's entry code takes from the number register: its low 32
 *   bits on x86_64 and aarch64, its low 16 bits on s390x (int_code & 0xffff; `svc 0` with r1).
 *
 * ---- guest mode -----------------------------------------------------------------------------
 *   Run as PID 1 (the /init of an initramfs, test/support/guest.ts), the helper reads the file
 *   /batch: "SFBATCH1", then records { u32 mode (0 probe, 1 accept, 2 eval, 3 launch); u32 len; len
 *   bytes of request } until the end. It answers each record on the console (fd 1, or
 *   /dev/console from a devtmpfs it mounts) as text, since a tty is not a binary channel:
 *       SFANS <record> <byte count>\n, the answer in base64 lines of 76, SFEND <record>\n
 *   then powers the machine off. A failure prints `SFFAIL <status> <what>` and powers off.
 *
 * ---- guest mode 3: launch --------------------------------------------------------------------
 *   Runs the native launcher (/launcher in the initramfs, launcher/ cross-compiled) once, as
 *   `sysfence launch` would on this arch. Request:
 *       u32 flags        bit 0: wait (up to 3 s) for a seccomp audit record in the kernel log
 *       u32 nargs; nargs x { u32 len; len bytes }   the launcher's argv (argv[0] first)
 *       u32 len; len bytes                          the filter bytes, given on descriptor 3
 *   A child gets the filter bytes on fd 3 (a file), fd 4 for the status lines, fds 1 and 2 on
 *   one output file, and execs the launcher; the helper waits for it. Answer: header, then
 *       u32 pid          the child's pid (the program's, in exec mode)
 *       u32 status       the raw wait status
 *       u32 kmsg         0, or the errno of opening /dev/kmsg
 *       u32 audit        0, or the errno of turning audit on (AUDIT_SET over netlink)
 *       3 x { u32 len; len bytes }   the status lines, the output, and the kernel log records
 *                        written during the run that hold "type=1326", each ended by a NUL
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <linux/netlink.h>

#if !defined(__linux__) || !(defined(__x86_64__) || defined(__aarch64__) || defined(__s390x__))
#error "the sysfence oracle supports Linux on x86_64, aarch64 and s390x"
#endif

#if defined(__x86_64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_AARCH64
#else
#define AUDIT_ARCH_SELF AUDIT_ARCH_S390X
#endif

/* Offsets of the low and high halves of seccomp_data.instruction_pointer for `ld [k]`. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define IP_LO_OFF 12
#define IP_HI_OFF 8
#else
#define IP_LO_OFF 8
#define IP_HI_OFF 12
#endif

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS */
#endif

#define RET_ALLOW 0x7fff0000u
#define RET_LOG 0x7ffc0000u
#define RET_ERRNO 0x00050000u
#define NR_URETPROBE 335
#define NR_UPROBE 336
#define MAX_BODIES 8

enum { K_ERRNO = 0, K_RETURNED = 1, K_TRAP = 2, K_SIGNAL = 3, K_SKIPPED = 4, K_INSTALL = 5, K_ANOMALY = 6 };

 /* ---- the trampoline ------------------------------------------------------------------------ */
/* long sf_tramp(nr, a0, a1, a2, a3, a4, a5): one raw syscall instruction; sf_tramp_ret is the
 * address right after it, which the kernel reports as instruction_pointer. */
long sf_tramp(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
extern char sf_tramp_ret[];
#if defined(__x86_64__)
__asm__(".text\n"
        ".p2align 4\n"
        ".globl sf_tramp\n"
        ".type sf_tramp, @function\n"
        "sf_tramp:\n"
        "\tmovq %rdi, %rax\n"
        "\tmovq %rsi, %rdi\n"
        "\tmovq %rdx, %rsi\n"
        "\tmovq %rcx, %rdx\n"
        "\tmovq %r8, %r10\n"
        "\tmovq %r9, %r8\n"
        "\tmovq 8(%rsp), %r9\n"
        "\tsyscall\n"
        ".globl sf_tramp_ret\n"
        "sf_tramp_ret:\n"
        "\tret\n"
        ".size sf_tramp, .-sf_tramp\n");
#elif defined(__aarch64__)
/* AAPCS64: the seven arguments arrive in x0..x6; the kernel wants nr in x8, args in x0..x5. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl sf_tramp\n"
        ".type sf_tramp, %function\n"
        "sf_tramp:\n"
        "\tmov x8, x0\n"
        "\tmov x0, x1\n"
        "\tmov x1, x2\n"
        "\tmov x2, x3\n"
        "\tmov x3, x4\n"
        "\tmov x4, x5\n"
        "\tmov x5, x6\n"
        "\tsvc #0\n"
        ".globl sf_tramp_ret\n"
        "sf_tramp_ret:\n"
        "\tret\n"
        ".size sf_tramp, .-sf_tramp\n");
#else
/* s390x ELF ABI: nr, a0..a3 arrive in r2..r6, a4 and a5 on the stack at 160 and 168 (r15).
 * The kernel wants nr in r1 (with `svc 0`) and args in r2..r7; r6 and r7 are callee-saved,
 * so they go to their slots of the caller's register save area (48 and 56) and back. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl sf_tramp\n"
        ".type sf_tramp, @function\n"
        "sf_tramp:\n"
        "\tstmg %r6,%r7,48(%r15)\n"
        "\tlgr %r1,%r2\n"
        "\tlgr %r2,%r3\n"
        "\tlgr %r3,%r4\n"
        "\tlgr %r4,%r5\n"
        "\tlgr %r5,%r6\n"
        "\tlg %r6,160(%r15)\n"
        "\tlg %r7,168(%r15)\n"
        "\tsvc 0\n"
        ".globl sf_tramp_ret\n"
        "sf_tramp_ret:\n"
        "\tlmg %r6,%r7,48(%r15)\n"
        "\tbr %r14\n"
        ".size sf_tramp, .-sf_tramp\n");
#endif

/* seccomp_data.nr (and si_syscall) for a number register holding nr_hi:nr_lo. */
static int32_t seen_nr(uint32_t nr_lo) {
#if defined(__s390x__)
  return (int32_t)(nr_lo & 0xffff);
#else
  return (int32_t)nr_lo;
#endif
}

/* Inputs that must not be issued (kind SKIPPED): see the eval usage above. */
static int skip_reason(uint64_t nr, uint64_t a0) {
#if defined(__x86_64__)
  (void)a0;
  if ((uint32_t)nr == NR_URETPROBE || (uint32_t)nr == NR_UPROBE) return 0;
  if ((int64_t)nr >= -516 && (int64_t)nr <= -512) return 1;
#else
  if ((int64_t)a0 >= -516 && (int64_t)a0 <= -512) return 1;
#if defined(__s390x__)
  /* restart_syscall moves the PSW before seccomp runs: the IP gate would not match */
  if ((nr & 0xffff) == 7) return 2;
#else
  (void)nr;
#endif
#endif
  return -1;
}

static uint64_t tramp_ip(void) { return (uint64_t)(uintptr_t)sf_tramp_ret; }

/* ---- i/o ----------------------------------------------------------------------------------- */
static uint8_t *in_buf;
static size_t in_len, in_pos;
static FILE *out; /* stdout, or one record's memory stream in guest mode */
static int guest; /* running as PID 1 of a guest */

static void __attribute__((noreturn)) guest_poweroff(void);

static void fail(int status, const char *what) {
  if (guest) {
    dprintf(1, "SFFAIL %d %s\n", status, what);
    guest_poweroff();
  }
  fprintf(stderr, "oracle: %s\n", what);
  fflush(out);
  exit(status);
}

static void read_all(void) {
  size_t cap = 1 << 20;
  in_buf = malloc(cap);
  if (!in_buf) fail(1, "out of memory");
  for (;;) {
    if (in_len == cap) {
      cap *= 2;
      in_buf = realloc(in_buf, cap);
      if (!in_buf) fail(1, "out of memory");
    }
    ssize_t r = read(0, in_buf + in_len, cap - in_len);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail(1, "read(stdin) failed");
    }
    if (r == 0) break;
    in_len += (size_t)r;
  }
}

static uint32_t get_u32(void) {
  uint32_t v;
  if (in_len - in_pos < 4) fail(2, "truncated request");
  memcpy(&v, in_buf + in_pos, 4);
  in_pos += 4;
  return v;
}

static const uint8_t *get_bytes(size_t n) {
  if (in_len - in_pos < n) fail(2, "truncated request");
  const uint8_t *p = in_buf + in_pos;
  in_pos += n;
  return p;
}

static void put(const void *p, size_t n) {
  if (fwrite(p, 1, n, out) != n) fail(1, "write(stdout) failed");
}
static void put_u32(uint32_t v) { put(&v, 4); }

static void put_header(void) {
  uint64_t ip = tramp_ip();
  put("SFORACL1", 8);
  put(&ip, 8);
}

/* ---- children ------------------------------------------------------------------------------ */
static void *shared_alloc(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail(1, "mmap(shared) failed");
  return p;
}

/* Common set-up of every child: no core dumps (a kill action dumps core otherwise), a CPU
 * limit as a watchdog, death with the helper, and every signal blocked except `allow`. */
static void child_setup(int allow) {
  struct rlimit core = {0, 0};
  struct rlimit cpu = {60, 60};
  sigset_t set;
  setrlimit(RLIMIT_CORE, &core);
  setrlimit(RLIMIT_CPU, &cpu);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  sigfillset(&set);
  if (allow) sigdelset(&set, allow);
  sigprocmask(SIG_SETMASK, &set, NULL);
}

/* Ends a child that may have a filter installed: its own filter may refuse exit_group. */
static void __attribute__((noreturn)) die_now(void) {
  syscall(SYS_exit_group, 0);
  for (;;) __builtin_trap();
}

static long install(uint16_t len, const void *insns) {
  struct sock_fprog fp;
  static struct sock_filter dummy;
  fp.len = len;
  fp.filter = (struct sock_filter *)(insns ? insns : &dummy);
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp);
}

static pid_t do_fork(void) {
  fflush(out); /* children never flush; keep the buffer empty anyway */
  pid_t pid = fork();
  if (pid < 0) fail(1, "fork failed");
  return pid;
}

static int reap(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) fail(1, "waitpid failed");
  }
  return st;
}

/* ---- probe --------------------------------------------------------------------------------- */
static int mode_probe(void) {
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, RET_ALLOW);
  volatile uint32_t *res = shared_alloc(4096);
  *res = 0xffffffffu;
  pid_t pid = do_fork();
  if (pid == 0) {
    child_setup(0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { *res = (uint32_t)errno; _exit(0); }
    *res = install(1, &allow) == 0 ? 0 : (uint32_t)errno;
    _exit(0);
  }
  int st = reap(pid);
  put_header();
  put_u32(*res != 0xffffffffu ? *res : 0x10000u | (WIFSIGNALED(st) ? (uint32_t)WTERMSIG(st) : 0));
  return 0;
}

/* ---- accept -------------------------------------------------------------------------------- */
struct acc_shared {
  volatile uint32_t cur;   /* next program the child works on */
  volatile uint32_t dying; /* set when the child ends on purpose after an accepted install */
  volatile uint32_t res[];
};

static int mode_accept(void) {
  size_t n = 0, cap = 1024;
  uint16_t *lens = malloc(cap * sizeof *lens);
  const uint8_t **progs = malloc(cap * sizeof *progs);
  if (!lens || !progs) fail(1, "out of memory");
  while (in_pos < in_len) {
    uint32_t len = get_u32();
    if (len > 65535) fail(2, "len does not fit sock_fprog.len (an unsigned short)");
    if (n == cap) {
      cap *= 2;
      lens = realloc(lens, cap * sizeof *lens);
      progs = realloc(progs, cap * sizeof *progs);
      if (!lens || !progs) fail(1, "out of memory");
    }
    lens[n] = (uint16_t)len;
    progs[n] = get_bytes((size_t)len * 8);
    n++;
  }
  struct acc_shared *sh = shared_alloc(sizeof *sh + (n + 1) * 4);
  uint32_t start = 0;
  while (start < n) {
    sh->cur = start;
    sh->dying = 0;
    pid_t pid = do_fork();
    if (pid == 0) {
      child_setup(0);
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
      for (uint32_t i = start; i < n; i++) {
        long r = install(lens[i], progs[i]);
        if (r == 0) {
          sh->res[i] = 0;
          sh->cur = i + 1;
          sh->dying = 1;
          die_now();
        }
        sh->res[i] = r < 0 ? (uint32_t)errno : 0x30000u | ((uint32_t)r & 0xffff);
        sh->cur = i + 1;
      }
      _exit(0);
    }
    int st = reap(pid);
    uint32_t cur = sh->cur;
    if (!sh->dying && cur < n) {
      /* the child stopped while working on `cur`: record how, and go on after it */
      sh->res[cur] = WIFSIGNALED(st) ? 0x10000u | (uint32_t)WTERMSIG(st) : 0x20000u | (uint32_t)WEXITSTATUS(st);
      cur++;
    }
    start = cur;
  }
  put_header();
  for (size_t i = 0; i < n; i++) put_u32(sh->res[i]);
  return 0;
}

/* ---- eval ---------------------------------------------------------------------------------- */
static struct sock_filter insn(uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
  struct sock_filter f = {code, jt, jf, k};
  return f;
}

/* The floor may never let a syscall run: action (signed) below LOG, and an ERRNO that neither
 * reports success (0) nor lands on a restart code (512..516). */
static int safe_action(uint32_t v) {
  if ((int32_t)(v & 0xffff0000u) >= (int32_t)RET_LOG) return 0;
  if ((v & 0xffff0000u) == RET_ERRNO) {
    uint32_t d = v & 0xffff;
    if (d == 0 || (d >= 512 && d <= 516)) return 0;
  }
  return 1;
}

struct eval_shared {
  volatile uint32_t cur;     /* input in flight */
  volatile uint32_t ready;   /* filters installed */
  volatile uint32_t install; /* (i << 16) | errno of a refused install */
  volatile uint32_t out[];   /* kind, value per input */
};

static volatile sig_atomic_t trap_hit;
static volatile uint32_t trap_data, trap_ok;
static volatile int32_t trap_expect_nr;

static void on_sigsys(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  trap_data = (uint32_t)si->si_errno;
  trap_ok = si->si_code == SYS_SECCOMP && si->si_arch == AUDIT_ARCH_SELF &&
            (uint64_t)(uintptr_t)si->si_call_addr == tramp_ip() && si->si_syscall == trap_expect_nr;
  trap_hit = 1;
}

static void eval_child(struct eval_shared *sh, uint32_t start, uint32_t nprog, struct sock_filter **prog,
                       const uint32_t *plen, uint32_t ninputs, const uint32_t *inputs) {
  struct sigaction sa;
  child_setup(SIGSYS);
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO; /* no SA_RESTART */
  sigfillset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, NULL) != 0) _exit(4);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    sh->install = (uint32_t)errno;
    _exit(0);
  }
  for (uint32_t p = 0; p < nprog; p++) {
    if (install((uint16_t)plen[p], prog[p]) != 0) {
      sh->install = (p << 16) | ((uint32_t)errno & 0xffff);
      _exit(0);
    }
  }
  sh->ready = 1;
  for (uint32_t i = start; i < ninputs; i++) {
    const uint32_t *w = inputs + (size_t)i * 14;
    uint64_t nr = (uint64_t)w[0] | (uint64_t)w[1] << 32;
    uint64_t a[6];
    volatile uint32_t *o = sh->out + (size_t)i * 2;
    sh->cur = i;
    for (int j = 0; j < 6; j++) a[j] = (uint64_t)w[2 + 2 * j] | (uint64_t)w[3 + 2 * j] << 32;
    int skip = skip_reason(nr, a[0]);
    if (skip >= 0) {
      o[0] = K_SKIPPED, o[1] = (uint32_t)skip;
      continue;
    }
    trap_hit = 0;
    trap_ok = 0;
    trap_expect_nr = seen_nr(w[0]);
    long r = sf_tramp(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (trap_hit) {
      o[0] = trap_ok ? K_TRAP : K_ANOMALY;
      o[1] = trap_ok ? trap_data : 1;
    } else if (r < 0 && r >= -4095) {
      o[0] = K_ERRNO, o[1] = (uint32_t)-r;
    } else {
      o[0] = K_RETURNED, o[1] = (uint32_t)r;
    }
  }
  sh->cur = ninputs;
  _exit(0);
}

static int mode_eval(void) {
  uint64_t ip = tramp_ip();
  uint32_t lo = (uint32_t)ip, hi = (uint32_t)(ip >> 32);
  put_header();
  while (in_pos < in_len) {
    uint32_t floor = get_u32();
    uint32_t nb = get_u32();
    if (nb < 1 || nb > MAX_BODIES) fail(2, "nbodies must be 1..8");
    if (!safe_action(floor)) fail(2, "unsafe floor: it could let a tested syscall run");
    uint32_t nprog = nb + 1;
    struct sock_filter *prog[MAX_BODIES + 1];
    uint32_t plen[MAX_BODIES + 1];
    /* the catch-all */
    prog[0] = malloc(6 * sizeof(struct sock_filter));
    if (!prog[0]) fail(1, "out of memory");
    plen[0] = 6;
    prog[0][0] = insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, IP_LO_OFF);
    prog[0][1] = insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, lo);
    prog[0][2] = insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, IP_HI_OFF);
    prog[0][3] = insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, hi);
    prog[0][4] = insn(BPF_RET | BPF_K, 0, 0, floor);
    prog[0][5] = insn(BPF_RET | BPF_K, 0, 0, RET_ALLOW);
    /* the gated bodies */
    for (uint32_t b = 0; b < nb; b++) {
      uint32_t len = get_u32();
      if (len + 7 > 65535) fail(2, "body too long");
      const uint8_t *body = get_bytes((size_t)len * 8);
      struct sock_filter *p = malloc((len + 7) * sizeof *p);
      if (!p) fail(1, "out of memory");
      p[0] = insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, IP_LO_OFF);
      p[1] = insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, lo);
      p[2] = insn(BPF_RET | BPF_K, 0, 0, RET_ALLOW);
      p[3] = insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, IP_HI_OFF);
      p[4] = insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, hi);
      p[5] = insn(BPF_RET | BPF_K, 0, 0, RET_ALLOW);
      p[6] = insn(BPF_LD | BPF_IMM, 0, 0, 0);
      memcpy(p + 7, body, (size_t)len * 8);
      for (uint32_t i = 0; i < len; i++) {
        struct sock_filter f = p[7 + i];
        if (f.code == (BPF_RET | BPF_K) && (f.k & 0xffff0000u) == RET_ERRNO && (f.k & 0xffff) >= 512 &&
            (f.k & 0xffff) <= 516)
          fail(2, "a body returns ERRNO(512..516), a kernel restart code");
      }
      prog[b + 1] = p;
      plen[b + 1] = len + 7;
    }
    uint32_t ninputs = get_u32();
    const uint32_t *inputs = (const uint32_t *)get_bytes((size_t)ninputs * 14 * 4);

    struct eval_shared *sh = shared_alloc(sizeof *sh + ((size_t)ninputs * 2 + 2) * 4);
    uint32_t start = 0;
    do {
      sh->cur = start;
      sh->ready = 0;
      sh->install = 0;
      pid_t pid = do_fork();
      if (pid == 0) eval_child(sh, start, nprog, prog, plen, ninputs, inputs);
      int st = reap(pid);
      if (sh->install != 0 || !sh->ready) {
        uint32_t why = sh->install != 0 ? sh->install : 0xffff0000u;
        if (sh->install == 0) fprintf(stderr, "oracle: a child died during set-up (status %d)\n", st);
        for (uint32_t i = start; i < ninputs; i++) sh->out[2 * i] = K_INSTALL, sh->out[2 * i + 1] = why;
        sh->install = why;
        break;
      }
      uint32_t cur = sh->cur;
      if (cur >= ninputs) break;
      if (WIFSIGNALED(st)) {
        sh->out[2 * cur] = K_SIGNAL, sh->out[2 * cur + 1] = (uint32_t)WTERMSIG(st);
      } else {
        sh->out[2 * cur] = K_ANOMALY, sh->out[2 * cur + 1] = 2;
      }
      start = cur + 1;
    } while (start < ninputs);

    put_u32(nprog);
    for (uint32_t p = 0; p < nprog; p++) {
      put_u32(plen[p]);
      put(prog[p], (size_t)plen[p] * 8);
      free(prog[p]);
    }
    put_u32(sh->install);
    put_u32(ninputs);
    put((const void *)sh->out, (size_t)ninputs * 8);
    munmap(sh, sizeof *sh + ((size_t)ninputs * 2 + 2) * 4);
  }
  return 0;
}

/* ---- guest mode 3: launch ------------------------------------------------------------------- */
static void put_blob(const void *p, size_t n) {
  put_u32((uint32_t)n);
  put(p, n);
}

/* The whole content of a small file written by the child (empty when it is missing). */
static void put_file(const char *path) {
  char buf[65536];
  size_t n = 0;
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    ssize_t r;
    while (n < sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) > 0) n += (size_t)r;
    close(fd);
  }
  put_blob(buf, n);
}

/* Seccomp audit records (type=1326) readable now on `fd` (non-blocking, one record per read). */
static size_t read_audit(int fd, char *dst, size_t cap, size_t used) {
  char rec[8192];
  for (;;) {
    ssize_t r = read(fd, rec, sizeof rec - 1);
    if (r < 0 && errno == EPIPE) continue; /* overwritten while we read: go on */
    if (r <= 0) break;
    rec[r] = 0;
    if (!strstr(rec, "type=1326")) continue;
    if (used + (size_t)r + 1 > cap) break;
    memcpy(dst + used, rec, (size_t)r + 1);
    used += (size_t)r + 1;
  }
  return used;
}

static int write_file(const char *path, const void *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) break;
    p = (const char *)p + w;
    n -= (size_t)w;
  }
  close(fd);
  return 0;
}

/* Turns the audit subsystem on, as `auditctl -e 1` does (an AUDIT_SET message on a
 * NETLINK_AUDIT socket): a kernel booted without audit=1 may write no seccomp records. Returns 0
 * or an errno. */
static int audit_enable(void) {
  struct {
    struct nlmsghdr h;
    struct audit_status st;
  } m;
  struct sockaddr_nl to;
  char buf[1024];
  int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
  if (s < 0) return errno;
  memset(&m, 0, sizeof m);
  m.h.nlmsg_len = sizeof m;
  m.h.nlmsg_type = AUDIT_SET;
  m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  m.h.nlmsg_seq = 1;
  m.st.mask = AUDIT_STATUS_ENABLED;
  m.st.enabled = 1;
  memset(&to, 0, sizeof to);
  to.nl_family = AF_NETLINK;
  int err = 0;
  if (sendto(s, &m, sizeof m, 0, (struct sockaddr *)&to, sizeof to) < 0) err = errno;
  else {
    ssize_t r = recv(s, buf, sizeof buf, 0);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (r < 0) err = errno;
    else if (r >= (ssize_t)sizeof *h && h->nlmsg_type == NLMSG_ERROR) err = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
  }
  close(s);
  return err;
}

static int mode_launch(void) {
  static int audit_err = -1;
  if (audit_err < 0) {
    /* printk's rate limit (10 lines per 5 s) would drop the records after the eval records'
     * kills: 0 turns it off (/proc/sys/kernel/printk_ratelimit, seconds) */
    write_file("/proc/sys/kernel/printk_ratelimit", "0\n", 2);
    audit_err = audit_enable();
  }
  uint32_t flags = get_u32();
  uint32_t nargs = get_u32();
  if (nargs == 0 || nargs > 256) fail(2, "launch: 1..256 arguments");
  char **argv = calloc(nargs + 1, sizeof *argv);
  if (!argv) fail(1, "out of memory");
  for (uint32_t i = 0; i < nargs; i++) {
    uint32_t len = get_u32();
    argv[i] = strndup((const char *)get_bytes(len), len);
  }
  uint32_t flen = get_u32();
  if (write_file("/sf-filters", get_bytes(flen), flen) < 0) fail(1, "launch: cannot write /sf-filters");

  int kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  uint32_t kerr = kfd < 0 ? (uint32_t)errno : 0;
  if (kfd >= 0) lseek(kfd, 0, SEEK_END); /* only records written from now on */

  pid_t pid = do_fork();
  if (pid == 0) {
    int f = open("/sf-filters", O_RDONLY);
    int st = open("/sf-status", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int o = open("/sf-output", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDONLY);
    if (f < 0 || st < 0 || o < 0) _exit(121);
    /* fds above 4 first, so that the dup2s below cannot clobber one another */
    f = fcntl(f, F_DUPFD, 10);
    st = fcntl(st, F_DUPFD, 10);
    o = fcntl(o, F_DUPFD, 10);
    if (nul >= 0) dup2(nul, 0);
    dup2(o, 1);
    dup2(o, 2);
    dup2(f, 3);
    dup2(st, 4);
    for (int fd = 5; fd < 64; fd++) close(fd);
    execv("/launcher", argv);
    _exit(122);
  }
  int status = reap(pid);

  static char audit[1 << 16];
  size_t alen = 0;
  if (kfd >= 0) {
    alen = read_audit(kfd, audit, sizeof audit, 0);
    /* the kernel's audit thread hands records to the log a little later */
    for (int tries = 0; (flags & 1) && alen == 0 && tries < 150; tries++) {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
      alen = read_audit(kfd, audit, sizeof audit, 0);
    }
    close(kfd);
  }
  put_header();
  put_u32((uint32_t)pid);
  put_u32((uint32_t)status);
  put_u32(kerr);
  put_u32((uint32_t)audit_err);
  put_file("/sf-status");
  put_file("/sf-output");
  put_blob(audit, alen);
  for (uint32_t i = 0; i < nargs; i++) free(argv[i]);
  free(argv);
  return 0;
}

/* ---- guest mode ---------------------------------------------------------------------------- */
static void __attribute__((noreturn)) guest_poweroff(void) {
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause(); /* PID 1 must never exit */
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

/* One answer as base64 lines between SFANS and SFEND (see "guest mode" above). */
static void guest_emit(uint32_t record, const uint8_t *p, size_t n) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char line[128];
  int len = snprintf(line, sizeof line, "SFANS %u %zu\n", record, n);
  write_all(1, line, (size_t)len);
  size_t chunk = 57 * 1024; /* whole 57-byte lines: no padding inside the stream */
  char *buf = malloc(chunk / 57 * 78 + 160);
  if (!buf) fail(1, "out of memory");
  for (size_t at = 0; at < n; at += chunk) {
    size_t end = at + chunk < n ? at + chunk : n, o = 0;
    for (size_t i = at; i < end; i += 57) {
      size_t m = end - i < 57 ? end - i : 57;
      for (size_t j = 0; j < m; j += 3) {
        uint32_t v = (uint32_t)p[i + j] << 16 | (j + 1 < m ? (uint32_t)p[i + j + 1] << 8 : 0) | (j + 2 < m ? p[i + j + 2] : 0);
        buf[o++] = b64[v >> 18];
        buf[o++] = b64[(v >> 12) & 63];
        buf[o++] = j + 1 < m ? b64[(v >> 6) & 63] : '=';
        buf[o++] = j + 2 < m ? b64[v & 63] : '=';
      }
      buf[o++] = '\n';
    }
    write_all(1, buf, o);
  }
  free(buf);
  len = snprintf(line, sizeof line, "SFEND %u\n", record);
  write_all(1, line, (size_t)len);
}

static int guest_main(void) {
  guest = 1;
  if (fcntl(1, F_GETFD) < 0) {
    /* no initial console: take it from a devtmpfs */
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) guest_poweroff();
    dup2(fd, 1);
    dup2(fd, 2);
  }
  /* Kernel messages never reach the console: they would break the framed answers. */
  klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1);
  if (access("/dev/kmsg", F_OK) != 0) {
    /* the launch mode reads the kernel log (and gives the launcher /dev/null) */
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  }
  /* the launch mode sets a sysctl, and the launcher's --pidns mounts a new /proc over this one */
  mkdir("/proc", 0555);
  mount("proc", "/proc", "proc", 0, NULL);
  int fd = open("/batch", O_RDONLY);
  if (fd < 0) fail(1, "no /batch in the initramfs");
  dup2(fd, 0);
  close(fd);
  read_all();
  uint8_t *all = in_buf;
  size_t all_len = in_len, at = 8;
  if (all_len < 8 || memcmp(all, "SFBATCH1", 8) != 0) fail(2, "/batch: bad magic");
  for (uint32_t record = 0; at < all_len; record++) {
    uint32_t mode, len;
    if (all_len - at < 8) fail(2, "/batch: truncated record header");
    memcpy(&mode, all + at, 4);
    memcpy(&len, all + at + 4, 4);
    at += 8;
    if (all_len - at < len) fail(2, "/batch: truncated record");
    in_buf = all + at;
    in_len = len;
    in_pos = 0;
    at += len;
    char *mem = NULL;
    size_t mem_len = 0;
    out = open_memstream(&mem, &mem_len);
    if (!out) fail(1, "open_memstream failed");
    if (mode == 0) mode_probe();
    else if (mode == 1) mode_accept();
    else if (mode == 2) mode_eval();
    else if (mode == 3) mode_launch();
    else fail(2, "/batch: unknown mode");
    if (fclose(out) != 0) fail(1, "memory stream failed");
    out = NULL;
    guest_emit(record, (const uint8_t *)mem, mem_len);
    free(mem);
  }
  write_all(1, "SFDONE\n", 7);
  guest_poweroff();
}

int main(int argc, char **argv) {
  static char outbuf[1 << 16];
  if (getpid() == 1) return guest_main();
  out = stdout;
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  if (argc != 2) fail(2, "usage: oracle probe|accept|eval");
  int rc;
  if (strcmp(argv[1], "probe") == 0) {
    rc = mode_probe();
  } else if (strcmp(argv[1], "accept") == 0) {
    read_all();
    rc = mode_accept();
  } else if (strcmp(argv[1], "eval") == 0) {
    read_all();
    rc = mode_eval();
  } else {
    fail(2, "usage: oracle probe|accept|eval");
    rc = 2;
  }
  if (fflush(out) != 0) fail(1, "write(stdout) failed");
  return rc;
}
