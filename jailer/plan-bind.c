/* Planning of --bind and --bind-ro: each file is opened once (no symlink in
 * the path as given), checked on that fd, checked as the VMM's uid would see
 * it, and cloned into a detached mount that jail_step_bind_files attaches.
 * Nothing on the host changes: a detached mount is visible to no one. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "jailer.h"

/* dev, run, old_root, the exec file and its pid file are the jail's own names. */
static bool jail_plan_name_reserved(const struct jail_plan *p, const char *name)
{
	size_t n = strlen(p->exec_name);

	return !strcmp(name, "dev") || !strcmp(name, "run") || !strcmp(name, "old_root") ||
	       !strcmp(name, p->exec_name) || (strncmp(name, p->exec_name, n) == 0 && strcmp(name + n, ".pid") == 0);
}

/* Splits FILE=NAME[:rw|:ro] into b->name, b->rw and the host path. NAME is
 * one plain component that the jail does not use itself. */
static int jail_plan_bind_parse(const struct jail_plan *p, const char *arg, bool ro_flag, struct jail_bind *b,
				char *host, size_t hostlen, char *err, size_t errlen)
{
	const char *flag = ro_flag ? "--bind-ro" : "--bind", *eq = strrchr(arg, '=');
	char name[NAME_MAX + 1] = "";
	size_t len;

	if (eq && eq != arg)
		snprintf(name, sizeof(name), "%.64s", eq + 1);
	len = strlen(name);
	b->rw = false;
	if (!ro_flag && len > 3 && (strcmp(name + len - 3, ":rw") == 0 || strcmp(name + len - 3, ":ro") == 0)) {
		b->rw = name[len - 1] == 'w';
		name[len -= 3] = '\0';
	}
	if (!eq || eq == arg || len == 0 || strlen(eq + 1) > 67 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len ||
	    name[0] == '.' || jail_plan_name_reserved(p, name)) {
		jail_errf(err, errlen, "Invalid %s %s: FILE=NAME%s, NAME of [A-Za-z0-9._-] not starting with '.', "
			  "not dev, run, old_root or the exec file's name", flag, arg, ro_flag ? "" : "[:rw|:ro]");
		return -EINVAL;
	}
	for (size_t k = 0; k < p->n_binds; k++)
		if (strcmp(p->binds[k].name, name) == 0) {
			jail_errf(err, errlen, "%s name %s given twice", flag, name);
			return -EINVAL;
		}
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(host, hostlen, "%.*s", (int)(eq - arg), arg);
	return 0;
}

/* The child of jail_plan_bind_access: the VMM's ids, no groups, no
 * capabilities (so uid 0 has no DAC override either). Exit 0: allowed;
 * 1: the directory cannot be searched; 2: the file cannot be opened so. */
static _noreturn_ void jail_plan_bind_probe(const struct jail_plan *p, const struct jail_bind *b, int fd,
					    const char *dir)
{
	char self[64];

	if (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 || setresuid(p->uid, p->uid, p->uid) < 0)
		_exit(3);
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		_exit(3);
	if (faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) < 0)
		_exit(1);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (faccessat(AT_FDCWD, self, R_OK | (b->rw ? W_OK : 0), AT_EACCESS) < 0)
		_exit(2);
	_exit(0);
}

/* Could the VMM open this file itself? Without the check a bind would hand
 * it a file from a directory it cannot enter, or one only root may read. */
static int jail_plan_bind_access(const struct jail_plan *p, const struct jail_bind *b, int fd, const char *given,
				 char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(given, '/');
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return 0; /* only --dry-run gets here unprivileged; the real run checks */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (slash == given ? 1 : (int)(slash - given)) : 1, slash ? given : ".");
	pid = fork();
	if (pid < 0) {
		jail_errf(err, errlen, "fork for the access check of %s: %s", given, strerror(errno));
		return -errno;
	}
	if (pid == 0)
		jail_plan_bind_probe(p, b, fd, dir);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 3) {
		jail_errf(err, errlen, "the access check of %s as uid %u failed to run", given, (unsigned)p->uid);
		return -EIO;
	}
	if (WEXITSTATUS(status) == 0)
		return 0;
	if (WEXITSTATUS(status) == 1)
		jail_errf(err, errlen, "%s: uid %u (gid %u, no groups, no capabilities) cannot search %s, so the VMM "
			  "could not open it without the jailer", given, (unsigned)p->uid, (unsigned)p->gid, dir);
	else
		jail_errf(err, errlen, "%s: uid %u (gid %u, no groups, no capabilities) cannot %s it, so the VMM could "
			  "not open it without the jailer", given, (unsigned)p->uid, (unsigned)p->gid,
			  b->rw ? "read and write" : "read");
	return -EACCES;
}

/* Opens the file once (no symlink anywhere in the path as given), checks
 * that fd, and, as root, clones it into a detached mount: the step mounts
 * exactly the inode checked here, whatever the path names by then. */
static int jail_plan_bind_open(const struct jail_plan *p, struct jail_bind *b, const char *host, char *err,
			       size_t errlen)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, AT_FDCWD, host, &how, sizeof(how));
	struct stat st;
	int r;

	if (fd < 0) {
		jail_errf(err, errlen, "%s: %s%s", host, strerror(errno),
			  errno == ELOOP ? " (a symbolic link: give the path of the file itself)" : "");
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		jail_errf(err, errlen, "%s: not a regular file", host);
		return -EINVAL;
	}
	if (b->rw && p->uid == 0 && st.st_uid == 0) {
		jail_errf(err, errlen, "%s is owned by root: with --uid 0 the VMM (a capless root) would own it and "
			  "could make it setuid on the host; give it to another owner or bind it :ro", host);
		return -EPERM;
	}
	r = jail_plan_bind_access(p, b, fd, host, err, errlen);
	if (r < 0)
		return r;
	if (!realpath(host, b->host))
		snprintf(b->host, sizeof(b->host), "%s", host);
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->fd = -1;
	if (geteuid() != 0)
		return 0;
	b->fd = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (b->fd < 0) {
		jail_errf(err, errlen, "%s: open_tree: %s", host, strerror(errno));
		return -errno;
	}
	return 0;
}

int jail_plan_binds(struct jail_plan *p, const char *const *args, const bool *ro, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct jail_bind *b = &p->binds[p->n_binds];
		char host[PATH_MAX], why[768];
		int r = jail_plan_bind_parse(p, args[i], ro[i], b, host, sizeof(host), err, errlen);

		if (r < 0)
			return r;
		r = jail_plan_bind_open(p, b, host, why, sizeof(why));
		if (r < 0) {
			jail_errf(err, errlen, "%s %s: %s", ro[i] ? "--bind-ro" : "--bind", args[i], why);
			return r;
		}
		p->n_binds++;
	}
	return 0;
}

/* Closes the detached mounts of a plan that will not run. */
void jail_plan_close(struct jail_plan *p)
{
	for (size_t i = 0; i < p->n_binds; i++)
		if (p->binds[i].fd >= 0) {
			close(p->binds[i].fd);
			p->binds[i].fd = -1;
		}
}
