#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_source.h"
#include "cleanup.h"
#include "devices/virtio/tap.h"
#include "drive.h"
#include "fd.h"
#include "machine_config.h"
#include "metrics.h"
#include "mmds.h"
#include "path_error.h"
#include "vsock.h"

static int config_boot_source(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return boot_source_parse(j, &cfg->boot, err, errlen);
}

static int config_drives(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return drive_set_parse(j, &cfg->drives, err, errlen);
}

static int config_nets(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return net_set_parse(j, &cfg->nets, tap_open, err, errlen);
}

static int config_vsock(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return vsock_slot_parse(j, &cfg->vsock, err, errlen);
}

/* Needs the interfaces: config_file_parse() applies it after every other key. */
static int config_mmds(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return mmds_config_parse(j, &cfg->nets, &cfg->mmds, err, errlen);
}

static int config_machine(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return machine_config_parse(j, false, &cfg->machine, err, errlen);
}

static int config_logger(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	struct logger_config lc;
	int r = logger_config_from_json(j, &lc, err, errlen);

	if (r < 0)
		return r;
	logger_config_clear(&cfg->logger);
	cfg->logger = lc;
	cfg->has_logger = true;
	return 0;
}

static int config_metrics(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	char *path;
	int r = metrics_config_from_json(j, &path, err, errlen);

	if (r < 0)
		return r;
	free(cfg->metrics_path);
	cfg->metrics_path = path;
	return 0;
}

/* Keys ember understands. A capability lands by adding its row here.
 * nullable: null means "not configured", as GET /vm/config prints an
 * optional resource that was never set, so that its output loads back. */
static const struct {
	const char *key;
	int (*apply)(const json_t *j, struct vm_config *cfg, char *err, size_t errlen);
	bool nullable;
} config_keys[] = {
	{ "boot-source", config_boot_source, true },
	{ "machine-config", config_machine, false },
	{ "drives", config_drives, false },
	{ "network-interfaces", config_nets, false },
	{ "vsock", config_vsock, true },
	{ "logger", config_logger, true },
	{ "metrics", config_metrics, true },
	{ "mmds-config", config_mmds, true },
};

/* Firecracker keys whose capability this build does not have yet: one row
 * each, removed when the capability lands. null or [] (what GET /vm/config
 * prints for an absent resource) is accepted as "none". */
static const struct {
	const char *key;
	const char *what;
} config_absent[] = {
	{ "balloon", "a balloon device" },
	{ "entropy", "an entropy device" },
	{ "pmem", "pmem devices" },
	{ "memory-hotplug", "memory hotplug" },
	{ "cpu-config", "custom CPU templates" },
	{ "serial", "serial output configuration" },
};

static bool config_is_empty(const json_t *v)
{
	return json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0);
}

static int config_apply_key(const char *key, const json_t *v, struct vm_config *cfg, char *err, size_t errlen)
{
	char why[768];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (strcmp(key, config_keys[i].key) != 0)
			continue;
		if (config_keys[i].nullable && json_is_null(v))
			return 0;
		r = config_keys[i].apply(v, cfg, why, sizeof(why));
		if (r < 0)
			snprintf(err, errlen, "%s: %s", key, why);
		return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(config_absent); i++) {
		if (strcmp(key, config_absent[i].key) != 0)
			continue;
		if (config_is_empty(v))
			return 0;
		snprintf(err, errlen, "%s: this build does not provide %s yet", key, config_absent[i].what);
		return -EOPNOTSUPP;
	}
	snprintf(err, errlen, "unknown configuration key \"%.64s\", expected one of \"boot-source\", "
		 "\"machine-config\", \"drives\", \"network-interfaces\", \"vsock\", \"logger\", \"metrics\", \"mmds-config\"", key);
	return -EINVAL;
}

int config_file_parse(const char *buf, size_t len, struct vm_config *cfg, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *v;
	int r = 0;

	if (!root) {
		snprintf(err, errlen, "Invalid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "Invalid JSON: the configuration must be an object");
		r = -EINVAL;
	}
	/* machine-config first: a bad machine config is then reported before
	 * files are opened. mmds-config last: it names interfaces, which must
	 * exist by then wherever the file puts the key (Firecracker's order). */
	v = json_object_get(root, "machine-config");
	if (r >= 0 && v)
		r = config_apply_key("machine-config", v, cfg, err, errlen);
	if (r >= 0) {
		json_object_foreach(root, key, v) {
			if (strcmp(key, "machine-config") == 0 || strcmp(key, "mmds-config") == 0)
				continue;
			r = config_apply_key(key, v, cfg, err, errlen);
			if (r < 0)
				break;
		}
	}
	v = json_object_get(root, "mmds-config");
	if (r >= 0 && v)
		r = config_apply_key("mmds-config", v, cfg, err, errlen);
	json_decref(root);
	return r;
}

int config_file_load(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	if (fd < 0) {
		r = -errno;
		char why[PATH_MAX + 160];

		snprintf(err, errlen, "cannot open the configuration file %s", path_error(why, sizeof(why), path, -r));
		return r;
	}
	r = fd_read_all(fd, CONFIG_FILE_MAX_BYTES, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the configuration file \"%s\": %s", path,
			 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	return config_file_parse(buf, len, cfg, err, errlen);
}
