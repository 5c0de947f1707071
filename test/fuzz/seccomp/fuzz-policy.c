/* libFuzzer target for the seccomp policy loader (YAML → struct policy).
 * Policies that load are also compiled, so the libseccomp path sees every
 * combination the loader lets through. */
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct policy *p = NULL;
	struct seccomp_bundle b;

	if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &p, &err) < 0)
		return 0;
	if (bundle_build(p, &b) == 0)
		bundle_clear(&b);
	policy_free(p);
	return 0;
}
