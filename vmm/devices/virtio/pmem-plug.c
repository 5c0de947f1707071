/* The pmem device kind's descriptor (devices/kind.h): the config file's
 * "pmem" key, PUT and PATCH /pmem/{id} (DELETE answers "PCI is not enabled",
 * as Firecracker without PCI), "pmem" in GET /vm/config, the pmem set in struct vm_config's
 * slot and the manager's hooks. Validation is config/pmem.c's, the device
 * virtio/pmem.c's. Attached after net and before vsock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/router.h"
#include "cleanup.h"
#include "config/pmem.h"
#include "config/vm_config.h"
#include "devices/kind.h"
#include "devices/virtio/pmem.h"

extern const struct device_kind pmem_kind;

#define PMEM_ERR_PATCH PMEM_ERR "Unable to patch the pmem device: "

/* ---- the API ---- */

/* Api thread: the path id must be valid and equal the body's id. */
static int pmem_api_parse(struct api_action *a)
{
	return api_match_body_id(a, pmem_body_id);
}

static void pmem_api_put(struct api_controller *c, struct api_action *a)
{
	struct pmem_set *s = vm_config_slot_get(c->config, &pmem_kind);
	struct pmem_config p;
	char err[1024];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (pmem_config_parse(a->body, &p, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (pmem_set_put(s, &p, device_kinds_root_elsewhere(c->config, &pmem_kind), err, sizeof(err)) < 0) {
		pmem_config_clear(&p);
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
}

/* Firecracker changes nothing for a PATCH without rate_limiter, whatever
 * the id; with one, the device must exist. */
static void pmem_api_patch(struct api_controller *c, struct api_action *a)
{
	struct pmem_set *s = vm_config_slot_get(c->config, &pmem_kind);
	struct pmem_update u;
	char err[1024];
	int i, r;

	if (pmem_update_parse(a->body, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (!u.rate_limiter.present) {
		api_no_content(a);
		return;
	}
	i = s ? pmem_set_find(s, u.id) : -ENOENT;
	if (i < 0 || !c->ops || !c->ops->has_device || !c->ops->has_device(c->ops_ctx, pmem_kind.name, u.id)) {
		api_fault(a, PMEM_ERR_PATCH "Failed perform action on device: Device not found Please verify the "
			  "request arguments.");
		return;
	}
	r = c->ops->update_device(c->ops_ctx, pmem_kind.name, u.id, &u);
	if (r < 0) {
		api_fault(a, PMEM_ERR_PATCH "%s Please verify the request arguments.", strerror(-r));
		return;
	}
	rate_limiter_spec_patch(&s->dev[i].rate_limiter, &u.rate_limiter); /* GET /vm/config follows */
	api_no_content(a);
}

/* Unplugging needs a PCI transport; ember's is virtio-mmio (Firecracker
 * without --enable-pci answers the same after boot). */
static void pmem_api_delete(struct api_controller *c, struct api_action *a)
{
	api_fault(a, "PCI is not enabled");
}

static const struct api_route pmem_routes[] = {
	{ .method = "PUT", .path = "/pmem/{id}", .states = API_PRE_BOOT, .parse = pmem_api_parse,
	  .apply = pmem_api_put, .count_metric = API_METRIC(put_api_requests, pmem_count),
	  .fail_metric = API_METRIC(put_api_requests, pmem_fails) },
	{ .method = "PATCH", .path = "/pmem/{id}", .states = API_POST_BOOT, .parse = pmem_api_parse,
	  .apply = pmem_api_patch, .count_metric = API_METRIC(patch_api_requests, pmem_count),
	  .fail_metric = API_METRIC(patch_api_requests, pmem_fails) },
	{ .method = "DELETE", .path = "/pmem/{id}", .states = API_POST_BOOT, .apply = pmem_api_delete,
	  .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC },
};

/* ---- the configuration ---- */

static void pmem_slot_clear(void *slot)
{
	pmem_set_clear(slot);
}

static int pmem_kind_config_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	return pmem_set_parse(value, slot, err, errlen);
}

static json_t *pmem_kind_config_to_json(const void *slot)
{
	return slot ? pmem_set_to_json(slot) : json_array();
}

static bool pmem_has_root(const void *slot)
{
	return pmem_set_has_root(slot);
}

/* ---- the devices ---- */

static unsigned pmem_count(const struct vm_config *cfg)
{
	const struct pmem_set *s = vm_config_slot(cfg, &pmem_kind);

	return s ? s->count : 0;
}

static const void *pmem_config(const struct vm_config *cfg, unsigned i)
{
	const struct pmem_set *s = vm_config_slot(cfg, &pmem_kind);

	return &s->dev[i];
}

static int pmem_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	const struct pmem_config *cfg = config;
	char why[512] = "";
	int r = pmem_create(ctx->env, cfg, NULL, (struct pmem **)ret, why, sizeof(why));

	if (r < 0 && ctx->why)
		snprintf(ctx->why, ctx->whylen, "pmem %s: Unable to create the virtio-pmem device: %s", cfg->id, why);
	return r;
}

static void pmem_kind_destroy(void *dev)
{
	pmem_destroy(dev);
}

static const char *pmem_kind_id(const void *dev)
{
	return pmem_id(dev);
}

static int pmem_kind_update(void *dev, const void *update)
{
	return pmem_update(dev, update);
}

static int pmem_cmdline(const struct vm_config *cfg, char *buf, size_t size)
{
	const struct pmem_set *s = vm_config_slot(cfg, &pmem_kind);

	return s ? pmem_set_root_arg(s, buf, size) : 0;
}

static struct virtio_dev *pmem_kind_virtio(void *dev)
{
	return pmem_virtio(dev);
}

static int pmem_kind_save(void *dev, uint8_t *buf, size_t size)
{
	return pmem_snapshot_save(dev, buf, size);
}

static int pmem_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return pmem_snapshot_restore(dev, buf, len, err, errlen);
}

const struct device_kind pmem_kind = {
	.name = "pmem",
	.max = PMEM_DEVICES_MAX,
	.config_key = "pmem",
	.slot_size = sizeof(struct pmem_set),
	.slot_clear = pmem_slot_clear,
	.config_parse = pmem_kind_config_parse,
	.config_to_json = pmem_kind_config_to_json,
	.has_root = pmem_has_root,
	.root_conflict = PMEM_ERR "Attempt to add pmem as a root device while the root device defined as a block device",
	.metrics_group = &pmem_metrics_group,
	.routes = pmem_routes,
	.routes_count = ARRAY_SIZE(pmem_routes),
	.count = pmem_count,
	.config = pmem_config,
	.create = pmem_kind_create,
	.destroy = pmem_kind_destroy,
	.id = pmem_kind_id,
	.update = pmem_kind_update,
	.cmdline = pmem_cmdline,
	.virtio = pmem_kind_virtio,
	/* Flushes finish within their notification: nothing is in flight. */
	.snapshot_save = pmem_kind_save,
	.snapshot_restore = pmem_kind_restore,
};
