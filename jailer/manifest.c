/* <id>/jailer-manifest.json: what one jail consists of on the host.
 *
 * The jailer writes it before the first thing it names exists (a jailer-made
 * <id> is built under a temporary name with the manifest inside, then renamed
 * into place), so a jailer killed at any instant leaves either nothing of the
 * id, a reserved temporary name, or a manifest that names all there is.
 * --cleanup and the undo of a failed run remove exactly what it names: paths
 * under <id>, each jailer-made or adopted (then given back its owner and
 * mode), and the cgroup levels, each marked whether it existed before. */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"

#define JAIL_MANIFEST_SIZE_MAX (1 << 16)
#define JAIL_MANIFEST_VERSION 1

static void jail_manifest_add(struct jail_manifest *m, const char *name, enum jail_entry_kind kind)
{
	struct jail_manifest_entry *e = &m->entries[m->n_entries++];

	snprintf(e->path, sizeof(e->path), "root%s%s", name[0] ? "/" : "", name);
	e->kind = kind;
}

/* The names the jailer makes in <id>/root, in creation order; removal runs
 * them backwards, so "root" goes last. */
static void jail_manifest_names(const struct jail_plan *p, struct jail_manifest *m)
{
	char pid[NAME_MAX + 8];

	jail_manifest_add(m, "", JAIL_ENTRY_DIR);
	jail_manifest_add(m, "dev", JAIL_ENTRY_DIR);
	jail_manifest_add(m, "run", JAIL_ENTRY_DIR);
	jail_manifest_add(m, "old_root", JAIL_ENTRY_DIR);
	jail_manifest_add(m, p->exec_name, JAIL_ENTRY_FILE);
	snprintf(pid, sizeof(pid), "%s.pid", p->exec_name);
	jail_manifest_add(m, pid, JAIL_ENTRY_FILE);
	snprintf(m->pid_file, sizeof(m->pid_file), "root/%s", pid);
	for (size_t i = 0; i < p->n_binds; i++)
		jail_manifest_add(m, p->binds[i].name, JAIL_ENTRY_FILE);
}

static void jail_manifest_adopt(struct jail_manifest_entry *e, const struct stat *st)
{
	e->existed = true;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mode = st->st_mode & 07777;
}

/* A caller-made <id>/root is adopted when none of the names the jailer makes
 * there exists; an existing "run" directory is adopted too. */
static int jail_manifest_plan_root(const struct jail_plan *p, int id_fd, struct jail_manifest *m, char *err,
				   size_t errlen)
{
	_cleanup_close_ int root = openat(id_fd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char path[PATH_MAX + 8];
	struct stat st;
	int r;

	if (root < 0 && errno == ENOENT)
		return 0;
	snprintf(path, sizeof(path), "%s", p->chroot_dir);
	if (root < 0) {
		jail_errf(err, errlen, "%s must be a real directory: %s", path, strerror(errno));
		return -ENOTDIR;
	}
	r = jail_dir_check(root, path, err, errlen);
	if (r < 0)
		return r;
	fstat(root, &st);
	jail_manifest_adopt(&m->entries[0], &st);
	for (size_t i = 1; i < m->n_entries; i++) {
		struct jail_manifest_entry *e = &m->entries[i];
		const char *name = e->path + strlen("root/");

		if (fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (strcmp(name, "run") == 0 && S_ISDIR(st.st_mode)) {
			jail_manifest_adopt(e, &st);
			continue;
		}
		jail_errf(err, errlen, "%s/%s exists: a caller-made root must not hold what the jailer creates there "
			  "(%s, %s.pid, dev, old_root, --bind-ro names)", path, name, p->exec_name, p->exec_name);
		return -EEXIST;
	}
	return 0;
}

static int jail_manifest_plan_cgroups(const struct jail_plan *p, struct jail_manifest *m, char *err, size_t errlen)
{
	for (size_t h = 0; h < p->n_hier; h++) {
		struct jail_manifest_cgroup *c = &m->cgroups[m->n_cgroups++];
		_cleanup_close_ int mnt = open(p->hier[h].mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		char rel[PATH_MAX + JAIL_ID_MAX + 2];
		struct stat st;

		snprintf(c->mount, sizeof(c->mount), "%s", p->hier[h].mount);
		snprintf(rel, sizeof(rel), "%s/%s", p->parent_cgroup, p->id);
		for (size_t i = 0; c->n_levels <= JAIL_PARENT_DEPTH_MAX; i++) {
			if (rel[i] == '/' || rel[i] == '\0') {
				size_t n = c->n_levels++;

				snprintf(c->levels[n], sizeof(c->levels[n]), "%.*s", (int)i, rel);
				c->existed[n] = mnt >= 0 && fstatat(mnt, c->levels[n], &st, AT_SYMLINK_NOFOLLOW) == 0;
			}
			if (!rel[i])
				break;
		}
		if (c->existed[c->n_levels - 1]) {
			jail_errf(err, errlen, "cgroup %s/%s exists already: a stale jail (run jailer --cleanup first) "
				  "or another jail's", c->mount, rel);
			return -EEXIST;
		}
	}
	return 0;
}

/* Fills m for this plan. id_fd is an existing (caller-made) <id>, or -1. */
int jail_manifest_plan(const struct jail_plan *p, int id_fd, struct jail_manifest *m, char *err, size_t errlen)
{
	struct stat st;
	int r;

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", p->id);
	snprintf(m->exec_name, sizeof(m->exec_name), "%s", p->exec_name);
	jail_manifest_names(p, m);
	if (id_fd >= 0) {
		if (fstat(id_fd, &st) < 0)
			return -errno;
		m->id_existed = true;
		m->id_uid = st.st_uid;
		m->id_gid = st.st_gid;
		m->id_mode = st.st_mode & 07777;
		r = jail_manifest_plan_root(p, id_fd, m, err, errlen);
		if (r < 0)
			return r;
	}
	return jail_manifest_plan_cgroups(p, m, err, errlen);
}

/* Paths are stored percent-encoded outside printable ASCII (and '%'): a
 * file name is bytes, JSON strings are UTF-8. */
static json_t *jail_json_path(const char *path)
{
	char out[3 * PATH_MAX + 1];
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)path; *c && n + 4 <= sizeof(out); c++) {
		if (*c < 0x20 || *c >= 0x7f || *c == '%')
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%%%02X", *c);
		else
			out[n++] = (char)*c;
	}
	out[n] = '\0';
	return json_string(out);
}

static int jail_unescape(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (const char *c = in; *c; c++) {
		unsigned v;

		if (n + 1 >= len)
			return -ENAMETOOLONG;
		if (*c != '%') {
			out[n++] = *c;
			continue;
		}
		if (sscanf(c + 1, "%2x", &v) != 1 || !isxdigit((unsigned char)c[1]) || !isxdigit((unsigned char)c[2]) ||
		    v == 0)
			return -EINVAL;
		out[n++] = (char)v;
		c += 2;
	}
	out[n] = '\0';
	return 0;
}

static json_t *jail_manifest_owner(json_t *o, bool existed, uint32_t uid, uint32_t gid, uint32_t mode)
{
	if (o && existed)
		json_object_update_new(o, json_pack("{s:I, s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid,
						    "mode", (json_int_t)mode));
	return o;
}

static json_t *jail_manifest_to_json(const struct jail_manifest *m)
{
	json_t *entries = json_array(), *cgroups = json_array();

	for (size_t i = 0; i < m->n_entries; i++) {
		const struct jail_manifest_entry *e = &m->entries[i];

		json_array_append_new(entries, jail_manifest_owner(
			json_pack("{s:o, s:s, s:b}", "path", jail_json_path(e->path), "kind", e->kind == JAIL_ENTRY_DIR ? "dir" : "file",
				  "existed", e->existed), e->existed, e->uid, e->gid, e->mode));
	}
	for (size_t h = 0; h < m->n_cgroups; h++) {
		json_t *levels = json_array();

		for (size_t i = 0; i < m->cgroups[h].n_levels; i++)
			json_array_append_new(levels, json_pack("{s:s, s:b}", "path", m->cgroups[h].levels[i], "existed",
								m->cgroups[h].existed[i]));
		json_array_append_new(cgroups, json_pack("{s:o, s:o}", "mount", jail_json_path(m->cgroups[h].mount), "levels", levels));
	}
	return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o}", "version", JAIL_MANIFEST_VERSION, "id", m->id,
			 "exec_name", jail_json_path(m->exec_name),
			 "id_dir", jail_manifest_owner(json_pack("{s:b}", "existed", m->id_existed), m->id_existed,
						       m->id_uid, m->id_gid, m->id_mode),
			 "pid_file", jail_json_path(m->pid_file), "entries", entries, "cgroups", cgroups);
}

/* Creates name under dirfd (root, 0600, must not exist) holding m. */
int jail_manifest_write(int dirfd, const char *name, const struct jail_manifest *m)
{
	json_t *o = jail_manifest_to_json(m);
	_cleanup_free_ char *text = o ? json_dumps(o, JSON_INDENT(1) | JSON_ENSURE_ASCII) : NULL;
	_cleanup_close_ int fd = -1;
	int r;

	json_decref(o);
	if (!text)
		return -ENOMEM;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* No fsync: it cost about 8 ms per jail here. The manifest guards
	 * against processes dying, not the host: after a host crash a manifest
	 * may read empty, and --cleanup then refuses the directory rather than
	 * guess (exit 2). */
	r = fd_write_full(fd, text, strlen(text));
	if (r >= 0)
		r = fd_write_full(fd, "\n", 1);
	return r;
}

/* "root" or "root/NAME", NAME one component without control characters. */
static bool jail_manifest_path_ok(const char *path)
{
	const char *name;

	if (strcmp(path, "root") == 0)
		return true;
	if (strncmp(path, "root/", 5) != 0)
		return false;
	name = path + 5;
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static int jail_manifest_parse_owner(json_t *o, bool existed, uint32_t *uid, uint32_t *gid, uint32_t *mode)
{
	json_int_t u = 0, g = 0, md = 0;

	if (!existed)
		return json_object_get(o, "uid") ? -EINVAL : 0;
	if (json_unpack(o, "{s:I, s:I, s:I}", "uid", &u, "gid", &g, "mode", &md) < 0 || u < 0 || u >= UINT32_MAX ||
	    g < 0 || g >= UINT32_MAX || md < 0 || md > 07777)
		return -EINVAL;
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	*mode = (uint32_t)md;
	return 0;
}

static int jail_manifest_parse_entries(json_t *a, struct jail_manifest *m)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) > JAIL_MANIFEST_ENTRY_MAX)
		return -E2BIG;
	json_array_foreach(a, i, v) {
		struct jail_manifest_entry *e = &m->entries[m->n_entries++];
		const char *path, *kind;
		json_int_t ignored;
		int existed;

		/* the owner fields are checked by jail_manifest_parse_owner() */
		if (json_unpack(v, "{s:s, s:s, s:b, s?I, s?I, s?I !}", "path", &path, "kind", &kind, "existed", &existed,
				"uid", &ignored, "gid", &ignored, "mode", &ignored) < 0)
			return -EINVAL;
		if (jail_unescape(path, e->path, sizeof(e->path)) < 0 || !jail_manifest_path_ok(e->path) ||
		    (strcmp(kind, "dir") && strcmp(kind, "file")))
			return -EINVAL;
		e->kind = strcmp(kind, "dir") == 0 ? JAIL_ENTRY_DIR : JAIL_ENTRY_FILE;
		e->existed = existed;
		if (jail_manifest_parse_owner(v, e->existed, &e->uid, &e->gid, &e->mode) < 0)
			return -EINVAL;
	}
	return 0;
}

static int jail_manifest_parse_cgroups(json_t *a, const char *id, struct jail_manifest *m)
{
	size_t i, k;
	json_t *v, *l;

	if (json_array_size(a) > JAIL_HIER_MAX)
		return -E2BIG;
	json_array_foreach(a, i, v) {
		struct jail_manifest_cgroup *c = &m->cgroups[m->n_cgroups++];
		const char *mount, *last;
		json_t *levels;

		if (json_unpack(v, "{s:s, s:o !}", "mount", &mount, "levels", &levels) < 0 ||
		    jail_unescape(mount, c->mount, sizeof(c->mount)) < 0 || c->mount[0] != '/' ||
		    json_array_size(levels) == 0 || json_array_size(levels) > JAIL_PARENT_DEPTH_MAX + 1)
			return -EINVAL;
		json_array_foreach(levels, k, l) {
			const char *path;
			int existed;

			if (json_unpack(l, "{s:s, s:b !}", "path", &path, "existed", &existed) < 0 ||
			    jail_cgroup_check_parent(path) < 0 || strlen(path) >= sizeof(c->levels[0]))
				return -EINVAL;
			snprintf(c->levels[c->n_levels], sizeof(c->levels[0]), "%s", path);
			c->existed[c->n_levels++] = existed;
		}
		last = strrchr(c->levels[c->n_levels - 1], '/');
		if (!last || strcmp(last + 1, id) != 0)
			return -EINVAL; /* the jail's own level is <parent>/<id> */
	}
	return 0;
}

static int jail_manifest_from_json(json_t *o, struct jail_manifest *m)
{
	const char *id, *exec_name, *pid_file;
	json_t *id_dir, *entries, *cgroups;
	int version, existed;
	json_int_t ignored;

	if (json_unpack(o, "{s:i, s:s, s:s, s:o, s:s, s:o, s:o !}", "version", &version, "id", &id, "exec_name",
			&exec_name, "id_dir", &id_dir, "pid_file", &pid_file, "entries", &entries, "cgroups", &cgroups) < 0 ||
	    version != JAIL_MANIFEST_VERSION || strlen(id) >= sizeof(m->id) ||
	    jail_unescape(exec_name, m->exec_name, sizeof(m->exec_name)) < 0 ||
	    jail_unescape(pid_file, m->pid_file, sizeof(m->pid_file)) < 0 || jail_id_validate(id, NULL, 0) < 0 ||
	    !jail_manifest_path_ok(m->pid_file) || !strcmp(m->pid_file, "root") ||
	    json_unpack(id_dir, "{s:b, s?I, s?I, s?I !}", "existed", &existed, "uid", &ignored, "gid", &ignored,
			"mode", &ignored) < 0)
		return -EINVAL;
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->id_existed = existed;
	if (jail_manifest_parse_owner(id_dir, m->id_existed, &m->id_uid, &m->id_gid, &m->id_mode) < 0 ||
	    jail_manifest_parse_entries(entries, m) < 0)
		return -EINVAL;
	return jail_manifest_parse_cgroups(cgroups, m->id, m);
}

/* Parses manifest text (strict JSON, the shape jail_manifest_write() makes). */
int jail_manifest_parse(const char *text, size_t len, struct jail_manifest *m)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	int r;

	memset(m, 0, sizeof(*m));
	r = o ? jail_manifest_from_json(o, m) : -EINVAL;

	json_decref(o);
	return r;
}

/* Reads <id>/jailer-manifest.json: a regular file of root's with one link,
 * writable by nobody else, strict JSON of the expected shape. */
int jail_manifest_read(int id_fd, const char *id_path, struct jail_manifest *m, char *err, size_t errlen)
{
	_cleanup_close_ int fd = openat(id_fd, JAIL_MANIFEST, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	if (fd < 0) {
		jail_errf(err, errlen, "%s/%s: %s", id_path, JAIL_MANIFEST, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1 || (st.st_mode & 022)) {
		jail_errf(err, errlen, "%s/%s is not a regular file of root's with one link, writable only by root",
			  id_path, JAIL_MANIFEST);
		return -EPERM;
	}
	r = fd_read_all(fd, JAIL_MANIFEST_SIZE_MAX, &text, &len);
	if (r < 0) {
		jail_errf(err, errlen, "%s/%s: %s", id_path, JAIL_MANIFEST, strerror(-r));
		return r;
	}
	r = jail_manifest_parse(text, len, m);
	if (r < 0)
		jail_errf(err, errlen, "%s/%s is not a valid jailer manifest", id_path, JAIL_MANIFEST);
	return r;
}

static void jail_say(FILE *out, const char *what, const char *dir, const char *name, const char *why)
{
	if (out)
		fprintf(out, "%s %s%s%s%s%s\n", what, dir, name[0] ? "/" : "", name, why[0] ? ": " : "", why);
}

/* Lists what stays in an adopted directory: the caller's own files. */
static void jail_say_left_in(FILE *out, int dirfd, const char *dir)
{
	DIR *d = jail_dir_stream(dirfd);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, JAIL_MANIFEST))
			jail_say(out, "left", dir, e->d_name, "not made by the jailer");
	closedir(d);
}

/* An adopted directory gets its owner and mode back; its own content stays. */
static int jail_entry_restore(int parent, const char *name, const char *dir, uint32_t uid, uint32_t gid, uint32_t mode,
			      FILE *out)
{
	_cleanup_close_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char why[64], sub[PATH_MAX + NAME_MAX + 2];

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		return -errno;
	snprintf(why, sizeof(why), "adopted, owner %u:%u and mode %04o given back", uid, gid, mode);
	jail_say(out, "left", dir, name, why);
	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	jail_say_left_in(out, fd, sub);
	return 0;
}

static int jail_entry_remove(int id_fd, const char *id_path, const struct jail_manifest_entry *e, FILE *out)
{
	const char *slash = strchr(e->path, '/');
	_cleanup_close_ int parent = -1;
	char dir[PATH_MAX + 8];
	const char *name;
	struct stat st;
	int r;

	if (slash) {
		parent = openat(id_fd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (parent < 0)
			return errno == ENOENT ? 0 : -errno;
		name = slash + 1;
		snprintf(dir, sizeof(dir), "%s/root", id_path);
	} else {
		parent = fcntl(id_fd, F_DUPFD_CLOEXEC, 3);
		name = e->path;
		snprintf(dir, sizeof(dir), "%s", id_path);
	}
	if (e->existed)
		return e->kind == JAIL_ENTRY_DIR ? jail_entry_restore(parent, name, dir, e->uid, e->gid, e->mode, out) : 0;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	r = jail_tree_remove(parent, name);
	jail_say(out, r < 0 ? "left" : "removed", dir, name, r < 0 ? strerror(-r) : "");
	return r;
}

/* In a jailer-made <id> everything but the manifest goes (the manifest last,
 * by the caller): what the VMM put in its root too. */
static int jail_id_dir_empty(int id_fd, const char *id_path, FILE *out)
{
	DIR *d = jail_dir_stream(id_fd);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int q;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, JAIL_MANIFEST))
			continue;
		q = jail_tree_remove(dirfd(d), e->d_name);
		jail_say(out, q < 0 ? "left" : "removed", id_path, e->d_name, q < 0 ? strerror(-q) : "");
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	return r;
}

/* The jail's own level, then the levels this jail's run created, deepest
 * first; a level others still use (busy, not empty) stays. No task is ever
 * migrated: rmdir only. */
int jail_manifest_remove_cgroups(const struct jail_manifest *m, FILE *out)
{
	int first = 0;

	for (size_t h = 0; h < m->n_cgroups; h++) {
		const struct jail_manifest_cgroup *c = &m->cgroups[h];
		_cleanup_close_ int mnt = open(c->mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct statfs sfs;

		if (mnt < 0 || fstatfs(mnt, &sfs) < 0 ||
		    (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC)) {
			jail_say(out, "left", c->mount, "", "not a cgroup mount any more");
			continue;
		}
		for (size_t i = c->n_levels; i-- > 0;) {
			bool own = i == c->n_levels - 1;

			if (c->existed[i] && !own)
				continue;
			if (unlinkat(mnt, c->levels[i], AT_REMOVEDIR) == 0) {
				jail_say(out, "removed", c->mount, c->levels[i], "");
			} else if (errno != ENOENT) {
				jail_say(out, "left", c->mount, c->levels[i], own ? strerror(errno) : "shared, still in use");
				if (own && first == 0)
					first = -errno;
				if (!own)
					break; /* its parents are busy too */
			}
		}
	}
	return first;
}

/* Removes the jail m describes under exec_fd/<id>: named entries (adopted
 * ones get owner and mode back), everything else of a jailer-made <id>, the
 * cgroup levels, and the manifest last, so a failed removal can be rerun. */
int jail_manifest_remove(int exec_fd, const char *exec_path, const struct jail_manifest *m, FILE *out)
{
	_cleanup_close_ int id_fd = openat(exec_fd, m->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char id_path[PATH_MAX];
	int r = 0, q;

	snprintf(id_path, sizeof(id_path), "%s/%s", exec_path, m->id);
	if (id_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (size_t i = m->n_entries; i-- > 0;) {
		q = jail_entry_remove(id_fd, id_path, &m->entries[i], out);
		if (q < 0 && r == 0)
			r = q;
	}
	if (!m->id_existed && (q = jail_id_dir_empty(id_fd, id_path, out)) < 0 && r == 0)
		r = q;
	if ((q = jail_manifest_remove_cgroups(m, out)) < 0 && r == 0)
		r = q;
	if (r < 0)
		return r;
	if (unlinkat(id_fd, JAIL_MANIFEST, 0) < 0 && errno != ENOENT)
		return -errno;
	jail_say(out, "removed", id_path, JAIL_MANIFEST, "");
	if (m->id_existed)
		return jail_entry_restore(exec_fd, m->id, exec_path, m->id_uid, m->id_gid, m->id_mode, out);
	if (unlinkat(exec_fd, m->id, AT_REMOVEDIR) < 0)
		return -errno;
	jail_say(out, "removed", exec_path, m->id, "");
	return 0;
}
