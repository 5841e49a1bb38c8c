/* Credentials and process attributes: user namespace and its id maps, cgroup placement,
 * rlimits, uid/gid drop, capabilities, die-with-parent. */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_map(pid_t pid, const char *file, const char *text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  return write_file(path, text);
}

/* Writes the uid and gid maps of `pid`'s user namespace (from its parent namespace). Returns 0
 * or an errno. */
int write_id_maps(pid_t pid) {
  if (write_map(pid, "uid_map", cfg.uid_map) < 0) return errno ? errno : EPERM;
  if (write_map(pid, "gid_map", cfg.gid_map) < 0) {
    if (errno != EPERM) return errno;
    /* Without CAP_SETGID in the parent namespace, setgroups must be denied first. */
    if (write_map(pid, "setgroups", "deny") < 0) return errno;
    if (write_map(pid, "gid_map", cfg.gid_map) < 0) return errno;
  }
  return 0;
}

/* Exec mode: unshare the user namespace; a helper left in the parent namespace writes the maps
 * (so ranges and other ids than our own can be mapped where the caller may do so). */
void setup_userns(void) {
  pid_t self = getpid();
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) fail_at(errno, "userns", "pipe");
  pid_t h = fork();
  if (h < 0) fail_at(errno, "userns", "fork of the map writer");
  if (h == 0) {
    close(p[1]);
    char c;
    if (read(p[0], &c, 1) != 1) _exit(EPIPE);
    _exit(write_id_maps(self));
  }
  close(p[0]);
  if (unshare(CLONE_NEWUSER) < 0) {
    int e = errno;
    kill(h, SIGKILL);
    waitpid(h, NULL, 0);
    fail_at(e, "userns", "unshare(CLONE_NEWUSER)%s", e == EPERM || e == ENOSPC || e == EUSERS
            ? " (user namespaces are restricted here: see `sysfence doctor`)" : "");
  }
  if (write(p[1], "x", 1) != 1) fail_at(errno, "userns", "waking the map writer");
  close(p[1]);
  int st;
  while (waitpid(h, &st, 0) < 0)
    if (errno != EINTR) fail_at(errno, "userns", "waitpid");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_at(WIFEXITED(st) ? WEXITSTATUS(st) : 0, "userns", "writing uid_map \"%s\" / gid_map \"%s\"", cfg.uid_map, cfg.gid_map);
  become_ns_root();
}

/* In a new user namespace our ids are the host's, usually unmapped there: switch to the
 * namespace's root (inside id 0), as `unshare -r` does. --uid/--gid drop from there later. */
void become_ns_root(void) {
  if (setgroups(0, NULL) < 0 && errno != EPERM) fail_at(errno, "userns", "setgroups([])");
  if (setresgid(0, 0, 0) < 0) fail_at(errno, "userns", "setresgid(0) inside the namespace (is inside gid 0 mapped?)");
  if (setresuid(0, 0, 0) < 0) fail_at(errno, "userns", "setresuid(0) inside the namespace (is inside uid 0 mapped?)");
}

void join_cgroups(void) {
  char pid[32];
  snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (int i = 0; i < cfg.njoin; i++)
    if (write_file(cfg.cg_join[i], pid) < 0) fail_at(errno, "cgroup", "joining %s", cfg.cg_join[i]);
}

static const struct {
  const char *name;
  int res;
} RLIMITS[] = {
  {"as", RLIMIT_AS}, {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA},
  {"fsize", RLIMIT_FSIZE}, {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK},
  {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE},
  {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO},
  {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

static int parse_limit(const char *s, unsigned long long *out) {
  if (!strcmp(s, "unlimited") || !strcmp(s, "infinity") || !strcmp(s, "inf")) {
    *out = RLIM_INFINITY;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

/* NAME=SOFT[:HARD] */
int parse_rlimit(const char *spec, struct rlim_req *out) {
  const char *eq = strchr(spec, '=');
  if (!eq) return -1;
  size_t nl = (size_t)(eq - spec);
  out->resource = -1;
  for (size_t i = 0; i < sizeof RLIMITS / sizeof RLIMITS[0]; i++)
    if (strlen(RLIMITS[i].name) == nl && !strncmp(RLIMITS[i].name, spec, nl)) out->resource = RLIMITS[i].res;
  if (out->resource < 0) return -1;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", eq + 1);
  char *colon = strchr(buf, ':');
  if (colon) *colon = 0;
  if (parse_limit(buf, &out->soft) < 0) return -1;
  if (colon) {
    if (parse_limit(colon + 1, &out->hard) < 0) return -1;
  } else {
    out->hard = out->soft;
  }
  return out->soft <= out->hard || out->hard == RLIM_INFINITY ? 0 : -1;
}

void apply_rlimits(void) {
  for (int i = 0; i < cfg.nrlimits; i++) {
    struct rlimit r = {cfg.rlimits[i].soft, cfg.rlimits[i].hard};
    if (setrlimit(cfg.rlimits[i].resource, &r) < 0) fail_at(errno, "rlimit", "setrlimit(%d)", cfg.rlimits[i].resource);
  }
}

static int setgroups_denied(void) {
  char buf[16] = {0};
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && !strncmp(buf, "deny", 4);
}

static void drop_bounding(void) {
  int last = 63;
  char buf[16] = {0};
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) > 0) last = atoi(buf);
    close(fd);
  }
  for (int c = 0; c <= last; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      fail_at(errno, "capabilities", "dropping capability %d from the bounding set", c);
}

/* A privilege drop that is not checked is not a privilege drop: read the ids back and refuse to
 * go on unless real, effective and saved ids are exactly the ones asked for, and the
 * supplementary groups are exactly [gid] when setgroups was allowed (in a user namespace with
 * setgroups denied they cannot be changed, and the kernel maps them to the overflow gid). */
static void verify_credentials(int groups_set) {
  if (cfg.gid >= 0) {
    gid_t r, e, sv;
    if (getresgid(&r, &e, &sv) < 0) fail_at(errno, "credentials", "getresgid after setresgid(%ld)", cfg.gid);
    if (r != (gid_t)cfg.gid || e != (gid_t)cfg.gid || sv != (gid_t)cfg.gid)
      fail_at(EPERM, "credentials", "gid drop to %ld did not hold (getresgid says otherwise)", cfg.gid);
    if (groups_set) {
      gid_t list[2];
      int n = getgroups(2, list);
      if (n != 1 || list[0] != (gid_t)cfg.gid) fail_at(EPERM, "credentials", "supplementary groups are not exactly [%ld]", cfg.gid);
    }
  }
  if (cfg.uid >= 0) {
    uid_t r, e, sv;
    if (getresuid(&r, &e, &sv) < 0) fail_at(errno, "credentials", "getresuid after setresuid(%ld)", cfg.uid);
    if (r != (uid_t)cfg.uid || e != (uid_t)cfg.uid || sv != (uid_t)cfg.uid)
      fail_at(EPERM, "credentials", "uid drop to %ld did not hold (getresuid says otherwise)", cfg.uid);
  }
}

void drop_credentials(void) {
  if (cfg.clear_caps) drop_bounding();
  int groups_set = 0;
  if (cfg.gid >= 0) {
    gid_t g = (gid_t)cfg.gid;
    if (setgroups(1, &g) == 0) groups_set = 1;
    else if (!(errno == EPERM && setgroups_denied())) fail_at(errno, "credentials", "setgroups([%ld])", cfg.gid);
    if (setresgid(g, g, g) < 0) fail_at(errno, "credentials", "setresgid(%ld)", cfg.gid);
  }
  if (cfg.uid >= 0) {
    uid_t u = (uid_t)cfg.uid;
    if (setresuid(u, u, u) < 0) fail_at(errno, "credentials", "setresuid(%ld)", cfg.uid);
  }
  verify_credentials(groups_set);
}

void clear_capabilities(void) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    fail_at(errno, "capabilities", "clearing the ambient set");
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capset, &h, d) < 0) fail_at(errno, "capabilities", "capset(0)");
}

void set_pdeathsig_checked(pid_t expected_parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail_at(errno, "die-with-parent", "prctl(PR_SET_PDEATHSIG)");
  /* The parent may have died before the prctl: then we were re-parented and must not run. */
  if (expected_parent > 0 && getppid() != expected_parent) _exit(EXIT_LAUNCHER);
}
