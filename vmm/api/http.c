/* HTTP request reader over http-parser: see http.h. */
#include <errno.h>
#include <http_parser.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "api/http_strict.h"
#include "cleanup.h"

struct http_reader {
	http_parser parser;
	struct http_limits limits;
	struct http_request *req;  /* being assembled */
	size_t url_len;
	size_t header_bytes;
	bool in_value;             /* the last header callback was a value */
	bool complete;
	bool want_continue;
	bool partial;              /* bytes of an incomplete request were fed */
	struct http_strict strict; /* the raw-byte checks http-parser skips */
	char err[192];             /* set by a callback that rejects the request */
};

void http_limits_default(struct http_limits *limits)
{
	*limits = (struct http_limits){
		.max_body = HTTP_DEFAULT_MAX_BODY,
		.max_url = HTTP_DEFAULT_MAX_URL,
		.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES,
		.max_headers = HTTP_DEFAULT_MAX_HEADERS,
	};
}

struct http_request *http_request_free(struct http_request *req)
{
	if (!req)
		return NULL;
	for (size_t i = 0; i < req->n_headers; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	free(req->url);
	free(req->path);
	free(req->body);
	return mfree(req);
}

/* Appends len bytes to a NUL-terminated heap string of length *cur. */
static int str_append(char **s, size_t *cur, const char *at, size_t len)
{
	char *n = realloc(*s, *cur + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + *cur, at, len);
	*cur += len;
	n[*cur] = '\0';
	*s = n;
	return 0;
}

static int reject(struct http_reader *r, const char *fmt, ...) _printf_(2, 3);
static int reject(struct http_reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1; /* stops http-parser (1 would mean "no body" from on_headers_complete) */
}

static int on_message_begin(http_parser *p)
{
	struct http_reader *r = p->data;
	http_request_free(r->req);
	r->req = calloc(1, sizeof(*r->req));
	r->url_len = r->header_bytes = 0;
	r->in_value = false;
	if (!r->req)
		return reject(r, "Out of memory.");
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = p->data;
	if (r->url_len + len > r->limits.max_url)
		return reject(r, "Invalid URI: the request target is longer than %zu bytes.",
			      r->limits.max_url);
	return str_append(&r->req->url, &r->url_len, at, len) < 0 ? reject(r, "Out of memory.") : 0;
}

static int header_budget(struct http_reader *r, size_t len)
{
	r->header_bytes += len;
	if (r->header_bytes > r->limits.max_header_bytes)
		return reject(r, "Invalid header. Reason: the headers are larger than %zu bytes.",
			      r->limits.max_header_bytes);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = p->data;
	struct http_request *q = r->req;

	if (header_budget(r, len))
		return -1;
	if (r->in_value || q->n_headers == 0) {
		if (q->n_headers >= r->limits.max_headers)
			return reject(r, "Invalid header. Reason: more than %zu headers.", r->limits.max_headers);
		struct http_header *n = realloc(q->headers, (q->n_headers + 1) * sizeof(*n));
		if (!n)
			return reject(r, "Out of memory.");
		q->headers = n;
		q->headers[q->n_headers++] = (struct http_header){ 0 };
		r->in_value = false;
	}
	struct http_header *h = &q->headers[q->n_headers - 1];
	size_t cur = h->name ? strlen(h->name) : 0;
	return str_append(&h->name, &cur, at, len) < 0 ? reject(r, "Out of memory.") : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = p->data;
	struct http_request *q = r->req;

	if (header_budget(r, len))
		return -1;
	if (q->n_headers == 0)
		return reject(r, "Invalid header. Reason: value without a name.");
	r->in_value = true;
	struct http_header *h = &q->headers[q->n_headers - 1];
	size_t cur = h->value ? strlen(h->value) : 0;
	return str_append(&h->value, &cur, at, len) < 0 ? reject(r, "Out of memory.") : 0;
}

/* How http-parser 2.9 will read the body (its s_headers_done), for the
 * strict scanner: the two must agree on where the message ends. */
static uint64_t body_framing(const http_parser *p)
{
	bool chunked = p->flags & F_CHUNKED;
	bool has_body = chunked || (p->content_length > 0 && p->content_length != UINT64_MAX);

	if (!has_body || (p->upgrade && p->method == HTTP_CONNECT))
		return 0;
	return chunked ? HTTP_STRICT_BODY_CHUNKED : p->content_length;
}

static int on_headers_complete(http_parser *p)
{
	struct http_reader *r = p->data;
	const char *expect;

	snprintf(r->req->method, sizeof(r->req->method), "%s", http_method_str(p->method));
	/* http-parser leaves content_length at ULLONG_MAX when there is none. */
	if (p->content_length != UINT64_MAX && p->content_length > r->limits.max_body)
		return reject(r, "Request payload with size %" PRIu64 " is larger than the limit of %zu allowed by server.",
			      p->content_length, r->limits.max_body);
	http_strict_set_body(&r->strict, body_framing(p));
	expect = http_request_header(r->req, "Expect");
	if (expect && strcasecmp(expect, "100-continue") == 0)
		r->want_continue = true;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = p->data;
	struct http_request *q = r->req;

	if (q->body_len + len > r->limits.max_body)
		return reject(r, "Request payload with size %zu is larger than the limit of %zu allowed by server.",
			      q->body_len + len, r->limits.max_body);
	return str_append(&q->body, &q->body_len, at, len) < 0 ? reject(r, "Out of memory.") : 0;
}

/* Extracts the path of an origin-form ("/a/b?x") or absolute-form
 * ("http://localhost/a/b") request target. */
static int request_set_path(struct http_request *q)
{
	struct http_parser_url u;
	const char *url = q->url ? q->url : "/";
	const char *start = "/";
	size_t len = 1;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, strlen(url), 0, &u) != 0)
		return -EINVAL;
	if (u.field_set & (1 << UF_PATH)) {
		start = url + u.field_data[UF_PATH].off;
		len = u.field_data[UF_PATH].len;
	}
	q->path = strndup(start, len);
	return q->path ? 0 : -ENOMEM;
}

static int on_message_complete(http_parser *p)
{
	struct http_reader *r = p->data;
	int ret = request_set_path(r->req);

	if (ret == -EINVAL)
		return reject(r, "Invalid URI.");
	if (ret < 0)
		return reject(r, "Out of memory.");
	r->req->keep_alive = http_should_keep_alive(p);
	r->complete = true;
	http_parser_pause(p, 1); /* hand this request out before parsing the next */
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

int http_reader_new(const struct http_limits *limits, struct http_reader **ret)
{
	struct http_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->limits = *limits;
	http_strict_init(&r->strict);
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	*ret = r;
	return 0;
}

struct http_reader *http_reader_free(struct http_reader *r)
{
	if (!r)
		return NULL;
	http_request_free(r->req);
	return mfree(r);
}

bool http_reader_take_continue(struct http_reader *r)
{
	bool c = r->want_continue;
	r->want_continue = false;
	return c;
}

static void describe_parser_error(struct http_reader *r, char *err, size_t errlen)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
	const char *cl = r->req ? http_request_header(r->req, "Content-Length") : NULL;

	if (r->err[0])
		snprintf(err, errlen, "%s", r->err);
	else if (e == HPE_INVALID_METHOD)
		snprintf(err, errlen, "Invalid HTTP Method: Unsupported HTTP method.");
	else if (e == HPE_INVALID_VERSION)
		snprintf(err, errlen, "Invalid HTTP Version: Unsupported HTTP version.");
	else if (e == HPE_INVALID_CONTENT_LENGTH || e == HPE_UNEXPECTED_CONTENT_LENGTH)
		snprintf(err, errlen, "Invalid header. Reason: Invalid value. Key:Content-Length; Value: %s",
			 cl ? cl : "");
	else
		snprintf(err, errlen, "Invalid request: %s.", http_errno_description(e));
}

bool http_reader_partial(const struct http_reader *r)
{
	return r->partial;
}

ssize_t http_reader_feed(struct http_reader *r, const char *buf, size_t len,
			 struct http_request **ret_req, char *err, size_t errlen)
{
	size_t n;
	enum http_errno e;

	*ret_req = NULL;
	http_parser_pause(&r->parser, 0);
	r->complete = false;
	n = http_parser_execute(&r->parser, &settings, buf, len);
	e = HTTP_PARSER_ERRNO(&r->parser);
	/* The bytes the parser took, checked as RFC 9112 reads them: an error
	 * there comes before (or instead of) anything the parser found. */
	if (http_strict_scan(&r->strict, buf, n, err, errlen) < 0)
		return -EBADMSG;
	if (r->complete && (e == HPE_OK || e == HPE_PAUSED)) {
		if (!http_strict_between_requests(&r->strict)) {
			/* never hand out a request whose end the two readings place differently */
			snprintf(err, errlen, "Invalid request.");
			return -EBADMSG;
		}
		r->partial = false;
		*ret_req = TAKE_PTR(r->req);
		return (ssize_t)n;
	}
	if (e != HPE_OK) {
		describe_parser_error(r, err, errlen);
		return -EBADMSG;
	}
	r->partial = r->partial || n > 0;
	return (ssize_t)n;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value ? req->headers[i].value : "";
	return NULL;
}
