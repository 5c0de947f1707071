/* Shared helpers for the loader unit tests: images are built in memory and
 * handed to the loaders through a memfd, like a kernel file would be. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/memory.h"

static inline int test_memfd(const void *buf, size_t len)
{
	int fd = memfd_create("image", MFD_CLOEXEC);

	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

/* A guest of size bytes whose RAM is filled with 0xaa, so that tests can
 * tell copied, zeroed and untouched bytes apart. */
static inline struct guest_memory *test_guest(uint64_t size)
{
	struct guest_memory *m = NULL;

	assert_int_equal(guest_memory_create(size, &m), 0);
	memset(m->region[0].host, 0xaa, m->region[0].size < (8u << 20) ? m->region[0].size : (8u << 20));
	return m;
}
