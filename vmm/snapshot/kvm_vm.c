/* See kvm_state.h: the VM-wide part (PIC, IOAPIC, PIT, kvm-clock). */
#include "kvm_state.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "format.h"

static const struct {
	uint32_t type;
	uint32_t chip;
} vm_chips[] = {
	{ SNAP_SEC_VM_PIC_MASTER, KVM_IRQCHIP_PIC_MASTER },
	{ SNAP_SEC_VM_PIC_SLAVE, KVM_IRQCHIP_PIC_SLAVE },
	{ SNAP_SEC_VM_IOAPIC, KVM_IRQCHIP_IOAPIC },
};

static int vm_fail(char *err, size_t errlen, uint32_t type, const char *what)
{
	int r = errno ? -errno : -EIO;

	snprintf(err, errlen, "%s %s: %s", what, snap_section_name(type), strerror(-r));
	return r;
}

int snap_vm_save(int vm_fd, bool kernel_irqchip, bool pit, struct snap_writer *w, char *err, size_t errlen)
{
	struct kvm_pit_state2 ps;
	struct kvm_clock_data clock = { 0 };

	for (size_t i = 0; kernel_irqchip && i < ARRAY_SIZE(vm_chips); i++) {
		struct kvm_irqchip chip = { .chip_id = vm_chips[i].chip };

		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return vm_fail(err, errlen, vm_chips[i].type, "cannot read");
		snap_put(w, vm_chips[i].type, 0, &chip, sizeof(chip));
	}
	if (pit) {
		memset(&ps, 0, sizeof(ps));
		if (ioctl(vm_fd, KVM_GET_PIT2, &ps) < 0)
			return vm_fail(err, errlen, SNAP_SEC_VM_PIT, "cannot read");
		snap_put(w, SNAP_SEC_VM_PIT, 0, &ps, sizeof(ps));
	}
	if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return vm_fail(err, errlen, SNAP_SEC_VM_CLOCK, "cannot read");
	snap_put(w, SNAP_SEC_VM_CLOCK, 0, &clock, sizeof(clock));
	return 0;
}

static const struct snap_section *vm_section(const struct snap_file *f, uint32_t type, size_t size, char *err,
					     size_t errlen)
{
	const struct snap_section *s = snap_find(f, type, 0);

	if (!s)
		snprintf(err, errlen, "no %s section (the snapshot's machine configuration has one)",
			 snap_section_name(type));
	else if (s->len != size)
		snprintf(err, errlen, "%s section of %" PRIu32 " bytes, expected %zu", snap_section_name(type), s->len,
			 size);
	else
		return s;
	return NULL;
}

bool snap_vm_clock_has_realtime(const struct snap_file *f)
{
	const struct snap_section *s = snap_find(f, SNAP_SEC_VM_CLOCK, 0);
	struct kvm_clock_data clock;

	if (!s || s->len != sizeof(clock))
		return false;
	memcpy(&clock, s->data, sizeof(clock));
	return clock.flags & KVM_CLOCK_REALTIME;
}

int snap_vm_restore(int vm_fd, bool kernel_irqchip, bool pit, bool clock_realtime, const struct snap_file *f,
		    char *err, size_t errlen)
{
	const struct snap_section *s;
	struct kvm_pit_state2 ps;
	struct kvm_clock_data clock;

	if (pit) {
		s = vm_section(f, SNAP_SEC_VM_PIT, sizeof(ps), err, errlen);
		if (!s)
			return -EINVAL;
		memcpy(&ps, s->data, sizeof(ps));
		if (ioctl(vm_fd, KVM_SET_PIT2, &ps) < 0)
			return vm_fail(err, errlen, SNAP_SEC_VM_PIT, "KVM refused");
	}
	s = vm_section(f, SNAP_SEC_VM_CLOCK, sizeof(clock), err, errlen);
	if (!s)
		return -EINVAL;
	memcpy(&clock, s->data, sizeof(clock));
	/* Only the clock value: the TSC-stability flags are KVM's to report.
	 * With clock_realtime KVM adds the wall time since the saved stamp
	 * (Firecracker's restore_state). */
	if (clock_realtime && !(clock.flags & KVM_CLOCK_REALTIME)) {
		snprintf(err, errlen, "clock_realtime requested but not present in the snapshot state");
		return -EINVAL;
	}
	clock.flags = clock_realtime ? KVM_CLOCK_REALTIME : 0;
	memset(clock.pad, 0, sizeof(clock.pad));
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return vm_fail(err, errlen, SNAP_SEC_VM_CLOCK, "KVM refused");
	for (size_t i = 0; kernel_irqchip && i < ARRAY_SIZE(vm_chips); i++) {
		struct kvm_irqchip chip;

		s = vm_section(f, vm_chips[i].type, sizeof(chip), err, errlen);
		if (!s)
			return -EINVAL;
		memcpy(&chip, s->data, sizeof(chip));
		if (chip.chip_id != vm_chips[i].chip) {
			snprintf(err, errlen, "%s section names chip %" PRIu32, snap_section_name(vm_chips[i].type),
				 chip.chip_id);
			return -EINVAL;
		}
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return vm_fail(err, errlen, vm_chips[i].type, "KVM refused");
	}
	return 0;
}
