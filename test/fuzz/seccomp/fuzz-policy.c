/* libFuzzer target for the seccomp policy loader (YAML → struct policy).
 * Policies that load are also compiled, so the libseccomp path sees every
 * combination the loader lets through. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct policy *p = NULL;
	struct seccomp_bundle b;
	int r;

	if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &p, &err) < 0)
		return 0;
	/* An accepted policy must compile; only a program over the kernel's
	 * 4096-instruction limit may fail, and that is reported, not a bug. */
	r = bundle_build(p, &b);
	if (r == 0)
		bundle_clear(&b);
	else if (r != -E2BIG && r != -ENOMEM) {
		fprintf(stderr, "accepted policy does not compile: %s\n", strerror(-r));
		abort();
	}
	policy_free(p);
	return 0;
}
