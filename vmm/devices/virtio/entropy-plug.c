/* The entropy device kind's descriptor (devices/kind.h): the config file's
 * "entropy" key, PUT /entropy, "entropy" in GET /vm/config, the one device's
 * slot in struct vm_config and the manager's hooks. Validation is
 * config/entropy.c's, the device virtio/rng.c's. */
#include "api/router.h"
#include "cleanup.h"
#include "config/entropy.h"
#include "config/vm_config.h"
#include "devices/kind.h"
#include "devices/virtio/rng.h"

extern const struct device_kind entropy_kind;

/* ---- the API ---- */

/* Before boot only; a second PUT replaces the first, as Firecracker's builder does. */
static void entropy_api_put(struct api_controller *c, struct api_action *a)
{
	struct entropy_slot *s = vm_config_slot_get(c->config, &entropy_kind);
	struct entropy_config e;
	char err[1024];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (entropy_config_parse(a->body, &e, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	s->present = true;
	s->cfg = e;
	api_no_content(a);
}

static const struct api_route entropy_routes[] = {
	{ .method = "PUT", .path = "/entropy", .states = API_PRE_BOOT, .apply = entropy_api_put,
	  .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC },
};

/* ---- the configuration ---- */

static int entropy_config_key_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	struct entropy_slot *s = slot;
	struct entropy_config e;
	int r = entropy_config_parse(value, &e, err, errlen);

	if (r < 0)
		return r;
	s->present = true;
	s->cfg = e;
	return 0;
}

static json_t *entropy_config_key_to_json(const void *slot)
{
	const struct entropy_slot *s = slot;

	return s && s->present ? entropy_config_to_json(&s->cfg) : json_null();
}

/* ---- the device ---- */

static unsigned entropy_count(const struct vm_config *cfg)
{
	const struct entropy_slot *s = vm_config_slot(cfg, &entropy_kind);

	return s && s->present;
}

static const void *entropy_config(const struct vm_config *cfg, unsigned i)
{
	const struct entropy_slot *s = vm_config_slot(cfg, &entropy_kind);

	return &s->cfg;
}

static int entropy_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	return rng_create(ctx->env, config, NULL, (struct rng_dev **)ret);
}

static void entropy_kind_destroy(void *dev)
{
	rng_destroy(dev);
}

static struct virtio_dev *entropy_kind_virtio(void *dev)
{
	return rng_virtio(dev);
}

static int entropy_kind_save(void *dev, uint8_t *buf, size_t size)
{
	return rng_snapshot_save(dev, buf, size);
}

static int entropy_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return rng_snapshot_restore(dev, buf, len, err, errlen);
}

const struct device_kind entropy_kind = {
	.name = "entropy",
	.max = 1,
	.config_key = "entropy",
	.config_nullable = true,
	.slot_size = sizeof(struct entropy_slot),
	.config_parse = entropy_config_key_parse,
	.config_to_json = entropy_config_key_to_json,
	.metrics_group = &entropy_metrics_group,
	.routes = entropy_routes,
	.routes_count = ARRAY_SIZE(entropy_routes),
	.count = entropy_count,
	.config = entropy_config,
	.create = entropy_kind_create,
	.destroy = entropy_kind_destroy,
	.virtio = entropy_kind_virtio,
	.snapshot_save = entropy_kind_save,
	.snapshot_restore = entropy_kind_restore,
};
