/* The guest side of the MMDS for one VM: what every enabled interface's
 * network stack (net/stack.h) shares.
 *
 * It holds the V2 token authority (a getrandom key drawn at start-up, the
 * instance id as associated data), the HTTP server over the data store
 * (mmds/http.h; the store belongs to struct ember, so a host PUT or PATCH
 * is what the guest reads next), the MMDS configuration the VM was started
 * with (config/mmds.h) and the `mmds` metrics group. Its stacks answer on
 * the vmm thread, which owns all of it. */
#pragma once

#include <stdint.h>

#include "config/mmds.h"
#include "mmds/guest-metrics.h"
#include "mmds/http.h"

struct mmds_stack;
struct mmds_store;

struct mmds_guest {
	struct mmds_tokens tokens;
	struct mmds_http http;
	struct mmds_http_counters http_counters;
	struct mmds_config cfg;
	struct mmds_metrics m;
	int metrics_handle;
};

/* Draws the token key (src as mmds_tokens_init() takes it; NULL for
 * getrandom and CLOCK_MONOTONIC), binds tokens to instance_id and registers
 * the metrics. store is not owned and must outlive the result. 0 or -errno;
 * the caller owns *ret. */
int mmds_guest_new(struct mmds_store *store, const char *instance_id, const struct mmds_token_source *src,
		   struct mmds_guest **ret);
/* Accepts NULL; returns NULL. */
struct mmds_guest *mmds_guest_free(struct mmds_guest *g);
/* The configuration the VM starts with (copied): version, address,
 * imds_compat and the interfaces that answer. */
void mmds_guest_configure(struct mmds_guest *g, const struct mmds_config *cfg);
/* The stack of interface iface_id (mtu 0: 1500) when the configuration
 * enables it, else *ret = NULL. 0 or -ENOMEM; the caller owns *ret. */
int mmds_guest_stack(struct mmds_guest *g, const char *iface_id, uint16_t mtu, struct mmds_stack **ret);
/* The request handler the stacks call (net/tcp-conn.h's tcp_respond_fn). */
int mmds_guest_respond(void *guest, const char *req, size_t len, char **ret, size_t *ret_len);
