/* The guest's CPUID: KVM_GET_SUPPORTED_CPUID, normalised per vCPU.
 *
 * What ember changes, and why:
 *  - leaf 0: the vendor string is the host's (KVM emulates that vendor's
 *    behaviour; a mismatch would confuse the guest's errata handling);
 *  - leaf 1: the initial APIC id (EBX[31:24]) is the vCPU index, EBX[23:16]
 *    the number of logical CPUs, EDX.HTT when there is more than one, and
 *    ECX[31], the hypervisor bit, is set;
 *  - Intel leaves 4 and 0xb (and 0x1f when present), AMD leaves 0x80000008,
 *    0x8000001d and 0x8000001e: the topology of vcpu_count CPUs in one
 *    package, one or (smt) two threads per core, x2APIC id = vCPU index;
 *  - hypervisor leaves: 0x40000000 carries the signature "EmberEmber\0\0"
 *    (max leaf 0x40000010), so a guest can tell which VMM it runs under;
 *    0x40000010, the timing leaf of VMware and ACRN, gives the guest TSC
 *    rate in kHz (EAX, from KVM_GET_TSC_KHZ) and the APIC bus rate in kHz
 *    (EBX); and
 *    KVM's own leaves (signature "KVMKVMKVM\0\0\0" and the PV feature leaf)
 *    move to 0x40000100/0x40000101. Linux and KVM both scan 0x40000000 to
 *    0x40010000 in steps of 0x100 for the KVM signature, so kvm-clock and the
 *    other PV features keep working (the Hyper-V/KVM coexistence layout).
 *
 *  - Intel: WAITPKG (leaf 7 ECX[5]) cleared (cpuid.c says why);
 *  - AMD leaf 0x80000000 (the highest extended leaf) stays as KVM reports it.
 * doc/cpu-templates.md compares these rules with Firecracker's normalize.
 * A CPU template's modifiers are applied to the supported table before this
 * (core/cpu_template.h), as Firecracker does.
 *
 * Under PVM the host overwrites leaves 1 and 7 whatever ember sets. */
#pragma once

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#define CPUID_MAX_ENTRIES 256u
#define CPUID_EMBER_BASE 0x40000000u
#define CPUID_KVM_BASE 0x40000100u
#define CPUID_EMBER_SIGNATURE "EmberEmber\0\0"
#define CPUID_TIMING_LEAF 0x40000010u
#define CPUID_APIC_BUS_KHZ 1000000u
#define CPUID_7_ECX_WAITPKG (1u << 5)

struct cpuid_topology {
	unsigned cpu_index;  /* this vCPU, 0-based: also its APIC id */
	unsigned vcpu_count; /* 1..32 */
	bool smt;            /* two threads per core (vcpu_count is then 1 or even) */
};

/* Allocates a kvm_cpuid2 with room for CPUID_MAX_ENTRIES; free() it. */
struct kvm_cpuid2 *cpuid_alloc(void);
/* KVM_GET_SUPPORTED_CPUID on the system fd. The caller frees *ret.
 * Returns 0 or -errno. */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **ret);
/* Builds the CPUID of one vCPU from the supported table; tsc_khz is the
 * guest TSC rate for the timing leaf (0: unknown). The caller frees *ret. Returns 0, -EINVAL for a bad topology or a table without leaf 0,
 * -E2BIG when the result would exceed CPUID_MAX_ENTRIES, -ENOMEM. */
int cpuid_normalize(const struct kvm_cpuid2 *supported, const struct cpuid_topology *topo, uint32_t tsc_khz,
		    struct kvm_cpuid2 **ret);
/* The entry for (function, index), or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index);
