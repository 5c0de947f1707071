/* ELF64 vmlinux loader.
 *
 * A vmlinux is an ET_EXEC for x86-64 whose PT_LOAD segments carry physical
 * load addresses in p_paddr and whose e_entry is the physical address of the
 * 64-bit entry (startup_64). Everything in the file is checked before the
 * first byte is copied: header fields, the program header table's bounds,
 * each segment's file range and guest range, overlaps, and the entry. */
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "core/layout.h"
#include "core/memory.h"
#include "loader-internal.h"

/* vmlinux has a handful of program headers; a cap keeps the table read and
 * the pairwise overlap check bounded whatever e_phnum claims. */
#define ELF_MAX_PHNUM 64u

struct elf_image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHNUM];
	uint64_t file_size;
};

static int elf_check_ehdr(const struct elf_image *img, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = &img->eh;
	uint64_t table_size, table_end;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return loader_fail(err, errlen, -ENOEXEC, "not an ELF file");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return loader_fail(err, errlen, -ENOEXEC, "ELF class %u is not ELFCLASS64", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return loader_fail(err, errlen, -ENOEXEC, "ELF data encoding %u is not little-endian",
				   eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return loader_fail(err, errlen, -ENOEXEC, "unknown ELF version");
	if (eh->e_machine != EM_X86_64)
		return loader_fail(err, errlen, -ENOEXEC, "ELF machine %u is not x86-64", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return loader_fail(err, errlen, -ENOEXEC, "ELF type %u is not an executable (ET_EXEC)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return loader_fail(err, errlen, -ENOEXEC, "ELF program header size %u is not %zu", eh->e_phentsize,
				   sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM)
		return loader_fail(err, errlen, -ENOEXEC, "ELF has %u program headers (1..%u accepted)", eh->e_phnum,
				   ELF_MAX_PHNUM);
	table_size = (uint64_t)eh->e_phnum * eh->e_phentsize;
	if (__builtin_add_overflow(eh->e_phoff, table_size, &table_end) || table_end > img->file_size)
		return loader_fail(err, errlen, -ENOEXEC, "ELF program header table (offset %llu) lies outside the file",
				   (unsigned long long)eh->e_phoff);
	return 0;
}

static int elf_check_segment(const struct guest_memory *mem, const struct elf_image *img, const Elf64_Phdr *ph,
			     unsigned idx, char *err, size_t errlen)
{
	uint64_t file_end, mem_end;

	if (ph->p_paddr < LAYOUT_HIMEM)
		return loader_fail(err, errlen, -ENOEXEC, "segment %u at 0x%llx lies below 1 MiB", idx,
				   (unsigned long long)ph->p_paddr);
	if (ph->p_filesz > ph->p_memsz)
		return loader_fail(err, errlen, -ENOEXEC, "segment %u has p_filesz %llu > p_memsz %llu", idx,
				   (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &file_end) || file_end > img->file_size)
		return loader_fail(err, errlen, -ENOEXEC, "segment %u's file range (offset %llu, %llu bytes) lies outside the file",
				   idx, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
	if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &mem_end) ||
	    !guest_memory_slice(mem, ph->p_paddr, ph->p_memsz))
		return loader_fail(err, errlen, -EFBIG, "segment %u (0x%llx, %llu bytes) does not fit guest memory", idx,
				   (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	return 0;
}

static bool elf_is_loaded(const Elf64_Phdr *ph)
{
	/* An empty PT_LOAD occupies nothing; it is skipped rather than refused. */
	return ph->p_type == PT_LOAD && ph->p_memsz > 0;
}

/* Checks every loadable segment and fills ret's start/end; no byte is copied. */
static int elf_check_segments(const struct guest_memory *mem, const struct elf_image *img, struct kernel_info *ret,
			      char *err, size_t errlen)
{
	unsigned n = img->eh.e_phnum, loaded = 0;
	uint64_t start = UINT64_MAX, end = 0;

	for (unsigned i = 0; i < n; i++) {
		const Elf64_Phdr *a = &img->ph[i];
		int r;

		if (!elf_is_loaded(a))
			continue;
		r = elf_check_segment(mem, img, a, i, err, errlen);
		if (r < 0)
			return r;
		for (unsigned j = 0; j < i; j++) {
			const Elf64_Phdr *b = &img->ph[j];

			/* Both ranges were checked not to overflow. */
			if (elf_is_loaded(b) && a->p_paddr < b->p_paddr + b->p_memsz && b->p_paddr < a->p_paddr + a->p_memsz)
				return loader_fail(err, errlen, -ENOEXEC, "segments %u and %u overlap", j, i);
		}
		start = a->p_paddr < start ? a->p_paddr : start;
		end = a->p_paddr + a->p_memsz > end ? a->p_paddr + a->p_memsz : end;
		loaded++;
	}
	if (loaded == 0)
		return loader_fail(err, errlen, -ENOEXEC, "ELF has no loadable segment");
	ret->start = start;
	ret->end = end;
	return 0;
}

static int elf_check_entry(const struct elf_image *img, char *err, size_t errlen)
{
	uint64_t entry = img->eh.e_entry;

	for (unsigned i = 0; i < img->eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &img->ph[i];

		if (elf_is_loaded(ph) && entry >= ph->p_paddr && entry - ph->p_paddr < ph->p_filesz)
			return 0;
	}
	return loader_fail(err, errlen, -ENOEXEC, "ELF entry 0x%llx lies outside the loaded code",
			   (unsigned long long)entry);
}

static int elf_copy_segments(const struct guest_memory *mem, int fd, const struct elf_image *img, char *err,
			     size_t errlen)
{
	for (unsigned i = 0; i < img->eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &img->ph[i];
		uint8_t *dst;
		int r;

		if (!elf_is_loaded(ph))
			continue;
		dst = guest_memory_slice(mem, ph->p_paddr, ph->p_memsz);
		if (!dst) /* checked above; kept so that no path writes unchecked */
			return loader_fail(err, errlen, -EFBIG, "segment %u does not fit guest memory", i);
		if (ph->p_filesz > 0) {
			r = loader_pread(fd, dst, ph->p_filesz, ph->p_offset);
			if (r < 0)
				return loader_fail(err, errlen, r, "reading segment %u: %s", i, strerror(-r));
		}
		/* The bss: guest RAM may hold an earlier image's bytes (a reboot). */
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
	return 0;
}

int elf_load(const struct guest_memory *mem, int fd, struct kernel_info *ret, char *err, size_t errlen)
{
	_cleanup_free_ struct elf_image *img = calloc(1, sizeof(*img));
	struct kernel_info info = { .initrd_addr_max = LAYOUT_MMIO_GAP_END - 1 };
	int r;

	if (!img)
		return loader_fail(err, errlen, -ENOMEM, "out of memory");
	r = loader_file_size(fd, &img->file_size);
	if (r < 0)
		return loader_fail(err, errlen, r == -EINVAL ? -ENOEXEC : r, "kernel image is not a regular file");
	if (img->file_size < sizeof(img->eh))
		return loader_fail(err, errlen, -ENOEXEC, "ELF header truncated (file has %llu bytes)",
				   (unsigned long long)img->file_size);
	r = loader_pread(fd, &img->eh, sizeof(img->eh), 0);
	if (r < 0)
		return loader_fail(err, errlen, r, "reading the ELF header: %s", strerror(-r));
	r = elf_check_ehdr(img, err, errlen);
	if (r < 0)
		return r;
	r = loader_pread(fd, img->ph, (size_t)img->eh.e_phnum * sizeof(Elf64_Phdr), img->eh.e_phoff);
	if (r < 0)
		return loader_fail(err, errlen, r, "reading the ELF program headers: %s", strerror(-r));
	r = elf_check_segments(mem, img, &info, err, errlen);
	if (r < 0)
		return r;
	r = elf_check_entry(img, err, errlen);
	if (r < 0)
		return r;
	r = elf_copy_segments(mem, fd, img, err, errlen);
	if (r < 0)
		return r;
	info.entry = img->eh.e_entry;
	*ret = info;
	return 0;
}
