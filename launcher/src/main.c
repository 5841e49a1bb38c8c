/* sysfence-launcher: installs verified seccomp filters in an optional jail and execs a program
 * (a VMM), so that the program's pid is this process's pid. Started by sysfence's host API
 * (src/launch/); usable by hand. Usage: `sysfence-launcher --help`; protocol and order of
 * operations: ../README.md. */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct config cfg;
extern int fault_tsync;

static const char USAGE[] =
  "usage: sysfence-launcher [OPTIONS] -- PROGRAM [ARGS...]\n"
  "\n"
  "Filters (installed oldest first, just before exec):\n"
  "  --filter-fd N            read the filter bytes from descriptor N (concatenated, in order)\n"
  "  --filter LEN:SHA256      one filter: LEN bytes of struct sock_filter with this SHA-256 (repeat to stack)\n"
  "  --no-tsync | --log | --spec-allow   seccomp filter flags (TSYNC is on by default)\n"
  "  --diagnose notify|permissive        newest filter's kills come back as user notifications:\n"
  "                           notify reports the syscall and kills with SIGSYS, permissive reports and continues\n"
  "  --status-fd N            report to the host on descriptor N (see README)\n"
  "Process:\n"
  "  --die-with-parent [--parent-pid PID]   SIGKILL when the parent dies (race-free with PID)\n"
  "  --new-session            setsid()\n"
  "  --chdir DIR              working directory (inside the new root)\n"
  "  --stop-timeout MS        supervisor: SIGKILL this long after forwarding SIGTERM/SIGINT\n"
  "  --rlimit NAME=SOFT[:HARD]  as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack\n"
  "  --cgroup-join FILE       write our pid to FILE (a cgroup.procs file; repeat)\n"
  "  --cgroup-cleanup DIR     supervisor: remove this cgroup after exit (repeat)\n"
  "Namespaces and filesystem:\n"
  "  --userns [--uid-map 'IN OUT COUNT']... [--gid-map 'IN OUT COUNT']...\n"
  "  --pidns                  new PID namespace: a minimal PID 1 reaps and exits with the program; /proc remounted\n"
  "  --mountns                private mount namespace\n"
  "  --root DIR               pivot_root into DIR (default: a fresh tmpfs when binds are given)\n"
  "  --ro-bind SRC DST | --bind SRC DST | --dev-bind SRC DST\n"
  "  --dev | --proc | --tmp | --shm   minimal /dev, new /proc, private /tmp, private /dev/shm\n"
  "  --device kvm|tun         create /dev/kvm or /dev/net/tun\n"
  "Credentials:\n"
  "  --uid N | --gid N        switch to these ids (inside the user namespace, if any)\n"
  "  --clear-caps             empty bounding, ambient, permitted, effective and inheritable sets\n"
  "Landlock:\n"
  "  --landlock [--landlock-ro P]... [--landlock-rx P]... [--landlock-rw P]... [--landlock-no-scope] [--landlock-allow-tcp]\n"
  "  --landlock-system        also: library directories (rx), /etc/ld.so.cache (ro), null/zero/full/random/urandom\n"
  "                           and requested kvm/tun nodes (rw), where they exist\n"
  "Other:\n"
  "  --probe                  print what this kernel allows (for sysfence doctor) and exit\n"
  "Testing only (fault injection, never passed by sysfence):\n"
  "  --fault-tsync            a second thread installs a filter of its own first, so TSYNC fails\n";

static void usage_error(const char *fmt, const char *arg) {
  char text[512];
  snprintf(text, sizeof text, fmt, arg);
  fail_at(0, "usage", "%s (see --help)", text);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static long parse_long(const char *s, const char *opt) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end) usage_error("bad number for %s", opt);
  return v;
}

/* A uid or gid for setresuid/setresgid: 0..4294967294. 4294967295 is (uid_t)-1, which the
 * kernel reads as "leave unchanged", and anything larger would wrap (2^32 becomes 0, root):
 * both would silently keep the launcher's own ids, so they are refused here even though the
 * host already refuses them (defence in depth). */
static long parse_id(const char *s, const char *opt) {
  char *end;
  errno = 0;
  if (*s < '0' || *s > '9') usage_error("%s takes an id 0..4294967294", opt);
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || v > 4294967294ULL) usage_error("%s takes an id 0..4294967294", opt);
  return (long)v;
}

static void add_map(char *buf, size_t cap, const char *line) {
  size_t len = strlen(buf);
  if (len + strlen(line) + 2 > cap) usage_error("id map too long: %s", line);
  snprintf(buf + len, cap - len, "%s%s", len ? "\n" : "", line);
}

static void parse_filter_pin(const char *s) {
  if (cfg.nfilters >= MAX_FILTERS) usage_error("too many filters (at most %s)", "64");
  char *end;
  errno = 0;
  unsigned long long len = strtoull(s, &end, 10);
  if (errno || end == s || *end != ':' || strlen(end + 1) != 64) usage_error("--filter takes LEN:SHA256 (64 hex digits), not %s", s);
  if (len == 0 || len % 8 != 0 || len / 8 > 4096) usage_error("--filter length must be 8..32768 bytes in steps of 8, not %s", s);
  struct filter_pin *f = &cfg.filters[cfg.nfilters++];
  f->len = (size_t)len;
  for (int i = 0; i < 32; i++) {
    int hi = hexval(end[1 + 2 * i]), lo = hexval(end[2 + 2 * i]);
    if (hi < 0 || lo < 0) usage_error("--filter SHA-256 must be hex: %s", s);
    f->sha[i] = (uint8_t)(hi << 4 | lo);
  }
}

int main(int argc, char **argv) {
  memset(&cfg, 0, sizeof cfg);
  cfg.filter_fd = -1;
  cfg.status_fd = -1;
  cfg.tsync = 1;
  cfg.uid = cfg.gid = -1;
  cfg.landlock_scope = 1;
  cfg.stop_timeout_ms = 0;
  int probe = 0;
  int i = 1;
#define NEED(n) \
  do { \
    if (i + (n) >= argc) usage_error("%s needs an argument", a); \
  } while (0)
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (a[0] != '-') break;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(USAGE, stdout);
      return 0;
    } else if (!strcmp(a, "--probe")) probe = 1;
    else if (!strcmp(a, "--filter-fd")) { NEED(1); cfg.filter_fd = (int)parse_long(argv[++i], a); }
    else if (!strcmp(a, "--filter")) { NEED(1); parse_filter_pin(argv[++i]); }
    else if (!strcmp(a, "--status-fd")) { NEED(1); cfg.status_fd = (int)parse_long(argv[++i], a); }
    else if (!strcmp(a, "--no-tsync")) cfg.tsync = 0;
    else if (!strcmp(a, "--log")) cfg.log = 1;
    else if (!strcmp(a, "--spec-allow")) cfg.spec_allow = 1;
    else if (!strcmp(a, "--diagnose")) {
      NEED(1);
      const char *m = argv[++i];
      if (!strcmp(m, "notify")) cfg.diag = DIAG_NOTIFY;
      else if (!strcmp(m, "permissive")) cfg.diag = DIAG_PERMISSIVE;
      else usage_error("--diagnose takes notify or permissive, not %s", m);
    }
    else if (!strcmp(a, "--parent-pid")) { NEED(1); cfg.parent_pid = (pid_t)parse_long(argv[++i], a); }
    else if (!strcmp(a, "--die-with-parent")) cfg.die_with_parent = 1;
    else if (!strcmp(a, "--new-session")) cfg.new_session = 1;
    else if (!strcmp(a, "--chdir")) { NEED(1); cfg.chdir_to = argv[++i]; }
    else if (!strcmp(a, "--stop-timeout")) { NEED(1); cfg.stop_timeout_ms = (int)parse_long(argv[++i], a); }
    else if (!strcmp(a, "--userns")) cfg.userns = 1;
    else if (!strcmp(a, "--uid-map")) { NEED(1); add_map(cfg.uid_map, sizeof cfg.uid_map, argv[++i]); }
    else if (!strcmp(a, "--gid-map")) { NEED(1); add_map(cfg.gid_map, sizeof cfg.gid_map, argv[++i]); }
    else if (!strcmp(a, "--pidns")) cfg.pidns = 1;
    else if (!strcmp(a, "--mountns")) cfg.mountns = 1;
    else if (!strcmp(a, "--root")) { NEED(1); cfg.root = argv[++i]; }
    else if (!strcmp(a, "--ro-bind") || !strcmp(a, "--bind") || !strcmp(a, "--dev-bind")) {
      NEED(2);
      if (cfg.nbinds >= MAX_BINDS) usage_error("too many binds (%s)", a);
      struct bind *b = &cfg.binds[cfg.nbinds++];
      b->src = argv[++i];
      b->dst = argv[++i];
      b->kind = !strcmp(a, "--ro-bind") ? BIND_RO : !strcmp(a, "--bind") ? BIND_RW : BIND_DEV;
      if (b->src[0] != '/' || b->dst[0] != '/') usage_error("bind paths must be absolute (%s)", b->src);
    }
    else if (!strcmp(a, "--dev")) cfg.dev = 1;
    else if (!strcmp(a, "--proc")) cfg.proc = 1;
    else if (!strcmp(a, "--tmp")) cfg.tmp = 1;
    else if (!strcmp(a, "--shm")) cfg.shm = 1;
    else if (!strcmp(a, "--device")) {
      NEED(1);
      const char *d = argv[++i];
      if (!strcmp(d, "kvm")) cfg.dev_kvm = 1;
      else if (!strcmp(d, "tun")) cfg.dev_tun = 1;
      else usage_error("--device takes kvm or tun, not %s", d);
    }
    else if (!strcmp(a, "--uid")) { NEED(1); cfg.uid = parse_id(argv[++i], a); }
    else if (!strcmp(a, "--gid")) { NEED(1); cfg.gid = parse_id(argv[++i], a); }
    else if (!strcmp(a, "--clear-caps")) cfg.clear_caps = 1;
    else if (!strcmp(a, "--cgroup-join")) {
      NEED(1);
      if (cfg.njoin >= MAX_LIST) usage_error("too many %s", a);
      cfg.cg_join[cfg.njoin++] = argv[++i];
    }
    else if (!strcmp(a, "--cgroup-cleanup")) {
      NEED(1);
      if (cfg.ncleanup >= MAX_LIST) usage_error("too many %s", a);
      cfg.cg_cleanup[cfg.ncleanup++] = argv[++i];
    }
    else if (!strcmp(a, "--rlimit")) {
      NEED(1);
      if (cfg.nrlimits >= 64) usage_error("too many %s", a);
      if (parse_rlimit(argv[++i], &cfg.rlimits[cfg.nrlimits]) < 0) usage_error("bad --rlimit %s (NAME=SOFT[:HARD])", argv[i]);
      cfg.nrlimits++;
    }
    else if (!strcmp(a, "--landlock")) cfg.landlock = 1;
    else if (!strcmp(a, "--landlock-no-scope")) cfg.landlock_scope = 0;
    else if (!strcmp(a, "--landlock-allow-tcp")) cfg.landlock_tcp = 1;
    else if (!strcmp(a, "--landlock-system")) cfg.landlock_system = 1;
    else if (!strcmp(a, "--landlock-ro") || !strcmp(a, "--landlock-rx") || !strcmp(a, "--landlock-rw")) {
      NEED(1);
      if (cfg.nll >= MAX_LIST) usage_error("too many %s", a);
      cfg.ll[cfg.nll].path = argv[++i];
      cfg.ll[cfg.nll].kind = !strcmp(a, "--landlock-ro") ? LL_RO : !strcmp(a, "--landlock-rx") ? LL_RX : LL_RW;
      cfg.nll++;
    }
    else if (!strcmp(a, "--fault-tsync")) fault_tsync = 1; /* test-only fault injection */
    else usage_error("unknown option %s", a);
  }
  if (probe) return run_probe();
  if (cfg.status_fd >= 0 && fcntl(cfg.status_fd, F_SETFD, FD_CLOEXEC) < 0) {
    int e = errno;
    cfg.status_fd = -1;
    fail_at(e, "usage", "--status-fd is not an open descriptor");
  }
  if (i >= argc) usage_error("%s", "no program to run: give -- PROGRAM [ARGS...]");
  cfg.argv = argv + i;
  if (!cfg.uid_map[0]) snprintf(cfg.uid_map, sizeof cfg.uid_map, "0 %d 1", (int)geteuid());
  if (!cfg.gid_map[0]) snprintf(cfg.gid_map, sizeof cfg.gid_map, "0 %d 1", (int)getegid());
  if (cfg.diag != DIAG_NONE && cfg.nfilters == 0) usage_error("%s needs a filter", "--diagnose");

  read_filters();
  if (cfg.die_with_parent) set_pdeathsig_checked(cfg.parent_pid);
  if (cfg.new_session && setsid() < 0 && getsid(0) != getpid()) fail_at(errno, "session", "setsid");
  if (cfg.pidns || cfg.diag != DIAG_NONE) run_supervised();
  jail_and_exec(NULL);
}
