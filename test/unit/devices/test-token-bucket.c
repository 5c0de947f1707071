/* The token bucket and rate limiter over time, with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "token_bucket.h"

#define MS 1000000ull

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static struct rate_limiter make_rl(uint64_t bw_size, uint64_t bw_burst, uint64_t bw_ms,
				   uint64_t ops_size, uint64_t ops_ms)
{
	struct rate_limiter_config cfg = { .bucket = {
		[RATE_LIMITER_BANDWIDTH] = { .size = bw_size, .one_time_burst = bw_burst, .refill_time_ms = bw_ms },
		[RATE_LIMITER_OPS] = { .size = ops_size, .refill_time_ms = ops_ms },
	} };
	struct rate_limiter rl;

	fake_now = 1000 * MS;
	rate_limiter_init(&rl, &cfg, fake_clock);
	return rl;
}

static void test_disabled_always_pays(void **state)
{
	struct rate_limiter rl = make_rl(0, 0, 100, 10, 0);

	assert_false(rate_limiter_enabled(&rl));
	for (int i = 0; i < 1000; i++)
		assert_true(rate_limiter_consume(&rl, 1u << 30, 1));
}

static void test_bucket_starts_full_and_refills_continuously(void **state)
{
	struct rate_limiter rl = make_rl(1000, 0, 100, 0, 0);

	assert_true(rate_limiter_consume(&rl, 1000, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
	/* 10 tokens per ms */
	fake_now += 5 * MS;
	assert_true(rate_limiter_consume(&rl, 50, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
	/* Fractions carry over: 0.05 ms five times is 2.5 tokens, not 0. */
	for (int i = 0; i < 5; i++)
		fake_now += MS / 20;
	assert_true(rate_limiter_consume(&rl, 2, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
	/* Refill is capped at size. */
	fake_now += 10000 * MS;
	assert_true(rate_limiter_consume(&rl, 1000, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
}

static void test_one_time_burst_spent_first_never_refilled(void **state)
{
	struct rate_limiter rl = make_rl(100, 500, 100, 0, 0);

	assert_true(rate_limiter_consume(&rl, 500, 1)); /* burst */
	assert_true(rate_limiter_consume(&rl, 100, 1)); /* bucket */
	assert_false(rate_limiter_consume(&rl, 1, 1));
	fake_now += 1000 * MS;
	assert_true(rate_limiter_consume(&rl, 100, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
}

static void test_both_buckets_or_neither(void **state)
{
	struct rate_limiter rl = make_rl(1000, 0, 100, 2, 100);

	assert_true(rate_limiter_consume(&rl, 100, 1));
	assert_true(rate_limiter_consume(&rl, 100, 1));
	/* ops is dry: the bandwidth must not be charged for the refused request */
	assert_false(rate_limiter_consume(&rl, 800, 1));
	fake_now += 50 * MS; /* one op back, 500 bytes refilled (capped at 1000) */
	assert_true(rate_limiter_consume(&rl, 1000, 1));
}

static void test_oversized_request_once_then_blocks_proportionally(void **state)
{
	struct rate_limiter rl = make_rl(1000, 0, 100, 0, 0);

	/* 3000 tokens from a full 1000 bucket: 2000 overdrawn = 2 refill times */
	assert_true(rate_limiter_consume(&rl, 3000, 1));
	assert_int_equal(rate_limiter_wait_ns(&rl, 1, 1), 200 * MS);
	fake_now += 199 * MS;
	assert_false(rate_limiter_consume(&rl, 1, 1));
	assert_int_equal(rate_limiter_wait_ns(&rl, 1, 1), 1 * MS);
	fake_now += 1 * MS;
	assert_true(rate_limiter_consume(&rl, 1, 1));
}

static void test_wait_is_exact_time_to_refill(void **state)
{
	struct rate_limiter rl = make_rl(1000, 0, 100, 0, 0);

	assert_true(rate_limiter_consume(&rl, 1000, 1));
	assert_int_equal(rate_limiter_wait_ns(&rl, 250, 1), 25 * MS);
	fake_now += 25 * MS - 1;
	assert_false(rate_limiter_consume(&rl, 250, 1));
	fake_now += 1;
	assert_true(rate_limiter_consume(&rl, 250, 1));
	assert_int_equal(rate_limiter_wait_ns(&rl, 0, 1), 1);
}

static void test_huge_values_do_not_overflow(void **state)
{
	struct rate_limiter rl = make_rl(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX);

	assert_true(rate_limiter_consume(&rl, UINT64_MAX, 1));
	assert_true(rate_limiter_consume(&rl, UINT64_MAX, 1));
	assert_false(rate_limiter_consume(&rl, UINT64_MAX, 1));
	fake_now = UINT64_MAX;
	assert_true(rate_limiter_wait_ns(&rl, UINT64_MAX, 1) > 0);
	rl = make_rl(1, 0, 1, 0, 0);
	assert_true(rate_limiter_consume(&rl, UINT64_MAX, 1)); /* overconsumption, block clamps */
	assert_false(rate_limiter_consume(&rl, 1, 1));
}

static void test_replace_live_starts_full(void **state)
{
	struct rate_limiter rl = make_rl(10, 0, 100, 0, 0);
	struct rate_limiter_config off = { 0 };

	assert_true(rate_limiter_consume(&rl, 10, 1));
	assert_false(rate_limiter_consume(&rl, 10, 1));
	rate_limiter_init(&rl, &off, fake_clock);
	assert_true(rate_limiter_consume(&rl, 1u << 20, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_always_pays),
		cmocka_unit_test(test_bucket_starts_full_and_refills_continuously),
		cmocka_unit_test(test_one_time_burst_spent_first_never_refilled),
		cmocka_unit_test(test_both_buckets_or_neither),
		cmocka_unit_test(test_oversized_request_once_then_blocks_proportionally),
		cmocka_unit_test(test_wait_is_exact_time_to_refill),
		cmocka_unit_test(test_huge_values_do_not_overflow),
		cmocka_unit_test(test_replace_live_starts_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
