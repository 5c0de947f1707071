/* libFuzzer: the Drive / PartialDrive / RateLimiter validators and the drive
 * set, on arbitrary JSON (what PUT/PATCH /drives and the config file's
 * `drives` key feed them). Paths in the input are opened read-only or
 * read-write and closed again; nothing is written. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/drive.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct drive_set set = { 0 };
	struct drive_update u;
	char err[1024];

	log_set_level(LOG_OFF);
	if (!j)
		return 0;
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
