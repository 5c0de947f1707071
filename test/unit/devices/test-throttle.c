/* The device side of a rate limiter: destroying a throttle that was never
 * initialised (a device whose create failed before it, from a zeroed struct)
 * must not close fd 0; one that was closes exactly its own timer. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/rate_limiter.h"
#include "devices/virtio/throttle.h"

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The harness may run with stdin closed: make fd 0 something to lose. */
static void hold_stdin(void)
{
	if (!fd_open(0))
		assert_int_equal(open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
}

static void test_zeroed_destroy_keeps_fd0(void **state)
{
	struct virtio_throttle t = { 0 };

	hold_stdin();
	virtio_throttle_destroy(&t);
	assert_true(fd_open(0));
	virtio_throttle_destroy(&t);
	assert_true(fd_open(0));
}

static void test_init_destroy_closes_own_timer(void **state)
{
	struct rate_limiter_config cfg = { 0 };
	struct virtio_throttle t;
	int fd;

	hold_stdin();
	assert_int_equal(virtio_throttle_init(&t, NULL, &cfg, NULL, NULL, NULL), 0);
	fd = t.timer_fd;
	assert_true(fd > 2);
	assert_true(fd_open(fd));
	virtio_throttle_destroy(&t);
	assert_false(fd_open(fd));
	assert_true(fd_open(0));
	virtio_throttle_destroy(&t); /* twice is harmless */
	assert_true(fd_open(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_destroy_keeps_fd0),
		cmocka_unit_test(test_init_destroy_closes_own_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
