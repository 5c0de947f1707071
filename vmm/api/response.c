/* Firecracker-shaped HTTP responses: see response.h. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/response.h"
#include "cleanup.h"

/* micro-http's exact bytes for a refused connection (no trailing space, Connection: close). */
const char http_response_server_full[] =
	"HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\nContent-Length: 40\r\n\r\n"
	"{ \"error\": \"Too many open connections\" }";

void http_response_clear(struct http_response *resp)
{
	free(resp->body);
	*resp = (struct http_response){ 0 };
}

void http_response_no_content(struct http_response *resp)
{
	http_response_clear(resp);
	resp->status = 204;
}

void http_response_body(struct http_response *resp, int status, char *body)
{
	http_response_clear(resp);
	if (!body) {
		resp->status = 500;
		return;
	}
	resp->status = status;
	resp->body = body;
	resp->body_len = strlen(body);
}

/* Escapes msg for a JSON string: quotes, backslashes and control bytes are
 * escaped, bytes outside ASCII become '?' (the text may echo client bytes that
 * are not UTF-8). The caller frees the result. */
static char *escape_ascii(const char *msg)
{
	size_t len = strlen(msg);
	char *out = malloc(len * 6 + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*o++ = '\\';
			*o++ = (char)*c;
		} else if (*c < 0x20) {
			o += sprintf(o, "\\u%04x", *c);
		} else {
			*o++ = *c < 0x80 ? (char)*c : '?';
		}
	}
	*o = '\0';
	return out;
}

void http_response_transport_error(struct http_response *resp, int status, const char *msg)
{
	_cleanup_free_ char *enc = escape_ascii(msg);
	char *body = NULL;

	/* micro-http's layout, byte for byte: spaces inside the braces and a raw
	 * newline before the second sentence (so Content-Length matches). */
	if (enc && asprintf(&body, "{ \"error\": \"%s\nAll previous unanswered requests will be dropped.\" }",
			    enc) < 0)
		body = NULL;
	http_response_body(resp, status, body);
}

void http_response_fault(struct http_response *resp, int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	char *body = NULL;

	if (o) {
		body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	} else {
		/* msg echoes client bytes that are not UTF-8: fall back to ASCII. */
		_cleanup_free_ char *enc = escape_ascii(msg);
		if (enc && asprintf(&body, "{\"fault_message\":\"%s\"}", enc) < 0)
			body = NULL;
	}
	http_response_body(resp, status, body);
}

int http_response_format(const struct http_response *resp, char **ret, size_t *ret_len)
{
	char *out = NULL;
	int n;

	if (resp->body_len > 0)
		n = asprintf(&out,
			     "HTTP/1.1 %d \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n%s"
			     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			     resp->status, resp->deprecation ? "Deprecation: true\r\n" : "",
			     resp->content_type ? resp->content_type : "application/json", resp->body_len);
	else
		n = asprintf(&out, "HTTP/1.1 %d \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n%s\r\n",
			     resp->status, resp->deprecation ? "Deprecation: true\r\n" : "");
	if (n < 0)
		return -ENOMEM;
	if (resp->body_len > 0) {
		char *full = realloc(out, (size_t)n + resp->body_len);
		if (!full) {
			free(out);
			return -ENOMEM;
		}
		memcpy(full + n, resp->body, resp->body_len);
		out = full;
	}
	*ret = out;
	*ret_len = (size_t)n + resp->body_len;
	return 0;
}
