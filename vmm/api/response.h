/* HTTP responses in Firecracker's exact wire shapes.
 *
 *   HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n
 *
 * The status line ends in a space (no reason phrase); a response with a body
 * adds Content-Type and Content-Length; a deprecated endpoint or field adds
 * "Deprecation: true". Bodies are owned by the response. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct http_response {
	int status;
	char *body;              /* NULL for none; owned */
	size_t body_len;
	const char *content_type; /* NULL: application/json */
	bool deprecation;
};

/* 204 with no body. */
void http_response_no_content(struct http_response *resp);
/* 200 (or status) with body taken over (may be NULL on allocation failure: 500 then). */
void http_response_body(struct http_response *resp, int status, char *body);
/* 400 (or status) {"fault_message": msg}, msg JSON-escaped. */
void http_response_fault(struct http_response *resp, int status, const char *msg);
/* Transport-level error: status with
 * { "error": "<msg>\nAll previous unanswered requests will be dropped." } */
void http_response_transport_error(struct http_response *resp, int status, const char *msg);
/* Releases the body; resp is then empty. */
void http_response_clear(struct http_response *resp);

/* Serialises resp into a heap buffer the caller frees. Returns 0 or -ENOMEM. */
int http_response_format(const struct http_response *resp, char **ret, size_t *ret_len);

/* The raw reply to the connection over the limit, sent before closing it. */
extern const char http_response_server_full[];
