/* libFuzzer target for the /cpu-config parser (config/cpu_config.h), which
 * takes a custom CPU template from the API body or the config file: arbitrary
 * bytes must give a template or a clean error, never a crash, a leak or a
 * read past a string. The JSON is parsed as the API does (any value,
 * duplicate keys refused). Run it (see doc/fuzzing.md):
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Dsanitize=true && ninja -C build-fuzz
 *   build-fuzz/test/fuzz/config/fuzz-cpu-config -max_total_time=60 test/fuzz/config/seeds-cpu */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/cpu_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	struct cpu_config *c = NULL;
	char err[1024];

	if (!j)
		return 0;
	if (cpu_config_parse(j, &c, err, sizeof(err)) == 0)
		free(c);
	json_decref(j);
	return 0;
}
