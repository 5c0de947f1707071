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
#include <stdlib.h>
#include <sys/file.h>
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

/* The tree part of a failed run: what <id>'s manifest names. */
static int jail_undo_jail(int exec_fd, const char *id)
{
	_cleanup_close_ int fd = openat(exec_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ struct jail_manifest *m = malloc(sizeof(*m));
	char err[512];
	int r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!m)
		return -ENOMEM;
	r = jail_manifest_read(fd, id, m, err, sizeof(err));
	if (r < 0) {
		log_error("undo: %s", err);
		return r;
	}
	return jail_manifest_remove(exec_fd, id, m, NULL);
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
	case JAIL_UNDO_RMDIR_SHARED:
		if (unlinkat(u->dirfd, u->name, AT_REMOVEDIR) < 0 && errno != ENOENT && errno != EBUSY &&
		    errno != ENOTEMPTY && errno != EEXIST)
			return -errno;
		return 0;
	case JAIL_UNDO_JAIL:
		return jail_undo_jail(u->dirfd, u->name);
	case JAIL_UNDO_LOCK:
		if (unlinkat(u->dirfd, u->name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	case JAIL_UNDO_EXEC_DIR:
		return jail_exec_dir_remove(u->dirfd, u->name, u->name, NULL);
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

/* Nothing of the id exists: says where it looked. */
static int jail_cleanup_nothing(const struct jail_plan *p, bool exec_dir_exists)
{
	printf("nothing of jail %s found: looked for %s/%s, %s/%s.lock, %s/.%s.new-* and %s/.%s.new-*\n", p->id,
	       p->exec_dir, p->id, p->exec_dir, p->id, p->base_dir, p->exec_name, p->exec_dir, p->id);
	if (exec_dir_exists)
		return JAIL_EXIT_OK;
	fprintf(stderr, "jailer: nothing of jail %s in %s: no %s\n", p->id, p->base_dir, p->exec_dir);
	return JAIL_EXIT_NOTHING;
}

/* Locks the id with <exec-name> held shared (the lock file may be added). */
static int jail_cleanup_lock(const struct jail_plan *p, int exec_fd, int *ret_lock, bool *ret_created)
{
	pid_t holder = 0;
	int r;

	if (flock(exec_fd, LOCK_SH) < 0)
		return -errno;
	r = jail_lock_take(exec_fd, p->id, true, ret_lock, &holder, ret_created);
	flock(exec_fd, LOCK_UN);
	if (r == -EWOULDBLOCK)
		fprintf(stderr, "jailer: jail %s is in use: a jailer (pid %d) holds %s/%s.lock; nothing was changed\n",
			p->id, (int)holder, p->exec_dir, p->id);
	else if (r < 0)
		fprintf(stderr, "jailer: cannot lock %s/%s.lock: %s\n", p->exec_dir, p->id, strerror(-r));
	return r;
}

/* The id is locked: decide (in use, not a jail) before removing anything. */
static int jail_cleanup_locked(const struct jail_plan *p, int base, int exec_fd, bool lock_created)
{
	_cleanup_close_ int id = openat(exec_fd, p->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ struct jail_manifest *m = malloc(sizeof(*m));
	char err[512], why[256], prefix[JAIL_ID_MAX + 4], lock[JAIL_ID_MAX + 8];
	int r, n;
	pid_t pid;

	snprintf(prefix, sizeof(prefix), ".%s.", p->id);
	snprintf(lock, sizeof(lock), "%s.lock", p->id);
	if (!m)
		return JAIL_EXIT_STEP;
	if (id < 0 && errno != ENOENT) {
		fprintf(stderr, "jailer: %s is not a jail made by the jailer (%s)\n", p->id_dir, strerror(errno));
		return JAIL_EXIT_USAGE;
	}
	if (id >= 0 && (jail_manifest_read(id, p->id_dir, m, err, sizeof(err)) < 0 || strcmp(m->id, p->id) ||
			strcmp(m->exec_name, p->exec_name))) {
		fprintf(stderr, "jailer: %s is not a jail made by the jailer (%s)\n", p->id_dir,
			err[0] ? err : "its manifest names another jail");
		return JAIL_EXIT_USAGE;
	}
	if (id >= 0 && (pid = jail_find_live(id, m, why, sizeof(why))) > 0) {
		fprintf(stderr, "jailer: jail %s is in use: %s; nothing was changed (stop pid %d first)\n", p->id, why,
			(int)pid);
		return JAIL_EXIT_STEP;
	}
	n = jail_temps_remove(exec_fd, prefix, p->exec_dir, false, stdout);
	if (id >= 0 && n >= 0) {
		r = jail_temps_remove(id, "." JAIL_MANIFEST ".", p->id_dir, false, stdout);
		r = r < 0 ? r : jail_manifest_remove(exec_fd, p->exec_dir, m, stdout);
		if (r < 0) {
			fprintf(stderr, "jailer: cleanup of jail %s is incomplete (%s): fix what is left and rerun it\n",
				p->id, strerror(-r));
			return JAIL_EXIT_STEP;
		}
	}
	if (unlinkat(exec_fd, lock, 0) == 0 && !lock_created)
		printf("removed %s/%s\n", p->exec_dir, lock);
	jail_exec_dir_remove(base, p->exec_name, p->exec_dir, stdout);
	if (id < 0 && n == 0 && lock_created)
		return jail_cleanup_nothing(p, true);
	return n < 0 ? JAIL_EXIT_STEP : JAIL_EXIT_OK;
}

/* jailer --cleanup: see doc/jailer.md. Returns the exit code. */
int jail_cleanup_run(const struct jail_plan *p)
{
	_cleanup_close_ int base = jail_open_nosym(p->base_dir), exec_fd = -1, lock = -1;
	char prefix[NAME_MAX + 4], err[512];
	bool created = false;
	int n, r;

	if (base < 0) {
		fprintf(stderr, "jailer: cannot open %s: %s\n", p->base_dir, strerror(-base));
		return JAIL_EXIT_NOTHING;
	}
	snprintf(prefix, sizeof(prefix), ".%s.", p->exec_name);
	n = jail_temps_remove(base, prefix, p->base_dir, true, stdout);
	r = jail_exec_dir_open(base, p->exec_name, false, &exec_fd);
	if (r == -ENOENT)
		return n > 0 ? JAIL_EXIT_OK : jail_cleanup_nothing(p, false);
	if (r < 0 || jail_dir_check(exec_fd, p->exec_dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "jailer: %s\n", r < 0 ? strerror(-r) : err);
		return JAIL_EXIT_USAGE;
	}
	r = jail_cleanup_lock(p, exec_fd, &lock, &created);
	if (r < 0)
		return r == -EWOULDBLOCK ? JAIL_EXIT_STEP : JAIL_EXIT_USAGE;
	r = jail_cleanup_locked(p, base, exec_fd, created);
	if (r != JAIL_EXIT_OK && created) {
		char name[JAIL_ID_MAX + 8];

		snprintf(name, sizeof(name), "%s.lock", p->id); /* refused: leave no trace of this run */
		unlinkat(exec_fd, name, 0);
	}
	return r;
}
