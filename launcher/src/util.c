/* Messages to the host (the status descriptor) or, when run by hand, to stderr; small file
 * helpers. Status lines are the protocol documented in ../README.md. */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *progname = "sysfence-launcher";
/* Supervised child: the socket to the supervisor, told "!" before a failure exit. */
int ctl_fd = -1;

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

void status_line(const char *fmt, ...) {
  if (cfg.status_fd < 0) return;
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  write_all(cfg.status_fd, buf, (size_t)n);
}

void msg(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (cfg.status_fd >= 0) {
    status_line("W %s", buf);
  } else {
    char line[4200];
    int n = snprintf(line, sizeof line, "%s: %s\n", progname, buf);
    if (n > 0) write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
}

static void vfail(int code, int err, const char *stage, const char *fmt, va_list ap) {
  if (ctl_fd >= 0) {
    ssize_t n = write(ctl_fd, "!", 1);
    (void)n;
  }
  char text[4096];
  vsnprintf(text, sizeof text, fmt, ap);
  for (char *p = text; *p; p++)
    if (*p == '\n') *p = ' ';
  if (cfg.status_fd >= 0) {
    status_line("E %d %s %s\t%s", code, err ? errno_name(err) : "-", stage, text);
  } else {
    char line[4500];
    int n = err ? snprintf(line, sizeof line, "%s: %s: %s: %s\n", progname, stage, text, strerror(err))
                : snprintf(line, sizeof line, "%s: %s: %s\n", progname, stage, text);
    if (n > 0) write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
  _exit(code);
}

void fail_at(int err, const char *stage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(EXIT_LAUNCHER, err, stage, fmt, ap);
  va_end(ap);
  _exit(EXIT_LAUNCHER);
}

void fail_code(int code, int err, const char *stage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(code, err, stage, fmt, ap);
  va_end(ap);
  _exit(code);
}

int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int e = errno;
  close(fd);
  if (n != (ssize_t)len) {
    errno = n < 0 ? e : EIO;
    return -1;
  }
  return 0;
}

int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  size_t len = strlen(path);
  if (len >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

/* Creates what a bind mount needs at `path`: a directory, or an empty file. */
int ensure_mountpoint(const char *path, int is_dir) {
  struct stat st;
  if (stat(path, &st) == 0) return 0;
  char parent[4096];
  size_t len = strlen(path);
  if (len >= sizeof parent) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(parent, path, len + 1);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (mkdir_p(parent, 0755) < 0) return -1;
  }
  if (is_dir) return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

ssize_t read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

const char *errno_name(int err) {
  switch (err) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EINTR: return "EINTR";
  case EIO: return "EIO";
  case E2BIG: return "E2BIG";
  case ENOEXEC: return "ENOEXEC";
  case EBADF: return "EBADF";
  case ECHILD: return "ECHILD";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case EEXIST: return "EEXIST";
  case EXDEV: return "EXDEV";
  case ENODEV: return "ENODEV";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case ENFILE: return "ENFILE";
  case EMFILE: return "EMFILE";
  case ETXTBSY: return "ETXTBSY";
  case ENOSPC: return "ENOSPC";
  case EROFS: return "EROFS";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case ENOSYS: return "ENOSYS";
  case ELOOP: return "ELOOP";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EUSERS: return "EUSERS";
  default: {
    static char buf[32];
    snprintf(buf, sizeof buf, "E%d", err);
    return buf;
  }
  }
}
