/* See pmem-state.h. */
#include "pmem-state.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/layout.h"
#include "pmem-map.h"

#define PMEM_STATE_RO 1ull

static void put64(uint8_t **p, uint64_t v)
{
	v = htole64(v);
	memcpy(*p, &v, 8);
	*p += 8;
}

static uint64_t get64(const uint8_t **p)
{
	uint64_t v;

	memcpy(&v, *p, 8);
	*p += 8;
	return le64toh(v);
}

int pmem_state_write(const struct pmem_state *s, uint8_t *buf, size_t size)
{
	uint8_t *p = buf;

	if (size < PMEM_STATE_SIZE)
		return -ENOSPC;
	put64(&p, s->start);
	put64(&p, s->size);
	put64(&p, s->read_only ? PMEM_STATE_RO : 0);
	for (unsigned k = 0; k < RATE_LIMITER_KINDS; k++) {
		put64(&p, s->budget[k]);
		put64(&p, s->burst[k]);
	}
	return (int)PMEM_STATE_SIZE;
}

int pmem_state_parse(const uint8_t *buf, size_t len, struct pmem_state *ret, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	struct pmem_state s;
	uint64_t flags, end;

	if (len != PMEM_STATE_SIZE) {
		snprintf(err, errlen, "state of %zu bytes, expected %u", len, PMEM_STATE_SIZE);
		return -EINVAL;
	}
	s.start = get64(&p);
	s.size = get64(&p);
	flags = get64(&p);
	for (unsigned k = 0; k < RATE_LIMITER_KINDS; k++) {
		s.budget[k] = get64(&p);
		s.burst[k] = get64(&p);
	}
	if (flags & ~PMEM_STATE_RO) {
		snprintf(err, errlen, "unknown flags 0x%" PRIx64, flags);
		return -EINVAL;
	}
	s.read_only = flags & PMEM_STATE_RO;
	/* virtio 1.3 §5.19.5: the region is whole 2 MiB units, 2 MiB aligned;
	 * ember keeps it at or above 512 GiB (core/layout.h). */
	if (s.size == 0 || s.size % PMEM_ALIGN || s.start % PMEM_ALIGN || s.start < LAYOUT_PMEM_BASE ||
	    __builtin_add_overflow(s.start, s.size, &end) || end > LAYOUT_PMEM_END) {
		snprintf(err, errlen, "the saved window (0x%" PRIx64 ", %" PRIu64 " bytes) is not 2 MiB units at a 2 MiB "
			 "boundary in [0x%llx, 0x%llx)", s.start, s.size, (unsigned long long)LAYOUT_PMEM_BASE,
			 (unsigned long long)LAYOUT_PMEM_END);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}
