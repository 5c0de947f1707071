/* See entropy.h. */
#include "entropy.h"

#include "json_field.h"

static const char *const entropy_fields[] = { "rate_limiter", NULL };

int entropy_config_parse(const json_t *obj, struct entropy_config *ret, char *err, size_t errlen)
{
	struct entropy_config c = { 0 };
	const json_t *rl;
	int r = json_field_check_object(obj, "EntropyDeviceConfig", entropy_fields, err, errlen);

	if (r < 0)
		return r;
	rl = json_object_get(obj, "rate_limiter");
	if (rl && !json_is_null(rl)) {
		r = rate_limiter_spec_parse(rl, &c.rate_limiter, err, errlen);
		if (r < 0)
			return r;
	}
	*ret = c;
	return 0;
}

json_t *entropy_config_to_json(const struct entropy_config *c)
{
	return json_pack("{s:o}", "rate_limiter", rate_limiter_spec_to_json(&c->rate_limiter));
}
