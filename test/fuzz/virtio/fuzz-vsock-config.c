/* libFuzzer: the VsockDeviceConfig validator on arbitrary JSON (what
 * PUT /vsock and the config file's `vsock` key feed it), and the JSON it
 * gives back for GET /vm/config. Binding is left out: the fuzzer never
 * creates a socket at a path it invented. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/vsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	struct vsock_config c;
	char err[1024];

	if (!j)
		return 0;
	if (vsock_config_parse(j, &c, err, sizeof(err)) >= 0) {
		json_t *out = vsock_config_to_json(&c);
		struct vsock_config back;

		/* What GET shows must load back as the same device. */
		if (!out || vsock_config_parse(out, &back, err, sizeof(err)) < 0 || back.guest_cid != c.guest_cid ||
		    strcmp(back.uds_path, c.uds_path) != 0)
			abort();
		json_decref(out);
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort(); /* every refusal says why */
	}
	json_decref(j);
	return 0;
}
