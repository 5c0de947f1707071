/* The ACPI power port: S5 and the reset value end the VM, nothing else does. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "core/bus.h"
#include "core/device_env.h"
#include "core/layout.h"
#include "devices/legacy/acpi_power.h"

static int power_offs, resets;

static void on_power_off(void *ctx)
{
	power_offs++;
}

static void on_reset(void *ctx)
{
	resets++;
}

struct fixture {
	struct bus *pio;
	struct acpi_power *p;
};

static int setup(void **state)
{
	static struct fixture f;
	static const struct acpi_power_ops ops = { .on_power_off = on_power_off, .on_reset = on_reset };
	struct device_env env;

	assert_int_equal(bus_create(&f.pio), 0);
	env = (struct device_env){ .vm_fd = -1, .pio_bus = f.pio };
	assert_int_equal(acpi_power_create(&env, &ops, &f.p), 0);
	power_offs = resets = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_power_destroy(f->p);
	bus_destroy(f->pio);
	return 0;
}

static void wr(struct fixture *f, const void *v, uint32_t len)
{
	assert_int_equal(bus_write(f->pio, LAYOUT_PORT_ACPI_POWER, v, len), 0);
}

/* What Linux's acpi_hw_extended_sleep(ACPI_STATE_S5) writes: WAK_STS to
 * the status register (ignored), then SLP_TYP << 2 | SLP_EN. */
static void test_power_off(void **state)
{
	struct fixture *f = *state;
	uint8_t wak = 0x80, s5 = (uint8_t)((ACPI_SLP_TYP_S5 << 2) | 0x20);

	wr(f, &wak, 1);
	assert_int_equal(power_offs, 0);
	wr(f, &s5, 1);
	assert_int_equal(power_offs, 1);
	assert_int_equal(resets, 0);
	assert_int_equal(s5, 0x34);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t v = ACPI_RESET_VALUE;

	wr(f, &v, 1);
	assert_int_equal(resets, 1);
	assert_int_equal(power_offs, 0);
}

static void test_others_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t s5_no_en = ACPI_SLP_TYP_S5 << 2, s3 = (3 << 2) | 0x20, s0 = 0x20;
	uint16_t wide = ACPI_SLEEP_S5_WRITE;
	uint32_t wider = ACPI_RESET_VALUE;

	wr(f, &s5_no_en, 1);
	wr(f, &s3, 1);
	wr(f, &s0, 1);
	wr(f, &wide, 2);
	wr(f, &wider, 4);
	assert_int_equal(bus_write(f->pio, LAYOUT_PORT_ACPI_POWER + 1, &s0, 1), 0);
	for (unsigned v = 0; v < 256; v++) {
		uint8_t b = (uint8_t)v;

		if (b != ACPI_SLEEP_S5_WRITE && b != ACPI_RESET_VALUE)
			wr(f, &b, 1);
	}
	assert_int_equal(power_offs, 0);
	assert_int_equal(resets, 0);
}

static void test_status_reads_zero(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 0xff;
	uint32_t d = 0xffffffff;

	assert_int_equal(bus_read(f->pio, LAYOUT_PORT_ACPI_POWER, &b, 1), 0);
	assert_int_equal(b, 0);
	assert_int_equal(bus_read(f->pio, LAYOUT_PORT_ACPI_POWER, (uint8_t *)&d, 4), 0);
	assert_int_equal(d, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_power_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_others_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_reads_zero, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
