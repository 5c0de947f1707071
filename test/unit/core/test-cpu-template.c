/* CPU templates without KVM: ember's static tables against Firecracker's
 * JSON copies (test/data/firecracker-cpu-templates/), the vendor/model rule
 * on injected hosts, and the application of modifiers to a CPUID table. */
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
#include "core/cpu_template.h"
#include "core/cpuid.h"

static struct cpu_config *load_firecracker_json(const char *name)
{
	const char *dir = getenv("EMBER_TEST_DATA");
	struct cpu_config *c = NULL;
	char path[512], err[512] = "";
	json_error_t jerr;
	json_t *j;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/firecracker-cpu-templates/%s.json", dir, name);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("%s: %s", path, jerr.text);
	if (cpu_config_parse(j, &c, err, sizeof(err)) < 0)
		fail_msg("%s: %s", path, err);
	json_decref(j);
	return c;
}

static void assert_same_template(const struct cpu_config *a, const struct cpu_config *b)
{
	assert_int_equal(a->nleaves, b->nleaves);
	assert_int_equal(a->nmsrs, b->nmsrs);
	assert_int_equal(a->ncaps, b->ncaps);
	for (unsigned i = 0; i < a->nleaves; i++) {
		const struct cpuid_leaf_modifier *x = &a->leaves[i], *y = &b->leaves[i];

		assert_int_equal(x->leaf, y->leaf);
		assert_int_equal(x->subleaf, y->subleaf);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->nmods, y->nmods);
		for (unsigned m = 0; m < x->nmods; m++) {
			assert_int_equal(x->mods[m].reg, y->mods[m].reg);
			assert_int_equal(x->mods[m].bitmap.filter, y->mods[m].bitmap.filter);
			assert_int_equal(x->mods[m].bitmap.value, y->mods[m].bitmap.value);
		}
	}
	for (unsigned i = 0; i < a->nmsrs; i++) {
		assert_int_equal(a->msrs[i].addr, b->msrs[i].addr);
		assert_int_equal(a->msrs[i].bitmap.filter, b->msrs[i].bitmap.filter);
		assert_int_equal(a->msrs[i].bitmap.value, b->msrs[i].bitmap.value);
	}
}

static void test_static_templates_match_firecracker(void **state)
{
	for (enum cpu_template_name t = CPU_TEMPLATE_C3; t <= CPU_TEMPLATE_T2A; t++) {
		struct cpu_config *fc = load_firecracker_json(cpu_template_names[t]), *ours = NULL;

		assert_int_equal(cpu_template_static(t, &ours), 0);
		print_message("# %s: %u leaves, %u MSRs\n", cpu_template_names[t], ours->nleaves, ours->nmsrs);
		assert_same_template(ours, fc);
		free(ours);
		free(fc);
	}
}

/* T2S and T2CL change IA32_ARCH_CAPABILITIES (0x10a); T2S forces FB_CLEAR
 * (bit 17) among its bits, T2CL clears a set of them. */
static void test_t2s_sets_fb_clear(void **state)
{
	struct cpu_config *t = NULL;

	assert_int_equal(cpu_template_static(CPU_TEMPLATE_T2S, &t), 0);
	assert_int_equal(t->nmsrs, 1);
	assert_int_equal(t->msrs[0].addr, 0x10a);
	assert_true(t->msrs[0].bitmap.filter & (1ull << 17));
	assert_true(t->msrs[0].bitmap.value & (1ull << 17));
	free(t);
	assert_int_equal(cpu_template_static(CPU_TEMPLATE_NONE, &t), -EINVAL);
}

struct host_case {
	const char *what, *vendor;
	uint32_t eax;
	/* which templates apply, by enum cpu_template_name: C3 T2 T2S T2CL T2A */
	bool applies[6];
};

/* Firecracker's lists (static_cpu_templates/mod.rs): C3 and T2 on Skylake,
 * Cascade Lake and Ice Lake; T2S on Skylake and Cascade Lake; T2CL on
 * Cascade Lake and Ice Lake; T2A on Milan. The processor-type bits
 * (EAX[13:12]) are not part of the model. */
static const struct host_case hosts[] = {
	{ "Skylake", "GenuineIntel", 0x50654, { [1] = 1, [2] = 1, [3] = 1 } },
	{ "Cascade Lake", "GenuineIntel", 0x50657, { [1] = 1, [2] = 1, [3] = 1, [4] = 1 } },
	{ "Cascade Lake, type 1", "GenuineIntel", 0x51657, { [1] = 1, [2] = 1, [3] = 1, [4] = 1 } },
	{ "Ice Lake", "GenuineIntel", 0x606a6, { [1] = 1, [2] = 1, [4] = 1 } },
	{ "Sapphire Rapids (other Intel)", "GenuineIntel", 0x806f8, { 0 } },
	{ "Skylake client (other Intel)", "GenuineIntel", 0x506e3, { 0 } },
	{ "Milan", "AuthenticAMD", 0xa00f11, { [5] = 1 } },
	{ "Genoa", "AuthenticAMD", 0xa10f11, { 0 } },
	{ "Hygon", "HygonGenuine", 0x900f22, { 0 } },
};

static void test_vendor_and_model_rule(void **state)
{
	for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
		struct cpu_host host = { .leaf1_eax = hosts[h].eax };

		snprintf(host.vendor, sizeof(host.vendor), "%s", hosts[h].vendor);
		for (enum cpu_template_name t = CPU_TEMPLATE_C3; t <= CPU_TEMPLATE_T2A; t++) {
			bool intel_template = t != CPU_TEMPLATE_T2A;
			bool vendor_ok = strcmp(hosts[h].vendor, intel_template ? "GenuineIntel" : "AuthenticAMD") == 0;
			struct cpu_config *c = NULL;
			char err[256] = "";
			int r = cpu_template_resolve(t, &host, &c, err, sizeof(err));

			print_message("# %s, %s: %s\n", hosts[h].what, cpu_template_names[t], r ? err : "applies");
			if (hosts[h].applies[t]) {
				assert_int_equal(r, 0);
				assert_non_null(c);
				free(c);
				continue;
			}
			assert_int_equal(r, -EINVAL);
			assert_null(c);
			assert_string_equal(err, vendor_ok ? CPU_TEMPLATE_ERR_MODEL : CPU_TEMPLATE_ERR_VENDOR);
		}
	}
}

/* The exact words engines and Firecracker's tests match. */
static void test_rule_messages(void **state)
{
	assert_string_equal(CPU_TEMPLATE_ERR_VENDOR, "Failed to get CPU template: CPU vendor mismatched between "
						     "actual CPU and CPU template.");
	assert_string_equal(CPU_TEMPLATE_ERR_MODEL, "Failed to get CPU template: The current CPU model is not "
						    "permitted to apply the CPU template.");
}

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc();
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xd, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 },
		{ .function = 1, .eax = 0x50657, .ebx = 0x800, .ecx = 0xfffa3203, .edx = 0x1f8bfbff },
		{ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0xd19f4fbb,
		  .ecx = 0x0000080c, .edx = 0xa4000400 },
		{ .function = 0xd, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x2ff },
		{ .function = 0xd, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xf },
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800 },
		{ .function = 0x80000008, .eax = 0x302e, .ebx = 0x200 },
	};

	assert_non_null(c);
	memcpy(c->entries, e, sizeof(e));
	c->nent = sizeof(e) / sizeof(e[0]);
	return c;
}

/* T2 on a Cascade Lake table: every register becomes (kvm & ~filter) | value,
 * computed here from Firecracker's JSON rather than ember's table. */
static void test_apply_t2(void **state)
{
	struct kvm_cpuid2 *before = table(), *after = table();
	struct cpu_config *t = NULL, *fc = load_firecracker_json("T2");
	char err[256];

	assert_int_equal(cpu_template_static(CPU_TEMPLATE_T2, &t), 0);
	assert_int_equal(cpu_template_apply_cpuid(after, t, err, sizeof(err)), 0);
	for (unsigned i = 0; i < fc->nleaves; i++) {
		const struct cpuid_leaf_modifier *l = &fc->leaves[i];
		struct kvm_cpuid_entry2 *b = cpuid_find(before, l->leaf, l->subleaf);
		struct kvm_cpuid_entry2 *a = cpuid_find(after, l->leaf, l->subleaf);
		uint32_t want[4] = { b->eax, b->ebx, b->ecx, b->edx };

		for (unsigned m = 0; m < l->nmods; m++)
			want[l->mods[m].reg] = (want[l->mods[m].reg] & ~l->mods[m].bitmap.filter) | l->mods[m].bitmap.value;
		assert_int_equal(a->eax, want[0]);
		assert_int_equal(a->ebx, want[1]);
		assert_int_equal(a->ecx, want[2]);
		assert_int_equal(a->edx, want[3]);
		assert_int_equal(a->flags, l->flags);
	}
	/* T2's family/model/stepping: 0x306f2 (Haswell) over the host's. */
	assert_int_equal(cpuid_find(after, 1, 0)->eax & 0x0fff3fff, 0x306f2);
	/* A leaf the template does not name is untouched. */
	assert_memory_equal(cpuid_find(after, 0x80000000, 0), cpuid_find(before, 0x80000000, 0),
			    sizeof(struct kvm_cpuid_entry2));
	free(t);
	free(fc);
	free(before);
	free(after);
}

/* A leaf KVM did not list fails with Firecracker's text, naming it. */
static void test_apply_missing_leaf(void **state)
{
	struct kvm_cpuid2 *c = table();
	struct cpu_config t = { .nleaves = 1 };
	char err[256];

	t.leaves[0] = (struct cpuid_leaf_modifier){ .leaf = 0x8000001f, .subleaf = 2, .nmods = 1 };
	assert_int_equal(cpu_template_apply_cpuid(c, &t, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Template changes a CPUID entry not supported by KVM: Leaf: 8000001f, Subleaf: 2");
	free(c);
}

/* The template goes in before ember's normalisation, as in Firecracker: a
 * template cannot move the vendor string or the topology ember sets. */
static void test_template_then_normalize(void **state)
{
	struct kvm_cpuid2 *c = table(), *out = NULL;
	struct cpu_config t = { .nleaves = 2 };
	struct cpuid_topology topo = { .cpu_index = 1, .vcpu_count = 2 };
	char err[256];

	t.leaves[0] = (struct cpuid_leaf_modifier){ .leaf = 1, .nmods = 1,
						    .mods = { { CPUID_EBX, { 0xff000000u, 0x7f000000u } } } };
	t.leaves[1] = (struct cpuid_leaf_modifier){ .leaf = 0x80000008, .nmods = 1,
						    .mods = { { CPUID_EAX, { 0xffu, 0x27u } } } };
	assert_int_equal(cpu_template_apply_cpuid(c, &t, err, sizeof(err)), 0);
	assert_int_equal(cpuid_normalize(c, &topo, 0, &out), 0);
	assert_int_equal(cpuid_find(out, 1, 0)->ebx >> 24, 1);        /* APIC id: ember's */
	assert_int_equal(cpuid_find(out, 0x80000008, 0)->eax, 0x3027); /* the template's */
	free(out);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_templates_match_firecracker),
		cmocka_unit_test(test_t2s_sets_fb_clear),
		cmocka_unit_test(test_vendor_and_model_rule),
		cmocka_unit_test(test_rule_messages),
		cmocka_unit_test(test_apply_t2),
		cmocka_unit_test(test_apply_missing_leaf),
		cmocka_unit_test(test_template_then_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
