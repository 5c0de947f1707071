/* Cgroups, the planning half: the file allowlist, value and parent checks,
 * and hierarchy detection. Nothing here writes; cgroup.c has the steps.
 *
 * The version of each controller comes from /proc/self/mountinfo (a "cgroup"
 * mount whose super options name the controller is v1; the "cgroup2" mount
 * with the controller in cgroup.controllers is v2), so the hybrid layout works.
 */
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

#define V1 1u
#define V2 2u

/* Every file a jail may set, with the versions it exists in. Anything else
 * (cgroup.procs, tasks, release_agent, notify_on_release, cgroup.subtree_control,
 * devices.allow...) is refused before the first side effect. */
static const struct {
	const char *file;
	unsigned versions;
} jail_cgroup_allow[] = {
	{ "cpu.cfs_quota_us", V1 },   { "cpu.cfs_period_us", V1 },     { "cpu.shares", V1 },
	{ "cpu.max", V2 },            { "cpu.weight", V2 },            { "cpu.max.burst", V2 },
	{ "cpuset.cpus", V1 | V2 },   { "cpuset.mems", V1 | V2 },
	{ "memory.limit_in_bytes", V1 }, { "memory.memsw.limit_in_bytes", V1 },
	{ "memory.soft_limit_in_bytes", V1 }, { "memory.swappiness", V1 },
	{ "memory.max", V2 },         { "memory.high", V2 },           { "memory.low", V2 },
	{ "memory.min", V2 },         { "memory.swap.max", V2 },
	{ "pids.max", V1 | V2 },
	{ "blkio.weight", V1 },       { "blkio.throttle.read_bps_device", V1 },
	{ "blkio.throttle.write_bps_device", V1 }, { "blkio.throttle.read_iops_device", V1 },
	{ "blkio.throttle.write_iops_device", V1 },
	{ "io.max", V2 },             { "io.weight", V2 },
	{ "hugetlb.2MB.limit_in_bytes", V1 }, { "hugetlb.1GB.limit_in_bytes", V1 },
	{ "hugetlb.2MB.max", V2 },    { "hugetlb.1GB.max", V2 },
};

static int jail_cgroup_allow_find(const char *file)
{
	for (size_t i = 0; i < ARRAY_SIZE(jail_cgroup_allow); i++)
		if (strcmp(jail_cgroup_allow[i].file, file) == 0)
			return (int)i;
	return -ENOENT;
}

int jail_cgroup_check_file(const char *file, char *ret_controller, size_t len)
{
	size_t clen;

	if (jail_cgroup_allow_find(file) < 0)
		return -EINVAL;
	clen = strcspn(file, ".");
	if (clen + 1 > len)
		return -ENAMETOOLONG;
	memcpy(ret_controller, file, clen);
	ret_controller[clen] = '\0';
	return 0;
}

/* Printable ASCII only (so no newline, NUL or escape), no '/' and no "..",
 * shorter than JAIL_CGROUP_VALUE_MAX: a value is one token line for one file. */
int jail_cgroup_check_value(const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len >= JAIL_CGROUP_VALUE_MAX || strstr(value, ".."))
		return -EINVAL;
	for (const char *c = value; *c; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '/')
			return -EINVAL;
	return 0;
}

/* Relative, components of [A-Za-z0-9_.-] that are not "." or "..", no empty
 * component, at most JAIL_PARENT_DEPTH_MAX levels and 255 bytes. */
int jail_cgroup_check_parent(const char *parent)
{
	size_t depth = 0, len = strlen(parent);
	const char *c = parent;

	if (len == 0 || len > 255 || parent[0] == '/')
		return -EINVAL;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			char ch = c[i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      ch == '_' || ch == '-' || ch == '.'))
				return -EINVAL;
		}
		if (++depth > JAIL_PARENT_DEPTH_MAX)
			return -EINVAL;
		c += n;
		if (*c == '/' && *++c == '\0')
			return -EINVAL;
	}
	return 0;
}

/* Copies a mountinfo field, decoding its \ooo octal escapes. */
static void jail_mount_unescape(const char *src, size_t n, char *dst, size_t dstlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < dstlen; i++) {
		if (src[i] == '\\' && i + 3 < n) {
			dst[o++] = (char)(((src[i + 1] - '0') << 6) | ((src[i + 2] - '0') << 3) | (src[i + 3] - '0'));
			i += 3;
		} else {
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
}

/* Parses the next cgroup/cgroup2 line at *cursor; returns 1, or 0 at the end. */
int jail_mount_next(const char **cursor, struct jail_mount *m)
{
	while (**cursor) {
		const char *line = *cursor, *end = strchr(line, '\n');
		const char *f[5], *sep, *fs, *src, *opts;
		size_t n = end ? (size_t)(end - line) : strlen(line);
		_cleanup_free_ char *l = strndup(line, n);

		*cursor = end ? end + 1 : line + n;
		if (!l)
			return 0;
		sep = strstr(l, " - ");
		if (!sep)
			continue;
		f[0] = l;
		for (int i = 1; i < 5; i++)
			f[i] = f[i - 1] && strchr(f[i - 1], ' ') ? strchr(f[i - 1], ' ') + 1 : NULL;
		fs = sep + 3;
		src = strchr(fs, ' ');
		opts = src ? strchr(src + 1, ' ') : NULL;
		if (!f[4] || !src || !opts)
			continue;
		snprintf(m->fstype, sizeof(m->fstype), "%.*s", (int)(src - fs), fs);
		if (strcmp(m->fstype, "cgroup") && strcmp(m->fstype, "cgroup2"))
			continue;
		jail_mount_unescape(f[4], strcspn(f[4], " "), m->point, sizeof(m->point));
		snprintf(m->opts, sizeof(m->opts), "%s", opts + 1);
		return 1;
	}
	return 0;
}

bool jail_list_has(const char *list, const char *sep, const char *word)
{
	size_t wl = strlen(word);

	for (const char *c = list; *c;) {
		size_t n = strcspn(c, sep);

		if (n == wl && strncmp(c, word, n) == 0)
			return true;
		c += n;
		c += strspn(c, sep);
	}
	return false;
}

/* Appends a word to a space-separated list. The words are controllers of the
 * allowlist (cpu, cpuset, memory, pids, io, hugetlb): together far below the
 * list's 256 bytes, so the length check never drops one in practice. */
static void jail_words_append(char *list, size_t size, const char *word)
{
	size_t used = strlen(list), n = strlen(word);

	if (used + 1 + n + 1 > size)
		return;
	if (used)
		list[used++] = ' ';
	memcpy(list + used, word, n + 1);
}

static int jail_hier_add(struct jail_plan *p, const char *mount, int version)
{
	for (size_t i = 0; i < p->n_hier; i++)
		if (strcmp(p->hier[i].mount, mount) == 0)
			return (int)i;
	if (p->n_hier >= JAIL_HIER_MAX)
		return -E2BIG;
	snprintf(p->hier[p->n_hier].mount, sizeof(p->hier[0].mount), "%s", mount);
	p->hier[p->n_hier].version = version;
	return (int)p->n_hier++;
}

/* Finds the mount of a controller for the plan's version: v1 by super options,
 * v2 by the unified mount's cgroup.controllers. */
static int jail_cgroup_find(const char *mountinfo, const char *controller, int version, char *ret_mount,
			    bool *ret_any_hier)
{
	const char *cur = mountinfo;
	struct jail_mount m;

	while (jail_mount_next(&cur, &m)) {
		char path[PATH_MAX + 32];
		_cleanup_free_ char *ctl = NULL;
		_cleanup_close_ int fd = -1;
		size_t len;

		if (version == 1 && strcmp(m.fstype, "cgroup") == 0) {
			*ret_any_hier = true;
			if (!jail_list_has(m.opts, ",", controller))
				continue;
		} else if (version == 2 && strcmp(m.fstype, "cgroup2") == 0) {
			*ret_any_hier = true;
			snprintf(path, sizeof(path), "%s/cgroup.controllers", m.point);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fd_read_all(fd, 4096, &ctl, &len) < 0 || !jail_list_has(ctl, " \n", controller))
				return -ENOENT; /* only the first unified mount counts */
		} else {
			continue;
		}
		snprintf(ret_mount, PATH_MAX, "%s", m.point);
		return 0;
	}
	return -ENOENT;
}

/* An optional (template io weight) value is dropped where the host cannot
 * take it: a v1 blkio without CFQ/BFQ has no blkio.weight, say. The
 * template still fits this host, so no warning: --dry-run lists the skip. */
static bool jail_cgroup_drop_optional(struct jail_plan *p, size_t i, const char *mountinfo)
{
	struct jail_cgroup_value *v = &p->cgroups[i];
	char mount[PATH_MAX], path[PATH_MAX + JAIL_CGROUP_FILE_MAX + 1];
	bool any = false;

	if (!v->optional)
		return false;
	if (jail_cgroup_find(mountinfo, v->controller, p->cgroup_version, mount, &any) == 0) {
		snprintf(path, sizeof(path), "%s/%s", mount, v->file);
		if (p->cgroup_version == 2 || access(path, F_OK) == 0)
			return false;
	}
	if (p->n_cgroups_skipped < JAIL_CGROUP_SKIP_MAX)
		p->cgroups_skipped[p->n_cgroups_skipped++] = *v;
	memmove(v, v + 1, (p->n_cgroups - i - 1) * sizeof(*v));
	p->n_cgroups--;
	return true;
}

int jail_cgroup_resolve(struct jail_plan *p, const char *mountinfo, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->n_cgroups; i++) {
		struct jail_cgroup_value *v = &p->cgroups[i];

		if (jail_cgroup_drop_optional(p, i, mountinfo)) {
			i--;
			continue;
		}
		int a = jail_cgroup_allow_find(v->file);
		char mount[PATH_MAX];
		bool any = false;
		int h;

		if (a < 0 || !(jail_cgroup_allow[a].versions & (1u << (p->cgroup_version - 1)))) {
			jail_errf(err, errlen, "Cgroup file %s does not exist in cgroup v%d", v->file, p->cgroup_version);
			return -EINVAL;
		}
		if (jail_cgroup_find(mountinfo, v->controller, p->cgroup_version, mount, &any) < 0) {
			if (!any)
				jail_errf(err, errlen, "Hierarchy not found: No hierarchy found for this cgroup version.");
			else
				jail_errf(err, errlen, "Controller %s is unavailable", v->controller);
			return -ENOENT;
		}
		h = jail_hier_add(p, mount, p->cgroup_version);
		if (h < 0) {
			jail_errf(err, errlen, "Too many cgroup hierarchies");
			return h;
		}
		v->hier = h;
		if (p->cgroup_version == 2 && !jail_list_has(p->hier[h].controllers, " ", v->controller))
			jail_words_append(p->hier[h].controllers, sizeof(p->hier[h].controllers), v->controller);
	}
	return 0;
}

