/* The /cpu-config parser (config/cpu_config.h): Firecracker's grammar and
 * its error words, each naming the field, and the caps on every list. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/cpu_config.h"

#define DESER "An error occurred when deserializing the json body of a request: "

static char err[1024];

static int parse(const char *text, struct cpu_config **ret)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	int r;

	if (!j)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	err[0] = 0;
	*ret = NULL;
	r = cpu_config_parse(j, ret, err, sizeof(err));
	json_decref(j);
	return r;
}

static void expect_error(const char *text, const char *want)
{
	struct cpu_config *c;

	if (parse(text, &c) != -EINVAL)
		fail_msg("%s: accepted, expected %s", text, want);
	assert_null(c);
	if (strcmp(err, want) != 0)
		fail_msg("%s\n  got:  %s\n  want: %s", text, err, want);
}

static void test_full(void **state)
{
	struct cpu_config *c;

	assert_int_equal(parse("{\"kvm_capabilities\": [\"121\", \"!+7\"],"
			       " \"cpuid_modifiers\": [{\"leaf\": \"0x80000001\", \"subleaf\": \"0b0\", \"flags\": 1,"
			       "   \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0bx00100xxx1xxxxxxxxxxxxxxxxxxxxx1\"},"
			       "                   {\"register\": \"eax\", \"bitmap\": \"1_0x\"}]}],"
			       " \"msr_modifiers\": [{\"addr\": \"0x10A\", \"bitmap\": \"0b1x\"}]}", &c), 0);
	assert_int_equal(c->ncaps, 2);
	assert_int_equal(c->caps[0].cap, 121);
	assert_false(c->caps[0].remove);
	assert_int_equal(c->caps[1].cap, 7);
	assert_true(c->caps[1].remove);
	assert_int_equal(c->nleaves, 1);
	assert_int_equal(c->leaves[0].leaf, 0x80000001);
	assert_int_equal(c->leaves[0].subleaf, 0);
	assert_int_equal(c->leaves[0].flags, 1);
	assert_int_equal(c->leaves[0].nmods, 2);
	assert_int_equal(c->leaves[0].mods[0].reg, CPUID_ECX);
	assert_int_equal(c->leaves[0].mods[0].bitmap.filter, 0x7c400001);
	assert_int_equal(c->leaves[0].mods[0].bitmap.value, 0x10400001);
	/* short: the high bits are `x`; '_' separates */
	assert_int_equal(c->leaves[0].mods[1].bitmap.filter, 0x6);
	assert_int_equal(c->leaves[0].mods[1].bitmap.value, 0x4);
	assert_int_equal(c->nmsrs, 1);
	assert_int_equal(c->msrs[0].addr, 0x10a);
	assert_int_equal(c->msrs[0].bitmap.filter, 0x2);
	assert_int_equal(c->msrs[0].bitmap.value, 0x2);
	free(c);
	/* Firecracker: every list is optional. */
	assert_int_equal(parse("{}", &c), 0);
	assert_int_equal(c->nleaves + c->nmsrs + c->ncaps, 0);
	free(c);
}

static void test_64_bit_msr_bitmap(void **state)
{
	struct cpu_config *c;
	char body[256];

	snprintf(body, sizeof(body), "{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b1%063d\"}]}", 0);
	assert_int_equal(parse(body, &c), 0);
	assert_true(c->msrs[0].bitmap.filter == UINT64_MAX);
	assert_true(c->msrs[0].bitmap.value == 1ull << 63);
	free(c);
	snprintf(body, sizeof(body), "{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b11%063d\"}]}", 0);
	assert_int_equal(parse(body, &c), -EINVAL);
	assert_non_null(strstr(err, "as a bitmap - string is too long"));
}

static void test_errors(void **state)
{
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"12\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		     DESER "No supported number system prefix found in value [12]. Make sure to prefix the number "
		     "with '0x' for hexadecimal numbers or '0b' for binary numbers. (field `leaf` in "
		     "cpuid_modifiers[0]).");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0xz\", \"flags\": 0, \"modifiers\": []}]}",
		     DESER "Failed to parse string [0xz] as a number for CPU template - ParseIntError { kind: "
		     "InvalidDigit } (field `subleaf` in cpuid_modifiers[0]).");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x100000000\", \"subleaf\": \"0x0\", \"flags\": 0, "
		     "\"modifiers\": []}]}",
		     DESER "Failed to parse string [0x100000000] as a number for CPU template - ParseIntError { "
		     "kind: PosOverflow } (field `leaf` in cpuid_modifiers[0]).");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		     DESER "Failed to parse string [0x] as a number for CPU template - ParseIntError { kind: Empty } "
		     "(field `leaf` in cpuid_modifiers[0]).");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
		     "[{\"register\": \"ekx\", \"bitmap\": \"0b1\"}]}]}",
		     DESER "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx] (field `register` in "
		     "cpuid_modifiers[0].modifiers[0]).");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
		     "[{\"register\": \"eax\", \"bitmap\": \"0b1y\"}]}]}",
		     DESER "Failed to parse string [0b1y] as a bitmap - unknown character: 121.");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
		     "[{\"register\": \"eax\", \"bitmap\": \"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}]}",
		     DESER "Failed to parse string [0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx] as a bitmap - string is too "
		     "long.");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"modifiers\": []}]}",
		     DESER "missing field `flags`.");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0}]}",
		     DESER "missing field `modifiers` in cpuid_modifiers[0].");
	expect_error("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": -1, \"modifiers\": []}]}",
		     DESER "invalid value: integer `-1`, expected u32 for field `flags`.");
	expect_error("{\"msr_modifiers\": [{\"addr\": 266, \"bitmap\": \"0b1\"}]}",
		     DESER "invalid type: integer `266`, expected a string for field `addr` in msr_modifiers[0].");
	expect_error("{\"msr_modifiers\": [{\"addr\": \"0x10a\"}]}",
		     DESER "missing field `bitmap` in msr_modifiers[0].");
	expect_error("{\"kvm_capabilities\": [\"12a\"]}",
		     DESER "Failed to parse string [12a] as a kvm capability - can not convert to numeric: invalid "
		     "digit found in string (field `kvm_capabilities[0]`).");
	expect_error("{\"kvm_capabilities\": [\"1\", \"!\"]}",
		     DESER "Failed to parse string [!] as a kvm capability - can not convert to numeric: cannot parse "
		     "integer from empty string (field `kvm_capabilities[1]`).");
	expect_error("{\"kvm_capabilities\": [121]}",
		     DESER "invalid type: integer `121`, expected a string for field `kvm_capabilities[0]`.");
	expect_error("{\"reg_modifiers\": []}",
		     DESER "unknown field `reg_modifiers`, expected one of `kvm_capabilities`, `cpuid_modifiers`, "
		     "`msr_modifiers`.");
	expect_error("{\"msr_modifiers\": {}}", DESER "invalid type: map, expected a sequence.");
	expect_error("[]", DESER "invalid type: sequence, expected struct CustomCpuTemplate.");
}

/* Hostile sizes: each list has a cap, named in the refusal. */
static void test_caps(void **state)
{
	json_t *j = json_object(), *leaves = json_array(), *msrs = json_array(), *mods = json_array();
	struct cpu_config *c = NULL;

	for (unsigned i = 0; i <= CPU_CONFIG_MAX_LEAVES; i++)
		json_array_append_new(leaves, json_pack("{s:s,s:s,s:i,s:[]}", "leaf", "0x1", "subleaf", "0x0", "flags", 0,
						       "modifiers"));
	json_object_set_new(j, "cpuid_modifiers", leaves);
	assert_int_equal(cpu_config_parse(j, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "cpuid_modifiers: at most 256 leaves.");
	json_object_del(j, "cpuid_modifiers");
	for (unsigned i = 0; i <= CPU_CONFIG_MAX_MSRS; i++)
		json_array_append_new(msrs, json_pack("{s:s,s:s}", "addr", "0x10", "bitmap", "0b1"));
	json_object_set_new(j, "msr_modifiers", msrs);
	assert_int_equal(cpu_config_parse(j, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "msr_modifiers: at most 256 MSRs.");
	json_object_del(j, "msr_modifiers");
	for (unsigned i = 0; i <= CPU_CONFIG_MAX_REG_MODS; i++)
		json_array_append_new(mods, json_pack("{s:s,s:s}", "register", "eax", "bitmap", "0b1"));
	json_object_set_new(j, "cpuid_modifiers",
			    json_pack("[{s:s,s:s,s:i,s:o}]", "leaf", "0x1", "subleaf", "0x0", "flags", 0, "modifiers", mods));
	assert_int_equal(cpu_config_parse(j, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "cpuid_modifiers[0].modifiers[8]: at most 8 register modifiers per leaf.");
	assert_null(c);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_64_bit_msr_bitmap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
