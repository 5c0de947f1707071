/* The API adapter: what the api controller (vmm thread) asks of the VM,
 * in terms of the vmm thread's object (vmm.h). */
#include "vmm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm.h"
#include "devices/manager.h"
#include "exit_code.h"
#include "log.h"
#include "ready.h"
#include "seccomp/install.h"
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

const struct api_vm_ops ember_api_ops = {
	.start = ember_api_start,
	.pause = ember_api_pause,
	.resume = ember_api_resume,
	.ctrl_alt_del = ember_api_ctrl_alt_del,
	.has_device = ember_api_has_device,
	.update_device = ember_api_update_device,
};
