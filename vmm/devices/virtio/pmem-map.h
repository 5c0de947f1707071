/* A pmem device's backing file in ember's address space (doc/pmem.md).
 *
 * The file is mapped MAP_SHARED (PROT_READ only when read-only), so guest
 * stores through the DAX window are stores into the page cache of the file
 * and msync() writes them back. virtio-pmem regions are whole 2 MiB units
 * (virtio 1.3 §5.19): the mapping is the file's size rounded up to 2 MiB, and
 * the tail past the file is anonymous private memory, zero to the guest and
 * never written to the file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PMEM_ALIGN (2ull << 20)
/* Larger files are refused: the region must fit the guest's device space. */
#define PMEM_FILE_MAX (1ull << 44)

struct pmem_map {
	uint8_t *host;      /* map_size bytes */
	uint64_t file_size; /* bytes backed by the file */
	uint64_t map_size;  /* file_size rounded up to PMEM_ALIGN */
};

/* file_size rounded up to 2 MiB; 0 for 0 or a size above PMEM_FILE_MAX. */
uint64_t pmem_map_size(uint64_t file_size);
/* Maps the regular file fd. 0 and *ret, -ENODATA for an empty file, -EFBIG
 * above PMEM_FILE_MAX, or -errno from fstat/mmap. fd may be closed after. */
int pmem_map_file(int fd, bool read_only, struct pmem_map *ret);
/* Unmaps; accepts a zeroed map. */
void pmem_map_release(struct pmem_map *m);
