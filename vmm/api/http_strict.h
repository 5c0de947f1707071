/* Strict framing checks on the raw bytes of HTTP/1.x requests.
 *
 * Debian builds http-parser without HTTP_PARSER_STRICT, so it accepts
 * requests RFC 9112 calls invalid, and some of them are read differently by
 * other parsers (request smuggling): "Content-Length : 5" is a header named
 * "Content-Length " to it, and any two bytes end a chunk's data. This scanner
 * walks the same bytes the parser consumed, in lockstep, and refuses:
 *   - a request line that is not exactly method SP target SP HTTP/1.0|HTTP/1.1
 *     (RFC 9112 §3: one space between the parts, the version required);
 *   - whitespace before a field's colon, an obs-fold line, a field line
 *     without a colon (RFC 9112 §5.1, §5.2);
 *   - chunk data not followed by CRLF (RFC 9112 §7.1);
 *   - a CR not followed by LF anywhere in the head (RFC 9112 §2.2).
 * Error texts follow Firecracker's micro-http where it has one. The body's
 * framing comes from the parser (http_strict_set_body), so the two never
 * disagree on where a message ends without the scanner noticing.
 * It allocates nothing and keeps O(1) state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_strict_state {
	HS_LINE_START,   /* before a request line (empty lines are skipped) */
	HS_METHOD,
	HS_TARGET_START,
	HS_TARGET,
	HS_VERSION,
	HS_FIELD_START,  /* at the start of a header or trailer line */
	HS_FIELD_NAME,
	HS_FIELD_VALUE,
	HS_BODY,
	HS_CHUNK_SIZE,
	HS_CHUNK_EXT,
	HS_CHUNK_DATA,
	HS_CHUNK_CR,
	HS_CHUNK_LF,
};

#define HTTP_STRICT_BODY_CHUNKED UINT64_MAX

struct http_strict {
	enum http_strict_state state;
	bool cr;              /* the previous byte was a CR that must be followed by LF */
	bool trailers;        /* the field lines are a chunked body's trailers */
	bool bad;             /* the current request-line part or field name is malformed */
	uint8_t version_len;  /* bytes of the version matched so far */
	uint64_t body;        /* framing of the current message: bytes, or HTTP_STRICT_BODY_CHUNKED */
	uint64_t remaining;   /* body or chunk bytes still to skip; the chunk size being read */
	size_t name_len;
	char name[48];        /* the start of the current field name, for the error text */
};

/* Starts a scanner before the first byte of a connection. */
void http_strict_init(struct http_strict *s);
/* The parser's framing of the message whose head is being scanned: body
 * bytes, or HTTP_STRICT_BODY_CHUNKED. Call before scanning past the head. */
void http_strict_set_body(struct http_strict *s, uint64_t body);
/* Scans len more bytes. Returns 0, or -EBADMSG with Firecracker's error text
 * in err (the scanner is then in an undefined state: drop the connection). */
int http_strict_scan(struct http_strict *s, const char *buf, size_t len, char *err, size_t errlen);
/* True between requests: every byte scanned so far belongs to a complete
 * request (or to empty lines before the next one). */
bool http_strict_between_requests(const struct http_strict *s);
