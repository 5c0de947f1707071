/* vmm-standin: what a jailed VMM sees, as key=value lines.
 *
 *   vmm-standin [jailer's --id/--start-time flags] [--report PATH] [--sleep S] [--exit N] [--ready WORD]
 *   vmm-standin ... --mono     prints CLOCK_MONOTONIC (ns) at once and exits (bench/jailer)
 *
 * With EMBER_READY_FD set (the jailer's --daemonize or --status-fd) it speaks
 * ember's readiness protocol after the report: "ready" by default; --ready
 * silent says nothing (and keeps the fd), --ready fail writes "failed N ..."
 * with the --exit code, --ready close closes the fd without a word.
 *
 * Reports uid/gid (real, effective, saved), supplementary groups, the
 * effective, permitted, inheritable, bounding and ambient capability sets,
 * NoNewPrivs, securebits, open fds, the environment, rlimits, pid, and (when
 * /proc is there, i.e. outside a jail) cgroup membership and namespaces,
 * and whether it could make a user namespace (unshare_user=ok or the errno
 * name: ENOSPC under --new-user-ns, where the jailer sets the limit to 0).
 * A jail has no /proc, so everything else comes from system calls. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void report_caps(FILE *f)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	unsigned long long bnd = 0, amb = 0;

	if (syscall(SYS_capget, &h, d) == 0)
		fprintf(f, "cap_eff=%016llx\ncap_prm=%016llx\ncap_inh=%016llx\n",
			(unsigned long long)d[0].effective | (unsigned long long)d[1].effective << 32,
			(unsigned long long)d[0].permitted | (unsigned long long)d[1].permitted << 32,
			(unsigned long long)d[0].inheritable | (unsigned long long)d[1].inheritable << 32);
	for (int c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			bnd |= 1ULL << c;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			amb |= 1ULL << c;
	}
	fprintf(f, "cap_bnd=%016llx\ncap_amb=%016llx\n", bnd, amb);
}

static void report_ids(FILE *f)
{
	uid_t r, e, s;
	gid_t gr, ge, gs, groups[64];
	int n = getgroups(64, groups);

	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	fprintf(f, "uid=%u,%u,%u\ngid=%u,%u,%u\ngroups=", r, e, s, gr, ge, gs);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%u", i ? "," : "", groups[i]);
	fprintf(f, "\n");
}

static void report_fds(FILE *f, int own)
{
	struct rlimit rl;
	int first = 1;

	getrlimit(RLIMIT_NOFILE, &rl);
	fprintf(f, "fds=");
	for (int fd = 0; fd < (int)(rl.rlim_cur < 65536 ? rl.rlim_cur : 65536); fd++)
		if (fd != own && fcntl(fd, F_GETFD) >= 0) {
			fprintf(f, "%s%d", first ? "" : ",", fd);
			first = 0;
		}
	fprintf(f, "\n");
}

static void report_proc(FILE *f)
{
	static const char *const ns[] = { "mnt", "pid", "net", "user", "ipc", "uts", "cgroup" };
	char buf[4096], path[64];
	FILE *c = fopen("/proc/self/cgroup", "re");

	if (!c) {
		fprintf(f, "proc=absent\n");
		return;
	}
	while (fgets(buf, sizeof(buf), c))
		fprintf(f, "cgroup=%s", buf);
	fclose(c);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		n = readlink(path, buf, sizeof(buf) - 1);
		if (n > 0)
			fprintf(f, "ns_%s=%.*s\n", ns[i], (int)n, buf);
	}
}

static void ready(const char *how, int code)
{
	const char *env = getenv("EMBER_READY_FD");
	int fd = env ? atoi(env) : -1;
	char line[128];
	int n;

	if (fd < 0 || strcmp(how, "silent") == 0)
		return;
	if (strcmp(how, "fail") == 0) {
		n = snprintf(line, sizeof(line), "failed %d the stand-in fails on purpose\n", code);
		(void)!write(fd, line, (size_t)n);
	} else if (strcmp(how, "close") != 0) {
		(void)!write(fd, "ready\n", 6);
	}
	close(fd);
}

/* Tried in a child, so this process keeps its namespace for the rest of the report. */
static void report_unshare_user(FILE *f)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) < 0 ? errno : 0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		fprintf(f, "unshare_user=unknown\n");
		return;
	}
	status = WEXITSTATUS(status);
	fprintf(f, "unshare_user=%s\n", status ? strerrorname_np(status) : "ok");
}

static void report(FILE *f, int argc, char **argv, int own)
{
	struct rlimit nofile, fsize;

	fprintf(f, "pid=%d\nppid=%d\n", (int)getpid(), (int)getppid());
	for (int i = 0; i < argc; i++)
		fprintf(f, "argv%d=%s\n", i, argv[i]);
	report_ids(f);
	report_caps(f);
	fprintf(f, "no_new_privs=%d\nsecurebits=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
		prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	report_fds(f, own);
	for (char **e = environ; e && *e; e++)
		fprintf(f, "env=%s\n", *e);
	fprintf(f, "env_count=%d\n", (int)(environ ? ({ int n = 0; while (environ[n]) n++; n; }) : 0));
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_FSIZE, &fsize);
	fprintf(f, "rlimit_nofile=%llu,%llu\nrlimit_fsize=%lld\n", (unsigned long long)nofile.rlim_cur,
		(unsigned long long)nofile.rlim_max,
		fsize.rlim_cur == RLIM_INFINITY ? -1LL : (long long)fsize.rlim_cur);
	report_proc(f);
	report_unshare_user(f);
	fprintf(f, "end=1\n");
}

int main(int argc, char **argv)
{
	const char *out = NULL, *ready_how = "ready";
	long sleep_s = 0;
	int code = 0;

	if (argc > 1 && strcmp(argv[argc - 1], "--mono") == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		printf("mono_ns=%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		fflush(stdout);
		ready("ready", 0);
		return 0;
	}

	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--report") == 0)
			out = argv[++i];
		else if (strcmp(argv[i], "--sleep") == 0)
			sleep_s = atol(argv[++i]);
		else if (strcmp(argv[i], "--exit") == 0)
			code = atoi(argv[++i]);
		else if (strcmp(argv[i], "--ready") == 0)
			ready_how = argv[++i];
	}
	if (out) {
		/* Written to a temporary name first so a reader never sees half a report. */
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		f = fopen(tmp, "wxe");
		if (!f) {
			fprintf(stderr, "vmm-standin: %s: %s\n", tmp, strerror(errno));
			return 90;
		}
		report(f, argc, argv, fileno(f));
		fclose(f);
		rename(tmp, out);
	} else {
		report(stdout, argc, argv, -1);
		fflush(stdout);
	}
	ready(ready_how, code);
	if (strcmp(ready_how, "fail") == 0)
		return code;
	while (sleep_s-- > 0)
		sleep(1);
	return code;
}
