/* The balloon's statistics (virtio 1.3 §5.5.6.3): the guest fills a
 * device-readable buffer of packed {le16 tag; le64 val} entries and the
 * device holds it until the next poll. Parsed by tag: unknown tags are
 * counted and ignored, tags missing from a buffer keep their last value. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define BALLOON_STAT_TAGS 16u
#define BALLOON_STAT_ENTRY 10u /* sizeof(struct virtio_balloon_stat): packed */
/* Firecracker's bound on one buffer: 256 tags. Larger buffers are held but
 * not parsed. */
#define BALLOON_STATS_MAX_LEN (256u * BALLOON_STAT_ENTRY)

struct balloon_stats {
	uint32_t present; /* bit per tag: a value was ever posted */
	uint64_t val[BALLOON_STAT_TAGS];
};

/* Applies the whole entries of buf[0, len) to s (a trailing partial entry is
 * ignored). Returns the number of entries with an unknown tag. */
unsigned balloon_stats_parse(const uint8_t *buf, size_t len, struct balloon_stats *s);
/* GET /balloon/statistics: the four target/actual fields, then each stat
 * the guest ever posted under Firecracker's name. A new reference. */
json_t *balloon_stats_to_json(const struct balloon_stats *s, uint32_t target_pages, uint32_t actual_pages);
