/* The balloon device kind's descriptor (devices/kind.h): the config file's
 * "balloon" key, PUT/GET/PATCH /balloon, the statistics and hinting routes,
 * "balloon" in GET /vm/config, the one device's slot in struct vm_config and
 * the manager's hooks. Validation is config/balloon.c's, the device
 * virtio/balloon.c's. Texts and gating are Firecracker's (rpc_interface.rs,
 * api_server/request/balloon.rs). */
#include <errno.h>
#include <string.h>

#include "api/router.h"
#include "cleanup.h"
#include "config/balloon.h"
#include "config/vm_config.h"
#include "devices/kind.h"
#include "devices/virtio/balloon-internal.h"
#include "devices/virtio/balloon.h"

extern const struct device_kind balloon_kind;

/* The device's one id: Firecracker's BALLOON_DEV_ID. */
#define BALLOON_ID "balloon"

/* ---- the API ---- */

static struct balloon_slot *balloon_slot_of(struct api_controller *c)
{
	struct balloon_slot *s = (struct balloon_slot *)vm_config_slot(c->config, &balloon_kind);

	return s && s->present ? s : NULL;
}

/* PUT /balloon: replaces the configured device; no larger than RAM. */
static void balloon_api_put(struct api_controller *c, struct api_action *a)
{
	struct balloon_slot *s = vm_config_slot_get(c->config, &balloon_kind);
	struct balloon_config cfg;
	char err[512];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (balloon_config_parse(a->body, &cfg, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (!balloon_config_fits(&cfg, c->config->machine.mem_size_mib)) {
		api_fault(a, BALLOON_ERR_CONFIG BALLOON_ERR_TOO_LARGE);
		return;
	}
	/* Firecracker's Balloon::new: num_pages = amount_mib * 256 must fit a
	 * u32 (unreachable while RAM is bounded below 16 TiB; kept with its text). */
	if (cfg.amount_mib > BALLOON_MAX_MIB) {
		api_fault(a, BALLOON_ERR_CONFIG "Error creating the balloon device: Requested memory should be less "
			  "than %uMiB", BALLOON_MAX_MIB);
		return;
	}
	s->present = true;
	s->cfg = cfg;
	api_no_content(a);
}

/* GET /balloon: the configuration, which PATCHes keep current. */
static void balloon_api_get(struct api_controller *c, struct api_action *a)
{
	struct balloon_slot *s = balloon_slot_of(c);

	if (s)
		api_ok_json(a, balloon_config_to_json(&s->cfg));
	else if (c->state == VM_NOT_STARTED)
		api_fault(a, BALLOON_ERR_CONFIG BALLOON_ERR_NOT_FOUND);
	else
		api_fault(a, BALLOON_ERR_INTERNAL BALLOON_ERR_DEVICE_NOT_FOUND);
}

/* One request to the running device; prefix is Firecracker's for the
 * action (BalloonUpdate or InternalVmm). 0 or -errno with a->resp set. */
static int balloon_api_request(struct api_controller *c, struct api_action *a, struct balloon_request *req,
			       const char *prefix)
{
	int r;

	if (!c->ops || !c->ops->has_device || !c->ops->has_device(c->ops_ctx, balloon_kind.name, BALLOON_ID)) {
		api_fault(a, "%s" BALLOON_ERR_DEVICE_NOT_FOUND, prefix);
		return -ENOENT;
	}
	/* The request carries its answer back (reply, fault). */
	r = c->ops->update_device(c->ops_ctx, balloon_kind.name, BALLOON_ID, req);
	if (r < 0)
		api_fault(a, "%s%s", prefix, req->fault[0] ? req->fault : strerror(-r));
	return r;
}

static void balloon_api_patch(struct api_controller *c, struct api_action *a)
{
	struct balloon_request req = { .op = BALLOON_OP_RESIZE };
	struct balloon_slot *s;
	char err[512];

	if (balloon_update_parse(a->body, &req.amount_mib, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (balloon_api_request(c, a, &req, BALLOON_ERR_UPDATE) < 0)
		return;
	s = balloon_slot_of(c);
	if (s)
		s->cfg.amount_mib = req.amount_mib;
	api_no_content(a);
}

static void balloon_api_patch_stats(struct api_controller *c, struct api_action *a)
{
	struct balloon_request req = { .op = BALLOON_OP_STATS_INTERVAL };
	struct balloon_slot *s;
	char err[512];

	if (balloon_stats_update_parse(a->body, &req.interval_s, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (balloon_api_request(c, a, &req, BALLOON_ERR_UPDATE) < 0)
		return;
	s = balloon_slot_of(c);
	if (s)
		s->cfg.stats_polling_interval_s = req.interval_s;
	api_no_content(a);
}

/* The GETs answer with the device's reply. */
static void balloon_api_query(struct api_controller *c, struct api_action *a, enum balloon_op op, const char *prefix)
{
	struct balloon_request req = { .op = op };

	if (balloon_api_request(c, a, &req, prefix) >= 0)
		api_ok_json(a, req.reply);
}

static void balloon_api_get_stats(struct api_controller *c, struct api_action *a)
{
	balloon_api_query(c, a, BALLOON_OP_STATS, BALLOON_ERR_INTERNAL);
}

static void balloon_api_hint_status(struct api_controller *c, struct api_action *a)
{
	balloon_api_query(c, a, BALLOON_OP_HINT_STATUS, BALLOON_ERR_UPDATE);
}

static void balloon_api_hint_start(struct api_controller *c, struct api_action *a)
{
	struct balloon_request req = { .op = BALLOON_OP_HINT_START };
	char err[512];

	if (balloon_hint_start_parse(a->body, &req.ack_on_stop, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (balloon_api_request(c, a, &req, BALLOON_ERR_UPDATE) >= 0)
		api_no_content(a);
}

static void balloon_api_hint_stop(struct api_controller *c, struct api_action *a)
{
	struct balloon_request req = { .op = BALLOON_OP_HINT_STOP };

	if (balloon_api_request(c, a, &req, BALLOON_ERR_UPDATE) >= 0)
		api_no_content(a);
}

/* Firecracker's answers for the paths under /balloon it does not know. */
static int balloon_api_unknown_get(struct api_action *a)
{
	if (strcmp(a->id, "hinting") == 0)
		api_fault(a, "Unrecognized GET request path `/hinting/`.");
	else
		api_fault(a, "Unrecognized GET request path `%s`.", a->id);
	return -EINVAL;
}

static int balloon_api_unknown_hinting(struct api_action *a)
{
	api_fault(a, "Unrecognized %s request path `/hinting/%s`.", a->route->method, a->id);
	return -EINVAL;
}

/* PATCH /balloon/<anything> with a body is Firecracker's UpdateBalloon too. */
static int balloon_api_patch_other(struct api_action *a)
{
	if (strcmp(a->id, "hinting") != 0)
		return 0;
	api_fault(a, "Unrecognized PATCH request path `/hinting/`.");
	return -EINVAL;
}

#define BALLOON_ROUTE(m, p, st, fn) \
	{ .method = m, .path = p, .states = st, .apply = fn, .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC }
#define BALLOON_ROUTE_NOBODY(m, p, fn)                                                                 \
	{ .method = m, .path = p, .states = API_POST_BOOT, .apply = fn, .body_optional = true,         \
	  .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC }

/* Literal paths before the "{id}" rows that would match them too. */
static const struct api_route balloon_routes[] = {
	BALLOON_ROUTE("PUT", "/balloon", API_PRE_BOOT, balloon_api_put),
	BALLOON_ROUTE("GET", "/balloon", API_ANY_STATE, balloon_api_get),
	BALLOON_ROUTE("PATCH", "/balloon", API_POST_BOOT, balloon_api_patch),
	BALLOON_ROUTE("GET", "/balloon/statistics", API_POST_BOOT, balloon_api_get_stats),
	BALLOON_ROUTE("PATCH", "/balloon/statistics", API_POST_BOOT, balloon_api_patch_stats),
	BALLOON_ROUTE_NOBODY("PATCH", "/balloon/hinting/start", balloon_api_hint_start),
	BALLOON_ROUTE("GET", "/balloon/hinting/status", API_POST_BOOT, balloon_api_hint_status),
	BALLOON_ROUTE_NOBODY("PATCH", "/balloon/hinting/stop", balloon_api_hint_stop),
	{ .method = "GET", .path = "/balloon/hinting/{id}", .states = API_ANY_STATE, .parse = balloon_api_unknown_hinting,
	  .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC },
	{ .method = "PATCH", .path = "/balloon/hinting/{id}", .states = API_ANY_STATE, .body_optional = true,
	  .parse = balloon_api_unknown_hinting, .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC },
	{ .method = "GET", .path = "/balloon/{id}", .states = API_ANY_STATE, .parse = balloon_api_unknown_get,
	  .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC },
	{ .method = "PATCH", .path = "/balloon/{id}", .states = API_POST_BOOT, .parse = balloon_api_patch_other,
	  .apply = balloon_api_patch, .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC },
};

/* ---- the configuration ---- */

static int balloon_config_key_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	return balloon_slot_parse(value, slot, err, errlen);
}

static json_t *balloon_config_key_to_json(const void *slot)
{
	const struct balloon_slot *s = slot;

	return s && s->present ? balloon_config_to_json(&s->cfg) : json_null();
}

/* Firecracker refuses a balloon larger than RAM whichever came first. */
static int balloon_memory_check(const void *slot, uint64_t mem_size_mib, char *err, size_t errlen)
{
	const struct balloon_slot *s = slot;

	if (!s || !s->present || balloon_config_fits(&s->cfg, mem_size_mib))
		return 0;
	snprintf(err, errlen, BALLOON_ERR_TOO_LARGE);
	return -ERANGE;
}

/* ---- the device ---- */

static unsigned balloon_count(const struct vm_config *cfg)
{
	const struct balloon_slot *s = vm_config_slot(cfg, &balloon_kind);

	return s && s->present;
}

static const void *balloon_kind_config(const struct vm_config *cfg, unsigned i)
{
	const struct balloon_slot *s = vm_config_slot(cfg, &balloon_kind);

	return &s->cfg;
}

static int balloon_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	return balloon_create(ctx->env, config, (struct balloon **)ret);
}

static void balloon_kind_destroy(void *dev)
{
	balloon_destroy(dev);
}

static const char *balloon_kind_id(const void *dev)
{
	return BALLOON_ID;
}

/* PATCH and the GETs: the request carries its answer back, so it is
 * written through (balloon_api_request owns it). */
static int balloon_kind_update(void *dev, const void *update)
{
	return balloon_request(dev, (struct balloon_request *)update);
}

static struct virtio_dev *balloon_kind_virtio(void *dev)
{
	return balloon_virtio(dev);
}

static int balloon_kind_save(void *dev, uint8_t *buf, size_t size)
{
	return balloon_snapshot_save(dev, buf, size);
}

static int balloon_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return balloon_snapshot_restore(dev, buf, len, err, errlen);
}

const struct device_kind balloon_kind = {
	.name = "balloon",
	.max = 1,
	.config_key = "balloon",
	.config_nullable = true,
	.slot_size = sizeof(struct balloon_slot),
	.config_parse = balloon_config_key_parse,
	.config_to_json = balloon_config_key_to_json,
	.memory_check = balloon_memory_check,
	.metrics_group = &balloon_metrics_group,
	.routes = balloon_routes,
	.routes_count = ARRAY_SIZE(balloon_routes),
	.count = balloon_count,
	.config = balloon_kind_config,
	.create = balloon_kind_create,
	.destroy = balloon_kind_destroy,
	.id = balloon_kind_id,
	.update = balloon_kind_update,
	.virtio = balloon_kind_virtio,
	.snapshot_save = balloon_kind_save,
	.snapshot_restore = balloon_kind_restore,
};
