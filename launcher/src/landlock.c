/* Landlock: filesystem access limited to the given paths (read-only, read+execute,
 * read-write), TCP bind/connect denied where the kernel handles network rights (ABI 4+), and
 * abstract unix sockets and signals scoped to the sandbox (ABI 6+). Constants are defined here
 * so the launcher builds against older kernel headers. */
#include "launcher.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_REMOVE_DIR (1ULL << 4)
#define FS_REMOVE_FILE (1ULL << 5)
#define FS_MAKE_CHAR (1ULL << 6)
#define FS_MAKE_DIR (1ULL << 7)
#define FS_MAKE_REG (1ULL << 8)
#define FS_MAKE_SOCK (1ULL << 9)
#define FS_MAKE_FIFO (1ULL << 10)
#define FS_MAKE_BLOCK (1ULL << 11)
#define FS_MAKE_SYM (1ULL << 12)
#define FS_REFER (1ULL << 13)
#define FS_TRUNCATE (1ULL << 14)
#define FS_IOCTL_DEV (1ULL << 15)
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct ll_path_beneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

/* PT_INTERP of a 64-bit ELF file (the dynamic loader), if it has one. */
static int elf_interpreter(const char *path, char *out, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  Elf64_Ehdr eh;
  int rc = -1;
  if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
      eh.e_ident[EI_CLASS] == ELFCLASS64) {
    for (int i = 0; i < eh.e_phnum && i < 256; i++) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != (ssize_t)sizeof ph) break;
      if (ph.p_type != PT_INTERP || ph.p_filesz == 0 || ph.p_filesz >= cap) continue;
      if (pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz) {
        out[ph.p_filesz] = 0;
        rc = 0;
      }
      break;
    }
  }
  close(fd);
  return rc;
}

int landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return v < 0 ? -errno : (int)v;
}

static uint64_t fs_all(int abi) {
  uint64_t a = (FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0-12 */
  if (abi >= 2) a |= FS_REFER;
  if (abi >= 3) a |= FS_TRUNCATE;
  if (abi >= 5) a |= FS_IOCTL_DEV;
  return a;
}

static const uint64_t FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;

static void add_path(int rs, const char *path, uint64_t access, uint64_t handled) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) fail_at(errno, "landlock", "%s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) fail_at(errno, "landlock", "%s", path);
  access &= handled;
  if (!S_ISDIR(st.st_mode)) access &= FILE_RIGHTS;
  struct ll_path_beneath pb = {access, fd};
  if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
    fail_at(errno, "landlock", "adding a rule for %s", path);
  close(fd);
}

void apply_landlock(void) {
  int abi = landlock_abi();
  if (abi < 1)
    fail_at(-abi, "landlock", "this kernel has no Landlock (landlock_create_ruleset version query failed)");
  struct ll_ruleset_attr attr = {fs_all(abi), 0, 0};
  size_t size = 16; /* handled_access_net 0: TCP not handled */
  if (abi >= 4 && !cfg.landlock_tcp) {
    attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
    size = 16;
  }
  if (abi >= 6 && cfg.landlock_scope) {
    attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
    size = 24;
  }
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0) fail_at(errno, "landlock", "landlock_create_ruleset (ABI %d)", abi);
  const uint64_t ro = FS_READ_FILE | FS_READ_DIR;
  const uint64_t rx = ro | FS_EXECUTE;
  const uint64_t rw = fs_all(abi);
  for (int i = 0; i < cfg.nll; i++) {
    uint64_t a = cfg.ll[i].kind == LL_RO ? ro : cfg.ll[i].kind == LL_RX ? rx : rw;
    add_path(rs, cfg.ll[i].path, a, attr.handled_access_fs);
  }
  if (cfg.landlock_system) {
    static const char *rxs[] = {"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/libexec"};
    static const char *ros[] = {"/etc/ld.so.cache"};
    static const char *rws[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};
    struct stat st;
    for (size_t i = 0; i < sizeof rxs / sizeof rxs[0]; i++)
      if (stat(rxs[i], &st) == 0) add_path(rs, rxs[i], rx, attr.handled_access_fs);
    for (size_t i = 0; i < sizeof ros / sizeof ros[0]; i++)
      if (stat(ros[i], &st) == 0) add_path(rs, ros[i], ro, attr.handled_access_fs);
    for (size_t i = 0; i < sizeof rws / sizeof rws[0]; i++)
      if (stat(rws[i], &st) == 0) add_path(rs, rws[i], rw, attr.handled_access_fs);
    if (cfg.dev_kvm && stat("/dev/kvm", &st) == 0) add_path(rs, "/dev/kvm", rw, attr.handled_access_fs);
    if (cfg.dev_tun && stat("/dev/net/tun", &st) == 0) add_path(rs, "/dev/net/tun", rw, attr.handled_access_fs);
  }
  /* The program itself and its ELF interpreter must stay executable. */
  if (cfg.exec_path[0]) {
    add_path(rs, cfg.exec_path, rx, attr.handled_access_fs);
    char interp[4096];
    if (elf_interpreter(cfg.exec_path, interp, sizeof interp) == 0) add_path(rs, interp, rx, attr.handled_access_fs);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_at(errno, "landlock", "prctl(PR_SET_NO_NEW_PRIVS)");
  if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) fail_at(errno, "landlock", "landlock_restrict_self");
  close(rs);
}
