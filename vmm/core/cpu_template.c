#include "cpu_template.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"

/* A static template's leaf: at most three registers change. */
struct static_leaf {
	uint32_t leaf, subleaf, flags;
	unsigned nmods;
	struct {
		enum cpuid_register reg;
		uint32_t filter, value;
	} mods[3];
};

/* Firecracker's tables, transcribed from the filter/value literals of the
 * Rust sources (not from its JSON copies, which the unit test compares them
 * against: test/data/firecracker-cpu-templates/). */
/* C3: src/vmm/src/cpu_config/x86_64/static_cpu_templates/c3.rs */
static const struct static_leaf c3_leaves[] = {
	{ 0x1, 0x0, 0, 3, {
		{ CPUID_EAX, 0x0fff3fff, 0x000306e4 },
		{ CPUID_ECX, 0x0040dd3c, 0x00000000 },
		{ CPUID_EDX, 0xa8641080, 0x00001080 },
	} },
	{ 0x7, 0x0, 1, 3, {
		{ CPUID_EBX, 0xffafdd3c, 0x00000000 },
		{ CPUID_ECX, 0x4041481e, 0x00000000 },
		{ CPUID_EDX, 0x0000000c, 0x00000000 },
	} },
	{ 0xd, 0x0, 1, 1, {
		{ CPUID_EAX, 0x000002f8, 0x00000000 },
	} },
	{ 0xd, 0x1, 1, 1, {
		{ CPUID_EAX, 0x0000000e, 0x00000000 },
	} },
	{ 0x80000001, 0x0, 0, 2, {
		{ CPUID_ECX, 0x00000120, 0x00000000 },
		{ CPUID_EDX, 0x04000000, 0x00000000 },
	} },
};

/* Leaves 0x1, 0x7 and 0xd (subleaves 0 and 1) are the same in T2, T2S, T2CL
 * and T2A: Firecracker derives the last three from T2. */
#define T2_FAMILY_LEAVES \
	{ 0x1, 0x0, 0, 3, { \
		{ CPUID_EAX, 0x0fff3fff, 0x000306f2 }, \
		{ CPUID_ECX, 0x0004cdfc, 0x00000000 }, \
		{ CPUID_EDX, 0xe8641080, 0x00001080 }, \
	} }, \
	{ 0x7, 0x0, 1, 3, { \
		{ CPUID_EBX, 0xffefda14, 0x00000200 }, \
		{ CPUID_ECX, 0x40415f5e, 0x00000000 }, \
		{ CPUID_EDX, 0x0000011c, 0x00000000 }, \
	} }, \
	{ 0xd, 0x0, 1, 1, { \
		{ CPUID_EAX, 0x000002f8, 0x00000000 }, \
	} }, \
	{ 0xd, 0x1, 1, 1, { \
		{ CPUID_EAX, 0x0000000e, 0x00000000 }, \
	} }

/* T2: src/vmm/src/cpu_config/x86_64/static_cpu_templates/t2.rs */
static const struct static_leaf t2_leaves[] = {
	T2_FAMILY_LEAVES,
	{ 0x80000001, 0x0, 0, 2, {
		{ CPUID_ECX, 0x20000100, 0x00000000 },
		{ CPUID_EDX, 0x04000000, 0x00000000 },
	} },
	{ 0x80000008, 0x0, 0, 1, {
		{ CPUID_EBX, 0x00000200, 0x00000000 },
	} },
};

/* T2S: src/vmm/src/cpu_config/x86_64/static_cpu_templates/t2s.rs, T2's CPUID
 * (the same literals) plus one MSR. */
static const struct msr_modifier t2s_msrs[] = {
	{ 0x10a, { 0xffffffffffffffffull, 0x000000000c0a0c4cull } },
};

/* T2CL: src/vmm/src/cpu_config/x86_64/static_cpu_templates/t2cl.rs */
static const struct static_leaf t2cl_leaves[] = {
	T2_FAMILY_LEAVES,
	{ 0x80000001, 0x0, 0, 2, {
		{ CPUID_ECX, 0x200001c0, 0x00000000 },
		{ CPUID_EDX, 0x07c00000, 0x00000000 },
	} },
	{ 0x80000008, 0x0, 0, 1, {
		{ CPUID_EBX, 0x00000200, 0x00000000 },
	} },
};
static const struct msr_modifier t2cl_msrs[] = {
	{ 0x10a, { 0xffffffffe2f51e00ull, 0x0000000000000000ull } },
};

/* T2A: src/vmm/src/cpu_config/x86_64/static_cpu_templates/t2a.rs */
static const struct static_leaf t2a_leaves[] = {
	T2_FAMILY_LEAVES,
	{ 0x80000001, 0x0, 0, 2, {
		{ CPUID_ECX, 0x200001c4, 0x00000000 },
		{ CPUID_EDX, 0x06400000, 0x00000000 },
	} },
	{ 0x80000008, 0x0, 0, 1, {
		{ CPUID_EBX, 0x001c0205, 0x001c0004 },
	} },
};

static const struct {
	const char *vendor;
	const struct static_leaf *leaves;
	unsigned nleaves;
	const struct msr_modifier *msrs;
	unsigned nmsrs;
	uint32_t models[3]; /* 0 ends the list */
} static_templates[] = {
	[CPU_TEMPLATE_C3] = { "GenuineIntel", c3_leaves, ARRAY_SIZE(c3_leaves), NULL, 0,
			      { CPU_MODEL_SKYLAKE, CPU_MODEL_CASCADE_LAKE, CPU_MODEL_ICE_LAKE } },
	[CPU_TEMPLATE_T2] = { "GenuineIntel", t2_leaves, ARRAY_SIZE(t2_leaves), NULL, 0,
			      { CPU_MODEL_SKYLAKE, CPU_MODEL_CASCADE_LAKE, CPU_MODEL_ICE_LAKE } },
	[CPU_TEMPLATE_T2S] = { "GenuineIntel", t2_leaves, ARRAY_SIZE(t2_leaves), t2s_msrs, ARRAY_SIZE(t2s_msrs),
			       { CPU_MODEL_SKYLAKE, CPU_MODEL_CASCADE_LAKE } },
	[CPU_TEMPLATE_T2CL] = { "GenuineIntel", t2cl_leaves, ARRAY_SIZE(t2cl_leaves), t2cl_msrs,
				ARRAY_SIZE(t2cl_msrs), { CPU_MODEL_CASCADE_LAKE, CPU_MODEL_ICE_LAKE } },
	[CPU_TEMPLATE_T2A] = { "AuthenticAMD", t2a_leaves, ARRAY_SIZE(t2a_leaves), NULL, 0, { CPU_MODEL_MILAN } },
};

void cpu_host_read(struct cpu_host *ret)
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	memcpy(ret->vendor, &b, 4);
	memcpy(ret->vendor + 4, &d, 4);
	memcpy(ret->vendor + 8, &c, 4);
	ret->vendor[12] = 0;
	__cpuid(1, a, b, c, d);
	ret->leaf1_eax = a;
}

int cpu_template_static(enum cpu_template_name name, struct cpu_config **ret)
{
	struct cpu_config *c;

	if (name == CPU_TEMPLATE_NONE || name > CPU_TEMPLATE_T2A)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < static_templates[name].nleaves; i++) {
		const struct static_leaf *s = &static_templates[name].leaves[i];
		struct cpuid_leaf_modifier *l = &c->leaves[c->nleaves++];

		*l = (struct cpuid_leaf_modifier){ .leaf = s->leaf, .subleaf = s->subleaf, .flags = s->flags,
						   .nmods = s->nmods };
		for (unsigned m = 0; m < s->nmods; m++)
			l->mods[m] = (struct cpuid_reg_modifier){ s->mods[m].reg,
								  { s->mods[m].filter, s->mods[m].value } };
	}
	for (unsigned i = 0; i < static_templates[name].nmsrs; i++)
		c->msrs[c->nmsrs++] = static_templates[name].msrs[i];
	*ret = c;
	return 0;
}

/* CpuModel compares extended family and model, family, model and stepping:
 * every field of CPUID.1.EAX but the processor type and reserved bits. */
static bool cpu_model_listed(enum cpu_template_name name, uint32_t leaf1_eax)
{
	for (unsigned i = 0; i < ARRAY_SIZE(static_templates[name].models); i++)
		if (static_templates[name].models[i] && static_templates[name].models[i] == (leaf1_eax & 0x0fff0fffu))
			return true;
	return false;
}

int cpu_template_resolve(enum cpu_template_name name, const struct cpu_host *host, struct cpu_config **ret,
			 char *err, size_t errlen)
{
	if (name == CPU_TEMPLATE_NONE || name > CPU_TEMPLATE_T2A)
		return -EINVAL;
	if (strcmp(host->vendor, static_templates[name].vendor) != 0) {
		snprintf(err, errlen, CPU_TEMPLATE_ERR_VENDOR);
		return -EINVAL;
	}
	if (!cpu_model_listed(name, host->leaf1_eax)) {
		snprintf(err, errlen, CPU_TEMPLATE_ERR_MODEL);
		return -EINVAL;
	}
	if (name == CPU_TEMPLATE_C3 && (host->leaf1_eax & 0x0fff0fffu) == CPU_MODEL_SKYLAKE)
		log_warn("On processors that do not enumerate FBSDP_NO, PSDP_NO and SBDR_SSDP_NO on "
			 "IA32_ARCH_CAPABILITIES MSR, the guest kernel does not apply the mitigation against MMIO "
			 "stale data vulnerability.");
	return cpu_template_static(name, ret);
}

static uint32_t *cpuid_register_of(struct kvm_cpuid_entry2 *e, enum cpuid_register r)
{
	switch (r) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

/* Firecracker keys its table by (leaf, subleaf) as KVM listed them: an
 * entry without a significant index is found at subleaf 0 only. */
static struct kvm_cpuid_entry2 *cpuid_entry_exact(struct kvm_cpuid2 *c, uint32_t leaf, uint32_t subleaf)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == leaf && c->entries[i].index == subleaf)
			return &c->entries[i];
	return NULL;
}

int cpu_template_apply_cpuid(struct kvm_cpuid2 *c, const struct cpu_config *t, char *err, size_t errlen)
{
	for (unsigned i = 0; i < t->nleaves; i++) {
		const struct cpuid_leaf_modifier *l = &t->leaves[i];
		struct kvm_cpuid_entry2 *e = cpuid_entry_exact(c, l->leaf, l->subleaf);

		if (!e) {
			/* Firecracker's {0:0x}: lower-case hex without a prefix. */
			snprintf(err, errlen, "Template changes a CPUID entry not supported by KVM: Leaf: %x, "
				 "Subleaf: %x", l->leaf, l->subleaf);
			return -ENOENT;
		}
		e->flags = l->flags;
		for (unsigned m = 0; m < l->nmods; m++) {
			uint32_t *reg = cpuid_register_of(e, l->mods[m].reg);

			*reg = reg_filter32_apply(l->mods[m].bitmap, *reg);
		}
	}
	return 0;
}

void cpu_template_apply_msrs_one(const struct msr_modifier *m, uint64_t *val)
{
	*val = reg_filter64_apply(m->bitmap, *val);
}
