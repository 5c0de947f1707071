/* The vmm-thread side of the API: the VM state, the configuration the API
 * builds up before InstanceStart, and the hooks into the VM itself.
 *
 * Only the vmm thread touches a controller. The api thread turns a request into
 * an api_action (router.h) and hands it over; the vmm thread runs
 * api_controller_handle(), which checks the VM state against what the route
 * allows and applies the action. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/vm.h"

struct api_action;
struct mmds_store;
struct snap_overrides;

/* Route state masks. */
#define API_PRE_BOOT (1u << VM_NOT_STARTED)
#define API_POST_BOOT ((1u << VM_RUNNING) | (1u << VM_PAUSED))
#define API_ANY_STATE (API_PRE_BOOT | API_POST_BOOT)

#define API_FAULT_NOT_STARTED "The requested operation is not supported before starting the microVM."
#define API_FAULT_STARTED "The requested operation is not supported after starting the microVM."

/* PUT /snapshot/load, validated (api/snapshot.c). */
struct api_snapshot_load {
	const char *state_path;
	const char *mem_path; /* the memory file, or (uffd) the page server's unix socket */
	bool resume;
	bool uffd;      /* mem_backend.backend_type "Uffd" */
	bool track_dirty; /* track_dirty_pages or enable_diff_snapshots */
	int huge_pages; /* -1: "Snapshot" (the saved machine-config's), else an enum huge_pages */
	const struct snap_overrides *ov; /* network_overrides, vsock_override, clock_realtime */
};

/* What the VM provides to the controller. Each returns 0 or -errno with a
 * message for the client in err (a fault_message). Called on the vmm thread. */
struct api_vm_ops {
	/* Builds and starts the VM from the configuration the controller edited. */
	int (*start)(void *ctx, char *err, size_t errlen);
	/* Kicks the vCPUs out of KVM_RUN and parks them / lets them run again. */
	int (*pause)(void *ctx, char *err, size_t errlen);
	int (*resume)(void *ctx, char *err, size_t errlen);
	/* Injects Ctrl-Alt-Del through the i8042. */
	int (*ctrl_alt_del)(void *ctx, char *err, size_t errlen);
	/* For a device kind's PATCH on the running VM (devices/kind.h), by the
	 * kind's name and the device's id; they set no err, the kind's handler
	 * words the fault. has_device: whether the running VM has that device.
	 * update_device: the update (the kind's own type, e.g. struct
	 * drive_update) to it; 0, -ENOENT (no such device) or the device's
	 * -errno. */
	bool (*has_device)(void *ctx, const char *kind, const char *id);
	int (*update_device)(void *ctx, const char *kind, const char *id, const void *update);
	/* Snapshots (snapshot/snapshot.h), the VM paused: writes both files,
	 * a Full or (diff) a Diff. */
	int (*snapshot_create)(void *ctx, const char *state_path, const char *mem_path, bool diff, char *err,
			       size_t errlen);
	/* Builds the VM from the files with the load's overrides
	 * (snapshot/overrides.h), paused or (resume) running, with dirty page
	 * tracking when req->track_dirty. *fatal: the failure came after VM
	 * resources were made, and the process ends (exit 1) once the answer
	 * is out; otherwise it may load again. */
	int (*snapshot_load)(void *ctx, const struct api_snapshot_load *req, bool *fatal, char *err, size_t errlen);
};

struct api_controller {
	enum vm_state state;
	/* A boot-shaping resource was accepted (boot source, machine config,
	 * a device, MMDS config): a snapshot may no longer be loaded. */
	bool boot_configured;
	const char *instance_id;        /* not owned */
	struct mmds_store *mmds;        /* not owned */
	struct vm_config *config;       /* not owned: what PUT /machine-config etc. edit; start reads it */
	const struct api_vm_ops *ops;
	void *ops_ctx;
};

/* Runs an action on the vmm thread: checks the VM state against the action's
 * allowed states, applies it, and fills action->resp. Never fails: every
 * outcome is a response. */
void api_controller_handle(struct api_controller *c, struct api_action *a);
