/* libFuzzer target: arbitrary bytes as a kernel image (and, from the same
 * bytes, as an initrd) through kernel_load() into a small guest.
 *
 * The guest is 4 MiB so that segment placement, the 1 MiB floor and the end
 * of RAM are all within reach of mutated fields. The loaders must return an
 * error or a kernel_info that lies inside guest memory; anything else (a
 * crash, a sanitizer report, an out-of-range result) is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/boot/loader.h"
#include "core/layout.h"
#include "core/memory.h"

#define FUZZ_GUEST_SIZE (4ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_memory *fuzz_guest(void)
{
	static struct guest_memory *mem;

	if (!mem && guest_memory_create(FUZZ_GUEST_SIZE, &mem) < 0)
		abort();
	return mem;
}

static int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory *mem = fuzz_guest();
	struct kernel_info ki;
	uint64_t addr, len;
	char err[256];
	int fd = fuzz_memfd(data, size);

	if (kernel_load(mem, fd, &ki, err, sizeof(err)) == 0) {
		/* A successful load promises an entry inside RAM at or above 1 MiB. */
		if (ki.start < LAYOUT_HIMEM || ki.end <= ki.start || ki.entry < ki.start || ki.entry >= ki.end)
			abort();
		if (!guest_memory_slice(mem, ki.start, ki.end - ki.start))
			abort();
		if (initrd_load(mem, fd, &ki, &addr, &len, err, sizeof(err)) == 0 &&
		    (addr < ki.end || addr % 4096 || !guest_memory_slice(mem, addr, len)))
			abort();
	}
	close(fd);
	return 0;
}
