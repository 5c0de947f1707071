/* The jailer's shared types: the immutable plan, the undo log and the steps.
 *
 * main.c builds a struct jail_plan from argv (plan.c, template.c, cgroup.c's
 * pure checks) without touching the host, then jail_run() executes the steps
 * in order. Every step is `int jail_step_<what>(const struct jail_plan *,
 * struct jail_state *)` returning >= 0 or -errno; a step that leaves state on
 * the host appends its undo to the state's log before it returns. */
#pragma once

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "id.h"

#define JAIL_ID_MAX ID_INSTANCE_MAX /* common/id.h: the one instance-id rule */
#define JAIL_DEFAULT_BASE "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048
#define JAIL_CGROUP_MAX 64       /* cgroup files per jail (flags + template) */
#define JAIL_CGROUP_FILE_MAX 64  /* "<controller>.<knob>" length */
#define JAIL_CGROUP_VALUE_MAX 256
#define JAIL_HIER_MAX 16         /* cgroup hierarchies (v1 controller mounts + unified) */
#define JAIL_PARENT_DEPTH_MAX 16
#define JAIL_ARGV_MAX 256        /* arguments handed to the VMM */
#define JAIL_ARG_LEN_MAX 4096
#define JAIL_UNDO_MAX 256       /* up to 17 cgroup levels in each hierarchy, plus the tree */
#define JAIL_NODE_MAX 4
#define JAIL_BIND_MAX 8          /* --bind and --bind-ro files */
#define JAIL_READY_TIMEOUT_S 10  /* silence on the readiness pipe that counts as "running, not ember" */
#define JAIL_READY_FD 3          /* the VMM's end of the readiness pipe (EMBER_READY_FD) */
#define JAIL_MEMORY_MIN (16ull << 20) /* ember: under 5 MiB, plus KVM's kernel memory, before guest memory */
#define JAIL_PIDS_MIN 3          /* threads: vmm, api, one vCPU */

/* Exit codes (doc/jailer.md): 0 success, 1 a step failed (undone) or
 * --cleanup found the jail in use, 2 bad usage or input (nothing touched), 3 a
 * step failed and its undo failed too, or the VMM failed before it was ready
 * (the jail stays), 4 --cleanup found nothing anywhere. */
enum { JAIL_EXIT_OK = 0, JAIL_EXIT_STEP = 1, JAIL_EXIT_USAGE = 2, JAIL_EXIT_UNDO = 3, JAIL_EXIT_NOTHING = 4 };

#define JAIL_MANIFEST "jailer-manifest.json"
#define JAIL_MARKER ".jailer"          /* in a <base>/<exec-name> the jailer made */
#define JAIL_MANIFEST_ENTRY_MAX (JAIL_BIND_MAX + 16)
#define JAIL_MANIFEST_PATH_MAX (NAME_MAX + 16)

struct jail_cgroup_value {
	char file[JAIL_CGROUP_FILE_MAX];         /* "memory.limit_in_bytes" */
	char controller[JAIL_CGROUP_FILE_MAX];   /* "memory" */
	char value[JAIL_CGROUP_VALUE_MAX];
	int hier;                                /* index into plan.hier */
	bool optional;                           /* template io weight: skipped where the host lacks the file */
};

/* One cgroup hierarchy the jail gets a directory in. */
struct jail_cgroup_hier {
	char mount[PATH_MAX];   /* "/sys/fs/cgroup/memory" or the unified mount */
	int version;            /* 1 or 2 */
	char controllers[256];  /* v2: the controllers to enable, space separated */
};

struct jail_node {
	char path[32];          /* inside the jail: "/dev/kvm" */
	unsigned major, minor;
	bool required;
};

/* A host file bound at /<name> in the jail (--bind, --bind-ro). */
struct jail_bind {
	char host[PATH_MAX];    /* canonical, a regular file */
	char name[NAME_MAX + 1];
	bool rw;                /* --bind FILE=NAME:rw; else read-only */
	dev_t dev;              /* the inode checked while planning */
	ino_t ino;
	int fd;                 /* that inode as a detached mount (open_tree), -1 unprivileged (dry run) */
};

struct jail_plan {
	char id[JAIL_ID_MAX + 1];
	char exec_path[PATH_MAX];        /* canonical host path of the exec file */
	char exec_name[NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	char base_dir[PATH_MAX];         /* canonical --chroot-base-dir */
	char exec_dir[PATH_MAX];         /* <base>/<exec-name> */
	char id_dir[PATH_MAX];           /* <base>/<exec-name>/<id>: creating it is the lock */
	char chroot_dir[PATH_MAX];       /* <id_dir>/root */
	char netns[PATH_MAX];            /* empty: stay in the current netns */
	bool daemonize, new_pid_ns, new_user_ns, new_ipc_ns, new_uts_ns;
	bool dry_run, cleanup;
	int cgroup_version;
	char parent_cgroup[PATH_MAX];
	size_t n_cgroups;
	struct jail_cgroup_value cgroups[JAIL_CGROUP_MAX];
	size_t n_hier;
	struct jail_cgroup_hier hier[JAIL_HIER_MAX];
	bool has_fsize;
	uint64_t rlimit_fsize, rlimit_nofile;
	size_t n_nodes;
	struct jail_node nodes[JAIL_NODE_MAX];
	size_t n_binds;
	struct jail_bind binds[JAIL_BIND_MAX];
	int status_fd;                   /* -1: none */
	size_t n_vmm_args;
	char *const *vmm_args;           /* arguments after "--", owned by argv */
	uint64_t start_time_us, start_cpu_us;
};

enum jail_undo_kind {
	JAIL_UNDO_RMDIR,        /* rmdir name relative to dirfd */
	JAIL_UNDO_TREE,         /* remove the tree name relative to dirfd */
	JAIL_UNDO_UNLINK,       /* unlink name relative to dirfd */
	JAIL_UNDO_LEAVE_CGROUP, /* write "0" (this process) into the procs file name under dirfd */
	JAIL_UNDO_RMDIR_SHARED, /* rmdir a level others may use: busy or not empty is fine */
	JAIL_UNDO_JAIL,         /* remove what the manifest of <id> (name under dirfd) names */
	JAIL_UNDO_LOCK,         /* unlink the lock file name under dirfd (still held) */
	JAIL_UNDO_EXEC_DIR,     /* rmdir <exec-name> (name under dirfd) when empty and marked */
};

struct jail_undo {
	enum jail_undo_kind kind;
	int dirfd;              /* owned by the log; survives pivot_root */
	char name[PATH_MAX];
};

/* Mutable state of one run: what exists so far, and what undoes it. */
struct jail_state {
	size_t n_undo;
	struct jail_undo undo[JAIL_UNDO_MAX];
	int exec_fd;            /* the source exec file, opened once */
	int id_dir_fd;          /* <id_dir>, once created */
	int exec_dir_fd;        /* <base>/<exec-name>, once locked */
	int lock_fd;            /* <exec-name>/<id>.lock, flock()ed; never reaches the VMM (O_CLOEXEC) */
	bool refused;           /* the failure is a refusal (exit 2): nothing was changed */
	int devnull_fd;         /* for --daemonize, opened before the chroot */
	pid_t vmm_pid;          /* final VMM pid as seen from the host */
	bool dropped;           /* privileges gone: no undo possible any more */
	char cgroup_paths[JAIL_HIER_MAX][PATH_MAX];
	int proc_fd;            /* the host's /proc, opened before pivot_root */
	int mnt_ns_fd;          /* the host mount namespace, to undo from after pivot_root */
	int report_rfd;         /* read end of the outcome pipe: held by the waiting jailer */
	int report_wfd;         /* write end: held by the process that will become the VMM */
	int ready_rfd;          /* read end of the readiness pipe (--daemonize, --status-fd) */
	int ready_wfd;          /* write end: becomes the VMM's fd 3 */
	int cgroup_fds[JAIL_HIER_MAX];   /* the jail's cgroup directories, opened on the host */
	int cgroup_roots[JAIL_HIER_MAX]; /* the hierarchies' roots, for the way back */
	char cgroup_origin[JAIL_HIER_MAX][PATH_MAX]; /* "<path>/tasks" relative to the root: where we came from */
	pid_t uidmap_pid;       /* the uid map helper (--new-user-ns), forked before the cgroup join */
	int uidmap_wfd;         /* its go pipe */
	int vmm_exit_code;      /* "failed N ..." on the readiness pipe */
	bool user_ns_entered;   /* the host mount namespace is out of reach from here on */
	const char *failed_step;
	int failed_errno;
	char detail[512];       /* what the failing step was doing, e.g. a quoted path */
};

/* Records why a step failed (a printf-style detail) and returns -err. */
int jail_fail(struct jail_state *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* plan.c */
/* What main needs to report a refused plan on --status-fd: the fd (-1 until
 * it was validated) and the raw --id (NULL if absent). */
struct jail_early {
	int status_fd;
	const char *id;
};
int jail_plan_build(int argc, char *const *argv, struct jail_plan *ret_plan, struct jail_early *early, char *err,
		    size_t errlen);
/* plan-checks.c: a static 64-bit ELF executable (no PT_INTERP), read through fd. */
int jail_elf_check_fd(int fd, const char *path, char *err, size_t errlen);
/* The exec file: canonical path and name, its writers, its contents (when it
 * must exist; --cleanup needs only the name). */
int jail_plan_exec_file(struct jail_plan *p, const char *path, bool must_exist, char *err, size_t errlen);
/* plan-bind.c: n raw --bind (ro[i] false) or --bind-ro values into p->binds. */
int jail_plan_binds(struct jail_plan *p, const char *const *args, const bool *ro, size_t n, char *err, size_t errlen);
/* Closes what a plan holds open (the detached bind mounts). */
void jail_plan_close(struct jail_plan *p);
/* Planning checks exported for the unit tests. Each returns 0 or -errno with
 * a message in err. */
int jail_plan_check_limit(const char *file, const char *value, char *err, size_t errlen);
int jail_plan_check_base_fs(const char *path, long f_type, unsigned long f_flags, char *err, size_t errlen);

/* report.c */
void jail_plan_print(const struct jail_plan *p, int fd);
enum jail_outcome {
	JAIL_OUTCOME_FAILED,     /* a step or the exec failed */
	JAIL_OUTCOME_READY,      /* the VMM wrote "ready" */
	JAIL_OUTCOME_SILENT,     /* exec'd; no word within JAIL_READY_TIMEOUT_S (not ember) */
	JAIL_OUTCOME_VMM_FAILED, /* "failed CODE MESSAGE", or EOF, on the readiness pipe */
};
void jail_status_write(const struct jail_plan *p, const struct jail_state *s, enum jail_outcome out);
/* Reads the VMM's readiness line (no newline; "" for EOF): READY, or
 * VMM_FAILED with *ret_code (-1 unknown) and a printable detail. */
enum jail_outcome jail_ready_parse(const char *line, int *ret_code, char *detail, size_t len);
/* The line of --dry-run or --cleanup: {"outcome":..., "<what>":true, "exit_code":N}. */
void jail_status_write_done(const struct jail_plan *p, const char *what, int code);
/* The one status line of a run refused while planning ("step":"plan"). */
void jail_status_write_plan(int fd, const char *id, const char *error);
/* Copies in to out (at most outlen - 1 bytes, NUL-terminated, never splitting
 * a character), every ill-formed UTF-8 sequence replaced by U+FFFD as Unicode
 * §3.9 "maximal subpart" recommends. Returns the length written. */
size_t jail_utf8_sanitize(const char *in, char *out, size_t outlen);
/* The operator's jailer after a fork: waits for "pid N" and EOF (success) or
 * "fail ..." from the jail side, then for the VMM's "ready" or "failed ..."
 * on the readiness pipe; writes the status line; returns the exit code. */
int jail_report_wait(const struct jail_plan *p, struct jail_state *s, pid_t child);
/* Reports a failed step: to the waiting jailer when there is one, else on
 * stderr and --status-fd. Returns the exit code to use. */
int jail_report_failure(const struct jail_plan *p, struct jail_state *s, int undo_result);
/* Success, just before exec: "pid N" to the waiting jailer, or the status line. */
void jail_report_success(const struct jail_plan *p, struct jail_state *s);
int jail_id_validate(const char *id, char *err, size_t errlen);
int jail_id_parse_uid(const char *s, const char *what, uint32_t *ret, char *err, size_t errlen);

/* template.c */
struct jail_template_value {
	char key[JAIL_CGROUP_FILE_MAX];   /* schema key, "section.name", e.g. "memory.limit" */
	char value[JAIL_CGROUP_VALUE_MAX];
};
/* Parses a YAML template (strict: unknown or duplicate keys, anchors,
 * aliases, tags, sequences and multiple documents are refused) into schema
 * pairs, at most max. Returns the count, or -EINVAL with a message in err. */
int jail_template_parse(const char *buf, size_t len, struct jail_template_value *ret, size_t max, char *err,
			size_t errlen);
/* Maps schema pairs to cgroup files of a version. Returns the count or -EINVAL. */
int jail_template_to_files(const struct jail_template_value *in, size_t n, int version,
			   struct jail_cgroup_value *out, size_t max, char *err, size_t errlen);
/* Reads NAME (from templates_dir/NAME.yaml) or PATH, parses and maps it. */
int jail_template_load(const char *name_or_path, const char *templates_dir, int version,
		       struct jail_cgroup_value *out, size_t max, char *err, size_t errlen);

/* cgroup-plan.c */
/* One cgroup or cgroup2 line of /proc/self/mountinfo. */
struct jail_mount {
	char point[PATH_MAX];
	char fstype[32];
	char opts[512];
};
int jail_mount_next(const char **cursor, struct jail_mount *m);
/* True when word is one of the items of list, items separated by any of sep. */
bool jail_list_has(const char *list, const char *sep, const char *word);
int jail_cgroup_check_file(const char *file, char *ret_controller, size_t len);
int jail_cgroup_check_value(const char *value);
int jail_cgroup_check_parent(const char *parent);
int jail_cgroup_resolve(struct jail_plan *p, const char *mountinfo, char *err, size_t errlen);

/* cgroup.c */
int jail_step_create_cgroups(const struct jail_plan *p, struct jail_state *s);
int jail_step_write_cgroup_values(const struct jail_plan *p, struct jail_state *s);
int jail_step_join_cgroups(const struct jail_plan *p, struct jail_state *s);
int jail_cgroup_leave_one(int dirfd, const char *procs);

/* fs.c */
int jail_step_lock_id(const struct jail_plan *p, struct jail_state *s);
int jail_step_create_tree(const struct jail_plan *p, struct jail_state *s);
int jail_refuse(struct jail_state *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int jail_step_copy_exec_file(const struct jail_plan *p, struct jail_state *s);
int jail_step_bind_files(const struct jail_plan *p, struct jail_state *s);
int jail_step_pivot_root(const struct jail_plan *p, struct jail_state *s);
int jail_step_make_dirs(const struct jail_plan *p, struct jail_state *s);
int jail_step_write_pid_file(const struct jail_plan *p, struct jail_state *s);
int jail_pid_file_write(const struct jail_plan *p, struct jail_state *s, pid_t pid);
int jail_tree_remove(int dirfd, const char *name);
int jail_open_nosym(const char *path);
DIR *jail_dir_stream(int dirfd);

/* devices.c */
int jail_devices_plan(struct jail_plan *p, const char *devroot, char *err, size_t errlen);
int jail_step_make_nodes(const struct jail_plan *p, struct jail_state *s);

/* namespaces.c */
int jail_step_join_netns(const struct jail_plan *p, struct jail_state *s);
int jail_step_unshare_mount_ns(const struct jail_plan *p, struct jail_state *s);
int jail_step_unshare_ipc_uts(const struct jail_plan *p, struct jail_state *s);
int jail_step_daemonize(const struct jail_plan *p, struct jail_state *s);
int jail_step_enter_pid_ns(const struct jail_plan *p, struct jail_state *s);
int jail_step_prepare_user_ns(const struct jail_plan *p, struct jail_state *s);
int jail_step_enter_user_ns(const struct jail_plan *p, struct jail_state *s);

/* privileges.c */
int jail_step_sanitize_process(const struct jail_plan *p, struct jail_state *s);
int jail_step_exec_vmm(const struct jail_plan *p, struct jail_state *s);
int jail_step_set_rlimits(const struct jail_plan *p, struct jail_state *s);
int jail_step_drop_privileges(const struct jail_plan *p, struct jail_state *s);
int jail_step_verify_privileges(const struct jail_plan *p, struct jail_state *s);
int jail_privileges_check_status(const char *status, uid_t uid, gid_t gid, char *err, size_t errlen);

/* One thing the jailer creates or adopts under <id> (manifest.c). */
enum jail_entry_kind { JAIL_ENTRY_DIR, JAIL_ENTRY_FILE };
struct jail_manifest_entry {
	char path[JAIL_MANIFEST_PATH_MAX];  /* relative to <id>: "root", "root/dev", "root/ember.pid" */
	enum jail_entry_kind kind;
	bool existed;                       /* adopted: never removed, owner and mode given back */
	uint32_t uid, gid, mode;            /* of an adopted entry, as found */
};

struct jail_manifest_cgroup {
	char mount[PATH_MAX];
	size_t n_levels;                    /* top level first; the last is the jail's own */
	char levels[JAIL_PARENT_DEPTH_MAX + 1][256 + JAIL_ID_MAX + 2]; /* a parent is at most 255 bytes */
	bool existed[JAIL_PARENT_DEPTH_MAX + 1];
};

/* <id>/jailer-manifest.json: written before anything it names exists. */
struct jail_manifest {
	char id[JAIL_ID_MAX + 1];
	char exec_name[NAME_MAX + 1];
	bool id_existed;                    /* <id> was caller-made */
	uint32_t id_uid, id_gid, id_mode;   /* as found, when caller-made */
	char pid_file[JAIL_MANIFEST_PATH_MAX];
	size_t n_entries;
	struct jail_manifest_entry entries[JAIL_MANIFEST_ENTRY_MAX];
	size_t n_cgroups;
	struct jail_manifest_cgroup cgroups[JAIL_HIER_MAX];
};

/* manifest.c */
int jail_manifest_plan(const struct jail_plan *p, int id_fd, struct jail_manifest *m, char *err, size_t errlen);
int jail_manifest_write(int dirfd, const char *name, const struct jail_manifest *m);
int jail_manifest_parse(const char *text, size_t len, struct jail_manifest *m);
int jail_manifest_read(int id_fd, const char *id_path, struct jail_manifest *m, char *err, size_t errlen);
/* Removes what m names under exec_fd/<id>; prints "removed"/"left" lines to
 * out (NULL: quiet). Returns 0 or the first error. */
int jail_manifest_remove(int exec_fd, const char *exec_path, const struct jail_manifest *m, FILE *out);
int jail_manifest_remove_cgroups(const struct jail_manifest *m, FILE *out);

/* lock.c */
int jail_dir_check(int fd, const char *path, char *err, size_t errlen);
int jail_exec_dir_open(int base_fd, const char *exec_name, bool create, int *ret_fd);
int jail_exec_dir_remove(int base_fd, const char *exec_name, const char *exec_path, FILE *out);
int jail_temps_remove(int dirfd, const char *prefix, const char *dir_path, bool check_flock, FILE *out);
int jail_lock_take(int exec_fd, const char *id, bool create, int *ret_fd, pid_t *ret_holder, bool *ret_created);
/* The pid that keeps the jail alive (the VMM, or any task in its cgroups),
 * 0 when none; why describes it. */
pid_t jail_find_live(int id_fd, const struct jail_manifest *m, char *why, size_t len);

/* undo.c */
int jail_undo_push(struct jail_state *s, enum jail_undo_kind kind, int dirfd, const char *name);
int jail_undo_run(struct jail_state *s);
void jail_signals_block(void);
int jail_signals_pending(void);
int jail_cleanup_run(const struct jail_plan *p);

/* Formats "<step>: <cause>" style messages into a caller buffer. */
void jail_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
