#include <elf.h>
#include <errno.h>
#include <fcntl.h>

#include "boot-test.h"
#include "core/boot/loader.h"
#include "core/layout.h"

#define GUEST_SIZE (4ull << 20)
#define CODE_OFF 0x1000u
#define FILE_SIZE 0x1200u

/* A two-segment vmlinux: text at 1 MiB with a bss tail, data at 2 MiB. */
struct elf_file {
	union {
		struct {
			Elf64_Ehdr eh;
			Elf64_Phdr ph[3];
		};
		uint8_t bytes[FILE_SIZE];
	};
};

static void elf_good(struct elf_file *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_ident[EI_VERSION] = EV_CURRENT;
	f->eh.e_type = ET_EXEC;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_version = EV_CURRENT;
	f->eh.e_entry = 0x100010;
	f->eh.e_phoff = sizeof(Elf64_Ehdr);
	f->eh.e_ehsize = sizeof(Elf64_Ehdr);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = 2;
	f->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = CODE_OFF, .p_paddr = 0x100000,
				 .p_vaddr = 0xffffffff81000000, .p_filesz = 0x100, .p_memsz = 0x2000 };
	f->ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = CODE_OFF + 0x100, .p_paddr = 0x200000,
				 .p_filesz = 0x10, .p_memsz = 0x10 };
	for (unsigned i = CODE_OFF; i < FILE_SIZE; i++)
		f->bytes[i] = (uint8_t)(i * 7 + 1);
}

/* Runs elf_load (or kernel_load) on f's first len bytes; the guest RAM at
 * 1 MiB must be untouched when the load fails. */
static int elf_try(const struct elf_file *f, size_t len, bool dispatch, struct kernel_info *ki)
{
	struct guest_memory *m = test_guest(GUEST_SIZE);
	char err[256] = "";
	int fd = test_memfd(f, len), r;

	r = dispatch ? kernel_load(m, fd, ki, err, sizeof(err)) : elf_load(m, fd, ki, err, sizeof(err));
	if (r < 0) {
		assert_true(err[0] != '\0');
		assert_int_equal(*(uint8_t *)guest_memory_slice(m, 0x100000, 1), 0xaa);
	}
	close(fd);
	guest_memory_destroy(m);
	return r;
}

static int elf_try_bad(const struct elf_file *f)
{
	struct kernel_info ki;

	return elf_try(f, sizeof(*f), false, &ki);
}

static void test_elf_good(void **state)
{
	struct guest_memory *m = test_guest(GUEST_SIZE);
	struct elf_file f;
	struct kernel_info ki;
	char err[256];
	uint8_t *p;
	int fd;

	elf_good(&f);
	fd = test_memfd(&f, sizeof(f));
	assert_int_equal(kernel_load(m, fd, &ki, err, sizeof(err)), 0);
	assert_int_equal(ki.entry, 0x100010);
	assert_int_equal(ki.start, 0x100000);
	assert_int_equal(ki.end, 0x200010);
	assert_false(ki.bzimage);
	assert_int_equal(ki.initrd_addr_max, (1ull << 32) - 1);
	p = guest_memory_slice(m, 0x100000, 0x2000);
	assert_memory_equal(p, f.bytes + CODE_OFF, 0x100);
	for (unsigned i = 0x100; i < 0x2000; i++)
		assert_int_equal(p[i], 0); /* the bss was zeroed */
	assert_int_equal(p[0x2000], 0xaa); /* and nothing past it touched */
	assert_memory_equal(guest_memory_slice(m, 0x200000, 0x10), f.bytes + CODE_OFF + 0x100, 0x10);
	close(fd);
	guest_memory_destroy(m);
}

static void test_elf_truncated(void **state)
{
	struct elf_file f;
	struct kernel_info ki;

	elf_good(&f);
	assert_int_equal(elf_try(&f, 32, false, &ki), -ENOEXEC);
	assert_int_equal(elf_try(&f, 32, true, &ki), -ENOEXEC);
	/* The header is whole but the program header table is cut. */
	assert_int_equal(elf_try(&f, sizeof(Elf64_Ehdr) + 10, false, &ki), -ENOEXEC);
	/* Headers whole, segment bytes cut. */
	assert_int_equal(elf_try(&f, CODE_OFF + 0x20, false, &ki), -ENOEXEC);
}

static void test_elf_bad_ident(void **state)
{
	struct elf_file f;

	elf_good(&f);
	f.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_machine = EM_AARCH64;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_type = ET_DYN;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_version = 7;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_ident[1] = 'X';
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
}

static void test_elf_bad_phdr_table(void **state)
{
	struct elf_file f;

	elf_good(&f);
	f.eh.e_phentsize = 32;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_phnum = 0;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_phnum = 0xffff; /* phnum * phentsize far past the file */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_phoff = FILE_SIZE - 8;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_phoff = UINT64_MAX - 16; /* phoff + table size wraps */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
}

static void test_elf_bad_segments(void **state)
{
	struct elf_file f;

	elf_good(&f);
	f.ph[1].p_paddr = 0x101000; /* inside segment 0's bss */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.ph[1].p_paddr = GUEST_SIZE - 8; /* runs past the end of RAM */
	assert_int_equal(elf_try_bad(&f), -EFBIG);
	elf_good(&f);
	f.ph[1].p_paddr = 0xc0000000; /* the MMIO gap is not RAM */
	assert_int_equal(elf_try_bad(&f), -EFBIG);
	elf_good(&f);
	f.ph[1].p_paddr = UINT64_MAX - 4; /* paddr + memsz wraps */
	assert_int_equal(elf_try_bad(&f), -EFBIG);
	elf_good(&f);
	f.ph[1].p_paddr = 0xff000; /* below 1 MiB */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.ph[1].p_filesz = 0x20; /* filesz > memsz */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.ph[1].p_filesz = f.ph[1].p_memsz = 1ull << 40; /* huge filesz, past the file */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.ph[1].p_offset = UINT64_MAX - 4; /* offset + filesz wraps */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
}

static void test_elf_entry(void **state)
{
	struct elf_file f;

	elf_good(&f);
	f.eh.e_entry = 0x300000; /* outside every segment */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_entry = 0x100100; /* in the bss: no code there */
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
	elf_good(&f);
	f.eh.e_entry = 0x200000; /* the start of the second segment is fine */
	assert_int_equal(elf_try_bad(&f), 0);
}

static void test_elf_skips_other_segments(void **state)
{
	struct elf_file f;

	elf_good(&f);
	f.eh.e_phnum = 3;
	/* A PT_NOTE below 1 MiB and an empty PT_LOAD are not loaded, so not refused. */
	f.ph[2] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = CODE_OFF, .p_paddr = 0x1000, .p_filesz = 8, .p_memsz = 8 };
	assert_int_equal(elf_try_bad(&f), 0);
	f.ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_paddr = 0 };
	assert_int_equal(elf_try_bad(&f), 0);
	/* Without any loadable segment the image is refused. */
	f.eh.e_phnum = 1;
	f.ph[0].p_type = PT_NOTE;
	assert_int_equal(elf_try_bad(&f), -ENOEXEC);
}

static void test_kernel_load_dispatch(void **state)
{
	struct guest_memory *m = test_guest(GUEST_SIZE);
	static const char junk[] = "#!/bin/sh\necho this is not a kernel\n";
	struct kernel_info ki;
	char err[256];
	int fd, pipefd[2];

	fd = test_memfd(junk, sizeof(junk));
	assert_int_equal(kernel_load(m, fd, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "neither"));
	close(fd);
	fd = test_memfd(NULL, 0);
	assert_int_equal(kernel_load(m, fd, &ki, err, sizeof(err)), -ENOEXEC);
	close(fd);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(kernel_load(m, pipefd[0], &ki, err, sizeof(err)), -ENOEXEC);
	close(pipefd[0]);
	close(pipefd[1]);
	guest_memory_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_good),
		cmocka_unit_test(test_elf_truncated),
		cmocka_unit_test(test_elf_bad_ident),
		cmocka_unit_test(test_elf_bad_phdr_table),
		cmocka_unit_test(test_elf_bad_segments),
		cmocka_unit_test(test_elf_entry),
		cmocka_unit_test(test_elf_skips_other_segments),
		cmocka_unit_test(test_kernel_load_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
