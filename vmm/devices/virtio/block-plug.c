/* The block device kind's descriptor (devices/kind.h): the config file's
 * "drives" key, PUT and PATCH /drives/{id}, "drives" in GET /vm/config, the
 * drive set in struct vm_config's slot and the manager's hooks. Validation
 * is config/drive.c's, the device virtio/block.c's. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/router.h"
#include "cleanup.h"
#include "config/drive.h"
#include "config/vm_config.h"
#include "devices/kind.h"
#include "path_error.h"
#include "devices/virtio/block.h"

extern const struct device_kind block_kind;

/* ---- the API ---- */

/* Api thread: the path id must be valid and equal the body's drive_id. The
 * full validation opens files, which belongs to the vmm thread. */
static int block_api_parse(struct api_action *a)
{
	return api_match_body_id(a, drive_body_id);
}

static void block_api_put(struct api_controller *c, struct api_action *a)
{
	struct drive_set *s = vm_config_slot_get(c->config, &block_kind);
	struct drive_config d;
	char err[1024];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (drive_config_parse(a->body, &d, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (d.is_root_device && device_kinds_root_elsewhere(c->config, &block_kind)) {
		drive_config_clear(&d);
		api_fault(a, "%s", block_kind.root_conflict);
		return;
	}
	if (drive_set_put(s, &d, err, sizeof(err)) < 0) {
		drive_config_clear(&d);
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
}

/* After a successful PATCH the configuration follows, so GET /vm/config
 * shows the drive as it now is. */
static void block_api_record(struct drive_config *d, struct drive_update *u)
{
	if (u->path_on_host) {
		free(d->path_on_host);
		d->path_on_host = u->path_on_host;
		u->path_on_host = NULL;
		close(d->fd);
		d->fd = u->fd;
		u->fd = -1;
	}
	rate_limiter_spec_patch(&d->rate_limiter, &u->rate_limiter);
}

/* The running drive first (through the manager), then the configuration. */
static int block_api_update(struct api_controller *c, struct drive_update *u, char *err, size_t errlen)
{
	int r;

	if (!c->ops || !c->ops->has_device || !c->ops->update_device) {
		snprintf(err, errlen, DRIVE_ERR_PATCH "this build cannot update a running drive.");
		return -EOPNOTSUPP;
	}
	/* Looked up first: the update's own errors may be -ENOENT too. */
	if (!c->ops->has_device(c->ops_ctx, block_kind.name, u->drive_id)) {
		snprintf(err, errlen, DRIVE_ERR_PATCH "no drive with id `%s` exists.", u->drive_id);
		return -ENOENT;
	}
	r = c->ops->update_device(c->ops_ctx, block_kind.name, u->drive_id, u);
	if (r < 0 && u->path_on_host) {
		char why[PATH_MAX + 160];

		snprintf(err, errlen, DRIVE_ERR_PATCH "Error manipulating the backing file: %s",
			 path_error(why, sizeof(why), u->path_on_host, -r));
	} else if (r < 0) {
		snprintf(err, errlen, DRIVE_ERR_PATCH "%s (os error %d)", strerror(-r), -r);
	}
	return r;
}

static void block_api_patch(struct api_controller *c, struct api_action *a)
{
	struct drive_set *s = vm_config_slot_get(c->config, &block_kind);
	int i = s ? drive_set_find(s, a->id) : -ENOENT;
	struct drive_update u;
	char err[1024] = "";

	if (i < 0) {
		api_fault(a, DRIVE_ERR_PATCH "no drive with id `%s` exists.", a->id);
		return;
	}
	if (drive_update_parse(a->body, s->drive[i].is_read_only, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (block_api_update(c, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
	} else {
		block_api_record(&s->drive[i], &u);
		api_no_content(a);
	}
	drive_update_clear(&u);
}

static const struct api_route block_routes[] = {
	{ .method = "PUT", .path = "/drives/{id}", .states = API_PRE_BOOT, .parse = block_api_parse,
	  .apply = block_api_put, .count_metric = API_METRIC(put_api_requests, drive_count),
	  .fail_metric = API_METRIC(put_api_requests, drive_fails) },
	{ .method = "PATCH", .path = "/drives/{id}", .states = API_POST_BOOT, .parse = block_api_parse,
	  .apply = block_api_patch, .count_metric = API_METRIC(patch_api_requests, drive_count),
	  .fail_metric = API_METRIC(patch_api_requests, drive_fails) },
	API_ROUTE_UNPROVIDED("DELETE", "/drives/{id}", "drive hot-unplug (DELETE /drives, which needs PCI)"),
};

/* ---- the configuration ---- */

static void block_slot_clear(void *slot)
{
	drive_set_clear(slot);
}

static int block_config_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	return drive_set_parse(value, slot, err, errlen);
}

static json_t *block_config_to_json(const void *slot)
{
	return slot ? drive_set_to_json(slot) : json_array();
}

static bool block_has_root(const void *slot)
{
	const struct drive_set *s = slot;

	return s->count && s->drive[0].is_root_device; /* the root drive is kept first */
}

/* ---- the devices ---- */

static unsigned block_count(const struct vm_config *cfg)
{
	const struct drive_set *s = vm_config_slot(cfg, &block_kind);

	return s ? s->count : 0;
}

/* drive_set keeps the root drive at index 0, the others in insertion order. */
static const void *block_config(const struct vm_config *cfg, unsigned i)
{
	const struct drive_set *s = vm_config_slot(cfg, &block_kind);

	return &s->drive[i];
}

static int block_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	return block_create(ctx->env, config, NULL, (struct block **)ret);
}

static void block_kind_destroy(void *dev)
{
	block_destroy(dev);
}

static const char *block_kind_id(const void *dev)
{
	return block_id(dev);
}

static int block_kind_update(void *dev, const void *update)
{
	return block_update(dev, update);
}

static int block_cmdline(const struct vm_config *cfg, char *buf, size_t size)
{
	const struct drive_set *s = vm_config_slot(cfg, &block_kind);

	return s ? drive_set_root_arg(s, buf, size) : 0;
}

static struct virtio_dev *block_kind_virtio(void *dev)
{
	return block_virtio(dev);
}

static void block_kind_quiesce(void *dev)
{
	block_snapshot_quiesce(dev);
}

static int block_kind_save(void *dev, uint8_t *buf, size_t size)
{
	return block_snapshot_save(dev, buf, size);
}

static int block_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return block_snapshot_restore(dev, buf, len, err, errlen);
}

const struct device_kind block_kind = {
	.name = "block",
	.max = DRIVES_MAX,
	.config_key = "drives",
	.slot_size = sizeof(struct drive_set),
	.slot_clear = block_slot_clear,
	.config_parse = block_config_parse,
	.config_to_json = block_config_to_json,
	.has_root = block_has_root,
	.root_conflict = "Attempt to add block as a root device while the root device defined as a pmem device",
	.metrics_group = &block_metrics_group,
	.routes = block_routes,
	.routes_count = ARRAY_SIZE(block_routes),
	.count = block_count,
	.config = block_config,
	.create = block_kind_create,
	.destroy = block_kind_destroy,
	.id = block_kind_id,
	.update = block_kind_update,
	.cmdline = block_cmdline,
	.virtio = block_kind_virtio,
	.snapshot_quiesce = block_kind_quiesce,
	.snapshot_save = block_kind_save,
	.snapshot_restore = block_kind_restore,
};
