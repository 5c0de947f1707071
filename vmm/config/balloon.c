#include "balloon.h"

#include <errno.h>
#include <stdio.h>

#include "json_field.h"

static const char *const balloon_fields[] = { "amount_mib", "deflate_on_oom", "stats_polling_interval_s",
					      "free_page_hinting", "free_page_reporting", NULL };

static int balloon_read_fields(const json_t *obj, struct balloon_config *c, char *err, size_t errlen)
{
	uint64_t amount = 0, interval = 0;
	int r;

	r = json_field_check_object(obj, "BalloonDeviceConfig", balloon_fields, err, errlen);
	if (r >= 0)
		r = json_field_uint(obj, "amount_mib", true, UINT32_MAX, "u32", &amount, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "deflate_on_oom", true, &c->deflate_on_oom, err, errlen);
	if (r >= 0)
		r = json_field_uint(obj, "stats_polling_interval_s", false, UINT16_MAX, "u16", &interval, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "free_page_hinting", false, &c->free_page_hinting, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "free_page_reporting", false, &c->free_page_reporting, err, errlen);
	if (r < 0)
		return r;
	c->amount_mib = (uint32_t)amount;
	c->stats_polling_interval_s = (uint16_t)interval;
	return 0;
}

int balloon_config_parse(const json_t *obj, struct balloon_config *ret, char *err, size_t errlen)
{
	struct balloon_config c = { 0 };
	int r = balloon_read_fields(obj, &c, err, errlen);

	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

json_t *balloon_config_to_json(const struct balloon_config *c)
{
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)c->amount_mib, "deflate_on_oom",
			 c->deflate_on_oom, "stats_polling_interval_s", (json_int_t)c->stats_polling_interval_s,
			 "free_page_hinting", c->free_page_hinting, "free_page_reporting", c->free_page_reporting);
}

bool balloon_config_fits(const struct balloon_config *c, uint64_t mem_size_mib)
{
	return c->amount_mib <= mem_size_mib;
}

int balloon_update_parse(const json_t *obj, uint32_t *ret_amount_mib, char *err, size_t errlen)
{
	static const char *const fields[] = { "amount_mib", NULL };
	uint64_t v = 0;
	int r = json_field_check_object(obj, "BalloonUpdateConfig", fields, err, errlen);

	if (r >= 0)
		r = json_field_uint(obj, "amount_mib", true, UINT32_MAX, "u32", &v, err, errlen);
	if (r < 0)
		return r;
	*ret_amount_mib = (uint32_t)v;
	return 0;
}

int balloon_stats_update_parse(const json_t *obj, uint16_t *ret_interval_s, char *err, size_t errlen)
{
	static const char *const fields[] = { "stats_polling_interval_s", NULL };
	uint64_t v = 0;
	int r = json_field_check_object(obj, "BalloonUpdateStatsConfig", fields, err, errlen);

	if (r >= 0)
		r = json_field_uint(obj, "stats_polling_interval_s", true, UINT16_MAX, "u16", &v, err, errlen);
	if (r < 0)
		return r;
	*ret_interval_s = (uint16_t)v;
	return 0;
}

int balloon_hint_start_parse(const json_t *obj, bool *ret_ack_on_stop, char *err, size_t errlen)
{
	static const char *const fields[] = { "acknowledge_on_stop", NULL };
	bool ack = true;
	int r;

	if (obj) {
		r = json_field_check_object(obj, "StartHintingCmd", fields, err, errlen);
		if (r >= 0)
			r = json_field_bool(obj, "acknowledge_on_stop", false, &ack, err, errlen);
		if (r < 0)
			return r;
	}
	*ret_ack_on_stop = ack;
	return 0;
}

int balloon_slot_parse(const json_t *j, struct balloon_slot *s, char *err, size_t errlen)
{
	struct balloon_config c;
	int r;

	if (!json_is_object(j)) {
		snprintf(err, errlen, "expected one balloon device object (one device per VM)");
		return -EINVAL;
	}
	r = balloon_config_parse(j, &c, err, errlen);
	if (r < 0)
		return r;
	s->present = true;
	s->cfg = c;
	return 0;
}
