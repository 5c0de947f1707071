/* VMGenID, Microsoft's "Virtual Machine Generation ID" (the DSDT's
 * \_SB_.VGEN): 16 random bytes at LAYOUT_VMGENID that are new each time the
 * VM starts, from a boot or from a snapshot, so that a guest restored twice
 * reseeds its RNG and drops what it derived from the old ID (Linux's
 * drivers/virt/vmgenid.c adds the bytes to its entropy pool). After a
 * restore the GED pulses its GSI and the guest's _EVT notifies VGEN.
 *
 * Owned by the device manager (devices/manager.c), created after the
 * devices with the plan's GSI; vmm thread only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define VMGENID_ID_SIZE 16u

struct device_env;
struct vmgenid;

/* Draws an ID (getrandom), writes it at LAYOUT_VMGENID and binds the GSI.
 * 0 or -errno with why filled; the caller owns *ret. */
int vmgenid_create(const struct device_env *env, uint32_t gsi, struct vmgenid **ret, char *why, size_t whylen);
/* Accepts NULL; returns NULL. */
struct vmgenid *vmgenid_destroy(struct vmgenid *g);
/* The ID the guest sees now, and the GSI. */
void vmgenid_id(const struct vmgenid *g, uint8_t ret[VMGENID_ID_SIZE]);
uint32_t vmgenid_gsi(const struct vmgenid *g);
/* A restore: a new ID drawn and written, then the GSI pulsed. 0 or -errno
 * with why filled. */
int vmgenid_renew(struct vmgenid *g, char *why, size_t whylen);
