/* argv (+ template) → struct jail_plan.
 *
 * Everything is validated here, before the first side effect: this file only
 * reads (realpath, stat, /proc/self/mountinfo, the template). A plan that
 * builds is one the steps can execute without further checks of the input. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"
#include "parse.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef JAIL_TEMPLATE_DIR
#define JAIL_TEMPLATE_DIR "/usr/share/ember/cgroup-templates"
#endif

enum jail_opt {
	OPT_ID, OPT_EXEC_FILE, OPT_UID, OPT_GID, OPT_CHROOT_BASE, OPT_NETNS, OPT_DAEMONIZE,
	OPT_NEW_PID_NS, OPT_CGROUP, OPT_CGROUP_VERSION, OPT_PARENT_CGROUP, OPT_RESOURCE_LIMIT,
	OPT_CGROUP_TEMPLATE, OPT_NEW_USER_NS, OPT_NEW_IPC_NS, OPT_NEW_UTS_NS, OPT_DRY_RUN,
	OPT_CLEANUP, OPT_STATUS_FD, OPT_ALLOW_ROOT, OPT_BIND_RO, OPT__COUNT,
};

static const struct {
	const char *name;
	bool takes_value;
	bool repeatable;
} jail_opts[OPT__COUNT] = {
	[OPT_ID] = { "--id", true, false },
	[OPT_EXEC_FILE] = { "--exec-file", true, false },
	[OPT_UID] = { "--uid", true, false },
	[OPT_GID] = { "--gid", true, false },
	[OPT_CHROOT_BASE] = { "--chroot-base-dir", true, false },
	[OPT_NETNS] = { "--netns", true, false },
	[OPT_DAEMONIZE] = { "--daemonize", false, false },
	[OPT_NEW_PID_NS] = { "--new-pid-ns", false, false },
	[OPT_CGROUP] = { "--cgroup", true, true },
	[OPT_CGROUP_VERSION] = { "--cgroup-version", true, false },
	[OPT_PARENT_CGROUP] = { "--parent-cgroup", true, false },
	[OPT_RESOURCE_LIMIT] = { "--resource-limit", true, true },
	[OPT_CGROUP_TEMPLATE] = { "--cgroup-template", true, false },
	[OPT_NEW_USER_NS] = { "--new-user-ns", false, false },
	[OPT_NEW_IPC_NS] = { "--new-ipc-ns", false, false },
	[OPT_NEW_UTS_NS] = { "--new-uts-ns", false, false },
	[OPT_DRY_RUN] = { "--dry-run", false, false },
	[OPT_CLEANUP] = { "--cleanup", false, false },
	[OPT_STATUS_FD] = { "--status-fd", true, false },
	[OPT_ALLOW_ROOT] = { "--allow-root", false, false },
	[OPT_BIND_RO] = { "--bind-ro", true, true },
};

/* The raw, still unchecked strings of one command line. */
struct jail_args {
	const char *value[OPT__COUNT];
	bool seen[OPT__COUNT];
	const char *cgroups[JAIL_CGROUP_MAX];
	size_t n_cgroups;
	const char *rlimits[4];
	size_t n_rlimits;
	const char *binds[JAIL_BIND_MAX];
	size_t n_binds;
};

int jail_id_validate(const char *id, char *err, size_t errlen)
{
	size_t len = strlen(id);

	if (len < 1 || len > JAIL_ID_MAX) {
		jail_errf(err, errlen, "Invalid instance ID: Invalid len (%zu);  the length must be between 1 and %d",
			  len, JAIL_ID_MAX);
		return -EINVAL;
	}
	if (id[0] == '-') {
		jail_errf(err, errlen, "Invalid instance ID: must not start with '-'");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';

		if (!ok) {
			if (c >= 0x20 && c < 0x7f)
				jail_errf(err, errlen, "Invalid instance ID: Invalid char (%c) at position %zu", c, i);
			else
				jail_errf(err, errlen, "Invalid instance ID: Invalid char (\\x%02x) at position %zu", c, i);
			return -EINVAL;
		}
	}
	return 0;
}

/* Strict decimal; 4294967295 ((uid_t)-1, "no change" to setresuid) never.
 * 0 passes, as in Firecracker (Kata uses it): the VMM still holds no
 * capability (main.c warns). `what` is "uid" or "gid". */
int jail_id_parse_uid(const char *s, const char *what, uint32_t *ret, char *err, size_t errlen)
{
	uint32_t v;

	if (parse_u32(s, &v) < 0 || v == UINT32_MAX) {
		jail_errf(err, errlen, "Invalid %s: %s", what, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int jail_args_collect(int argc, char *const *argv, struct jail_args *a, size_t *ret_vmm_start,
			     char *err, size_t errlen)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int o;

		if (strcmp(arg, "--") == 0) {
			*ret_vmm_start = (size_t)i + 1;
			return 0;
		}
		for (o = 0; o < OPT__COUNT; o++)
			if (strcmp(arg, jail_opts[o].name) == 0)
				break;
		if (o == OPT__COUNT) {
			jail_errf(err, errlen, "Unknown argument: %.64s", arg);
			return -EINVAL;
		}
		if (a->seen[o] && !jail_opts[o].repeatable) {
			jail_errf(err, errlen, "Argument %s given twice", arg);
			return -EINVAL;
		}
		a->seen[o] = true;
		if (!jail_opts[o].takes_value)
			continue;
		if (i + 1 >= argc) {
			jail_errf(err, errlen, "Argument %s needs a value", arg);
			return -EINVAL;
		}
		arg = argv[++i];
		if (strlen(arg) >= PATH_MAX) {
			jail_errf(err, errlen, "The value of %s is longer than %d bytes", jail_opts[o].name, PATH_MAX - 1);
			return -ENAMETOOLONG;
		}
		if (o == OPT_CGROUP) {
			if (a->n_cgroups >= JAIL_CGROUP_MAX) {
				jail_errf(err, errlen, "At most %d --cgroup values", JAIL_CGROUP_MAX);
				return -E2BIG;
			}
			a->cgroups[a->n_cgroups++] = arg;
		} else if (o == OPT_BIND_RO) {
			if (a->n_binds >= JAIL_BIND_MAX) {
				jail_errf(err, errlen, "At most %d --bind-ro files", JAIL_BIND_MAX);
				return -E2BIG;
			}
			a->binds[a->n_binds++] = arg;
		} else if (o == OPT_RESOURCE_LIMIT) {
			if (a->n_rlimits >= ARRAY_SIZE(a->rlimits)) {
				jail_errf(err, errlen, "Too many --resource-limit values");
				return -E2BIG;
			}
			a->rlimits[a->n_rlimits++] = arg;
		}
		a->value[o] = arg;
	}
	*ret_vmm_start = (size_t)argc;
	return 0;
}

static int jail_plan_vmm_args(struct jail_plan *p, int argc, char *const *argv, size_t start, char *err,
			      size_t errlen)
{
	size_t n = (size_t)argc - start;

	if (n > JAIL_ARGV_MAX) {
		jail_errf(err, errlen, "Too many VMM arguments after --: %zu (at most %d)", n, JAIL_ARGV_MAX);
		return -E2BIG;
	}
	for (size_t i = start; i < (size_t)argc; i++)
		if (strlen(argv[i]) > JAIL_ARG_LEN_MAX) {
			jail_errf(err, errlen, "VMM argument %zu is longer than %d bytes", i - start + 1, JAIL_ARG_LEN_MAX);
			return -E2BIG;
		}
	p->n_vmm_args = n;
	p->vmm_args = argv + start;
	return 0;
}

/* The jail holds the exec file and nothing else: a dynamically linked binary
 * (one with PT_INTERP) or a script could only fail at exec, after the drop,
 * when nothing can be undone any more. So refuse them here. */
static int jail_plan_exec_is_static_elf(const char *path, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	Elf64_Ehdr eh;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256) {
		jail_errf(err, errlen, "%s is not a 64-bit ELF executable", path);
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) != (ssize_t)sizeof(ph)) {
			jail_errf(err, errlen, "%s: truncated ELF program headers", path);
			return -ENOEXEC;
		}
		if (ph.p_type == PT_INTERP) {
			jail_errf(err, errlen, "%s is dynamically linked: the jail holds only this file, so it must be "
				  "static (as ember is)", path);
			return -ENOEXEC;
		}
	}
	return 0;
}

static int jail_plan_exec_file(struct jail_plan *p, const char *path, bool must_exist, char *err, size_t errlen)
{
	struct stat st;
	const char *name;

	/* Stricter than Firecracker: the operator names the real file, so what
	 * gets copied is never decided by a link someone else can repoint. */
	if (must_exist && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		jail_errf(err, errlen, "%s is a symbolic link: give the path of the file itself", path);
		return -ELOOP;
	}
	if (!realpath(path, p->exec_path)) {
		if (must_exist || errno != ENOENT) {
			jail_errf(err, errlen, "Failed to canonicalize path %s: %s", path, strerror(errno));
			return -errno;
		}
		snprintf(p->exec_path, sizeof(p->exec_path), "%s", path);
	} else if (must_exist) {
		if (stat(p->exec_path, &st) < 0 || !S_ISREG(st.st_mode)) {
			jail_errf(err, errlen, "%s is not a file", p->exec_path);
			return -EINVAL;
		}
		if (st.st_mode & (S_ISUID | S_ISGID)) {
			jail_errf(err, errlen, "%s has the setuid or setgid bit: refusing to copy it into a jail",
				  p->exec_path);
			return -EPERM;
		}
		if (jail_plan_exec_is_static_elf(p->exec_path, err, errlen) < 0)
			return -ENOEXEC;
	}
	name = strrchr(p->exec_path, '/');
	name = name ? name + 1 : p->exec_path;
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			jail_errf(err, errlen, "The exec file name contains a control character");
			return -EINVAL;
		}
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) > 200) {
		jail_errf(err, errlen, "Invalid exec file name: %s", name);
		return -EINVAL;
	}
	snprintf(p->exec_name, sizeof(p->exec_name), "%s", name);
	return 0;
}

static int jail_plan_paths(struct jail_plan *p, const char *base, char *err, size_t errlen)
{
	struct stat st;

	if (!realpath(base, p->base_dir)) {
		jail_errf(err, errlen, "Failed to canonicalize path %s: %s", base, strerror(errno));
		return -errno;
	}
	if (stat(p->base_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		jail_errf(err, errlen, "%s is not a directory", p->base_dir);
		return -ENOTDIR;
	}
	if (snprintf(p->exec_dir, sizeof(p->exec_dir), "%s/%s", strcmp(p->base_dir, "/") ? p->base_dir : "",
		     p->exec_name) >= (int)sizeof(p->exec_dir) ||
	    snprintf(p->id_dir, sizeof(p->id_dir), "%s/%s", p->exec_dir, p->id) >= (int)sizeof(p->id_dir) ||
	    snprintf(p->chroot_dir, sizeof(p->chroot_dir), "%s/root", p->id_dir) >= (int)sizeof(p->chroot_dir)) {
		jail_errf(err, errlen, "The chroot path is too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

static int jail_plan_netns(struct jail_plan *p, const char *path, char *err, size_t errlen)
{
	struct statfs sfs;

	if (!realpath(path, p->netns)) {
		jail_errf(err, errlen, "Failed to join network namespace: netns: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (statfs(p->netns, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		jail_errf(err, errlen, "Failed to join network namespace: netns: %s is not a namespace file", path);
		return -EINVAL;
	}
	return 0;
}

static int jail_plan_rlimits(struct jail_plan *p, const struct jail_args *a, char *err, size_t errlen)
{
	uint64_t nr_open = 1048576;
	bool seen_nofile = false;
	_cleanup_close_ int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
	char buf[32] = "";

	if (fd >= 0 && fd_read_full(fd, buf, sizeof(buf) - 1) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		parse_u64(buf, false, UINT64_MAX, &nr_open);
	}
	p->rlimit_nofile = JAIL_DEFAULT_NOFILE;
	for (size_t i = 0; i < a->n_rlimits; i++) {
		const char *eq = strchr(a->rlimits[i], '=');
		uint64_t v;
		bool fsize;

		if (!eq || strchr(eq + 1, '=')) {
			jail_errf(err, errlen, "Invalid format for resources limits: %s", a->rlimits[i]);
			return -EINVAL;
		}
		fsize = (size_t)(eq - a->rlimits[i]) == 5 && strncmp(a->rlimits[i], "fsize", 5) == 0;
		if (!fsize && !((size_t)(eq - a->rlimits[i]) == 7 && strncmp(a->rlimits[i], "no-file", 7) == 0)) {
			jail_errf(err, errlen, "Invalid resource argument: %s", a->rlimits[i]);
			return -EINVAL;
		}
		if (parse_u64(eq + 1, false, fsize ? UINT64_MAX : nr_open, &v) < 0) {
			jail_errf(err, errlen, "Invalid limit value for resource: %s (%s)", eq + 1,
				  fsize ? "not a decimal number" : "not a decimal number up to fs.nr_open");
			return -EINVAL;
		}
		if ((fsize && p->has_fsize) || (!fsize && seen_nofile)) {
			jail_errf(err, errlen, "Resource limit given twice: %s", a->rlimits[i]);
			return -EINVAL;
		}
		if (fsize) {
			p->has_fsize = true;
			p->rlimit_fsize = v;
		} else {
			seen_nofile = true;
			p->rlimit_nofile = v;
		}
	}
	return 0;
}

/* dev, run, the exec file and its pid file are the jail's own names. */
static bool jail_plan_name_reserved(const struct jail_plan *p, const char *name)
{
	size_t n = strlen(p->exec_name);

	return !strcmp(name, "dev") || !strcmp(name, "run") || !strcmp(name, p->exec_name) ||
	       (strncmp(name, p->exec_name, n) == 0 && strcmp(name + n, ".pid") == 0);
}

/* HOST_FILE=NAME: a regular host file, shown read-only at /NAME in the
 * jail. NAME is one plain component that the jail does not use itself. */
static int jail_plan_binds(struct jail_plan *p, const struct jail_args *a, char *err, size_t errlen)
{
	for (size_t i = 0; i < a->n_binds; i++) {
		const char *arg = a->binds[i], *eq = strrchr(arg, '=');
		struct jail_bind *b = &p->binds[p->n_binds];
		struct stat st;
		char host[PATH_MAX];

		if (!eq || eq == arg || !eq[1] || strlen(eq + 1) > 64 ||
		    strspn(eq + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(eq + 1) ||
		    eq[1] == '.' || jail_plan_name_reserved(p, eq + 1)) {
			jail_errf(err, errlen, "Invalid --bind-ro %s: HOST_FILE=NAME, NAME of [A-Za-z0-9._-] not starting with '.', "
				  "not dev, run or the exec file's name", arg);
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(eq - arg), arg);
		if (!realpath(host, b->host) || stat(b->host, &st) < 0 || !S_ISREG(st.st_mode)) {
			jail_errf(err, errlen, "--bind-ro %s: not a regular file", host);
			return -EINVAL;
		}
		for (size_t k = 0; k < p->n_binds; k++)
			if (strcmp(p->binds[k].name, eq + 1) == 0) {
				jail_errf(err, errlen, "--bind-ro name %s given twice", eq + 1);
				return -EINVAL;
			}
		snprintf(b->name, sizeof(b->name), "%s", eq + 1);
		p->n_binds++;
	}
	return 0;
}

static int jail_plan_status_fd(struct jail_plan *p, const char *s, char *err, size_t errlen)
{
	uint32_t fd;
	int fl;

	if (parse_u32(s, &fd) < 0 || fd < 3 || fd > INT_MAX) {
		jail_errf(err, errlen, "Invalid --status-fd: %s (a descriptor number >= 3)", s);
		return -EINVAL;
	}
	fl = fcntl((int)fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
		jail_errf(err, errlen, "--status-fd %s is not an open, writable descriptor", s);
		return -EBADF;
	}
	p->status_fd = (int)fd;
	return 0;
}

/* Parses each raw --cgroup FILE=VALUE and lets it override a template value of
 * the same file. */
static int jail_plan_cgroup_flags(struct jail_plan *p, const struct jail_args *a, char *err, size_t errlen)
{
	for (size_t i = 0; i < a->n_cgroups; i++) {
		const char *arg = a->cgroups[i], *eq = strchr(arg, '=');
		struct jail_cgroup_value v = { .hier = -1 };
		size_t k;

		if (!eq || eq == arg || !eq[1] || strchr(eq + 1, '=') ||
		    (size_t)(eq - arg) >= sizeof(v.file)) {
			jail_errf(err, errlen, "Invalid format for cgroups: %s", arg);
			return -EINVAL;
		}
		memcpy(v.file, arg, (size_t)(eq - arg));
		if (jail_cgroup_check_file(v.file, v.controller, sizeof(v.controller)) < 0) {
			jail_errf(err, errlen, "Cgroup invalid file: %s (not in the allowlist)", v.file);
			return -EINVAL;
		}
		if (jail_cgroup_check_value(eq + 1) < 0) {
			jail_errf(err, errlen, "Cgroup invalid value for %s: newline, NUL, '/', '..' or over %d bytes",
				  v.file, JAIL_CGROUP_VALUE_MAX - 1);
			return -EINVAL;
		}
		snprintf(v.value, sizeof(v.value), "%s", eq + 1);
		for (k = 0; k < p->n_cgroups; k++)
			if (strcmp(p->cgroups[k].file, v.file) == 0)
				break;
		if (k == p->n_cgroups && p->n_cgroups >= JAIL_CGROUP_MAX) {
			jail_errf(err, errlen, "At most %d cgroup values", JAIL_CGROUP_MAX);
			return -E2BIG;
		}
		p->cgroups[k] = v;
		if (k == p->n_cgroups)
			p->n_cgroups++;
	}
	return 0;
}

static int jail_plan_cgroups(struct jail_plan *p, const struct jail_args *a, char *err, size_t errlen)
{
	_cleanup_free_ char *mountinfo = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;
	int r;

	p->cgroup_version = 1;
	if (a->value[OPT_CGROUP_VERSION]) {
		if (strcmp(a->value[OPT_CGROUP_VERSION], "1") && strcmp(a->value[OPT_CGROUP_VERSION], "2")) {
			jail_errf(err, errlen, "%s is an invalid cgroup version specifier", a->value[OPT_CGROUP_VERSION]);
			return -EINVAL;
		}
		p->cgroup_version = a->value[OPT_CGROUP_VERSION][0] - '0';
	}
	snprintf(p->parent_cgroup, sizeof(p->parent_cgroup), "%s",
		 a->value[OPT_PARENT_CGROUP] ? a->value[OPT_PARENT_CGROUP] : p->exec_name);
	if (jail_cgroup_check_parent(p->parent_cgroup) < 0) {
		jail_errf(err, errlen, "Parent cgroup path is invalid. Path should not be absolute or contain '..' or '.'");
		return -EINVAL;
	}
	if (a->value[OPT_CGROUP_TEMPLATE]) {
		r = jail_template_load(a->value[OPT_CGROUP_TEMPLATE], JAIL_TEMPLATE_DIR, p->cgroup_version, p->cgroups,
				       JAIL_CGROUP_MAX, err, errlen);
		if (r < 0)
			return r;
		p->n_cgroups = (size_t)r;
	}
	r = jail_plan_cgroup_flags(p, a, err, errlen);
	if (r < 0 || p->n_cgroups == 0)
		return r;
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fd_read_all(fd, 1 << 22, &mountinfo, &len) < 0) {
		jail_errf(err, errlen, "Cannot read /proc/self/mountinfo");
		return -EIO;
	}
	return jail_cgroup_resolve(p, mountinfo, err, errlen);
}

static int jail_plan_required(const struct jail_args *a, char *err, size_t errlen)
{
	static const int required[] = { OPT_ID, OPT_EXEC_FILE, OPT_UID, OPT_GID };

	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		if (a->seen[required[i]])
			continue;
		/* --cleanup needs only the names that locate the jail. */
		if (a->seen[OPT_CLEANUP] && (required[i] == OPT_UID || required[i] == OPT_GID))
			continue;
		jail_errf(err, errlen, "Missing argument: %s", jail_opts[required[i]].name);
		return -EINVAL;
	}
	if (a->seen[OPT_CLEANUP] && a->seen[OPT_DRY_RUN]) {
		jail_errf(err, errlen, "--cleanup and --dry-run exclude each other");
		return -EINVAL;
	}
	return 0;
}

static int jail_plan_ids(struct jail_plan *p, const struct jail_args *a, char *err, size_t errlen)
{
	uint32_t v;
	int r;

	if (a->seen[OPT_CLEANUP])
		return 0;
	r = jail_id_parse_uid(a->value[OPT_UID], "uid", &v, err, errlen);
	if (r < 0)
		return r;
	p->uid = v;
	r = jail_id_parse_uid(a->value[OPT_GID], "gid", &v, err, errlen);
	if (r < 0)
		return r;
	p->gid = v;
	return 0;
}

static void jail_plan_clock(struct jail_plan *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	p->start_time_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	p->start_cpu_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int jail_plan_build(int argc, char *const *argv, struct jail_plan *ret_plan, char *err, size_t errlen)
{
	struct jail_args a = { 0 };
	struct jail_plan *p = calloc(1, sizeof(*p));
	size_t vmm_start;
	int r;

	if (!p)
		return -ENOMEM;
	jail_plan_clock(p);
	p->status_fd = -1;
	r = jail_args_collect(argc, argv, &a, &vmm_start, err, errlen);
	if (r >= 0)
		r = jail_plan_required(&a, err, errlen);
	if (r >= 0)
		r = jail_plan_vmm_args(p, argc, argv, vmm_start, err, errlen);
	if (r >= 0)
		r = jail_id_validate(a.value[OPT_ID], err, errlen);
	if (r >= 0) {
		snprintf(p->id, sizeof(p->id), "%s", a.value[OPT_ID]);
		p->cleanup = a.seen[OPT_CLEANUP];
		p->dry_run = a.seen[OPT_DRY_RUN];
		p->daemonize = a.seen[OPT_DAEMONIZE];
		p->new_pid_ns = a.seen[OPT_NEW_PID_NS];
		p->new_user_ns = a.seen[OPT_NEW_USER_NS];
		p->new_ipc_ns = a.seen[OPT_NEW_IPC_NS];
		p->new_uts_ns = a.seen[OPT_NEW_UTS_NS];
		r = jail_plan_ids(p, &a, err, errlen);
	}
	if (r >= 0)
		r = jail_plan_exec_file(p, a.value[OPT_EXEC_FILE], !p->cleanup, err, errlen);
	if (r >= 0)
		r = jail_plan_paths(p, a.value[OPT_CHROOT_BASE] ? a.value[OPT_CHROOT_BASE] : JAIL_DEFAULT_BASE, err,
				    errlen);
	if (r >= 0 && a.value[OPT_NETNS] && !p->cleanup)
		r = jail_plan_netns(p, a.value[OPT_NETNS], err, errlen);
	if (r >= 0)
		r = jail_plan_rlimits(p, &a, err, errlen);
	if (r >= 0 && !p->cleanup)
		r = jail_plan_binds(p, &a, err, errlen);
	if (r >= 0 && a.value[OPT_STATUS_FD])
		r = jail_plan_status_fd(p, a.value[OPT_STATUS_FD], err, errlen);
	if (r >= 0)
		r = jail_plan_cgroups(p, &a, err, errlen);
	if (r >= 0 && !p->cleanup)
		r = jail_devices_plan(p, "/dev", err, errlen);
	if (r >= 0)
		*ret_plan = *p;
	free(p);
	return r;
}
