/* MMDS V2 session tokens, as Firecracker makes them (src/vmm/src/mmds/token.rs).
 *
 * A token is base64 (standard alphabet, padded) of 36 bytes: a 12-byte random
 * IV, the expiry (monotonic milliseconds, 8 bytes little endian) encrypted with
 * AES-256-GCM, and the 16-byte tag. The associated data is "microvmid=<id>",
 * so a token of one microVM is refused by another. The key is random per
 * process and never leaves it; after 2^32 - 1 tokens it is replaced (GCM with
 * random IVs must not see more messages under one key), which invalidates
 * every token issued before, as in Firecracker.
 *
 * The authority belongs to the vmm thread (the MMDS answers on it): no lock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/gcm.h>

#define MMDS_TOKEN_PATH "/latest/api/token"
#define MMDS_TOKEN_TTL_MIN 1u
#define MMDS_TOKEN_TTL_MAX 21600u
#define MMDS_TOKEN_IV_LEN 12
#define MMDS_TOKEN_PAYLOAD_LEN 8
#define MMDS_TOKEN_TAG_LEN 16
#define MMDS_TOKEN_KEY_LEN 32
/* base64 of IV + payload + tag: 36 bytes, 48 characters, no padding. */
#define MMDS_TOKEN_LEN 48
/* Longer tokens are refused before any decoding (Firecracker's limit). */
#define MMDS_TOKEN_LENGTH_LIMIT 70
#define MMDS_TOKEN_MAX_PER_KEY UINT32_MAX

/* Where the authority gets time and randomness. Tests pass a fake clock and a
 * fixed byte source; NULL means CLOCK_MONOTONIC and getrandom(2). */
struct mmds_token_source {
	/* 0 or -errno; fills all len bytes. */
	int (*random)(void *buf, size_t len, void *opaque);
	uint64_t (*now_ms)(void *opaque);
	void *opaque;
};

struct mmds_tokens {
	struct gcm_aes256_ctx key; /* key schedule only; each use copies it */
	uint32_t issued;           /* tokens under the current key */
	uint64_t rekeys;           /* times the key was replaced */
	char aad[128];             /* "microvmid=<instance id>", "" until set */
	struct mmds_token_source src;
};

/* Draws a key. src may be NULL (see above); it is copied. 0 or -errno from the
 * random source (the caller fails start-up with it). */
int mmds_tokens_init(struct mmds_tokens *t, const struct mmds_token_source *src);
/* Sets the associated data to "microvmid=<id>". -ENAMETOOLONG if it does not
 * fit (the instance id is at most 64 characters in ember), else 0. */
int mmds_tokens_set_instance_id(struct mmds_tokens *t, const char *id);
/* Issues a token valid for ttl seconds into ret (MMDS_TOKEN_LEN + 1 bytes,
 * NUL-terminated). -ERANGE for a ttl outside [1, 21600], -errno from the
 * random source; ret is written only on success. */
int mmds_token_issue(struct mmds_tokens *t, uint32_t ttl, char ret[MMDS_TOKEN_LEN + 1]);
/* True when token (len bytes, not NUL-terminated) was issued under the
 * current key and instance id and has not expired. Anything else, including
 * a token over MMDS_TOKEN_LENGTH_LIMIT characters, is false. */
bool mmds_token_valid(const struct mmds_tokens *t, const char *token, size_t len);
/* Wipes the key. */
void mmds_tokens_done(struct mmds_tokens *t);
