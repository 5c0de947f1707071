/* The Uffd backend's handshake as a page server reads it (doc/snapshots.md,
 * vmm/snapshot/uffd.h): a JSON array of regions
 *   [{"base_host_virt_addr":N,"size":N,"offset":N,"page_size":N,"page_size_kib":N}]
 * checked against the memory file the server serves from. Shared by
 * ember-uffd-handler and its fuzz target (test/fuzz/snapshot). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define UFFD_HS_MAX_REGIONS 16

struct uffd_hs_region {
	uint64_t base;      /* base_host_virt_addr */
	uint64_t size;      /* bytes, a multiple of page_size */
	uint64_t offset;    /* in the memory file */
	uint64_t page_size; /* 4096 or 2097152 */
};

struct uffd_handshake {
	struct uffd_hs_region region[UFFD_HS_MAX_REGIONS];
	unsigned nr_regions;
};

/* Parses text[0, len) (not NUL-terminated) into *ret, checking that it is an
 * array of 1 to UFFD_HS_MAX_REGIONS objects, each with the four fields as
 * non-negative integers (page_size_kib optional and, when present, equal to
 * page_size: Firecracker sends bytes in both; other keys are ignored, for
 * later Firecracker fields), page_size 4096 or 2097152, size > 0, address,
 * size and offset multiples of page_size, [offset, offset + size) inside a
 * file of file_size bytes, and no two regions overlapping in the address
 * space. Returns 0, -EAGAIN when the text is a valid prefix that ended early
 * (more bytes may come), or -EINVAL with the region and field at fault in
 * err ("region 1: offset ..."). */
int uffd_handshake_parse(const char *text, size_t len, uint64_t file_size, struct uffd_handshake *ret, char *err,
			 size_t errlen);
