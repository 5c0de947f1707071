/* Process hygiene, resource limits and the privilege drop.
 *
 * The drop follows minijail's rule: once it has begun there is no way back,
 * so any failure, or anything left over in /proc/self/status, is fatal. */
#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* All bits set and locked: no privilege regained through uid 0, setuid
 * fix-ups, keep-caps or ambient raises, in this process or any child. */
#define JAIL_SECUREBITS                                                                                    \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |   \
	 SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

static bool jail_fd_kept(const int *keep, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

static int jail_close_fds_proc(const int *keep, size_t n_keep)
{
	_cleanup_close_ int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int own;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	own = TAKE_FD(fd);
	while ((e = readdir(d))) {
		int n = atoi(e->d_name);

		if (n >= 3 && n != own && !jail_fd_kept(keep, n_keep, n))
			close(n);
	}
	closedir(d);
	return 0;
}

static int jail_int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes every fd >= 3 but the status fd and the plan's detached bind
 * mounts; close_range over the gaps, /proc/self/fd on kernels without it. */
static int jail_close_fds(const struct jail_plan *p)
{
	int keep[JAIL_BIND_MAX + 1];
	size_t n = 0;
	unsigned from = 3;

	if (p->status_fd >= 0)
		keep[n++] = p->status_fd;
	for (size_t i = 0; i < p->n_binds; i++)
		if (p->binds[i].fd >= 0)
			keep[n++] = p->binds[i].fd;
	qsort(keep, n, sizeof(keep[0]), jail_int_cmp);
	for (size_t i = 0; i <= n; i++) {
		unsigned to = i < n ? (unsigned)keep[i] : ~0U;

		if (to > from && syscall(SYS_close_range, from, to - 1, CLOSE_RANGE_UNSHARE) < 0)
			return jail_close_fds_proc(keep, n);
		if (i < n)
			from = (unsigned)keep[i] + 1;
	}
	return 0;
}

static void jail_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t empty;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* fails harmlessly for SIGKILL, SIGSTOP and reserved ones */
	/* A waiting jailer that was killed must not take its child down half way
	 * through set-up with SIGPIPE on the outcome pipe (reset before exec). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
	jail_signals_block();
}

int jail_step_sanitize_process(const struct jail_plan *p, struct jail_state *s)
{
	int r;

	jail_reset_signals();
	r = jail_close_fds(p);
	if (r < 0)
		return jail_fail(s, -r, "closing inherited file descriptors");
	r = fd_stdio_on_devnull();
	if (r < 0)
		return jail_fail(s, -r, "reopening stdin/stdout/stderr on /dev/null");
	if (p->status_fd >= 0 && fcntl(p->status_fd, F_SETFD, FD_CLOEXEC) < 0)
		return jail_fail(s, errno, "marking --status-fd close-on-exec");
	if (clearenv() != 0)
		return jail_fail(s, ENOMEM, "clearing the environment");
	umask(077);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return jail_fail(s, errno, "PR_SET_DUMPABLE 0");
	s->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	s->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->devnull_fd < 0 || s->proc_fd < 0)
		return jail_fail(s, errno, "opening /dev/null and /proc");
	return 0;
}

/* Set late, just before the drop: a small no-file or fsize limit must bind
 * the VMM, not break the jailer's own set-up (or the pid file). */
int jail_step_set_rlimits(const struct jail_plan *p, struct jail_state *s)
{
	struct rlimit nofile = { p->rlimit_nofile, p->rlimit_nofile };
	struct rlimit fsize = { p->rlimit_fsize, p->rlimit_fsize };

	if (p->has_fsize && setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		return jail_fail(s, errno, "setrlimit(RLIMIT_FSIZE, %llu)", (unsigned long long)p->rlimit_fsize);
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return jail_fail(s, errno, "setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)p->rlimit_nofile);
	return 0;
}

/* Order matters: securebits and the bounding set need CAP_SETPCAP, the id
 * changes need CAP_SETUID/CAP_SETGID, so the capability sets are emptied
 * last. SECBIT_NO_SETUID_FIXUP keeps the kernel from clearing them half way. */
int jail_step_drop_privileges(const struct jail_plan *p, struct jail_state *s)
{
	s->dropped = true; /* from here on a failure cannot be undone */
	if (setgroups(0, NULL) < 0)
		return jail_fail(s, errno, "setgroups(0)");
	if (prctl(PR_SET_SECUREBITS, JAIL_SECUREBITS, 0, 0, 0) < 0)
		return jail_fail(s, errno, "locking securebits");
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return jail_fail(s, EPERM, "clearing the bounding set (libcap-ng)");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return jail_fail(s, errno, "clearing the ambient set");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return jail_fail(s, errno, "setresgid(%u)", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return jail_fail(s, errno, "setresuid(%u)", (unsigned)p->uid);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return jail_fail(s, EPERM, "clearing the capability sets (libcap-ng)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail(s, errno, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

static const char *jail_status_field(const char *status, const char *key)
{
	size_t kl = strlen(key);

	for (const char *l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == ':')
			return l + kl + 1 + strspn(l + kl + 1, " \t");
	return NULL;
}

/* Checks a /proc/<pid>/status text: every uid and gid as planned, no
 * supplementary group, all five capability sets zero, NoNewPrivs 1. */
int jail_privileges_check_status(const char *status, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	const char *v;
	unsigned long ids[4];

	for (int g = 0; g < 2; g++) {
		v = jail_status_field(status, g ? "Gid" : "Uid");
		if (!v || sscanf(v, "%lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
			return jail_errf(err, errlen, "no %s line", g ? "Gid" : "Uid"), -EPERM;
		for (int i = 0; i < 4; i++)
			if (ids[i] != (g ? (unsigned long)gid : (unsigned long)uid))
				return jail_errf(err, errlen, "%s %lu remains", g ? "gid" : "uid", ids[i]), -EPERM;
	}
	v = jail_status_field(status, "Groups");
	if (!v || (*v != '\n' && *v != '\0'))
		return jail_errf(err, errlen, "supplementary groups remain"), -EPERM;
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		v = jail_status_field(status, caps[i]);
		if (!v || strspn(v, "0") != 16)
			return jail_errf(err, errlen, "%s is not empty", caps[i]), -EPERM;
	}
	v = jail_status_field(status, "NoNewPrivs");
	if (!v || v[0] != '1')
		return jail_errf(err, errlen, "NoNewPrivs is not 1"), -EPERM;
	return 0;
}

int jail_step_verify_privileges(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int fd = openat(s->proc_fd, "self/status", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *status = NULL;
	char err[128];
	size_t len;
	int bits;

	if (fd < 0 || fd_read_all(fd, 1 << 16, &status, &len) < 0)
		return jail_fail(s, errno ? errno : EIO, "reading /proc/self/status");
	if (jail_privileges_check_status(status, p->uid, p->gid, err, sizeof(err)) < 0)
		return jail_fail(s, EPERM, "after the drop, %s", err);
	bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (bits != JAIL_SECUREBITS)
		return jail_fail(s, EPERM, "securebits are 0x%x, not 0x%x", (unsigned)bits, (unsigned)JAIL_SECUREBITS);
	return 0;
}
