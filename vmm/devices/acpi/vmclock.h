/* VMClock (the DSDT's \_SB_.VCLK; Linux's drivers/ptp/ptp_vmclock.c and
 * include/uapi/linux/vmclock-abi.h): a 4 KiB page at LAYOUT_VMCLOCK holding
 * struct vmclock_abi. ember offers only its "basic mode": no clock
 * (counter_id invalid, clock_status unknown), the VM generation counter
 * (VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT) and notifications
 * (VMCLOCK_FLAG_NOTIFICATION_PRESENT): at each restore from a snapshot
 * disruption_marker and vm_generation_counter go up by one under the
 * seqcount, then the GED pulses the GSI (the guest's _EVT notifies VCLK).
 *
 * ember keeps its own copy of the structure and writes it into the guest,
 * never reads it back: the page is guest RAM the guest could scribble on.
 * The copy is what a snapshot saves (snapshot/generation.c). Owned by the
 * device manager; vmm thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMCLOCK_MAGIC 0x4b4c4356u /* "VCLK" */
#define VMCLOCK_VERSION 1u
#define VMCLOCK_COUNTER_INVALID 0xffu
#define VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT (1ull << 8)
#define VMCLOCK_FLAG_NOTIFICATION_PRESENT (1ull << 9)
#define VMCLOCK_FLAGS (VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT | VMCLOCK_FLAG_NOTIFICATION_PRESENT)

/* The ABI structure, field for field (little-endian: x86 only). */
struct vmclock_abi {
	uint32_t magic;
	uint32_t size; /* of the region: the page */
	uint16_t version;
	uint8_t counter_id;
	uint8_t time_type;
	uint32_t seq_count; /* odd while ember updates the fields below */
	uint64_t disruption_marker;
	uint64_t flags;
	uint8_t pad[2];
	uint8_t clock_status;
	uint8_t leap_second_smearing_hint;
	uint16_t tai_offset_sec;
	uint8_t leap_indicator;
	uint8_t counter_period_shift;
	uint64_t counter_value;
	uint64_t counter_period_frac_sec;
	uint64_t counter_period_esterror_rate_frac_sec;
	uint64_t counter_period_maxerror_rate_frac_sec;
	uint64_t time_sec;
	uint64_t time_frac_sec;
	uint64_t time_esterror_nanosec;
	uint64_t time_maxerror_nanosec;
	uint64_t vm_generation_counter;
};
#define VMCLOCK_ABI_SIZE 112u

struct device_env;
struct vmclock;

/* The structure as at boot (generation 0), written with the rest of the
 * page zeroed, and the GSI bound. 0 or -errno with why filled; the caller
 * owns *ret. */
int vmclock_create(const struct device_env *env, uint32_t gsi, struct vmclock **ret, char *why, size_t whylen);
/* Accepts NULL; returns NULL. */
struct vmclock *vmclock_destroy(struct vmclock *c);
/* ember's copy, and the GSI. */
const struct vmclock_abi *vmclock_fields(const struct vmclock *c);
uint32_t vmclock_gsi(const struct vmclock *c);
/* Whether a copy is one ember could have written: magic, size, version,
 * counter_id, flags and an even seq_count. */
bool vmclock_fields_valid(const struct vmclock_abi *abi);
/* A restore: the saved copy (checked with vmclock_fields_valid by the
 * caller) becomes ember's and the guest's with seq_count made odd, then
 * disruption_marker and vm_generation_counter + 1, then seq_count even
 * again, each step behind a release fence as the guest's seqcount reader
 * expects; then the GSI pulsed. 0 or -errno with why filled. */
int vmclock_restore(struct vmclock *c, const struct vmclock_abi *saved, char *why, size_t whylen);
