/* Cgroups, the steps: create the jail's directories, write its values, join.
 *
 * What goes through libcgroup and what does not, and why:
 *  - values go through libcgroup (cgroup_modify_cgroup), after checking that
 *    libcgroup resolves each controller to the same mount as mountinfo did at
 *    planning time;
 *  - joining writes "0" into tasks/cgroup.procs on the jail's directory fd, opened
 *    before pivot_root and joined after the last fork
 *    (see jail_step_join_cgroups: cgroup_attach_task_pid costs ~19 ms here);
 *  - directories are made with mkdirat() on fds: cgroup_create_cgroup() treats
 *    an existing directory as success, while refusing an existing cgroup must
 *    be atomic (mkdir's EEXIST is the lock), and the undo must know exactly
 *    which levels this run created;
 *  - v1 cpuset seeding and v2 subtree_control are plain file writes on those
 *    fds, done level by level while walking down;
 *  - removal is rmdir on fds: cgroup_delete_cgroup() migrates remaining tasks
 *    to the parent, which would let a live VMM escape its limits. */
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"
#include "log.h"

/* Reads a small cgroup file relative to dirfd, trailing newline removed. */
static int jail_cg_read(int dirfd, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = fd_read_full(fd, buf, len - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int jail_cg_write(int dirfd, const char *name, const char *value)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fd_write_full(fd, value, strlen(value));
}

/* v2: a controller must be enabled in every ancestor's subtree_control before
 * a child can use it. Enabling is not undone in levels this run did not
 * create: another jail under the same parent may rely on it. */
static int jail_cg_enable(struct jail_state *s, int dirfd, const char *controllers)
{
	char have[512] = "", word[64];

	if (jail_cg_read(dirfd, "cgroup.subtree_control", have, sizeof(have)) < 0)
		return jail_fail(s, errno, "cannot read cgroup.subtree_control");
	for (const char *c = controllers; *c;) {
		size_t n = strcspn(c, " ");
		int r;

		snprintf(word, sizeof(word), "+%.*s", (int)n, c);
		if (!jail_list_has(have, " \n", word + 1)) {
			r = jail_cg_write(dirfd, "cgroup.subtree_control", word);
			if (r < 0)
				return jail_fail(s, -r, "enabling %s in cgroup.subtree_control", word + 1);
		}
		c += n + (c[n] == ' ');
	}
	return 0;
}

/* v1: a new cpuset is empty and takes no task until cpus and mems are set;
 * copy them from the nearest ancestor that has them. */
static void jail_cg_cpuset_track(int dirfd, char *cpus, char *mems, size_t len)
{
	char v[256];

	if (jail_cg_read(dirfd, "cpuset.cpus", v, sizeof(v)) == 0 && v[0])
		snprintf(cpus, len, "%s", v);
	if (jail_cg_read(dirfd, "cpuset.mems", v, sizeof(v)) == 0 && v[0])
		snprintf(mems, len, "%s", v);
}

static int jail_cg_cpuset_seed(struct jail_state *s, int dirfd, const char *cpus, const char *mems)
{
	char v[256];
	int r = 0;

	if (jail_cg_read(dirfd, "cpuset.cpus", v, sizeof(v)) == 0 && !v[0] && cpus[0])
		r = jail_cg_write(dirfd, "cpuset.cpus", cpus);
	if (r >= 0 && jail_cg_read(dirfd, "cpuset.mems", v, sizeof(v)) == 0 && !v[0] && mems[0])
		r = jail_cg_write(dirfd, "cpuset.mems", mems);
	return r < 0 ? jail_fail(s, -r, "seeding cpuset.cpus/mems from the parent") : 0;
}

/* Finds this process's current cgroup in hierarchy h from /proc/self/cgroup
 * (before any fork: the VMM-to-be is still where the jailer started) and
 * keeps the way back for join_cgroups' undo. */
static int jail_cg_record_origin(const struct jail_plan *p, struct jail_state *s, size_t h)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	const char *controller = "";
	size_t len;

	for (size_t i = 0; i < p->n_cgroups; i++)
		if (p->cgroups[i].hier == (int)h)
			controller = p->cgroups[i].controller;
	s->cgroup_roots[h] = open(p->hier[h].mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || s->cgroup_roots[h] < 0 || fd_read_all(fd, 1 << 16, &buf, &len) < 0)
		return jail_fail(s, errno ? errno : EIO, "reading /proc/self/cgroup, opening \"%s\"", p->hier[h].mount);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;

		if (!path)
			continue;
		*path++ = '\0';
		*ctl++ = '\0';
		if (p->hier[h].version == 2 ? strcmp(line, "0") != 0 : !jail_list_has(ctl, ",", controller))
			continue;
		path += strspn(path, "/");
		snprintf(s->cgroup_origin[h], sizeof(s->cgroup_origin[h]), "%s%s%s", path, *path ? "/" : "",
			 p->hier[h].version == 2 ? "cgroup.procs" : "tasks");
		return 0;
	}
	return jail_fail(s, ENOENT, "no entry for %s in /proc/self/cgroup", p->hier[h].mount);
}

/* Creates <mount>/<parent>/<id>, creating missing parent levels; the last
 * level must not exist. Every level created is pushed on the undo log. */
static int jail_cg_create_one(const struct jail_plan *p, struct jail_state *s, size_t hi)
{
	const struct jail_cgroup_hier *h = &p->hier[hi];
	char path[PATH_MAX + JAIL_ID_MAX + 2], cpus[256] = "", mems[256] = "";
	_cleanup_close_ int cur = open(h->mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	const char *c = path;

	if (cur < 0)
		return jail_fail(s, errno, "opening cgroup mount \"%s\"", h->mount);
	snprintf(path, sizeof(path), "%s/%s", p->parent_cgroup, p->id);
	while (*c) {
		size_t n = strcspn(c, "/");
		bool last = c[n] == '\0';
		char name[NAME_MAX + 1];
		int next, r;

		snprintf(name, sizeof(name), "%.*s", (int)n, c);
		if (h->version == 1)
			jail_cg_cpuset_track(cur, cpus, mems, sizeof(cpus));
		if (h->version == 2 && (r = jail_cg_enable(s, cur, h->controllers)) < 0)
			return r;
		r = mkdirat(cur, name, 0755);
		if (r < 0 && (errno != EEXIST || last))
			return jail_fail(s, errno, "creating cgroup \"%s/%s\"%s", h->mount, path,
					 errno == EEXIST ? ": it exists already, refusing to share it" : "");
		/* A parent level this run made may be shared by the time it is undone. */
		if (r == 0 && (r = jail_undo_push(s, last ? JAIL_UNDO_RMDIR : JAIL_UNDO_RMDIR_SHARED, cur, name)) < 0)
			return jail_fail(s, -r, "recording the undo of cgroup \"%s\"", name);
		next = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return jail_fail(s, errno, "opening cgroup level \"%s\" under \"%s\"", name, h->mount);
		close(cur);
		cur = next;
		if (h->version == 1 && (r = jail_cg_cpuset_seed(s, cur, cpus, mems)) < 0)
			return r;
		c += n + !last;
	}
	s->cgroup_fds[hi] = TAKE_FD(cur); /* join_cgroups runs after pivot_root */
	return 0;
}

int jail_step_create_cgroups(const struct jail_plan *p, struct jail_state *s)
{
	for (size_t i = 0; i < p->n_hier; i++) {
		int r = jail_cg_record_origin(p, s, i);

		if (r >= 0)
			r = jail_cg_create_one(p, s, i);
		if (r < 0)
			return r;
		if (snprintf(s->cgroup_paths[i], sizeof(s->cgroup_paths[i]), "%s/%s/%s", p->hier[i].mount,
			     p->parent_cgroup, p->id) >= (int)sizeof(s->cgroup_paths[i]))
			return jail_fail(s, ENAMETOOLONG, "cgroup path under \"%s\"", p->hier[i].mount);
	}
	return 0;
}

static int jail_cg_lib_init(struct jail_state *s)
{
	static bool done;
	int r;

	if (done)
		return 0;
	r = cgroup_init();
	if (r != 0)
		return jail_fail(s, EIO, "libcgroup cgroup_init: %s", cgroup_strerror(r));
	done = true;
	return 0;
}

/* libcgroup must write where mountinfo said the controller lives. */
static int jail_cg_lib_check_mount(const struct jail_plan *p, struct jail_state *s, const struct jail_cgroup_value *v)
{
	_cleanup_free_ char *mp = NULL;
	int r = cgroup_get_subsys_mount_point(v->controller, &mp);

	if (r != 0 || !mp || strcmp(mp, p->hier[v->hier].mount) != 0)
		return jail_fail(s, EXDEV, "libcgroup places controller %s at \"%s\", mountinfo at \"%s\"", v->controller,
				 mp ? mp : "(none)", p->hier[v->hier].mount);
	return 0;
}

static int jail_cg_lib_errno(int r)
{
	int e = r == ECGOTHER ? cgroup_get_last_errno() : 0;

	return e > 0 ? e : EIO;
}

int jail_step_write_cgroup_values(const struct jail_plan *p, struct jail_state *s)
{
	char name[PATH_MAX + JAIL_ID_MAX + 2];
	int r = jail_cg_lib_init(s);

	snprintf(name, sizeof(name), "%s/%s", p->parent_cgroup, p->id);
	for (size_t i = 0; r >= 0 && i < p->n_cgroups; i++) {
		const struct jail_cgroup_value *v = &p->cgroups[i];
		struct cgroup *cg;
		struct cgroup_controller *cc;

		r = jail_cg_lib_check_mount(p, s, v);
		if (r < 0)
			break;
		cg = cgroup_new_cgroup(name);
		cc = cg ? cgroup_add_controller(cg, v->controller) : NULL;
		r = cc ? cgroup_add_value_string(cc, v->file, v->value) : ECGFAIL;
		if (r == 0)
			r = cgroup_modify_cgroup(cg);
		if (cg)
			cgroup_free(&cg);
		if (r != 0)
			r = jail_fail(s, jail_cg_lib_errno(r), "writing %s=\"%s\" into cgroup \"%s\"", v->file, v->value,
				      s->cgroup_paths[v->hier]);
	}
	return r;
}

int jail_cgroup_leave_one(int dirfd, const char *procs)
{
	return jail_cg_write(dirfd, procs, "0");
}

/* Writes "0" (the caller) rather than the pid, as cgroup_attach_task_pid()
 * would: for a single-threaded process moved through v1 "tasks", the kernel
 * then skips the global threadgroup rwsem, whose write side waits for an RCU
 * grace period (cgroup_procs_write_start). Measured here: ~19 ms of a ~21 ms
 * jail set-up. The jailer is single-threaded, so the thread is the process.
 * It runs after pivot_root and every fork, on the fds create_cgroups opened:
 * the parents that wait or leave are never counted in the jail's pids.max. */
int jail_step_join_cgroups(const struct jail_plan *p, struct jail_state *s)
{
	for (size_t h = 0; h < p->n_hier; h++) {
		const char *procs = p->hier[h].version == 2 ? "cgroup.procs" : "tasks";
		int r = jail_undo_push(s, JAIL_UNDO_LEAVE_CGROUP, s->cgroup_roots[h], s->cgroup_origin[h]);

		if (r < 0)
			return jail_fail(s, -r, "recording the way back from cgroup \"%s\"", s->cgroup_paths[h]);
		r = jail_cg_write(s->cgroup_fds[h], procs, "0");
		if (r < 0)
			return jail_fail(s, -r, "joining cgroup \"%s\"", s->cgroup_paths[h]);
	}
	return 0;
}
