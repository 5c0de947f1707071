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
#include "config/serial_config.h"
#include "devices/legacy/serial.h"
#include "token_bucket.h"

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

/* The console escape (stdin a terminal in raw mode): Ctrl-A Ctrl-A is one
 * Ctrl-A, Ctrl-A and another key is that key, Ctrl-A x ends ember and
 * nothing after it reaches the guest. */
static int escape_exits;

static void escape_exit(void *ctx)
{
	escape_exits++;
}

static void test_console_escape(void **state)
{
	struct fixture *f = *state;
	static const uint8_t typed[] = { 'a', 0x03, 0x01, 0x01, 0x01, 'b', 0x01, 'x', 'c' };
	static const uint8_t want[] = { 'a', 0x03, 0x01, 'b' };

	escape_exits = 0;
	serial_set_console_escape(f->s, escape_exit, NULL);
	assert_int_equal(write(f->in[1], typed, sizeof(typed)), sizeof(typed));
	assert_true(loop_run_once(f->loop, 0) >= 1);
	assert_int_equal(escape_exits, 1);
	for (unsigned i = 0; i < sizeof(want); i++) {
		assert_true(rd(f, 5) & 1);
		assert_int_equal(rd(f, 0), want[i]);
	}
	assert_false(rd(f, 5) & 1);
}

/* Without the escape (stdin a FIFO) every byte goes to the guest. */
static void test_fifo_input_is_raw(void **state)
{
	struct fixture *f = *state;
	static const uint8_t typed[] = { 0x01, 'x', 0x01 };

	assert_int_equal(write(f->in[1], typed, sizeof(typed)), sizeof(typed));
	assert_true(loop_run_once(f->loop, 0) >= 1);
	for (unsigned i = 0; i < sizeof(typed); i++)
		assert_int_equal(rd(f, 0), typed[i]);
}

static uint64_t now_ns(void)
{
	return tb_clock_monotonic();
}

/* Prints n bytes of 'x' through the data port. */
static void print_x(struct bus *pio, uint64_t n)
{
	uint8_t c = 'x';

	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(bus_write(pio, BASE, &c, 1), 0);
}

/* The default output cap against a printer at host speed (each byte is a
 * write here, far faster than any guest). A boot log passes: the first
 * drop comes only after the 1 MiB burst and the full 64 KiB bucket. Then,
 * over two seconds, what goes out is near 64 KiB a second, and everything
 * else is counted as dropped. */
static void test_default_cap_holds_a_fast_printer(void **state)
{
	struct token_bucket_config b = SERIAL_DEFAULT_BUCKET;
	uint64_t w0 = uart_metrics.write_count, d0 = uart_metrics.rate_limiter_dropped_bytes, t0, printed = 0;
	uint64_t written, dropped, rate;
	double secs;
	int sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct device_env env = { .vm_fd = -1 };
	struct serial *s;
	struct bus *pio;

	assert_true(sink >= 0);
	assert_int_equal(bus_create(&pio), 0);
	env.pio_bus = pio;
	assert_int_equal(serial_create(&env, BASE, 4, sink, -1, &s), 0);
	serial_set_output_limit(s, &b);
	while (uart_metrics.rate_limiter_dropped_bytes == d0)
		print_x(pio, 1);
	written = uart_metrics.write_count - w0;
	assert_true(written >= b.one_time_burst + b.size);
	w0 = uart_metrics.write_count;
	d0 = uart_metrics.rate_limiter_dropped_bytes;
	t0 = now_ns();
	while (now_ns() - t0 < 2000000000ull) {
		print_x(pio, 4096);
		printed += 4096;
	}
	secs = (double)(now_ns() - t0) / 1e9;
	written = uart_metrics.write_count - w0;
	dropped = uart_metrics.rate_limiter_dropped_bytes - d0;
	serial_destroy(s);
	bus_destroy(pio);
	close(sink);
	rate = (uint64_t)((double)written / secs);
	print_message("a printer of %.0f B/s got %lu B/s through, %lu bytes dropped\n", (double)printed / secs,
		      (unsigned long)rate, (unsigned long)dropped);
	if (printed < 4 * written)
		skip(); /* this host printed too slowly to lean on the cap */
	assert_int_equal(written + dropped, printed);
	assert_true(rate >= b.size * 9 / 10 && rate <= b.size * 11 / 10);
}

/* A bucket of size 0 turns the cap off: nothing is dropped. */
static void test_cap_off(void **state)
{
	struct fixture *f = *state;
	struct token_bucket_config off = { 0 };
	uint64_t d0 = uart_metrics.rate_limiter_dropped_bytes;
	char buf[8192];
	ssize_t n, got = 0;

	serial_set_output_limit(f->s, &off);
	for (unsigned i = 0; i < 4000; i++)
		wr(f, 0, 'z');
	while ((n = read(f->out[0], buf, sizeof(buf))) > 0)
		got += n;
	assert_int_equal(got, 4000);
	assert_int_equal(uart_metrics.rate_limiter_dropped_bytes, d0);
}

/* 256 bytes a second: the first 256 pass, the rest of the burst is dropped. */
static void test_small_limiter_drops_and_counts(void **state)
{
	struct fixture *f = *state;
	struct token_bucket_config b = { .size = 256, .refill_time_ms = 1000 };
	uint64_t d0 = uart_metrics.rate_limiter_dropped_bytes;
	char buf[8192];
	ssize_t n, got = 0;

	serial_set_output_limit(f->s, &b);
	for (unsigned i = 0; i < 1000; i++)
		wr(f, 0, 'z');
	while ((n = read(f->out[0], buf, sizeof(buf))) > 0)
		got += n;
	assert_true(got >= 256 && got < 300); /* a refill of a few bytes may land meanwhile */
	assert_int_equal(uart_metrics.rate_limiter_dropped_bytes - d0, 1000 - (uint64_t)got);
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
		cmocka_unit_test_setup_teardown(test_console_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_input_is_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_cap_holds_a_fast_printer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_limiter_drops_and_counts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
