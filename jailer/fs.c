/* Filesystem steps: the chroot tree, the exec file copy, pivot_root, the
 * jail's directories and the pid file.
 *
 * All work is relative to directory fds opened with O_NOFOLLOW (or openat2
 * RESOLVE_NO_SYMLINKS for the canonical host paths), so a symlink planted in
 * the tree is never followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "jailer.h"
#include "log.h"

#define JAIL_TREE_DEPTH_MAX 32

int jail_open_nosym(const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* A directory stream on its own fd (dirfd stays open and unmoved), or NULL
 * with errno set. */
DIR *jail_dir_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

static int jail_subdir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int jail_refuse(struct jail_state *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	s->refused = true;
	return -err;
}

/* Takes <exec-name>/<id>.lock, making <base>/<exec-name> first if needed.
 * The exec directory is held with a shared flock while the lock file is
 * added, so --cleanup cannot remove it in between; if it was removed before
 * that, start over. */
static int jail_lock_id(const struct jail_plan *p, struct jail_state *s, int base, bool *created)
{
	char err[512];

	for (int i = 0; i < 100; i++) {
		_cleanup_close_ int exec_dir = -1;
		pid_t holder = 0;
		struct stat st;
		int r = jail_exec_dir_open(base, p->exec_name, true, &exec_dir);

		if (r < 0)
			return jail_fail(s, -r, "creating \"%s\"", p->exec_dir);
		if (jail_dir_check(exec_dir, p->exec_dir, err, sizeof(err)) < 0)
			return jail_refuse(s, EPERM, "%s", err);
		if (flock(exec_dir, LOCK_SH) < 0)
			return jail_fail(s, errno, "locking \"%s\"", p->exec_dir);
		if (fstat(exec_dir, &st) < 0 || st.st_nlink == 0)
			continue; /* removed by --cleanup meanwhile */
		r = jail_lock_take(exec_dir, p->id, true, &s->lock_fd, &holder, created);
		flock(exec_dir, LOCK_UN);
		if (r == -ENOENT)
			continue;
		if (r == -EWOULDBLOCK && holder > 0)
			return jail_refuse(s, EBUSY, "%s/%s.lock: another jail has this id (held by pid %d)", p->exec_dir,
					   p->id, (int)holder);
		if (r == -EWOULDBLOCK)
			return jail_refuse(s, EBUSY, "%s/%s.lock: another jail has this id", p->exec_dir, p->id);
		if (r < 0)
			return jail_fail(s, -r, "locking \"%s/%s.lock\" (a regular file of root's, mode 0600)", p->exec_dir,
					 p->id);
		s->exec_dir_fd = TAKE_FD(exec_dir);
		return 0;
	}
	return jail_fail(s, EAGAIN, "\"%s\" keeps vanishing", p->exec_dir);
}

/* An existing <id> is either a jail (its manifest: refused, live or stale)
 * or a directory the caller made for this jail (checked, then adopted). */
static int jail_check_id_dir(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int id = openat(s->exec_dir_fd, p->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ struct jail_manifest *m = NULL;
	char err[512], why[256];
	struct stat st;

	if (id < 0 && errno == ENOENT)
		return 0;
	if (id < 0)
		return jail_refuse(s, errno, "%s must be a real directory: %s", p->id_dir, strerror(errno));
	if (jail_dir_check(id, p->id_dir, err, sizeof(err)) < 0)
		return jail_refuse(s, EPERM, "%s", err);
	if (fstatat(id, JAIL_MANIFEST, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	m = malloc(sizeof(*m));
	if (!m)
		return jail_fail(s, ENOMEM, "reading the manifest");
	if (jail_manifest_read(id, p->id_dir, m, err, sizeof(err)) < 0)
		return jail_refuse(s, EEXIST, "%s", err);
	if (jail_find_live(id, m, why, sizeof(why)) > 0)
		return jail_refuse(s, EBUSY, "%s: another jail has this id (%s)", p->id_dir, why);
	return jail_refuse(s, EEXIST, "%s holds a stale jail of this id: run jailer --cleanup first", p->id_dir);
}

/* The lock, then the checks of what exists already. The lock and an
 * <exec-name> left empty are undone; a refusal changes nothing. */
int jail_step_lock_id(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int base = jail_open_nosym(p->base_dir);
	char name[JAIL_ID_MAX + 8];
	bool created = false;
	int r;

	if (base < 0)
		return jail_fail(s, -base, "opening \"%s\"", p->base_dir);
	r = jail_lock_id(p, s, base, &created);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "%s.lock", p->id);
	/* A lock file this run made goes again even on a refusal; one found is
	 * left to whoever made it (the jail that has this id). */
	if (created && (r = jail_undo_push(s, JAIL_UNDO_EXEC_DIR, base, p->exec_name)) >= 0)
		r = jail_undo_push(s, JAIL_UNDO_LOCK, s->exec_dir_fd, name);
	if (r < 0)
		return jail_fail(s, -r, "recording the undo of \"%s\"", p->exec_dir);
	r = jail_check_id_dir(p, s);
	if (r < 0 || created)
		return r;
	r = jail_undo_push(s, JAIL_UNDO_EXEC_DIR, base, p->exec_name);
	if (r >= 0)
		r = jail_undo_push(s, JAIL_UNDO_LOCK, s->exec_dir_fd, name);
	return r < 0 ? jail_fail(s, -r, "recording the undo of \"%s\"", p->exec_dir) : 0;
}

/* Writes the manifest before anything it names exists: a jailer-made <id> is
 * built as .<id>.new-<pid> with the manifest inside, then renamed into place;
 * into a caller-made <id> the manifest is renamed. */
static int jail_publish_manifest(const struct jail_plan *p, struct jail_state *s, const struct jail_manifest *m,
				 int id)
{
	char tmp[JAIL_ID_MAX + 32];
	int dir = id >= 0 ? id : s->exec_dir_fd, r;
	_cleanup_close_ int tmp_fd = -1;

	/* Temporary names of killed jailers of this id: with the lock held,
	 * their makers are gone (one may even carry this pid). */
	snprintf(tmp, sizeof(tmp), ".%s.", id >= 0 ? JAIL_MANIFEST : p->id);
	r = jail_temps_remove(dir, tmp, id >= 0 ? p->id_dir : p->exec_dir, false, NULL);
	if (r < 0)
		return jail_fail(s, -r, "removing abandoned temporary names in \"%s\"", id >= 0 ? p->id_dir : p->exec_dir);
	if (id >= 0) {
		snprintf(tmp, sizeof(tmp), ".%s.new-%d", JAIL_MANIFEST, (int)getpid());
		r = jail_manifest_write(id, tmp, m);
		if (r < 0)
			return jail_fail(s, -r, "writing \"%s/%s\"", p->id_dir, tmp);
		if (renameat2(id, tmp, id, JAIL_MANIFEST, RENAME_NOREPLACE) < 0)
			return jail_fail(s, errno, "renaming the manifest into \"%s\"", p->id_dir);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), ".%s.new-%d", p->id, (int)getpid());
	if (mkdirat(dir, tmp, 0700) < 0)
		return jail_fail(s, errno, "creating \"%s/%s\"", p->exec_dir, tmp);
	tmp_fd = jail_subdir(dir, tmp);
	r = tmp_fd < 0 ? tmp_fd : jail_manifest_write(tmp_fd, JAIL_MANIFEST, m);
	if (r >= 0 && renameat2(dir, tmp, dir, p->id, RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r < 0) {
		jail_tree_remove(dir, tmp);
		return jail_fail(s, -r, "making \"%s\" with its manifest", p->id_dir);
	}
	return 0;
}

/* <id> (made, or adopted as found) with its manifest, and <id>/root. */
int jail_step_create_tree(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int id = jail_subdir(s->exec_dir_fd, p->id);
	_cleanup_free_ struct jail_manifest *m = malloc(sizeof(*m));
	char err[512];
	int r;

	if (!m)
		return jail_fail(s, ENOMEM, "planning the manifest");
	if (id < 0 && id != -ENOENT)
		return jail_fail(s, -id, "opening \"%s\"", p->id_dir);
	r = jail_manifest_plan(p, id, m, err, sizeof(err));
	if (r < 0)
		return jail_refuse(s, -r, "%s", err);
	r = jail_publish_manifest(p, s, m, id);
	if (r < 0)
		return r;
	r = jail_undo_push(s, JAIL_UNDO_JAIL, s->exec_dir_fd, p->id);
	if (r < 0)
		return jail_fail(s, -r, "recording the undo of \"%s\"", p->id_dir);
	s->id_dir_fd = jail_subdir(s->exec_dir_fd, p->id);
	if (s->id_dir_fd < 0)
		return jail_fail(s, -s->id_dir_fd, "opening \"%s\"", p->id_dir);
	/* A capless uid 0 still owns root's files: keep it out of a caller's <id>. */
	if (m->id_existed && p->uid == 0 && fchmod(s->id_dir_fd, 0700) < 0)
		return jail_fail(s, errno, "setting mode 0700 on \"%s\"", p->id_dir);
	if (mkdirat(s->id_dir_fd, "root", 0700) < 0 && !(errno == EEXIST && m->entries[0].existed))
		return jail_fail(s, errno, "creating \"%s\"", p->chroot_dir);
	return 0;
}

static int jail_copy_fd(int in, int out, off_t size)
{
	off_t done = 0;

	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			n = sendfile(out, in, NULL, (size_t)(size - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the source shrank while being copied */
		done += n;
	}
	return 0;
}

/* The copy is created O_EXCL|O_NOFOLLOW in the root-owned 0700 tree, so a
 * planted file, link or symlink at the destination makes the step fail. What
 * the path named may have changed since planning (renamed over): the copy is
 * what the jail execs, so it is validated through its own fd, while only
 * root can touch it, before its owner changes. */
int jail_step_copy_exec_file(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int root = jail_subdir(s->id_dir_fd, "root"), out = -1;
	struct stat st, ost;
	char why[512];
	int r;

	s->exec_fd = open(p->exec_path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (s->exec_fd < 0)
		return jail_fail(s, errno, "Failed to open \"%s\"", p->exec_path);
	if (fstat(s->exec_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return jail_fail(s, EINVAL, "%s is not a file", p->exec_path);
	if (st.st_mode & (S_ISUID | S_ISGID))
		return jail_fail(s, EPERM, "%s has the setuid or setgid bit", p->exec_path);
	if (root < 0)
		return jail_fail(s, -root, "opening \"%s\"", p->chroot_dir);
	out = openat(root, p->exec_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (out < 0)
		return jail_fail(s, errno, "creating \"%s/%s\"", p->chroot_dir, p->exec_name);
	if (fstat(out, &ost) < 0 || ost.st_nlink != 1)
		return jail_fail(s, EMLINK, "Detected hard link at: %s/%s", p->chroot_dir, p->exec_name);
	r = jail_copy_fd(s->exec_fd, out, st.st_size);
	if (r < 0)
		return jail_fail(s, -r, "copying \"%s\" into the jail", p->exec_path);
	if (jail_elf_check_fd(out, p->exec_path, why, sizeof(why)) < 0)
		return jail_fail(s, ENOEXEC, "the copy of %s: %s (was it replaced since planning?)", p->exec_path, why);
	if (fchown(out, p->uid, p->gid) < 0 || fchmod(out, st.st_mode & 0755) < 0)
		return jail_fail(s, errno, "setting owner and mode of \"%s/%s\"", p->chroot_dir, p->exec_name);
	return 0;
}

/* --bind/--bind-ro: an empty file in the tree is the mount point (the
 * tree's undo removes it). The mount is the detached one the plan cloned from
 * the fd it checked, so the jail sees that inode whatever the host path names
 * now; it lives only in the jail's mount namespace, so the host never sees
 * it and --cleanup never meets it. The root is looked up again in this
 * namespace (move_mount's target must be here), without symlinks. */
int jail_step_bind_files(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int root = p->n_binds ? jail_open_nosym(p->chroot_dir) : -1;

	if (p->n_binds && root < 0)
		return jail_fail(s, -root, "opening \"%s\"", p->chroot_dir);
	for (size_t i = 0; i < p->n_binds; i++) {
		const struct jail_bind *b = &p->binds[i];
		struct mount_attr attr = {
			.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | (b->rw ? 0 : MOUNT_ATTR_RDONLY),
		};
		int fd = openat(root, b->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);

		if (fd < 0)
			return jail_fail(s, errno, "creating the mount point /%s", b->name);
		close(fd);
		if (mount_setattr(b->fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
		    move_mount(b->fd, "", root, b->name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return jail_fail(s, errno, "binding \"%s\" %s at /%s%s", b->host, b->rw ? "read-write" : "read-only",
					 b->name, errno == ENOENT ? ": it was renamed over or removed after the jailer checked "
					 "it (the kernel mounts no file whose name is gone, and no other file is mounted)" : "");
	}
	return 0;
}

/* Runs in the jail's own mount namespace (jail_step_unshare_mount_ns): bind
 * the chroot onto itself so it is a mount point, make it "/" and detach the
 * host's root so nothing of the host stays reachable. */
int jail_step_pivot_root(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int root = -1;

	if (mount(p->chroot_dir, p->chroot_dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return jail_fail(s, errno, "bind-mounting \"%s\" onto itself", p->chroot_dir);
	root = jail_open_nosym(p->chroot_dir);
	if (root < 0 || fchdir(root) < 0)
		return jail_fail(s, root < 0 ? -root : errno, "entering \"%s\"", p->chroot_dir);
	if (mkdir("old_root", 0600) < 0)
		return jail_fail(s, errno, "creating old_root in the jail");
	if (syscall(SYS_pivot_root, ".", "old_root") < 0)
		return jail_fail(s, errno, "pivot_root into \"%s\"", p->chroot_dir);
	if (chdir("/") < 0 || umount2("old_root", MNT_DETACH) < 0)
		return jail_fail(s, errno, "detaching the old root");
	if (rmdir("old_root") < 0)
		return jail_fail(s, errno, "removing old_root");
	return 0;
}

static int jail_own_dir(const struct jail_plan *p, struct jail_state *s, int dirfd, const char *name)
{
	_cleanup_close_ int fd = -1;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return jail_fail(s, errno, "creating \"/%s\" in the jail", name);
	fd = jail_subdir(dirfd, name);
	if (fd < 0)
		return jail_fail(s, -fd, "opening \"/%s\" in the jail", name);
	if (fchown(fd, p->uid, p->gid) < 0 || fchmod(fd, 0700) < 0)
		return jail_fail(s, errno, "setting owner and mode of \"/%s\"", name);
	return 0;
}

/* "/", /dev, /dev/net and /run: 0700, owned by the VMM's uid:gid. */
int jail_step_make_dirs(const struct jail_plan *p, struct jail_state *s)
{
	static const char *const dirs[] = { ".", "dev", "dev/net", "run" };
	_cleanup_close_ int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return jail_fail(s, errno, "opening the jail's /");
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = jail_own_dir(p, s, root, dirs[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

int jail_pid_file_write(const struct jail_plan *p, struct jail_state *s, pid_t pid)
{
	char name[NAME_MAX + 8], buf[32];
	_cleanup_close_ int fd = -1;
	int n;

	snprintf(name, sizeof(name), "/%s.pid", p->exec_name);
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return jail_fail(s, errno, "creating the pid file \"%s\"", name);
	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (write(fd, buf, (size_t)n) != n)
		return jail_fail(s, errno ? errno : EIO, "writing the pid file \"%s\"", name);
	s->vmm_pid = pid;
	return 0;
}

/* Without --new-pid-ns the VMM will be this very process; with it, the pid
 * file was written by the parent that saw the child's host pid. */
int jail_step_write_pid_file(const struct jail_plan *p, struct jail_state *s)
{
	if (p->new_pid_ns)
		return 0;
	return jail_pid_file_write(p, s, getpid());
}

/* The mount id of name under parent, without following a final symlink. */
static int jail_mnt_id(int parent, const char *name, uint64_t *ret)
{
	struct statx stx;

	if (statx(parent, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] ? 0 : AT_EMPTY_PATH),
		  STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret = stx.stx_mnt_id;
	return 0;
}

static int jail_tree_remove_at(int parent, const char *name, uint64_t mnt, int depth)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	uint64_t id;
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 ? -errno : 0;
	/* Never cross into a mount (an operator's bind mount of a kernel image
	 * must not have its source deleted): a bind mount of the same file
	 * system has the same st_dev, so compare mount ids. */
	r = jail_mnt_id(parent, name, &id);
	if (r < 0)
		return r;
	if (id != mnt) {
		log_error("\"%s\" is a mount point: not removing it (unmount it first)", name);
		return -EBUSY;
	}
	if (depth > JAIL_TREE_DEPTH_MAX)
		return -ELOOP;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1; /* owned by d now */
	while (r >= 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			r = jail_tree_remove_at(dirfd(d), e->d_name, mnt, depth + 1);
	closedir(d);
	if (r >= 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

int jail_tree_remove(int dirfd, const char *name)
{
	uint64_t mnt;
	int r = jail_mnt_id(dirfd, "", &mnt);

	return r < 0 ? r : jail_tree_remove_at(dirfd, name, mnt, 0);
}
