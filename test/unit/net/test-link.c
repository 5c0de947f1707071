/* An interface's stack on a real vmm loop: only enabled interfaces get one,
 * the TCP timer is armed while a segment waits for its ACK and fires (the
 * kick runs), and is disarmed once everything is acknowledged. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config/mmds.h"
#include "core/loop.h"
#include "mmds/guest.h"
#include "mmds/store.h"
#include "net/bytes.h"
#include "net/ipv4.h"
#include "net/link.h"
#include "net/stack.h"

#define GUEST_IP 0xc0a80002u

static const uint8_t gmac[6] = { 2, 0, 0, 0, 0, 9 };

struct world {
	struct event_loop *loop;
	struct mmds_store *store;
	struct mmds_guest *g;
	struct mmds_link *l;
	int kicks;
};

static void kick(void *ctx)
{
	struct world *w = ctx;

	w->kicks++;
	mmds_link_tick(w->l);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct mmds_config cfg = { .enabled = true, .version = MMDS_V1, .ipv4_address = MMDS_IPV4_DEFAULT,
				   .iface_count = 1 };

	strcpy(cfg.iface_id[0], "eth0");
	assert_int_equal(loop_create(&w->loop), 0);
	assert_int_equal(mmds_store_new(1024, &w->store), 0);
	assert_int_equal(mmds_guest_new(w->store, "test-vm", NULL, &w->g), 0);
	mmds_guest_configure(w->g, &cfg);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	mmds_link_free(w->l);
	mmds_guest_free(w->g);
	mmds_store_free(w->store);
	loop_destroy(w->loop);
	free(w);
	return 0;
}

/* A segment from the guest, after a 12-byte virtio-net header. */
static bool send_seg(struct world *w, uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t f[128] = { 0 };
	struct tcp_out h = { .sport = 4000, .dport = 80, .seq = seq, .ack = ack, .flags = flags, .window = 1000 };
	size_t n = 12 + eth_write(f + 12, MMDS_MAC, gmac, ETHERTYPE_IPV4), l;
	struct iovec iov = { f, 0 };

	l = tcp_write(f + n + IPV4_HDR_LEN, GUEST_IP, MMDS_IPV4_DEFAULT, &h, NULL, 0);
	ipv4_write(f + n, GUEST_IP, MMDS_IPV4_DEFAULT, IPV4_PROTO_TCP, l);
	iov.iov_len = n + IPV4_HDR_LEN + l;
	return mmds_link_detour(w->l, &iov, 1, 12, false);
}

static uint32_t read_seq(struct world *w)
{
	uint8_t f[1600];
	struct iovec iov = { f, sizeof(f) };

	assert_true(mmds_link_pending(w->l));
	assert_true(mmds_link_read(w->l, &iov, 1, sizeof(f), 12) > 12 + 14 + 20 + 20);
	return net_get32(f + 12 + 14 + 20 + 4);
}

static void test_only_enabled_interfaces(void **state)
{
	struct world *w = *state;
	struct mmds_link_ops ops = { kick, w };

	assert_int_equal(mmds_link_new(w->g, w->loop, "eth1", 0, &ops, &w->l), 0);
	assert_null(w->l);
	assert_int_equal(mmds_link_new(w->g, w->loop, "eth0", 0, &ops, &w->l), 0);
	assert_non_null(w->l);
}

static void test_timer_armed_while_needed(void **state)
{
	struct world *w = *state;
	struct mmds_link_ops ops = { kick, w };
	time_t until;
	uint32_t isn;

	assert_int_equal(mmds_link_new(w->g, w->loop, "eth0", 0, &ops, &w->l), 0);
	assert_int_equal(mmds_link_armed(w->l), 0);
	assert_true(send_seg(w, 100, 0, TCP_SYN));
	assert_int_equal(mmds_link_armed(w->l), 0); /* nothing sent yet */
	isn = read_seq(w);
	assert_true(mmds_link_armed(w->l) != 0);
	/* no ACK: the timer fires and the SYN-ACK is due again (a liveness bound, not a timing) */
	until = time(NULL) + 5;
	while (!w->kicks && time(NULL) < until)
		loop_run_once(w->loop, 100);
	assert_true(w->kicks > 0);
	assert_int_equal(read_seq(w), isn);
	/* acknowledged: the timer is disarmed */
	assert_true(send_seg(w, 101, isn + 1, TCP_ACK));
	assert_int_equal(mmds_link_armed(w->l), 0);
	assert_int_equal(mmds_stack_connections(mmds_link_stack(w->l)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_enabled_interfaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_armed_while_needed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
