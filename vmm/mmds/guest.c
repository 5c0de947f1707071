#include "guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net/stack.h"

METRICS_GROUP(mmds_metrics, "mmds", MMDS_METRICS);

int mmds_guest_new(struct mmds_store *store, const char *instance_id, const struct mmds_token_source *src,
		   struct mmds_guest **ret)
{
	struct mmds_guest *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->metrics_handle = -1;
	r = mmds_tokens_init(&g->tokens, src);
	if (r >= 0)
		r = mmds_tokens_set_instance_id(&g->tokens, instance_id);
	if (r >= 0)
		r = g->metrics_handle = metrics_register(&mmds_metrics_group, NULL, &g->m);
	if (r < 0) {
		mmds_guest_free(g);
		return r;
	}
	g->http = (struct mmds_http){ .store = store, .tokens = &g->tokens, .version = MMDS_V1,
				      .counters = &g->http_counters };
	*ret = g;
	return 0;
}

struct mmds_guest *mmds_guest_free(struct mmds_guest *g)
{
	if (!g)
		return NULL;
	metrics_unregister(g->metrics_handle);
	mmds_tokens_done(&g->tokens);
	free(g);
	return NULL;
}

void mmds_guest_configure(struct mmds_guest *g, const struct mmds_config *cfg)
{
	g->cfg = *cfg;
	g->http.version = cfg->version;
	g->http.imds_compat = cfg->imds_compat;
}

int mmds_guest_respond(void *guest, const char *req, size_t len, char **ret, size_t *ret_len)
{
	struct mmds_guest *g = guest;
	int r = mmds_http_respond(&g->http, req, len, ret, ret_len);

	/* http.c counts into its own pair; the group takes them as they come */
	metrics_local_add(g->m.rx_no_token, g->http_counters.rx_no_token);
	metrics_local_add(g->m.rx_invalid_token, g->http_counters.rx_invalid_token);
	g->http_counters = (struct mmds_http_counters){ 0 };
	return r;
}

int mmds_guest_stack(struct mmds_guest *g, const char *iface_id, uint16_t mtu, struct mmds_stack **ret)
{
	struct mmds_stack_config sc = { .ipv4 = g->cfg.ipv4_address, .mtu = mtu, .respond = mmds_guest_respond,
					.ctx = g, .m = &g->m };

	*ret = NULL;
	if (!mmds_config_iface_enabled(&g->cfg, iface_id))
		return 0;
	/* The initial sequence numbers need not be secret from the guest, only
	 * differ per boot; a failed getrandom leaves a fixed seed. */
	if (getrandom(&sc.seed, sizeof(sc.seed), GRND_NONBLOCK) != sizeof(sc.seed))
		sc.seed = 0;
	return mmds_stack_new(&sc, ret);
}
