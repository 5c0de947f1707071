/* The HTTP/1.x request reader shared by the API server and the MMDS.
 *
 * It knows nothing of sockets: bytes go in, complete requests or a transport
 * error come out. Requests are parsed by http-parser; everything a client can
 * grow is capped (URL, header bytes, header count, body), so a reader holds at
 * most about max_body + max_header_bytes of memory whatever the peer sends.
 * Pipelined requests are returned one per feed call. http-parser is built
 * non-strict on Debian, so the raw bytes are also checked against RFC 9112
 * (http_strict.h): what it would let through is refused with Firecracker's
 * 400 text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HTTP_DEFAULT_MAX_BODY 51200
#define HTTP_DEFAULT_MAX_URL 2048
#define HTTP_DEFAULT_MAX_HEADER_BYTES 8192
#define HTTP_DEFAULT_MAX_HEADERS 32

struct http_limits {
	size_t max_body;         /* Content-Length or chunked total, in bytes */
	size_t max_url;          /* request-target length */
	size_t max_header_bytes; /* sum of header names and values */
	size_t max_headers;      /* header lines */
};

struct http_header {
	char *name;
	char *value;
};

struct http_request {
	char method[16];  /* as sent: "GET", "PUT", ... */
	char *url;        /* the request-target as sent */
	char *path;       /* its path part ("/" when absent), NUL-terminated */
	struct http_header *headers;
	size_t n_headers;
	char *body;       /* NUL-terminated (the NUL is not counted); NULL when empty */
	size_t body_len;
	bool keep_alive;
};

struct http_reader;

/* Fills limits with the defaults above. */
void http_limits_default(struct http_limits *limits);

/* Creates a reader; limits are copied. Returns 0 or -ENOMEM; the caller owns *ret. */
int http_reader_new(const struct http_limits *limits, struct http_reader **ret);
/* Accepts NULL; returns NULL. */
struct http_reader *http_reader_free(struct http_reader *r);

/* Feeds bytes. Stops after the first complete request, which is stored in
 * *ret_req (the caller owns it), and returns the number of bytes consumed;
 * the caller feeds the rest again. With no complete request yet, consumes
 * everything and leaves *ret_req NULL. On a malformed or over-limit request
 * returns -EBADMSG (or -ENOMEM) with Firecracker's error text in err; the
 * reader is then dead and the connection must be dropped after the reply. */
ssize_t http_reader_feed(struct http_reader *r, const char *buf, size_t len,
			 struct http_request **ret_req, char *err, size_t errlen);

/* True when bytes of a request that is not complete yet have been fed (also
 * empty lines before one): the server's request timeout runs. */
bool http_reader_partial(const struct http_reader *r);

/* True once per request that sent "Expect: 100-continue" and whose headers are
 * complete: the caller should send "HTTP/1.1 100 Continue". */
bool http_reader_take_continue(struct http_reader *r);

/* Case-insensitive header lookup; the first match or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Accepts NULL; returns NULL. */
struct http_request *http_request_free(struct http_request *req);
