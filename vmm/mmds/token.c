/* MMDS V2 session tokens: see token.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <nettle/base64.h>
#include <nettle/memops.h>

#include "mmds/token.h"

#define TOKEN_BYTES (MMDS_TOKEN_IV_LEN + MMDS_TOKEN_PAYLOAD_LEN + MMDS_TOKEN_TAG_LEN)

static int default_random(void *buf, size_t len, void *opaque)
{
	(void)opaque;
	/* Short reads cannot happen for <= 256 bytes from getrandom(2); loop anyway
	 * in case a signal interrupts before any byte. */
	for (size_t done = 0; done < len;) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		done += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

static uint64_t default_now_ms(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int rekey(struct mmds_tokens *t)
{
	uint8_t key[MMDS_TOKEN_KEY_LEN];
	int r = t->src.random(key, sizeof(key), t->src.opaque);

	if (r < 0)
		return r;
	gcm_aes256_set_key(&t->key, key);
	memset(key, 0, sizeof(key));
	__asm__ volatile("" : : "r"(key) : "memory"); /* keep the wipe */
	t->issued = 0;
	return 0;
}

int mmds_tokens_init(struct mmds_tokens *t, const struct mmds_token_source *src)
{
	memset(t, 0, sizeof(*t));
	if (src)
		t->src = *src;
	if (!t->src.random)
		t->src.random = default_random;
	if (!t->src.now_ms)
		t->src.now_ms = default_now_ms;
	return rekey(t);
}

int mmds_tokens_set_instance_id(struct mmds_tokens *t, const char *id)
{
	int n = snprintf(t->aad, sizeof(t->aad), "microvmid=%s", id);

	if (n < 0 || (size_t)n >= sizeof(t->aad)) {
		t->aad[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* A fresh GCM state under the current key for one IV and the AAD. */
static void gcm_start(const struct mmds_tokens *t, struct gcm_aes256_ctx *ctx, const uint8_t *iv)
{
	*ctx = t->key;
	gcm_aes256_set_iv(ctx, MMDS_TOKEN_IV_LEN, iv);
	gcm_aes256_update(ctx, strlen(t->aad), (const uint8_t *)t->aad);
}

int mmds_token_issue(struct mmds_tokens *t, uint32_t ttl, char ret[MMDS_TOKEN_LEN + 1])
{
	uint8_t raw[TOKEN_BYTES], expiry[MMDS_TOKEN_PAYLOAD_LEN];
	struct gcm_aes256_ctx ctx;
	uint64_t when;
	int r;

	if (ttl < MMDS_TOKEN_TTL_MIN || ttl > MMDS_TOKEN_TTL_MAX)
		return -ERANGE;
	if (t->issued == MMDS_TOKEN_MAX_PER_KEY) {
		r = rekey(t);
		if (r < 0)
			return r;
		t->rekeys++;
	}
	r = t->src.random(raw, MMDS_TOKEN_IV_LEN, t->src.opaque);
	if (r < 0)
		return r;
	/* No overflow: ttl is at most 21,600,000 ms. */
	when = t->src.now_ms(t->src.opaque) + (uint64_t)ttl * 1000;
	for (int i = 0; i < MMDS_TOKEN_PAYLOAD_LEN; i++)
		expiry[i] = (uint8_t)(when >> (8 * i));
	gcm_start(t, &ctx, raw);
	gcm_aes256_encrypt(&ctx, sizeof(expiry), raw + MMDS_TOKEN_IV_LEN, expiry);
	gcm_aes256_digest(&ctx, MMDS_TOKEN_TAG_LEN, raw + MMDS_TOKEN_IV_LEN + MMDS_TOKEN_PAYLOAD_LEN);
	base64_encode_raw(ret, sizeof(raw), raw);
	ret[MMDS_TOKEN_LEN] = '\0';
	t->issued++;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict decoding of exactly 48 characters into 36 bytes. A canonical
 * standard-base64 string of 36 bytes has no padding, so any other length or
 * character cannot be a token (Firecracker's decoder is equally strict). */
static int token_decode(const char *s, size_t len, uint8_t out[TOKEN_BYTES])
{
	if (len != MMDS_TOKEN_LEN)
		return -EINVAL;
	for (size_t i = 0, o = 0; i < len; i += 4) {
		uint32_t quad = 0;
		for (size_t k = 0; k < 4; k++) {
			int v = b64_value(s[i + k]);
			if (v < 0)
				return -EINVAL;
			quad = quad << 6 | (uint32_t)v;
		}
		out[o++] = (uint8_t)(quad >> 16);
		out[o++] = (uint8_t)(quad >> 8);
		out[o++] = (uint8_t)quad;
	}
	return 0;
}

bool mmds_token_valid(const struct mmds_tokens *t, const char *token, size_t len)
{
	uint8_t raw[TOKEN_BYTES], expiry[MMDS_TOKEN_PAYLOAD_LEN], tag[MMDS_TOKEN_TAG_LEN];
	struct gcm_aes256_ctx ctx;
	uint64_t when = 0;

	/* Bound the work before decoding anything (Firecracker: 70 characters). */
	if (len > MMDS_TOKEN_LENGTH_LIMIT || token_decode(token, len, raw) < 0)
		return false;
	gcm_start(t, &ctx, raw);
	gcm_aes256_decrypt(&ctx, sizeof(expiry), expiry, raw + MMDS_TOKEN_IV_LEN);
	gcm_aes256_digest(&ctx, sizeof(tag), tag);
	if (!memeql_sec(tag, raw + MMDS_TOKEN_IV_LEN + MMDS_TOKEN_PAYLOAD_LEN, sizeof(tag)))
		return false;
	for (int i = MMDS_TOKEN_PAYLOAD_LEN - 1; i >= 0; i--)
		when = when << 8 | expiry[i];
	return when > t->src.now_ms(t->src.opaque);
}

void mmds_tokens_done(struct mmds_tokens *t)
{
	memset(&t->key, 0, sizeof(t->key));
	__asm__ volatile("" : : "r"(&t->key) : "memory");
}
