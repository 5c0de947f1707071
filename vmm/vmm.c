/* See vmm.h. */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "api/counters.h"
#include "api/http.h"
#include "api/server.h"
#include "config/config_file.h"
#include "core/loop.h"
#include "core/signals.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "devices/manager.h"
#include "ember-config.h"
#include "exit_code.h"
#include "log.h"
#include "logger.h"
#include "metrics.h"
#include "metrics_line.h"
#include "mmds/guest.h"
#include "mmds/store.h"
#include "out.h"
#include "parse.h"
#include "path_error.h"
#include "ready.h"
#include "seccomp/install.h"
#include "snapshot/snapshot.h"
#include "term.h"

int ember_logger_init(struct ember *e)
{
	enum log_level level;

	if (e->cli.present[ARG_ID])
		log_set_instance_id(e->cli.value[ARG_ID]);
	log_set_thread_name("vmm");
	/* Every log line's timestamp is local time: glibc reads /etc/localtime
	 * on the first conversion, which must happen before seccomp (with
	 * --level Warning no line may be written until a roled thread's). */
	tzset();
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
	/* Firecracker's start line (its version is the API level, doc/engines.md). */
	log_info("Running Firecracker v%s", EMBER_VERSION);
	return 0;
}

int ember_signals_init(struct ember *e)
{
	int r = signals_install();

	if (r < 0) {
		log_error("Cannot install the signal handlers: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

int ember_term_init(struct ember *e)
{
	int r = term_raw_enter();

	/* A console that stays cooked still works: say so, go on. */
	if (r < 0)
		log_warn("Cannot put the terminal on stdin in raw mode: %s", strerror(-r));
	return 0;
}

void ember_term_exit(struct ember *e)
{
	term_restore();
}

static const char *ember_api_socket(const struct ember *e)
{
	return e->cli.present[ARG_API_SOCK] ? e->cli.value[ARG_API_SOCK] : API_DEFAULT_SOCKET;
}

/* A socket whose ember died is replaced; a live one is refused at bind.
 * Before seccomp: telling them apart takes a connect() no role needs. */
int ember_stale_socket_init(struct ember *e)
{
	if (!e->cli.present[ARG_NO_API] && api_socket_remove_stale(ember_api_socket(e)))
		log_info("Removed the stale API socket at %s (nothing accepted on it).", ember_api_socket(e));
	return 0;
}

/* Loads the policy (a bad one stops ember here, with exit 152) and installs
 * the baseline before any thread exists, so TSYNC covers the process. */
int ember_seccomp_init(struct ember *e)
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
int ember_seccomp_vmm_init(struct ember *e)
{
	int r;

	r = seccomp_install_role(SECCOMP_ROLE_VMM);

	if (r < 0) {
		log_error("Cannot install the vmm seccomp filter: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

int ember_loop_init(struct ember *e)
{
	int r = loop_create(&e->loop);

	if (r < 0) {
		log_error("Cannot create the vmm event loop: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

void ember_loop_exit(struct ember *e)
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
int ember_shutdown_init(struct ember *e)
{
	int r = loop_add(e->loop, signals_shutdown_fd(), EPOLLIN, ember_on_shutdown_signal, e);

	if (r < 0) {
		log_error("Cannot watch for shutdown signals: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

void ember_shutdown_exit(struct ember *e)
{
	loop_remove(e->loop, signals_shutdown_fd());
}

int ember_log_timer_init(struct ember *e)
{
	int r = logger_attach_loop(e->loop);

	if (r < 0) {
		log_error("Cannot arm the log rate limiter's timer: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

void ember_log_timer_exit(struct ember *e)
{
	logger_detach_loop(e->loop);
}

int ember_config_init(struct ember *e)
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

void ember_config_exit(struct ember *e)
{
	vm_config_clear(&e->config);
}

static void ember_on_guest_exit(void *ctx, int exit_code)
{
	struct ember *e = ctx;

	e->exit_code = exit_code;
	loop_stop(e->loop);
}

/* The one way a microVM is built and started, for --config-file and the
 * API's InstanceStart alike: the devices come from the manager, every vCPU
 * thread exists before the start is announced (logged before the vCPUs run:
 * the serial console shares stdout with the log, and a line written while
 * the guest prints would split its line). On failure err says why (config:
 * the configuration is at fault) and nothing of the VM is left. */
int ember_vm_launch(struct ember *e, const char *announce, struct vm_error *err)
{
	struct vm_hooks hooks = { .on_exit = ember_on_guest_exit, .ctx = e,
				  .devices = devices_vm_hooks(e->devices) };
	int r;

	/* The interfaces the MMDS config names detour their MMDS frames to it. */
	if (e->config.mmds.enabled) {
		mmds_guest_configure(e->mmds_guest, &e->config.mmds);
		hooks.mmds = e->mmds_guest;
	}
	r = vm_create(&e->config, e->loop, &hooks, &e->vm, err);
	if (r < 0)
		return r;
	r = vm_prepare_vcpus(e->vm, err->msg, sizeof(err->msg));
	if (r >= 0) {
		log_info("%s", announce);
		r = vm_start(e->vm);
		if (r < 0)
			snprintf(err->msg, sizeof(err->msg), "cannot start the vCPUs: %s", strerror(-r));
	}
	if (r < 0) {
		err->config = false;
		e->vm = vm_destroy(e->vm);
		return r;
	}
	e->controller.state = VM_RUNNING;
	return 0;
}

/* The VM from a snapshot (PUT /snapshot/load): l was opened and e->config
 * replaced by the snapshot's. The same hooks as a boot, the memory and the
 * vCPUs' state from the files; then the VM's and devices' state, then the
 * vCPU threads, parked, and the vmm role (as after InstanceStart). On
 * failure err says why and nothing of the VM is left. */
int ember_vm_restore(struct ember *e, struct snap_load *l, bool resume, char *err, size_t errlen)
{
	struct vm_hooks hooks = { .on_exit = ember_on_guest_exit, .ctx = e,
				  .devices = devices_vm_hooks(e->devices), .restore = &l->restore };
	struct vm_error verr;
	int r;

	if (e->config.mmds.enabled) {
		mmds_guest_configure(e->mmds_guest, &e->config.mmds);
		hooks.mmds = e->mmds_guest;
	}
	r = vm_create(&e->config, e->loop, &hooks, &e->vm, &verr);
	if (r < 0) {
		snprintf(err, errlen, "Load snapshot error: Failed to restore from snapshot: Failed to build microVM from "
			 "snapshot: %s", verr.msg);
		return r;
	}
	r = snap_load_finish(l, e->vm, e->devices, &e->config, err, errlen);
	if (r >= 0) {
		r = vm_start_paused(e->vm, verr.msg, sizeof(verr.msg));
		if (r < 0)
			snprintf(err, errlen, "Load snapshot error: %s", verr.msg);
	}
	if (r < 0) {
		e->vm = vm_destroy(e->vm);
		return r;
	}
	if (seccomp_install_role(SECCOMP_ROLE_VMM) < 0) {
		log_error("Cannot install the vmm seccomp filter");
		_exit(EXIT_CODE_GENERIC_ERROR);
	}
	log_info("Restored the microVM from a snapshot%s", resume ? "; resuming it" : " (paused)");
	return resume ? vm_resume(e->vm) : 0;
}

int ember_devices_init(struct ember *e)
{
	if (devices_create(&e->devices) < 0) {
		log_error("Cannot create the device manager: out of memory");
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

void ember_devices_exit(struct ember *e)
{
	e->devices = devices_free(e->devices);
}

/* --config-file: the VM starts at once (with the API, InstanceStart starts it). */
int ember_vm_init(struct ember *e)
{
	struct vm_error err;

	if (ember_vm_launch(e, "Successfully started microvm that was configured from one single json", &err) < 0) {
		log_error("Building VMM configured from cmdline json failed: %s", err.msg);
		if (err.unbacked)
			return EXIT_CODE_SIGBUS;
		return err.config ? EXIT_CODE_BAD_CONFIGURATION : EXIT_CODE_GENERIC_ERROR;
	}
	metrics_flush(); /* Firecracker writes a line right after the start */
	return 0;
}

void ember_vm_exit(struct ember *e)
{
	e->vm = vm_destroy(e->vm);
}

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

/* --id, or Firecracker's default instance id. */
static const char *ember_instance_id(const struct ember *e)
{
	return e->cli.present[ARG_ID] ? e->cli.value[ARG_ID] : "anonymous-instance";
}

int ember_metrics_init(struct ember *e)
{
	int r;

	/* The flush at exit also runs from the fatal-signal handlers. */
	vmm_set_exit_hook(metrics_flush_at_exit);
	r = metrics_line_declare();
	if (r < 0) {
		log_error("Cannot declare the metrics groups: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	r = ember_metrics_timer(e);
	if (r < 0) {
		log_error("Cannot arm the metrics timer: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	api_metrics_startup(e->config.process.start_time_us, e->config.process.start_time_cpu_us);
	if (e->cli.present[ARG_METRICS_PATH] && e->config.metrics.path) {
		/* Firecracker: the second initialisation of the metrics fails. */
		log_error("Configuration for VMM from one single json failed: metrics: Metrics initialization error: "
			  "Reinitialization of metrics not allowed (--metrics-path is set too).");
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	e->metrics_path = e->cli.present[ARG_METRICS_PATH] ? e->cli.value[ARG_METRICS_PATH] : e->config.metrics.path;
	if (!e->metrics_path)
		return 0;
	/* With --metrics-path the config file has no metrics key (refused
	 * above): no id, no properties, as Firecracker's --metrics-path. */
	r = metrics_init(e->metrics_path, e->config.metrics.emit_id, ember_instance_id(e), e->config.metrics.properties);
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
void ember_metrics_final_exit(struct ember *e)
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

int ember_mmds_init(struct ember *e)
{
	size_t payload = ember_size_arg(e, ARG_HTTP_API_MAX_PAYLOAD_SIZE, HTTP_DEFAULT_MAX_BODY);
	int r = mmds_store_new(ember_size_arg(e, ARG_MMDS_SIZE_LIMIT, payload), &e->mmds);

	if (r < 0) {
		log_error("Cannot create the MMDS data store: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	/* The V2 token key is drawn now, once per process, and tokens are bound
	 * to the instance id (Firecracker's TokenAuthority). */
	r = mmds_guest_new(e->mmds, ember_instance_id(e), NULL,
			   &e->mmds_guest);
	if (r < 0) {
		log_error("Cannot set up the guest's MMDS (V2 token key, metrics): %s", strerror(-r));
		e->mmds = mmds_store_free(e->mmds);
		return EXIT_CODE_GENERIC_ERROR;
	}
	return 0;
}

void ember_mmds_exit(struct ember *e)
{
	e->mmds_guest = mmds_guest_free(e->mmds_guest);
	e->mmds = mmds_store_free(e->mmds);
}

/* --metadata, read after "API server started." as Firecracker reads it, with
 * its messages: an engine that waits for the socket then finds the failure
 * in the log, and a client's early MMDS request waits in the hand-off (the
 * vmm loop runs only after the start-up steps) until the file is in. */
int ember_metadata_init(struct ember *e)
{
	char err[PATH_MAX + 512];

	if (!e->cli.present[ARG_METADATA])
		return 0;
	if (mmds_store_load_file(e->mmds, e->cli.value[ARG_METADATA], err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_CODE_BAD_CONFIGURATION;
	}
	log_info("Successfully added metadata to mmds from file");
	return 0;
}

int ember_controller_init(struct ember *e)
{
	e->controller = (struct api_controller){
		.instance_id = ember_instance_id(e),
		.mmds = e->mmds,
		.config = &e->config,
		.ops = &ember_api_ops,
		.ops_ctx = e,
	};
	return 0;
}

int ember_api_init(struct ember *e)
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

void ember_api_exit(struct ember *e)
{
	e->api = api_server_stop(e->api);
}

int ember_ready_init(struct ember *e)
{
	ready_signal();
	return 0;
}
