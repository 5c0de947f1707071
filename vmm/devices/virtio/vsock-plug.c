/* The vsock device kind's descriptor (devices/kind.h): the config file's
 * "vsock" key, PUT /vsock, "vsock" in GET /vm/config, the one device's slot
 * (its config and bound listener) in struct vm_config and the manager's
 * hooks. Validation is config/vsock.c's, the device virtio/vsock.c's. */
#include <errno.h>

#include "api/router.h"
#include "cleanup.h"
#include "config/vm_config.h"
#include "config/vsock.h"
#include "devices/kind.h"
#include "devices/virtio/vsock-dev.h"
#include "devices/virtio/vsock.h"

extern const struct device_kind vsock_kind;

/* ---- the API ---- */

/* The host-side socket is bound here, on the vmm thread, so a bad uds_path
 * fails the request. */
static void vsock_api_put(struct api_controller *c, struct api_action *a)
{
	struct vsock_slot *s = vm_config_slot_get(c->config, &vsock_kind);
	struct vsock_config v;
	char err[1024];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (vsock_config_parse(a->body, &v, err, sizeof(err)) < 0 || vsock_slot_put(s, &v, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
	/* vsock_id is deprecated in Firecracker: accepted, flagged and counted. */
	a->resp.deprecation = v.has_vsock_id;
}

static const struct api_route vsock_routes[] = {
	{ .method = "PUT", .path = "/vsock", .states = API_PRE_BOOT, .apply = vsock_api_put,
	  .count_metric = API_METRIC(put_api_requests, vsock_count), .fail_metric = API_METRIC(put_api_requests, vsock_fails) },
};

/* ---- the configuration ---- */

static void vsock_kind_slot_init(void *slot)
{
	*(struct vsock_slot *)slot = (struct vsock_slot)VSOCK_SLOT_INIT;
}

/* Closes the listener and unlinks its socket. */
static void vsock_kind_slot_clear(void *slot)
{
	vsock_slot_clear(slot);
}

static int vsock_config_key_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	return vsock_slot_parse(value, slot, err, errlen);
}

static json_t *vsock_config_key_to_json(const void *slot)
{
	const struct vsock_slot *s = slot;

	return s && s->present ? vsock_config_to_json(&s->cfg) : json_null();
}

/* ---- the device ---- */

static unsigned vsock_count(const struct vm_config *cfg)
{
	const struct vsock_slot *s = vm_config_slot(cfg, &vsock_kind);

	return s && s->present;
}

static const void *vsock_config(const struct vm_config *cfg, unsigned i)
{
	return vm_config_slot(cfg, &vsock_kind);
}

static int vsock_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	return vsock_create(ctx->env, config, NULL, (struct vsock_dev **)ret);
}

static void vsock_kind_destroy(void *dev)
{
	vsock_destroy(dev);
}

static struct virtio_dev *vsock_kind_virtio(void *dev)
{
	return vsock_virtio(dev);
}

static void vsock_kind_quiesce(void *dev)
{
	vsock_snapshot_quiesce(dev);
}

static int vsock_kind_save(void *dev, uint8_t *buf, size_t size)
{
	return vsock_snapshot_save(dev, buf, size);
}

static int vsock_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return vsock_snapshot_restore(dev, buf, len, err, errlen);
}

const struct device_kind vsock_kind = {
	.name = "vsock",
	.max = 1,
	.config_key = "vsock",
	.config_nullable = true,
	.slot_size = sizeof(struct vsock_slot),
	.slot_init = vsock_kind_slot_init,
	.slot_clear = vsock_kind_slot_clear,
	.config_parse = vsock_config_key_parse,
	.config_to_json = vsock_config_key_to_json,
	.metrics_group = &vsock_metrics_group,
	.routes = vsock_routes,
	.routes_count = ARRAY_SIZE(vsock_routes),
	.count = vsock_count,
	.config = vsock_config,
	.create = vsock_kind_create,
	.destroy = vsock_kind_destroy,
	.virtio = vsock_kind_virtio,
	.snapshot_quiesce = vsock_kind_quiesce,
	.snapshot_save = vsock_kind_save,
	.snapshot_restore = vsock_kind_restore,
};
