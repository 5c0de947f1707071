/* libFuzzer target: the Uffd handshake's JSON as ember-uffd-handler parses
 * it (tools/uffd-handler/handshake.c), against a memory file size taken from
 * the input's first 8 bytes; an accepted handshake must satisfy every check
 * the handler relies on before it copies from the file. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uffd_handshake h;
	uint64_t file_size;
	char err[512];
	int r;

	if (size < 8)
		return 0;
	memcpy(&file_size, data, 8);
	r = uffd_handshake_parse((const char *)data + 8, size - 8, file_size, &h, err, sizeof(err));
	if (r != 0) {
		if (r != -EINVAL && r != -EAGAIN)
			abort();
		if (r == -EINVAL && !memchr(err, 0, sizeof(err)))
			abort();
		return 0;
	}
	if (h.nr_regions == 0 || h.nr_regions > UFFD_HS_MAX_REGIONS)
		abort();
	for (unsigned i = 0; i < h.nr_regions; i++) {
		const struct uffd_hs_region *a = &h.region[i];

		if ((a->page_size != 4096 && a->page_size != (2u << 20)) || a->size == 0 || a->size % a->page_size ||
		    a->base % a->page_size || a->offset % a->page_size || a->offset + a->size < a->offset ||
		    a->offset + a->size > file_size || a->base + a->size < a->base)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (a->base < h.region[j].base + h.region[j].size && h.region[j].base < a->base + a->size)
				abort();
	}
	return 0;
}
