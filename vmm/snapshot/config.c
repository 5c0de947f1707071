/* See config.h. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config/boot_source.h"
#include "config/machine_config.h"
#include "config/mmds.h"
#include "config/net.h"
#include "config/vm_config.h"
#include "devices/kind.h"
#include "overrides.h"

static int config_set(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

char *snap_config_dump(const struct vm_config *cfg)
{
	json_t *o = json_object();
	char *text = NULL;
	int r = o ? 0 : -1;

	if (r == 0)
		r = config_set(o, "machine-config", machine_config_to_json(&cfg->machine));
	if (r == 0)
		r = config_set(o, "boot-source", boot_source_to_json(&cfg->boot));
	if (r == 0 && cfg->mmds.enabled)
		r = config_set(o, "mmds-config", mmds_config_to_json(&cfg->mmds, net_set_of(cfg)));
	for (size_t i = 0; r == 0 && i < device_kinds_count; i++) {
		const struct device_kind *k = device_kinds[i];
		const void *slot = vm_config_slot(cfg, k);

		if (k->config_key && k->config_to_json && !k->unprovided && slot)
			r = config_set(o, k->config_key, k->config_to_json(slot));
	}
	if (r == 0)
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

static int config_string(const json_t *o, const char *key, bool required, char **ret, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
	} else if (json_is_string(v)) {
		*ret = strdup(json_string_value(v));
		return *ret ? 0 : -ENOMEM;
	}
	snprintf(err, errlen, "boot-source: %s must be a string", key);
	return -EINVAL;
}

/* The boot source as it was given, without opening its files: GET
 * /vm/config shows it, nothing reads the kernel again. */
static int config_boot_source(const json_t *v, struct vm_config *cfg, char *err, size_t errlen)
{
	struct boot_source *bs = &cfg->boot;
	int r;

	if (!json_is_object(v) || json_object_size(v) > 3) {
		snprintf(err, errlen, "boot-source: an object of at most 3 keys expected");
		return -EINVAL;
	}
	boot_source_clear(bs);
	r = config_string(v, "kernel_image_path", true, &bs->kernel_image_path, err, errlen);
	if (r >= 0)
		r = config_string(v, "initrd_path", false, &bs->initrd_path, err, errlen);
	if (r >= 0)
		r = config_string(v, "boot_args", false, &bs->boot_args, err, errlen);
	bs->configured = r >= 0;
	return r;
}

static int config_key(const char *key, const json_t *v, struct vm_config *cfg, char *err, size_t errlen)
{
	const struct device_kind *k;
	void *slot;

	if (!strcmp(key, "machine-config"))
		return machine_config_parse(v, false, &cfg->machine, err, errlen);
	if (!strcmp(key, "boot-source"))
		return config_boot_source(v, cfg, err, errlen);
	if (!strcmp(key, "mmds-config"))
		return mmds_config_parse(v, net_set_of(cfg), &cfg->mmds, err, errlen);
	k = device_kind_by_key(key);
	if (!k || k->unprovided || !k->config_parse) {
		snprintf(err, errlen, "unknown key \"%.64s\"", key);
		return -EINVAL;
	}
	slot = vm_config_slot_get(cfg, k);
	if (!slot)
		return -ENOMEM;
	return k->config_parse(v, slot, err, errlen);
}

/* The interface iface_id of the saved network-interfaces array, or NULL. */
static json_t *config_iface(json_t *o, const char *iface_id)
{
	json_t *ifaces = json_object_get(o, "network-interfaces"), *i;
	size_t k;

	json_array_foreach(ifaces, k, i) {
		const char *id = json_string_value(json_object_get(i, "iface_id"));

		if (id && !strcmp(id, iface_id))
			return i;
	}
	return NULL;
}

/* The load's overrides, in the saved JSON before anything is validated or
 * opened: the TAPs and the socket are the overrides' from the start. */
static int config_override(json_t *o, const struct snap_overrides *ov, char *err, size_t errlen)
{
	json_t *v;

	for (unsigned i = 0; i < ov->net_count; i++) {
		json_t *iface = config_iface(o, ov->net[i].iface_id);

		if (!iface) {
			snprintf(err, errlen, "Unknown Network Device.");
			return -ENODEV;
		}
		if (json_object_set_new(iface, "host_dev_name", json_string(ov->net[i].host_dev_name)) < 0)
			return -ENOMEM;
	}
	if (ov->has_vsock) {
		v = json_object_get(o, "vsock");
		if (!json_is_object(v)) {
			snprintf(err, errlen, "Unknown Vsock Device.");
			return -ENODEV;
		}
		if (json_object_set_new(v, "uds_path", json_string(ov->vsock_uds_path)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int snap_config_load(const uint8_t *text, size_t len, const struct snap_overrides *ov, struct vm_config *cfg,
		     char *err, size_t errlen)
{
	char why[768];
	json_error_t jerr;
	json_t *o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *key, *bad;
	json_t *v;
	int r = 0;

	if (!o || !json_is_object(o)) {
		snprintf(err, errlen, "config section: not a JSON object: %s", o ? "another type" : jerr.text);
		json_decref(o);
		return -EINVAL;
	}
	/* machine-config first: the others are checked against it (and
	 * mmds-config last, below). */
	if (!json_object_get(o, "machine-config") || !json_object_get(o, "boot-source")) {
		snprintf(err, errlen, "config section: machine-config or boot-source missing");
		json_decref(o);
		return -EINVAL;
	}
	if (ov) {
		r = config_override(o, ov, err, errlen);
		if (r < 0) {
			json_decref(o);
			return r;
		}
	}
	bad = "machine-config";
	r = config_key(bad, json_object_get(o, bad), cfg, why, sizeof(why));
	json_object_foreach(o, key, v) {
		if (r < 0)
			break;
		bad = key;
		if (strcmp(key, "machine-config") != 0 && strcmp(key, "mmds-config") != 0)
			r = config_key(key, v, cfg, why, sizeof(why));
	}
	/* mmds-config last: it names network interfaces, which must exist. */
	if (r >= 0 && json_object_get(o, "mmds-config")) {
		bad = "mmds-config";
		r = config_key(bad, json_object_get(o, bad), cfg, why, sizeof(why));
	}
	if (r < 0)
		snprintf(err, errlen, "config section: %s: %s", bad, why);
	json_decref(o);
	return r;
}
