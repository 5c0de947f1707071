/* Strict framing checks on raw HTTP/1.x request bytes: see http_strict.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/http_strict.h"
#include "parse.h"

#define CR '\r'
#define LF '\n'

/* micro-http's texts (src/common/mod.rs, src/request.rs). */
#define ERR_REQUEST "Invalid request."
#define ERR_EMPTY_URI "Invalid URI: Empty URI not allowed."
#define ERR_VERSION "Invalid HTTP Version: Unsupported HTTP version."
#define ERR_BARE_CR "Invalid request: a CR is not followed by LF."
#define ERR_CHUNK "Invalid request: chunk data is not followed by CRLF."

void http_strict_init(struct http_strict *s)
{
	*s = (struct http_strict){ .state = HS_LINE_START };
}

void http_strict_set_body(struct http_strict *s, uint64_t body)
{
	s->body = body;
}

bool http_strict_between_requests(const struct http_strict *s)
{
	return s->state == HS_LINE_START;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -EBADMSG;
}

static int fail_field(const struct http_strict *s, char *err, size_t errlen)
{
	snprintf(err, errlen, "Invalid header. Reason: Header is incorrectly formatted. Key: %.*s%s",
		 (int)(s->name_len < sizeof(s->name) ? s->name_len : sizeof(s->name)), s->name,
		 s->name_len > sizeof(s->name) ? "..." : "");
	return -EBADMSG;
}

/* The empty line that ends a head: the message's body (if any) follows. */
static void head_end(struct http_strict *s)
{
	if (s->trailers || s->body == 0)
		s->state = HS_LINE_START;
	else if (s->body == HTTP_STRICT_BODY_CHUNKED)
		s->state = HS_CHUNK_SIZE;
	else
		s->state = HS_BODY;
	s->remaining = s->body == HTTP_STRICT_BODY_CHUNKED ? 0 : s->body;
	s->body = 0;
	s->trailers = false;
}

static void field_begin(struct http_strict *s)
{
	s->state = HS_FIELD_START;
	s->name_len = 0;
	s->bad = false;
}

/* A line ended (LF, after an optional CR) in state s->state. */
static int line_end(struct http_strict *s, char *err, size_t errlen)
{
	switch (s->state) {
	case HS_METHOD:
	case HS_TARGET_START:
	case HS_TARGET:
		return fail(err, errlen, ERR_REQUEST); /* no version: micro-http's InvalidRequest */
	case HS_VERSION:
		if (s->bad || s->version_len != 8)
			return fail(err, errlen, ERR_VERSION);
		field_begin(s);
		return 0;
	case HS_FIELD_START:
		head_end(s);
		return 0;
	case HS_FIELD_NAME:
		return fail_field(s, err, errlen); /* a field line without a colon */
	case HS_FIELD_VALUE:
		field_begin(s);
		return 0;
	case HS_CHUNK_SIZE:
	case HS_CHUNK_EXT:
		if (s->remaining == 0) {
			field_begin(s);
			s->trailers = true;
		} else {
			s->state = HS_CHUNK_DATA;
		}
		return 0;
	default:
		return fail(err, errlen, ERR_REQUEST);
	}
}

static void name_add(struct http_strict *s, char c)
{
	if (s->name_len < sizeof(s->name))
		s->name[s->name_len] = c;
	s->name_len++;
}

/* RFC 9112 §3: "HTTP/1.0" or "HTTP/1.1", nothing else, after exactly one SP. */
static void version_add(struct http_strict *s, char c)
{
	static const char want[] = "HTTP/1.";

	if (s->version_len < 7 && c == want[s->version_len])
		s->version_len++;
	else if (s->version_len == 7 && (c == '0' || c == '1'))
		s->version_len++;
	else
		s->bad = true;
}

/* One byte of a line-structured part (request line, fields, chunk lines). */
static int line_byte(struct http_strict *s, char c, char *err, size_t errlen)
{
	int v;

	switch (s->state) {
	case HS_LINE_START:
		s->state = HS_METHOD;
		return line_byte(s, c, err, errlen);
	case HS_METHOD:
		if (c == ' ')
			s->state = HS_TARGET_START;
		return 0;
	case HS_TARGET_START:
		if (c == ' ')
			return fail(err, errlen, ERR_EMPTY_URI); /* two spaces after the method */
		s->state = HS_TARGET;
		return 0;
	case HS_TARGET:
		if (c == ' ') {
			s->state = HS_VERSION;
			s->version_len = 0;
			s->bad = false;
		}
		return 0;
	case HS_VERSION:
		version_add(s, c);
		return 0;
	case HS_FIELD_START:
	case HS_FIELD_NAME:
		s->state = HS_FIELD_NAME;
		if (c == ':') {
			if (s->bad || s->name_len == 0)
				return fail_field(s, err, errlen);
			s->state = HS_FIELD_VALUE;
			return 0;
		}
		if (c == ' ' || c == '\t')
			s->bad = true; /* whitespace before the colon, or an obs-fold line */
		name_add(s, c);
		return 0;
	case HS_CHUNK_SIZE:
		v = parse_digit(c, 16);
		if (v < 0) {
			s->state = HS_CHUNK_EXT;
			return 0;
		}
		if (s->remaining > (UINT64_MAX >> 4))
			return fail(err, errlen, ERR_REQUEST);
		s->remaining = s->remaining << 4 | (uint64_t)v;
		return 0;
	default: /* HS_FIELD_VALUE, HS_CHUNK_EXT */
		return 0;
	}
}

/* Bytes of a body or of chunk data: skipped without looking. */
static size_t skip_data(struct http_strict *s, size_t avail)
{
	size_t n = s->remaining < avail ? (size_t)s->remaining : avail;

	s->remaining -= n;
	if (s->remaining == 0)
		s->state = s->state == HS_BODY ? HS_LINE_START : HS_CHUNK_CR;
	return n;
}

int http_strict_scan(struct http_strict *s, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t i = 0;
	int r = 0;

	while (i < len && r == 0) {
		char c = buf[i];

		if (s->state == HS_BODY || s->state == HS_CHUNK_DATA) {
			i += skip_data(s, len - i);
			continue;
		}
		i++;
		if (s->state == HS_CHUNK_CR || s->state == HS_CHUNK_LF) {
			/* RFC 9112 §7.1: chunk = chunk-size [ext] CRLF chunk-data CRLF */
			if (c != (s->state == HS_CHUNK_CR ? CR : LF))
				return fail(err, errlen, ERR_CHUNK);
			s->state = s->state == HS_CHUNK_CR ? HS_CHUNK_LF : HS_CHUNK_SIZE;
			continue;
		}
		if (s->state == HS_LINE_START && (c == CR || c == LF))
			continue; /* empty lines before a request line (RFC 9112 §2.2) */
		if (s->cr && c != LF)
			return fail(err, errlen, ERR_BARE_CR);
		s->cr = false;
		if (c == CR)
			s->cr = true;
		else if (c == LF)
			r = line_end(s, err, errlen);
		else
			r = line_byte(s, c, err, errlen);
	}
	return r;
}
