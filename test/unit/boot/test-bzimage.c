#include <errno.h>

#include "boot-test.h"
#include "core/boot/loader.h"
#include "core/layout.h"

#define GUEST_SIZE (8ull << 20)
#define SETUP_SECTS 1u
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512u)
#define KERNEL_SIZE 0x1000u
#define HDR_OFF 0x1f1u

struct bz_file {
	uint8_t bytes[SETUP_SIZE + KERNEL_SIZE];
};

static struct setup_header *bz_hdr(struct bz_file *f)
{
	return (struct setup_header *)(f->bytes + HDR_OFF);
}

/* A protocol 2.15 bzImage with a 4 KiB protected-mode part that wants 12 KiB. */
static void bz_good(struct bz_file *f)
{
	struct setup_header *h = bz_hdr(f);
	/* The jump at 0x200 skips the header: its end is 0x202 + displacement. */
	uint8_t disp = (uint8_t)(HDR_OFF + sizeof(*h) - 0x202);

	for (unsigned i = 0; i < sizeof(f->bytes); i++)
		f->bytes[i] = (uint8_t)(i * 13 + 5);
	memset(h, 0, sizeof(*h));
	h->setup_sects = SETUP_SECTS;
	h->boot_flag = 0xaa55;
	h->jump = (uint16_t)(0xeb | disp << 8);
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->loadflags = 0x01;
	h->xloadflags = 0x01;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 0;
	h->pref_address = 0x1000000;
	h->init_size = 0x3000;
}

static int bz_try(const struct bz_file *f, size_t len, bool dispatch, struct kernel_info *ki)
{
	struct guest_memory *m = test_guest(GUEST_SIZE);
	char err[256] = "";
	int fd = test_memfd(f, len), r;

	r = dispatch ? kernel_load(m, fd, ki, err, sizeof(err)) : bzimage_load(m, fd, ki, err, sizeof(err));
	if (r < 0)
		assert_true(err[0] != '\0');
	close(fd);
	guest_memory_destroy(m);
	return r;
}

static int bz_try_bad(const struct bz_file *f)
{
	struct kernel_info ki;

	return bz_try(f, sizeof(*f), false, &ki);
}

static void test_bz_good(void **state)
{
	struct guest_memory *m = test_guest(GUEST_SIZE);
	struct bz_file f;
	struct kernel_info ki;
	char err[256];
	int fd;

	bz_good(&f);
	fd = test_memfd(&f, sizeof(f));
	assert_int_equal(kernel_load(m, fd, &ki, err, sizeof(err)), 0);
	assert_true(ki.bzimage);
	assert_int_equal(ki.start, LAYOUT_HIMEM);
	assert_int_equal(ki.entry, LAYOUT_HIMEM + 0x200);
	assert_int_equal(ki.end, LAYOUT_HIMEM + 0x3000); /* init_size, not the file size */
	assert_int_equal(ki.initrd_addr_max, 0x7fffffff);
	assert_memory_equal(&ki.hdr, bz_hdr(&f), sizeof(ki.hdr));
	assert_memory_equal(guest_memory_slice(m, LAYOUT_HIMEM, KERNEL_SIZE), f.bytes + SETUP_SIZE, KERNEL_SIZE);
	close(fd);
	guest_memory_destroy(m);
}

static void test_bz_relocatable(void **state)
{
	struct bz_file f;
	struct kernel_info ki;

	bz_good(&f);
	bz_hdr(&f)->relocatable_kernel = 1;
	bz_hdr(&f)->pref_address = 0x400000;
	assert_int_equal(bz_try(&f, sizeof(f), false, &ki), 0);
	assert_int_equal(ki.entry, 0x400200);
	/* Misaligned for kernel_alignment: back to 1 MiB. */
	bz_hdr(&f)->pref_address = 0x410000;
	assert_int_equal(bz_try(&f, sizeof(f), false, &ki), 0);
	assert_int_equal(ki.entry, LAYOUT_HIMEM + 0x200);
	/* Past guest memory: back to 1 MiB. */
	bz_hdr(&f)->pref_address = 1ull << 40;
	assert_int_equal(bz_try(&f, sizeof(f), false, &ki), 0);
	assert_int_equal(ki.entry, LAYOUT_HIMEM + 0x200);
}

static void test_bz_bad_header(void **state)
{
	struct bz_file f;
	struct kernel_info ki;

	bz_good(&f);
	memcpy(&bz_hdr(&f)->header, "HdrX", 4);
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
	assert_int_equal(bz_try(&f, sizeof(f), true, &ki), -ENOEXEC);
	bz_good(&f);
	bz_hdr(&f)->boot_flag = 0x55aa;
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
	bz_good(&f);
	bz_hdr(&f)->version = 0x0205;
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
	bz_good(&f);
	bz_hdr(&f)->loadflags = 0;
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
	bz_good(&f);
	bz_hdr(&f)->xloadflags = 0x02; /* no XLF_KERNEL_64 */
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
}

static void test_bz_setup_sects(void **state)
{
	struct bz_file f;
	struct kernel_info ki;

	bz_good(&f);
	bz_hdr(&f)->setup_sects = 255; /* the setup would end far past the file */
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
	bz_good(&f);
	bz_hdr(&f)->setup_sects = 8; /* leaves exactly 0x200 bytes: no room past the 64-bit entry */
	assert_int_equal(bz_try_bad(&f), -ENOEXEC);
	bz_good(&f);
	bz_hdr(&f)->setup_sects = 0; /* means 4: kernel at file offset 5 * 512 */
	assert_int_equal(bz_try(&f, sizeof(f), false, &ki), 0);
	assert_int_equal(ki.end, LAYOUT_HIMEM + 0x3000);
}

static void test_bz_truncated(void **state)
{
	struct bz_file f;
	struct kernel_info ki;

	bz_good(&f);
	assert_int_equal(bz_try(&f, 0x210, false, &ki), -ENOEXEC);
	assert_int_equal(bz_try(&f, 0x210, true, &ki), -ENOEXEC);
	assert_int_equal(bz_try(&f, SETUP_SIZE, false, &ki), -ENOEXEC);
}

static void test_bz_too_big(void **state)
{
	struct bz_file f;

	bz_good(&f);
	bz_hdr(&f)->init_size = GUEST_SIZE; /* 1 MiB + init_size is past RAM */
	assert_int_equal(bz_try_bad(&f), -EFBIG);
}

static void test_bz_short_header(void **state)
{
	struct bz_file f;
	struct kernel_info ki;
	struct setup_header *h;

	bz_good(&f);
	h = bz_hdr(&f);
	/* A 2.06 header ends at cmdline_size (0x23c): init_size's bytes are code. */
	h->version = 0x0206;
	h->jump = (uint16_t)(0xeb | (0x23c - 0x202) << 8);
	h->init_size = 0xffffffff;
	assert_int_equal(bz_try(&f, sizeof(f), false, &ki), 0);
	assert_int_equal(ki.hdr.init_size, 0);
	assert_int_equal(ki.hdr.pref_address, 0);
	assert_int_equal(ki.end, LAYOUT_HIMEM + KERNEL_SIZE);
	/* A zero initrd_addr_max is the old default. */
	h->initrd_addr_max = 0;
	assert_int_equal(bz_try(&f, sizeof(f), false, &ki), 0);
	assert_int_equal(ki.initrd_addr_max, 0x37ffffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bz_good),
		cmocka_unit_test(test_bz_relocatable),
		cmocka_unit_test(test_bz_bad_header),
		cmocka_unit_test(test_bz_setup_sects),
		cmocka_unit_test(test_bz_truncated),
		cmocka_unit_test(test_bz_too_big),
		cmocka_unit_test(test_bz_short_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
