/* sysfence-launcher: shared declarations. See ../README.md for the protocol and the order of
 * operations. Every source file of the launcher includes this header. */
#ifndef SYSFENCE_LAUNCHER_H
#define SYSFENCE_LAUNCHER_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_FILTERS 64
#define MAX_BINDS 256
#define MAX_LIST 256

/* Exit codes of the launcher itself (the VMM's own codes pass through unchanged). */
#define EXIT_LAUNCHER 125 /* the launcher failed before exec */
#define EXIT_NOEXEC 126   /* the program exists but cannot be executed */
#define EXIT_NOENT 127    /* the program does not exist */

enum diag_mode { DIAG_NONE = 0, DIAG_NOTIFY, DIAG_PERMISSIVE };

enum bind_kind { BIND_RO = 0, BIND_RW = 1, BIND_DEV = 2 };

struct bind {
  const char *src;
  const char *dst;
  enum bind_kind kind;
};

struct filter_pin {
  size_t len;
  uint8_t sha[32];
};

/* Landlock access classes for a path. */
enum ll_kind { LL_RO = 0, LL_RX = 1, LL_RW = 2 };

struct ll_path {
  const char *path;
  enum ll_kind kind;
};

struct rlim_req {
  int resource;
  unsigned long long soft, hard;
};

struct config {
  /* filters */
  int filter_fd;
  int nfilters;
  struct filter_pin filters[MAX_FILTERS];
  uint8_t *filter_bytes[MAX_FILTERS];
  int tsync, log, spec_allow;
  enum diag_mode diag;
  /* host channel */
  int status_fd;
  /* process */
  pid_t parent_pid;
  int die_with_parent;
  int new_session;
  const char *chdir_to;
  int stop_timeout_ms;
  /* namespaces */
  int userns;
  char uid_map[1024];
  char gid_map[1024];
  int pidns;
  int mountns;
  /* filesystem */
  const char *root;
  int nbinds;
  struct bind binds[MAX_BINDS];
  int dev, proc, tmp, shm;
  int dev_kvm, dev_tun;
  /* credentials */
  long uid, gid;
  int clear_caps;
  /* cgroups: cgroup.procs files to join, directories to remove after exit (supervisor) */
  int njoin;
  const char *cg_join[MAX_LIST];
  int ncleanup;
  const char *cg_cleanup[MAX_LIST];
  /* rlimits */
  int nrlimits;
  struct rlim_req rlimits[64];
  /* landlock */
  int landlock;
  int landlock_scope;
  int landlock_tcp; /* do not handle (deny) TCP bind/connect */
  int landlock_system; /* add the system library directories and basic device nodes */
  int nll;
  struct ll_path ll[MAX_LIST];
  /* what to run */
  char **argv;
  char exec_path[4096];
};

extern struct config cfg;

/* util.c */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail_at(int err, const char *stage, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
void fail_code(int code, int err, const char *stage, const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn));
void status_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_file(const char *path, const char *text);
int mkdir_p(const char *path, mode_t mode);
int ensure_mountpoint(const char *path, int is_dir);
ssize_t read_full(int fd, void *buf, size_t len);
const char *errno_name(int err);
extern const char *progname;

/* sha256.c */
void sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* filters.c */
void read_filters(void);
void install_filters(int *listener_out);
void exec_program(void) __attribute__((noreturn));
int resolve_program(void);

/* mounts.c */
int need_mount_setup(void);
void setup_mounts(void);

/* creds.c */
void setup_userns(void);
int write_id_maps(pid_t pid);
void become_ns_root(void);
void join_cgroups(void);
void apply_rlimits(void);
void drop_credentials(void);
void clear_capabilities(void);
void set_pdeathsig_checked(pid_t expected_parent);
int parse_rlimit(const char *spec, struct rlim_req *out);

/* landlock.c */
int landlock_abi(void);
void apply_landlock(void);

/* supervise.c */
void run_supervised(void) __attribute__((noreturn));
void jail_and_exec(void *shared) __attribute__((noreturn));

/* probe.c */
int run_probe(void);

#endif
