/* libFuzzer: the NetworkInterface / PartialNetworkInterface validators and
 * the interface set, on arbitrary JSON (what PUT/PATCH /network-interfaces
 * and the config file's `network-interfaces` key feed them). No TAP is
 * opened: a stand-in gives /dev/null, or refuses names starting with 'x'.
 * Oracle: an accepted interface, printed as GET /vm/config shows it, parses
 * back to the same interface; a PATCH merge leaves a limiter GET can print. */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/net.h"
#include "log.h"

static int fake_tap_open(const char *name, char *err, size_t errlen)
{
	if (name[0] == 'x') {
		snprintf(err, errlen, NET_ERR_CREATE "Open tap device failed: refused");
		return -EBUSY;
	}
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

static void round_trip(const struct net_config *n)
{
	json_t *j = net_config_to_json(n);
	struct net_config back;
	char err[1024];

	if (!j)
		abort();
	/* GET shows limiters as given; the validator accepts them back. */
	if (net_config_parse(j, &back, err, sizeof(err)) < 0) {
		fprintf(stderr, "GET form refused: %s\n", err);
		abort();
	}
	if (strcmp(back.iface_id, n->iface_id) || strcmp(back.host_dev_name, n->host_dev_name) ||
	    back.has_mac != n->has_mac || memcmp(back.guest_mac, n->guest_mac, NET_MAC_LEN) || back.mtu != n->mtu ||
	    memcmp(&back.rx_rate_limiter, &n->rx_rate_limiter, sizeof(back.rx_rate_limiter)) ||
	    memcmp(&back.tx_rate_limiter, &n->tx_rate_limiter, sizeof(back.tx_rate_limiter)))
		abort();
	json_decref(j);
}

static void fuzz_object(const json_t *j)
{
	struct net_config n;
	struct net_update u;
	char err[1024];

	if (net_config_parse(j, &n, err, sizeof(err)) >= 0) {
		round_trip(&n);
		net_config_clear(&n);
	}
	if (net_update_parse(j, &u, err, sizeof(err)) >= 0) {
		struct rate_limiter_spec s = { 0 };

		net_limiter_merge(&s, &u.rx_rate_limiter);
		net_limiter_merge(&s, &u.tx_rate_limiter);
		json_decref(rate_limiter_spec_to_json(&s));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct net_set set = { 0 };
	char err[1024];

	log_set_level(LOG_OFF);
	if (!j)
		return 0;
	if (json_is_array(j)) {
		if (net_set_parse(j, &set, fake_tap_open, err, sizeof(err)) >= 0)
			json_decref(net_set_to_json(&set));
		for (unsigned i = 0; i < set.count; i++)
			if (set.iface[i].tap_fd < 0)
				abort(); /* every interface in the set holds its TAP */
		net_set_clear(&set);
	} else {
		fuzz_object(j);
	}
	json_decref(j);
	return 0;
}
