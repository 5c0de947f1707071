/* Namespaces and the forks: netns, mount, IPC/UTS, --daemonize, --new-pid-ns
 * (and the fork of --status-fd) and --new-user-ns.
 *
 * A fork hands the rest of the set-up to the child. The jailer the operator
 * started keeps the read end of an outcome pipe and waits on it: the process
 * that will become the VMM writes "pid N" (or, with a pid namespace, its
 * parent does, since only it sees the host pid), and exec closes the pipe. A
 * failing child writes "fail ERRNO STEP DETAIL" after undoing. With
 * --daemonize or --status-fd a second pipe reaches the VMM as fd 3
 * (EMBER_READY_FD): ember writes "ready" or "failed CODE MESSAGE" there. So the
 * operator's jailer exits 0 only once the VMM runs and is ready (or, for a VMM
 * that is not ember, was silent for 10 s), and --status-fd reports that one
 * outcome even after --daemonize.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"
#include "log.h"

int jail_step_join_netns(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int fd = -1;

	if (!p->netns[0])
		return 0;
	fd = open(p->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return jail_fail(s, errno, "Failed to join network namespace: netns: \"%s\"", p->netns);
	return 0;
}

/* MS_SLAVE, not MS_PRIVATE: host mounts made later under the chroot (an
 * operator bind-mounting a drive) still propagate in, nothing propagates out. */
int jail_step_unshare_mount_ns(const struct jail_plan *p, struct jail_state *s)
{
	s->mnt_ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (s->mnt_ns_fd < 0)
		return jail_fail(s, errno, "opening /proc/self/ns/mnt");
	if (unshare(CLONE_NEWNS) < 0)
		return jail_fail(s, errno, "unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return jail_fail(s, errno, "making / MS_SLAVE|MS_REC");
	return 0;
}

int jail_step_unshare_ipc_uts(const struct jail_plan *p, struct jail_state *s)
{
	int flags = (p->new_ipc_ns ? CLONE_NEWIPC : 0) | (p->new_uts_ns ? CLONE_NEWUTS : 0);

	if (!flags)
		return 0;
	if (unshare(flags) < 0)
		return jail_fail(s, errno, "unshare(%s%s)", p->new_ipc_ns ? "CLONE_NEWIPC " : "",
				 p->new_uts_ns ? "CLONE_NEWUTS" : "");
	if (p->new_uts_ns && sethostname(p->id, strlen(p->id)) < 0)
		return jail_fail(s, errno, "setting the hostname to the id");
	return 0;
}

static int jail_pipe(struct jail_state *s, int *ret_r, int *ret_w, const char *what)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return jail_fail(s, errno, "creating the %s pipe", what);
	*ret_r = fds[0];
	*ret_w = fds[1];
	return 0;
}

static void jail_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Forks; the parent that holds the read ends gets the child's pid and keeps
 * only those; every child keeps only the write ends. The pipes are made at
 * the first fork, by the jailer that will wait on them. */
static int jail_fork(const struct jail_plan *p, struct jail_state *s, pid_t *ret_child)
{
	pid_t pid;
	int r;

	if (s->report_wfd < 0 && (r = jail_pipe(s, &s->report_rfd, &s->report_wfd, "outcome")) < 0)
		return r;
	if (s->ready_wfd < 0 && (p->daemonize || p->status_fd >= 0) &&
	    (r = jail_pipe(s, &s->ready_rfd, &s->ready_wfd, "readiness")) < 0)
		return r;
	pid = fork();
	if (pid < 0)
		return jail_fail(s, errno, "fork");
	if (pid == 0) {
		jail_close(&s->report_rfd);
		jail_close(&s->ready_rfd);
	}
	*ret_child = pid;
	return 0;
}

static void jail_report_pid(struct jail_state *s, pid_t pid)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "pid %d\n", (int)pid);

	if (s->report_wfd >= 0)
		fd_write_full(s->report_wfd, line, (size_t)n);
}

/* The parent side after a fork: the original jailer waits for the outcome,
 * any other parent just leaves. Never returns. */
static _noreturn_ void jail_parent_finish(const struct jail_plan *p, struct jail_state *s, pid_t child)
{
	int code;

	if (s->report_rfd < 0)
		_exit(JAIL_EXIT_OK);
	/* The waiting jailer has no business in the jail's mount namespace, and
	 * an undo it may have to run starts from the host's anyway. */
	if (s->mnt_ns_fd >= 0)
		setns(s->mnt_ns_fd, CLONE_NEWNS);
	jail_close(&s->report_wfd);
	jail_close(&s->ready_wfd); /* else the VMM's exit would never read as EOF */
	code = jail_report_wait(p, s, child);
	/* No atexit handlers: after unshare(CLONE_NEWPID) any child this process
	 * makes (a sanitizer's leak checker forks one at exit) would land in the
	 * VMM's pid namespace, or fail once its pid 1 is gone. */
	fflush(NULL);
	_exit(code);
}

int jail_step_daemonize(const struct jail_plan *p, struct jail_state *s)
{
	pid_t child;
	int r;

	if (!p->daemonize)
		return 0;
	r = jail_fork(p, s, &child);
	if (r < 0)
		return r;
	if (child > 0)
		jail_parent_finish(p, s, child);
	if (setsid() < 0)
		return jail_fail(s, errno, "setsid");
	r = jail_fork(p, s, &child);
	if (r < 0)
		return r;
	if (child > 0)
		_exit(JAIL_EXIT_OK); /* the session leader leaves: the VMM can never regain a tty */
	if (dup2(s->devnull_fd, 0) < 0 || dup2(s->devnull_fd, 1) < 0 || dup2(s->devnull_fd, 2) < 0)
		return jail_fail(s, errno, "redirecting stdio to /dev/null");
	return 0;
}

/* --new-pid-ns: unshare and fork, the child is pid 1. --status-fd without
 * --daemonize forks here all the same: the line is written once the VMM is
 * ready, by a jailer that is not the VMM. */
int jail_step_enter_pid_ns(const struct jail_plan *p, struct jail_state *s)
{
	bool leader = getsid(0) == getpid();
	pid_t child;
	int r;

	if (!p->new_pid_ns && (p->status_fd < 0 || p->daemonize))
		return 0;
	if (p->new_pid_ns && unshare(CLONE_NEWPID) < 0)
		return jail_fail(s, errno, "unshare(CLONE_NEWPID)");
	r = jail_fork(p, s, &child);
	if (r < 0)
		return r;
	if (child == 0) {
		if (p->new_pid_ns && leader && !p->daemonize)
			setsid();
		return 0;
	}
	if (!p->new_pid_ns)
		jail_parent_finish(p, s, child); /* the child writes the pid file and reports its pid */
	/* Only this parent knows the VMM's host pid: it writes the pid file. */
	r = jail_pid_file_write(p, s, child);
	if (r < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return r;
	}
	jail_report_pid(s, child);
	jail_parent_finish(p, s, child);
}

/* The jail has no /proc: the map files are reached through the host's /proc
 * fd opened before pivot_root. */
static int jail_write_map(int proc_fd, pid_t pid, const char *file, unsigned id)
{
	char path[64], line[64];
	_cleanup_close_ int fd = -1;
	int n;

	snprintf(path, sizeof(path), "%d/%s", (int)pid, file);
	fd = openat(proc_fd, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%u %u 1\n", id, id);
	return fd_write_full(fd, line, (size_t)n);
}

/* Without a limit the VMM could make user namespaces of its own, and as their
 * root every other kind. 0 in the jail's user namespace makes any nested one
 * fail with ENOSPC, seccomp or not. The sysctl belongs to the namespace of the
 * writer (the host's limit stays as it is) and only a holder of
 * CAP_SYS_RESOURCE there may write it: the jailer, root of the new namespace
 * until the drop. */
static int jail_limit_user_ns(struct jail_state *s)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(s->proc_fd, "sys/user/max_user_namespaces", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(s, errno, "opening user.max_user_namespaces in the new user namespace");
	r = fd_write_full(fd, "0\n", 2);
	if (r < 0)
		return jail_fail(s, -r, "writing 0 to user.max_user_namespaces in the new user namespace");
	return 0;
}

/* The helper is forked before the VMM's process joins its cgroups
 * (join_cgroups comes after the last fork, so a tight pids.max counts only
 * the VMM). A process cannot map ids other than its own into the namespace
 * it just entered; the helper, left behind in the parent namespace (still
 * root there), writes the maps once it reads the go byte. Only uid and gid
 * are mapped, each to itself, so files the VMM creates keep their owner on
 * the host and root stays unmapped. */
int jail_step_prepare_user_ns(const struct jail_plan *p, struct jail_state *s)
{
	int go[2], r;
	char byte = 0, self_buf[16] = "";
	pid_t self;

	if (!p->new_user_ns)
		return 0;
	/* In a new pid namespace getpid() is 1; the host /proc names us by the
	 * host pid, which its "self" link gives. */
	if (readlinkat(s->proc_fd, "self", self_buf, sizeof(self_buf) - 1) < 0)
		return jail_fail(s, errno, "reading the host pid from /proc/self");
	self = (pid_t)atoi(self_buf);
	if (pipe2(go, O_CLOEXEC) < 0)
		return jail_fail(s, errno, "creating the uid map pipe");
	s->uidmap_pid = fork();
	if (s->uidmap_pid < 0) {
		close(go[0]);
		close(go[1]);
		return jail_fail(s, errno, "fork of the uid map helper");
	}
	if (s->uidmap_pid == 0) {
		close(go[1]);
		if (read(go[0], &byte, 1) != 1)
			_exit(2); /* no go byte: set-up failed before the namespace */
		r = jail_write_map(s->proc_fd, self, "uid_map", p->uid);
		if (r >= 0)
			r = jail_write_map(s->proc_fd, self, "gid_map", p->gid);
		if (r < 0)
			fprintf(stderr, "jailer: uid map helper: %s\n", strerror(-r));
		_exit(r < 0 ? 1 : 0);
	}
	close(go[0]);
	s->uidmap_wfd = go[1];
	return 0;
}

int jail_step_enter_user_ns(const struct jail_plan *p, struct jail_state *s)
{
	int status, r;
	char byte = 0;

	if (!p->new_user_ns)
		return 0;
	r = unshare(CLONE_NEWUSER) < 0 ? -errno : 0;
	if (r == 0) {
		s->user_ns_entered = true;
		if (write(s->uidmap_wfd, &byte, 1) != 1)
			r = -errno;
	}
	jail_close(&s->uidmap_wfd); /* without the byte the helper exits without writing */
	if (waitpid(s->uidmap_pid, &status, 0) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return jail_fail(s, -r, "unshare(CLONE_NEWUSER)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return jail_fail(s, EPERM, "writing the uid and gid maps of the user namespace");
	return jail_limit_user_ns(s);
}
