/* The KVM half of a snapshot: per vCPU and per VM, each KVM structure as one
 * section of the state file (format.h), read with KVM_GET_* and put back
 * with KVM_SET_* in the order KVM needs.
 *
 * Saving runs on the vmm thread while every vCPU thread is parked (it has
 * completed its pending exit first: core/vcpu.c vcpu_complete_exit), so no
 * vCPU is inside KVM_RUN. Restoring runs on the vmm thread while the VM is
 * built, before any vCPU thread exists. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct snap_file;
struct snap_writer;

/* Appends vCPU `index`'s sections: registers, special registers, XSAVE,
 * XCRs, debug registers, LAPIC, MP state, events, the MSRs KVM lists
 * (KVM_GET_MSR_INDEX_LIST on kvm_fd, those KVM can read), CPUID, TSC kHz.
 * 0 or -errno with the failed step in err. */
int snap_vcpu_save(int kvm_fd, int vcpu_fd, unsigned index, struct snap_writer *w, char *err, size_t errlen);
/* Puts vCPU `index`'s state back from f: CPUID, MP state, registers,
 * special registers, XSAVE, XCRs, debug registers, LAPIC, MSRs (after the
 * LAPIC: the TSC deadline), events. The saved TSC rate must equal this
 * host's (no KVM_CAP_TSC_CONTROL is used): refused naming both. 0 or -errno
 * with the section at fault in err. */
int snap_vcpu_restore(int vcpu_fd, unsigned index, const struct snap_file *f, char *err, size_t errlen);

/* The VM's devices in KVM: with the in-kernel irqchip the PIC pair and the
 * IOAPIC; the PIT when the VM has one; the kvm-clock. */
int snap_vm_save(int vm_fd, bool kernel_irqchip, bool pit, struct snap_writer *w, char *err, size_t errlen);
/* clock_realtime: KVM_SET_CLOCK with KVM_CLOCK_REALTIME and the saved
 * realtime stamp, so the guest's clock advances by the wall time since the
 * save (the caller checked snap_vm_clock_has_realtime()). */
int snap_vm_restore(int vm_fd, bool kernel_irqchip, bool pit, bool clock_realtime, const struct snap_file *f,
		    char *err, size_t errlen);
/* Whether the saved kvm-clock carries a realtime stamp (KVM_GET_CLOCK gives
 * one when the host's clock is the TSC, once a vCPU ran). */
bool snap_vm_clock_has_realtime(const struct snap_file *f);

/* The CPU vendor string of a saved vCPU 0 CPUID (leaf 0), for the check
 * against this host's; false when the section lacks leaf 0. */
bool snap_cpuid_vendor(const struct snap_file *f, char vendor[13]);
