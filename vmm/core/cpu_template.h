/* CPU templates: Firecracker's static templates (C3, T2, T2S, T2CL, T2A),
 * the host rule that says where each applies, and the application of a
 * template (static or custom, struct cpu_config) to CPUID and MSRs.
 *
 * Order, as Firecracker's configure_vcpus_for_boot:
 *  1. InstanceStart resolves a static template against the host before
 *     anything is created (cpu_template_resolve): T2A needs AMD, the others
 *     Intel, and CPUID.1.EAX must be one of the template's models;
 *  2. the template's CPUID modifiers change KVM_GET_SUPPORTED_CPUID's table
 *     (cpu_template_apply_cpuid), which is then normalised per vCPU (cpuid.h);
 *  3. each vCPU gets its CPUID (KVM_SET_CPUID2) BEFORE its template MSRs are
 *     read: KVM >= 6.13 answers 0 for an MSR whose CPUID feature the vCPU
 *     does not have yet, so an earlier read would turn every `x` bit to 0;
 *  4. the MSRs read back are filtered and written with the boot MSRs
 *     (cpu_template_apply_msrs, vcpu.c). */
#pragma once

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cpu_config.h"

/* What the rule reads of the host: the vendor string of CPUID leaf 0 and
 * CPUID.1.EAX (family, model, stepping), as Firecracker reads them with the
 * cpuid instruction. Injected in tests. */
struct cpu_host {
	char vendor[13];
	uint32_t leaf1_eax;
};

/* Firecracker's CpuModel values (arch/x86_64/cpu_model.rs), CPUID.1.EAX
 * without the processor-type and reserved bits. */
#define CPU_MODEL_SKYLAKE 0x50654u
#define CPU_MODEL_CASCADE_LAKE 0x50657u
#define CPU_MODEL_ICE_LAKE 0x606a6u
#define CPU_MODEL_MILAN 0xa00f11u

#define CPU_TEMPLATE_ERR_VENDOR                                                                      \
	"Failed to get CPU template: CPU vendor mismatched between actual CPU and CPU template."
#define CPU_TEMPLATE_ERR_MODEL                                                                       \
	"Failed to get CPU template: The current CPU model is not permitted to apply the CPU template."

/* This machine's identity, through the cpuid instruction. */
void cpu_host_read(struct cpu_host *ret);

/* The static template's modifiers, whatever the host (for tests and the
 * docs); the caller frees *ret. 0, -EINVAL for CPU_TEMPLATE_NONE, -ENOMEM. */
int cpu_template_static(enum cpu_template_name name, struct cpu_config **ret);

/* Firecracker's get_cpu_template for a static name on this host: 0 with the
 * template in *ret (the caller frees it), or -EINVAL with
 * CPU_TEMPLATE_ERR_VENDOR or CPU_TEMPLATE_ERR_MODEL in err. */
int cpu_template_resolve(enum cpu_template_name name, const struct cpu_host *host, struct cpu_config **ret,
			 char *err, size_t errlen);

/* Applies t's CPUID modifiers to c (flags replaced, registers filtered). A
 * leaf c lacks is -ENOENT with Firecracker's text naming it in err; c may
 * then be partly changed. */
int cpu_template_apply_cpuid(struct kvm_cpuid2 *c, const struct cpu_config *t, char *err, size_t errlen);

/* Filters the value KVM_GET_MSRS gave for m's MSR in place. */
void cpu_template_apply_msrs_one(const struct msr_modifier *m, uint64_t *val);
