/* The vmm thread's object: everything ember holds while it runs, and the
 * init/exit halves of its start-up steps (main.c's table orders them).
 * Every function runs on the vmm thread; an init returns 0 or the process
 * exit code, an exit undoes what its init did (and finds nothing to undo
 * when its init did not run). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/controller.h"
#include "cli.h"
#include "config/vm_config.h"

struct api_server;
struct device_manager;
struct event_loop;
struct mmds_guest;
struct mmds_store;
struct vm;
struct vm_error;

struct ember {
	struct cli cli;
	uint64_t start_us, start_cpu_us;
	struct event_loop *loop;
	struct vm_config config;
	struct vm *vm;
	int exit_code;
	struct mmds_store *mmds;
	struct mmds_guest *mmds_guest; /* the guest's side of it: tokens, HTTP, the stacks' shared state */
	struct api_controller controller;
	struct api_server *api;
	const char *metrics_path; /* --metrics-path or the config file's, once opened */
	struct device_manager *devices;
	int metrics_timer;        /* the periodic flush, on the loop; lives as long as the process */
};

/* The one way a microVM is built and started, for --config-file and the
 * API's InstanceStart alike (see vmm.c). 0 or -errno with err filled in. */
int ember_vm_launch(struct ember *e, const char *announce, struct vm_error *err);
/* The VM built from an opened snapshot (see vmm.c). 0 or -errno with err
 * filled; the VM is left paused, or running with resume. */
struct snap_load;
int ember_vm_restore(struct ember *e, struct snap_load *l, bool resume, char *err, size_t errlen);
/* The API controller's operations on the VM (api_adapter.c). */
extern const struct api_vm_ops ember_api_ops;

int ember_logger_init(struct ember *e);
int ember_signals_init(struct ember *e);
/* Raw mode on a terminal stdin (common/term.h), restored at teardown. */
int ember_term_init(struct ember *e);
void ember_term_exit(struct ember *e);
int ember_stale_socket_init(struct ember *e);
int ember_seccomp_init(struct ember *e);
int ember_seccomp_vmm_init(struct ember *e);
int ember_loop_init(struct ember *e);
void ember_loop_exit(struct ember *e);
int ember_shutdown_init(struct ember *e);
void ember_shutdown_exit(struct ember *e);
int ember_log_timer_init(struct ember *e);
void ember_log_timer_exit(struct ember *e);
int ember_config_init(struct ember *e);
void ember_config_exit(struct ember *e);
int ember_devices_init(struct ember *e);
void ember_devices_exit(struct ember *e);
int ember_vm_init(struct ember *e);
void ember_vm_exit(struct ember *e);
int ember_metrics_init(struct ember *e);
void ember_metrics_final_exit(struct ember *e);
int ember_mmds_init(struct ember *e);
void ember_mmds_exit(struct ember *e);
int ember_metadata_init(struct ember *e);
int ember_controller_init(struct ember *e);
int ember_api_init(struct ember *e);
void ember_api_exit(struct ember *e);
int ember_ready_init(struct ember *e);
