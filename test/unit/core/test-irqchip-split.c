/* The split irqchip's KVM routes (core/irqchip/split.c), with ioctl wrapped
 * (-Wl,--wrap=ioctl): a fake VM fd takes KVM_SET_GSI_ROUTING and
 * KVM_SIGNAL_MSI, so no /dev/kvm is needed. The guest programs ember's
 * IOAPIC through its MMIO window, as Linux does; the tests check which
 * routing tables KVM is given, and that a rewrite which leaves every route as
 * it was gives it none (each KVM_SET_GSI_ROUTING is an SRCU grace period). */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/irqchip/ioapic.h"
#include "core/irqchip/split.h"
#include "core/layout.h"

#define FAKE_VM_FD 0x7ffe /* never an open fd here */

/* ---- the fake VM ---- */
int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

static struct {
	unsigned sets, msis;
	int fail_next; /* errno for the next KVM_SET_GSI_ROUTING, 0 = succeed */
	/* the last table given, successful or not */
	unsigned nr;
	struct kvm_irq_routing_entry e[IOAPIC_PINS];
} kvm;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_VM_FD)
		return __real_ioctl(fd, req, arg);
	if (req == KVM_SIGNAL_MSI) {
		kvm.msis++;
		return 1;
	}
	if (req == KVM_SET_GSI_ROUTING) {
		const struct kvm_irq_routing *t = arg;

		assert_true(t->nr <= IOAPIC_PINS);
		kvm.sets++;
		kvm.nr = t->nr;
		memcpy(kvm.e, t->entries, t->nr * sizeof(t->entries[0]));
		if (kvm.fail_next) {
			errno = kvm.fail_next;
			kvm.fail_next = 0;
			return -1;
		}
		return 0;
	}
	fail_msg("unexpected ioctl 0x%lx on the VM fd", req);
	return -1;
}

/* The route KVM was last given for gsi, or NULL. */
static const struct kvm_irq_routing_entry *kvm_route(unsigned gsi)
{
	for (unsigned i = 0; i < kvm.nr; i++)
		if (kvm.e[i].gsi == gsi)
			return &kvm.e[i];
	return NULL;
}

/* ---- the guest side ---- */
struct fixture {
	struct bus *mmio;
	struct irqchip_split *split;
};

static int setup(void **state)
{
	static struct fixture f;
	char err[256];

	memset(&kvm, 0, sizeof(kvm));
	assert_int_equal(bus_create(&f.mmio), 0);
	assert_int_equal(irqchip_split_attach(FAKE_VM_FD, 2, f.mmio, &f.split, err, sizeof(err)), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->split = irqchip_split_destroy(f->split);
	f->mmio = bus_destroy(f->mmio);
	return 0;
}

static void reg_write(struct fixture *f, uint32_t reg, uint32_t v)
{
	assert_int_equal(bus_write(f->mmio, LAYOUT_IOAPIC + IOAPIC_REGSEL, (const uint8_t *)&reg, 4), 0);
	assert_int_equal(bus_write(f->mmio, LAYOUT_IOAPIC + IOAPIC_IOWIN, (const uint8_t *)&v, 4), 0);
}

#define MASKED ((uint32_t)IOAPIC_RTE_MASKED)
#define LEVEL ((uint32_t)IOAPIC_RTE_LEVEL)

/* Programs pin as Linux's __ioapic_write_entry() does: destination (high
 * dword) first, then the low dword. */
static void program(struct fixture *f, unsigned pin, uint32_t low, uint8_t dest)
{
	reg_write(f, IOAPIC_REG_TABLE + 2 * pin + 1, (uint32_t)dest << 24);
	reg_write(f, IOAPIC_REG_TABLE + 2 * pin, low);
}

static void assert_route(unsigned gsi, uint32_t address, uint32_t data)
{
	const struct kvm_irq_routing_entry *e = kvm_route(gsi);

	assert_non_null(e);
	assert_int_equal(e->type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e->u.msi.address_lo, address);
	assert_int_equal(e->u.msi.address_hi, 0);
	assert_int_equal(e->u.msi.data, data);
}

/* Attaching gives KVM nothing: every pin starts masked, with no route. */
static void test_attach_sets_no_routes(void **state)
{
	(void)state;
	assert_int_equal(kvm.sets, 0);
}

/* Linux sets a pin up masked (destination, then vector and trigger), then
 * unmasks it: one KVM_SET_GSI_ROUTING, at the unmask, not one per dword. */
static void test_masked_setup_then_unmask_is_one_set(void **state)
{
	struct fixture *f = *state;

	program(f, 4, MASKED | 0x24, 1);
	assert_int_equal(kvm.sets, 0);
	reg_write(f, IOAPIC_REG_TABLE + 8, 0x24);
	assert_int_equal(kvm.sets, 1);
	assert_int_equal(kvm.nr, 1);
	assert_route(4, 0xfee01000, 0x24);
}

/* A route change re-issues the whole table: other pins keep their routes. */
static void test_change_keeps_other_routes(void **state)
{
	struct fixture *f = *state;

	program(f, 3, 0x23, 0);
	program(f, 4, 0x24, 0);
	kvm.sets = 0;
	reg_write(f, IOAPIC_REG_TABLE + 8, 0x34 | LEVEL); /* pin 4: new vector, level */
	assert_int_equal(kvm.sets, 1);
	assert_int_equal(kvm.nr, 2);
	assert_route(3, 0xfee00000, 0x23);
	assert_route(4, 0xfee00000, 0x34 | 1u << 15);
	reg_write(f, IOAPIC_REG_TABLE + 9, 5u << 24); /* pin 4's destination */
	assert_int_equal(kvm.sets, 2);
	assert_route(4, 0xfee05000, 0x34 | 1u << 15);
	assert_route(3, 0xfee00000, 0x23);
}

/* Masking removes the pin's route; rewriting the masked entry changes no
 * route and costs nothing; unmasking brings the new route. */
static void test_mask_rewrite_unmask(void **state)
{
	struct fixture *f = *state;

	program(f, 3, 0x23, 0);
	program(f, 4, 0x24, 0);
	kvm.sets = 0;
	reg_write(f, IOAPIC_REG_TABLE + 8, MASKED | 0x24);
	assert_int_equal(kvm.sets, 1);
	assert_null(kvm_route(4));
	assert_route(3, 0xfee00000, 0x23);
	program(f, 4, MASKED | 0x44 | LEVEL, 7);
	assert_int_equal(kvm.sets, 1);
	reg_write(f, IOAPIC_REG_TABLE + 8, 0x44);
	assert_int_equal(kvm.sets, 2);
	assert_route(4, 0xfee07000, 0x44);
	assert_int_equal(kvm.nr, 2);
}

/* A failed KVM_SET_GSI_ROUTING leaves KVM with its older table: the next
 * rewrite re-issues the table even if its own pin's route is unchanged, and
 * that table carries the route that failed. */
static void test_failed_set_is_reissued(void **state)
{
	struct fixture *f = *state;

	program(f, 4, MASKED | 0x24, 0);
	kvm.fail_next = ENOMEM;
	reg_write(f, IOAPIC_REG_TABLE + 8, 0x24);
	assert_int_equal(kvm.sets, 1);
	program(f, 5, MASKED | 0x25, 0); /* pin 5 stays without a route */
	assert_int_equal(kvm.sets, 2);
	assert_route(4, 0xfee00000, 0x24);
	assert_null(kvm_route(5));
	program(f, 5, MASKED | 0x35, 0); /* KVM is current again: no call */
	assert_int_equal(kvm.sets, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_sets_no_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_masked_setup_then_unmask_is_one_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_keeps_other_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mask_rewrite_unmask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_set_is_reissued, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
