/* Token buckets and the two-bucket rate limiter (Firecracker semantics).
 *
 * A bucket holds up to `size` tokens and refills continuously at
 * size / refill_time_ms. It starts full, plus `one_time_burst` extra tokens
 * that are spent first and never come back. A bucket with size 0 or
 * refill_time 0 is disabled and always pays.
 *
 * A rate limiter pairs a bandwidth bucket (bytes) with an ops bucket
 * (requests); a request proceeds only when both can pay. A request larger
 * than a bucket's size is let through once: it empties the bucket and blocks
 * the limiter for the proportional time (excess / size × refill_time).
 *
 * The clock is injected so that tests can drive time; nothing here sleeps,
 * allocates or takes locks. Net and entropy reuse it unchanged. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Monotonic nanoseconds. */
typedef uint64_t (*tb_clock_fn)(void);

/* The validated shape of Firecracker's TokenBucket object. */
struct token_bucket_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct token_bucket {
	struct token_bucket_config cfg;
	uint64_t budget;         /* refillable tokens, <= cfg.size */
	uint64_t burst;          /* one-time tokens left */
	uint64_t last_refill_ns; /* time up to which refill has been credited */
};

enum tb_result {
	TB_FAILURE = 0,      /* not enough tokens: nothing was taken */
	TB_SUCCESS,          /* paid */
	TB_OVERCONSUMPTION,  /* larger than size: bucket emptied, *ret_block_ns says for how long */
};

enum rate_limiter_kind {
	RATE_LIMITER_BANDWIDTH = 0,
	RATE_LIMITER_OPS,
	RATE_LIMITER_KINDS,
};

struct rate_limiter_config {
	struct token_bucket_config bucket[RATE_LIMITER_KINDS];
};

struct rate_limiter {
	struct token_bucket bucket[RATE_LIMITER_KINDS];
	tb_clock_fn clock;
	uint64_t blocked_until_ns; /* after an overconsumption; 0 when not blocked */
};

/* The default clock: CLOCK_MONOTONIC in ns. */
uint64_t tb_clock_monotonic(void);

bool token_bucket_enabled(const struct token_bucket *b);
/* A full bucket for cfg, as of now_ns. */
void token_bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg, uint64_t now_ns);
/* Credits the refill up to now_ns. */
void token_bucket_refill(struct token_bucket *b, uint64_t now_ns);
/* Takes tokens (after refilling to now_ns). On TB_OVERCONSUMPTION writes the
 * time the bucket must stay closed to *ret_block_ns. */
enum tb_result token_bucket_reduce(struct token_bucket *b, uint64_t tokens, uint64_t now_ns,
				   uint64_t *ret_block_ns);
/* Gives back tokens taken by a reduce that the caller could not use (capped at size). */
void token_bucket_refund(struct token_bucket *b, uint64_t tokens);
/* Nanoseconds until the bucket holds `tokens` (capped at size), 0 if it does now. */
uint64_t token_bucket_wait_ns(const struct token_bucket *b, uint64_t tokens, uint64_t now_ns);

/* Sets up (or live-replaces) both buckets; clock NULL means tb_clock_monotonic.
 * A replaced limiter starts full, as a PATCH in Firecracker does. */
void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg, tb_clock_fn clock);
bool rate_limiter_enabled(const struct rate_limiter *rl);
/* Pays `bytes` and `ops` from both buckets or neither. Returns true when the
 * request may proceed now. */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops);
/* Nanoseconds after which consume(bytes, ops) can succeed (at least 1 when it
 * cannot now); the device arms its timer with this. */
uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t bytes, uint64_t ops);
