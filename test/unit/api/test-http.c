#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/http.h"
#include "api/response.h"
#include "cleanup.h"

static struct http_reader *reader(size_t max_body)
{
	struct http_limits l;
	struct http_reader *r;

	http_limits_default(&l);
	l.max_body = max_body;
	assert_int_equal(http_reader_new(&l, &r), 0);
	return r;
}

static void test_simple_get(void **state)
{
	struct http_reader *r = reader(100);
	struct http_request *req;
	const char *in = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
	char err[256];

	assert_int_equal(http_reader_feed(r, in, strlen(in), &req, err, sizeof(err)), (ssize_t)strlen(in));
	assert_non_null(req);
	assert_string_equal(req->method, "GET");
	assert_string_equal(req->path, "/machine-config");
	assert_string_equal(http_request_header(req, "accept"), "application/json");
	assert_null(req->body);
	assert_true(req->keep_alive);
	http_request_free(req);
	http_reader_free(r);
}

/* Bytes arrive one at a time; two pipelined requests come out one per feed. */
static void test_split_and_pipelined(void **state)
{
	struct http_reader *r = reader(100);
	const char *in = "PUT http://localhost/actions?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n";
	struct http_request *got[2] = { 0 };
	size_t off = 0, n_got = 0, len = strlen(in);
	char err[256];

	while (off < len) {
		struct http_request *req;
		ssize_t n = http_reader_feed(r, in + off, 1, &req, err, sizeof(err));
		assert_true(n == 1 || (n == 0 && req));
		off += (size_t)n;
		if (req)
			got[n_got++] = req;
	}
	assert_int_equal(n_got, 2);
	assert_string_equal(got[0]->path, "/actions");
	assert_int_equal(got[0]->body_len, 5);
	assert_string_equal(got[0]->body, "hello");
	assert_string_equal(got[1]->method, "GET");
	assert_false(got[1]->keep_alive); /* HTTP/1.0 without keep-alive */
	http_request_free(got[0]);
	http_request_free(got[1]);
	http_reader_free(r);
}

static void expect_error(size_t max_body, const char *in, const char *want)
{
	struct http_reader *r = reader(max_body);
	struct http_request *req;
	char err[256] = "";

	assert_int_equal(http_reader_feed(r, in, strlen(in), &req, err, sizeof(err)), -EBADMSG);
	assert_null(req);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	http_reader_free(r);
}

static void test_errors(void **state)
{
	expect_error(50, "PUT /mmds HTTP/1.1\r\nContent-Length: 51\r\n\r\n",
		     "Request payload with size 51 is larger than the limit of 50 allowed by server.");
	expect_error(50, "PUT /mmds HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		     "Invalid header. Reason: Invalid value. Key:Content-Length");
	expect_error(50, "FOO / HTTP/1.1\r\n\r\n", "Invalid HTTP Method: Unsupported HTTP method.");
	expect_error(50, "PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n"
			 "0123456789012345678901234567890123456789012345678901234567890123\r\n0\r\n\r\n",
		     "larger than the limit of 50");
}

/* Feeds in to one reader in pieces of step bytes; returns how many requests
 * came out before the first error (-1 when there was none), err holds its text. */
static int feed_all(const char *in, size_t step, char *err, size_t errlen)
{
	struct http_reader *r = reader(100);
	size_t off = 0, len = strlen(in);
	int served = 0;

	err[0] = '\0';
	while (off < len) {
		struct http_request *req = NULL;
		size_t chunk = len - off < step ? len - off : step;
		ssize_t n = http_reader_feed(r, in + off, chunk, &req, err, errlen);
		if (n < 0) {
			assert_null(req);
			http_reader_free(r);
			return served;
		}
		assert_true(n > 0 || req);
		off += (size_t)n;
		if (req)
			served++;
		http_request_free(req);
	}
	http_reader_free(r);
	return -1;
}

/* Each request RFC 9112 calls invalid and non-strict http-parser accepts:
 * alone, after a good pipelined request, and fed one byte at a time. */
static void test_strict_rejections(void **state)
{
	static const struct {
		const char *req, *want;
	} cases[] = {
		{ "PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
		  "Invalid request: chunk data is not followed by CRLF." },
		{ "PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\n0\r\n\r\n",
		  "Invalid request: chunk data is not followed by CRLF." },
		{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		  "Invalid header. Reason: Header is incorrectly formatted. Key: Host " },
		{ "PUT /mmds HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}",
		  "Invalid header. Reason: Header is incorrectly formatted. Key: Content-Length " },
		{ "GET / HTTP/1.1\r\nAccept: a\r\n  folded\r\n\r\n",
		  "Invalid header. Reason: Header is incorrectly formatted. Key:   folded" },
		{ "GET  / HTTP/1.1\r\n\r\n", "Invalid URI: Empty URI not allowed." },
		{ "GET /  HTTP/1.1\r\n\r\n", "Invalid HTTP Version: Unsupported HTTP version." },
		{ "GET /\r\n\r\n", "Invalid request." },
		{ "GET / HTTP/2.0\r\n\r\n", "Invalid HTTP Version: Unsupported HTTP version." },
		{ "GET / HXXP/1.1\r\n\r\n", "Invalid HTTP Version: Unsupported HTTP version." },
		{ "PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\rX{}\r\n0\r\n\r\n",
		  "Invalid request: a CR is not followed by LF." },
	};
	static const char good[] = "GET / HTTP/1.1\r\n\r\n";
	char in[512], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		for (size_t step = 1; step <= 512; step *= 512) {
			assert_int_equal(feed_all(cases[i].req, step, err, sizeof(err)), 0);
			if (strcmp(err, cases[i].want) != 0)
				fail_msg("case %zu step %zu: '%s', expected '%s'", i, step, err, cases[i].want);
			snprintf(in, sizeof(in), "%s%s", good, cases[i].req);
			assert_int_equal(feed_all(in, step, err, sizeof(err)), 1);
			assert_string_equal(err, cases[i].want);
		}
	}
}

/* What RFC 9112 allows still passes: chunked bodies split anywhere, chunk
 * extensions and trailers, empty lines before a request, bare LF line ends. */
static void test_strict_accepts(void **state)
{
	static const char *ok[] = {
		"PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;x=y\r\n{\r\n1\r\n}\r\n0\r\nT: v\r\n\r\n",
		"\r\n\r\nGET / HTTP/1.0\r\nHost:x\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"PUT /mmds HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n",
		"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
	};
	char in[1024], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(in, sizeof(in), "%s%s", ok[i], ok[i]);
		for (size_t step = 1; step <= 1024; step *= 4)
			if (feed_all(in, step, err, sizeof(err)) != -1)
				fail_msg("case %zu step %zu refused: %s", i, step, err);
	}
}

/* The server's request timer runs while http_reader_partial() is true. */
static void test_partial(void **state)
{
	struct http_reader *r = reader(100);
	struct http_request *req;
	char err[64];

	assert_false(http_reader_partial(r));
	assert_int_equal(http_reader_feed(r, "\r\nGE", 4, &req, err, sizeof(err)), 4);
	assert_true(http_reader_partial(r));
	assert_int_equal(http_reader_feed(r, "T / HTTP/1.1\r\n\r\nG", 17, &req, err, sizeof(err)), 16);
	assert_non_null(req);
	assert_false(http_reader_partial(r)); /* the pipelined "G" is not fed yet */
	http_request_free(req);
	assert_int_equal(http_reader_feed(r, "\r\n", 2, &req, err, sizeof(err)), 2);
	assert_true(http_reader_partial(r)); /* empty lines before a request count */
	http_reader_free(r);
}

static void test_caps(void **state)
{
	char *big = malloc(20000);
	size_t off;

	off = (size_t)sprintf(big, "GET /");
	memset(big + off, 'a', 3000);
	strcpy(big + off + 3000, " HTTP/1.1\r\n\r\n");
	expect_error(50, big, "Invalid URI");
	off = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 40; i++)
		off += (size_t)sprintf(big + off, "X-H%d: v\r\n", i);
	strcpy(big + off, "\r\n");
	expect_error(50, big, "more than 32 headers");
	off = (size_t)sprintf(big, "GET / HTTP/1.1\r\nX-Big: ");
	memset(big + off, 'b', 9000);
	strcpy(big + off + 9000, "\r\n\r\n");
	expect_error(50, big, "headers are larger than");
	free(big);
}

static void test_expect_continue(void **state)
{
	struct http_reader *r = reader(100);
	struct http_request *req;
	const char *in = "PUT /mmds HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	char err[64];

	assert_int_equal(http_reader_feed(r, in, strlen(in), &req, err, sizeof(err)), (ssize_t)strlen(in));
	assert_null(req);
	assert_true(http_reader_take_continue(r));
	assert_false(http_reader_take_continue(r));
	assert_int_equal(http_reader_feed(r, "{}", 2, &req, err, sizeof(err)), 2);
	assert_non_null(req);
	http_request_free(req);
	http_reader_free(r);
}

static char *format(struct http_response *resp)
{
	char *out;
	size_t len;

	assert_int_equal(http_response_format(resp, &out, &len), 0);
	out = realloc(out, len + 1);
	out[len] = '\0';
	return out;
}

/* The bytes Firecracker's own tests expect. */
static void test_response_shapes(void **state)
{
	struct http_response resp = { 0 };
	char *s;

	http_response_no_content(&resp);
	s = format(&resp);
	assert_string_equal(s, "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n");
	free(s);
	http_response_transport_error(&resp, 400,
				      "Request payload with size 51201 is larger than the limit of 51200 allowed by server.");
	s = format(&resp);
	assert_string_equal(s, "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
			       "Content-Type: application/json\r\nContent-Length: 149\r\n\r\n"
			       "{ \"error\": \"Request payload with size 51201 is larger than the limit of 51200 allowed by "
			       "server.\nAll previous unanswered requests will be dropped.\" }");
	free(s);
	http_response_fault(&resp, 400, "bad \"quote\"");
	resp.deprecation = true;
	s = format(&resp);
	assert_string_equal(s, "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nDeprecation: true\r\n"
			       "Content-Type: application/json\r\nContent-Length: 33\r\n\r\n"
			       "{\"fault_message\":\"bad \\\"quote\\\"\"}");
	free(s);
	http_response_fault(&resp, 400, "bad byte \xff");
	assert_string_equal(resp.body, "{\"fault_message\":\"bad byte ?\"}");
	http_response_clear(&resp);
	assert_int_equal(strlen(http_response_server_full) - strcspn(http_response_server_full, "{"), 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_split_and_pipelined),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_strict_rejections),
		cmocka_unit_test(test_strict_accepts),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_response_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
