/* libFuzzer: the guest-facing MMDS request handler. The first input byte
 * picks V1/V2 (bit 0) and imds_compat (bit 1); the rest is the request as
 * the TCP layer frames it. Every input must get one well-formed answer:
 * a status line micro-http could write and a Content-Length equal to the
 * body that follows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmds/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *store_json = "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"tags\":{\"a\":\"b\"}}},"
				"\"n\":1,\"l\":[\"x\",{\"y\":null}],\"s\":\"v\"}";

static void check_answer(const char *out, size_t len)
{
	const char *end = memmem(out, len, "\r\n\r\n", 4), *cl;
	size_t body;

	if (len < 13 || (memcmp(out, "HTTP/1.1 ", 9) != 0 && memcmp(out, "HTTP/1.0 ", 9) != 0) || !end)
		abort();
	cl = memmem(out, (size_t)(end - out), "\r\nContent-Length: ", 18);
	if (!cl)
		abort();
	/* The answer is not NUL-terminated: read the digits by hand. */
	body = 0;
	for (const char *d = cl + 18; d < end && *d >= '0' && *d <= '9'; d++)
		body = body * 10 + (size_t)(*d - '0');
	if (body != len - (size_t)(end + 4 - out))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mmds_store *store;
	static struct mmds_tokens tokens;
	struct mmds_http_counters counters = { 0 };
	struct mmds_http m = { 0 };
	char *out;
	size_t len;

	if (!store) {
		json_t *v = json_loads(store_json, 0, NULL);
		if (!v || mmds_store_new(51200, &store) < 0 || mmds_store_put(store, v) < 0 ||
		    mmds_tokens_init(&tokens, NULL) < 0)
			abort();
		json_decref(v);
	}
	if (size < 1 || size > MMDS_HTTP_MAX_REQUEST)
		return 0;
	m = (struct mmds_http){ store, &tokens, data[0] & 1 ? MMDS_V2 : MMDS_V1, data[0] & 2, &counters };
	if (mmds_http_respond(&m, (const char *)data + 1, size - 1, &out, &len) < 0)
		return 0;
	check_answer(out, len);
	free(out);
	return 0;
}
