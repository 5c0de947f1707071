/* Firecracker's RateLimiter and TokenBucket objects, as block, net (and
 * entropy, later) take them: validated once here with serde's texts, and
 * kept as given so that GET /vm/config can echo them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "token_bucket.h"

/* A RateLimiter object as given. */
struct rate_limiter_spec {
	bool present;
	bool bucket_present[RATE_LIMITER_KINDS];
	bool burst_present[RATE_LIMITER_KINDS];
	struct rate_limiter_config cfg;
};

/* Parses one TokenBucket object (`size`, `refill_time` required,
 * `one_time_burst` optional; *ret_burst says whether it was given), as PUT
 * /serial takes it alone. 0 or -EINVAL with serde's text in err. */
int token_bucket_spec_parse(const json_t *j, struct token_bucket_config *ret, bool *ret_burst, char *err,
			    size_t errlen);
/* A TokenBucket as GET /vm/config shows it (new reference, NULL on ENOMEM). */
json_t *token_bucket_spec_to_json(const struct token_bucket_config *b, bool burst);
/* Parses a RateLimiter object: unknown fields, wrong types and missing
 * fields refused with serde's texts. 0 or -EINVAL with err; *ret is written
 * only on success. */
int rate_limiter_spec_parse(const json_t *obj, struct rate_limiter_spec *ret, char *err, size_t errlen);
/* JSON as GET /vm/config shows it: null when absent (new reference, NULL on ENOMEM). */
json_t *rate_limiter_spec_to_json(const struct rate_limiter_spec *s);
/* Firecracker's PATCH on a kept RateLimiter: a bucket named in the patch
 * replaces the one kept, a bucket left out stays, so GET /vm/config shows
 * the limiter in force. */
void rate_limiter_spec_patch(struct rate_limiter_spec *kept, const struct rate_limiter_spec *patch);
