/* ember: a Firecracker-compatible microVM monitor.
 *
 * main() parses the command line (cli.c), then walks one ordered table of
 * start-up steps (ember_steps below), whose halves are the vmm thread's
 * object (vmm.c; what the API asks of the VM is api_adapter.c); teardown
 * runs the same table backwards. Read the table to know what ember does
 * and in which order, and in which mode (API or config file). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/loop.h"
#include "core/signals.h"
#include "devices/legacy/boot_timer.h"
#include "ember-config.h"
#include "exit_code.h"
#include "fd.h"
#include "log.h"
#include "path_error.h"
#include "ready.h"
#include "vmm.h"
#include "snapshot/snapshot.h"

/* Which start-ups run a step's init: with --config-file the VM is built at
 * start-up; without it (API mode) InstanceStart builds it later, through
 * the same ember_vm_launch(). */
enum step_mode {
	STEP_API = 1,
	STEP_CONFIG = 2,
	STEP_BOTH = STEP_API | STEP_CONFIG,
};

/* The start-up order; teardown runs the exits of the steps reached,
 * backwards, whatever the mode (an exit finds nothing to undo when its init
 * did not run: the API mode's VM is destroyed by the microVM step's exit).
 * Each init returns 0 or the process exit code; a NULL init always succeeds. */
static const struct ember_step {
	const char *name;
	enum step_mode mode;
	int (*init)(struct ember *e);
	void (*exit)(struct ember *e);
} ember_steps[] = {
	{ "logger", STEP_BOTH, ember_logger_init, NULL },
	{ "signal handlers", STEP_BOTH, ember_signals_init, NULL },
	/* After the handlers, which restore it on a fatal signal; before the
	 * seccomp baseline (tcgetattr). */
	{ "console terminal raw mode", STEP_BOTH, ember_term_init, ember_term_exit },
	{ "stale API socket", STEP_BOTH, ember_stale_socket_init, NULL },
	{ "seccomp baseline", STEP_BOTH, ember_seccomp_init, NULL },
	{ "vmm event loop", STEP_BOTH, ember_loop_init, ember_loop_exit },
	{ "shutdown signals", STEP_BOTH, ember_shutdown_init, ember_shutdown_exit },
	{ "log rate-limit timer", STEP_BOTH, ember_log_timer_init, ember_log_timer_exit },
	{ "configuration", STEP_BOTH, ember_config_init, ember_config_exit },
	{ "metrics", STEP_BOTH, ember_metrics_init, NULL },
	{ "MMDS data store", STEP_BOTH, ember_mmds_init, ember_mmds_exit },
	{ "API controller", STEP_BOTH, ember_controller_init, NULL },
	/* Before the VM: the api thread's start-up line must not split the
	 * guest's first serial line on the shared stdout. */
	{ "API server", STEP_BOTH, ember_api_init, ember_api_exit },
	/* After "API server started.", as Firecracker reads --metadata. */
	{ "MMDS metadata file", STEP_BOTH, ember_metadata_init, NULL },
	{ "final metrics line", STEP_BOTH, NULL, ember_metrics_final_exit },
	{ "device manager", STEP_BOTH, ember_devices_init, ember_devices_exit },
	{ "microVM and its vCPUs", STEP_CONFIG, ember_vm_init, ember_vm_exit },
	/* API mode: InstanceStart installs it once the vCPU threads exist. */
	{ "vmm seccomp role", STEP_CONFIG, ember_seccomp_vmm_init, NULL },
	/* Last: the API socket is bound, and with --config-file the guest runs. */
	{ "readiness report", STEP_BOTH, ember_ready_init, NULL },
};

static int ember_run(struct ember *e)
{
	enum step_mode mode = e->cli.present[ARG_CONFIG_FILE] ? STEP_CONFIG : STEP_API;
	size_t done = 0;
	int code = 0;

	for (; done < ARRAY_SIZE(ember_steps) && code == 0; done++)
		if (ember_steps[done].init && (ember_steps[done].mode & mode))
			code = ember_steps[done].init(e);
	if (code == 0) {
		int r = loop_run(e->loop);

		code = r < 0 ? EXIT_CODE_GENERIC_ERROR : e->exit_code;
		if (r < 0)
			log_error("The vmm event loop failed: %s", strerror(-r));
	} else {
		done--; /* the failed step cleaned up after itself */
	}
	while (done > 0) {
		done--;
		if (ember_steps[done].exit)
			ember_steps[done].exit(e);
	}
	return code;
}

int main(int argc, char **argv)
{
	struct ember e = { .start_us = boot_timer_now_us(), .start_cpu_us = boot_timer_cpu_now_us(),
			   .exit_code = EXIT_CODE_GENERIC_ERROR };
	int code;

	/* fds 0-2 must be open before anything else is: a closed stdout would let
	 * the next open() (/dev/kvm, a kernel file) become fd 1 and receive the
	 * guest's serial output. */
	if (fd_stdio_on_devnull() < 0)
		return EXIT_CODE_GENERIC_ERROR;
	ready_init(); /* every exit from here on reports to the jailer */
	path_error_init(); /* before seccomp: the working directory, for messages about relative paths */
	code = cli_parse(argc, argv, &e.cli);
	if (code)
		return ready_exit(code);
	if (e.cli.present[ARG_HELP]) {
		cli_help();
		return ready_exit(EXIT_CODE_OK);
	}
	if (e.cli.present[ARG_VERSION]) {
		printf("ember v%s\n", EMBER_VERSION);
		return ready_exit(EXIT_CODE_OK);
	}
	code = cli_validate(&e.cli);
	if (code)
		return ready_exit(code);
	if (e.cli.present[ARG_SNAPSHOT_VERSION] || e.cli.present[ARG_DESCRIBE_SNAPSHOT])
		return ready_exit(snap_describe(e.cli.present[ARG_DESCRIBE_SNAPSHOT] ? e.cli.value[ARG_DESCRIBE_SNAPSHOT]
										   : NULL));
	code = ember_run(&e);
	vmm_run_exit_hook();
	ready_exit(code); /* before the exit line: the reason is the error logged last */
	log_ratelimit_flush(true); /* nothing suppressed goes unreported */
	/* Firecracker's words: engines and operators' tooling wait for them. */
	if (code == 0)
		log_info("Firecracker exiting successfully. exit_code=0");
	else
		log_error("Firecracker exiting with error. exit_code=%d", code);
	return code;
}
