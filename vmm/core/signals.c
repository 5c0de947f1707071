#include "signals.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "exit_code.h"
#include "log.h"
#include "ready.h"
#include "term.h"

#define SIGNAL_METRICS(X)                                                                          \
	X(sigbus, METRICS_COUNTER)                                                                 \
	X(sigsegv, METRICS_COUNTER)                                                                \
	X(sigxfsz, METRICS_COUNTER)                                                                \
	X(sigxcpu, METRICS_COUNTER)                                                                \
	X(sigpipe, METRICS_COUNTER)                                                                \
	X(sighup, METRICS_COUNTER)                                                                 \
	X(sigill, METRICS_COUNTER)
METRICS_ATOMIC_COUNTERS(signal_metrics, SIGNAL_METRICS);
/* Counted from process start: the group comes with them. */
METRICS_PROCESS_GROUP(signal_metrics, "signals", SIGNAL_METRICS, NULL);

static void (*_Atomic exit_hook)(void);
static atomic_bool exit_hook_ran;
static _Thread_local volatile uint8_t *kick_target;
static int shutdown_fd = -1;
static atomic_int shutdown_signal;

void vmm_set_exit_hook(void (*fn)(void))
{
	exit_hook = fn;
}

void vmm_run_exit_hook(void)
{
	void (*fn)(void) = exit_hook;

	/* Every way out passes here (main, the fatal-signal and SIGSYS
	 * handlers): the operator's terminal gets its settings back first. */
	term_restore();

	if (fn && !atomic_exchange(&exit_hook_ran, true))
		fn();
}

void signals_set_kick_target(volatile uint8_t *immediate_exit)
{
	kick_target = immediate_exit;
}

static const struct {
	int sig;
	int code;
	_Atomic uint64_t *counter;
} fatal_signals[] = {
	{ SIGBUS, EXIT_CODE_SIGBUS, &signal_metrics.sigbus },
	{ SIGSEGV, EXIT_CODE_SIGSEGV, &signal_metrics.sigsegv },
	{ SIGXFSZ, EXIT_CODE_SIGXFSZ, &signal_metrics.sigxfsz },
	{ SIGXCPU, EXIT_CODE_SIGXCPU, &signal_metrics.sigxcpu },
	{ SIGHUP, EXIT_CODE_SIGHUP, &signal_metrics.sighup },
	{ SIGILL, EXIT_CODE_SIGILL, &signal_metrics.sigill },
	/* A SIGSYS that seccomp did not raise (kill -SYS), or any with
	 * --no-seccomp: Firecracker's "unexpected" end. Once a filter is loaded,
	 * seccomp/install.c's handler takes SIGSYS and tells the two apart. */
	{ SIGSYS, EXIT_CODE_UNEXPECTED_ERROR, NULL },
};

static void signals_fatal(int sig, siginfo_t *info, void *uctx)
{
	int code = EXIT_CODE_UNEXPECTED_ERROR;

	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		if (fatal_signals[i].sig == sig) {
			code = fatal_signals[i].code;
			if (fatal_signals[i].counter)
				(*fatal_signals[i].counter)++;
		}
	}
	/* The signal may have interrupted malloc or a log line: nothing here
	 * may take a lock or allocate, so the line is formatted by hand. Its
	 * "code" is the siginfo's, as Firecracker prints it (0 from kill). */
	log_signal_safe_error("Shutting down VM after intercepting signal %d, code %d.", sig, info->si_code);
	vmm_run_exit_hook();
	ready_fail_signal(sig, code);
	_exit(code);
}

static void signals_pipe(int sig, siginfo_t *info, void *uctx)
{
	signal_metrics.sigpipe++;
	log_rl(LOG_ERROR, "Received signal %d.", sig);
}

/* SIGTERM, SIGINT: recorded and handed to the vmm loop, which shuts down in
 * order (see signals.h); nothing else happens in the handler. */
static void signals_shutdown(int sig, siginfo_t *info, void *uctx)
{
	int saved = errno;
	uint64_t one = 1;

	atomic_store(&shutdown_signal, sig);
	if (write(shutdown_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow from signals: nothing to do */
	}
	errno = saved;
}

int signals_shutdown_fd(void)
{
	return shutdown_fd;
}

int signals_shutdown_take(void)
{
	uint64_t n;

	if (read(shutdown_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	return atomic_load(&shutdown_signal);
}

static void signals_kick(int sig, siginfo_t *info, void *uctx)
{
	/* KVM checks immediate_exit on entry: a kick that lands between the
	 * vCPU's state check and KVM_RUN is not lost. */
	if (kick_target)
		*kick_target = 1;
}

static int signals_set(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO | flags };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* A handler, not the default action: as pid 1 of a pid namespace ember
 * would otherwise ignore SIGTERM, and a shell starts background jobs with
 * SIGINT ignored. On a terminal in raw mode (common/term.h) Ctrl-C is the
 * guest's byte, and a SIGINT sent by kill must still restore the terminal,
 * so SIGINT is always an ordered shutdown. SA_RESTART: the vmm thread's
 * blocking calls are not made to fail by a shutdown request. */
static int signals_install_shutdown(void)
{
	int r;

	shutdown_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (shutdown_fd < 0)
		return -errno;
	r = signals_set(SIGTERM, signals_shutdown, SA_RESTART);
	if (r < 0)
		return r;
	return signals_set(SIGINT, signals_shutdown, SA_RESTART);
}

int signals_install(void)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		r = signals_set(fatal_signals[i].sig, signals_fatal, 0);
		if (r < 0)
			return r;
	}
	r = signals_set(SIGPIPE, signals_pipe, 0);
	if (r < 0)
		return r;
	r = signals_set(SIG_VCPU_KICK, signals_kick, 0);
	if (r < 0)
		return r;
	return signals_install_shutdown();
}
