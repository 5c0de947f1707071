/* libFuzzer: the MMDS data store. Input: "JSON\nJSON\nPATH": the first JSON
 * is PUT, the second applied as a merge patch (RFC 7396), then PATH is looked
 * up as a guest would and rendered in the IMDS text format. The size limit
 * is small so that overflow paths run often. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmds/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *next_part(const char **p, const char *end, size_t *ret_len)
{
	const char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));

	*ret_len = (size_t)((nl ? nl : end) - start);
	*p = nl ? nl + 1 : end;
	return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct mmds_store *s;
	size_t len;
	const char *part;

	if (mmds_store_new(512, &s) < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		part = next_part(&p, end, &len);
		json_t *v = json_loadb(part, len, JSON_DECODE_ANY, NULL);
		if (v) {
			if (i == 0)
				mmds_store_put(s, v);
			else
				mmds_store_patch(s, v);
			json_decref(v);
		}
	}
	part = next_part(&p, end, &len);
	char *path = strndup(part, len);
	const json_t *found;
	char *text;
	if (path && mmds_store_lookup(s, path, &found) == 0 && mmds_render_imds(found, &text) == 0)
		free(text);
	free(path);
	free(mmds_store_dump(s));
	mmds_store_free(s);
	return 0;
}
