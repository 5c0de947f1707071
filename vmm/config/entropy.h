/* Entropy device configuration: Firecracker's EntropyDeviceConfig (`PUT
 * /entropy` and the config file's `entropy` key), validated once here.
 *
 * The body has one optional field, a RateLimiter (config/rate_limiter.h).
 * One device per VM: a second PUT before boot replaces the first, as
 * Firecracker's builder does. Parsing is pure. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rate_limiter.h"

struct entropy_config {
	struct rate_limiter_spec rate_limiter; /* present false: no limiter */
};

/* Parses an EntropyDeviceConfig object: unknown fields and wrong types
 * refused with serde's texts. 0 or -EINVAL with err; *ret is written only on
 * success. */
int entropy_config_parse(const json_t *obj, struct entropy_config *ret, char *err, size_t errlen);
/* {"rate_limiter": ...} as GET /vm/config shows it (new reference, NULL on ENOMEM). */
json_t *entropy_config_to_json(const struct entropy_config *c);

/* The VM's one entropy device, when configured. */
struct entropy_slot {
	bool present;
	struct entropy_config cfg;
};
