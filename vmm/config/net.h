/* Network interface configuration: Firecracker's NetworkInterface and
 * PartialNetworkInterface objects, validated once here for both the config
 * file's `network-interfaces` key and PUT/PATCH /network-interfaces/{id}.
 *
 * Parsing is pure (no TAP is opened): net_config_parse() checks fields,
 * types, the MAC and the MTU with Firecracker's texts. The TAP is opened by
 * net_set_put() (through tap_open(), devices/virtio/tap.h), after the MAC
 * check and before the interface it replaces is let go, so a refused PUT
 * leaves the set as it was. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rate_limiter.h"

#define NET_IFACE_ID_MAX 64u
/* IFNAMSIZ with its NUL: a name of 16 bytes or more is refused. */
#define NET_IFNAME_SIZE 16u
#define NET_MTU_MIN 68u
#define NET_MTU_MAX 65535u
#define NET_MAC_LEN 6u
/* Interfaces share the virtio-mmio slots with drives; this caps the list
 * itself (a client cannot grow it without bound), the slot check comes at
 * InstanceStart. */
#define NET_IFACES_MAX 16u

#define NET_ERR_PREFIX "Network config error: "
#define NET_ERR_CREATE NET_ERR_PREFIX "Could not create the network device: "

struct net_config {
	char iface_id[NET_IFACE_ID_MAX + 1];
	char host_dev_name[NET_IFNAME_SIZE];
	bool has_mac;
	uint8_t guest_mac[NET_MAC_LEN];
	uint16_t mtu; /* 0: absent, VIRTIO_NET_F_MTU not offered */
	struct rate_limiter_spec rx_rate_limiter;
	struct rate_limiter_spec tx_rate_limiter;
	int tap_fd; /* -1 until net_set_put() opens the TAP; owned */
};

/* PATCH /network-interfaces/{id}: only the limiters. A limiter that is absent
 * (or null) stays as it is; within one that is given, a bucket that is absent
 * stays, and a bucket of size 0 or refill_time 0 is switched off. `{}`
 * removes the whole limiter (Kata sends it to mean "no limit"). */
struct net_update {
	char iface_id[NET_IFACE_ID_MAX + 1];
	struct rate_limiter_spec rx_rate_limiter; /* .present false: keep */
	struct rate_limiter_spec tx_rate_limiter;
};

/* Parses and validates a NetworkInterface object. On error returns -EINVAL
 * with Firecracker's text in err. *ret is written only on success; its
 * tap_fd is -1. */
int net_config_parse(const json_t *obj, struct net_config *ret, char *err, size_t errlen);
/* The same for a PartialNetworkInterface (PATCH). */
int net_update_parse(const json_t *obj, struct net_update *ret, char *err, size_t errlen);
/* Only the iface_id of a body, for the path/body id check on the api thread.
 * *ret points into obj. Returns 0 or -EINVAL with err. */
int net_body_id(const json_t *obj, const char **ret, char *err, size_t errlen);
/* "aa:bb:cc:dd:ee:ff" (either case, exactly two hex digits per byte) into
 * ret. Returns 0 or -EINVAL. */
int net_mac_parse(const char *s, uint8_t ret[NET_MAC_LEN]);
/* Lower-case text form into buf (at least 18 bytes). */
void net_mac_format(const uint8_t mac[NET_MAC_LEN], char *buf, size_t size);

/* Closes the TAP; the struct is zeroed with tap_fd -1. Accepts a cleared struct. */
void net_config_clear(struct net_config *n);
/* Applies a validated update to a limiter spec as GET /vm/config shows it. */
void net_limiter_merge(struct rate_limiter_spec *dst, const struct rate_limiter_spec *upd);
/* JSON as GET /vm/config shows it (new reference, NULL on ENOMEM). */
json_t *net_config_to_json(const struct net_config *n);

/* The interfaces of a VM in insertion order (a replaced one keeps its place,
 * as in Firecracker's builder the guest names them eth0, eth1, ...). */
struct net_set {
	struct net_config iface[NET_IFACES_MAX];
	unsigned count;
};

/* Open function for the TAP: tap_open() in ember, a stand-in in tests and
 * fuzzers. Returns the fd or -errno with the full error text in err. */
typedef int (*net_tap_open_fn)(const char *name, char *err, size_t errlen);

/* Inserts n (taking ownership: *n is cleared) or replaces the interface with
 * the same id. Checks the MAC against the other interfaces, then opens the TAP
 * with open_tap unless n->tap_fd is already open; when the replaced interface
 * uses the same TAP its fd is kept (a second attach would be refused as
 * busy). Returns 0 or -errno with err; on error the set and *n are unchanged
 * but for a TAP fd opened here, which is closed again. */
int net_set_put(struct net_set *s, struct net_config *n, net_tap_open_fn open_tap, char *err, size_t errlen);
/* Index of iface_id or -ENOENT. */
int net_set_find(const struct net_set *s, const char *iface_id);
/* Closes every TAP. */
void net_set_clear(struct net_set *s);
/* The config file's `network-interfaces` array. */
int net_set_parse(const json_t *arr, struct net_set *s, net_tap_open_fn open_tap, char *err, size_t errlen);
/* The `network-interfaces` array of GET /vm/config (new reference, NULL on ENOMEM). */
json_t *net_set_to_json(const struct net_set *s);

struct vm_config;
/* The VM's interfaces, for what names them (mmds-config): the net kind's
 * slot (devices/kind.h), or an empty set when none was configured. */
const struct net_set *net_set_of(const struct vm_config *c);
