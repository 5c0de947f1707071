#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/machine_config.h"

#define DESER "An error occurred when deserializing the json body of a request: "

static char err[1024];

/* Parses text; on failure expects err to equal want exactly (or contain it when partial). */
static int parse(const char *text, bool patch, struct machine_config *mc)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	int r;

	assert_non_null(j);
	err[0] = '\0';
	r = machine_config_parse(j, patch, mc, err, sizeof(err));
	json_decref(j);
	return r;
}

static void expect_error(const char *text, bool patch, const char *want)
{
	struct machine_config mc = MACHINE_CONFIG_DEFAULT, before;

	mc.vcpu_count = 2;
	before = mc;
	assert_true(parse(text, patch, &mc) < 0);
	if (strcmp(err, want) != 0)
		fail_msg("%s\n  got:  %s\n  want: %s", text, err, want);
	assert_memory_equal(&mc, &before, sizeof(mc)); /* untouched on error */
}

static void test_valid_put(void **state)
{
	struct machine_config mc = MACHINE_CONFIG_DEFAULT;

	assert_int_equal(parse("{\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": true}", false, &mc), 0);
	assert_int_equal(mc.vcpu_count, 2);
	assert_int_equal(mc.mem_size_mib, 1024);
	assert_true(mc.smt);
	/* PUT resets unspecified optional fields. */
	assert_int_equal(parse("{\"vcpu_count\": 32, \"mem_size_mib\": 1, \"track_dirty_pages\": false, "
			       "\"huge_pages\": \"None\", \"cpu_template\": \"None\"}", false, &mc), 0);
	assert_false(mc.smt);
	assert_int_equal(mc.vcpu_count, 32);
}

static void test_patch(void **state)
{
	struct machine_config mc = MACHINE_CONFIG_DEFAULT;

	assert_int_equal(parse("{\"mem_size_mib\": 256}", true, &mc), 0);
	assert_int_equal(mc.vcpu_count, 1);
	assert_int_equal(mc.mem_size_mib, 256);
	expect_error("{}", true, "Empty PATCH request.");
	/* The patched whole is validated: smt with 3 vCPUs. */
	mc.vcpu_count = 3;
	assert_true(parse("{\"smt\": true}", true, &mc) < 0);
	assert_false(mc.smt);
}

static void test_unknown_and_missing_fields(void **state)
{
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"foo\": 1}", false,
		     DESER "unknown field `foo`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, "
			   "`cpu_template`, `track_dirty_pages`, `huge_pages`, `irqchip`, `pit`.");
	expect_error("{\"mem_size_mib\": 128}", false, DESER "missing field `vcpu_count`.");
	expect_error("{\"vcpu_count\": 1}", false, DESER "missing field `mem_size_mib`.");
	expect_error("[1]", false, DESER "invalid type: sequence, expected struct MachineConfig.");
}

static void test_wrong_types(void **state)
{
	expect_error("{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}", false,
		     DESER "invalid type: string \"2\", expected u8 for field `vcpu_count`.");
	expect_error("{\"vcpu_count\": 1.5, \"mem_size_mib\": 128}", false,
		     DESER "invalid type: floating point `1.5`, expected u8 for field `vcpu_count`.");
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": true}", false,
		     DESER "invalid type: boolean `true`, expected usize for field `mem_size_mib`.");
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": 1}", false,
		     DESER "invalid type: integer `1`, expected a boolean for field `smt`.");
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"track_dirty_pages\": \"no\"}", false,
		     DESER "invalid type: string \"no\", expected a boolean for field `track_dirty_pages`.");
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": 2}", false,
		     DESER "invalid type: integer `2`, expected a string for field `huge_pages`.");
	expect_error("{\"vcpu_count\": null, \"mem_size_mib\": 128}", false,
		     DESER "invalid type: null, expected u8 for field `vcpu_count`.");
}

static void test_out_of_range(void **state)
{
	const char *vcpus = "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must "
			    "be 1 or an even number if SMT is enabled.";
	const char *mem = "Machine config error: The memory size (MiB) is either 0, or not a multiple of the "
			  "configured page size.";

	expect_error("{\"vcpu_count\": 0, \"mem_size_mib\": 128}", false, vcpus);
	expect_error("{\"vcpu_count\": 33, \"mem_size_mib\": 128}", false, vcpus);
	expect_error("{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}", false, vcpus);
	expect_error("{\"vcpu_count\": 256, \"mem_size_mib\": 128}", false,
		     DESER "invalid value: integer `256`, expected u8 for field `vcpu_count`.");
	expect_error("{\"vcpu_count\": -1, \"mem_size_mib\": 128}", false,
		     DESER "invalid value: integer `-1`, expected u8 for field `vcpu_count`.");
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 0}", false, mem);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 1048577}", false,
		     "Machine config error: The memory size (MiB) exceeds this build's limit of 1048576 MiB.");
}

static void test_absent_capabilities(void **state)
{
	struct machine_config mc = MACHINE_CONFIG_DEFAULT;

	/* track_dirty_pages is served (Diff snapshots); PATCH keeps it when absent */
	assert_int_equal(parse("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"track_dirty_pages\": true}", false, &mc), 0);
	assert_true(mc.track_dirty_pages);
	assert_int_equal(parse("{\"vcpu_count\": 2}", true, &mc), 0);
	assert_true(mc.track_dirty_pages);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}", false,
		     DESER "unknown variant `1G`, expected one of `None`, `2M`, `Transparent`.");
}

/* huge_pages: the three names; either huge kind needs an even size; PATCH
 * keeps it when absent, PUT resets it; GET shows it under its name. */
static void test_huge_pages(void **state)
{
	static const char mem[] = "Machine config error: The memory size (MiB) is either 0, or not a multiple of "
				  "the configured page size.";
	struct machine_config mc = MACHINE_CONFIG_DEFAULT;
	json_t *j;
	char *s;

	assert_int_equal(parse("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}", false, &mc), 0);
	assert_int_equal(mc.huge_pages, HUGE_PAGES_2M);
	j = machine_config_to_json(&mc);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(s, "\"huge_pages\":\"2M\""));
	free(s);
	json_decref(j);
	assert_int_equal(parse("{\"mem_size_mib\": 256}", true, &mc), 0);
	assert_int_equal(mc.huge_pages, HUGE_PAGES_2M);
	assert_true(parse("{\"mem_size_mib\": 127}", true, &mc) < 0); /* against the 2M already set */
	assert_string_equal(err, mem);
	assert_int_equal(mc.mem_size_mib, 256);
	assert_int_equal(parse("{\"huge_pages\": \"Transparent\"}", true, &mc), 0);
	assert_int_equal(mc.huge_pages, HUGE_PAGES_TRANSPARENT);
	assert_int_equal(parse("{\"vcpu_count\": 1, \"mem_size_mib\": 127}", false, &mc), 0);
	assert_int_equal(mc.huge_pages, HUGE_PAGES_NONE);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 127, \"huge_pages\": \"2M\"}", false, mem);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"Transparent\"}", false, mem);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 0, \"huge_pages\": \"2M\"}", false, mem);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2m\"}", false,
		     DESER "unknown variant `2m`, expected one of `None`, `2M`, `Transparent`.");
}

/* cpu_template: Firecracker's x86 names; absent keeps the current one (PUT
 * too), "None" clears it; an aarch64 name is an unknown variant. */
static void test_cpu_template(void **state)
{
	struct machine_config mc = MACHINE_CONFIG_DEFAULT;
	json_t *j;
	char *s;

	assert_int_equal(mc.cpu_template, CPU_TEMPLATE_NONE);
	for (enum cpu_template_name t = CPU_TEMPLATE_C3; t <= CPU_TEMPLATE_T2A; t++) {
		char body[128];

		snprintf(body, sizeof(body), "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"%s\"}",
			 cpu_template_names[t]);
		assert_int_equal(parse(body, false, &mc), 0);
		assert_int_equal(mc.cpu_template, t);
	}
	assert_int_equal(parse("{\"vcpu_count\": 2, \"mem_size_mib\": 128}", false, &mc), 0);
	assert_int_equal(mc.cpu_template, CPU_TEMPLATE_T2A);
	assert_int_equal(parse("{\"vcpu_count\": 2}", true, &mc), 0);
	assert_int_equal(mc.cpu_template, CPU_TEMPLATE_T2A);
	j = machine_config_to_json(&mc);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(s, "\"smt\":false,\"cpu_template\":\"T2A\",\"track_dirty_pages\""));
	free(s);
	json_decref(j);
	assert_int_equal(parse("{\"cpu_template\": \"None\"}", true, &mc), 0);
	assert_int_equal(mc.cpu_template, CPU_TEMPLATE_NONE);
	j = machine_config_to_json(&mc);
	s = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(s, "cpu_template"));
	free(s);
	json_decref(j);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"V1N1\"}", false,
		     DESER "unknown variant `V1N1`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, `T2A`.");
}

static void test_to_json(void **state)
{
	struct machine_config mc = { .vcpu_count = 2, .mem_size_mib = 512, .smt = true };
	json_t *j = machine_config_to_json(&mc);
	char *s = json_dumps(j, JSON_COMPACT);

	assert_string_equal(s, "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":true,\"track_dirty_pages\":false,"
			       "\"huge_pages\":\"None\"}");
	free(s);
	json_decref(j);
}

/* irqchip and pit: pit follows irqchip unless set; the PIT needs KVM's irqchip. */
static void test_irqchip_and_pit(void **state)
{
	struct machine_config mc = MACHINE_CONFIG_DEFAULT;

	assert_int_equal(mc.irqchip, IRQCHIP_KERNEL);
	assert_true(machine_config_pit(&mc));
	assert_int_equal(parse("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"irqchip\": \"split\"}", false, &mc), 0);
	assert_int_equal(mc.irqchip, IRQCHIP_SPLIT);
	assert_false(machine_config_pit(&mc));
	/* PUT resets both; PATCH keeps what it does not name. */
	assert_int_equal(parse("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"pit\": false}", false, &mc), 0);
	assert_int_equal(mc.irqchip, IRQCHIP_KERNEL);
	assert_false(machine_config_pit(&mc));
	assert_int_equal(parse("{\"irqchip\": \"split\"}", true, &mc), 0);
	assert_false(machine_config_pit(&mc));
	assert_int_equal(parse("{\"irqchip\": \"kernel\"}", true, &mc), 0);
	assert_false(machine_config_pit(&mc)); /* still the pit:false it was given */
	assert_int_equal(parse("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"irqchip\": \"kernel\", "
			       "\"pit\": true}", false, &mc), 0);
	assert_true(machine_config_pit(&mc));

	const char *needs = "Machine config error: an in-kernel PIT needs irqchip \"kernel\".";

	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"irqchip\": \"split\", \"pit\": true}", false,
		     needs);
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"irqchip\": \"userspace\"}", false,
		     DESER "unknown variant `userspace`, expected `kernel` or `split`.");
	expect_error("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"pit\": \"off\"}", false,
		     DESER "invalid type: string \"off\", expected a boolean for field `pit`.");
	/* A PATCH to split over an explicit pit:true is refused, the whole kept. */
	mc = MACHINE_CONFIG_DEFAULT;
	assert_int_equal(parse("{\"pit\": true}", true, &mc), 0);
	struct machine_config before = mc;

	assert_true(parse("{\"irqchip\": \"split\"}", true, &mc) < 0);
	assert_string_equal(err, needs);
	assert_memory_equal(&mc, &before, sizeof(mc));
}

/* Shown only away from their defaults; what is shown parses back to the same VM. */
static void test_irqchip_to_json(void **state)
{
	static const struct {
		struct machine_config mc;
		const char *tail;
	} cases[] = {
		{ { .vcpu_count = 1, .mem_size_mib = 128 }, "\"huge_pages\":\"None\"}" },
		{ { .vcpu_count = 1, .mem_size_mib = 128, .pit_set = true, .pit = true }, "\"huge_pages\":\"None\"}" },
		{ { .vcpu_count = 1, .mem_size_mib = 128, .irqchip = IRQCHIP_SPLIT },
		  "\"huge_pages\":\"None\",\"irqchip\":\"split\"}" },
		{ { .vcpu_count = 1, .mem_size_mib = 128, .pit_set = true, .pit = false },
		  "\"huge_pages\":\"None\",\"pit\":false}" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = machine_config_to_json(&cases[i].mc);
		char *s = json_dumps(j, JSON_COMPACT);
		struct machine_config back = MACHINE_CONFIG_DEFAULT;

		assert_non_null(strstr(s, cases[i].tail));
		assert_int_equal(machine_config_parse(j, false, &back, err, sizeof(err)), 0);
		assert_int_equal(back.irqchip, cases[i].mc.irqchip);
		assert_int_equal(machine_config_pit(&back), machine_config_pit(&cases[i].mc));
		free(s);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_put),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_unknown_and_missing_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_absent_capabilities),
		cmocka_unit_test(test_huge_pages),
		cmocka_unit_test(test_cpu_template),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_irqchip_and_pit),
		cmocka_unit_test(test_irqchip_to_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
