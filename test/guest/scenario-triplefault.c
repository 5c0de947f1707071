/* Scenario triplefault: a guest that takes an exception with no usable IDT.
 * A zero-limit IDT makes the #UD from ud2 a #GP, then a #DF, then a triple
 * fault (a shutdown). The VMM must end with a non-zero exit and a message:
 * KVM reports KVM_EXIT_SHUTDOWN, or KVM_EXIT_INTERNAL_ERROR under PVM. */
#include "probe.h"

void scenario_triplefault(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idt = { 0, 0 };

	probe_info("triplefault", "loading an empty IDT and executing ud2");
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	/* Not reached: a VMM that resumes the guest here has not seen the fault. */
	probe_fail("triplefault.fault", "ud2 with an empty IDT returned");
}
