/* libFuzzer: MMDS V2 token decoding. A genuine token is issued under a fixed
 * key and clock; the input is XORed onto it (extra bytes are appended) and
 * the result validated. Any string other than the genuine token must be
 * refused: that would be a forgery, or a decoder accepting two spellings of
 * one token. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmds/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int counter_random(void *buf, size_t len, void *opaque)
{
	uint8_t *next = opaque;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (*next)++;
	return 0;
}

static uint64_t fixed_now(void *opaque)
{
	(void)opaque;
	return 5000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t next;
	struct mmds_token_source src = { counter_random, fixed_now, &next };
	struct mmds_tokens t;
	char tok[MMDS_TOKEN_LEN + 1];
	size_t len = size > MMDS_TOKEN_LEN ? size : MMDS_TOKEN_LEN;
	char *cand = malloc(len);

	next = 0;
	if (!cand || mmds_tokens_init(&t, &src) < 0 || mmds_tokens_set_instance_id(&t, "fuzz") < 0 ||
	    mmds_token_issue(&t, 60, tok) < 0)
		abort();
	memcpy(cand, tok, MMDS_TOKEN_LEN);
	memset(cand + MMDS_TOKEN_LEN, 0, len - MMDS_TOKEN_LEN);
	for (size_t i = 0; i < size; i++)
		cand[i] ^= (char)data[i];
	bool same = len == MMDS_TOKEN_LEN && memcmp(cand, tok, MMDS_TOKEN_LEN) == 0;
	if (mmds_token_valid(&t, cand, len) != same)
		abort();
	/* Also the raw input as a token, as a guest sends it. */
	if (mmds_token_valid(&t, (const char *)data, size) && (size != MMDS_TOKEN_LEN || memcmp(data, tok, size)))
		abort();
	free(cand);
	mmds_tokens_done(&t);
	return 0;
}
