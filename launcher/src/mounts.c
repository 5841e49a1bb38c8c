/* Mount namespace: a private copy of the mount tree, optionally a new root (a prepared
 * directory or a fresh tmpfs) populated with bind mounts, a minimal /dev, device nodes, /proc,
 * private /tmp and /dev/shm, then pivot_root into it. The construction follows bubblewrap's:
 * a staging tmpfs becomes the root first, so the old root stays reachable as /oldroot while
 * the new one is built, and is detached before the final pivot. */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif
#define SF_MOUNT_ATTR_RDONLY 0x00000001
#define SF_MOUNT_ATTR_NODEV 0x00000004
#define SF_AT_RECURSIVE 0x8000

struct sf_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define STAGE "/tmp"

int need_mount_setup(void) {
  return cfg.mountns || cfg.pidns || cfg.root || cfg.nbinds || cfg.dev || cfg.proc || cfg.tmp || cfg.shm ||
         cfg.dev_kvm || cfg.dev_tun;
}

static int new_tree(void) { return cfg.root || cfg.nbinds || cfg.dev; }

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) < 0)
    fail_at(errno, "mount", "mount %s on %s%s%s", src ? src : "(none)", dst, type ? " type " : "", type ? type : "");
}

/* Read-only (and nodev) for a bind mount and everything under it. */
static void restrict_bind(const char *path, int ro, int nodev) {
  if (!ro && !nodev) return;
  struct sf_mount_attr a = {0, 0, 0, 0};
  if (ro) a.attr_set |= SF_MOUNT_ATTR_RDONLY;
  if (nodev) a.attr_set |= SF_MOUNT_ATTR_NODEV;
  if (syscall(SYS_mount_setattr, AT_FDCWD, path, SF_AT_RECURSIVE, &a, sizeof a) == 0) return;
  if (errno != ENOSYS) fail_at(errno, "mount", "making %s %s", path, ro ? "read-only" : "nodev");
  /* Older kernels: remount the top mount, keeping the flags a user namespace may not clear. */
  struct statvfs sv;
  unsigned long keep = 0;
  if (statvfs(path, &sv) == 0) {
    if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY) keep |= MS_RDONLY;
  }
  do_mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep | (ro ? MS_RDONLY : 0) | (nodev ? MS_NODEV : 0), NULL);
}

static void join_path(char *out, size_t cap, const char *a, const char *b) {
  if (snprintf(out, cap, "%s%s%s", a, b[0] == '/' ? "" : "/", b) >= (int)cap)
    fail_at(ENAMETOOLONG, "mount", "%s%s", a, b);
}

static void bind_into(const char *src_abs, const char *dst_rel, enum bind_kind kind) {
  char src[4096], dst[4096];
  join_path(src, sizeof src, "/oldroot", src_abs);
  join_path(dst, sizeof dst, "/newroot", dst_rel);
  struct stat st;
  if (stat(src, &st) < 0) fail_at(errno, "mount", "bind source %s", src_abs);
  if (ensure_mountpoint(dst, S_ISDIR(st.st_mode)) < 0) fail_at(errno, "mount", "creating %s in the new root", dst_rel);
  do_mount(src, dst, NULL, MS_BIND | MS_REC, NULL);
  restrict_bind(dst, kind == BIND_RO, kind != BIND_DEV);
}

/* A device node: mknod where allowed (real root), else a bind of the host's node (user
 * namespaces may not create device nodes). */
static void device_node(const char *root, const char *rel, unsigned maj, unsigned min) {
  char dst[4096];
  join_path(dst, sizeof dst, root, rel);
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", dst);
  char *slash = strrchr(parent, '/');
  if (slash) {
    *slash = 0;
    if (mkdir_p(parent, 0755) < 0) fail_at(errno, "devices", "creating %s", parent);
  }
  struct stat st;
  if (stat(dst, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min) goto own;
  if (stat(dst, &st) == 0) unlink(dst);
  if (mknod(dst, S_IFCHR | 0660, makedev(maj, min)) == 0) goto own;
  if (errno != EPERM || strcmp(root, "/newroot") != 0) fail_at(errno, "devices", "mknod %s (char %u:%u)", rel, maj, min);
  {
    char src[4096];
    join_path(src, sizeof src, "/oldroot", rel);
    if (ensure_mountpoint(dst, 0) < 0) fail_at(errno, "devices", "creating %s", rel);
    do_mount(src, dst, NULL, MS_BIND, NULL);
  }
own:
  if (cfg.uid >= 0 || cfg.gid >= 0)
    if (chown(dst, cfg.uid >= 0 ? (uid_t)cfg.uid : (uid_t)-1, cfg.gid >= 0 ? (gid_t)cfg.gid : (gid_t)-1) < 0 && errno != EPERM &&
        errno != EROFS)
      fail_at(errno, "devices", "chown %s", rel);
}

static void mount_proc(const char *at, int fallback_bind) {
  if (mkdir_p(at, 0555) < 0) fail_at(errno, "mount", "creating %s", at);
  if (mount("proc", at, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) return;
  /* In a user namespace that does not own our PID namespace the kernel refuses a new proc
   * instance; the host's /proc (bound) is the next best thing. */
  if (errno == EPERM && fallback_bind) {
    do_mount("/oldroot/proc", at, NULL, MS_BIND | MS_REC, NULL);
    return;
  }
  fail_at(errno, "mount", "mount proc on %s", at);
}

static void mount_tmpfs(const char *at, const char *opts) {
  if (mkdir_p(at, 0755) < 0) fail_at(errno, "mount", "creating %s", at);
  do_mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

static void minimal_dev(void) {
  mount_tmpfs("/newroot/dev", "mode=0755");
  static const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "/dev/%s", nodes[i]);
    char src[128];
    snprintf(src, sizeof src, "/oldroot/dev/%s", nodes[i]);
    struct stat st;
    if (stat(src, &st) < 0) continue;
    bind_into(rel, rel, BIND_DEV);
  }
  static const char *links[][2] = {
    {"/proc/self/fd", "/newroot/dev/fd"}, {"/proc/self/fd/0", "/newroot/dev/stdin"},
    {"/proc/self/fd/1", "/newroot/dev/stdout"}, {"/proc/self/fd/2", "/newroot/dev/stderr"},
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST) fail_at(errno, "mount", "symlink %s", links[i][1]);
  mkdir("/newroot/dev/shm", 01777);
  mkdir("/newroot/dev/pts", 0755);
}

void setup_mounts(void) {
  if (unshare(CLONE_NEWNS) < 0) fail_at(errno, "mount", "unshare(CLONE_NEWNS)");
  do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  int want_proc = cfg.proc || cfg.pidns;

  if (!new_tree()) {
    /* The host's tree, privately: only the extra mounts. */
    if (want_proc) {
      if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && !(errno == EPERM && !cfg.pidns))
        fail_at(errno, "mount", "mount proc on /proc");
    }
    if (cfg.tmp) mount_tmpfs("/tmp", "mode=1777");
    if (cfg.shm) mount_tmpfs("/dev/shm", "mode=1777");
    if (cfg.dev_kvm) device_node("/", "/dev/kvm", 10, 232);
    if (cfg.dev_tun) device_node("/", "/dev/net/tun", 10, 200);
    return;
  }

  /* Staging root: a tmpfs over /tmp (in this namespace only) becomes / with the old root at
   * /oldroot and the new one being built at /newroot. */
  do_mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  if (chdir(STAGE) < 0) fail_at(errno, "mount", "chdir %s", STAGE);
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) fail_at(errno, "mount", "staging directories");
  if (syscall(SYS_pivot_root, ".", "oldroot") < 0) fail_at(errno, "mount", "pivot_root into the staging tmpfs");
  if (chdir("/") < 0) fail_at(errno, "mount", "chdir /");

  if (cfg.root) {
    char src[4096];
    join_path(src, sizeof src, "/oldroot", cfg.root);
    struct stat st;
    if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode)) fail_at(errno ? errno : ENOTDIR, "mount", "root %s", cfg.root);
    do_mount(src, "/newroot", NULL, MS_BIND | MS_REC, NULL);
  } else {
    do_mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  }
  for (int i = 0; i < cfg.nbinds; i++) bind_into(cfg.binds[i].src, cfg.binds[i].dst, cfg.binds[i].kind);
  if (cfg.dev) minimal_dev();
  if (cfg.dev_kvm) device_node("/newroot", "/dev/kvm", 10, 232);
  if (cfg.dev_tun) device_node("/newroot", "/dev/net/tun", 10, 200);
  if (want_proc) mount_proc("/newroot/proc", !cfg.pidns);
  if (cfg.tmp) mount_tmpfs("/newroot/tmp", "mode=1777");
  if (cfg.shm) mount_tmpfs("/newroot/dev/shm", "mode=1777");

  if (umount2("/oldroot", MNT_DETACH) < 0) fail_at(errno, "mount", "detaching the old root");
  if (chdir("/newroot") < 0) fail_at(errno, "mount", "chdir /newroot");
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail_at(errno, "mount", "pivot_root into the new root");
  if (umount2(".", MNT_DETACH) < 0) fail_at(errno, "mount", "detaching the staging root");
  if (chdir("/") < 0) fail_at(errno, "mount", "chdir / in the new root");
}
