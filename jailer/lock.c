/* A jail's identity: <base>/<exec-name> and its marker, the per-id lock,
 * reserved temporary names, and whether a jail is still in use.
 *
 * <base>/<exec-name> is shared by every jail of one exec file. A jailer that
 * makes it builds it as <base>/.<exec-name>.new-<pid> holding the marker
 * .jailer and renames it into place, so a marked directory is always the
 * jailer's. Entries are added to it only under a shared flock() of the
 * directory, and --cleanup removes an empty marked one under an exclusive
 * flock(): a jailer never adds its lock file to a directory being removed.
 *
 * <exec-name>/<id>.lock (root, 0600) is flock()ed by a jailer until its
 * outcome and by --cleanup; after locking, the path must still name the
 * locked inode (the holder before may have unlinked it), else retry. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"
#include "parse.h"

#define JAIL_LOCK_RETRIES 100

/* Directories on the way to a jail: real, root's, writable by root only. */
int jail_dir_check(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022))
		return 0;
	jail_errf(err, errlen, "%s must be a directory owned by root and not writable by group or others "
		  "(it is %s, owner %u, mode %04o)", path, S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
		  (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return -EPERM;
}

static int jail_open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Makes <base>/<exec-name> with its marker under a temporary name (flock()ed
 * while it exists, so --cleanup can tell its maker is gone) and renames it
 * into place; losing that race to another jailer is fine. */
static int jail_exec_dir_make(int base_fd, const char *exec_name)
{
	char tmp[NAME_MAX + 32];
	_cleanup_close_ int fd = -1, marker = -1;
	int r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.new-%d", exec_name, (int)getpid());
	if (mkdirat(base_fd, tmp, 0700) < 0)
		return -errno;
	fd = jail_open_dir(base_fd, tmp);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		r = fd < 0 ? fd : -errno;
	if (r == 0) {
		marker = openat(fd, JAIL_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (marker < 0)
			r = -errno;
	}
	if (r == 0 && renameat2(base_fd, tmp, base_fd, exec_name, RENAME_NOREPLACE) == 0)
		return 0;
	if (r == 0 && errno != EEXIST)
		r = -errno;
	if (fd >= 0)
		unlinkat(fd, JAIL_MARKER, 0);
	unlinkat(base_fd, tmp, AT_REMOVEDIR);
	return r;
}

/* Opens <base>/<exec-name>, making it when create is set and it is absent. */
int jail_exec_dir_open(int base_fd, const char *exec_name, bool create, int *ret_fd)
{
	for (int i = 0; i < JAIL_LOCK_RETRIES; i++) {
		int fd = jail_open_dir(base_fd, exec_name), r;

		if (fd >= 0 || fd != -ENOENT || !create) {
			*ret_fd = fd;
			return fd < 0 ? fd : 0;
		}
		r = jail_exec_dir_make(base_fd, exec_name);
		if (r < 0)
			return r;
	}
	return -EAGAIN;
}

/* True while name under dirfd is still the directory fd refers to. */
static bool jail_still_named(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino && a.st_nlink > 0;
}

/* Removes an empty <base>/<exec-name> that carries the jailer's marker, under
 * its exclusive lock (no jailer is adding an entry then). */
int jail_exec_dir_remove(int base_fd, const char *exec_name, const char *exec_path, FILE *out)
{
	_cleanup_close_ int fd = jail_open_dir(base_fd, exec_name);
	DIR *d;
	struct dirent *e;
	bool marked = false, other = false;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	if (flock(fd, LOCK_EX) < 0 || !jail_still_named(base_fd, exec_name, fd))
		return 0;
	d = jail_dir_stream(fd);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, JAIL_MARKER) == 0)
			marked = true;
		else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			other = true;
	closedir(d);
	if (!marked || other)
		return 0;
	if (unlinkat(fd, JAIL_MARKER, 0) < 0 || unlinkat(base_fd, exec_name, AT_REMOVEDIR) < 0)
		return -errno;
	if (out)
		fprintf(out, "removed %s\n", exec_path);
	return 0;
}

/* Is a reserved temporary name's maker gone? A made <exec-name> is flock()ed
 * by its maker; other temporary names are made under the id lock, which the
 * caller holds. */
static bool jail_temp_abandoned(int dirfd, const char *name, bool check_flock)
{
	_cleanup_close_ int fd = -1;

	if (!check_flock)
		return true;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
}

/* Removes the reserved temporary names "<prefix>new-<pid>" under dirfd whose
 * makers are gone. Returns how many were removed, or -errno. */
int jail_temps_remove(int dirfd, const char *prefix, const char *dir_path, bool check_flock, FILE *out)
{
	DIR *d = jail_dir_stream(dirfd);
	size_t plen = strlen(prefix);
	struct dirent *e;
	uint32_t pid;
	int n = 0, r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, plen) || strncmp(e->d_name + plen, "new-", 4) ||
		    parse_u32(e->d_name + plen + 4, &pid) < 0 || !jail_temp_abandoned(dirfd, e->d_name, check_flock))
			continue;
		r = jail_tree_remove(dirfd, e->d_name);
		if (out)
			fprintf(out, "%s %s/%s%s%s\n", r < 0 ? "left" : "removed", dir_path, e->d_name, r < 0 ? ": " : "",
				r < 0 ? strerror(-r) : "");
		if (r < 0)
			break;
		n++;
	}
	closedir(d);
	return r < 0 ? r : n;
}

/* The pid holding a flock on the file fd refers to, from /proc/locks. */
static pid_t jail_lock_holder(int fd)
{
	_cleanup_close_ int pl = open("/proc/locks", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len;

	if (pl < 0 || fstat(fd, &st) < 0 || fd_read_all(pl, 1 << 22, &buf, &len) < 0)
		return 0;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		unsigned maj, min;
		unsigned long long ino;
		int pid;

		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
		if (strstr(l, "FLOCK") && !strstr(l, "->") &&
		    sscanf(l, "%*d: FLOCK %*s %*s %d %x:%x:%llu", &pid, &maj, &min, &ino) == 4 && ino == st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev))
			return pid;
	}
	return 0;
}

/* Opens the lock file, creating it when asked; says whether it did. */
static int jail_lock_open(int exec_fd, const char *name, bool create, bool *ret_created)
{
	int fd = -1;

	*ret_created = false;
	if (create) {
		fd = openat(exec_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		*ret_created = fd >= 0;
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		fd = openat(exec_fd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Locks <id>.lock in <exec-name>: 0 and the locked fd; -EWOULDBLOCK and the
 * holder's pid when taken; -ENOENT without create when there is none. */
int jail_lock_take(int exec_fd, const char *id, bool create, int *ret_fd, pid_t *ret_holder, bool *ret_created)
{
	char name[JAIL_ID_MAX + 8];

	snprintf(name, sizeof(name), "%s.lock", id);
	for (int i = 0; i < JAIL_LOCK_RETRIES; i++) {
		_cleanup_close_ int fd = jail_lock_open(exec_fd, name, create, ret_created);
		struct stat st;

		if (fd < 0)
			return fd;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) ||
		    st.st_nlink != 1)
			return -EPERM;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			*ret_holder = e == EWOULDBLOCK ? jail_lock_holder(fd) : 0;
			return -e;
		}
		if (jail_still_named(exec_fd, name, fd)) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
	}
	return -EAGAIN;
}

/* Does pid, pinned by a pidfd, have its root on the jail's root inode? A
 * recycled pid is some other process, whose root is elsewhere. (Membership
 * of the jail's cgroups is read from their procs files instead.) */
static bool jail_pid_is_vmm(pid_t pid, const struct stat *root)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	char path[64];
	struct stat st;
	bool vmm = false;

	if (pidfd < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	if (root && stat(path, &st) == 0 && st.st_dev == root->st_dev && st.st_ino == root->st_ino)
		vmm = true;
	/* Signal 0 through the pidfd: the process it pins was alive after the
	 * look, so what /proc showed was that process, not a successor. */
	return vmm && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* The first pid in a jail cgroup's procs file, 0 when empty or absent. */
static pid_t jail_cgroup_first_pid(const struct jail_manifest_cgroup *c)
{
	_cleanup_close_ int mnt = open(c->mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int dir = -1, fd = -1;
	char buf[64] = "";
	uint32_t pid;

	if (mnt < 0)
		return 0;
	dir = openat(mnt, c->levels[c->n_levels - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return 0;
	fd = openat(dir, "cgroup.procs", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fd_read_full(fd, buf, sizeof(buf) - 1) <= 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return parse_u32(buf, &pid) == 0 ? (pid_t)pid : 0;
}

static pid_t jail_pid_file_read(int id_fd, const struct jail_manifest *m)
{
	_cleanup_close_ int fd = openat(id_fd, m->pid_file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char buf[24] = "";
	uint32_t pid;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fd_read_full(fd, buf, sizeof(buf) - 1) <= 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return parse_u32(buf, &pid) == 0 && pid > 0 && pid < (1u << 22) ? (pid_t)pid : 0;
}

/* Any process whose root is the jail's root: a VMM whose pid file is gone
 * or names another process. */
static pid_t jail_scan_roots(const struct stat *root)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	uint32_t pid;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		if (parse_u32(e->d_name, &pid) == 0 && pid > 1 && (pid_t)pid != getpid() &&
		    jail_pid_is_vmm((pid_t)pid, root))
			found = (pid_t)pid;
	closedir(d);
	return found;
}

pid_t jail_find_live(int id_fd, const struct jail_manifest *m, char *why, size_t len)
{
	struct stat root;
	bool have_root = fstatat(id_fd, "root", &root, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(root.st_mode);
	pid_t pid = jail_pid_file_read(id_fd, m);

	if (pid > 0 && have_root && jail_pid_is_vmm(pid, &root)) {
		snprintf(why, len, "the VMM, pid %d (from %s), is running in it", (int)pid, m->pid_file);
		return pid;
	}
	for (size_t h = 0; h < m->n_cgroups; h++) {
		pid = jail_cgroup_first_pid(&m->cgroups[h]);
		if (pid > 0) {
			snprintf(why, len, "pid %d is in its cgroup %s/%s", (int)pid, m->cgroups[h].mount,
				 m->cgroups[h].levels[m->cgroups[h].n_levels - 1]);
			return pid;
		}
	}
	pid = have_root ? jail_scan_roots(&root) : 0;
	if (pid > 0)
		snprintf(why, len, "pid %d has its root in the jail", (int)pid);
	return pid;
}
