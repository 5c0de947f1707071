#include "signals.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "exit_code.h"
#include "log.h"
#include "ready.h"

struct signal_metrics signal_metrics;

static void (*_Atomic exit_hook)(void);
static atomic_bool exit_hook_ran;
static _Thread_local volatile uint8_t *kick_target;

void vmm_set_exit_hook(void (*fn)(void))
{
	exit_hook = fn;
}

void vmm_run_exit_hook(void)
{
	void (*fn)(void) = exit_hook;

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
};

static void signals_fatal(int sig, siginfo_t *info, void *uctx)
{
	int code = EXIT_CODE_UNEXPECTED_ERROR;

	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		if (fatal_signals[i].sig == sig) {
			code = fatal_signals[i].code;
			(*fatal_signals[i].counter)++;
		}
	}
	log_error("Shutting down VM after intercepting signal %d, code %d.", sig, code);
	vmm_run_exit_hook();
	ready_fail_signal(sig, code);
	_exit(code);
}

static void signals_pipe(int sig, siginfo_t *info, void *uctx)
{
	signal_metrics.sigpipe++;
	log_rl(LOG_ERROR, "Received signal %d.", sig);
}

static void signals_kick(int sig, siginfo_t *info, void *uctx)
{
	/* KVM checks immediate_exit on entry: a kick that lands between the
	 * vCPU's state check and KVM_RUN is not lost. */
	if (kick_target)
		*kick_target = 1;
}

static int signals_set(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int signals_install(void)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		r = signals_set(fatal_signals[i].sig, signals_fatal);
		if (r < 0)
			return r;
	}
	r = signals_set(SIGPIPE, signals_pipe);
	if (r < 0)
		return r;
	return signals_set(SIG_VCPU_KICK, signals_kick);
}
