/* The cpu-config resource (PUT /cpu-config and the config file's
 * "cpu-config" key): a custom CPU template, as Firecracker's
 * CustomCpuTemplate (src/vmm/src/cpu_config/x86_64/custom_cpu_template.rs).
 *
 *   {"kvm_capabilities": ["121", "!121"],
 *    "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
 *                         "modifiers": [{"register": "eax", "bitmap": "0bxxxx...01"}]}],
 *    "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b...x1x0"}]}
 *
 * A bitmap is written most significant bit first: '0' and '1' force the bit,
 * 'x' keeps what KVM reports, '_' separates groups; "0b" is optional and a
 * shorter string leaves the high bits 'x'. The same struct carries the static
 * templates (core/cpu_template.c), so both kinds are applied by one code path.
 * Lists are capped (hostile input): see the CPU_CONFIG_MAX_* limits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPU_CONFIG_MAX_LEAVES 256u   /* KVM's CPUID table has at most as many entries (cpuid.h) */
#define CPU_CONFIG_MAX_REG_MODS 8u   /* per leaf: four registers, each possibly twice */
#define CPU_CONFIG_MAX_MSRS 256u
#define CPU_CONFIG_MAX_KVM_CAPS 64u

/* The static templates (machine-config's deprecated cpu_template). */
enum cpu_template_name {
	CPU_TEMPLATE_NONE = 0,
	CPU_TEMPLATE_C3,
	CPU_TEMPLATE_T2,
	CPU_TEMPLATE_T2S,
	CPU_TEMPLATE_T2CL,
	CPU_TEMPLATE_T2A,
};
/* Indexed by enum cpu_template_name: "None", "C3", ... */
extern const char *const cpu_template_names[];
/* The names in the order of Firecracker's x86 StaticCpuTemplate enum, as its
 * serde error lists them ("expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`,
 * `T2A`"), NULL-terminated; cpu_template_serde_value[i] is the i-th's value. */
extern const char *const cpu_template_serde_order[];
extern const enum cpu_template_name cpu_template_serde_value[];

enum cpuid_register { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* Firecracker's RegisterValueFilter: a bit set in filter is forced to the
 * same bit of value; the others keep their value: (reg & ~filter) | value. */
struct reg_filter32 {
	uint32_t filter, value;
};
struct reg_filter64 {
	uint64_t filter, value;
};

struct cpuid_reg_modifier {
	enum cpuid_register reg;
	struct reg_filter32 bitmap;
};

struct cpuid_leaf_modifier {
	uint32_t leaf, subleaf;
	uint32_t flags; /* KVM_CPUID_FLAG_*: replaces the entry's flags */
	unsigned nmods;
	struct cpuid_reg_modifier mods[CPU_CONFIG_MAX_REG_MODS];
};

struct msr_modifier {
	uint32_t addr;
	struct reg_filter64 bitmap;
};

struct kvm_cap_modifier {
	uint32_t cap;
	bool remove; /* "!N": not required (Firecracker drops it from its list of required capabilities) */
};

struct cpu_config {
	unsigned nleaves, nmsrs, ncaps;
	struct cpuid_leaf_modifier leaves[CPU_CONFIG_MAX_LEAVES];
	struct msr_modifier msrs[CPU_CONFIG_MAX_MSRS];
	struct kvm_cap_modifier caps[CPU_CONFIG_MAX_KVM_CAPS];
};

static inline uint32_t reg_filter32_apply(struct reg_filter32 f, uint32_t v)
{
	return (v & ~f.filter) | f.value;
}

static inline uint64_t reg_filter64_apply(struct reg_filter64 f, uint64_t v)
{
	return (v & ~f.filter) | f.value;
}

/* Validates j into a new cpu_config (the caller frees *ret with free()).
 * Every field is required as in Firecracker except the three lists, which
 * default to empty; unknown fields are refused at every level. Returns 0,
 * -EINVAL with serde-worded text naming the field in err, or -ENOMEM. */
int cpu_config_parse(const json_t *j, struct cpu_config **ret, char *err, size_t errlen);

/* Parses one bitmap string into f; bits is 32 or 64. 0 or -EINVAL with
 * Firecracker's text ("Failed to parse string [..] as a bitmap - ..."). */
int cpu_config_bitmap(const char *s, unsigned bits, struct reg_filter64 *f, char *err, size_t errlen);
