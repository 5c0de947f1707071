/* race-shim.so: an LD_PRELOAD library that makes the jailer's races
 * deterministic in tests (test/integration/jailer-race.bats).
 *
 * It counts the operations that change or open something on the host: every
 * mkdir, open, rename, mknod, mount and write of the program (and of its
 * forked children: the count lives in shared memory, so "the Nth" means the
 * same thing with --daemonize and --new-pid-ns), including openat2,
 * open_tree and move_mount made through syscall(2). Each counted operation
 * may trigger one action, chosen by the environment read at start-up (the
 * jailer clears its environment later; the shim does not need it again):
 *
 *   RACE_SHIM_KILL_AT=N      SIGKILL the process at its Nth operation,
 *                            before the operation happens.
 *   RACE_SHIM_RENAME_FROM=S  after the first successful open of a path
 *   RACE_SHIM_RENAME_OVER=P  equal to P (open, openat, openat2), rename S
 *                            over P: a hostile neighbour swapping a file the
 *                            jailer has just opened (the exec file, a
 *                            --bind-ro file).
 *   RACE_SHIM_LOG=PATH       append "N op arg" for every operation to PATH
 *                            (the fd is reopened per line: the jailer closes
 *                            inherited fds, and after pivot_root the path
 *                            is gone, so lines from inside the jail are lost).
 *
 * More actions: add a field to struct shim_config, read it in shim_init()
 * and act in shim_before() or shim_after_open(). The shim calls the real
 * functions through dlsym(RTLD_NEXT); its own calls are never counted. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct shim_shared {
	atomic_long ops;        /* operations counted so far, across forks */
	atomic_int renamed;     /* the RENAME action happened */
};

struct shim_config {
	long kill_at;           /* 0: never */
	char rename_from[4096];
	char rename_over[4096];
	char log[4096];
};

static struct shim_shared *shim_shared;
static struct shim_config shim_cfg;

static void shim_copy_env(char *dst, size_t len, const char *name)
{
	const char *v = getenv(name);

	if (v && strlen(v) < len)
		strcpy(dst, v);
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *k = getenv("RACE_SHIM_KILL_AT");
	void *m = mmap(NULL, sizeof(*shim_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m != MAP_FAILED)
		shim_shared = m;
	shim_cfg.kill_at = k ? atol(k) : 0;
	shim_copy_env(shim_cfg.rename_from, sizeof(shim_cfg.rename_from), "RACE_SHIM_RENAME_FROM");
	shim_copy_env(shim_cfg.rename_over, sizeof(shim_cfg.rename_over), "RACE_SHIM_RENAME_OVER");
	shim_copy_env(shim_cfg.log, sizeof(shim_cfg.log), "RACE_SHIM_LOG");
}

static void *shim_real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		abort();
	return f;
}

/* Raw syscalls only: the shim must not recurse into its own wrappers. */
static void shim_log(long n, const char *op, const char *arg)
{
	char line[4200];
	int fd, len;

	if (!shim_cfg.log[0])
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, shim_cfg.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "%ld %s %s\n", n, op, arg ? arg : "");
	if (len > (int)sizeof(line))
		len = sizeof(line);
	syscall(SYS_write, fd, line, (size_t)len);
	syscall(SYS_close, fd);
}

/* Counts one operation; kills the process when it is the chosen one. */
static void shim_before(const char *op, const char *arg)
{
	long n;

	if (!shim_shared)
		return;
	n = atomic_fetch_add(&shim_shared->ops, 1) + 1;
	shim_log(n, op, arg);
	if (shim_cfg.kill_at > 0 && n == shim_cfg.kill_at)
		syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
}

static void shim_after_open(const char *path, long fd)
{
	int expected = 0;

	if (fd < 0 || !shim_shared || !shim_cfg.rename_over[0] || !path || strcmp(path, shim_cfg.rename_over) != 0)
		return;
	if (atomic_compare_exchange_strong(&shim_shared->renamed, &expected, 1))
		syscall(SYS_renameat2, AT_FDCWD, shim_cfg.rename_from, AT_FDCWD, shim_cfg.rename_over, 0);
}

static mode_t shim_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	va_list ap;
	mode_t mode;
	int fd;

	va_start(ap, flags);
	mode = shim_mode(flags, ap);
	va_end(ap);
	if (!real)
		real = shim_real("open");
	shim_before("open", path);
	fd = real(path, flags, mode);
	shim_after_open(path, fd);
	return fd;
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	va_list ap;
	mode_t mode;
	int fd;

	va_start(ap, flags);
	mode = shim_mode(flags, ap);
	va_end(ap);
	if (!real)
		real = shim_real("openat");
	shim_before("openat", path);
	fd = real(dirfd, path, flags, mode);
	shim_after_open(path, fd);
	return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* _FORTIFY_SOURCE's checked variants, called when the mode argument is absent. */
int __open_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int mkdir(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);

	if (!real)
		real = shim_real("mkdir");
	shim_before("mkdir", path);
	return real(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	static int (*real)(int, const char *, mode_t);

	if (!real)
		real = shim_real("mkdirat");
	shim_before("mkdirat", path);
	return real(dirfd, path, mode);
}

int rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);

	if (!real)
		real = shim_real("rename");
	shim_before("rename", to);
	return real(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	static int (*real)(int, const char *, int, const char *);

	if (!real)
		real = shim_real("renameat");
	shim_before("renameat", to);
	return real(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned);

	if (!real)
		real = shim_real("renameat2");
	shim_before("renameat2", to);
	return real(fromfd, from, tofd, to, flags);
}

int mknod(const char *path, mode_t mode, dev_t dev)
{
	static int (*real)(const char *, mode_t, dev_t);

	if (!real)
		real = shim_real("mknod");
	shim_before("mknod", path);
	return real(path, mode, dev);
}

int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	static int (*real)(int, const char *, mode_t, dev_t);

	if (!real)
		real = shim_real("mknodat");
	shim_before("mknodat", path);
	return real(dirfd, path, mode, dev);
}

int mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data)
{
	static int (*real)(const char *, const char *, const char *, unsigned long, const void *);

	if (!real)
		real = shim_real("mount");
	shim_before("mount", dst);
	return real(src, dst, type, flags, data);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (!real)
		real = shim_real("write");
	shim_before("write", NULL);
	return real(fd, buf, len);
}

/* The jailer reaches openat2, open_tree and move_mount through syscall(2). */
long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	long r;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = shim_real("syscall");
	if (nr == SYS_openat2)
		shim_before("openat2", (const char *)a[1]);
	else if (nr == SYS_open_tree)
		shim_before("open_tree", (const char *)a[1]);
	else if (nr == SYS_move_mount)
		shim_before("move_mount", (const char *)a[3]);
	else if (nr == SYS_mount)
		shim_before("mount", (const char *)a[1]);
	else if (nr == SYS_mkdirat)
		shim_before("mkdirat", (const char *)a[1]);
	r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == SYS_openat2)
		shim_after_open((const char *)a[1], r);
	return r;
}
