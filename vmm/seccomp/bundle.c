#include "bundle.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA-256 comes from nettle: Debian ships it as a static archive
 * (nettle-dev), and the static link pulls in only the sha256 objects, so
 * ember stays a small static PIE without carrying its own hash code. */
#include <nettle/sha2.h>

#include "cleanup.h"
#include "constants.h"

#define HEADER_SIZE 24
#define PROG_HEADER_SIZE 8

void bundle_sha256(const void *buf, size_t len, uint8_t out[BUNDLE_DIGEST_SIZE])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

void bundle_clear(struct seccomp_bundle *b)
{
	for (size_t i = 0; i < BUNDLE_PROGS; i++)
		compile_prog_clear(&b->progs[i]);
}

int bundle_build(const struct policy *p, struct seccomp_bundle *ret)
{
	struct seccomp_bundle b = { .arch = p->arch };

	for (unsigned i = 0; i < BUNDLE_PROGS; i++) {
		int r = compile_program(p, i, &b.progs[i]);
		if (r < 0) {
			bundle_clear(&b);
			return r;
		}
	}
	*ret = b;
	return 0;
}

static uint8_t *put_u32(uint8_t *at, uint32_t v)
{
	memcpy(at, &v, sizeof(v));
	return at + sizeof(v);
}

static uint32_t get_u32(const uint8_t *at)
{
	uint32_t v;

	memcpy(&v, at, sizeof(v));
	return v;
}

int bundle_serialize(struct seccomp_bundle *b, uint8_t **ret, size_t *ret_len)
{
	size_t len = HEADER_SIZE + BUNDLE_DIGEST_SIZE;
	uint8_t *buf, *at;

	for (size_t i = 0; i < BUNDLE_PROGS; i++)
		len += PROG_HEADER_SIZE + b->progs[i].n_insns * sizeof(struct sock_filter);
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, BUNDLE_MAGIC, 8);
	at = put_u32(buf + 8, BUNDLE_VERSION);
	at = put_u32(at, b->arch);
	at = put_u32(at, BUNDLE_PROGS);
	at = put_u32(at, 0);
	for (uint32_t i = 0; i < BUNDLE_PROGS; i++) {
		at = put_u32(at, i);
		at = put_u32(at, (uint32_t)b->progs[i].n_insns);
		memcpy(at, b->progs[i].insns, b->progs[i].n_insns * sizeof(struct sock_filter));
		at += b->progs[i].n_insns * sizeof(struct sock_filter);
	}
	bundle_sha256(buf, (size_t)(at - buf), at);
	memcpy(b->digest, at, BUNDLE_DIGEST_SIZE);
	*ret = buf;
	*ret_len = len;
	return 0;
}

bool bundle_has_magic(const void *buf, size_t len)
{
	return len >= 8 && memcmp(buf, BUNDLE_MAGIC, 8) == 0;
}

_printf_(3, 4) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int header_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (len < HEADER_SIZE + BUNDLE_DIGEST_SIZE || !bundle_has_magic(buf, len))
		return bad(err, errlen, "not a compiled seccomp bundle (bad magic or too short)");
	if (get_u32(buf + 8) != BUNDLE_VERSION)
		return bad(err, errlen, "bundle version %u; this build reads version %d", get_u32(buf + 8),
			   BUNDLE_VERSION);
	if (get_u32(buf + 12) != seccomp_const_arch())
		return bad(err, errlen, "bundle compiled for arch 0x%x, not this build's 0x%x", get_u32(buf + 12),
			   seccomp_const_arch());
	if (get_u32(buf + 16) != BUNDLE_PROGS || get_u32(buf + 20) != 0)
		return bad(err, errlen, "bundle holds %u programs; expected %d", get_u32(buf + 16), BUNDLE_PROGS);
	return 0;
}

int bundle_parse(const void *data, size_t len, struct seccomp_bundle *ret, char *err, size_t errlen)
{
	const uint8_t *buf = data, *at = buf + HEADER_SIZE, *end;
	struct seccomp_bundle b = { 0 };
	uint8_t digest[BUNDLE_DIGEST_SIZE];

	if (header_check(buf, len, err, errlen) < 0)
		return -EINVAL;
	end = buf + len - BUNDLE_DIGEST_SIZE;
	bundle_sha256(buf, len - BUNDLE_DIGEST_SIZE, digest);
	if (memcmp(digest, end, BUNDLE_DIGEST_SIZE) != 0)
		return bad(err, errlen, "bundle digest mismatch: the file is truncated or corrupt");
	for (uint32_t i = 0; i < BUNDLE_PROGS; i++) {
		uint32_t n;

		if ((size_t)(end - at) < PROG_HEADER_SIZE || get_u32(at) != i)
			return bundle_clear(&b), bad(err, errlen, "bundle program %u is missing or out of order", i);
		n = get_u32(at + 4);
		at += PROG_HEADER_SIZE;
		if (n == 0 || n > BPF_MAXINSNS || (size_t)(end - at) < n * sizeof(struct sock_filter))
			return bundle_clear(&b), bad(err, errlen, "bundle program %u has a bad length %u", i, n);
		b.progs[i].insns = malloc(n * sizeof(struct sock_filter));
		if (!b.progs[i].insns)
			return bundle_clear(&b), -ENOMEM;
		memcpy(b.progs[i].insns, at, n * sizeof(struct sock_filter));
		b.progs[i].n_insns = n;
		at += n * sizeof(struct sock_filter);
	}
	if (at != end)
		return bundle_clear(&b), bad(err, errlen, "bundle has %zu trailing bytes", (size_t)(end - at));
	b.arch = get_u32(buf + 12);
	memcpy(b.digest, end, BUNDLE_DIGEST_SIZE);
	*ret = b;
	return 0;
}
