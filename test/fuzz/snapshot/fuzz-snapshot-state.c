/* libFuzzer target: the snapshot state file parser (vmm/snapshot/format.c)
 * and what load reads from a parsed file before it touches KVM: the
 * configuration section through ember's validators, the device sections'
 * heads, the CPU vendor, the state of the kinds whose sections are
 * checked before a device is touched (pmem: devices/virtio/pmem-state.h),
 * the generation section (VMGenID and VMClock). The harness rewrites the
 * trailing CRC-64 so that
 * the input reaches the parser instead of stopping at the CRC check (the
 * check itself is cheap and covered by the unit test). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/vm_config.h"
#include "devices/virtio/pmem-state.h"
#include "snapshot/config.h"
#include "snapshot/devices.h"
#include "snapshot/format.h"
#include "snapshot/generation.h"
#include "snapshot/kvm_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void device_state(const struct snap_device_head *h)
{
	struct pmem_state ps;
	char err[256];

	if (h->name_len == 4 && !memcmp(h->name, "pmem", 4) &&
	    pmem_state_parse(h->state, h->state_len, &ps, err, sizeof(err)) == 0 &&
	    (ps.start < (512ull << 30) || ps.start % (2u << 20) || ps.size % (2u << 20) || ps.start + ps.size < ps.start))
		__builtin_trap(); /* the parser let a bad window through */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_file f;
	const struct snap_section *s;
	struct vm_config cfg;
	char err[1024], vendor[13];
	uint8_t *buf;
	uint64_t crc;

	if (size < SNAP_CRC_SIZE || size > (1u << 20))
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	crc = snap_crc64(buf, size - SNAP_CRC_SIZE);
	memcpy(buf + size - SNAP_CRC_SIZE, &crc, sizeof(crc));
	if (snap_parse(buf, size, &f, err, sizeof(err)) == 0) {
		struct snap_device_head h;
		struct snap_generation g;

		for (unsigned i = 0; i < f.n; i++)
			if (f.sec[i].type == SNAP_SEC_DEVICE && snap_device_head_parse(f.sec[i].data, f.sec[i].len, &h) == 0)
				device_state(&h);
		(void)snap_cpuid_vendor(&f, vendor);
		(void)snap_generation_check(&f, err, sizeof(err));
		s = snap_find(&f, SNAP_SEC_GENERATION, 0);
		if (s)
			(void)snap_generation_parse(s->data, s->len, &g, err, sizeof(err));
		s = snap_find(&f, SNAP_SEC_CONFIG, 0);
		if (s) {
			vm_config_init(&cfg);
			(void)snap_config_load(s->data, s->len, NULL, &cfg, err, sizeof(err));
			vm_config_clear(&cfg);
		}
		snap_file_free(&f);
	}
	free(buf);
	return 0;
}
