#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/boot/entry.h"
#include "core/layout.h"
#include "core/memory.h"

static uint64_t rd64(const struct guest_memory *m, uint64_t gpa)
{
	uint64_t v = 0;

	assert_int_equal(guest_memory_read(m, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Walks the tables like the MMU: every 2 MiB page of the first GiB maps to itself. */
static void test_identity_map(void **state)
{
	struct guest_memory *m = NULL;

	assert_int_equal(guest_memory_create(2 << 20, &m), 0);
	assert_int_equal(entry_write_tables(m), 0);
	for (uint64_t va = 0; va < (1ull << 30); va += 0x1234567) {
		uint64_t pml4e = rd64(m, LAYOUT_PML4 + ((va >> 39) & 511) * 8);
		uint64_t pdpte, pde;

		assert_true(pml4e & 1);
		pdpte = rd64(m, (pml4e & ~0xfffull) + ((va >> 30) & 511) * 8);
		assert_true(pdpte & 1);
		pde = rd64(m, (pdpte & ~0xfffull) + ((va >> 21) & 511) * 8);
		assert_true(pde & 1);
		assert_true(pde & 0x80); /* 2 MiB page */
		assert_true(pde & 2);    /* writable */
		assert_int_equal((pde & ~0x1fffffull) | (va & 0x1fffff), va);
	}
	/* Nothing beyond 1 GiB is mapped. */
	assert_int_equal(rd64(m, LAYOUT_PDPT + 8), 0);
	assert_int_equal(rd64(m, LAYOUT_PML4 + 8), 0);
	guest_memory_destroy(m);
}

static void test_gdt_and_segments(void **state)
{
	uint64_t gdt[ENTRY_GDT_ENTRIES];
	struct kvm_segment cs, ds, tr;

	entry_gdt(gdt);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0x00af9b000000ffffull);
	assert_int_equal(gdt[2], 0x00cf93000000ffffull);
	assert_int_equal(gdt[3], 0x008f8b000000ffffull);
	cs = entry_segment(gdt[1], 1);
	assert_int_equal(cs.selector, ENTRY_SEL_CODE);
	assert_int_equal(cs.l, 1);
	assert_int_equal(cs.db, 0);
	assert_int_equal(cs.type, 0xb);
	assert_int_equal(cs.limit, 0xffffffff);
	assert_int_equal(cs.present, 1);
	ds = entry_segment(gdt[2], 2);
	assert_int_equal(ds.selector, ENTRY_SEL_DATA);
	assert_int_equal(ds.db, 1);
	assert_int_equal(ds.type, 3);
	tr = entry_segment(gdt[3], 3);
	assert_int_equal(tr.selector, ENTRY_SEL_TSS);
	assert_int_equal(tr.s, 0);
	assert_int_equal(entry_segment(0, 0).unusable, 1);
}

static void test_sregs_and_regs(void **state)
{
	struct kvm_sregs s = { .cr0 = 0x60000010, .cr4 = 0 };
	struct kvm_regs r;
	struct kvm_fpu f;

	entry_sregs(&s);
	assert_int_equal(s.cr0, 0x80000011); /* PG | ET | PE, caches on */
	assert_int_equal(s.cr3, LAYOUT_PML4);
	assert_true(s.cr4 & 0x20);
	assert_int_equal(s.efer & 0x500, 0x500);
	assert_int_equal(s.gdt.base, LAYOUT_GDT);
	assert_int_equal(s.gdt.limit, 31);
	assert_int_equal(s.idt.base, LAYOUT_IDT);
	assert_int_equal(s.cs.selector, ENTRY_SEL_CODE);
	assert_int_equal(s.ss.selector, ENTRY_SEL_DATA);
	entry_regs(&r, 0x1000000);
	assert_int_equal(r.rip, 0x1000000);
	assert_int_equal(r.rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(r.rsp, LAYOUT_BOOT_STACK);
	assert_int_equal(r.rflags, 2);
	entry_fpu(&f);
	assert_int_equal(f.fcw, 0x37f);
	assert_int_equal(f.mxcsr, 0x1f80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_map),
		cmocka_unit_test(test_gdt_and_segments),
		cmocka_unit_test(test_sregs_and_regs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
