/* The guest-facing MMDS request handler: see http.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "cleanup.h"
#include "mmds/http.h"

#define ERR_INVALID_URI "Invalid URI."
#define ERR_INVALID_REQUEST "Invalid request."
#define ERR_NOT_ALLOWED "Not allowed HTTP method."
#define ERR_UNSUPPORTED_TYPE "Cannot retrieve value. The value has an unsupported type."
#define ERR_TOKEN_INVALID "MMDS token not valid."
#define ERR_NO_TOKEN                                                                               \
	"No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to "  \
	"specify the session token."
#define ERR_NO_TTL                                                                                 \
	"Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "               \
	"`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime."
#define ERR_TOKEN_ENCRYPTION "Failed to encrypt token."

static const char *const token_headers[] = { "X-metadata-token", "X-aws-ec2-metadata-token", NULL };
static const char *const ttl_headers[] = { "X-metadata-token-ttl-seconds",
					   "X-aws-ec2-metadata-token-ttl-seconds", NULL };
static const char *const forwarded_headers[] = { "X-Forwarded-For", NULL };

/* One answer, as micro-http's Response holds it. */
struct reply {
	const char *version; /* the request's, HTTP/1.1 when it could not be parsed */
	int status;
	bool allow;                /* "Allow: GET, PUT" */
	char *custom_name;         /* owned: the TTL header echoed on a token, as the guest spelled it */
	char custom_value[16];
	const char *content_type;
	char *body; /* owned */
	size_t body_len;
};

/* Sets a text/plain answer; -ENOMEM when the body cannot be made. */
static int __attribute__((format(printf, 3, 4))) reply_text(struct reply *r, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	free(r->body);
	va_start(ap, fmt);
	n = vasprintf(&r->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->body = NULL;
		return -ENOMEM;
	}
	r->status = status;
	r->body_len = (size_t)n;
	r->content_type = "text/plain";
	return 0;
}

static int reply_format(const struct reply *r, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *head = NULL;
	int n = asprintf(&head,
			 "%s %03d \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n%s%s%s%s%s"
			 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 r->version, r->status, r->allow ? "Allow: GET, PUT\r\n" : "",
			 r->custom_name ? r->custom_name : "", r->custom_name ? ": " : "",
			 r->custom_name ? r->custom_value : "", r->custom_name ? "\r\n" : "", r->content_type,
			 r->body_len);
	char *out;

	if (n < 0)
		return -ENOMEM;
	out = malloc((size_t)n + r->body_len);
	if (!out)
		return -ENOMEM;
	memcpy(out, head, (size_t)n);
	if (r->body_len)
		memcpy(out + n, r->body, r->body_len);
	*ret = out;
	*ret_len = (size_t)n + r->body_len;
	return 0;
}

/* The last header named like any of names (case-insensitive), as micro-http's
 * map keeps the last of repeated names. */
static const struct http_header *find_header(const struct http_request *q, const char *const *names)
{
	const struct http_header *found = NULL;

	for (size_t i = 0; i < q->n_headers; i++)
		for (const char *const *n = names; *n; n++)
			if (strcasecmp(q->headers[i].name, *n) == 0)
				found = &q->headers[i];
	return found;
}

/* micro-http trims header names and values. */
static const char *trimmed(char *s)
{
	size_t len;

	s += strspn(s, " \t");
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/* The absolute path of the request target: "http://host/p" gives "/p",
 * "http://host" gives "" (refused as "Invalid URI."), "/p" is itself. */
static char *abs_path(const char *url)
{
	if (strncasecmp(url, "http://", 7) == 0) {
		const char *slash = strchr(url + 7, '/');
		return strdup(slash ? slash : "");
	}
	return strdup(url);
}

/* Collapses repeated '/' as Firecracker's sanitize_uri() does. */
static void collapse_slashes(char *s)
{
	char *o = s;

	for (const char *p = s; *p; p++)
		if (!(*p == '/' && o > s && o[-1] == '/'))
			*o++ = *p;
	*o = '\0';
}

/* Rust's u32::from_str: an optional '+', then decimal digits, no overflow. */
static int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v = 0;

	if (*s == '+')
		s++;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

/* The value at path; before the first PUT the store reads as JSON null, as a
 * restored Firecracker's does. NULL when nothing is there. */
static const json_t *lookup(const struct mmds_store *store, const char *path)
{
	const json_t *v;

	if (!mmds_store_initialized(store))
		return path[strspn(path, "/")] == '\0' ? json_null() : NULL;
	/* A path not starting with '/' is no JSON pointer: nothing is there. */
	return mmds_store_lookup(store, path, &v) == 0 ? v : NULL;
}

static bool wants_json(const struct http_request *q)
{
	bool json = false;

	/* micro-http keeps the last Accept it understands and ignores others. */
	for (size_t i = 0; i < q->n_headers; i++) {
		if (strcasecmp(q->headers[i].name, "Accept") != 0)
			continue;
		const char *v = trimmed(q->headers[i].value);
		if (strcmp(v, "application/json") == 0)
			json = true;
		else if (strcmp(v, "text/plain") == 0)
			json = false;
	}
	return json;
}

static int get_value(const struct mmds_http *m, const struct http_request *q, const char *uri, struct reply *r)
{
	_cleanup_free_ char *path = strdup(uri);
	bool json = wants_json(q);
	const json_t *v;
	char *body = NULL;
	int ret;

	if (!path)
		return -ENOMEM;
	collapse_slashes(path);
	v = lookup(m->store, path);
	if (!v)
		return reply_text(r, 404, "Resource not found: %s.", uri);
	if (json && !m->imds_compat) {
		/* serde_json's map is sorted: so are the keys here. */
		if (json_is_string(v)) {
			ret = mmds_render_json_string(v, &body);
		} else {
			body = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
			ret = body ? 0 : -ENOMEM;
			if (body)
				mmds_json_lowercase_escapes(body);
		}
	} else {
		ret = mmds_render_imds(v, &body);
	}
	if (ret == -EPROTONOSUPPORT)
		return reply_text(r, 501, ERR_UNSUPPORTED_TYPE);
	if (ret < 0)
		return ret;
	r->status = 200;
	r->body = body;
	/* A JSON string may hold NUL: its IMDS form is the raw string. */
	r->body_len = json_is_string(v) && !(json && !m->imds_compat) ? json_string_length(v) : strlen(body);
	/* Firecracker answers with the Accept type even when imds_compat ignores it. */
	r->content_type = json ? "application/json" : "text/plain";
	return 0;
}

/* V1 counts missing and invalid tokens; V2 refuses them. */
static int get_request(const struct mmds_http *m, const struct http_request *q, const char *uri, struct reply *r)
{
	const struct http_header *h = find_header(q, token_headers);

	if (!h) {
		m->counters->rx_no_token++;
		if (m->version == MMDS_V2)
			return reply_text(r, 401, ERR_NO_TOKEN);
	} else {
		const char *tok = trimmed(h->value);
		if (!mmds_token_valid(m->tokens, tok, strlen(tok))) {
			m->counters->rx_invalid_token++;
			if (m->version == MMDS_V2)
				return reply_text(r, 401, ERR_TOKEN_INVALID);
		}
	}
	return get_value(m, q, uri, r);
}

static int issue_token(const struct mmds_http *m, const struct http_header *ttl_header, struct reply *r)
{
	const char *name = trimmed(ttl_header->name), *value = trimmed(ttl_header->value);
	char token[MMDS_TOKEN_LEN + 1];
	uint32_t ttl;
	int ret;

	if (parse_u32(value, &ttl) < 0)
		return reply_text(r, 400, "Invalid header. Reason: Invalid value. Key:%s; Value:%s", name, value);
	ret = mmds_token_issue(m->tokens, ttl, token);
	if (ret == -ERANGE)
		return reply_text(r, 400,
				  "Invalid time to live value provided for token: %u. Please provide a value "
				  "between %u and %u.",
				  ttl, MMDS_TOKEN_TTL_MIN, MMDS_TOKEN_TTL_MAX);
	if (ret < 0)
		return reply_text(r, 400, ERR_TOKEN_ENCRYPTION);
	ret = reply_text(r, 200, "%s", token);
	if (ret < 0)
		return ret;
	r->custom_name = strdup(name);
	if (!r->custom_name)
		return -ENOMEM;
	snprintf(r->custom_value, sizeof(r->custom_value), "%u", ttl);
	return 0;
}

/* PUT is only for tokens, in V1 as in V2. */
static int put_request(const struct mmds_http *m, const struct http_request *q, const char *uri, struct reply *r)
{
	const struct http_header *h = find_header(q, forwarded_headers);
	_cleanup_free_ char *path = NULL;

	/* A proxy in the guest forwarding requests must not obtain tokens. */
	if (h)
		return reply_text(r, 400, "Invalid header. Reason: Unsupported header name. Key: %s",
				  trimmed(h->name));
	path = strdup(uri);
	if (!path)
		return -ENOMEM;
	collapse_slashes(path);
	if (strcmp(path, MMDS_TOKEN_PATH) != 0)
		return reply_text(r, 404, "Resource not found: %s.", uri);
	h = find_header(q, ttl_headers);
	if (!h)
		return reply_text(r, 400, ERR_NO_TTL);
	return issue_token(m, h, r);
}

static int parsed_request(const struct mmds_http *m, const struct http_request *q, struct reply *r)
{
	_cleanup_free_ char *uri = abs_path(q->url ? q->url : "");

	if (!uri)
		return -ENOMEM;
	if (!*uri)
		return reply_text(r, 400, ERR_INVALID_URI);
	if (strcmp(q->method, "GET") == 0)
		return get_request(m, q, uri, r);
	if (strcmp(q->method, "PUT") == 0)
		return put_request(m, q, uri, r);
	if (strcmp(q->method, "PATCH") == 0 || strcmp(q->method, "DELETE") == 0) {
		r->allow = true;
		return reply_text(r, 405, ERR_NOT_ALLOWED);
	}
	/* Methods micro-http does not know fail its parse: no version known then. */
	r->version = "HTTP/1.1";
	return reply_text(r, 501, "Unsupported HTTP method.");
}

/* The response carries the request's version (1.0 or 1.1, the only ones
 * the reader passes): the last word of the request line. */
static const char *request_version(const char *req, size_t len)
{
	const char *eol = memchr(req, '\n', len);
	size_t n = eol ? (size_t)(eol - req) : len;

	if (n && req[n - 1] == '\r')
		n--;
	return n >= 8 && memcmp(req + n - 8, "HTTP/1.0", 8) == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

static bool request_line_has_three_parts(const char *req, size_t len)
{
	const char *eol = memchr(req, '\n', len);
	const char *sp1 = memchr(req, ' ', eol ? (size_t)(eol - req) : len);

	return sp1 && memchr(sp1 + 1, ' ', (size_t)((eol ? eol : req + len) - sp1 - 1));
}

static bool target_is_bare_scheme(const char *req, size_t len)
{
	const char *sp = memchr(req, ' ', len);

	return sp && (size_t)(req + len - sp) > 8 && strncasecmp(sp + 1, "http:// ", 8) == 0;
}

/* The reader's error text, as Firecracker's endpoint answers that failure:
 * method and version errors are 501, header and URI errors 400 with the
 * inner reason, an oversized body 413, anything else "Invalid request.". */
static int parse_error(const char *err, const char *req, size_t len, struct reply *r)
{
	static const struct {
		const char *prefix;
		int status;
	} map[] = {
		{ "Invalid HTTP Method: ", 501 },
		{ "Invalid HTTP Version: ", 501 },
		{ "Invalid URI: ", 400 },
		{ "Invalid header. Reason: ", 400 },
	};

	if (strcmp(err, "Out of memory.") == 0)
		return -ENOMEM;
	/* "http://" alone, which http-parser refuses: micro-http parses it and
	 * finds the path empty. */
	if (strcmp(err, ERR_INVALID_URI) == 0 || target_is_bare_scheme(req, len)) {
		r->version = request_version(req, len);
		return reply_text(r, 400, ERR_INVALID_URI);
	}
	/* micro-http splits the request line in three before reading any part. */
	if (!request_line_has_three_parts(req, len))
		return reply_text(r, 400, ERR_INVALID_REQUEST);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(err, map[i].prefix, strlen(map[i].prefix)) == 0)
			return reply_text(r, map[i].status, "%s", err + strlen(map[i].prefix));
	if (strncmp(err, "Request payload with size", 25) == 0)
		return reply_text(r, 413, "%s", err);
	return reply_text(r, 400, ERR_INVALID_REQUEST);
}

static int answer(const struct mmds_http *m, const char *req, size_t len, struct reply *r)
{
	struct http_limits limits = {
		.max_body = MMDS_HTTP_MAX_REQUEST,
		.max_url = MMDS_HTTP_MAX_REQUEST,
		.max_header_bytes = MMDS_HTTP_MAX_REQUEST,
		.max_headers = MMDS_HTTP_MAX_REQUEST / 4, /* "a:\r\n" is the shortest header line */
	};
	struct http_reader *reader = NULL;
	struct http_request *q = NULL;
	char err[256] = "";
	ssize_t n;
	int ret = http_reader_new(&limits, &reader);

	if (ret < 0)
		return ret;
	n = http_reader_feed(reader, req, len, &q, err, sizeof(err));
	if (n < 0)
		ret = n == -ENOMEM ? -ENOMEM : parse_error(err, req, len, r);
	else if (!q) /* the bytes end before the request does (e.g. a missing body) */
		ret = reply_text(r, 400, ERR_INVALID_REQUEST);
	else {
		r->version = request_version(req, len);
		ret = parsed_request(m, q, r);
	}
	http_request_free(q);
	http_reader_free(reader);
	return ret;
}

int mmds_http_respond(const struct mmds_http *m, const char *req, size_t len, char **ret, size_t *ret_len)
{
	struct reply r = { .version = "HTTP/1.1", .content_type = "text/plain" };
	int rc = answer(m, req, len, &r);

	if (rc >= 0)
		rc = reply_format(&r, ret, ret_len);
	free(r.custom_name);
	free(r.body);
	return rc;
}
