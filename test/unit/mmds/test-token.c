/* MMDS V2 session tokens with a fixed byte source and a fake clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mmds/token.h"

struct fake {
	uint8_t next;  /* the byte source yields next, next + 1, ... */
	uint64_t now;  /* the clock, in ms */
	int fail;      /* when non-zero, the byte source fails with it */
};

static int fake_random(void *buf, size_t len, void *opaque)
{
	struct fake *f = opaque;

	if (f->fail)
		return f->fail;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = f->next++;
	return 0;
}

static uint64_t fake_now(void *opaque)
{
	return ((struct fake *)opaque)->now;
}

static void setup_tokens(struct mmds_tokens *t, struct fake *f)
{
	struct mmds_token_source src = { fake_random, fake_now, f };

	f->next = 0;
	f->now = 1000000;
	f->fail = 0;
	assert_int_equal(mmds_tokens_init(t, &src), 0);
	assert_int_equal(mmds_tokens_set_instance_id(t, "vm-1"), 0);
}

static bool valid(const struct mmds_tokens *t, const char *s)
{
	return mmds_token_valid(t, s, strlen(s));
}

/* Known answer, computed independently (Python's cryptography AESGCM):
 * key 00..1f, IV 20..2b, expiry 1,060,000 ms little endian, AAD
 * "microvmid=vm-1". Proves the layout IV | ciphertext | tag and the AAD. */
static void test_known_answer(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1];

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 60, tok), 0);
	assert_string_equal(tok, "ICEiIyQlJicoKSorcha2cGyYGg60Y5UjWj2jIl4c+vtP0Z9t");
	assert_int_equal(t.issued, 1);
	mmds_tokens_done(&t);
}

static void test_expiry_is_exclusive(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1];

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 1, tok), 0);
	assert_true(valid(&t, tok));
	f.now += 999;
	assert_true(valid(&t, tok));
	f.now += 1; /* expiry > now, as Firecracker: at the expiry it is gone */
	assert_false(valid(&t, tok));
	f.now += 1000000;
	assert_false(valid(&t, tok));
}

static void test_ttl_bounds(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1] = "untouched";

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 0, tok), -ERANGE);
	assert_int_equal(mmds_token_issue(&t, 21601, tok), -ERANGE);
	assert_int_equal(mmds_token_issue(&t, UINT32_MAX, tok), -ERANGE);
	assert_string_equal(tok, "untouched");
	assert_int_equal(t.issued, 0);
	assert_int_equal(mmds_token_issue(&t, 1, tok), 0);
	assert_int_equal(mmds_token_issue(&t, 21600, tok), 0);
	f.now += 21600ull * 1000 - 1;
	assert_true(valid(&t, tok));
	f.now += 1;
	assert_false(valid(&t, tok));
}

static void test_instance_id_is_bound(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1], longid[200];

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 60, tok), 0);
	assert_int_equal(mmds_tokens_set_instance_id(&t, "vm-2"), 0);
	assert_false(valid(&t, tok));
	assert_int_equal(mmds_tokens_set_instance_id(&t, "vm-1"), 0);
	assert_true(valid(&t, tok));
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(mmds_tokens_set_instance_id(&t, longid), -ENAMETOOLONG);
	assert_false(valid(&t, tok));
}

/* Every single-bit change of the decoded token, and every character
 * replaced, is refused: IV, ciphertext and tag are all authenticated. */
static void test_tampering(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1], bad[MMDS_TOKEN_LEN + 1];

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 60, tok), 0);
	for (size_t i = 0; i < MMDS_TOKEN_LEN; i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_false(valid(&t, bad));
		bad[i] = '=';
		assert_false(valid(&t, bad));
		bad[i] = '\0';
		assert_false(mmds_token_valid(&t, bad, MMDS_TOKEN_LEN));
	}
	assert_true(valid(&t, tok));
}

static void test_shapes_refused(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1], buf[128];

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 60, tok), 0);
	assert_false(valid(&t, ""));
	assert_false(mmds_token_valid(&t, tok, MMDS_TOKEN_LEN - 1));
	assert_false(mmds_token_valid(&t, tok, MMDS_TOKEN_LEN - 4));
	/* The token followed by more characters: 49, padded 52, and over 70. */
	snprintf(buf, sizeof(buf), "%sA", tok);
	assert_false(valid(&t, buf));
	snprintf(buf, sizeof(buf), "%sAA==", tok);
	assert_false(valid(&t, buf));
	snprintf(buf, sizeof(buf), "%s%s", tok, tok);
	assert_int_equal(strlen(buf), 96);
	assert_false(valid(&t, buf));
	/* Surrounding blanks are not part of a token. */
	snprintf(buf, sizeof(buf), " %s", tok);
	assert_false(valid(&t, buf));
	assert_true(valid(&t, tok));
}

/* After 2^32 - 1 tokens the key is replaced; older tokens die with it. */
static void test_rekey_after_limit(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char old[MMDS_TOKEN_LEN + 1], tok[MMDS_TOKEN_LEN + 1];

	(void)state;
	setup_tokens(&t, &f);
	assert_int_equal(mmds_token_issue(&t, 60, old), 0);
	t.issued = UINT32_MAX - 1;
	assert_int_equal(mmds_token_issue(&t, 60, tok), 0);
	assert_int_equal(t.issued, UINT32_MAX);
	assert_int_equal(t.rekeys, 0);
	assert_true(valid(&t, old));
	assert_int_equal(mmds_token_issue(&t, 60, tok), 0);
	assert_int_equal(t.rekeys, 1);
	assert_int_equal(t.issued, 1);
	assert_false(valid(&t, old));
	assert_true(valid(&t, tok));
}

static void test_random_failure(void **state)
{
	struct mmds_tokens t;
	struct fake f;
	char tok[MMDS_TOKEN_LEN + 1] = "untouched";

	(void)state;
	setup_tokens(&t, &f);
	f.fail = -EAGAIN;
	assert_int_equal(mmds_token_issue(&t, 60, tok), -EAGAIN);
	assert_string_equal(tok, "untouched");
	assert_int_equal(t.issued, 0);
	t.issued = UINT32_MAX;
	assert_int_equal(mmds_token_issue(&t, 60, tok), -EAGAIN);
	assert_int_equal(t.rekeys, 0);
}

/* The real sources: getrandom(2) keys differ, the monotonic clock runs. */
static void test_default_sources(void **state)
{
	struct mmds_tokens a, b;
	char tok[MMDS_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(mmds_tokens_init(&a, NULL), 0);
	assert_int_equal(mmds_tokens_init(&b, NULL), 0);
	assert_int_equal(mmds_token_issue(&a, 60, tok), 0);
	assert_true(mmds_token_valid(&a, tok, strlen(tok)));
	assert_false(mmds_token_valid(&b, tok, strlen(tok)));
	mmds_tokens_done(&a);
	mmds_tokens_done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_expiry_is_exclusive),
		cmocka_unit_test(test_ttl_bounds),
		cmocka_unit_test(test_instance_id_is_bound),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_shapes_refused),
		cmocka_unit_test(test_rekey_after_limit),
		cmocka_unit_test(test_random_failure),
		cmocka_unit_test(test_default_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
