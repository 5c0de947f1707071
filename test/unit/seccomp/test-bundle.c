/* The bundle format: round trip, and refusal of damaged or foreign files. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle.h"

static const char yaml[] =
	"version: 1\narches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n"
	"roles:\n  vmm: {rules: [{syscall: read, comment: r}]}\n  api: {rules: [{syscall: write, comment: w}]}\n"
	"  vcpu: {rules: [{syscall: ioctl, comment: i, args: [{arg: 1, op: eq, width: 32, value: KVM_RUN}]}]}\n";

static void build(uint8_t **buf, size_t *len, struct seccomp_bundle *b)
{
	struct policy_error err;
	struct policy *p = NULL;

	assert_int_equal(policy_load_buffer("b.yaml", yaml, strlen(yaml), &p, &err), 0);
	assert_int_equal(bundle_build(p, b), 0);
	assert_int_equal(bundle_serialize(b, buf, len), 0);
	policy_free(p);
}

static void test_round_trip(void **state)
{
	struct seccomp_bundle b, back;
	uint8_t *buf;
	size_t len;
	char err[200];

	build(&buf, &len, &b);
	assert_true(bundle_has_magic(buf, len));
	assert_int_equal(bundle_parse(buf, len, &back, err, sizeof(err)), 0);
	for (size_t i = 0; i < BUNDLE_PROGS; i++) {
		assert_int_equal(back.progs[i].n_insns, b.progs[i].n_insns);
		assert_memory_equal(back.progs[i].insns, b.progs[i].insns, b.progs[i].n_insns * 8);
	}
	assert_memory_equal(back.digest, b.digest, BUNDLE_DIGEST_SIZE);
	bundle_clear(&b);
	bundle_clear(&back);
	free(buf);
}

static void test_damage_refused(void **state)
{
	struct seccomp_bundle b, back;
	uint8_t *buf;
	size_t len;
	char err[200];

	build(&buf, &len, &b);
	buf[40] ^= 1;
	assert_int_equal(bundle_parse(buf, len, &back, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bundle digest mismatch: the file is truncated or corrupt");
	buf[40] ^= 1;
	assert_int_equal(bundle_parse(buf, len - 1, &back, err, sizeof(err)), -EINVAL);
	buf[8] = 2;
	assert_int_equal(bundle_parse(buf, len, &back, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bundle version 2; this build reads version 1");
	assert_int_equal(bundle_parse("version: 1\n", 11, &back, err, sizeof(err)), -EINVAL);
	bundle_clear(&b);
	free(buf);
}

/* Known-answer test for the digest (FIPS 180-2, "abc"). */
static void test_sha256(void **state)
{
	static const uint8_t want[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					  0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					  0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	uint8_t got[32];

	bundle_sha256("abc", 3, got);
	assert_memory_equal(got, want, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_sha256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
