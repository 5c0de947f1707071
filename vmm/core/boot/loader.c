/* Kernel format dispatch, the initrd placement and the loaders' shared I/O.
 *
 * The kernel file is untrusted: it is read with bounded preads only, and every
 * byte lands in guest memory through guest_memory_slice(). */
#include "loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/layout.h"
#include "core/memory.h"
#include "loader-internal.h"

#define PAGE_SIZE_4K 4096ull
#define FOUR_GIB (1ull << 32)
/* Offset of the bzImage setup header's "HdrS" magic (boot protocol §"The
 * Real-Mode Kernel Header"). */
#define BZIMAGE_MAGIC_OFFSET 0x202u

int loader_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n;

		if (off > (uint64_t)INT64_MAX)
			return -EIO;
		n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int loader_file_size(int fd, uint64_t *ret_size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

int loader_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int kernel_load(const struct guest_memory *mem, int fd, struct kernel_info *ret, char *err, size_t errlen)
{
	static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
	uint8_t head[4], hdrs[4];
	uint64_t size;
	int r;

	r = loader_file_size(fd, &size);
	if (r < 0)
		return loader_fail(err, errlen, r == -EINVAL ? -ENOEXEC : r,
				   "kernel image is not a regular file: %s", strerror(-r));
	if (size >= sizeof(head) && loader_pread(fd, head, sizeof(head), 0) == 0 &&
	    memcmp(head, elf_magic, sizeof(head)) == 0)
		return elf_load(mem, fd, ret, err, errlen);
	if (size >= BZIMAGE_MAGIC_OFFSET + sizeof(hdrs) &&
	    loader_pread(fd, hdrs, sizeof(hdrs), BZIMAGE_MAGIC_OFFSET) == 0 && memcmp(hdrs, "HdrS", 4) == 0)
		return bzimage_load(mem, fd, ret, err, errlen);
	return loader_fail(err, errlen, -ENOEXEC,
			   "kernel image is neither an ELF vmlinux nor a bzImage (no ELF magic, no \"HdrS\" at 0x202)");
}

/* The first address above the usable low RAM: the end of the region at 0,
 * which stops at the MMIO gap (see guest_memory_plan()). */
static uint64_t initrd_low_ram_end(const struct guest_memory *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++)
		if (mem->region[i].gpa == 0)
			return mem->region[i].size;
	return 0;
}

int initrd_load(const struct guest_memory *mem, int fd, const struct kernel_info *kernel,
		uint64_t *ret_addr, uint64_t *ret_size, char *err, size_t errlen)
{
	uint64_t size, top, addr, floor;
	void *dst;
	int r;

	r = loader_file_size(fd, &size);
	if (r < 0)
		return loader_fail(err, errlen, r, "initrd is not a regular file: %s", strerror(-r));
	if (size == 0)
		return loader_fail(err, errlen, -EINVAL, "initrd is empty");
	top = initrd_low_ram_end(mem);
	if (kernel->initrd_addr_max < top)
		top = kernel->initrd_addr_max + 1;
	if (top > FOUR_GIB)
		top = FOUR_GIB;
	/* Page-align the end of the kernel: the initrd starts on its own page. */
	if (__builtin_add_overflow(kernel->end, PAGE_SIZE_4K - 1, &floor))
		return loader_fail(err, errlen, -EFBIG, "kernel end 0x%llx is out of range",
				   (unsigned long long)kernel->end);
	floor &= ~(PAGE_SIZE_4K - 1);
	if (size > top || ((top - size) & ~(PAGE_SIZE_4K - 1)) < floor)
		return loader_fail(err, errlen, -EFBIG,
				   "initrd of %llu bytes does not fit between the kernel end 0x%llx and 0x%llx",
				   (unsigned long long)size, (unsigned long long)floor, (unsigned long long)top);
	addr = (top - size) & ~(PAGE_SIZE_4K - 1);
	dst = guest_memory_slice(mem, addr, size);
	if (!dst)
		return loader_fail(err, errlen, -EFBIG, "initrd range 0x%llx+%llu is not guest RAM",
				   (unsigned long long)addr, (unsigned long long)size);
	r = loader_pread(fd, dst, size, 0);
	if (r < 0)
		return loader_fail(err, errlen, r, "reading the initrd: %s", strerror(-r));
	*ret_addr = addr;
	*ret_size = size;
	return 0;
}
