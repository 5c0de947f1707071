/* jailer: runs a VMM inside a chroot, namespaces and cgroups, as an
 * unprivileged user. See doc/jailer.md; jail_run() below is the list of steps
 * that document walks through, in the same order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ember-config.h"
#include "jailer.h"
#include "log.h"
#include "path_error.h"

#define JAIL_STEP_PREFIX "jail_step_"

typedef int (*jail_step_fn)(const struct jail_plan *, struct jail_state *);

static const char jail_usage[] =
	"Usage: jailer --id ID --exec-file PATH --uid UID --gid GID [options] [-- VMM arguments]\n"
	"\n"
	"Firecracker's flags:\n"
	"  --id ID                   1-64 characters of [A-Za-z0-9-]\n"
	"  --exec-file PATH          the VMM binary (statically linked), copied into the jail\n"
	"  --uid UID, --gid GID      the VMM's ids (decimal; 0 passes with a warning)\n"
	"  --chroot-base-dir DIR     default " JAIL_DEFAULT_BASE "; the jail is DIR/<exec-name>/<id>/root\n"
	"  --netns PATH              join this network namespace\n"
	"  --daemonize               detach; stdio on /dev/null\n"
	"  --new-pid-ns              the VMM is pid 1 of a new pid namespace\n"
	"  --cgroup FILE=VALUE       a cgroup value (repeatable), FILE from the allowlist\n"
	"  --cgroup-version 1|2      default 1\n"
	"  --parent-cgroup PATH      default <exec-name>\n"
	"  --resource-limit fsize=N|no-file=N   (no-file defaults to 2048)\n"
	"  --version, --help\n"
	"ember's additions:\n"
	"  --cgroup-template NAME|PATH  cgroup values from a YAML template (doc/cgroup-templates.md)\n"
	"  --new-user-ns, --new-ipc-ns, --new-uts-ns\n"
	"  --allow-root              accepted and ignored (uid 0 needs no flag)\n"
	"  --bind FILE=NAME[:rw|:ro] show a host file at /NAME in the jail (default :ro; a drive image :rw)\n"
	"  --bind-ro FILE=NAME       the same as --bind FILE=NAME:ro\n"
	"  --dry-run                 print the validated plan and change nothing\n"
	"  --cleanup                 remove what the manifest of --id names (exit 1: in use, 4: nothing found)\n"
	"  --status-fd N             write one JSON line with the outcome (once the VMM is ready) to fd N\n"
	"\n"
	"Arguments after -- are passed to the VMM.\n";

/* Runs one step between signal checks; names the step on failure. */
static int jail_step(const struct jail_plan *p, struct jail_state *s, const char *name, jail_step_fn fn)
{
	int sig = jail_signals_pending();
	int r;

	if (strncmp(name, JAIL_STEP_PREFIX, strlen(JAIL_STEP_PREFIX)) == 0)
		name += strlen(JAIL_STEP_PREFIX);
	if (sig) {
		s->failed_step = name;
		s->failed_errno = EINTR;
		snprintf(s->detail, sizeof(s->detail), "set-up interrupted by signal %d (%s) before this step", sig,
			 strsignal(sig));
		return -EINTR;
	}
	s->detail[0] = '\0';
	r = fn(p, s);
	if (r < 0) {
		s->failed_step = name;
		s->failed_errno = -r;
	}
	return r;
}

#define JAIL_STEP(fn)                                                                                      \
	do {                                                                                               \
		int _r = jail_step(p, s, #fn, fn);                                                         \
		if (_r < 0)                                                                                \
			return _r;                                                                         \
	} while (0)

static uint64_t jail_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The readiness pipe becomes fd 3, the one fd the VMM inherits besides
 * 0-2. The outcome pipe is moved off 3 first: an exec failure still has to
 * be reported on it. */
static int jail_ready_fd_install(struct jail_state *s)
{
	if (s->report_wfd == JAIL_READY_FD) {
		int fd = fcntl(s->report_wfd, F_DUPFD_CLOEXEC, JAIL_READY_FD + 1);

		if (fd < 0)
			return -errno;
		s->report_wfd = fd; /* the old number is replaced just below */
	}
	if (s->ready_wfd == JAIL_READY_FD)
		return fcntl(JAIL_READY_FD, F_SETFD, 0) < 0 ? -errno : 0;
	if (dup2(s->ready_wfd, JAIL_READY_FD) < 0)
		return -errno;
	close(s->ready_wfd);
	s->ready_wfd = JAIL_READY_FD;
	return 0;
}

/* exec /<exec-name> --id ID --start-time-us .. --start-time-cpu-us ..
 * --parent-cpu-time-us .. <args after -->, with an empty environment. */
int jail_step_exec_vmm(const struct jail_plan *p, struct jail_state *s)
{
	char path[NAME_MAX + 2], t0[24], c0[24], pc[24];
	char *argv[JAIL_ARGV_MAX + 10];
	char ready_env[] = "EMBER_READY_FD=3";
	char *envp[] = { NULL, NULL };
	size_t n = 0;
	sigset_t empty;

	snprintf(path, sizeof(path), "/%s", p->exec_name);
	snprintf(t0, sizeof(t0), "%llu", (unsigned long long)p->start_time_us);
	snprintf(c0, sizeof(c0), "%llu", (unsigned long long)p->start_cpu_us);
	snprintf(pc, sizeof(pc), "%llu", (unsigned long long)jail_cpu_us());
	argv[n++] = path;
	argv[n++] = (char *)"--id";
	argv[n++] = (char *)p->id;
	argv[n++] = (char *)"--start-time-us";
	argv[n++] = t0;
	argv[n++] = (char *)"--start-time-cpu-us";
	argv[n++] = c0;
	argv[n++] = (char *)"--parent-cpu-time-us";
	argv[n++] = pc;
	for (size_t i = 0; i < p->n_vmm_args; i++)
		argv[n++] = p->vmm_args[i];
	argv[n] = NULL;
	if (s->ready_wfd >= 0) {
		int r = jail_ready_fd_install(s);

		if (r < 0)
			return jail_fail(s, -r, "handing the readiness pipe to the VMM as fd %d", JAIL_READY_FD);
		envp[0] = ready_env;
	}
	jail_report_success(p, s);
	signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored across exec */
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
	execve(path, argv, envp);
	return jail_fail(s, errno, "Failed to exec into the VMM %s (the jail stays: run jailer --cleanup)", path);
}

/* The steps, in order (doc/jailer.md lists the same). Everything from
 * create_tree to the user namespace is undone if a later step fails or a
 * signal arrives; after drop_privileges nothing can be undone any more. */
static int jail_run(const struct jail_plan *p, struct jail_state *s)
{
	JAIL_STEP(jail_step_sanitize_process);
	JAIL_STEP(jail_step_lock_id);
	JAIL_STEP(jail_step_create_tree);
	JAIL_STEP(jail_step_copy_exec_file);
	JAIL_STEP(jail_step_join_netns);
	JAIL_STEP(jail_step_create_cgroups);       /* opens the jail's cgroup dirs on the host for join_cgroups */
	JAIL_STEP(jail_step_write_cgroup_values);
	JAIL_STEP(jail_step_unshare_mount_ns);
	JAIL_STEP(jail_step_bind_files);
	JAIL_STEP(jail_step_pivot_root);
	JAIL_STEP(jail_step_make_dirs);
	JAIL_STEP(jail_step_make_nodes);
	JAIL_STEP(jail_step_unshare_ipc_uts);
	JAIL_STEP(jail_step_daemonize);
	JAIL_STEP(jail_step_enter_pid_ns);         /* also the fork of --status-fd */
	JAIL_STEP(jail_step_write_pid_file);
	JAIL_STEP(jail_step_prepare_user_ns);      /* the last fork: the uid map helper */
	JAIL_STEP(jail_step_join_cgroups);         /* after every fork: only the VMM is counted in pids.max */
	JAIL_STEP(jail_step_enter_user_ns);        /* the cgroup files are out of reach from a user ns */
	JAIL_STEP(jail_step_set_rlimits);
	JAIL_STEP(jail_step_drop_privileges);
	JAIL_STEP(jail_step_verify_privileges);
	JAIL_STEP(jail_step_exec_vmm);
	return 0; /* not reached: exec replaced this process */
}

static int jail_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names --cgroup-template accepts: dir's *.yaml files, sorted. */
static void jail_help_templates(const char *dir)
{
	char *names[64];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	printf("\nCgroup templates in %s:", dir);
	if (!d) {
		printf(" (cannot be read: %s)\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)) && n < ARRAY_SIZE(names)) {
		size_t len = strlen(de->d_name);

		if (len > 5 && de->d_name[0] != '.' && strcmp(de->d_name + len - 5, ".yaml") == 0)
			names[n++] = strndup(de->d_name, len - 5);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), jail_name_cmp);
	for (size_t i = 0; i < n; i++) {
		printf(" %s", names[i] ? names[i] : "?");
		free(names[i]);
	}
	printf("%s\n", n ? "" : " none");
}

/* --help and --version win over everything else before "--". */
static int jail_info_flags(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("Jailer v%s\n\n%s", EMBER_VERSION, jail_usage);
			jail_help_templates(JAIL_TEMPLATE_DIR);
			return 1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("Jailer v%s\n", EMBER_VERSION);
			return 1;
		}
	}
	return 0;
}

static int jail_main_run(const struct jail_plan *p)
{
	struct jail_state *s = calloc(1, sizeof(*s));
	int r, code;

	if (!s)
		return JAIL_EXIT_STEP;
	s->exec_fd = s->id_dir_fd = s->devnull_fd = s->proc_fd = s->mnt_ns_fd = s->exec_dir_fd = s->lock_fd = -1;
	s->report_rfd = s->report_wfd = s->ready_rfd = s->ready_wfd = s->uidmap_wfd = -1;
	for (size_t i = 0; i < JAIL_HIER_MAX; i++)
		s->cgroup_fds[i] = s->cgroup_roots[i] = -1;
	r = jail_run(p, s);
	if (r >= 0) {
		free(s);
		return JAIL_EXIT_OK; /* not reached: exec replaced this process */
	}
	code = jail_report_failure(p, s, jail_undo_run(s));
	/* Past the drop this process is stuck inside the jail, where there is
	 * no /proc and nothing left to release: leave without atexit handlers
	 * (which, in a sanitizer build, would fail looking for /proc). */
	if (s->dropped || s->user_ns_entered)
		_exit(code);
	free(s);
	return code;
}

int main(int argc, char **argv)
{
	_cleanup_free_ struct jail_plan *p = NULL;
	struct jail_early early = { .status_fd = -1 };
	char err[1024] = "";
	int r;

	log_set_level(LOG_WARNING);
	if (jail_info_flags(argc, argv))
		return JAIL_EXIT_OK;
	path_error_init(); /* planning reads templates relative to this directory */
	p = calloc(1, sizeof(*p));
	if (!p)
		return JAIL_EXIT_STEP;
	r = jail_plan_build(argc, argv, p, &early, err, sizeof(err));
	if (r >= 0 && !p->dry_run && geteuid() != 0) {
		snprintf(err, sizeof(err), "must run as root (it creates cgroups, device nodes and namespaces)");
		r = -EPERM;
	}
	if (r < 0) {
		fprintf(stderr, "jailer: %s\n", err[0] ? err : strerror(-r));
		jail_status_write_plan(early.status_fd, early.id, err[0] ? err : strerror(-r));
		return JAIL_EXIT_USAGE;
	}
	log_set_instance_id(p->id);
	if (!p->cleanup && (p->uid == 0 || p->gid == 0))
		fprintf(stderr, "jailer: warning: the VMM runs as uid %u gid %u: without capabilities, but it owns "
			"root's files in the jail and may write what root may\n", (unsigned)p->uid, (unsigned)p->gid);
	if (p->dry_run) {
		jail_plan_print(p, STDOUT_FILENO);
		jail_status_write_done(p, "dry_run", JAIL_EXIT_OK);
		return JAIL_EXIT_OK;
	}
	if (p->cleanup) {
		int code = jail_cleanup_run(p);

		jail_status_write_done(p, "cleanup", code);
		return code;
	}
	return jail_main_run(p);
}
