/* Planning checks that need no argv: the exec file (who may change it, its
 * name, a static 64-bit ELF), the base dir's file system and the cgroup
 * limits ember cannot start under. Like plan.c, this file only reads. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "jailer.h"
#include "parse.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The jail holds the exec file and nothing else: a dynamically linked binary
 * (one with PT_INTERP) or a script could only fail at exec, after the drop,
 * when nothing can be undone any more. So refuse them: while planning, and
 * again on the copy's own fd (what the jail will exec). */
int jail_elf_check_fd(int fd, const char *path, char *err, size_t errlen)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
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

static int jail_plan_exec_is_static_elf(const char *path, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		jail_errf(err, errlen, "%s is not a 64-bit ELF executable", path);
		return -ENOEXEC;
	}
	return jail_elf_check_fd(fd, path, err, errlen);
}

/* Who else could change the exec file between this check and the copy: a
 * group or other writer of the file, or anyone at all in a world-writable
 * directory without the sticky bit (rename over it). The copy is validated
 * again through its own fd, but a VMM binary that others may rewrite is a
 * mistake worth refusing early. */
static int jail_plan_exec_writers(const char *path, const struct stat *st, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat dst;

	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		jail_errf(err, errlen, "%s is writable by group or others (mode %04o): refusing an exec file that "
			  "others can change", path, (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash && slash != path ? (int)(slash - path) : 1, path);
	if (stat(dir, &dst) == 0 && (dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX)) {
		jail_errf(err, errlen, "%s is in %s, which is world-writable without the sticky bit: anyone could "
			  "rename another file over it", path, dir);
		return -EPERM;
	}
	return 0;
}

/* The jail's own names in its root: the exec file must not take one. */
static bool jail_plan_exec_name_reserved(const char *name)
{
	return name[0] == '.' || !strcmp(name, "dev") || !strcmp(name, "run") || !strcmp(name, "old_root");
}

int jail_plan_exec_file(struct jail_plan *p, const char *path, bool must_exist, char *err, size_t errlen)
{
	struct stat st;
	const char *name;
	int r;

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
		r = jail_plan_exec_writers(p->exec_path, &st, err, errlen);
		if (r < 0)
			return r;
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
	if (!*name || jail_plan_exec_name_reserved(name) || strlen(name) > 200) {
		jail_errf(err, errlen, "Invalid exec file name: %s (not dev, run, old_root or a name starting with '.': "
			  "the jail uses those)", name);
		return -EINVAL;
	}
	snprintf(p->exec_name, sizeof(p->exec_name), "%s", name);
	return 0;
}

/* The jail's tree needs a file system that takes directories, device nodes
 * and an executable: not a kernel interface (a cgroup, /proc or /sys), and not
 * mounted read-only, noexec (exec of the VMM fails after the drop, when
 * nothing can be undone) or nodev (/dev/kvm cannot be opened). */
int jail_plan_check_base_fs(const char *path, long f_type, unsigned long f_flags, char *err, size_t errlen)
{
	static const struct {
		long magic;
		const char *name;
	} kernel_fs[] = {
		{ CGROUP_SUPER_MAGIC, "cgroupfs" }, { CGROUP2_SUPER_MAGIC, "cgroup2fs" },
		{ PROC_SUPER_MAGIC, "procfs" },     { SYSFS_MAGIC, "sysfs" },
	};
	static const struct {
		unsigned long flag;
		const char *name, *why;
	} bad_flags[] = {
		{ ST_RDONLY, "read-only", "the jail's tree cannot be made" },
		{ ST_NOEXEC, "noexec", "the VMM could not be exec'd" },
		{ ST_NODEV, "nodev", "the VMM could not open /dev/kvm" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(kernel_fs); i++)
		if (f_type == kernel_fs[i].magic) {
			jail_errf(err, errlen, "The chroot base dir %s is on %s: choose a directory on a real file system",
				  path, kernel_fs[i].name);
			return -EINVAL;
		}
	for (size_t i = 0; i < ARRAY_SIZE(bad_flags); i++)
		if (f_flags & bad_flags[i].flag) {
			jail_errf(err, errlen, "The chroot base dir %s is on a file system mounted %s: %s", path,
				  bad_flags[i].name, bad_flags[i].why);
			return -EINVAL;
		}
	return 0;
}

/* The kernel's memparse(): decimal bytes with an optional K, M, G, T, P or
 * E suffix (either case). Returns 0 or -EINVAL (also on overflow). */
static int jail_plan_memparse(const char *v, uint64_t *ret)
{
	static const char suffixes[] = "kmgtpe";
	char num[32];
	size_t n = strspn(v, "0123456789");
	const char *sfx;
	uint64_t x;

	if (n == 0 || n >= sizeof(num) || (v[n] && (v[n + 1] || !(sfx = strchr(suffixes, v[n] | 0x20)))))
		return -EINVAL;
	snprintf(num, sizeof(num), "%.*s", (int)n, v);
	if (parse_u64(num, false, UINT64_MAX, &x) < 0)
		return -EINVAL;
	for (int shift = v[n] ? (int)(sfx - suffixes + 1) * 10 : 0; shift > 0; shift -= 10) {
		if (x > UINT64_MAX >> 10)
			return -EINVAL;
		x <<= 10;
	}
	*ret = x;
	return 0;
}

/* Limits too tight for ember to start are refused here, not met as an
 * out-of-memory kill or a failed thread creation after the drop. */
int jail_plan_check_limit(const char *file, const char *value, char *err, size_t errlen)
{
	static const char *const memory_files[] = { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
						    "memory.max", "memory.high" };
	uint64_t v;

	if (strcmp(file, "pids.max") == 0) {
		if (strcmp(value, "max") == 0)
			return 0;
		if (parse_u64(value, false, UINT64_MAX, &v) < 0) {
			jail_errf(err, errlen, "pids.max=%s is not a number or \"max\"", value);
			return -EINVAL;
		}
		if (v < JAIL_PIDS_MIN) {
			jail_errf(err, errlen, "pids.max=%llu is below %d (threads: vmm, api, one vCPU)",
				  (unsigned long long)v, JAIL_PIDS_MIN);
			return -EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(memory_files); i++) {
		if (strcmp(file, memory_files[i]) != 0 || strcmp(value, "max") == 0 || strcmp(value, "-1") == 0)
			continue;
		if (jail_plan_memparse(value, &v) < 0) {
			jail_errf(err, errlen, "%s=%s is not a byte count (digits with an optional K, M or G)", file, value);
			return -EINVAL;
		}
		if (v < JAIL_MEMORY_MIN) {
			jail_errf(err, errlen, "%s=%s is below 16 MiB: ember needs under 5 MiB plus KVM's kernel memory, "
				  "before guest memory", file, value);
			return -EINVAL;
		}
	}
	return 0;
}
