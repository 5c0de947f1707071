/* The GED's interrupt lines (ACPI0013, acpi/dsdt.c): how VMGenID and VMClock
 * tell the guest that their memory changed. Each line is an eventfd bound
 * with KVM_IRQFD to its GSI; KVM injects a write as a pulse (the line up,
 * then down), which is the edge the DSDT declares, with either irqchip set
 * (the in-kernel IOAPIC, or ember's through its GSI -> MSI route). With
 * env->vm_fd < 0 (host tests) the eventfd is plain. Setup code: runs on the
 * vmm thread while the VM is built or restored. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ged_line {
	int fd;
	uint32_t gsi;
};

/* The eventfd, bound to gsi when vm_fd >= 0. 0 or -errno with why filled. */
int ged_line_open(struct ged_line *l, int vm_fd, uint32_t gsi, char *why, size_t whylen);
/* One edge on the line. 0 or -errno. */
int ged_line_pulse(const struct ged_line *l);
/* Closes it (KVM drops the irqfd with the last reference); accepts a line
 * that was never opened (fd -1). */
void ged_line_close(struct ged_line *l);
