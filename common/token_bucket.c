#include "token_bucket.h"

#include <time.h>

#define NS_PER_MS 1000000ull

uint64_t tb_clock_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* refill_time_ms is client input up to 2^64-1: all products go through 128 bits. */
static unsigned __int128 refill_ns(const struct token_bucket *b)
{
	return (unsigned __int128)b->cfg.refill_time_ms * NS_PER_MS;
}

static uint64_t clamp_u64(unsigned __int128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

bool token_bucket_enabled(const struct token_bucket *b)
{
	return b->cfg.size != 0 && b->cfg.refill_time_ms != 0;
}

void token_bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg, uint64_t now_ns)
{
	*b = (struct token_bucket){
		.cfg = *cfg,
		.budget = cfg->size,
		.burst = cfg->one_time_burst,
		.last_refill_ns = now_ns,
	};
}

void token_bucket_refill(struct token_bucket *b, uint64_t now_ns)
{
	uint64_t elapsed, tokens, used_ns;

	if (!token_bucket_enabled(b) || now_ns <= b->last_refill_ns)
		return;
	elapsed = now_ns - b->last_refill_ns;
	tokens = clamp_u64((unsigned __int128)elapsed * b->cfg.size / refill_ns(b));
	if (tokens >= b->cfg.size - b->budget) {
		b->budget = b->cfg.size;
		b->last_refill_ns = now_ns;
		return;
	}
	/* Credit only the time those whole tokens took, so fractions carry over
	 * to the next refill instead of being lost to rounding. */
	used_ns = clamp_u64((unsigned __int128)tokens * refill_ns(b) / b->cfg.size);
	b->budget += tokens;
	b->last_refill_ns += used_ns;
}

enum tb_result token_bucket_reduce(struct token_bucket *b, uint64_t tokens, uint64_t now_ns,
				   uint64_t *ret_block_ns)
{
	if (!token_bucket_enabled(b))
		return TB_SUCCESS;
	if (b->burst >= tokens) {
		b->burst -= tokens;
		return TB_SUCCESS;
	}
	tokens -= b->burst;
	b->burst = 0;
	token_bucket_refill(b, now_ns);
	if (tokens > b->cfg.size) {
		/* Larger than the bucket could ever hold: let it through once and
		 * make the caller wait for the tokens it overdrew. */
		tokens -= b->budget;
		b->budget = 0;
		*ret_block_ns = clamp_u64((unsigned __int128)tokens * refill_ns(b) / b->cfg.size);
		return TB_OVERCONSUMPTION;
	}
	if (tokens > b->budget)
		return TB_FAILURE;
	b->budget -= tokens;
	return TB_SUCCESS;
}

void token_bucket_refund(struct token_bucket *b, uint64_t tokens)
{
	if (!token_bucket_enabled(b))
		return;
	b->budget = tokens >= b->cfg.size - b->budget ? b->cfg.size : b->budget + tokens;
}

uint64_t token_bucket_wait_ns(const struct token_bucket *b, uint64_t tokens, uint64_t now_ns)
{
	struct token_bucket t = *b;
	unsigned __int128 missing;

	if (!token_bucket_enabled(&t) || t.burst >= tokens)
		return 0;
	tokens -= t.burst;
	token_bucket_refill(&t, now_ns);
	if (tokens > t.cfg.size || tokens <= t.budget)
		return 0;
	missing = tokens - t.budget;
	/* Round up so that the timer never fires a hair before the tokens exist. */
	return clamp_u64((missing * refill_ns(&t) + t.cfg.size - 1) / t.cfg.size);
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg, tb_clock_fn clock)
{
	uint64_t now;

	rl->clock = clock ? clock : tb_clock_monotonic;
	now = rl->clock();
	for (unsigned i = 0; i < RATE_LIMITER_KINDS; i++)
		token_bucket_init(&rl->bucket[i], &cfg->bucket[i], now);
	rl->blocked_until_ns = 0;
}

bool rate_limiter_enabled(const struct rate_limiter *rl)
{
	return token_bucket_enabled(&rl->bucket[RATE_LIMITER_BANDWIDTH]) ||
	       token_bucket_enabled(&rl->bucket[RATE_LIMITER_OPS]);
}

static bool rate_limiter_blocked(struct rate_limiter *rl, uint64_t now)
{
	if (rl->blocked_until_ns == 0)
		return false;
	if (now >= rl->blocked_until_ns) {
		rl->blocked_until_ns = 0;
		return false;
	}
	return true;
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t now, block_bw = 0, block_ops = 0, block;
	enum tb_result bw, op;

	if (!rate_limiter_enabled(rl))
		return true;
	now = rl->clock();
	if (rate_limiter_blocked(rl, now))
		return false;
	bw = token_bucket_reduce(&rl->bucket[RATE_LIMITER_BANDWIDTH], bytes, now, &block_bw);
	if (bw == TB_FAILURE)
		return false;
	op = token_bucket_reduce(&rl->bucket[RATE_LIMITER_OPS], ops, now, &block_ops);
	if (op == TB_FAILURE) {
		/* Both or neither: hand the bandwidth back. */
		token_bucket_refund(&rl->bucket[RATE_LIMITER_BANDWIDTH], bytes);
		return false;
	}
	block = block_bw > block_ops ? block_bw : block_ops;
	if (block)
		rl->blocked_until_ns = now + block < now ? UINT64_MAX : now + block;
	return true;
}

uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t now = rl->clock(), a, b, w;

	if (rate_limiter_blocked(rl, now))
		return rl->blocked_until_ns - now;
	a = token_bucket_wait_ns(&rl->bucket[RATE_LIMITER_BANDWIDTH], bytes, now);
	b = token_bucket_wait_ns(&rl->bucket[RATE_LIMITER_OPS], ops, now);
	w = a > b ? a : b;
	return w ? w : 1;
}
