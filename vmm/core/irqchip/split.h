/* The split irqchip (machine-config "irqchip": "split", doc/irqchip.md):
 * the local APICs stay in KVM (KVM_CAP_SPLIT_IRQCHIP), the IOAPIC is
 * ember's (ioapic.h) at LAYOUT_IOAPIC on the MMIO bus, and there is no PIC.
 *
 * Devices are unchanged: each binds its interrupt eventfd with KVM_IRQFD to
 * GSI = its IOAPIC pin. This module keeps one KVM route per unmasked pin,
 * GSI → the MSI its redirection entry describes, re-issued (KVM_SET_GSI_ROUTING,
 * which takes the whole table) when a guest rewrite changes a pin's route; a
 * rewrite that leaves it as it was (a masked entry's other fields, or the
 * same values again) costs no ioctl. A masked pin has no route, so the kernel
 * drops what its irqfd signals. An interrupt the
 * IOAPIC itself decides on (a level pin re-fired at EOI, or unmasked while
 * high) goes through KVM_SIGNAL_MSI. KVM marks the vectors of level routes
 * and exits with KVM_EXIT_IOAPIC_EOI when a local APIC EOIs one of them: the
 * vCPU passes it to irqchip_split_eoi().
 *
 * Order (KVM's rules): irqchip_split_enable() after KVM_CREATE_VM and before
 * any vCPU or irqfd; irqchip_split_attach() once the MMIO bus exists, before
 * the devices. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct bus;
struct irqchip_split;

/* KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) with the IOAPIC's 24 pins as the
 * GSIs KVM reserves for it. 0 or -errno with err filled in. */
int irqchip_split_enable(int vm_fd, char *err, size_t errlen);

/* Creates the IOAPIC (ID ioapic_id, as the MP table says) and claims its
 * window on mmio_bus. The caller owns *ret; it must outlive the vCPUs.
 * 0 or -errno with err filled in. */
int irqchip_split_attach(int vm_fd, uint8_t ioapic_id, struct bus *mmio_bus, struct irqchip_split **ret,
			 char *err, size_t errlen);

/* KVM_EXIT_IOAPIC_EOI for vector, on a vCPU thread. ctx is the irqchip_split. */
void irqchip_split_eoi(void *ctx, uint8_t vector);

/* Accepts NULL; returns NULL. Only after the vCPUs are gone. */
struct irqchip_split *irqchip_split_destroy(struct irqchip_split *s);
