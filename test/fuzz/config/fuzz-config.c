/* libFuzzer target for the config-file parser and the resource validators it
 * calls (machine-config, boot-source): arbitrary bytes must give 0 or a clean
 * error, never a crash, a leak or an fd left open. Run it (see doc/fuzzing.md):
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Dsanitize=true && ninja -C build-fuzz
 *   build-fuzz/test/fuzz/config/fuzz-config -max_total_time=60 test/fuzz/config/seeds */
#include <stddef.h>
#include <stdint.h>

#include "config/config_file.h"
#include "config/vm_config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	char err[1024];

	log_set_level(LOG_OFF);
	vm_config_init(&cfg);
	config_file_parse((const char *)data, size, &cfg, err, sizeof(err));
	vm_config_clear(&cfg);
	return 0;
}
