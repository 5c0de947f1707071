#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/device_env.h"
#include "devices/legacy/i8042.h"

static int resets;

static void on_reset(void *ctx)
{
	resets++;
}

struct fixture {
	struct bus *pio;
	struct i8042 *d;
};

static int setup(void **state)
{
	static struct fixture f;
	struct device_env env;

	assert_int_equal(bus_create(&f.pio), 0);
	env = (struct device_env){ .vm_fd = -1, .pio_bus = f.pio };
	assert_int_equal(i8042_create(&env, on_reset, NULL, &f.d), 0);
	resets = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(f->d);
	bus_destroy(f->pio);
	return 0;
}

static uint8_t rd(struct fixture *f, uint16_t port)
{
	uint8_t v = 0;

	assert_int_equal(bus_read(f->pio, port, &v, 1), 0);
	return v;
}

static void wr(struct fixture *f, uint16_t port, uint8_t v)
{
	assert_int_equal(bus_write(f->pio, port, &v, 1), 0);
}

static int irqs(struct fixture *f)
{
	uint64_t n = 0;

	return read(i8042_irq_fd(f->d), &n, sizeof(n)) == sizeof(n) ? (int)n : 0;
}

static void test_control_byte(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 0x64) & 1, 0);
	wr(f, 0x64, 0x20);
	assert_int_equal(rd(f, 0x64) & 1, 1);
	assert_int_equal(rd(f, 0x60), 0x05); /* POST ok, keyboard interrupt */
	assert_int_equal(rd(f, 0x64) & 1, 0);
	wr(f, 0x64, 0x60);
	assert_int_equal(rd(f, 0x64) & 0x08, 0x08); /* next data byte is the command's */
	wr(f, 0x60, 0x44);
	wr(f, 0x64, 0x20);
	assert_int_equal(rd(f, 0x60), 0x44);
}

static void test_output_port(void **state)
{
	struct fixture *f = *state;

	wr(f, 0x64, 0xd1);
	wr(f, 0x60, 0xdf);
	wr(f, 0x64, 0xd0);
	assert_int_equal(rd(f, 0x60), 0xdf);
}

static void test_keyboard_command_is_acked(void **state)
{
	struct fixture *f = *state;

	irqs(f);
	wr(f, 0x60, 0xff);
	assert_int_equal(rd(f, 0x60), 0xfa);
	assert_int_equal(irqs(f), 1);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	wr(f, 0x64, 0xfe);
	assert_int_equal(resets, 1);
}

static void test_ctrl_alt_del(void **state)
{
	struct fixture *f = *state;
	static const uint8_t want[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };

	irqs(f);
	assert_int_equal(i8042_send_ctrl_alt_del(f->d), 0);
	assert_true(irqs(f) >= 1);
	for (size_t i = 0; i < sizeof(want); i++)
		assert_int_equal(rd(f, 0x60), want[i]);
	assert_int_equal(rd(f, 0x64) & 1, 0);
	/* A guest that never drains the buffer: the second one does not fit. */
	assert_int_equal(i8042_send_ctrl_alt_del(f->d), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(f->d), -ENOSPC);
	/* No interrupt when the guest turned keyboard interrupts off. */
	wr(f, 0x64, 0x60);
	wr(f, 0x60, 0x04);
	wr(f, 0x64, 0x20); /* flushes the buffer */
	assert_int_equal(rd(f, 0x60), 0x04);
	irqs(f);
	assert_int_equal(i8042_send_ctrl_alt_del(f->d), 0);
	assert_int_equal(irqs(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_control_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_command_is_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
