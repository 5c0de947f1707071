/* libFuzzer: the cgroup template parser and its mapping to v1 and v2 files. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jailer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jail_template_value pairs[16];
	struct jail_cgroup_value files[JAIL_CGROUP_MAX];
	char err[256];
	int n = jail_template_parse((const char *)data, size, pairs, 16, err, sizeof(err));

	if (n < 0)
		return 0;
	for (int version = 1; version <= 2; version++) {
		int m = jail_template_to_files(pairs, (size_t)n, version, files, JAIL_CGROUP_MAX, err, sizeof(err));

		for (int i = 0; i < m; i++)
			if (jail_cgroup_check_value(files[i].value) < 0)
				__builtin_trap(); /* every mapped value must pass the allowlist checks */
	}
	return 0;
}
