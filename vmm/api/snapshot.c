/* PUT /snapshot/create and PUT /snapshot/load: Firecracker's request
 * shapes (vmm_config/snapshot.rs) and texts; the work is the VM adapter's
 * (controller.h snapshot_create / snapshot_load, snapshot/snapshot.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/resources.h"
#include "config/json_field.h"
#include "log.h"
#include "snapshot/overrides.h"

struct snapshot_request {
	char *state_path, *mem_path;
	bool resume;
	bool uffd;
	int huge_pages; /* api_snapshot_load.huge_pages */
	bool diff;        /* create: snapshot_type "Diff" */
	bool track_dirty; /* load: track_dirty_pages or enable_diff_snapshots */
	struct snap_overrides ov; /* load only */
	uint64_t t0_us; /* when the api thread parsed it: the request's latency */
};

static void snapshot_request_free(void *p)
{
	struct snapshot_request *r = p;

	free(r->state_path);
	free(r->mem_path);
	free(r);
}

static uint64_t snapshot_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int snapshot_payload(struct api_action *a, const char *state, const char *mem, bool resume)
{
	struct snapshot_request *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->state_path = strdup(state);
	r->mem_path = strdup(mem);
	r->resume = resume;
	r->t0_us = snapshot_now_us();
	a->payload = r;
	a->free_payload = snapshot_request_free;
	return r->state_path && r->mem_path ? 0 : -ENOMEM;
}

/* ---- create ---- */

int api_snapshot_create_parse(struct api_action *a)
{
	static const char *const fields[] = { "snapshot_type", "snapshot_path", "mem_file_path", NULL };
	static const char *const types[] = { "Diff", "Full", NULL };
	const char *state = NULL, *mem = NULL;
	int type = 1, r;
	char err[512];

	if (json_field_check_object(a->body, "CreateSnapshotParams", fields, err, sizeof(err)) < 0 ||
	    json_field_enum(a->body, "snapshot_type", false, types, &type, err, sizeof(err)) < 0 ||
	    json_field_string(a->body, "snapshot_path", true, &state, err, sizeof(err)) < 0 ||
	    json_field_string(a->body, "mem_file_path", true, &mem, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	r = snapshot_payload(a, state, mem, false);
	if (r >= 0)
		((struct snapshot_request *)a->payload)->diff = type == 0;
	return r;
}

void api_snapshot_create_apply(struct api_controller *c, struct api_action *a)
{
	struct snapshot_request *r = a->payload;
	uint64_t t0 = snapshot_now_us();
	char err[1024] = "";

	if (c->state != VM_PAUSED) {
		api_fault(a, "Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore "
			  "unavailable while running");
		return;
	}
	if (!c->ops || !c->ops->snapshot_create ||
	    c->ops->snapshot_create(c->ops_ctx, r->state_path, r->mem_path, r->diff, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err[0] ? err : "Create snapshot error: not available in this process");
		return;
	}
	api_metrics_latency(r->diff ? API_LATENCY_VMM_DIFF_CREATE_SNAPSHOT : API_LATENCY_VMM_FULL_CREATE_SNAPSHOT,
			    snapshot_now_us() - t0);
	api_metrics_latency(r->diff ? API_LATENCY_DIFF_CREATE_SNAPSHOT : API_LATENCY_FULL_CREATE_SNAPSHOT,
			    snapshot_now_us() - r->t0_us);
	api_no_content(a);
}

/* ---- load ---- */

static const char *const load_fields[] = { "snapshot_path", "mem_file_path", "mem_backend", "enable_diff_snapshots",
					    "track_dirty_pages", "resume_vm", "network_overrides", "vsock_override",
					    "clock_realtime", "huge_pages", NULL };

/* The memory backend: exactly one of mem_backend and the deprecated
 * mem_file_path (Firecracker's texts for both and for neither). */
static int snapshot_load_backend(struct api_action *a, const char **ret_path, bool *ret_uffd)
{
	static const char *const backend_fields[] = { "backend_path", "backend_type", NULL };
	static const char *const backend_types[] = { "File", "Uffd", NULL };
	const json_t *mb = json_object_get(a->body, "mem_backend");
	const char *file = NULL;
	int type = 0;
	char err[512];

	if (json_field_string(a->body, "mem_file_path", false, &file, err, sizeof(err)) < 0)
		goto fail;
	if (mb && !json_is_null(mb) && file) {
		json_field_error(err, sizeof(err), "too many fields: either `mem_backend` or `mem_file_path` exclusively "
				 "is required");
		goto fail;
	}
	if ((!mb || json_is_null(mb)) && !file) {
		json_field_error(err, sizeof(err), "missing field: either `mem_backend` or `mem_file_path` is required");
		goto fail;
	}
	if (file) {
		*ret_path = file;
		return 0;
	}
	if (json_field_check_object(mb, "MemBackendConfig", backend_fields, err, sizeof(err)) < 0 ||
	    json_field_string(mb, "backend_path", true, ret_path, err, sizeof(err)) < 0 ||
	    json_field_enum(mb, "backend_type", true, backend_types, &type, err, sizeof(err)) < 0)
		goto fail;
	*ret_uffd = type == 1;
	return 0;
fail:
	api_fault(a, "%s", err);
	return -EINVAL;
}

/* One element of network_overrides (Firecracker's NetworkOverride). */
static int snapshot_net_override(const json_t *v, void *ctx, char *err, size_t errlen)
{
	static const char *const fields[] = { "iface_id", "host_dev_name", NULL };
	struct snap_overrides *ov = ctx;
	const char *id = NULL, *tap = NULL;
	struct snap_net_override *n;

	if (json_field_check_object(v, "NetworkOverride", fields, err, errlen) < 0 ||
	    json_field_string(v, "iface_id", true, &id, err, errlen) < 0 ||
	    json_field_string(v, "host_dev_name", true, &tap, err, errlen) < 0)
		return -EINVAL;
	if (ov->net_count == SNAP_OVERRIDE_NETS_MAX) {
		snprintf(err, errlen, "network_overrides: more than %u entries (a microVM has at most %u network "
			 "interfaces)", SNAP_OVERRIDE_NETS_MAX, SNAP_OVERRIDE_NETS_MAX);
		return -EINVAL;
	}
	if (strlen(id) > SNAP_OVERRIDE_IFACE_ID_MAX || strlen(tap) > SNAP_OVERRIDE_TAP_MAX) {
		snprintf(err, errlen, "network_overrides: iface_id longer than %u bytes or host_dev_name longer than "
			 "%u bytes", SNAP_OVERRIDE_IFACE_ID_MAX, SNAP_OVERRIDE_TAP_MAX);
		return -EINVAL;
	}
	n = &ov->net[ov->net_count++];
	memcpy(n->iface_id, id, strlen(id) + 1);
	memcpy(n->host_dev_name, tap, strlen(tap) + 1);
	return 0;
}

/* vsock_override (Firecracker's VsockOverride): null is none. */
static int snapshot_vsock_override(const json_t *v, struct snap_overrides *ov, char *err, size_t errlen)
{
	static const char *const fields[] = { "uds_path", NULL };
	const char *path = NULL;

	if (!v || json_is_null(v))
		return 0;
	if (json_field_check_object(v, "VsockOverride", fields, err, errlen) < 0 ||
	    json_field_string(v, "uds_path", true, &path, err, errlen) < 0)
		return -EINVAL;
	if (strlen(path) > SNAP_OVERRIDE_UDS_MAX) {
		snprintf(err, errlen, "vsock_override: uds_path longer than %u bytes", SNAP_OVERRIDE_UDS_MAX);
		return -EINVAL;
	}
	ov->has_vsock = true;
	memcpy(ov->vsock_uds_path, path, strlen(path) + 1);
	return 0;
}

/* network_overrides, vsock_override and clock_realtime, applied by the
 * load to the snapshot's configuration and clock. */
static int snapshot_load_overrides(struct api_action *a, struct snap_overrides *ov)
{
	const json_t *nets = json_object_get(a->body, "network_overrides");
	char err[512];

	if ((nets && json_field_sequence(nets, snapshot_net_override, ov, err, sizeof(err)) < 0) ||
	    snapshot_vsock_override(json_object_get(a->body, "vsock_override"), ov, err, sizeof(err)) < 0 ||
	    json_field_bool(a->body, "clock_realtime", false, &ov->clock_realtime, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/* huge_pages: "Snapshot" (the default: the saved machine-config's), or one
 * that replaces it (Firecracker's LoadHugePageConfig::resolve). Whether it
 * fits the backend is the load's question (snapshot/load.c). */
static int snapshot_load_huge_pages(struct api_action *a, int *ret)
{
	static const char *const names[] = { "Snapshot", "None", "2M", "Transparent", NULL };
	static const int values[] = { -1, HUGE_PAGES_NONE, HUGE_PAGES_2M, HUGE_PAGES_TRANSPARENT };
	int v = 0;
	char err[512];

	if (json_field_enum(a->body, "huge_pages", false, names, &v, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	*ret = values[v];
	return 0;
}

int api_snapshot_load_parse(struct api_action *a)
{
	const char *state = NULL, *mem = NULL;
	bool resume = false, diff = false, dirty = false, uffd = false;
	char err[512];
	int r, huge = -1;

	if (json_field_check_object(a->body, "LoadSnapshotConfig", load_fields, err, sizeof(err)) < 0 ||
	    json_field_string(a->body, "snapshot_path", true, &state, err, sizeof(err)) < 0 ||
	    json_field_bool(a->body, "enable_diff_snapshots", false, &diff, err, sizeof(err)) < 0 ||
	    json_field_bool(a->body, "track_dirty_pages", false, &dirty, err, sizeof(err)) < 0 ||
	    json_field_bool(a->body, "resume_vm", false, &resume, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	r = snapshot_load_backend(a, &mem, &uffd);
	if (r < 0)
		return r;
	/* Firecracker flags the deprecated fields once the body parsed,
	 * whatever the outcome. */
	if (json_object_get(a->body, "mem_file_path") || diff) {
		a->deprecated = true;
		log_warn("PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated.");
	}
	r = snapshot_payload(a, state, mem, resume);
	if (r < 0)
		return r;
	/* enable_diff_snapshots is the deprecated name of track_dirty_pages
	 * (Firecracker ORs the two). */
	((struct snapshot_request *)a->payload)->track_dirty = diff || dirty;
	r = snapshot_load_overrides(a, &((struct snapshot_request *)a->payload)->ov);
	if (r >= 0)
		r = snapshot_load_huge_pages(a, &huge);
	if (r < 0)
		return r;
	((struct snapshot_request *)a->payload)->uffd = uffd;
	((struct snapshot_request *)a->payload)->huge_pages = huge;
	return 0;
}

void api_snapshot_load_apply(struct api_controller *c, struct api_action *a)
{
	struct snapshot_request *r = a->payload;
	const struct api_snapshot_load req = { .state_path = r->state_path, .mem_path = r->mem_path,
					       .resume = r->resume, .uffd = r->uffd, .huge_pages = r->huge_pages,
					       .ov = &r->ov, .track_dirty = r->track_dirty };
	uint64_t t0 = snapshot_now_us();
	char err[1024] = "";
	bool fatal = false;

	if (c->boot_configured) {
		api_fault(a, "Load snapshot error: Loading a microVM snapshot not allowed after configuring "
			  "boot-specific resources.");
		return;
	}
	if (!c->ops || !c->ops->snapshot_load ||
	    c->ops->snapshot_load(c->ops_ctx, &req, &fatal, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err[0] ? err : "Load snapshot error: not available in this process");
		return;
	}
	c->state = r->resume ? VM_RUNNING : VM_PAUSED;
	api_metrics_latency(API_LATENCY_VMM_LOAD_SNAPSHOT, snapshot_now_us() - t0);
	api_metrics_latency(API_LATENCY_LOAD_SNAPSHOT, snapshot_now_us() - r->t0_us);
	api_no_content(a);
}
