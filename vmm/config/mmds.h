/* MMDS configuration: Firecracker's MmdsConfig (`PUT /mmds/config` and the
 * config file's `mmds-config` key), validated once here.
 *
 * Two steps, as in Firecracker: mmds_spec_parse() is the deserialisation
 * (unknown fields, types, `version` V1|V2, `ipv4_address` syntax) and needs
 * nothing but the body; mmds_config_build() then checks the spec against the
 * VM's interfaces in Firecracker's order: the address is link local, the list
 * is not empty, every id names an existing interface.
 *
 * The result is what the guest-side MMDS (vmm/net/, the virtio-net detour)
 * reads: which interfaces answer, at which address, in which version. A
 * struct mmds_config that is not `enabled` means no interface answers; every
 * frame then goes to the TAP. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

enum mmds_version {
	MMDS_V1, /* deprecated in Firecracker, and its default */
	MMDS_V2, /* session tokens */
};

/* 169.254.169.254, host byte order. */
#define MMDS_IPV4_DEFAULT 0xa9fea9feu

#define MMDS_ERR_PREFIX "MMMDS config error: " /* sic: Firecracker's API text */
#define MMDS_ERR_NOT_LINK_LOCAL "The MMDS IPv4 address is not link local."
#define MMDS_ERR_EMPTY_LIST "The list of network interface IDs that allow forwarding MMDS requests is empty."
#define MMDS_ERR_UNKNOWN_IFACE                                                                                   \
	"The list of network interface IDs provided contains at least one ID that does not correspond to any "  \
	"existing network interface."

/* A request body deserialised, not yet checked against the interfaces.
 * ifaces is borrowed from the parsed body (valid while it lives). */
struct mmds_spec {
	enum mmds_version version;
	bool has_ipv4;
	uint32_t ipv4_address; /* host byte order, when has_ipv4 */
	bool imds_compat;
	const json_t *ifaces;  /* a JSON array of strings */
};

struct mmds_config {
	bool enabled;             /* false: MMDS was never configured */
	enum mmds_version version;
	bool imds_compat;         /* IMDS text answers whatever Accept says */
	uint32_t ipv4_address;    /* host byte order */
	unsigned iface_count;     /* distinct ids, each an interface of the VM */
	char iface_id[NET_IFACES_MAX][NET_IFACE_ID_MAX + 1];
};

/* Deserialises a MmdsConfig object with serde's texts (JSON_DESERIALIZE_PREFIX).
 * Returns 0 or -EINVAL with the text in err; *ret is written only on success. */
int mmds_spec_parse(const json_t *obj, struct mmds_spec *ret, char *err, size_t errlen);
/* Checks spec against the interfaces in Firecracker's order and builds the
 * config. Returns 0 or -EINVAL with Firecracker's text (without prefix) in
 * err; *ret is written only on success, so a refused spec changes nothing. */
int mmds_config_build(const struct mmds_spec *spec, const struct net_set *nets, struct mmds_config *ret,
		      char *err, size_t errlen);
/* True when MMDS is configured and iface_id is one of its interfaces. */
bool mmds_config_iface_enabled(const struct mmds_config *c, const char *iface_id);
/* The `mmds-config` object of GET /vm/config, interfaces in the order of the
 * VM's interfaces (as Firecracker lists them), or JSON null when MMDS is not
 * configured. New reference; NULL on ENOMEM. */
json_t *mmds_config_to_json(const struct mmds_config *c, const struct net_set *nets);
/* The config file's `mmds-config` key: parse and build against nets (which
 * must hold the file's interfaces already). */
int mmds_config_parse(const json_t *j, const struct net_set *nets, struct mmds_config *ret, char *err,
		      size_t errlen);
/* "a.b.c.d" into buf (at least 16 bytes). */
void mmds_ipv4_format(uint32_t addr, char *buf, size_t size);
