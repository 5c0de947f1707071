/* The net device kind's descriptor (devices/kind.h): the config file's
 * "network-interfaces" key, PUT and PATCH /network-interfaces/{id},
 * "network-interfaces" in GET /vm/config, the interface set (each holding
 * its TAP) in struct vm_config's slot and the manager's hooks. Validation is
 * config/net.c's, the device virtio/net.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/router.h"
#include "cleanup.h"
#include "config/net.h"
#include "config/vm_config.h"
#include "devices/kind.h"
#include "devices/virtio/net-internal.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"

extern const struct device_kind net_kind;

/* ---- the API ---- */

/* Api thread: the body's iface_id must equal the path's. Opening the TAP
 * belongs to the vmm thread. */
static int net_api_parse(struct api_action *a)
{
	const char *body_id = NULL;
	char err[512];

	if (net_body_id(a->body, &body_id, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	return api_check_body_id(a, body_id);
}

static void net_api_put(struct api_controller *c, struct api_action *a)
{
	struct net_set *s = vm_config_slot_get(c->config, &net_kind);
	struct net_config n;
	char err[1024];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (net_config_parse(a->body, &n, err, sizeof(err)) < 0 || net_set_put(s, &n, tap_open, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
}

/* The running interface, through the manager. */
static int net_api_update(struct api_controller *c, const struct net_update *u, char *err, size_t errlen)
{
	int r;

	if (!c->ops || !c->ops->has_device || !c->ops->update_device) {
		snprintf(err, errlen, NET_ERR_PREFIX "Unable to update the net device: this build cannot update a "
			 "running network interface.");
		return -EOPNOTSUPP;
	}
	if (!c->ops->has_device(c->ops_ctx, net_kind.name, u->iface_id)) {
		snprintf(err, errlen, NET_ERR_PREFIX "Unable to update the net device: no network interface with id "
			 "`%s` exists.", u->iface_id);
		return -ENOENT;
	}
	r = c->ops->update_device(c->ops_ctx, net_kind.name, u->iface_id, u);
	if (r < 0)
		snprintf(err, errlen, NET_ERR_PREFIX "Unable to update the net device: %s", strerror(-r));
	return r;
}

static void net_api_patch(struct api_controller *c, struct api_action *a)
{
	struct net_set *s = vm_config_slot_get(c->config, &net_kind);
	int i = s ? net_set_find(s, a->id) : -ENOENT;
	struct net_config *n;
	struct net_update u;
	char err[1024] = "";

	if (i < 0) {
		api_fault(a, NET_ERR_PREFIX "Unable to update the net device: no network interface with id `%s` exists.",
			  a->id);
		return;
	}
	if (net_update_parse(a->body, &u, err, sizeof(err)) < 0 || net_api_update(c, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	/* The configuration follows, so GET /vm/config shows the limiters as they now are. */
	n = &s->iface[i];
	net_limiter_merge(&n->rx_rate_limiter, &u.rx_rate_limiter);
	net_limiter_merge(&n->tx_rate_limiter, &u.tx_rate_limiter);
	api_no_content(a);
}

static const struct api_route net_routes[] = {
	{ .method = "PUT", .path = "/network-interfaces/{id}", .states = API_PRE_BOOT, .parse = net_api_parse,
	  .apply = net_api_put, .count_metric = API_METRIC(put_api_requests, network_count),
	  .fail_metric = API_METRIC(put_api_requests, network_fails) },
	{ .method = "PATCH", .path = "/network-interfaces/{id}", .states = API_POST_BOOT, .parse = net_api_parse,
	  .apply = net_api_patch, .count_metric = API_METRIC(patch_api_requests, network_count),
	  .fail_metric = API_METRIC(patch_api_requests, network_fails) },
	API_ROUTE_UNPROVIDED("DELETE", "/network-interfaces/{id}",
			     "network interface hot-unplug (DELETE /network-interfaces, which needs PCI)"),
};

/* ---- the configuration ---- */

/* Closes the TAPs. */
static void net_slot_clear(void *slot)
{
	net_set_clear(slot);
}

static int net_config_key_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	return net_set_parse(value, slot, tap_open, err, errlen);
}

static json_t *net_config_key_to_json(const void *slot)
{
	return slot ? net_set_to_json(slot) : json_array();
}

/* ---- the devices ---- */

static unsigned net_count(const struct vm_config *cfg)
{
	const struct net_set *s = vm_config_slot(cfg, &net_kind);

	return s ? s->count : 0;
}

static const void *net_config(const struct vm_config *cfg, unsigned i)
{
	const struct net_set *s = vm_config_slot(cfg, &net_kind);

	return &s->iface[i];
}

/* The interface's TAP is already attached (config/net.c): the device takes a duplicate. */
static int net_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	return net_create(ctx->env, config, NULL, (struct net **)ret);
}

static void net_kind_destroy(void *dev)
{
	net_destroy(dev);
}

static const char *net_kind_id(const void *dev)
{
	return net_id(dev);
}

static int net_kind_update(void *dev, const void *update)
{
	return net_update(dev, update);
}

static struct virtio_dev *net_kind_virtio(void *dev)
{
	return net_virtio(dev);
}

static void net_kind_quiesce(void *dev)
{
	net_snapshot_quiesce(dev);
}

static int net_kind_save(void *dev, uint8_t *buf, size_t size)
{
	return net_snapshot_save(dev, buf, size);
}

static int net_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return net_snapshot_restore(dev, buf, len, err, errlen);
}

const struct device_kind net_kind = {
	.name = "net",
	.max = NET_IFACES_MAX,
	.config_key = "network-interfaces",
	.slot_size = sizeof(struct net_set),
	.slot_clear = net_slot_clear,
	.config_parse = net_config_key_parse,
	.config_to_json = net_config_key_to_json,
	.metrics_group = &net_metrics_group,
	.routes = net_routes,
	.routes_count = ARRAY_SIZE(net_routes),
	.count = net_count,
	.config = net_config,
	.create = net_kind_create,
	.destroy = net_kind_destroy,
	.id = net_kind_id,
	.update = net_kind_update,
	.virtio = net_kind_virtio,
	.snapshot_quiesce = net_kind_quiesce,
	.snapshot_save = net_kind_save,
	.snapshot_restore = net_kind_restore,
};
