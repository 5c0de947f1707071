#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/loop.h"
#include "core/device_env.h"
#include "devices/legacy/serial.h"

#define BASE 0x3f8

struct fixture {
	struct bus *pio;
	struct event_loop *loop;
	struct serial *s;
	int out[2], in[2];
};

static int setup(void **state)
{
	static struct fixture f;
	struct device_env env;

	memset(&f, 0, sizeof(f));
	assert_int_equal(bus_create(&f.pio), 0);
	assert_int_equal(loop_create(&f.loop), 0);
	assert_int_equal(pipe2(f.out, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pipe2(f.in, O_CLOEXEC | O_NONBLOCK), 0);
	env = (struct device_env){ .vm_fd = -1, .loop = f.loop, .pio_bus = f.pio };
	assert_int_equal(serial_create(&env, BASE, 4, f.out[1], f.in[0], &f.s), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(f->s);
	loop_destroy(f->loop);
	bus_destroy(f->pio);
	close(f->out[0]);
	close(f->out[1]);
	close(f->in[0]);
	close(f->in[1]);
	return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg)
{
	uint8_t v = 0;

	assert_int_equal(bus_read(f->pio, BASE + reg, &v, 1), 0);
	return v;
}

static void wr(struct fixture *f, unsigned reg, uint8_t v)
{
	assert_int_equal(bus_write(f->pio, BASE + reg, &v, 1), 0);
}

static int irqs(struct fixture *f)
{
	uint64_t n = 0;

	return read(serial_irq_fd(f->s), &n, sizeof(n)) == sizeof(n) ? (int)n : 0;
}

static void test_reset_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 5), 0x60); /* LSR: THRE | TEMT */
	assert_int_equal(rd(f, 2), 0xc1); /* IIR: no interrupt, FIFOs */
	assert_int_equal(rd(f, 3), 0x03);
	assert_int_equal(rd(f, 4), 0x08); /* OUT2 */
	assert_int_equal(rd(f, 6), 0xb0); /* DCD DSR CTS */
}

static void test_thr_writes_output(void **state)
{
	struct fixture *f = *state;
	char buf[8];

	wr(f, 0, 'h');
	wr(f, 0, 'i');
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(rd(f, 5) & 0x60, 0x60);
}

static void test_dlab_divisor_and_scratch(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	wr(f, 3, 0x83);
	wr(f, 0, 0x01);
	wr(f, 1, 0x02);
	assert_int_equal(rd(f, 0), 0x01);
	assert_int_equal(rd(f, 1), 0x02);
	wr(f, 3, 0x03);
	assert_int_equal(rd(f, 1), 0x00); /* IER untouched by the divisor write */
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), -1); /* DLL write sent nothing */
	wr(f, 7, 0x5a);
	assert_int_equal(rd(f, 7), 0x5a);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	wr(f, 4, 0x10 | 0x0f);
	assert_int_equal(rd(f, 6), 0xf0); /* DTR RTS OUT1 OUT2 -> DSR CTS RI DCD */
	wr(f, 0, 0xa5);
	assert_int_equal(rd(f, 5) & 1, 1);
	assert_int_equal(rd(f, 0), 0xa5);
	assert_int_equal(rd(f, 5) & 1, 0);
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), -1); /* nothing left the UART */
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;

	irqs(f);
	wr(f, 1, 0x02); /* enabling THRE with THR empty interrupts at once */
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, 2), 0xc2);
	assert_int_equal(rd(f, 2), 0xc1); /* reading IIR acknowledged it */
	wr(f, 0, 'x');
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, 2), 0xc2);
	wr(f, 4, 0x00); /* OUT2 off gates the line */
	wr(f, 0, 'y');
	assert_int_equal(irqs(f), 0);
}

static void test_input_is_bounded(void **state)
{
	struct fixture *f = *state;
	uint8_t data[200];
	unsigned got = 0;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	assert_int_equal(write(f->in[1], data, sizeof(data)), sizeof(data));
	wr(f, 1, 0x01);
	irqs(f);
	assert_true(loop_run_once(f->loop, 0) >= 1);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, 2), 0xc4); /* received data available */
	/* The FIFO holds 64 bytes; the rest waits in the pipe, in order. */
	while (got < sizeof(data)) {
		while (rd(f, 5) & 1) {
			assert_int_equal(rd(f, 0), got & 0xff);
			got++;
		}
		assert_true(got % SERIAL_FIFO_SIZE == 0 || got == sizeof(data));
		if (got < sizeof(data))
			assert_true(loop_run_once(f->loop, 100) >= 1);
	}
	assert_int_equal(got, sizeof(data));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thr_writes_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_divisor_and_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_is_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
