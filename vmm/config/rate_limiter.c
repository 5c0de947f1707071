/* See rate_limiter.h. */
#include "rate_limiter.h"

#include <stdint.h>

#include "json_field.h"

static const char *const rate_limiter_fields[] = { "bandwidth", "ops", NULL };
static const char *const token_bucket_fields[] = { "size", "one_time_burst", "refill_time", NULL };
static const char *const bucket_key[RATE_LIMITER_KINDS] = { "bandwidth", "ops" };

int token_bucket_spec_parse(const json_t *j, struct token_bucket_config *ret, bool *ret_burst, char *err,
			    size_t errlen)
{
	struct token_bucket_config b = { 0 };
	int r, burst;

	r = json_field_check_object(j, "TokenBucket", token_bucket_fields, err, errlen);
	if (r >= 0)
		r = json_field_uint(j, "size", true, UINT64_MAX, "u64", &b.size, err, errlen);
	if (r >= 0)
		r = json_field_uint(j, "refill_time", true, UINT64_MAX, "u64", &b.refill_time_ms, err, errlen);
	if (r < 0)
		return r;
	burst = json_field_uint(j, "one_time_burst", false, UINT64_MAX, "u64", &b.one_time_burst, err, errlen);
	if (burst < 0)
		return burst;
	*ret = b;
	*ret_burst = burst > 0;
	return 0;
}

int rate_limiter_spec_parse(const json_t *obj, struct rate_limiter_spec *ret, char *err, size_t errlen)
{
	struct rate_limiter_spec s = { .present = true };
	int r = json_field_check_object(obj, "RateLimiter", rate_limiter_fields, err, errlen);

	for (unsigned i = 0; r >= 0 && i < RATE_LIMITER_KINDS; i++) {
		const json_t *b = json_object_get(obj, bucket_key[i]);

		if (!b || json_is_null(b))
			continue;
		s.bucket_present[i] = true;
		r = token_bucket_spec_parse(b, &s.cfg.bucket[i], &s.burst_present[i], err, errlen);
	}
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

json_t *token_bucket_spec_to_json(const struct token_bucket_config *b, bool burst)
{
	return json_pack("{s:I, s:o, s:I}", "size", (json_int_t)b->size, "one_time_burst",
			 burst ? json_integer((json_int_t)b->one_time_burst) : json_null(), "refill_time",
			 (json_int_t)b->refill_time_ms);
}

json_t *rate_limiter_spec_to_json(const struct rate_limiter_spec *s)
{
	json_t *o;

	if (!s->present)
		return json_null();
	o = json_object();
	for (unsigned i = 0; o && i < RATE_LIMITER_KINDS; i++) {
		json_t *b = s->bucket_present[i] ? token_bucket_spec_to_json(&s->cfg.bucket[i], s->burst_present[i])
						 : json_null();

		if (!b || json_object_set_new(o, bucket_key[i], b) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

void rate_limiter_spec_patch(struct rate_limiter_spec *kept, const struct rate_limiter_spec *patch)
{
	for (unsigned i = 0; patch->present && i < RATE_LIMITER_KINDS; i++) {
		if (!patch->bucket_present[i])
			continue;
		kept->present = true;
		kept->bucket_present[i] = true;
		kept->burst_present[i] = patch->burst_present[i];
		kept->cfg.bucket[i] = patch->cfg.bucket[i];
	}
}
