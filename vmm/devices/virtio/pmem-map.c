/* See pmem-map.h. */
#include "pmem-map.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

uint64_t pmem_map_size(uint64_t file_size)
{
	if (file_size == 0 || file_size > PMEM_FILE_MAX)
		return 0;
	return (file_size + PMEM_ALIGN - 1) & ~(PMEM_ALIGN - 1);
}

int pmem_map_file(int fd, bool read_only, struct pmem_map *ret)
{
	int prot = read_only ? PROT_READ : PROT_READ | PROT_WRITE;
	struct stat st;
	uint64_t size;
	void *p;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0)
		return -ENODATA;
	size = pmem_map_size((uint64_t)st.st_size);
	if (!size)
		return -EFBIG;
	/* The whole region first, anonymous: what the file does not cover
	 * stays this private padding. Then the file over its start. */
	p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (mmap(p, (size_t)st.st_size, prot, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int r = -errno;

		munmap(p, size);
		return r;
	}
	/* The file's pages may be tenant data: keep them out of core dumps. */
	madvise(p, size, MADV_DONTDUMP);
	*ret = (struct pmem_map){ .host = p, .file_size = (uint64_t)st.st_size, .map_size = size };
	return 0;
}

void pmem_map_release(struct pmem_map *m)
{
	if (m->host)
		munmap(m->host, m->map_size);
	*m = (struct pmem_map){ 0 };
}
