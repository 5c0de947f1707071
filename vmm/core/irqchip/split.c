#include "split.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/bus.h"
#include "core/layout.h"
#include "ioapic.h"
#include "log.h"

struct irqchip_split {
	int vm_fd;
	struct ioapic ioapic;
	/* The routes of the last table given to KVM, one per unmasked pin;
	 * under ioapic.lock (the IOAPIC calls route_changed with it held). */
	struct ioapic_msi route[IOAPIC_PINS];
	uint32_t routed; /* bit n: pin n has a route */
	bool stale;      /* the last KVM_SET_GSI_ROUTING failed: KVM has older routes */
};

int irqchip_split_enable(int vm_fd, char *err, size_t errlen)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_PINS } };

	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		int r = -errno;

		snprintf(err, errlen, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) failed: %s%s", strerror(-r),
			 r == -EINVAL ? " (this KVM has no split irqchip: use irqchip \"kernel\")" : "");
		return r;
	}
	return 0;
}

/* Gives KVM the whole table: KVM_SET_GSI_ROUTING replaces, never patches.
 * At most 24 entries, so the table lives on the stack. */
static int irqchip_split_set_routes(struct irqchip_split *s)
{
	struct {
		struct kvm_irq_routing head;
		struct kvm_irq_routing_entry e[IOAPIC_PINS];
	} t;
	unsigned n = 0;

	memset(&t, 0, sizeof(t));
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		if (!(s->routed & (1u << pin)))
			continue;
		t.e[n].gsi = pin;
		t.e[n].type = KVM_IRQ_ROUTING_MSI;
		t.e[n].u.msi.address_lo = s->route[pin].address;
		t.e[n].u.msi.data = s->route[pin].data;
		n++;
	}
	t.head.nr = n;
	return ioctl(s->vm_fd, KVM_SET_GSI_ROUTING, &t) < 0 ? -errno : 0;
}

/* Whether pin's route would stay as KVM has it: both none, or the same MSI. */
static bool irqchip_split_route_same(const struct irqchip_split *s, unsigned pin, const struct ioapic_msi *msi)
{
	bool had = s->routed & (1u << pin);

	if (!had || !msi)
		return !had && !msi;
	return s->route[pin].address == msi->address && s->route[pin].data == msi->data;
}

/* The guest rewrote an entry. KVM_SET_GSI_ROUTING takes the whole table and
 * ends in synchronize_srcu_expedited(), so it is issued only when the pin's
 * route really changes: Linux writes a masked entry's destination and vector
 * one dword at a time before it unmasks the pin, and a masked pin's route
 * (none) does not change with them. A failure is logged and leaves KVM with
 * the routes it had; the next change re-issues the whole table, which then
 * carries this pin's route too. The guest goes on either way. */
static void irqchip_split_route_changed(void *ctx, unsigned pin, const struct ioapic_msi *msi)
{
	struct irqchip_split *s = ctx;
	int r;

	if (!s->stale && irqchip_split_route_same(s, pin, msi))
		return;
	if (msi) {
		s->route[pin] = *msi;
		s->routed |= 1u << pin;
	} else {
		s->routed &= ~(1u << pin);
	}
	r = irqchip_split_set_routes(s);
	s->stale = r < 0;
	if (r < 0)
		log_rl(LOG_ERROR, "split irqchip: KVM_SET_GSI_ROUTING for IOAPIC pin %u failed: %s", pin,
		       strerror(-r));
}

static void irqchip_split_deliver(void *ctx, unsigned pin, const struct ioapic_msi *msi)
{
	struct irqchip_split *s = ctx;
	struct kvm_msi m = { .address_lo = msi->address, .data = msi->data };

	if (ioctl(s->vm_fd, KVM_SIGNAL_MSI, &m) < 0)
		log_rl(LOG_ERROR, "split irqchip: KVM_SIGNAL_MSI for IOAPIC pin %u failed: %m", pin);
}

static const struct ioapic_ops irqchip_split_ops = {
	.deliver = irqchip_split_deliver,
	.route_changed = irqchip_split_route_changed,
};

static void irqchip_split_mmio_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct irqchip_split *s = dev;

	ioapic_mmio_read(&s->ioapic, offset, data, len);
}

static void irqchip_split_mmio_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct irqchip_split *s = dev;

	ioapic_mmio_write(&s->ioapic, offset, data, len);
}

static const struct bus_ops irqchip_split_bus_ops = {
	.read = irqchip_split_mmio_read,
	.write = irqchip_split_mmio_write,
};

int irqchip_split_attach(int vm_fd, uint8_t ioapic_id, struct bus *mmio_bus, struct irqchip_split **ret,
			 char *err, size_t errlen)
{
	struct irqchip_split *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		snprintf(err, errlen, "cannot allocate the split irqchip: out of memory");
		return -ENOMEM;
	}
	s->vm_fd = vm_fd;
	ioapic_init(&s->ioapic, ioapic_id, &irqchip_split_ops, s);
	r = bus_register(mmio_bus, LAYOUT_IOAPIC, IOAPIC_WINDOW, &irqchip_split_bus_ops, s);
	if (r < 0) {
		snprintf(err, errlen, "cannot claim the IOAPIC window at 0x%llx: %s",
			 (unsigned long long)LAYOUT_IOAPIC, strerror(-r));
		irqchip_split_destroy(s);
		return r;
	}
	*ret = s;
	return 0;
}

void irqchip_split_eoi(void *ctx, uint8_t vector)
{
	struct irqchip_split *s = ctx;

	ioapic_eoi(&s->ioapic, vector);
}

struct irqchip_split *irqchip_split_destroy(struct irqchip_split *s)
{
	if (!s)
		return NULL;
	ioapic_fini(&s->ioapic);
	free(s);
	return NULL;
}
