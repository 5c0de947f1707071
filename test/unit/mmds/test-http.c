/* The guest-facing MMDS request handler: whole responses, byte for byte, as
 * Firecracker's MMDS writes them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmds/http.h"

#define HEAD(ver, status) ver " " status " \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
#define TEXT(len) "Content-Type: text/plain\r\nContent-Length: " #len "\r\n\r\n"
#define JSON(len) "Content-Type: application/json\r\nContent-Length: " #len "\r\n\r\n"

static const char *data = "{\"name\":{\"first\":\"John\",\"second\":\"Doe\"},\"age\":43,"
			  "\"phones\":{\"mobile\":\"+442345678\",\"home\":{\"UK\":\"+441234567\",\"RO\":\"+401234567\"}},"
			  "\"list\":[\"zero\",{\"a\":1}],\"a/b\":\"slash\",\"nul\":\"x\\u0000y\"}";

struct fixture {
	struct mmds_store *store;
	struct mmds_tokens tokens;
	struct mmds_http_counters counters;
	struct mmds_http m;
	uint64_t now;
	uint8_t next;
};

static int fake_random(void *buf, size_t len, void *opaque)
{
	struct fixture *f = opaque;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = f->next++;
	return 0;
}

static uint64_t fake_now(void *opaque)
{
	return ((struct fixture *)opaque)->now;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mmds_token_source src = { fake_random, fake_now, f };
	json_t *v = json_loads(data, JSON_ALLOW_NUL, NULL);

	assert_non_null(f);
	assert_non_null(v);
	f->now = 5000;
	assert_int_equal(mmds_store_new(51200, &f->store), 0);
	assert_int_equal(mmds_store_put(f->store, v), 0);
	json_decref(v);
	assert_int_equal(mmds_tokens_init(&f->tokens, &src), 0);
	assert_int_equal(mmds_tokens_set_instance_id(&f->tokens, "test"), 0);
	f->m = (struct mmds_http){ f->store, &f->tokens, MMDS_V1, false, &f->counters };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	mmds_store_free(f->store);
	free(f);
	return 0;
}

/* The whole answer to req, NUL-terminated for comparison (the body may hold NUL: len says). */
static char *respond(struct fixture *f, const char *req, size_t *ret_len)
{
	char *out, *s;
	size_t len;

	assert_int_equal(mmds_http_respond(&f->m, req, strlen(req), &out, &len), 0);
	s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, out, len);
	s[len] = '\0';
	free(out);
	if (ret_len)
		*ret_len = len;
	return s;
}

static void check(struct fixture *f, const char *req, const char *want)
{
	char *got = respond(f, req, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("request %s\nanswered %s\nwanted   %s", req, got, want);
	free(got);
}

static void test_imds_listing(void **state)
{
	struct fixture *f = *state;

	check(f, "GET / HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(30) "a/b\nage\nlist\nname/\nnul\nphones/");
	check(f, "GET /phones HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(12) "home/\nmobile");
	check(f, "GET /phones/home/ HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(5) "RO\nUK");
	check(f, "GET /name/first HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(4) "John");
	/* Repeated slashes collapse; curl's Accept: * / * and text/plain read IMDS. */
	check(f, "GET //name///first/ HTTP/1.1\r\nAccept: */*\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(4) "John");
	check(f, "GET /list/0 HTTP/1.1\r\nAccept: text/plain\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(4) "zero");
	check(f, "GET /list/1 HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(1) "a");
	check(f, "GET /a~1b HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(5) "slash");
}

static void test_imds_unsupported_type(void **state)
{
	struct fixture *f = *state;
	const char *want = HEAD("HTTP/1.1", "501") TEXT(57) "Cannot retrieve value. The value has an unsupported type.";

	check(f, "GET /age HTTP/1.1\r\n\r\n", want);
	check(f, "GET /list HTTP/1.1\r\n\r\n", want);
}

static void test_string_with_nul(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *got = respond(f, "GET /nul HTTP/1.1\r\n\r\n", &len);
	const char want[] = HEAD("HTTP/1.1", "200") TEXT(3) "x\0y";

	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	free(got);
}

static void test_json(void **state)
{
	struct fixture *f = *state;

	check(f, "GET /name HTTP/1.0\r\nAccept: application/json\r\n\r\n",
	      HEAD("HTTP/1.0", "200") JSON(31) "{\"first\":\"John\",\"second\":\"Doe\"}");
	check(f, "GET /name/first HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	      HEAD("HTTP/1.1", "200") JSON(6) "\"John\"");
	check(f, "GET /age HTTP/1.1\r\naccept:  application/json \r\n\r\n", HEAD("HTTP/1.1", "200") JSON(2) "43");
	check(f, "GET /list HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	      HEAD("HTTP/1.1", "200") JSON(16) "[\"zero\",{\"a\":1}]");
	/* The last understood Accept wins. */
	check(f, "GET /age HTTP/1.1\r\nAccept: application/json\r\nAccept: text/plain\r\n\r\n",
	      HEAD("HTTP/1.1", "501") TEXT(57) "Cannot retrieve value. The value has an unsupported type.");
}

static void test_imds_compat(void **state)
{
	struct fixture *f = *state;

	f->m.imds_compat = true;
	check(f, "GET /name HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	      HEAD("HTTP/1.1", "200") JSON(12) "first\nsecond");
	check(f, "GET /age HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	      HEAD("HTTP/1.1", "501") TEXT(57) "Cannot retrieve value. The value has an unsupported type.");
}

static void test_not_found(void **state)
{
	struct fixture *f = *state;

	check(f, "GET http://169.254.169.254/invalid HTTP/1.0\r\n\r\n",
	      HEAD("HTTP/1.0", "404") TEXT(29) "Resource not found: /invalid.");
	check(f, "GET /list/2 HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "404") TEXT(28) "Resource not found: /list/2.");
	check(f, "GET /list/01 HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "404") TEXT(29) "Resource not found: /list/01.");
	check(f, "GET //nope// HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "404") TEXT(29) "Resource not found: //nope//.");
}

static void test_methods(void **state)
{
	struct fixture *f = *state;
	const char *not_allowed = HEAD("HTTP/1.0", "405") "Allow: GET, PUT\r\n" TEXT(24) "Not allowed HTTP method.";

	check(f, "PATCH http://169.254.169.255/ HTTP/1.0\r\n\r\n", not_allowed);
	check(f, "DELETE / HTTP/1.0\r\n\r\n", not_allowed);
	f->m.version = MMDS_V2;
	check(f, "DELETE / HTTP/1.0\r\n\r\n", not_allowed);
	check(f, "POST / HTTP/1.0\r\n\r\n", HEAD("HTTP/1.1", "501") TEXT(24) "Unsupported HTTP method.");
	check(f, "HEAD / HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "501") TEXT(24) "Unsupported HTTP method.");
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	const char *invalid = HEAD("HTTP/1.1", "400") TEXT(16) "Invalid request.";

	check(f, "GET http:// HTTP/1.0\r\n\r\n", HEAD("HTTP/1.0", "400") TEXT(12) "Invalid URI.");
	check(f, "GET http://169.254.169.254 HTTP/1.0\r\n\r\n", HEAD("HTTP/1.0", "400") TEXT(12) "Invalid URI.");
	check(f, "GET / HTTP/1.1\r\n", invalid);
	check(f, "", invalid);
	check(f, "\x01\x02garbage\r\n\r\n", invalid);
	/* A body announced but not there (the TCP layer frames at the empty line). */
	check(f, "PUT /latest/api/token HTTP/1.1\r\nContent-Length: 5\r\n\r\n", invalid);
	check(f, "GET / HTTP/2.0\r\n\r\n", HEAD("HTTP/1.1", "501") TEXT(25) "Unsupported HTTP version.");
}

static void test_v1_tokens_counted(void **state)
{
	struct fixture *f = *state;
	char *put = respond(f, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n", NULL);
	char *tok = strstr(put, "\r\n\r\n") + 4, req[256];

	assert_int_equal(strlen(tok), MMDS_TOKEN_LEN);
	check(f, "GET /name/first HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(4) "John");
	check(f, "GET /name/first HTTP/1.1\r\nX-metadata-token: nope\r\n\r\n", HEAD("HTTP/1.1", "200") TEXT(4) "John");
	snprintf(req, sizeof(req), "GET /name/first HTTP/1.1\r\nX-aws-ec2-metadata-token: %s\r\n\r\n", tok);
	check(f, req, HEAD("HTTP/1.1", "200") TEXT(4) "John");
	assert_int_equal(f->counters.rx_no_token, 1);
	assert_int_equal(f->counters.rx_invalid_token, 1);
	free(put);
}

static void test_v2_session(void **state)
{
	struct fixture *f = *state;
	char *put, *tok, req[256];

	f->m.version = MMDS_V2;
	check(f, "GET /name/first HTTP/1.1\r\n\r\n",
	      HEAD("HTTP/1.1", "401") TEXT(113) "No MMDS token provided. Use `X-metadata-token` or "
						"`X-aws-ec2-metadata-token` header to specify the session token.");
	check(f, "GET /name/first HTTP/1.1\r\nX-metadata-token: nope\r\n\r\n",
	      HEAD("HTTP/1.1", "401") TEXT(21) "MMDS token not valid.");
	put = respond(f, "PUT /latest/api/token HTTP/1.1\r\nx-AWS-ec2-metadata-token-ttl-seconds: 2\r\n\r\n", NULL);
	tok = strstr(put, "\r\n\r\n") + 4;
	snprintf(req, sizeof(req),
		 HEAD("HTTP/1.1", "200") "x-AWS-ec2-metadata-token-ttl-seconds: 2\r\n" TEXT(48) "%s", tok);
	assert_string_equal(put, req);
	snprintf(req, sizeof(req), "GET /name/first HTTP/1.1\r\nx-metadata-TOKEN: %s\r\n\r\n", tok);
	check(f, req, HEAD("HTTP/1.1", "200") TEXT(4) "John");
	f->now += 2000; /* expired */
	check(f, req, HEAD("HTTP/1.1", "401") TEXT(21) "MMDS token not valid.");
	assert_int_equal(f->counters.rx_no_token, 1);
	assert_int_equal(f->counters.rx_invalid_token, 2);
	free(put);
}

static void test_token_errors(void **state)
{
	struct fixture *f = *state;

	f->m.version = MMDS_V2;
	check(f, "PUT /latest/api/toke HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	      HEAD("HTTP/1.1", "404") TEXT(37) "Resource not found: /latest/api/toke.");
	check(f, "PUT /latest/api/token/ HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	      HEAD("HTTP/1.1", "404") TEXT(39) "Resource not found: /latest/api/token/.");
	check(f, "PUT /latest/api/token HTTP/1.1\r\n\r\n",
	      HEAD("HTTP/1.1", "400") TEXT(152) "Token time to live value not found. Use "
						"`X-metadata-token-ttl-seconds` or `X-aws-ec2-metadata-token-ttl-seconds` "
						"header to specify the token's lifetime.");
	check(f, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 0\r\n\r\n",
	      HEAD("HTTP/1.1", "400") TEXT(93) "Invalid time to live value provided for token: 0. Please "
					       "provide a value between 1 and 21600.");
	check(f, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21601\r\n\r\n",
	      HEAD("HTTP/1.1", "400") TEXT(97) "Invalid time to live value provided for token: 21601. Please "
					       "provide a value between 1 and 21600.");
	check(f, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: -1\r\n\r\n",
	      HEAD("HTTP/1.1", "400") TEXT(81) "Invalid header. Reason: Invalid value. "
					       "Key:X-metadata-token-ttl-seconds; Value:-1");
	check(f, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 4294967296\r\n\r\n",
	      HEAD("HTTP/1.1", "400") TEXT(89) "Invalid header. Reason: Invalid value. "
					       "Key:X-metadata-token-ttl-seconds; Value:4294967296");
	check(f, "PUT /latest/api/token HTTP/1.1\r\nx-forwarded-for: 1.2.3.4\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	      HEAD("HTTP/1.1", "400") TEXT(69) "Invalid header. Reason: Unsupported header name. Key: x-forwarded-for");
	assert_int_equal(f->tokens.issued, 0);
}

static void test_store_not_initialized(void **state)
{
	struct fixture *f = *state;

	f->store = mmds_store_free(f->store);
	assert_int_equal(mmds_store_new(100, &f->store), 0);
	f->m.store = f->store;
	check(f, "GET / HTTP/1.1\r\nAccept: application/json\r\n\r\n", HEAD("HTTP/1.1", "200") JSON(4) "null");
	check(f, "GET / HTTP/1.1\r\n\r\n",
	      HEAD("HTTP/1.1", "501") TEXT(57) "Cannot retrieve value. The value has an unsupported type.");
	check(f, "GET /a HTTP/1.1\r\n\r\n", HEAD("HTTP/1.1", "404") TEXT(23) "Resource not found: /a.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_imds_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds_unsupported_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_with_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds_compat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_tokens_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_not_initialized, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
