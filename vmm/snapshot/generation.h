/* The clones' part of a snapshot (doc/snapshots.md, "Clones"): VMGenID's
 * and VMClock's state, one "generation" section (format.h, since 1.1).
 *
 * Payload, 152 bytes, little-endian:
 *   u32 VMGenID's GSI, u32 VMClock's GSI, u64 the ID's address,
 *   u64 the VMClock page's address, 16 bytes the ID the guest saw,
 *   struct vmclock_abi (112 bytes): ember's copy, never the guest's page.
 *
 * Load reads it as hostile input: the length exact, the addresses ember's
 * (LAYOUT_VMGENID, LAYOUT_VMCLOCK), the copy one ember could have written
 * (vmclock_fields_valid: magic, size, version, counter_id, flags, an even
 * seq_count), the GSIs those the restored configuration plans; anything
 * else is refused by name. Then, after the KVM state (irqchip, vCPUs) and
 * before any vCPU runs: a new ID written and VMGenID's GSI pulsed; VMClock's
 * seq_count odd, disruption_marker and vm_generation_counter + 1, seq_count
 * even, its GSI pulsed. A 1.0 file (from before these devices) has no such
 * section: the counters then start from 0. vmm thread only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devices/acpi/vmclock.h"
#include "devices/acpi/vmgenid.h"

#define SNAP_GENERATION_SIZE (24u + VMGENID_ID_SIZE + VMCLOCK_ABI_SIZE)

struct device_manager;
struct snap_file;
struct snap_writer;

struct snap_generation {
	uint32_t vmgenid_gsi, vmclock_gsi;
	uint64_t vmgenid_addr, vmclock_addr;
	uint8_t id[VMGENID_ID_SIZE];
	struct vmclock_abi clock;
};

/* The section's payload, checked (all but the GSIs, which need the plan).
 * 0 or -EINVAL with the reason in err. Pure: the fuzz target calls it. */
int snap_generation_parse(const uint8_t *data, size_t len, struct snap_generation *ret, char *err, size_t errlen);
/* Before KVM is touched: the section is there when the file's version has
 * it, and parses. 0 or -EINVAL with the reason in err. */
int snap_generation_check(const struct snap_file *f, char *err, size_t errlen);
/* Appends the section (sticky writer errors). */
void snap_generation_save(const struct device_manager *m, struct snap_writer *w);
/* The restore sequence above. 0 or -errno with err filled. */
/* snap_generation_restore() in two halves: the checks (no guest memory is
 * touched), then the writes into guest memory and the GSI pulses (load.c
 * runs them off the vmm thread under the Uffd backend). 0 or -errno. */
int snap_generation_prepare(const struct device_manager *m, const struct snap_file *f,
			    struct snap_generation *ret, char *err, size_t errlen);
int snap_generation_apply(const struct device_manager *m, const struct snap_generation *saved, char *err,
			  size_t errlen);
int snap_generation_restore(const struct device_manager *m, const struct snap_file *f, char *err, size_t errlen);
