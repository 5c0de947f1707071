/* ember: a Firecracker-compatible microVM monitor.
 *
 * main() parses the command line, then walks one ordered table of start-up
 * steps (ember_steps below); teardown runs the same table backwards. Read the
 * table to know what ember does and in which order. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "api/controller.h"
#include "api/http.h"
#include "api/server.h"
#include "cleanup.h"
#include "config/config_file.h"
#include "config/vm_config.h"
#include "core/loop.h"
#include "core/signals.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "devices/legacy/boot_timer.h"
#include "devices/metrics_groups.h"
#include "devices/virtio/block.h"
#include "ember-config.h"
#include "exit_code.h"
#include "fd.h"
#include "log.h"
#include "logger.h"
#include "metrics.h"
#include "mmds/store.h"
#include "out.h"
#include "parse.h"
#include "path_error.h"
#include "ready.h"
#include "seccomp/install.h"

/* ---- the command line ---- */

enum cli_arg {
	ARG_CONFIG_FILE, ARG_NO_API, ARG_ID, ARG_LOG_PATH, ARG_LEVEL, ARG_SHOW_LEVEL, ARG_SHOW_LOG_ORIGIN,
	ARG_BOOT_TIMER, ARG_START_TIME_US, ARG_START_TIME_CPU_US, ARG_PARENT_CPU_TIME_US, ARG_VERSION, ARG_HELP,
	ARG_API_SOCK, ARG_METADATA, ARG_SECCOMP_FILTER, ARG_NO_SECCOMP, ARG_METRICS_PATH, ARG_MMDS_SIZE_LIMIT,
	ARG_HTTP_API_MAX_PAYLOAD_SIZE, ARG_HTTP_API_REQUEST_TIMEOUT_S, ARG_HTTP_API_IDLE_TIMEOUT_S, ARG_MODULE, ARG_ENABLE_PCI, ARG_SNAPSHOT_VERSION, ARG_DESCRIBE_SNAPSHOT,
	ARG_COUNT
};

static const struct cli_flag {
	const char *name;
	bool takes_value;
	/* non-NULL: the capability is not in this build; one row per flag, each
	 * removed when its capability lands. */
	const char *absent;
	const char *help;
} cli_flags[ARG_COUNT] = {
	[ARG_CONFIG_FILE] = { "config-file", true, NULL, "Path to a JSON file describing the microVM; it boots at once." },
	[ARG_NO_API] = { "no-api", false, NULL, "Run without the HTTP API (requires --config-file)." },
	[ARG_ID] = { "id", true, NULL, "MicroVM unique identifier (1-64 characters: alphanumeric or '-')." },
	[ARG_LOG_PATH] = { "log-path", true, NULL, "Path to a file or FIFO for the log (default: stdout)." },
	[ARG_LEVEL] = { "level", true, NULL, "Log level: Error, Warning, Info, Debug, Trace or Off." },
	[ARG_SHOW_LEVEL] = { "show-level", false, NULL, "Print the level of each log line." },
	[ARG_SHOW_LOG_ORIGIN] = { "show-log-origin", false, NULL, "Print the source file and line of each log line." },
	[ARG_BOOT_TIMER] = { "boot-timer", false, NULL, "Add the boot-timer device (the guest writes 123 to log its boot time)." },
	[ARG_START_TIME_US] = { "start-time-us", true, NULL, "Process start time, CLOCK_MONOTONIC us (set by the jailer)." },
	[ARG_START_TIME_CPU_US] = { "start-time-cpu-us", true, NULL, "Process start CPU time, us (set by the jailer)." },
	[ARG_PARENT_CPU_TIME_US] = { "parent-cpu-time-us", true, NULL, "Parent process CPU time, us (set by the jailer)." },
	[ARG_VERSION] = { "version", false, NULL, "Print the version and exit." },
	[ARG_HELP] = { "help", false, NULL, "Print this help and exit." },
	[ARG_API_SOCK] = { "api-sock", true, NULL, "Path to the unix socket of the HTTP API (default: " API_DEFAULT_SOCKET ")." },
	[ARG_METADATA] = { "metadata", true, NULL, "Path to a JSON file loaded into the MMDS data store." },
	[ARG_SECCOMP_FILTER] = { "seccomp-filter", true, NULL, "Seccomp policy to use instead of the built-in one: a YAML policy or a bundle from `ember-seccomp compile`." },
	[ARG_NO_SECCOMP] = { "no-seccomp", false, NULL, "Install no seccomp filter (logged)." },
	[ARG_METRICS_PATH] = { "metrics-path", true, NULL, "Path to a file or FIFO for the metrics lines." },
	[ARG_MMDS_SIZE_LIMIT] = { "mmds-size-limit", true, NULL, "Largest MMDS data store, in bytes of compact JSON (default: the payload limit)." },
	[ARG_HTTP_API_MAX_PAYLOAD_SIZE] = { "http-api-max-payload-size", true, NULL, "Largest HTTP API request body, in bytes (default: 51200)." },
	[ARG_HTTP_API_REQUEST_TIMEOUT_S] = { "http-api-request-timeout-s", true, NULL, "Seconds an API request may take to arrive, from its first byte (1-86400; default: 10)." },
	[ARG_HTTP_API_IDLE_TIMEOUT_S] = { "http-api-idle-timeout-s", true, NULL, "Seconds an idle API connection is kept (0 = no limit, up to 86400; default: 120)." },
	[ARG_MODULE] = { "module", true, "log filtering by module", NULL },
	[ARG_ENABLE_PCI] = { "enable-pci", false, "the virtio-pci transport", NULL },
	[ARG_SNAPSHOT_VERSION] = { "snapshot-version", false, "snapshots", NULL },
	[ARG_DESCRIBE_SNAPSHOT] = { "describe-snapshot", true, "snapshots", NULL },
};

struct cli {
	bool present[ARG_COUNT];
	const char *value[ARG_COUNT];
};

_printf_(1, 2) static int cli_fail(const char *fmt, ...)
{
	char msg[512] = "Arguments parsing error: ";
	size_t n = strlen(msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s", msg);
	ready_note(msg);
	fprintf(stderr, "\n\nFor more information try --help.\n");
	return EXIT_CODE_ARG_PARSING;
}

static int cli_find(const char *name)
{
	for (int i = 0; i < ARG_COUNT; i++)
		if (strcmp(cli_flags[i].name, name) == 0)
			return i;
	return -1;
}

/* Firecracker's arg-parser rules and messages: --name [value]; a value may
 * not start with "--"; no flag twice. Returns 0 or EXIT_CODE_ARG_PARSING. */
static int cli_parse(int argc, char **argv, struct cli *cli)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *name = strncmp(arg, "--", 2) == 0 ? arg + 2 : arg;
		int f = arg == name ? -1 : cli_find(name);

		if (f < 0)
			return cli_fail("Found argument '%s' which wasn't expected, or isn't valid in this context.",
					name);
		if (cli->present[f])
			return cli_fail("The argument '%s' was provided more than once.", name);
		cli->present[f] = true;
		if (!cli_flags[f].takes_value)
			continue;
		if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
			return cli_fail("The argument '%s' requires a value, but none was supplied.", name);
		cli->value[f] = argv[++i];
	}
	return 0;
}

static void cli_help(void)
{
	printf("ember v%s: a Firecracker-compatible microVM monitor.\n\nUsage: ember [OPTIONS]\n\n", EMBER_VERSION);
	for (int i = 0; i < ARG_COUNT; i++) {
		char left[48];

		if (cli_flags[i].absent)
			continue;
		snprintf(left, sizeof(left), "--%s%s", cli_flags[i].name, cli_flags[i].takes_value ? " <value>" : "");
		printf("  %-28s %s\n", left, cli_flags[i].help);
	}
	printf("\nThis build does not provide yet:");
	for (int i = 0; i < ARG_COUNT; i++)
		if (cli_flags[i].absent)
			printf(" --%s", cli_flags[i].name);
	printf("\n");
}

/* Firecracker's instance-id rule (shared with the jailer). */
static bool cli_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z')))
			return false;
	return true;
}

/* --http-api-max-payload-size and --mmds-size-limit: decimal byte counts > 0. */
static int cli_validate_sizes(const struct cli *cli)
{
	static const enum cli_arg sizes[] = { ARG_HTTP_API_MAX_PAYLOAD_SIZE, ARG_MMDS_SIZE_LIMIT };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (cli->present[sizes[i]] &&
		    (parse_u64(cli->value[sizes[i]], false, SIZE_MAX / 2, &v) < 0 || v == 0)) {
			fprintf(stderr, "Arguments parsing error: --%s: '%s' is not a positive decimal number of bytes.\n",
				cli_flags[sizes[i]].name, cli->value[sizes[i]]);
			return -EINVAL;
		}
	}
	return 0;
}

/* --http-api-request-timeout-s (1..86400) and --http-api-idle-timeout-s
 * (0..86400, 0 = never): whole seconds. */
static int cli_validate_timeouts(const struct cli *cli)
{
	static const struct {
		enum cli_arg arg;
		uint64_t min;
	} timeouts[] = { { ARG_HTTP_API_REQUEST_TIMEOUT_S, 1 }, { ARG_HTTP_API_IDLE_TIMEOUT_S, 0 } };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++) {
		enum cli_arg a = timeouts[i].arg;

		if (cli->present[a] && (parse_u64(cli->value[a], false, API_MAX_TIMEOUT_S, &v) < 0 || v < timeouts[i].min)) {
			fprintf(stderr, "Arguments parsing error: --%s: '%s' is not a decimal number of seconds from %" PRIu64
					" to %d.\n", cli_flags[a].name, cli->value[a], timeouts[i].min, API_MAX_TIMEOUT_S);
			return -EINVAL;
		}
	}
	return 0;
}

/* Checks what the parser cannot: absent capabilities, required pairs, values. */
static int cli_validate(const struct cli *cli)
{
	static const enum cli_arg times[] = { ARG_START_TIME_US, ARG_START_TIME_CPU_US, ARG_PARENT_CPU_TIME_US };
	uint64_t v;

	for (int i = 0; i < ARG_COUNT; i++) {
		if (cli->present[i] && cli_flags[i].absent) {
			fprintf(stderr, "Arguments parsing error: --%s: this build does not provide %s yet.\n",
				cli_flags[i].name, cli_flags[i].absent);
			return EXIT_CODE_ARG_PARSING;
		}
	}
	if (cli->present[ARG_NO_SECCOMP] && cli->present[ARG_SECCOMP_FILTER])
		return cli_fail("Argument '%s' cannot be used together with argument '%s'.", "no-seccomp",
				"seccomp-filter");
	if (cli->present[ARG_NO_API] && !cli->present[ARG_CONFIG_FILE])
		return cli_fail("Argument '%s' required, but not found.", "config-file");
	if (cli_validate_sizes(cli) < 0 || cli_validate_timeouts(cli) < 0)
		return EXIT_CODE_ARG_PARSING;
	if (cli->present[ARG_ID] && !cli_id_valid(cli->value[ARG_ID])) {
		fprintf(stderr, "Arguments parsing error: Invalid instance ID: '%s': it must be 1 to 64 characters, "
				"each alphanumeric or '-'.\n", cli->value[ARG_ID]);
		return EXIT_CODE_ARG_PARSING;
	}
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		if (cli->present[times[i]] && parse_u64(cli->value[times[i]], false, UINT64_MAX, &v) < 0) {
			fprintf(stderr, "Arguments parsing error: --%s: '%s' is not a decimal number of microseconds.\n",
				cli_flags[times[i]].name, cli->value[times[i]]);
			return EXIT_CODE_ARG_PARSING;
		}
	}
	return 0;
}

/* ---- start-up and teardown ---- */

struct ember {
	struct cli cli;
	uint64_t start_us, start_cpu_us;
	struct event_loop *loop;
	struct vm_config config;
	struct vm *vm;
	int exit_code;
	struct mmds_store *mmds;
	struct api_controller controller;
	struct api_server *api;
	const char *metrics_path; /* --metrics-path or the config file's, once opened */
	int metrics_timer;        /* the periodic flush, on the loop; lives as long as the process */
};

static int ember_logger_init(struct ember *e)
{
	enum log_level level;

	if (e->cli.present[ARG_ID])
		log_set_instance_id(e->cli.value[ARG_ID]);
	log_set_thread_name("vmm");
	/* Before seccomp: a terminal on stdout is reopened through /proc. From
	 * here on no log line or serial byte waits for stdout's reader. */
	if (out_stdout_prepare() == 0)
		log_set_fd(STDOUT_FILENO);
	if (e->cli.present[ARG_LEVEL]) {
		if (log_level_parse(e->cli.value[ARG_LEVEL], &level) < 0) {
			fprintf(stderr, "Invalid value for --level: '%s': expected Error, Warning, Info, Debug, Trace "
					"or Off.\n", e->cli.value[ARG_LEVEL]);
			return EXIT_CODE_BAD_CONFIGURATION;
		}
		log_set_level(level);
	}
	log_set_show_level(e->cli.present[ARG_SHOW_LEVEL]);
	log_set_show_origin(e->cli.present[ARG_SHOW_LOG_ORIGIN]);
	if (e->cli.present[ARG_LOG_PATH]) {
		/* O_NONBLOCK: a FIFO without a reader must never stall the VMM. */
		int fd = open(e->cli.value[ARG_LOG_PATH], O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

		if (fd < 0) {
			char why[PATH_MAX + 160];

			fprintf(stderr, "Failed to open the log file %s\n",
				path_error(why, sizeof(why), e->cli.value[ARG_LOG_PATH], errno));
			return EXIT_CODE_BAD_CONFIGURATION;
		}
		log_set_fd(fd);
	}
	log_info("Running ember v%s", EMBER_VERSION);
	return 0;
}

static int ember_signals_init(struct ember *e)
{
	int r = signals_install();

	if (r < 0) {
		log_error("Cannot install the signal handlers: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static const char *ember_api_socket(const struct ember *e)
{
	return e->cli.present[ARG_API_SOCK] ? e->cli.value[ARG_API_SOCK] : API_DEFAULT_SOCKET;
}

/* A socket whose ember died is replaced; a live one is refused at bind.
 * Before seccomp: telling them apart takes a connect() no role needs. */
static int ember_stale_socket_init(struct ember *e)
{
	if (!e->cli.present[ARG_NO_API] && api_socket_remove_stale(ember_api_socket(e)))
		log_info("Removed the stale API socket at %s (nothing accepted on it).", ember_api_socket(e));
	return 0;
}

/* Loads the policy (a bad one stops ember here, with exit 152) and installs
 * the baseline before any thread exists, so TSYNC covers the process. */
static int ember_seccomp_init(struct ember *e)
{
	char err[600];
	int r;

	if (e->cli.present[ARG_NO_SECCOMP]) {
		seccomp_filters_disable();
		return 0;
	}
	r = seccomp_filters_load(e->cli.value[ARG_SECCOMP_FILTER], err, sizeof(err));
	if (r < 0) {
		log_error("Seccomp error: %s", err);
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	seccomp_set_flush_hook(vmm_run_exit_hook);
	r = seccomp_install_baseline();
	if (r < 0) {
		log_error("Cannot install the seccomp baseline filter: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

/* The vmm thread takes its role once the vCPU threads exist (so thread
 * creation stays out of the vmm role) and before its event loop handles
 * anything the guest does. */
static int ember_seccomp_vmm_init(struct ember *e)
{
	int r;

	if (!e->vm)
		return 0; /* configured through the API: the role goes on at InstanceStart */
	r = seccomp_install_role(SECCOMP_ROLE_VMM);

	if (r < 0) {
		log_error("Cannot install the vmm seccomp filter: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static int ember_loop_init(struct ember *e)
{
	int r = loop_create(&e->loop);

	if (r < 0) {
		log_error("Cannot create the vmm event loop: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static void ember_loop_exit(struct ember *e)
{
	e->loop = loop_destroy(e->loop);
}

/* SIGTERM or SIGINT (signals.h): the loop stops and teardown runs in table
 * order: vCPUs stopped, metrics flushed, API socket removed, exit 0. */
static void ember_on_shutdown_signal(void *ctx, uint32_t events)
{
	struct ember *e = ctx;
	int sig = signals_shutdown_take();

	if (sig <= 0)
		return;
	if (loop_stopped(e->loop))
		return; /* the guest ended the VM first: its exit code stands */
	log_info("Received %s: shutting down the microVM.", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	e->exit_code = EXIT_CODE_OK;
	loop_stop(e->loop);
}

/* After the loop exists: a signal that came earlier is pending on the
 * eventfd and is acted on as soon as the loop runs. */
static int ember_shutdown_init(struct ember *e)
{
	int r = loop_add(e->loop, signals_shutdown_fd(), EPOLLIN, ember_on_shutdown_signal, e);

	if (r < 0) {
		log_error("Cannot watch for shutdown signals: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static void ember_shutdown_exit(struct ember *e)
{
	loop_remove(e->loop, signals_shutdown_fd());
}

static int ember_log_timer_init(struct ember *e)
{
	int r = logger_attach_loop(e->loop);

	if (r < 0) {
		log_error("Cannot arm the log rate limiter's timer: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static void ember_log_timer_exit(struct ember *e)
{
	logger_detach_loop(e->loop);
}

static int ember_config_init(struct ember *e)
{
	char err[1024];
	uint64_t v;

	vm_config_init(&e->config);
	e->config.process = (struct vm_process_options){
		.boot_timer = e->cli.present[ARG_BOOT_TIMER],
		.start_time_us = e->start_us,
		.start_time_cpu_us = e->start_cpu_us,
	};
	if (e->cli.present[ARG_START_TIME_US] && parse_u64(e->cli.value[ARG_START_TIME_US], false, UINT64_MAX, &v) >= 0)
		e->config.process.start_time_us = v;
	if (e->cli.present[ARG_START_TIME_CPU_US] &&
	    parse_u64(e->cli.value[ARG_START_TIME_CPU_US], false, UINT64_MAX, &v) >= 0)
		e->config.process.start_time_cpu_us = v;
	if (!e->cli.present[ARG_CONFIG_FILE])
		return 0; /* configured through the API */
	if (config_file_load(e->cli.value[ARG_CONFIG_FILE], &e->config, err, sizeof(err)) < 0) {
		log_error("Configuration for VMM from one single json failed: %s", err);
		vm_config_clear(&e->config); /* keys read before the failing one */
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	if (e->config.has_logger && logger_apply(&e->config.logger, err, sizeof(err)) < 0) {
		log_error("Configuration for VMM from one single json failed: logger: %s", err);
		vm_config_clear(&e->config);
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	return 0;
}

static void ember_config_exit(struct ember *e)
{
	vm_config_clear(&e->config);
}

static void ember_on_guest_exit(void *ctx, int exit_code)
{
	struct ember *e = ctx;

	e->exit_code = exit_code;
	loop_stop(e->loop);
}

static int ember_vm_init(struct ember *e)
{
	struct vm_hooks hooks = { .on_exit = ember_on_guest_exit, .ctx = e };
	struct vm_error err;

	if (!e->cli.present[ARG_CONFIG_FILE])
		return 0; /* built by the API's InstanceStart */
	if (vm_create(&e->config, e->loop, &hooks, &e->vm, &err) < 0) {
		log_error("Building VMM configured from cmdline json failed: %s", err.msg);
		return err.config ? EXIT_CODE_BAD_CONFIGURATION : EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static void ember_vm_exit(struct ember *e)
{
	e->vm = vm_destroy(e->vm);
}

static int ember_vm_start(struct ember *e)
{
	char err[256];
	int r;

	if (!e->vm)
		return 0;
	/* Every vCPU thread exists before the start is announced. */
	r = vm_prepare_vcpus(e->vm, err, sizeof(err));
	if (r < 0) {
		log_error("Building VMM configured from cmdline json failed: %s", err);
		return EXIT_CODE_GENERIC_ERROR;
	}
	/* Logged before the vCPUs run: the serial console shares stdout with the
	 * log, and a line written while the guest prints would split its line. */
	log_info("Successfully started microvm that was configured from one single json");
	r = vm_start(e->vm);
	if (r < 0) {
		log_error("Cannot start the microVM: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	e->controller.state = VM_RUNNING;
	metrics_flush(); /* Firecracker writes a line right after the start */
	return 0;
}

/* ---- what the API's vmm-thread controller asks of the VM ---- */

static int ember_api_start(void *ctx, char *err, size_t errlen)
{
	struct ember *e = ctx;
	struct vm_hooks hooks = { .on_exit = ember_on_guest_exit, .ctx = e };
	struct vm_error verr;
	int r;

	if (!e->config.boot.configured) {
		snprintf(err, errlen, "Start microvm error: Cannot start microvm without kernel configuration.");
		return -EINVAL;
	}
	r = vm_create(&e->config, e->loop, &hooks, &e->vm, &verr);
	if (r < 0) {
		snprintf(err, errlen, "Start microvm error: %s", verr.msg);
		return r;
	}
	r = vm_prepare_vcpus(e->vm, err, errlen);
	if (r < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "Start microvm error: %s", why);
		e->vm = vm_destroy(e->vm);
		return r;
	}
	/* Before the vCPUs run, so that it cannot split a guest serial line. */
	log_info("Starting the microVM configured through the API");
	r = vm_start(e->vm);
	if (r < 0) {
		snprintf(err, errlen, "Start microvm error: cannot start the vCPUs: %s", strerror(-r));
		e->vm = vm_destroy(e->vm);
		return r;
	}
	/* As with --config-file: the vCPU threads exist, the guest has not
	 * been able to reach the vmm thread yet. A failure here leaves a VM
	 * running unconfined, so it ends the process. */
	if (ember_seccomp_vmm_init(e) != 0)
		_exit(EXIT_CODE_GENERIC_ERROR);
	return 0;
}

static int ember_api_pause(void *ctx, char *err, size_t errlen)
{
	struct ember *e = ctx;
	int r = vm_pause(e->vm);

	if (r < 0)
		snprintf(err, errlen, "Failed to pause the microVM: %s", strerror(-r));
	return r;
}

static int ember_api_resume(void *ctx, char *err, size_t errlen)
{
	struct ember *e = ctx;
	int r = vm_resume(e->vm);

	if (r < 0)
		snprintf(err, errlen, "Failed to resume the microVM: %s", strerror(-r));
	return r;
}

static int ember_api_ctrl_alt_del(void *ctx, char *err, size_t errlen)
{
	struct ember *e = ctx;
	int r = vm_send_ctrl_alt_del(e->vm);

	if (r == -ENOSPC)
		snprintf(err, errlen, "Failed to send Ctrl-Alt-Del: the guest has not drained its i8042 buffer.");
	else if (r < 0)
		snprintf(err, errlen, "Failed to send Ctrl-Alt-Del: %s", strerror(-r));
	return r;
}

static int ember_api_update_drive(void *ctx, const struct drive_update *u, char *err, size_t errlen)
{
	struct ember *e = ctx;
	struct block *b = e->vm ? vm_block_find(e->vm, u->drive_id) : NULL;
	int r;

	if (!b) {
		snprintf(err, errlen, DRIVE_ERR_PATCH "no drive with id `%s` exists.", u->drive_id);
		return -ENOENT;
	}
	r = block_update(b, u);
	if (r < 0 && u->path_on_host) {
		char why[PATH_MAX + 160];

		snprintf(err, errlen, DRIVE_ERR_PATCH "Error manipulating the backing file: %s",
			 path_error(why, sizeof(why), u->path_on_host, -r));
	} else if (r < 0) {
		snprintf(err, errlen, DRIVE_ERR_PATCH "%s (os error %d)", strerror(-r), -r);
	}
	return r;
}

static const struct api_vm_ops ember_api_ops = {
	.start = ember_api_start,
	.pause = ember_api_pause,
	.resume = ember_api_resume,
	.ctrl_alt_del = ember_api_ctrl_alt_del,
	.update_drive = ember_api_update_drive,
};

/* ---- metrics, MMDS and the API ---- */

static void ember_metrics_tick(void *ctx, uint32_t events)
{
	struct ember *e = ctx;
	uint64_t ticks;

	if (read(e->metrics_timer, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "metrics timer read failed: %s", strerror(errno));
	metrics_flush();
}

/* Firecracker writes a line every 60 s; the timer is the vmm thread's, so
 * metrics.c needs no loop. */
static int ember_metrics_timer(struct ember *e)
{
	int fd = loop_add_timer(e->loop, METRICS_PERIOD_S, ember_metrics_tick, e);

	if (fd < 0)
		return fd;
	e->metrics_timer = fd;
	return 0;
}

static int ember_metrics_init(struct ember *e)
{
	int r;

	/* The flush at exit also runs from the fatal-signal handlers. */
	vmm_set_exit_hook(metrics_flush_at_exit);
	/* Groups whose owners register later (or never, in this VM): zeros until then. */
	devices_metrics_declare();
	(void)metrics_declare(&vcpu_metrics_group);
	r = ember_metrics_timer(e);
	if (r < 0) {
		log_error("Cannot arm the metrics timer: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	metrics_set(METRIC_api_server_process_startup_time_us, e->config.process.start_time_us);
	metrics_set(METRIC_api_server_process_startup_time_cpu_us, e->config.process.start_time_cpu_us);
	if (e->cli.present[ARG_METRICS_PATH] && e->config.metrics_path) {
		/* Firecracker: the second initialisation of the metrics fails. */
		log_error("Configuration for VMM from one single json failed: metrics: Metrics initialization error: "
			  "Reinitialization of metrics not allowed (--metrics-path is set too).");
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	e->metrics_path = e->cli.present[ARG_METRICS_PATH] ? e->cli.value[ARG_METRICS_PATH] : e->config.metrics_path;
	if (!e->metrics_path)
		return 0;
	r = metrics_init(e->metrics_path);
	if (r < 0) {
		char why[PATH_MAX + 160];

		log_error("Failed to open the metrics file %s", path_error(why, sizeof(why), e->metrics_path, -r));
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	return 0;
}

/* Teardown only: the last metrics line is written once the vCPUs have
 * stopped and before the API socket goes, so a supervisor that waits for
 * the socket to vanish finds the final figures. */
static void ember_metrics_final_exit(struct ember *e)
{
	vmm_run_exit_hook();
}

static size_t ember_size_arg(const struct ember *e, enum cli_arg arg, size_t dflt)
{
	uint64_t v;

	/* cli_validate_sizes() and cli_validate_timeouts() already refused malformed values. */
	if (e->cli.present[arg] && parse_u64(e->cli.value[arg], false, SIZE_MAX / 2, &v) >= 0)
		return (size_t)v;
	return dflt;
}

static int ember_mmds_init(struct ember *e)
{
	size_t payload = ember_size_arg(e, ARG_HTTP_API_MAX_PAYLOAD_SIZE, HTTP_DEFAULT_MAX_BODY);
	char err[512];
	int r = mmds_store_new(ember_size_arg(e, ARG_MMDS_SIZE_LIMIT, payload), &e->mmds);

	if (r < 0) {
		log_error("Cannot create the MMDS data store: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	if (e->cli.present[ARG_METADATA] &&
	    mmds_store_load_file(e->mmds, e->cli.value[ARG_METADATA], err, sizeof(err)) < 0) {
		log_error("MMDS: %s", err);
		e->mmds = mmds_store_free(e->mmds);
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	return 0;
}

static void ember_mmds_exit(struct ember *e)
{
	e->mmds = mmds_store_free(e->mmds);
}

static int ember_controller_init(struct ember *e)
{
	e->controller = (struct api_controller){
		.instance_id = e->cli.present[ARG_ID] ? e->cli.value[ARG_ID] : "anonymous-instance",
		.mmds = e->mmds,
		.config = &e->config,
		.ops = &ember_api_ops,
		.ops_ctx = e,
		.metrics_path = e->metrics_path ? strdup(e->metrics_path) : NULL,
	};
	return 0;
}

static void ember_controller_exit(struct ember *e)
{
	api_controller_clear(&e->controller);
}

static int ember_api_init(struct ember *e)
{
	struct api_server_config cfg = {
		.socket_path = ember_api_socket(e),
		.max_payload = ember_size_arg(e, ARG_HTTP_API_MAX_PAYLOAD_SIZE, HTTP_DEFAULT_MAX_BODY),
		.request_timeout_s = (unsigned)ember_size_arg(e, ARG_HTTP_API_REQUEST_TIMEOUT_S, API_DEFAULT_REQUEST_TIMEOUT_S),
		.idle_timeout_s = (unsigned)ember_size_arg(e, ARG_HTTP_API_IDLE_TIMEOUT_S, API_DEFAULT_IDLE_TIMEOUT_S),
	};
	char err[512];

	if (e->cli.present[ARG_NO_API])
		return 0;
	if (api_server_start(&cfg, &e->controller, e->loop, &e->api, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

static void ember_api_exit(struct ember *e)
{
	e->api = api_server_stop(e->api);
}

static int ember_ready_init(struct ember *e)
{
	ready_signal();
	return 0;
}

/* The start-up order; teardown runs the exits of the steps that ran, backwards.
 * Each init returns 0 or the process exit code; a NULL init always succeeds. */
static const struct ember_step {
	const char *name;
	int (*init)(struct ember *e);
	void (*exit)(struct ember *e);
} ember_steps[] = {
	{ "logger", ember_logger_init, NULL },
	{ "signal handlers", ember_signals_init, NULL },
	{ "stale API socket", ember_stale_socket_init, NULL },
	{ "seccomp baseline", ember_seccomp_init, NULL },
	{ "vmm event loop", ember_loop_init, ember_loop_exit },
	{ "shutdown signals", ember_shutdown_init, ember_shutdown_exit },
	{ "log rate-limit timer", ember_log_timer_init, ember_log_timer_exit },
	{ "configuration", ember_config_init, ember_config_exit },
	{ "metrics", ember_metrics_init, NULL },
	{ "MMDS data store", ember_mmds_init, ember_mmds_exit },
	{ "API controller", ember_controller_init, ember_controller_exit },
	/* Before the VM: the api thread's start-up line must not split the
	 * guest's first serial line on the shared stdout. */
	{ "API server", ember_api_init, ember_api_exit },
	{ "final metrics line", NULL, ember_metrics_final_exit },
	{ "microVM", ember_vm_init, ember_vm_exit },
	{ "vCPUs", ember_vm_start, NULL },
	{ "vmm seccomp role", ember_seccomp_vmm_init, NULL },
	/* Last: the API socket is bound, and with --config-file the guest runs. */
	{ "readiness report", ember_ready_init, NULL },
};

static int ember_run(struct ember *e)
{
	size_t done = 0;
	int code = 0;

	for (; done < ARRAY_SIZE(ember_steps) && code == 0; done++)
		code = ember_steps[done].init ? ember_steps[done].init(e) : 0;
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
	code = ember_run(&e);
	vmm_run_exit_hook();
	ready_exit(code); /* before the exit line: the reason is the error logged last */
	log_ratelimit_flush(true); /* nothing suppressed goes unreported */
	if (code == 0)
		log_info("ember exiting successfully. exit_code=0");
	else
		log_error("ember exiting with error. exit_code=%d", code);
	return code;
}
