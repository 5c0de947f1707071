/* See balloon-stats.h. */
#include "balloon-stats.h"

#include <endian.h>
#include <string.h>

#include "config/balloon.h"

/* Firecracker's BalloonStats names, in tag order (VIRTIO_BALLOON_S_*). */
static const char *const balloon_stat_names[BALLOON_STAT_TAGS] = {
	"swap_in",          "swap_out",           "major_faults", "minor_faults",  "free_memory",
	"total_memory",     "available_memory",   "disk_caches",  "hugetlb_allocations",
	"hugetlb_failures", "oom_kill",           "alloc_stall",  "async_scan",    "direct_scan",
	"async_reclaim",    "direct_reclaim",
};

unsigned balloon_stats_parse(const uint8_t *buf, size_t len, struct balloon_stats *s)
{
	unsigned unknown = 0;

	for (size_t off = 0; len >= BALLOON_STAT_ENTRY && off <= len - BALLOON_STAT_ENTRY; off += BALLOON_STAT_ENTRY) {
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, buf + off, sizeof(tag));
		memcpy(&val, buf + off + sizeof(tag), sizeof(val));
		tag = le16toh(tag);
		if (tag >= BALLOON_STAT_TAGS) {
			unknown++;
			continue;
		}
		s->val[tag] = le64toh(val);
		s->present |= 1u << tag;
	}
	return unknown;
}

json_t *balloon_stats_to_json(const struct balloon_stats *s, uint32_t target_pages, uint32_t actual_pages)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)target_pages, "actual_pages",
			      (json_int_t)actual_pages, "target_mib", (json_int_t)(target_pages / BALLOON_PAGES_PER_MIB),
			      "actual_mib", (json_int_t)(actual_pages / BALLOON_PAGES_PER_MIB));

	for (unsigned t = 0; o && t < BALLOON_STAT_TAGS; t++) {
		if (!(s->present & (1u << t)))
			continue;
		/* JSON integers are signed in jansson: a value past 2^63 is
		 * clamped rather than shown negative. */
		if (json_object_set_new(o, balloon_stat_names[t],
					json_integer(s->val[t] > INT64_MAX ? INT64_MAX : (json_int_t)s->val[t])) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
