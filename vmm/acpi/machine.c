/* acpi_build_vm(): the machine a VM's tables describe, from the same data
 * that builds the VM: the vCPU count and the irqchip set from the machine
 * config, the IOAPIC id the MP table gives it, the virtio windows from the
 * device manager's plan, and the GED's GSIs after them. */
#include "acpi.h"

#include "config/vm_config.h"
#include "core/boot/mptable.h"
#include "core/device_env.h"

int acpi_build_vm(const struct vm_config *cfg, const struct device_plan *plan, struct acpi_image *ret)
{
	struct acpi_mmio_window virtio[ACPI_MAX_VIRTIO];
	struct acpi_machine m = {
		.vcpu_count = cfg->machine.vcpu_count,
		.ioapic_id = MPTABLE_IOAPIC_ID(cfg->machine.vcpu_count),
		.pic = cfg->machine.irqchip == IRQCHIP_KERNEL,
		.nr_virtio = plan->nr_virtio,
		.virtio = virtio,
		.vmgenid_gsi = plan->vmgenid_gsi,
		.vmclock_gsi = plan->vmclock_gsi,
	};

	_Static_assert(DEVICE_PLAN_MAX_VIRTIO <= ACPI_MAX_VIRTIO, "every planned window fits the DSDT");
	for (unsigned i = 0; i < plan->nr_virtio && i < ACPI_MAX_VIRTIO; i++)
		virtio[i] = (struct acpi_mmio_window){ .base = plan->virtio[i].base, .size = plan->virtio[i].size,
						       .gsi = plan->virtio[i].irq };
	return acpi_build(&m, ret);
}
