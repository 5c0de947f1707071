#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"

struct ctx {
	struct event_loop *loop;
	int fd;
	int other_fd;
	int calls;
};

static void on_ready(void *p, uint32_t events)
{
	struct ctx *c = p;
	uint64_t v;

	c->calls++;
	assert_true(events & EPOLLIN);
	assert_int_equal(read(c->fd, &v, sizeof(v)), sizeof(v));
}

static void on_ready_remove_other(void *p, uint32_t events)
{
	struct ctx *c = p;

	on_ready(p, events);
	loop_remove(c->loop, c->other_fd);
	loop_remove(c->loop, c->fd);
	loop_stop(c->loop);
}

static void test_dispatch(void **state)
{
	struct event_loop *loop = NULL;
	struct ctx c = { .fd = eventfd(0, EFD_CLOEXEC) };
	uint64_t one = 1;

	assert_int_equal(loop_create(&loop), 0);
	assert_int_equal(loop_add(loop, c.fd, EPOLLIN, on_ready, &c), 0);
	assert_int_equal(loop_add(loop, c.fd, EPOLLIN, on_ready, &c), -EEXIST);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(loop_remove(loop, c.fd), 0);
	assert_int_equal(loop_remove(loop, c.fd), -ENOENT);
	loop_destroy(loop);
	close(c.fd);
}

static void test_remove_inside_handler(void **state)
{
	struct event_loop *loop = NULL;
	struct ctx a = { .fd = eventfd(1, EFD_CLOEXEC) };
	struct ctx b = { .fd = eventfd(1, EFD_CLOEXEC) };

	assert_int_equal(loop_create(&loop), 0);
	a.loop = b.loop = loop;
	a.other_fd = b.fd;
	b.other_fd = a.fd;
	assert_int_equal(loop_add(loop, a.fd, EPOLLIN, on_ready_remove_other, &a), 0);
	assert_int_equal(loop_add(loop, b.fd, EPOLLIN, on_ready_remove_other, &b), 0);
	assert_int_equal(loop_run(loop), 0);
	/* Both were ready in the same batch; only the first handler may run. */
	assert_int_equal(a.calls + b.calls, 1);
	assert_true(loop_stopped(loop));
	loop_destroy(loop);
	close(a.fd);
	close(b.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_remove_inside_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
