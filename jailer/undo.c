/* The undo log, the set-up signal policy and `jailer --cleanup`.
 *
 * Every step that leaves state on the host pushes its undo here. The undo
 * entries hold directory fds opened on the host before pivot_root, so they
 * still name host objects after the jail's mount namespace replaced "/". */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jailer.h"
#include "log.h"

static const int jail_set_up_signals[] = { SIGTERM, SIGINT, SIGHUP };

void jail_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int jail_fail(struct jail_state *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	return -err;
}

int jail_undo_push(struct jail_state *s, enum jail_undo_kind kind, int dirfd, const char *name)
{
	struct jail_undo *u;
	int fd;

	if (s->n_undo >= JAIL_UNDO_MAX)
		return -ENOSPC;
	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	u = &s->undo[s->n_undo];
	if (snprintf(u->name, sizeof(u->name), "%s", name) >= (int)sizeof(u->name)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	u->kind = kind;
	u->dirfd = fd;
	s->n_undo++;
	return 0;
}

static int jail_undo_one(const struct jail_undo *u)
{
	switch (u->kind) {
	case JAIL_UNDO_RMDIR:
		/* EBUSY on a cgroup means a process is still inside: report it, never force. */
		if (unlinkat(u->dirfd, u->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	case JAIL_UNDO_UNLINK:
		if (unlinkat(u->dirfd, u->name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	case JAIL_UNDO_TREE:
		return jail_tree_remove(u->dirfd, u->name);
	case JAIL_UNDO_LEAVE_CGROUP:
		return jail_cgroup_leave_one(u->dirfd, u->name);
	}
	return -EINVAL;
}

/* Runs the undo log in reverse. Returns 0 or the first error (all entries are
 * attempted); each failure is logged naming the object. */
int jail_undo_run(struct jail_state *s)
{
	int first = 0;

	if (s->n_undo == 0)
		return 0;
	if (s->dropped || s->user_ns_entered) {
		log_error("cannot undo after the privilege drop: run jailer --cleanup with the same flags");
		return -EPERM;
	}
	/* After pivot_root the tree's root is a mount point in this namespace;
	 * undo from the host's namespace where it is a plain directory. */
	if (s->mnt_ns_fd >= 0 && setns(s->mnt_ns_fd, CLONE_NEWNS) < 0)
		log_warn("undo: cannot return to the host mount namespace: %s", strerror(errno));
	while (s->n_undo > 0) {
		struct jail_undo *u = &s->undo[--s->n_undo];
		int r = jail_undo_one(u);

		if (r < 0) {
			log_error("undo: cannot remove \"%s\": %s", u->name, strerror(-r));
			if (first == 0)
				first = r;
		}
		close(u->dirfd);
	}
	return first;
}

/* Keeps SIGTERM, SIGINT and SIGHUP pending during set-up, so that a signal
 * never lands half way through a step; jail_run() checks between steps. */
void jail_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(jail_set_up_signals); i++)
		sigaddset(&set, jail_set_up_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Returns the number of a pending set-up signal, or 0. */
int jail_signals_pending(void)
{
	sigset_t set;

	if (sigpending(&set) < 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(jail_set_up_signals); i++)
		if (sigismember(&set, jail_set_up_signals[i]) == 1)
			return jail_set_up_signals[i];
	return 0;
}

/* Removes <id_dir> when it exists, refusing anything that is not a plain
 * directory, and <exec_dir> when that is left empty. */
static int jail_cleanup_tree(const struct jail_plan *p)
{
	_cleanup_close_ int exec_fd = -1;
	struct stat st;
	int r;

	exec_fd = open(p->exec_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (exec_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstatat(exec_fd, p->id, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	r = jail_tree_remove(exec_fd, p->id);
	if (r < 0)
		return r;
	/* Shared by every jail of this exec file: removed only when empty. */
	if (rmdir(p->exec_dir) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != EBUSY)
		log_warn("cleanup: cannot remove \"%s\": %s", p->exec_dir, strerror(errno));
	return 0;
}

int jail_cleanup_run(const struct jail_plan *p)
{
	int r, rc = 0;

	r = jail_cgroup_cleanup(p);
	if (r < 0) {
		log_error("cleanup: cgroups of \"%s\": %s", p->id, strerror(-r));
		rc = r;
	}
	r = jail_cleanup_tree(p);
	if (r < 0) {
		log_error("cleanup: chroot tree \"%s\": %s", p->id_dir, strerror(-r));
		rc = rc ? rc : r;
	}
	return rc;
}
