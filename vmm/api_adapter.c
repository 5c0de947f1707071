/* The API adapter: what the api controller (vmm thread) asks of the VM,
 * in terms of the vmm thread's object (vmm.h). */
#include "vmm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm.h"
#include "devices/kind.h"
#include "devices/manager.h"
#include "exit_code.h"
#include "log.h"
#include "ready.h"
#include "seccomp/install.h"
#include "snapshot/snapshot.h"
#include "core/loop.h"
#include "term.h"

static int ember_api_start(void *ctx, char *err, size_t errlen)
{
	struct ember *e = ctx;
	struct vm_error verr;
	int r;

	if (!e->config.boot.configured) {
		snprintf(err, errlen, "Start microvm error: Cannot start microvm without kernel configuration.");
		return -EINVAL;
	}
	r = ember_vm_launch(e, "Starting the microVM configured through the API", &verr);
	if (r < 0) {
		snprintf(err, errlen, "Start microvm error: %s", verr.msg);
		return r;
	}
	/* As with --config-file: the vCPU threads exist, the guest has not
	 * been able to reach the vmm thread yet. A failure here leaves a VM
	 * running unconfined, so it ends the process. */
	if (seccomp_install_role(SECCOMP_ROLE_VMM) < 0) {
		log_error("Cannot install the vmm seccomp filter");
		ready_exit(EXIT_CODE_GENERIC_ERROR); /* only reports when not ready yet */
		term_restore();
		_exit(EXIT_CODE_GENERIC_ERROR);
	}
	return 0;
}

static int ember_api_pause(void *ctx, char *err, size_t errlen)
{
	struct ember *e = ctx;
	char why[256] = "";
	int r = vm_pause(e->vm, why, sizeof(why));

	if (r < 0)
		snprintf(err, errlen, "Failed to pause the microVM: %s", why[0] ? why : strerror(-r));
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
	int r = e->vm && vm_get_state(e->vm) != VM_NOT_STARTED ? devices_ctrl_alt_del(e->devices) : -EINVAL;

	if (r == -ENOSPC)
		snprintf(err, errlen, "Failed to send Ctrl-Alt-Del: the guest has not drained its i8042 buffer.");
	else if (r < 0)
		snprintf(err, errlen, "Failed to send Ctrl-Alt-Del: %s", strerror(-r));
	return r;
}

static bool ember_api_has_device(void *ctx, const char *kind, const char *id)
{
	struct ember *e = ctx;

	return e->vm && devices_find(e->devices, kind, id);
}

static int ember_api_update_device(void *ctx, const char *kind, const char *id, const void *update)
{
	struct ember *e = ctx;

	return e->vm ? devices_update(e->devices, kind, id, update) : -ENOENT;
}

static int ember_api_snapshot_create(void *ctx, const char *state_path, const char *mem_path, bool diff, char *err,
				     size_t errlen)
{
	struct ember *e = ctx;

	if (!e->vm || vm_get_state(e->vm) != VM_PAUSED) {
		snprintf(err, errlen, "Create snapshot error: Cannot save the microVM state: Operation not allowed: "
			 "save/restore unavailable while running");
		return -EINVAL;
	}
	return snap_create(e->vm, e->devices, &e->config, state_path, mem_path, diff, err, errlen);
}

/* The snapshot's configuration replaces the (unused: no boot-shaping call
 * was accepted) API one; what the process was given stays: its options, the
 * logger and metrics already applied, and a serial console put before the
 * load (where this process writes its guest's output). A custom CPU template
 * set before the load is dropped: the snapshot's vCPUs carry the CPUID they
 * ran with. */
static void ember_adopt_config(struct ember *e, struct vm_config *cfg)
{
	const struct device_kind *serial = device_kind_by_key("serial");

	if (serial)
		vm_config_slot_move(cfg, &e->config, serial);
	cfg->process = e->config.process;
	cfg->logger = e->config.logger;
	cfg->has_logger = e->config.has_logger;
	cfg->metrics = e->config.metrics;
	e->config.metrics = (struct metrics_config){ 0 };
	e->config.has_logger = false;
	e->config.logger = (struct logger_config){ 0 };
	vm_config_clear(&e->config);
	e->config = *cfg;
}

static int ember_api_snapshot_load(void *ctx, const struct api_snapshot_load *req, bool *fatal, char *err,
				   size_t errlen)
{
	struct ember *e = ctx;
	const struct snap_load_options opt = { .state_path = req->state_path, .mem_path = req->mem_path,
					       .uffd = req->uffd, .huge_pages = req->huge_pages, .ov = req->ov };
	bool resume = req->resume;
	struct snap_load l;
	struct vm_config cfg;
	int r;

	vm_config_init(&cfg);
	r = snap_load_open(&l, &opt, &cfg, err, errlen);
	if (r < 0) {
		snap_load_close(&l);
		vm_config_clear(&cfg);
		return r;
	}
	/* Tracking is the load's choice, whatever the snapshotted VM had
	 * (Firecracker's LoadSnapshotParams.track_dirty_pages). */
	cfg.machine.track_dirty_pages = req->track_dirty;
	ember_adopt_config(e, &cfg);
	*fatal = true; /* from here on KVM and the devices are touched */
	r = ember_vm_restore(e, &l, resume, err, errlen);
	l.restore.mem = NULL; /* vm_create() took it */
	snap_load_close(&l);
	if (r < 0) {
		log_error("%s", err);
		e->exit_code = EXIT_CODE_GENERIC_ERROR;
		loop_stop(e->loop); /* after this answer: the api thread sends it before it looks again */
	}
	return r;
}

const struct api_vm_ops ember_api_ops = {
	.snapshot_create = ember_api_snapshot_create,
	.snapshot_load = ember_api_snapshot_load,
	.start = ember_api_start,
	.pause = ember_api_pause,
	.resume = ember_api_resume,
	.ctrl_alt_del = ember_api_ctrl_alt_del,
	.has_device = ember_api_has_device,
	.update_device = ember_api_update_device,
};
