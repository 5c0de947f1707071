#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/kind.h"
#include "json_field.h"
#include "parse.h"
#include "vm_config.h"

static const char *const net_fields[] = { "iface_id", "host_dev_name", "guest_mac", "mtu", "rx_rate_limiter",
					  "tx_rate_limiter", NULL };
static const char *const partial_net_fields[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL };

int net_mac_parse(const char *s, uint8_t ret[NET_MAC_LEN])
{
	uint8_t mac[NET_MAC_LEN];

	if (strlen(s) != 3 * NET_MAC_LEN - 1)
		return -EINVAL;
	for (unsigned i = 0; i < NET_MAC_LEN; i++) {
		int hi = parse_digit(s[3 * i], 16), lo = parse_digit(s[3 * i + 1], 16);

		if (hi < 0 || lo < 0 || (i + 1 < NET_MAC_LEN && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret, mac, sizeof(mac));
	return 0;
}

void net_mac_format(const uint8_t mac[NET_MAC_LEN], char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* Firecracker checks only the path's id ("alphanumeric characters and
 * underscores"); the config file has no path, so the body's id is held to
 * the same rule here: it names the metrics group net_<id>. */
static int net_id_check(const char *id, char *err, size_t errlen)
{
	size_t n = strlen(id);

	if (n == 0)
		return snprintf(err, errlen, "The ID cannot be empty."), -EINVAL;
	if (n > NET_IFACE_ID_MAX)
		return snprintf(err, errlen, "The interface ID is longer than %u characters.", NET_IFACE_ID_MAX),
		       -EINVAL;
	if (strspn(id, "_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != n) {
		snprintf(err, errlen, "API Resource IDs can only contain alphanumeric characters and underscores.");
		return -EINVAL;
	}
	return 0;
}

/* An optional RateLimiter field; null is absent. */
static int net_limiter_field(const json_t *obj, const char *key, struct rate_limiter_spec *ret, char *err,
			     size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	return rate_limiter_spec_parse(v, ret, err, errlen);
}

static int net_mac_field(const json_t *obj, struct net_config *n, char *err, size_t errlen)
{
	const char *mac = NULL;
	int r = json_field_string(obj, "guest_mac", false, &mac, err, errlen);

	if (r <= 0)
		return r;
	if (net_mac_parse(mac, n->guest_mac) < 0)
		return json_field_error(err, errlen, "The provided MAC address is not valid");
	n->has_mac = true;
	return 0;
}

static int net_mtu_field(const json_t *obj, struct net_config *n, char *err, size_t errlen)
{
	uint64_t mtu = 0;
	int r = json_field_uint(obj, "mtu", false, NET_MTU_MAX, "u16", &mtu, err, errlen);

	if (r <= 0)
		return r;
	if (mtu < NET_MTU_MIN) {
		snprintf(err, errlen, NET_ERR_CREATE "MTU %u is out of range [%u, %u]", (unsigned)mtu, NET_MTU_MIN,
			 NET_MTU_MAX);
		return -EINVAL;
	}
	n->mtu = (uint16_t)mtu;
	return 0;
}

/* Firecracker's tap.rs refuses a name that does not fit IFNAMSIZ; the text
 * here also names it. */
static int net_ifname_check(const char *name, char *err, size_t errlen)
{
	if (strlen(name) < NET_IFNAME_SIZE && *name)
		return 0;
	snprintf(err, errlen, NET_ERR_CREATE "Open tap device failed: Invalid interface name `%.64s`: %s", name,
		 *name ? "16 bytes or more" : "empty");
	return -EINVAL;
}

int net_config_parse(const json_t *obj, struct net_config *ret, char *err, size_t errlen)
{
	struct net_config n = { .tap_fd = -1 };
	const char *id = NULL, *dev = NULL;
	int r;

	r = json_field_check_object(obj, "NetworkInterface", net_fields, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "iface_id", true, &id, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "host_dev_name", true, &dev, err, errlen);
	if (r >= 0)
		r = net_mac_field(obj, &n, err, errlen);
	if (r >= 0)
		r = net_mtu_field(obj, &n, err, errlen);
	if (r >= 0)
		r = net_limiter_field(obj, "rx_rate_limiter", &n.rx_rate_limiter, err, errlen);
	if (r >= 0)
		r = net_limiter_field(obj, "tx_rate_limiter", &n.tx_rate_limiter, err, errlen);
	if (r >= 0)
		r = net_id_check(id, err, errlen);
	if (r >= 0)
		r = net_ifname_check(dev, err, errlen);
	if (r < 0)
		return r;
	snprintf(n.iface_id, sizeof(n.iface_id), "%s", id);
	snprintf(n.host_dev_name, sizeof(n.host_dev_name), "%s", dev);
	*ret = n;
	return 0;
}

int net_update_parse(const json_t *obj, struct net_update *ret, char *err, size_t errlen)
{
	struct net_update u = { 0 };
	const char *id = NULL;
	int r;

	r = json_field_check_object(obj, "PartialNetworkInterface", partial_net_fields, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "iface_id", true, &id, err, errlen);
	if (r >= 0)
		r = net_limiter_field(obj, "rx_rate_limiter", &u.rx_rate_limiter, err, errlen);
	if (r >= 0)
		r = net_limiter_field(obj, "tx_rate_limiter", &u.tx_rate_limiter, err, errlen);
	if (r >= 0)
		r = net_id_check(id, err, errlen);
	if (r < 0)
		return r;
	snprintf(u.iface_id, sizeof(u.iface_id), "%s", id);
	*ret = u;
	return 0;
}

int net_body_id(const json_t *obj, const char **ret, char *err, size_t errlen)
{
	const char *id = NULL;
	int r;

	if (!json_is_object(obj))
		return json_field_check_object(obj, "NetworkInterface", net_fields, err, errlen);
	r = json_field_string(obj, "iface_id", true, &id, err, errlen);
	if (r < 0)
		return r;
	*ret = id;
	return 0;
}

void net_config_clear(struct net_config *n)
{
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	*n = (struct net_config){ .tap_fd = -1 };
}

void net_limiter_merge(struct rate_limiter_spec *dst, const struct rate_limiter_spec *upd)
{
	bool any = false;

	if (!upd->present)
		return;
	for (unsigned i = 0; i < RATE_LIMITER_KINDS; i++)
		any |= upd->bucket_present[i];
	if (any)
		rate_limiter_spec_patch(dst, upd);
	else
		*dst = (struct rate_limiter_spec){ 0 }; /* `{}`: no limit */
}

json_t *net_config_to_json(const struct net_config *n)
{
	char mac[3 * NET_MAC_LEN];

	net_mac_format(n->guest_mac, mac, sizeof(mac));
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "iface_id", n->iface_id, "host_dev_name",
			 n->host_dev_name, "guest_mac", n->has_mac ? json_string(mac) : json_null(), "mtu",
			 n->mtu ? json_integer(n->mtu) : json_null(), "rx_rate_limiter",
			 rate_limiter_spec_to_json(&n->rx_rate_limiter), "tx_rate_limiter",
			 rate_limiter_spec_to_json(&n->tx_rate_limiter));
}

int net_set_find(const struct net_set *s, const char *iface_id)
{
	for (unsigned i = 0; i < s->count; i++)
		if (strcmp(s->iface[i].iface_id, iface_id) == 0)
			return (int)i;
	return -ENOENT;
}

static int net_set_check_mac(const struct net_set *s, const struct net_config *n, char *err, size_t errlen)
{
	char mac[3 * NET_MAC_LEN];

	if (!n->has_mac)
		return 0;
	for (unsigned i = 0; i < s->count; i++)
		if (s->iface[i].has_mac && strcmp(s->iface[i].iface_id, n->iface_id) != 0 &&
		    memcmp(s->iface[i].guest_mac, n->guest_mac, NET_MAC_LEN) == 0) {
			net_mac_format(n->guest_mac, mac, sizeof(mac));
			snprintf(err, errlen, NET_ERR_PREFIX "The MAC address is already in use: %s", mac);
			return -EEXIST;
		}
	return 0;
}

/* The TAP for n: kept from the interface it replaces when the name is the
 * same, else opened. Returns 0 (n->tap_fd set) or -errno with err. */
static int net_set_take_tap(struct net_set *s, int old, struct net_config *n, net_tap_open_fn open_tap, char *err,
			    size_t errlen)
{
	int fd;

	if (n->tap_fd >= 0)
		return 0;
	if (old >= 0 && strcmp(s->iface[old].host_dev_name, n->host_dev_name) == 0 && s->iface[old].tap_fd >= 0) {
		n->tap_fd = s->iface[old].tap_fd;
		s->iface[old].tap_fd = -1;
		return 0;
	}
	fd = open_tap(n->host_dev_name, err, errlen);
	if (fd < 0)
		return fd;
	n->tap_fd = fd;
	return 0;
}

int net_set_put(struct net_set *s, struct net_config *n, net_tap_open_fn open_tap, char *err, size_t errlen)
{
	int old = net_set_find(s, n->iface_id), r;

	r = net_set_check_mac(s, n, err, errlen);
	if (r < 0)
		return r;
	if (old < 0 && s->count == NET_IFACES_MAX) {
		snprintf(err, errlen, NET_ERR_CREATE "this build allows at most %u network interfaces.", NET_IFACES_MAX);
		return -ENOSPC;
	}
	r = net_set_take_tap(s, old, n, open_tap, err, errlen);
	if (r < 0)
		return r;
	if (old >= 0) {
		net_config_clear(&s->iface[old]);
		s->iface[old] = *n;
	} else {
		s->iface[s->count++] = *n;
	}
	*n = (struct net_config){ .tap_fd = -1 };
	return 0;
}

void net_set_clear(struct net_set *s)
{
	for (unsigned i = 0; i < s->count; i++)
		net_config_clear(&s->iface[i]);
	s->count = 0;
}

struct net_set_adding {
	struct net_set *set;
	net_tap_open_fn open_tap;
};

static int net_set_add(const json_t *v, void *ctx, char *err, size_t errlen)
{
	const struct net_set_adding *to = ctx;
	struct net_config n;
	int r = net_config_parse(v, &n, err, errlen);

	if (r >= 0) {
		r = net_set_put(to->set, &n, to->open_tap, err, errlen);
		net_config_clear(&n);
	}
	return r;
}

int net_set_parse(const json_t *arr, struct net_set *s, net_tap_open_fn open_tap, char *err, size_t errlen)
{
	struct net_set_adding to = { .set = s, .open_tap = open_tap };

	return json_field_sequence(arr, net_set_add, &to, err, errlen);
}

static json_t *net_item_to_json(const void *n)
{
	return net_config_to_json(n);
}

json_t *net_set_to_json(const struct net_set *s)
{
	return json_array_of(s->iface, s->count, sizeof(s->iface[0]), net_item_to_json);
}

const struct net_set *net_set_of(const struct vm_config *c)
{
	static const struct net_set none;
	const struct net_set *s = vm_config_slot(c, device_kind_by_key("network-interfaces"));

	return s ? s : &none;
}
