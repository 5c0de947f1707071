/* libFuzzer: the Drive / PartialDrive / RateLimiter validators and the drive
 * set, on arbitrary JSON (what PUT/PATCH /drives and the config file's
 * `drives` key feed them). The validator opens path_on_host, so every such
 * string is first replaced by one of a few harmless paths (an image, a
 * directory, a character device, a missing file): the fuzzer never opens a
 * path it invented (opening some device nodes has effects). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

#include "config/drive.h"
#include "log.h"

static const char *const safe_paths[] = { "/dev/null", "/tmp", "/nonexistent/ember-fuzz.img", "" };
static char image[64];

static void remove_image(void)
{
	unlink(image);
}

static void make_image(void)
{
	int fd;

	snprintf(image, sizeof(image), "/tmp/ember-fuzz-drive-XXXXXX");
	fd = mkstemp(image);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		abort();
	close(fd);
	atexit(remove_image);
}

/* Replaces every string under a "path_on_host" key, at any depth. */
static void make_paths_safe(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			make_paths_safe(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "path_on_host") == 0 && json_is_string(v)) {
			size_t pick = json_string_length(v) % (ARRAY_SIZE(safe_paths) + 1);

			json_string_set(v, pick < ARRAY_SIZE(safe_paths) ? safe_paths[pick] : image);
		} else {
			make_paths_safe(v);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct drive_set set = { 0 };
	struct drive_update u;
	char err[1024];

	log_set_level(LOG_OFF);
	if (!image[0])
		make_image();
	if (!j)
		return 0;
	make_paths_safe(j);
	if (json_is_array(j)) {
		if (drive_set_parse(j, &set, err, sizeof(err)) >= 0) {
			char root[256];
			json_t *out = drive_set_to_json(&set);

			drive_set_root_arg(&set, root, sizeof(root));
			json_decref(out);
		}
		drive_set_clear(&set);
	} else if (drive_update_parse(j, size & 1, &u, err, sizeof(err)) >= 0) {
		drive_update_clear(&u);
	}
	json_decref(j);
	return 0;
}
