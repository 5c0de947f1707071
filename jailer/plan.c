/* argv (+ template) → struct jail_plan.
 *
 * Everything is validated here (with plan-checks.c and plan-bind.c), before
 * the first side effect: planning only reads (realpath, stat, statfs,
 * /proc/self/mountinfo, the template) and opens the bound files, whose
 * detached mounts no one else can see. A plan that builds is one the steps
 * can execute without further checks of the input. */
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
#include "id.h"
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
	OPT_CLEANUP, OPT_STATUS_FD, OPT_ALLOW_ROOT, OPT_BIND_RO, OPT_BIND, OPT__COUNT,
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
	[OPT_BIND] = { "--bind", true, true },
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
	bool bind_ro[JAIL_BIND_MAX];    /* given as --bind-ro */
	size_t n_binds;
};

int jail_id_validate(const char *id, char *err, size_t errlen)
{
	size_t len = strlen(id), pos;
	unsigned char c;

	if (id_instance_check(id, &pos) == 0)
		return 0;
	if (pos == len) {
		jail_errf(err, errlen, "Invalid instance ID: Invalid len (%zu);  the length must be between 1 and %d",
			  len, JAIL_ID_MAX);
		return -EINVAL;
	}
	c = (unsigned char)id[pos];
	if (c >= 0x20 && c < 0x7f)
		jail_errf(err, errlen, "Invalid instance ID: Invalid char (%c) at position %zu", c, pos);
	else
		jail_errf(err, errlen, "Invalid instance ID: Invalid char (\\x%02x) at position %zu", c, pos);
	return -EINVAL;
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
		} else if (o == OPT_BIND_RO || o == OPT_BIND) {
			if (a->n_binds >= JAIL_BIND_MAX) {
				jail_errf(err, errlen, "At most %d --bind and --bind-ro files", JAIL_BIND_MAX);
				return -E2BIG;
			}
			a->bind_ro[a->n_binds] = o == OPT_BIND_RO;
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

static int jail_plan_paths(struct jail_plan *p, const char *base, char *err, size_t errlen)
{
	struct stat st;
	struct statfs sfs;
	int r;

	if (!realpath(base, p->base_dir)) {
		jail_errf(err, errlen, "Failed to canonicalize path %s: %s", base, strerror(errno));
		return -errno;
	}
	if (stat(p->base_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		jail_errf(err, errlen, "%s is not a directory", p->base_dir);
		return -ENOTDIR;
	}
	if (!p->cleanup) {
		if (statfs(p->base_dir, &sfs) < 0) {
			jail_errf(err, errlen, "statfs %s: %s", p->base_dir, strerror(errno));
			return -errno;
		}
		r = jail_plan_check_base_fs(p->base_dir, (long)sfs.f_type, (unsigned long)sfs.f_flags, err, errlen);
		if (r < 0)
			return r;
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
		if (r == 0) {
			/* A truncated or wrongly named file would silently jail without limits. */
			jail_errf(err, errlen, "Cgroup template %s sets no value (an empty file?)",
				  a->value[OPT_CGROUP_TEMPLATE]);
			return -EINVAL;
		}
		p->n_cgroups = (size_t)r;
	}
	r = jail_plan_cgroup_flags(p, a, err, errlen);
	for (size_t i = 0; r >= 0 && i < p->n_cgroups; i++)
		r = jail_plan_check_limit(p->cgroups[i].file, p->cgroups[i].value, err, errlen);
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

int jail_plan_build(int argc, char *const *argv, struct jail_plan *ret_plan, struct jail_early *early, char *err,
		    size_t errlen)
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
	early->id = a.value[OPT_ID];
	/* First: every later refusal is reported on it. */
	if (r >= 0 && a.value[OPT_STATUS_FD])
		r = jail_plan_status_fd(p, a.value[OPT_STATUS_FD], err, errlen);
	early->status_fd = p->status_fd;
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
	/* --cleanup takes the cgroups from the jail's manifest. */
	if (r >= 0 && !p->cleanup)
		r = jail_plan_cgroups(p, &a, err, errlen);
	if (r >= 0 && !p->cleanup)
		r = jail_devices_plan(p, "/dev", err, errlen);
	/* Last: it opens the bound files (and forks for the access check). */
	if (r >= 0 && !p->cleanup)
		r = jail_plan_binds(p, a.binds, a.bind_ro, a.n_binds, err, errlen);
	if (r >= 0)
		*ret_plan = *p;
	else
		jail_plan_close(p);
	free(p);
	return r;
}
