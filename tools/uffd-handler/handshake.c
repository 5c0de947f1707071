/* The handshake parser: see handshake.h. */
#include "handshake.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HS_SMALL_PAGE 4096ull
#define HS_HUGE_PAGE (2ull << 20)

static int hs_u64(const json_t *o, unsigned i, const char *key, bool required, uint64_t *ret, char *err,
		  size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v) {
		if (!required)
			return 1;
		snprintf(err, errlen, "region %u: the field %s is missing", i, key);
		return -EINVAL;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(err, errlen, "region %u: the field %s is not a non-negative integer", i, key);
		return -EINVAL;
	}
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int hs_region(const json_t *o, unsigned i, uint64_t file_size, struct uffd_hs_region *r, char *err,
		     size_t errlen)
{
	uint64_t kib = 0, end;
	int k;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "region %u is not an object", i);
		return -EINVAL;
	}
	if (hs_u64(o, i, "base_host_virt_addr", true, &r->base, err, errlen) < 0 ||
	    hs_u64(o, i, "size", true, &r->size, err, errlen) < 0 ||
	    hs_u64(o, i, "offset", true, &r->offset, err, errlen) < 0 ||
	    hs_u64(o, i, "page_size", true, &r->page_size, err, errlen) < 0 ||
	    (k = hs_u64(o, i, "page_size_kib", false, &kib, err, errlen)) < 0)
		return -EINVAL;
	if (r->page_size != HS_SMALL_PAGE && r->page_size != HS_HUGE_PAGE) {
		snprintf(err, errlen, "region %u: page_size %" PRIu64 " is neither 4096 nor 2097152", i, r->page_size);
		return -EINVAL;
	}
	if (k == 0 && kib != r->page_size) {
		snprintf(err, errlen, "region %u: page_size_kib %" PRIu64 " differs from page_size %" PRIu64
			 " (both are bytes)", i, kib, r->page_size);
		return -EINVAL;
	}
	if (r->size == 0 || r->size % r->page_size) {
		snprintf(err, errlen, "region %u: size %" PRIu64 " is not a positive multiple of page_size", i,
			 r->size);
		return -EINVAL;
	}
	if (r->base % r->page_size || __builtin_add_overflow(r->base, r->size, &end)) {
		snprintf(err, errlen, "region %u: base_host_virt_addr 0x%" PRIx64 " is not page-aligned or the "
			 "region wraps", i, r->base);
		return -EINVAL;
	}
	if (r->offset % r->page_size || __builtin_add_overflow(r->offset, r->size, &end) || end > file_size) {
		snprintf(err, errlen, "region %u: offset %" PRIu64 " + size %" PRIu64 " is not page-aligned or "
			 "does not lie inside the memory file (%" PRIu64 " bytes)", i, r->offset, r->size, file_size);
		return -EINVAL;
	}
	return 0;
}

static int hs_overlap(const struct uffd_handshake *h, char *err, size_t errlen)
{
	for (unsigned i = 0; i < h->nr_regions; i++)
		for (unsigned j = i + 1; j < h->nr_regions; j++) {
			const struct uffd_hs_region *a = &h->region[i], *b = &h->region[j];

			if (a->base < b->base + b->size && b->base < a->base + a->size) {
				snprintf(err, errlen, "region %u: base_host_virt_addr range overlaps region %u", j, i);
				return -EINVAL;
			}
		}
	return 0;
}

int uffd_handshake_parse(const char *text, size_t len, uint64_t file_size, struct uffd_handshake *ret, char *err,
			 size_t errlen)
{
	struct uffd_handshake h = { 0 };
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int r = 0;

	if (!root) {
		if (json_error_code(&jerr) == json_error_premature_end_of_input)
			return -EAGAIN;
		snprintf(err, errlen, "not JSON: %s (byte %d)", jerr.text, jerr.position);
		return -EINVAL;
	}
	if (!json_is_array(root) || json_array_size(root) == 0 || json_array_size(root) > UFFD_HS_MAX_REGIONS) {
		snprintf(err, errlen, "not an array of 1 to %d regions", UFFD_HS_MAX_REGIONS);
		r = -EINVAL;
	}
	for (size_t i = 0; r == 0 && i < json_array_size(root); i++) {
		r = hs_region(json_array_get(root, i), (unsigned)i, file_size, &h.region[i], err, errlen);
		h.nr_regions = (unsigned)i + 1;
	}
	if (r == 0)
		r = hs_overlap(&h, err, errlen);
	json_decref(root);
	if (r == 0)
		*ret = h;
	return r;
}
