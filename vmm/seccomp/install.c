#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "fd.h"
#include "path_error.h"
#include "yamltree.h"
#include "log.h"
#include "ready.h"
#include "sigsafe.h"
#include "syscall_names.h"

/* The default policy, compiled at build time by `ember-seccomp compile`
 * (vmm/seccomp/meson.build), so start-up parses no YAML. */
extern const unsigned char seccomp_default_bundle[];
extern const size_t seccomp_default_bundle_len;

#define BUNDLE_MAX_FILE (64u << 10) /* four programs of BPF_MAXINSNS fit in 132 KiB; ours are far smaller */

static struct seccomp_bundle filters;
static bool loaded, disabled;
#define SECCOMP_METRICS(X) X(num_faults, METRICS_STORE)
METRICS_ATOMIC_COUNTERS(seccomp_metrics, SECCOMP_METRICS);
METRICS_PROCESS_GROUP(seccomp_metrics, "seccomp", SECCOMP_METRICS, NULL);
static void (*_Atomic flush_hook)(void);
static _Thread_local int thread_role = -1;

static int load_yaml(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
	struct policy_error perr;
	struct policy *p = NULL;
	int r;

	r = policy_load_buffer(path, buf, len, &p, &perr);
	if (r < 0) {
		snprintf(err, errlen, "%s", perr.msg);
		return r;
	}
	r = bundle_build(p, &filters);
	if (r < 0)
		snprintf(err, errlen, "%s: cannot compile the policy: %s", path, strerror(-r));
	policy_free(p);
	return r;
}

/* A byte YAML forbids in any stream (YAML 1.2 §5.1: of the C0 controls only
 * tab, LF and CR are allowed, and DEL is not): the file is binary, such as
 * a filter compiled by Firecracker's seccompiler, which ember does not read. */
static bool looks_binary(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return true;
	}
	return false;
}

static int load_file(const char *path, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char why[200];
	size_t len;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		char what[PATH_MAX + 160];

		/* The path first, as in the policy's own errors (file:line:col: ...). */
		snprintf(err, errlen, "%s", path_error(what, sizeof(what), path, e));
		return -e;
	}
	r = fd_read_all(fd, YTREE_MAX_INPUT, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot read the seccomp filter: %s", path, strerror(-r));
		return r;
	}
	if (!bundle_has_magic(buf, len) && looks_binary(buf, len)) {
		snprintf(err, errlen,
			 "%s is not a YAML policy or an ember-seccomp bundle; Firecracker's compiled filters are not "
			 "read: write the policy in YAML (doc/seccomp-policy.md)",
			 path);
		return -EINVAL;
	}
	if (!bundle_has_magic(buf, len))
		return load_yaml(path, buf, len, err, errlen);
	r = bundle_parse(buf, len, &filters, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return r;
}

int seccomp_filters_load(const char *path, char *err, size_t errlen)
{
	char why[200];
	int r;

	if (loaded)
		return -EALREADY;
	if (path) {
		r = load_file(path, err, errlen);
	} else {
		r = bundle_parse(seccomp_default_bundle, seccomp_default_bundle_len, &filters, why, sizeof(why));
		if (r < 0)
			snprintf(err, errlen, "built-in seccomp policy: %s", why);
	}
	if (r < 0)
		return r;
	loaded = true;
	log_info("seccomp: filters loaded from %s", path ? path : "the built-in default policy");
#if defined(EMBER_SANITIZE)
	if (!path)
		log_warn("seccomp: sanitizer build: the built-in policy logs calls outside it instead of trapping");
#endif
	return 0;
}

void seccomp_filters_disable(void)
{
	disabled = true;
	log_warn("seccomp: --no-seccomp given: no syscall filter is installed");
}

void seccomp_set_flush_hook(void (*hook)(void))
{
	flush_hook = hook;
}

/* The siginfo code of a SIGSYS raised by a seccomp filter (SYS_SECCOMP in
 * the kernel's siginfo.h; glibc's headers do not name it). */
#define SIGSYS_CODE_SECCOMP 1

static void sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < SYSCALL_NAMES && syscall_names[nr] ? syscall_names[nr] : "unknown";
	const char *role = thread_role >= 0 ? policy_role_name((unsigned)thread_role) : "none (baseline only)";
	void (*hook)(void) = flush_hook;
	char why[160];
	int n;

	/* Formatted with write(2) alone: the signal may have interrupted malloc
	 * or stdio. Firecracker's line first (the siginfo code: 0 from kill,
	 * 1 from a filter), then, for a real violation, ember's naming it. */
	log_signal_safe_error("Shutting down VM after intercepting signal %d, code %d.", sig, si->si_code);
	if (si->si_code != SIGSYS_CODE_SECCOMP) {
		/* Sent by a process (kill -SYS): no syscall to name, no fault to count. */
		if (hook)
			hook();
		n = sigsafe_snprintf(why, sizeof(why), "Shutting down VM after intercepting signal %d", sig);
		ready_fail(SECCOMP_EXIT_UNEXPECTED, why, n < 0 ? 0 : (size_t)n);
		_exit(SECCOMP_EXIT_UNEXPECTED);
	}
	log_signal_safe_error("Shutting down VM after intercepting a bad syscall (%u): %s, in role %s.", (unsigned)nr,
			      name, role);
	atomic_fetch_add(&seccomp_metrics.num_faults, 1);
	if (hook)
		hook();
	n = sigsafe_snprintf(why, sizeof(why), "Shutting down VM after intercepting a bad syscall (%u): %s, in role %s.",
			     (unsigned)nr, name, role);
	ready_fail(SECCOMP_EXIT_BAD_SYSCALL, why, n < 0 ? 0 : (size_t)n < sizeof(why) ? (size_t)n : sizeof(why) - 1);
	_exit(SECCOMP_EXIT_BAD_SYSCALL);
}

static int filter_set(unsigned which, unsigned flags)
{
	struct sock_fprog prog = {
		.len = (unsigned short)filters.progs[which].n_insns,
		.filter = filters.progs[which].insns,
	};

	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);

	if (r < 0)
		return -errno;
	return r > 0 ? -ESRCH : 0; /* with TSYNC, a positive result names a thread that could not follow */
}

int seccomp_install_baseline(void)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
	if (disabled)
		return 0;
	if (!loaded)
		return -ENOENT;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* Without no_new_privs an unprivileged process may not install a filter,
	 * and a later exec could gain privileges the filter did not expect. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return filter_set(COMPILE_BASELINE, SECCOMP_FILTER_FLAG_TSYNC);
}

int seccomp_install_role(enum seccomp_role role)
{
	int r;

	if (disabled || !loaded)
		return 0; /* --no-seccomp, or a process that set up no filters (a unit test of the VMM) */
	if ((unsigned)role >= SECCOMP_ROLE_COUNT)
		return -EINVAL;
	r = filter_set(role, 0);
	if (r < 0)
		return r;
	thread_role = (int)role;
	log_debug("seccomp: role %s filter installed", policy_role_name(role));
	return 0;
}
