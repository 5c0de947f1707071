/* See info.h. The file goes through ember's own parser (vmm/snapshot/
 * format.h): what ember-snapshot accepts, ember accepts, and the other way
 * round. */
#include "info.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "snapshot/devices.h"
#include "snapshot/format.h"

static void info_key(FILE *out, const json_t *config, const char *key)
{
	char *text = json_dumps(json_object_get(config, key), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	fprintf(out, "%s: %s\n", key, text ? text : "null");
	free(text);
}

/* The drive's path_on_host, from the configuration, for a block device's id. */
static const char *info_drive_path(const json_t *config, const char *id, size_t id_len)
{
	const json_t *drives = json_object_get(config, "drives"), *d;
	size_t i;

	json_array_foreach(drives, i, d) {
		const char *did = json_string_value(json_object_get(d, "drive_id"));

		if (did && strlen(did) == id_len && !memcmp(did, id, id_len))
			return json_string_value(json_object_get(d, "path_on_host"));
	}
	return NULL;
}

static void info_regions(FILE *out, const struct snap_file *f)
{
	const struct snap_section *s = snap_find(f, SNAP_SEC_MEMORY, 0);
	uint32_t n = 0;

	if (s && s->len >= 4)
		memcpy(&n, s->data, 4);
	fprintf(out, "regions:\n");
	for (uint32_t i = 0; s && i < n && 4 + (i + 1) * 24 <= s->len; i++) {
		uint64_t v[3];

		memcpy(v, s->data + 4 + i * 24, sizeof(v));
		fprintf(out, "  %" PRIu32 ": guest 0x%" PRIx64 ", %" PRIu64 " bytes, file offset %" PRIu64 "\n", i, v[0],
			v[1], v[2]);
	}
}

static void info_devices(FILE *out, const struct snap_file *f, const json_t *config)
{
	fprintf(out, "devices:\n");
	for (unsigned i = 0; i < f->n; i++) {
		const struct snap_section *s = &f->sec[i];
		struct snap_device_head h;
		const char *path;

		if (s->type != SNAP_SEC_DEVICE)
			continue;
		if (snap_device_head_parse(s->data, s->len, &h) < 0) {
			fprintf(out, "  %" PRIu32 ": (malformed device section)\n", s->instance);
			continue;
		}
		fprintf(out, "  %" PRIu32 ": %.*s", s->instance, (int)h.name_len, h.name);
		if (h.id_len)
			fprintf(out, " (id: %.*s)", (int)h.id_len, h.id);
		path = h.id_len && h.name_len == 5 && !memcmp(h.name, "block", 5)
			       ? info_drive_path(config, h.id, h.id_len) : NULL;
		if (path)
			fprintf(out, " %s", path);
		fprintf(out, ", %zu bytes of state\n", h.state_len);
	}
}

int snap_tool_info(const uint8_t *buf, size_t len, FILE *out, char *err, size_t errlen)
{
	struct snap_file f;
	const struct snap_section *c;
	json_t *config = NULL;
	int r = snap_parse(buf, len, &f, err, errlen);

	if (r < 0)
		return r;
	c = snap_find(&f, SNAP_SEC_CONFIG, 0);
	if (c)
		config = json_loadb((const char *)c->data, c->len, JSON_REJECT_DUPLICATES, NULL);
	fprintf(out, "version: %u.%u.%u\n", f.version.major, f.version.minor, f.version.patch);
	info_key(out, config, "machine-config");
	info_key(out, config, "boot-source");
	info_key(out, config, "mmds-config");
	info_regions(out, &f);
	info_devices(out, &f, config);
	fprintf(out, "sections: %u\n", f.n);
	json_decref(config);
	snap_file_free(&f);
	return 0;
}

int snap_tool_verify(const uint8_t *buf, size_t len, FILE *out, char *err, size_t errlen)
{
	struct snap_file f;
	int r = snap_parse(buf, len, &f, err, errlen);

	if (r < 0)
		return r;
	fprintf(out, "ok: version %u.%u.%u, %u sections, %zu bytes, CRC-64 0x%016" PRIx64 "\n", f.version.major,
		f.version.minor, f.version.patch, f.n, len, snap_crc64(buf, len - SNAP_CRC_SIZE));
	snap_file_free(&f);
	return 0;
}
