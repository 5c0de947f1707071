/* libFuzzer: a statistics buffer (packed {le16 tag; le64 val} entries)
 * through balloon_stats_parse() and the GET /balloon/statistics JSON. Traps
 * unless unknown tags are counted exactly, known ones land under their tag,
 * and the JSON holds the four sizes plus one field per tag ever posted. */
#include <endian.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/balloon-stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct balloon_stats s = { 0 }, before;
	unsigned unknown = 0, got;
	json_t *j;

	if (size > BALLOON_STATS_MAX_LEN)
		size = BALLOON_STATS_MAX_LEN;
	/* a first pass from a non-empty state: missing tags keep their values */
	s.present = 1u << 3;
	s.val[3] = 77;
	before = s;
	for (size_t off = 0; off + BALLOON_STAT_ENTRY <= size; off += BALLOON_STAT_ENTRY) {
		uint16_t tag;

		memcpy(&tag, data + off, 2);
		unknown += le16toh(tag) >= BALLOON_STAT_TAGS;
	}
	got = balloon_stats_parse(data, size, &s);
	if (got != unknown || (s.present & before.present) != before.present || s.present >> BALLOON_STAT_TAGS)
		abort();
	for (size_t off = 0; off + BALLOON_STAT_ENTRY <= size; off += BALLOON_STAT_ENTRY) {
		uint16_t tag;

		memcpy(&tag, data + off, 2);
		tag = le16toh(tag);
		if (tag == 3 && !(s.present & (1u << 3)))
			abort();
	}
	j = balloon_stats_to_json(&s, (uint32_t)size, (uint32_t)size / 2);
	if (!j || json_object_size(j) != 4u + (unsigned)__builtin_popcount(s.present))
		abort();
	json_decref(j);
	return 0;
}
