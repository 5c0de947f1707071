/* libFuzzer target: what the waiting jailer reads from the (untrusted) VMM
 * on the readiness pipe, and the UTF-8 sanitising of every --status-fd
 * string. Checks: the detail is printable, the sanitised text is valid
 * UTF-8 (jansson accepts it) and never longer than its buffer. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jailer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024], detail[512], out[64];
	size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
	int code;
	json_t *j;

	memcpy(line, data, n);
	line[n] = '\0';
	if (jail_ready_parse(line, &code, detail, sizeof(detail)) == JAIL_OUTCOME_VMM_FAILED)
		for (const char *c = detail; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				abort();
	if (code < -1 || code > 255)
		abort();
	if (jail_utf8_sanitize(line, out, sizeof(out)) >= sizeof(out))
		abort();
	j = json_string(out);
	if (!j)
		abort(); /* ill-formed UTF-8 got through */
	json_decref(j);
	return 0;
}
