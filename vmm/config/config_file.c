#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_source.h"
#include "cpu_config.h"
#include "cleanup.h"
#include "devices/kind.h"
#include "fd.h"
#include "machine_config.h"
#include "metrics.h"
#include "mmds.h"
#include "path_error.h"

static int config_boot_source(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return boot_source_parse(j, &cfg->boot, err, errlen);
}

/* Needs the interfaces: config_file_parse() applies it after every other key. */
static int config_mmds(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return mmds_config_parse(j, net_set_of(cfg), &cfg->mmds, err, errlen);
}

static int config_machine(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	return machine_config_parse(j, false, &cfg->machine, err, errlen);
}

/* Firecracker's CustomCpuTemplateOrPath: a string names a JSON file holding
 * the template (read whole, at most CONFIG_FILE_MAX_BYTES). */
static int config_cpu_file(const char *path, struct cpu_config **ret, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	char why[PATH_MAX + 160];
	json_error_t jerr;
	json_t *j;
	size_t len;
	int r;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open the CPU template %s", path_error(why, sizeof(why), path, -r));
		return r;
	}
	r = fd_read_all(fd, CONFIG_FILE_MAX_BYTES, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the CPU template \"%.256s\": %s", path,
			 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "the CPU template \"%.256s\" is not JSON: %s at line %d column %d", path,
			 jerr.text, jerr.line, jerr.column);
		return -EINVAL;
	}
	r = cpu_config_parse(j, ret, err, errlen);
	json_decref(j);
	return r;
}

/* A custom template replaces a static one (Firecracker's from_json sets it
 * after the machine config, so it wins whatever the key order). */
static int config_cpu(const json_t *j, struct vm_config *cfg, char *err, size_t errlen)
{
	struct cpu_config *t;
	int r = json_is_string(j) ? config_cpu_file(json_string_value(j), &t, err, errlen)
				  : cpu_config_parse(j, &t, err, errlen);

	if (r < 0)
		return r;
	free(cfg->cpu_config);
	cfg->cpu_config = t;
	cfg->machine.cpu_template = CPU_TEMPLATE_NONE;
	return 0;
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
	struct metrics_config mc;
	int r = metrics_config_from_json(j, &mc, err, errlen);

	if (r < 0)
		return r;
	metrics_config_clear(&cfg->metrics);
	cfg->metrics = mc;
	return 0;
}

/* The keys of resources that are not devices. A device kind's key comes
 * with its descriptor (devices/kind.h); the row without a key marks where
 * the kinds' keys go in the list of expected keys. nullable: null means
 * "not configured", as GET /vm/config prints an optional resource that was
 * never set, so that its output loads back. */
static const struct {
	const char *key;
	int (*apply)(const json_t *j, struct vm_config *cfg, char *err, size_t errlen);
	bool nullable;
} config_keys[] = {
	{ "boot-source", config_boot_source, true },
	{ "machine-config", config_machine, false },
	{ NULL }, /* the device kinds' keys, in the manager's order */
	{ "logger", config_logger, true },
	{ "metrics", config_metrics, true },
	{ "mmds-config", config_mmds, true },
	{ "cpu-config", config_cpu, true },
};

static bool config_is_empty(const json_t *v)
{
	return json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0);
}

/* A device kind's key: its value into the kind's slot. */
static int config_apply_kind(const struct device_kind *k, const json_t *v, struct vm_config *cfg, char *why,
			     size_t whylen)
{
	void *slot;

	if (k->unprovided) {
		if (config_is_empty(v))
			return 0;
		snprintf(why, whylen, "this build does not provide %s yet", k->unprovided);
		return -EOPNOTSUPP;
	}
	if (k->config_nullable && json_is_null(v))
		return 0;
	slot = vm_config_slot_get(cfg, k);
	if (!slot) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return k->config_parse(v, slot, why, whylen);
}

/* The row of a key that is not a device kind's, or -ENOENT. */
static int config_own_row(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
		if (config_keys[i].key && strcmp(key, config_keys[i].key) == 0)
			return (int)i;
	return -ENOENT;
}

static int config_apply_own(size_t row, const json_t *v, struct vm_config *cfg, char *why, size_t whylen)
{
	if (config_keys[row].nullable && json_is_null(v))
		return 0;
	return config_keys[row].apply(v, cfg, why, whylen);
}

/* Appends ", \"key\"" (no comma first) while buf has room. */
static void config_expected_add(char *buf, size_t size, size_t *len, const char *key)
{
	int n;

	if (*len >= size)
		return;
	n = snprintf(buf + *len, size - *len, "%s\"%s\"", *len ? ", " : "", key);
	*len += n > 0 ? (size_t)n : 0;
}

/* "\"boot-source\", \"machine-config\", \"drives\", ...": the keys ember
 * understands, the device kinds' where the table marks them. */
static void config_expected(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (config_keys[i].key) {
			config_expected_add(buf, size, &len, config_keys[i].key);
			continue;
		}
		for (size_t k = 0; k < device_kinds_count; k++)
			if (device_kinds[k]->config_key && !device_kinds[k]->unprovided)
				config_expected_add(buf, size, &len, device_kinds[k]->config_key);
	}
}

static int config_apply_key(const char *key, const json_t *v, struct vm_config *cfg, char *err, size_t errlen)
{
	const struct device_kind *k = device_kind_by_key(key);
	int row = config_own_row(key);
	char why[768], expected[512];
	int r;

	if (k || row >= 0) {
		if (k)
			r = config_apply_kind(k, v, cfg, why, sizeof(why));
		else
			r = config_apply_own((size_t)row, v, cfg, why, sizeof(why));
		if (r < 0)
			snprintf(err, errlen, "%s: %s", key, why);
		return r;
	}
	config_expected(expected, sizeof(expected));
	snprintf(err, errlen, "unknown configuration key \"%.64s\", expected one of %s", key, expected);
	return -EINVAL;
}

/* A device that must fit guest memory (the balloon's target) is checked
 * once every key is in, whatever their order in the file. */
static int config_memory_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct device_kind *k = NULL;
	char why[256];
	int r = device_kinds_memory_check(cfg, cfg->machine.mem_size_mib, &k, why, sizeof(why));

	if (r < 0)
		snprintf(err, errlen, "%s: %s", k->config_key, why);
	return r;
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
	/* One root device, whichever kinds and key order claim it. */
	if (r >= 0)
		r = device_kinds_check_roots(cfg, err, errlen);
	if (r >= 0)
		r = config_memory_check(cfg, err, errlen);
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
