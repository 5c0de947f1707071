/* virtio-rng through the mmio transport with guest memory built in-process:
 * buffers filled, the 64 KiB cap, a readable buffer refused, a host RNG
 * failure counted with used length 0, the rate limiter parking the queue
 * until its timer, and the config file's / API's entropy object. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/entropy.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "devices/virtio/rng.h"
#include "virtio-driver.h"

#define QN 16
#define MEM (16ull << 20)
#define BUF 0x100000ull

struct fx {
	struct guest_memory *m;
	struct device_env env;
	struct entropy_config cfg;
	struct rng_options opts;
	struct rng_dev *g;
	struct virtio_mmio *t;
};

static uint64_t fake_now = 1;
static int fill_errno; /* non-zero: the fake getrandom fails with it */

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Counts up from 1, so a filled buffer is never all zeros. */
static ssize_t fake_fill(void *buf, size_t len, unsigned flags)
{
	static uint8_t next = 1;
	uint8_t *p = buf;

	if (fill_errno) {
		errno = fill_errno;
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		p[i] = next++;
	return (ssize_t)len;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_memory_create(MEM, &f->m), 0);
	f->env = (struct device_env){ .vm_fd = -1, .mem = f->m };
	f->opts = (struct rng_options){ .clock = fake_clock, .fill = fake_fill };
	fill_errno = 0;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_destroy(f->t);
	rng_destroy(f->g);
	guest_memory_destroy(f->m);
	free(f);
	return 0;
}

static void fx_start(struct fx *f)
{
	assert_int_equal(rng_create(&f->env, &f->cfg, &f->opts, &f->g), 0);
	assert_int_equal(virtio_mmio_create(&f->env, 0, rng_virtio(f->g), &f->t), 0);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(vd_init(f->t, QN, 0) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
}

/* Offers one chain of one buffer (descriptor d) and kicks. */
static void offer(struct fx *f, uint16_t d, uint64_t addr, uint32_t len, uint16_t flags)
{
	h_desc(f->m, d, addr, len, flags, 0);
	h_offer(f->m, QN, d);
	virtio_mmio_notify(f->t, 0);
}

static uint32_t used_len(struct fx *f, uint16_t pos)
{
	uint32_t id, len;

	h_used_elem(f->m, QN, pos, &id, &len);
	return len;
}

static struct entropy_metrics counters(struct fx *f)
{
	struct entropy_metrics m;

	rng_metrics_get(f->g, &m);
	return m;
}

static void test_fills_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t back[4096], zero[4096] = { 0 };

	fx_start(f);
	offer(f, 0, BUF, sizeof(back), VIRTQ_DESC_F_WRITE);
	assert_int_equal(h_used_idx(f->m), 1);
	assert_int_equal(used_len(f, 0), sizeof(back));
	guest_memory_read(f->m, BUF, back, sizeof(back));
	assert_memory_not_equal(back, zero, sizeof(back));
	assert_int_equal(counters(f).entropy_bytes, sizeof(back));
	assert_int_equal(counters(f).entropy_event_count, 1);
}

/* Firecracker serves at most 64 KiB of one chain: the length says how much. */
static void test_large_buffer_capped(void **state)
{
	struct fx *f = *state;

	fx_start(f);
	offer(f, 0, BUF, 1u << 20, VIRTQ_DESC_F_WRITE);
	assert_int_equal(h_used_idx(f->m), 1);
	assert_int_equal(used_len(f, 0), RNG_MAX_BYTES);
}

static void test_readable_buffer_refused(void **state)
{
	struct fx *f = *state;

	fx_start(f);
	offer(f, 0, BUF, 64, 0);
	assert_int_equal(h_used_idx(f->m), 1);
	assert_int_equal(used_len(f, 0), 0);
	assert_int_equal(counters(f).entropy_event_fails, 1);
	assert_int_equal(counters(f).entropy_bytes, 0);
}

static void test_host_rng_failure(void **state)
{
	struct fx *f = *state;

	fx_start(f);
	fill_errno = EAGAIN;
	offer(f, 0, BUF, 64, VIRTQ_DESC_F_WRITE);
	assert_int_equal(h_used_idx(f->m), 1);
	assert_int_equal(used_len(f, 0), 0);
	assert_int_equal(counters(f).host_rng_fails, 1);
	fill_errno = 0;
	offer(f, 1, BUF, 64, VIRTQ_DESC_F_WRITE); /* the device still serves */
	assert_int_equal(h_used_idx(f->m), 2);
	assert_int_equal(used_len(f, 1), 64);
}

/* One op per 100 ms: the second request waits for the timer. */
static void test_rate_limited_parks_until_timer(void **state)
{
	struct fx *f = *state;

	f->cfg.rate_limiter.present = true;
	f->cfg.rate_limiter.bucket_present[RATE_LIMITER_OPS] = true;
	f->cfg.rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 1, .refill_time_ms = 100 };
	fx_start(f);
	offer(f, 0, BUF, 64, VIRTQ_DESC_F_WRITE);
	offer(f, 1, BUF + 4096, 64, VIRTQ_DESC_F_WRITE);
	assert_int_equal(h_used_idx(f->m), 1);
	assert_int_equal(counters(f).entropy_rate_limiter_throttled, 1);
	virtio_mmio_notify(f->t, 0); /* parked: a kick changes nothing */
	assert_int_equal(h_used_idx(f->m), 1);
	fake_now += 100 * 1000000ull;
	rng_timer_fired(f->g);
	assert_int_equal(h_used_idx(f->m), 2);
	assert_int_equal(counters(f).rate_limiter_event_count, 1);
}

static void test_config_parse(void **state)
{
	struct entropy_config c;
	char err[512];
	json_t *j;
	char *s;

	j = json_loads("{}", 0, NULL);
	assert_int_equal(entropy_config_parse(j, &c, err, sizeof(err)), 0);
	assert_false(c.rate_limiter.present);
	json_decref(j);
	j = json_loads("{\"rate_limiter\":{\"bandwidth\":{\"size\":1000,\"refill_time\":100}}}", 0, NULL);
	assert_int_equal(entropy_config_parse(j, &c, err, sizeof(err)), 0);
	assert_true(c.rate_limiter.present);
	assert_int_equal(c.rate_limiter.cfg.bucket[RATE_LIMITER_BANDWIDTH].size, 1000);
	json_decref(j);
	j = entropy_config_to_json(&c);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"rate_limiter\":{\"bandwidth\":{\"size\":1000,\"one_time_burst\":null,"
			       "\"refill_time\":100},\"ops\":null}}");
	free(s);
	json_decref(j);
	j = json_loads("{\"rate\":1}", 0, NULL);
	assert_int_equal(entropy_config_parse(j, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown field `rate`, expected one of `rate_limiter`"));
	json_decref(j);
	j = json_loads("[]", 0, NULL);
	assert_int_equal(entropy_config_parse(j, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected struct EntropyDeviceConfig"));
	json_decref(j);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_fills_buffers),
		T(test_large_buffer_capped),
		T(test_readable_buffer_refused),
		T(test_host_rng_failure),
		T(test_rate_limited_parks_until_timer),
		cmocka_unit_test(test_config_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
