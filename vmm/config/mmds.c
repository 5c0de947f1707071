#include "mmds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json_field.h"

/* Firecracker's declaration order: serde lists the fields so. */
static const char *const mmds_fields[] = { "version", "network_interfaces", "ipv4_address", "imds_compat", NULL };
static const char *const mmds_versions[] = { "V1", "V2", NULL };

/* Rust's Ipv4Addr::from_str: four decimal octets, no leading zeros, nothing
 * else. inet_pton(AF_INET) accepts exactly that form. */
static int mmds_ipv4_parse(const json_t *obj, struct mmds_spec *s, char *err, size_t errlen)
{
	const char *text = NULL;
	struct in_addr a;
	int r = json_field_string(obj, "ipv4_address", false, &text, err, errlen);

	if (r <= 0)
		return r;
	if (inet_pton(AF_INET, text, &a) != 1)
		return json_field_error(err, errlen, "invalid IPv4 address syntax for field `ipv4_address`");
	s->has_ipv4 = true;
	s->ipv4_address = ntohl(a.s_addr);
	return 0;
}

static int mmds_ifaces_parse(const json_t *obj, struct mmds_spec *s, char *err, size_t errlen)
{
	const json_t *list = json_object_get(obj, "network_interfaces");
	char desc[96];
	size_t i;
	json_t *v;

	if (!list)
		return json_field_error(err, errlen, "missing field `network_interfaces`");
	if (!json_is_array(list)) {
		json_field_describe(list, desc, sizeof(desc));
		return json_field_error(err, errlen, "invalid type: %s, expected a sequence for field "
					"`network_interfaces`", desc);
	}
	json_array_foreach(list, i, v) {
		if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
			continue;
		if (json_is_string(v))
			return json_field_error(err, errlen, "invalid value: string with a NUL byte in `network_interfaces`");
		json_field_describe(v, desc, sizeof(desc));
		return json_field_error(err, errlen, "invalid type: %s, expected a string for field "
					"`network_interfaces`", desc);
	}
	s->ifaces = list;
	return 0;
}

int mmds_spec_parse(const json_t *obj, struct mmds_spec *ret, char *err, size_t errlen)
{
	struct mmds_spec s = { .version = MMDS_V1 };
	int version = MMDS_V1;
	int r;

	r = json_field_check_object(obj, "MmdsConfig", mmds_fields, err, errlen);
	if (r >= 0)
		r = json_field_enum(obj, "version", false, mmds_versions, &version, err, errlen);
	if (r >= 0)
		r = mmds_ifaces_parse(obj, &s, err, errlen);
	if (r >= 0)
		r = mmds_ipv4_parse(obj, &s, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "imds_compat", false, &s.imds_compat, err, errlen);
	if (r < 0)
		return r;
	s.version = (enum mmds_version)version;
	*ret = s;
	return 0;
}

/* Firecracker's is_link_local_valid(): 169.254.0.0/16 without its first and
 * last /24 (RFC 3927 reserves them). */
static bool mmds_ipv4_link_local(uint32_t a)
{
	uint32_t third = (a >> 8) & 0xff;

	return (a >> 16) == 0xa9fe && third != 0 && third != 255;
}

/* Adds id to c unless it is there already (Firecracker accepts repeats). */
static void mmds_iface_add(struct mmds_config *c, const char *id)
{
	if (mmds_config_iface_enabled(c, id))
		return;
	snprintf(c->iface_id[c->iface_count], sizeof(c->iface_id[0]), "%s", id);
	c->iface_count++;
}

int mmds_config_build(const struct mmds_spec *spec, const struct net_set *nets, struct mmds_config *ret,
		      char *err, size_t errlen)
{
	struct mmds_config c = {
		.enabled = true,
		.version = spec->version,
		.imds_compat = spec->imds_compat,
		.ipv4_address = spec->has_ipv4 ? spec->ipv4_address : MMDS_IPV4_DEFAULT,
	};
	size_t i;
	json_t *v;

	if (!mmds_ipv4_link_local(c.ipv4_address))
		return snprintf(err, errlen, MMDS_ERR_NOT_LINK_LOCAL), -EINVAL;
	if (json_array_size(spec->ifaces) == 0)
		return snprintf(err, errlen, MMDS_ERR_EMPTY_LIST), -EINVAL;
	/* Every id names an interface, so at most NET_IFACES_MAX distinct ones
	 * reach mmds_iface_add(): the array cannot overflow. */
	json_array_foreach(spec->ifaces, i, v) {
		if (net_set_find(nets, json_string_value(v)) < 0)
			return snprintf(err, errlen, MMDS_ERR_UNKNOWN_IFACE), -EINVAL;
		mmds_iface_add(&c, json_string_value(v));
	}
	*ret = c;
	return 0;
}

bool mmds_config_iface_enabled(const struct mmds_config *c, const char *iface_id)
{
	if (!c->enabled)
		return false;
	for (unsigned i = 0; i < c->iface_count; i++)
		if (strcmp(c->iface_id[i], iface_id) == 0)
			return true;
	return false;
}

void mmds_ipv4_format(uint32_t addr, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

json_t *mmds_config_to_json(const struct mmds_config *c, const struct net_set *nets)
{
	json_t *ifaces, *o;
	char ip[16];

	if (!c->enabled)
		return json_null();
	ifaces = json_array();
	for (unsigned i = 0; ifaces && i < nets->count; i++)
		if (mmds_config_iface_enabled(c, nets->iface[i].iface_id) &&
		    json_array_append_new(ifaces, json_string(nets->iface[i].iface_id)) < 0)
			ifaces = (json_decref(ifaces), NULL);
	if (!ifaces)
		return NULL;
	mmds_ipv4_format(c->ipv4_address, ip, sizeof(ip));
	o = json_pack("{s:s, s:o, s:s, s:b}", "version", mmds_versions[c->version], "network_interfaces", ifaces,
		      "ipv4_address", ip, "imds_compat", c->imds_compat);
	return o;
}

int mmds_config_parse(const json_t *j, const struct net_set *nets, struct mmds_config *ret, char *err,
		      size_t errlen)
{
	struct mmds_spec spec;

	if (mmds_spec_parse(j, &spec, err, errlen) < 0)
		return -EINVAL;
	return mmds_config_build(&spec, nets, ret, err, errlen);
}
