/* libFuzzer: the SerialConfig validator (PUT /serial and the config file's
 * `serial` key) and the EntropyDeviceConfig validator (PUT /entropy and
 * `entropy`) on arbitrary JSON. Opening serial_out_path is left out: the
 * fuzzer never creates a file at a path it invented. An accepted entropy
 * config, printed as GET /vm/config shows it, must parse back to itself. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/entropy.h"
#include "config/serial_config.h"

static void fuzz_serial(const json_t *j)
{
	struct serial_config c;
	char err[1024];

	if (serial_config_parse(j, &c, err, sizeof(err)) >= 0) {
		if (c.out_path && !c.out_path[0])
			abort(); /* an empty path is refused */
		serial_config_clear(&c);
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort(); /* every refusal says why */
	}
}

static void fuzz_entropy(const json_t *j)
{
	struct entropy_config c, back;
	char err[1024];
	json_t *out;

	if (entropy_config_parse(j, &c, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return;
	}
	out = entropy_config_to_json(&c);
	if (!out || entropy_config_parse(out, &back, err, sizeof(err)) < 0 ||
	    memcmp(&back.rate_limiter.cfg, &c.rate_limiter.cfg, sizeof(c.rate_limiter.cfg)) != 0 ||
	    back.rate_limiter.present != c.rate_limiter.present)
		abort();
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);

	if (!j)
		return 0;
	fuzz_serial(j);
	fuzz_entropy(j);
	json_decref(j);
	return 0;
}
