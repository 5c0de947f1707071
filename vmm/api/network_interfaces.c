/* PUT /network-interfaces/{id} (before boot) and PATCH /network-interfaces/{id}
 * (after boot), through the shared validator in config/net.h. */
#include <errno.h>
#include <string.h>

#include "api/resources.h"
#include "config/net.h"
#include "devices/virtio/tap.h"

/* Api thread: the body's iface_id must equal the path's. Opening the TAP
 * belongs to the vmm thread. */
int api_net_parse(struct api_action *a)
{
	const char *body_id = NULL;
	char err[512];

	if (net_body_id(a->body, &body_id, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	return api_check_body_id(a, body_id);
}

void api_net_put_apply(struct api_controller *c, struct api_action *a)
{
	struct net_config n;
	char err[1024];

	if (net_config_parse(a->body, &n, err, sizeof(err)) < 0 ||
	    net_set_put(&c->config->nets, &n, tap_open, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
}

void api_net_patch_apply(struct api_controller *c, struct api_action *a)
{
	int i = net_set_find(&c->config->nets, a->id);
	struct net_config *n;
	struct net_update u;
	char err[1024] = "";

	if (i < 0) {
		api_fault(a, NET_ERR_PREFIX "Unable to update the net device: no network interface with id `%s` exists.",
			  a->id);
		return;
	}
	if (net_update_parse(a->body, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (!c->ops || !c->ops->update_net) {
		api_fault(a, NET_ERR_PREFIX "Unable to update the net device: this build cannot update a running "
					    "network interface.");
		return;
	}
	if (c->ops->update_net(c->ops_ctx, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	/* The configuration follows, so GET /vm/config shows the limiters as they now are. */
	n = &c->config->nets.iface[i];
	net_limiter_merge(&n->rx_rate_limiter, &u.rx_rate_limiter);
	net_limiter_merge(&n->tx_rate_limiter, &u.tx_rate_limiter);
	api_no_content(a);
}
