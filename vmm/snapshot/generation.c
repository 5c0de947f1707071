/* See generation.h. */
#include "generation.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/layout.h"
#include "devices/manager.h"
#include "format.h"

#define FIRST_VERSION_WITH_IT 1u /* MINOR */

void snap_generation_save(const struct device_manager *m, struct snap_writer *w)
{
	const struct vmgenid *g = devices_vmgenid(m);
	const struct vmclock *c = devices_vmclock(m);
	uint8_t buf[SNAP_GENERATION_SIZE];
	uint32_t gsi[2];
	uint64_t addr[2] = { LAYOUT_VMGENID, LAYOUT_VMCLOCK };

	if (!g || !c)
		return; /* no VM: nothing to save, and load refuses the file */
	gsi[0] = vmgenid_gsi(g);
	gsi[1] = vmclock_gsi(c);
	memcpy(buf, gsi, 8);
	memcpy(buf + 8, addr, 16);
	vmgenid_id(g, buf + 24);
	memcpy(buf + 24 + VMGENID_ID_SIZE, vmclock_fields(c), VMCLOCK_ABI_SIZE);
	snap_put(w, SNAP_SEC_GENERATION, 0, buf, sizeof(buf));
}

int snap_generation_parse(const uint8_t *data, size_t len, struct snap_generation *ret, char *err, size_t errlen)
{
	struct snap_generation g;

	if (len != SNAP_GENERATION_SIZE) {
		snprintf(err, errlen, "generation section of %zu bytes, expected %u", len, SNAP_GENERATION_SIZE);
		return -EINVAL;
	}
	memcpy(&g.vmgenid_gsi, data, 4);
	memcpy(&g.vmclock_gsi, data + 4, 4);
	memcpy(&g.vmgenid_addr, data + 8, 8);
	memcpy(&g.vmclock_addr, data + 16, 8);
	memcpy(g.id, data + 24, VMGENID_ID_SIZE);
	memcpy(&g.clock, data + 24 + VMGENID_ID_SIZE, VMCLOCK_ABI_SIZE);
	if (g.vmgenid_addr != LAYOUT_VMGENID || g.vmclock_addr != LAYOUT_VMCLOCK) {
		snprintf(err, errlen, "generation section: the ID at 0x%" PRIx64 " and the VMClock page at 0x%" PRIx64
			 ", ember puts them at 0x%llx and 0x%llx", g.vmgenid_addr, g.vmclock_addr,
			 (unsigned long long)LAYOUT_VMGENID, (unsigned long long)LAYOUT_VMCLOCK);
		return -EINVAL;
	}
	if (!vmclock_fields_valid(&g.clock)) {
		snprintf(err, errlen, "generation section: not a VMClock structure ember writes (magic 0x%" PRIx32
			 ", size 0x%" PRIx32 ", version %u, counter_id 0x%x, flags 0x%" PRIx64 ", seq_count %" PRIu32 ")",
			 g.clock.magic, g.clock.size, g.clock.version, g.clock.counter_id, g.clock.flags,
			 g.clock.seq_count);
		return -EINVAL;
	}
	*ret = g;
	return 0;
}

/* The section, or for a 1.0 file the fields as this VM's devices start. */
static int generation_load(const struct device_manager *m, const struct snap_file *f, struct snap_generation *ret,
			   char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, SNAP_SEC_GENERATION, 0);
	int r;

	if (s)
		return snap_generation_parse(s->data, s->len, ret, err, errlen);
	r = snap_generation_check(f, err, errlen); /* refuses a 1.1 file without it */
	if (r < 0)
		return r;
	*ret = (struct snap_generation){ .vmgenid_gsi = vmgenid_gsi(devices_vmgenid(m)),
					 .vmclock_gsi = vmclock_gsi(devices_vmclock(m)),
					 .clock = *vmclock_fields(devices_vmclock(m)) };
	return 0;
}

int snap_generation_check(const struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, SNAP_SEC_GENERATION, 0);
	struct snap_generation g;

	if (s)
		return snap_generation_parse(s->data, s->len, &g, err, errlen);
	if (f->version.minor >= FIRST_VERSION_WITH_IT) {
		snprintf(err, errlen, "no generation section (VMGenID and VMClock) in a v%u.%u snapshot",
			 f->version.major, f->version.minor);
		return -EINVAL;
	}
	return 0;
}

int snap_generation_prepare(const struct device_manager *m, const struct snap_file *f,
			    struct snap_generation *ret, char *err, size_t errlen)
{
	struct vmgenid *g = devices_vmgenid(m);
	struct vmclock *c = devices_vmclock(m);
	int r;

	if (!g || !c) {
		snprintf(err, errlen, "no VMGenID or VMClock device to restore");
		return -EINVAL;
	}
	r = generation_load(m, f, ret, err, errlen);
	if (r < 0)
		return r;
	if (ret->vmgenid_gsi != vmgenid_gsi(g) || ret->vmclock_gsi != vmclock_gsi(c)) {
		snprintf(err, errlen, "generation section: VMGenID and VMClock on GSIs %" PRIu32 " and %" PRIu32
			 ", the snapshot's configuration puts them on %" PRIu32 " and %" PRIu32, ret->vmgenid_gsi,
			 ret->vmclock_gsi, vmgenid_gsi(g), vmclock_gsi(c));
		return -EINVAL;
	}
	return 0;
}

int snap_generation_apply(const struct device_manager *m, const struct snap_generation *saved, char *err,
			  size_t errlen)
{
	int r = vmgenid_renew(devices_vmgenid(m), err, errlen);

	if (r >= 0)
		r = vmclock_restore(devices_vmclock(m), &saved->clock, err, errlen);
	return r;
}

int snap_generation_restore(const struct device_manager *m, const struct snap_file *f, char *err, size_t errlen)
{
	struct snap_generation saved;
	int r = snap_generation_prepare(m, f, &saved, err, errlen);

	return r < 0 ? r : snap_generation_apply(m, &saved, err, errlen);
}
