/* VMGenID and VMClock (vmm/devices/acpi/) in guest memory, and their
 * snapshot section (vmm/snapshot/generation.c): what boot writes, what a
 * restore changes, and every refusal of a hostile section. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/device_env.h"
#include "core/layout.h"
#include "core/memory.h"
#include "devices/acpi/vmclock.h"
#include "devices/acpi/vmgenid.h"
#include "snapshot/format.h"
#include "snapshot/generation.h"

static struct guest_memory *mem;
static struct device_env env;

static int setup(void **state)
{
	assert_int_equal(guest_memory_create(128 << 20, &mem), 0);
	env = (struct device_env){ .vm_fd = -1, .mem = mem };
	return 0;
}

static int teardown(void **state)
{
	mem = guest_memory_destroy(mem);
	return 0;
}

static struct vmclock_abi guest_clock(void)
{
	struct vmclock_abi abi;

	assert_int_equal(guest_memory_read(mem, LAYOUT_VMCLOCK, &abi, sizeof(abi)), 0);
	return abi;
}

static void test_vmclock(void **state)
{
	struct vmclock *c = NULL;
	struct vmclock_abi abi, saved;
	char why[256];

	assert_int_equal(vmclock_create(&env, 23, &c, why, sizeof(why)), 0);
	abi = guest_clock();
	assert_int_equal(abi.magic, 0x4b4c4356);
	assert_int_equal(abi.size, 0x1000);
	assert_int_equal(abi.version, 1);
	assert_int_equal(abi.counter_id, 0xff);
	assert_int_equal(abi.flags, (1u << 8) | (1u << 9));
	assert_int_equal(abi.seq_count, 0);
	assert_int_equal(abi.vm_generation_counter, 0);
	assert_true(vmclock_fields_valid(vmclock_fields(c)));
	assert_int_equal(vmclock_gsi(c), 23);
	/* a restore from a copy at generation 4, seq 8: 5, an even seq past 8 */
	saved = *vmclock_fields(c);
	saved.seq_count = 8;
	saved.disruption_marker = 4;
	saved.vm_generation_counter = 4;
	abi.vm_generation_counter = 99; /* what the guest's page says is never read */
	assert_int_equal(guest_memory_write(mem, LAYOUT_VMCLOCK, &abi, sizeof(abi)), 0);
	assert_int_equal(vmclock_restore(c, &saved, why, sizeof(why)), 0);
	abi = guest_clock();
	assert_int_equal(abi.vm_generation_counter, 5);
	assert_int_equal(abi.disruption_marker, 5);
	assert_int_equal(abi.seq_count, 10);
	assert_memory_equal(&abi, vmclock_fields(c), sizeof(abi));
	assert_true(vmclock_fields_valid(&abi));
	abi.seq_count = 11;
	assert_false(vmclock_fields_valid(&abi));
	vmclock_destroy(c);
}

static void test_vmgenid(void **state)
{
	struct vmgenid *g = NULL;
	uint8_t id[16], in_guest[16], zero[16] = { 0 };
	char why[256];

	assert_int_equal(vmgenid_create(&env, 22, &g, why, sizeof(why)), 0);
	vmgenid_id(g, id);
	assert_int_equal(guest_memory_read(mem, LAYOUT_VMGENID, in_guest, 16), 0);
	assert_memory_equal(id, in_guest, 16);
	assert_memory_not_equal(id, zero, 16);
	assert_int_equal(vmgenid_renew(g, why, sizeof(why)), 0);
	assert_int_equal(guest_memory_read(mem, LAYOUT_VMGENID, in_guest, 16), 0);
	assert_memory_not_equal(id, in_guest, 16);
	vmgenid_id(g, id);
	assert_memory_equal(id, in_guest, 16);
	assert_int_equal(vmgenid_gsi(g), 22);
	vmgenid_destroy(g);
}

/* A good payload: GSIs 6 and 7, ember's addresses, a valid copy. */
static void good(uint8_t buf[SNAP_GENERATION_SIZE])
{
	uint32_t gsi[2] = { 6, 7 };
	uint64_t addr[2] = { LAYOUT_VMGENID, LAYOUT_VMCLOCK };
	struct vmclock_abi abi = { .magic = VMCLOCK_MAGIC, .size = 0x1000, .version = 1, .counter_id = 0xff,
				   .flags = VMCLOCK_FLAGS, .seq_count = 2, .vm_generation_counter = 1 };

	memset(buf, 0, SNAP_GENERATION_SIZE);
	memcpy(buf, gsi, 8);
	memcpy(buf + 8, addr, 16);
	memcpy(buf + 40, &abi, sizeof(abi));
}

static void expect_refused(const uint8_t *buf, size_t len, const char *why)
{
	struct snap_generation g;
	char err[256] = "";

	assert_int_equal(snap_generation_parse(buf, len, &g, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		fail_msg("'%s' does not say '%s'", err, why);
}

static void test_parse(void **state)
{
	uint8_t buf[SNAP_GENERATION_SIZE + 1];
	struct snap_generation g;
	char err[256];

	good(buf);
	assert_int_equal(snap_generation_parse(buf, SNAP_GENERATION_SIZE, &g, err, sizeof(err)), 0);
	assert_int_equal(g.vmgenid_gsi, 6);
	assert_int_equal(g.vmclock_gsi, 7);
	assert_int_equal(g.clock.vm_generation_counter, 1);
	expect_refused(buf, SNAP_GENERATION_SIZE - 1, "of 151 bytes, expected 152");
	expect_refused(buf, SNAP_GENERATION_SIZE + 1, "of 153 bytes");
	expect_refused(buf, 0, "of 0 bytes");
	buf[8] = 0; /* the ID elsewhere */
	expect_refused(buf, SNAP_GENERATION_SIZE, "ember puts them at 0xdeff0 and 0xdf000");
	good(buf);
	buf[40] ^= 1; /* magic */
	expect_refused(buf, SNAP_GENERATION_SIZE, "not a VMClock structure ember writes");
	good(buf);
	buf[40 + 12] = 3; /* an odd seq_count */
	expect_refused(buf, SNAP_GENERATION_SIZE, "seq_count 3");
	good(buf);
	buf[40 + 24] = 1; /* another flag */
	expect_refused(buf, SNAP_GENERATION_SIZE, "flags 0x301");
	good(buf);
	buf[40 + 10] = 1; /* counter_id: the TSC */
	expect_refused(buf, SNAP_GENERATION_SIZE, "counter_id 0x1");
}

/* A v1.0 file may lack the section; a v1.1 file may not. */
static void test_check(void **state)
{
	struct snap_section sec = { .type = SNAP_SEC_CONFIG, .len = 2, .data = (const uint8_t *)"{}" };
	struct snap_file f = { .version = { 1, 0, 0 }, .n = 1, .sec = &sec };
	char err[256];

	assert_int_equal(snap_generation_check(&f, err, sizeof(err)), 0);
	f.version.minor = 1;
	assert_int_equal(snap_generation_check(&f, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no generation section (VMGenID and VMClock) in a v1.1 snapshot"));
	assert_int_equal(SNAP_VERSION_MINOR, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmclock),
		cmocka_unit_test(test_vmgenid),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
