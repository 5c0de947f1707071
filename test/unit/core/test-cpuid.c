#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/cpuid.h"

#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define TEST_TSC_KHZ 2992968u

static void put_vendor(struct kvm_cpuid_entry2 *e, const char *v)
{
	memcpy(&e->ebx, v, 4);
	memcpy(&e->edx, v + 4, 4);
	memcpy(&e->ecx, v + 8, 4);
}

/* A supported-CPUID table shaped like KVM's answer on a host of the given vendor. */
static struct kvm_cpuid2 *fake_supported(const char *vendor)
{
	struct kvm_cpuid2 *c = cpuid_alloc();
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0x1f },
		{ .function = 1, .eax = 0x906ea, .ebx = 0xff0f0800, .ecx = 0x7ffafbff, .edx = 0x0f8bfbff },
		{ .function = 4, .index = 0, .flags = IDX, .eax = 0x1c004121 }, /* L1d */
		{ .function = 4, .index = 1, .flags = IDX, .eax = 0x1c004122 }, /* L1i */
		{ .function = 4, .index = 2, .flags = IDX, .eax = 0x1c004143 }, /* L2 */
		{ .function = 4, .index = 3, .flags = IDX, .eax = 0x1c03c163 }, /* L3 */
		{ .function = 4, .index = 4, .flags = IDX, .eax = 0 },          /* end */
		{ .function = 0xb, .index = 0, .flags = IDX, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7 },
		{ .function = 0xb, .index = 1, .flags = IDX, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 7 },
		{ .function = 0x40000000, .eax = 0x40000001 },
		{ .function = 0x40000001, .eax = 0x01007afb },
		{ .function = 0x80000000, .eax = 0x8000001e },
		{ .function = 0x80000001, .ecx = 0x121 },
		{ .function = 0x80000008, .eax = 0x3027, .ecx = 0 },
		{ .function = 0x8000001e, .eax = 99, .ebx = 99, .ecx = 99 },
		/* WAITPKG and OSPKE: KVM reports WAITPKG on Intel since Linux 5.8 */
		{ .function = 7, .index = 0, .flags = IDX, .ebx = 0x209c01a9, .ecx = 0x00000030 },
	};

	assert_non_null(c);
	memcpy(c->entries, e, sizeof(e));
	c->nent = sizeof(e) / sizeof(e[0]);
	put_vendor(&c->entries[0], vendor);
	memcpy(&c->entries[9].ebx, "KVMKVMKVM\0\0\0", 12);
	return c;
}

static struct kvm_cpuid2 *normalize(struct kvm_cpuid2 *sup, unsigned index, unsigned count, bool smt)
{
	struct cpuid_topology t = { .cpu_index = index, .vcpu_count = count, .smt = smt };
	struct kvm_cpuid2 *out = NULL;

	assert_int_equal(cpuid_normalize(sup, &t, TEST_TSC_KHZ, &out), 0);
	return out;
}

static void test_vendor_and_leaf1(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");
	struct kvm_cpuid2 *c = normalize(sup, 3, 4, false);
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0, 0);

	assert_memory_equal(&e->ebx, "Genu", 4);
	assert_memory_equal(&e->edx, "ineI", 4);
	assert_memory_equal(&e->ecx, "ntel", 4);
	e = cpuid_find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);           /* APIC id = vCPU index */
	assert_int_equal((e->ebx >> 16) & 0xff, 4);  /* logical CPUs */
	assert_int_equal((e->ebx >> 8) & 0xff, 8);   /* CLFLUSH 64 bytes */
	assert_true(e->ecx & (1u << 31));            /* hypervisor */
	assert_true(e->edx & (1u << 28));            /* HTT */
	assert_int_equal(e->eax, 0x906ea);           /* untouched */
	free(c);

	c = normalize(sup, 0, 1, false);
	e = cpuid_find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_false(e->edx & (1u << 28));
	free(c);
	free(sup);
}

static void test_intel_topology(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");
	struct kvm_cpuid2 *c = normalize(sup, 5, 8, true);
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(c, 0xb, 0);
	assert_int_equal(e->eax, 1);
	assert_int_equal(e->ebx, 2);
	assert_int_equal(e->ecx, 0x100);
	assert_int_equal(e->edx, 5);
	e = cpuid_find(c, 0xb, 1);
	assert_int_equal(e->eax, 3);
	assert_int_equal(e->ebx, 8);
	assert_int_equal(e->ecx, 0x201);
	assert_int_equal(e->edx, 5);
	e = cpuid_find(c, 0xb, 2);
	assert_non_null(e);
	assert_int_equal(e->ebx, 0);
	assert_int_equal((e->ecx >> 8) & 0xff, 0); /* invalid level ends the list */
	assert_null(cpuid_find(c, 0x1f, 0));       /* not listed by the host: not invented */

	e = cpuid_find(c, 4, 0); /* L1: shared by the two threads of a core */
	assert_int_equal((e->eax >> 14) & 0xfff, 1);
	assert_int_equal(e->eax >> 26, 3); /* 4 cores */
	e = cpuid_find(c, 4, 3); /* L3: shared by all */
	assert_int_equal((e->eax >> 14) & 0xfff, 7);
	assert_int_equal(e->eax & 0x1f, 3); /* cache type kept */
	free(c);

	c = normalize(sup, 0, 3, false);
	e = cpuid_find(c, 0xb, 0);
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx, 1);
	e = cpuid_find(c, 0xb, 1);
	assert_int_equal(e->eax, 2);
	assert_int_equal(e->ebx, 3);
	e = cpuid_find(c, 4, 1);
	assert_int_equal((e->eax >> 14) & 0xfff, 0);
	assert_int_equal(e->eax >> 26, 2);
	free(c);
	free(sup);
}

static void test_amd_topology(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("AuthenticAMD");
	struct kvm_cpuid2 *c = normalize(sup, 3, 4, true);
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(c, 0x8000001e, 0);
	assert_int_equal(e->eax, 3);
	assert_int_equal(e->ebx, (1u << 8) | 1); /* 2 threads per core, core 1 */
	assert_int_equal(e->ecx, 0);
	e = cpuid_find(c, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 3);
	assert_int_equal((e->ecx >> 12) & 0xf, 2);
	e = cpuid_find(c, 0x80000001, 0);
	assert_true(e->ecx & (1u << 22));
	assert_true(e->ecx & (1u << 1));
	/* Intel's leaf 0xb is left as the host gave it on AMD. */
	e = cpuid_find(c, 0xb, 1);
	assert_int_equal(e->ebx, 16);
	free(c);
	free(sup);
}

static void test_hypervisor_leaves(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");
	struct kvm_cpuid2 *c = normalize(sup, 0, 1, false);
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(c, CPUID_EMBER_BASE, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x40000010); /* reaches the timing leaf */
	assert_memory_equal(&e->ebx, "Embe", 4);
	assert_memory_equal(&e->ecx, "rEmb", 4);
	assert_memory_equal(&e->edx, "er\0\0", 4);
	e = cpuid_find(c, CPUID_KVM_BASE, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, CPUID_KVM_BASE + 1);
	assert_memory_equal(&e->ebx, "KVMKVMKVM\0\0\0", 12);
	e = cpuid_find(c, CPUID_KVM_BASE + 1, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x01007afb);
	assert_null(cpuid_find(c, 0x40000001, 0));
	free(c);
	free(sup);
}

/* Leaf 0x40000010 (VMware/ACRN timing): EAX the guest TSC kHz ember was
 * given, EBX the APIC bus kHz (KVM's APIC timer counts nanoseconds), the rest
 * zero; the same on every vCPU, and on AMD as on Intel. */
static void test_timing_leaf(void **state)
{
	const char *vendors[] = { "GenuineIntel", "AuthenticAMD" };

	for (size_t v = 0; v < 2; v++) {
		struct kvm_cpuid2 *sup = fake_supported(vendors[v]);

		for (unsigned i = 0; i < 2; i++) {
			struct kvm_cpuid2 *c = normalize(sup, i, 2, false);
			struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x40000010, 0);

			assert_non_null(e);
			assert_int_equal(e->eax, TEST_TSC_KHZ);
			assert_int_equal(e->ebx, 1000000);
			assert_int_equal(e->ecx, 0);
			assert_int_equal(e->edx, 0);
			assert_true(cpuid_find(c, 0x40000000, 0)->eax >= 0x40000010);
			free(c);
		}
		free(sup);
	}
}

/* A host that cannot tell the TSC rate (KVM_GET_TSC_KHZ failed) still gets
 * the leaf, with 0: "unknown" in VMware's definition, so the guest calibrates. */
static void test_timing_leaf_unknown(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");
	struct cpuid_topology t = { .vcpu_count = 1 };
	struct kvm_cpuid2 *c = NULL;

	assert_int_equal(cpuid_normalize(sup, &t, 0, &c), 0);
	assert_int_equal(cpuid_find(c, 0x40000010, 0)->eax, 0);
	assert_int_equal(cpuid_find(c, 0x40000010, 0)->ebx, 1000000);
	free(c);
	free(sup);
}

/* Firecracker's Intel normalize clears WAITPKG (leaf 7 ECX[5]); every
 * vCPU's table must lack it, and no other bit of leaf 7 may change. */
static void test_waitpkg_cleared_on_intel(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");

	for (unsigned i = 0; i < 2; i++) {
		struct kvm_cpuid2 *c = normalize(sup, i, 2, false);
		struct kvm_cpuid_entry2 *e = cpuid_find(c, 7, 0);

		assert_non_null(e);
		assert_int_equal(e->ecx & CPUID_7_ECX_WAITPKG, 0);
		assert_int_equal(e->ecx, 0x10);
		assert_int_equal(e->ebx, 0x209c01a9);
		free(c);
	}
	free(sup);
}

/* On AMD the bit is reserved: ember leaves leaf 7 as KVM reported it. */
static void test_waitpkg_kept_on_amd(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("AuthenticAMD");
	struct kvm_cpuid2 *c = normalize(sup, 0, 1, false);

	assert_int_equal(cpuid_find(c, 7, 0)->ecx, 0x30);
	free(c);
	free(sup);
}

/* AMD leaf 0x80000000 (the highest extended leaf, and the vendor string
 * again in EBX/ECX/EDX) stays exactly as KVM reports it: Firecracker once
 * raised EAX to 0x8000001f, which advertised leaves KVM did not fill. */
static void test_amd_extended_max_leaf_kept(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("AuthenticAMD");
	struct kvm_cpuid_entry2 *s = cpuid_find(sup, 0x80000000, 0);

	s->ebx = 0x68747541;
	s->ecx = 0x444d4163;
	s->edx = 0x69746e65;
	for (unsigned n = 1; n <= 4; n *= 2) {
		struct kvm_cpuid2 *c = normalize(sup, 0, n, n > 1);
		struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000000, 0);

		assert_non_null(e);
		assert_memory_equal(e, s, sizeof(*e));
		free(c);
	}
	free(sup);
}

static void test_rejects_bad_topology(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");
	struct kvm_cpuid2 *out = NULL;
	const struct cpuid_topology bad[] = {
		{ .cpu_index = 0, .vcpu_count = 0 },
		{ .cpu_index = 0, .vcpu_count = 33 },
		{ .cpu_index = 2, .vcpu_count = 2 },
		{ .cpu_index = 0, .vcpu_count = 3, .smt = true },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cpuid_normalize(sup, &bad[i], TEST_TSC_KHZ, &out), -EINVAL);
	assert_null(out);
	sup->nent = 0; /* no leaf 0 */
	assert_int_equal(cpuid_normalize(sup, &(struct cpuid_topology){ .vcpu_count = 1 }, TEST_TSC_KHZ, &out), -EINVAL);
	free(sup);
}

static void test_full_table_is_e2big(void **state)
{
	struct kvm_cpuid2 *sup = fake_supported("GenuineIntel");
	struct kvm_cpuid2 *out = NULL;
	struct cpuid_topology t = { .vcpu_count = 1 };

	for (uint32_t i = sup->nent; i < CPUID_MAX_ENTRIES; i++)
		sup->entries[i] = (struct kvm_cpuid_entry2){ .function = 0x80000100 + i };
	sup->nent = CPUID_MAX_ENTRIES;
	assert_int_equal(cpuid_normalize(sup, &t, TEST_TSC_KHZ, &out), -E2BIG);
	assert_null(out);
	free(sup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vendor_and_leaf1),
		cmocka_unit_test(test_timing_leaf),
		cmocka_unit_test(test_timing_leaf_unknown),
		cmocka_unit_test(test_intel_topology),
		cmocka_unit_test(test_amd_topology),
		cmocka_unit_test(test_hypervisor_leaves),
		cmocka_unit_test(test_waitpkg_cleared_on_intel),
		cmocka_unit_test(test_waitpkg_kept_on_amd),
		cmocka_unit_test(test_amd_extended_max_leaf_kept),
		cmocka_unit_test(test_rejects_bad_topology),
		cmocka_unit_test(test_full_table_is_e2big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
