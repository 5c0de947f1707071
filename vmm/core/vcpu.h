/* One vCPU: its KVM fd, its kvm_run page and the thread ("vcpuN") that runs it.
 *
 * The thread loops on KVM_RUN and sends port-I/O and MMIO exits to the buses;
 * nothing else runs there. It is steered through the shared vcpu_control:
 *  - pause: the thread parks before its next KVM_RUN and counts itself in
 *    `parked`; vm_pause() waits for all of them;
 *  - stop: the thread leaves its loop and counts itself in `exited`.
 * A vCPU inside KVM_RUN (running guest code, or an AP blocked waiting for
 * INIT/SIPI) is pulled out by vcpu_kick(): SIG_VCPU_KICK sets immediate_exit
 * on its kvm_run, so a kick that lands just before KVM_RUN is not lost either.
 *
 * When the guest ends the VM (i8042 reset, triple fault, KVM internal error,
 * failed entry) the vCPU calls control->request_exit() with the exit code and
 * leaves its loop; a failure is logged first with the vCPU's registers. */
#pragma once

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"

struct bus;
struct cpu_config;
struct guest_memory;

struct vcpu_control {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause, stop;
	unsigned parked, exited; /* vCPU threads parked / gone */
	const struct bus *mmio_bus, *pio_bus;
	/* Guest RAM: an MMIO exit inside it means KVM could not back the page
	 * (a hugetlb pool ran dry, a restored VM's memory file shrank), never a
	 * device access. */
	const struct guest_memory *mem;
	/* Called on the vCPU thread; must only record the code and wake the vmm thread. */
	void (*request_exit)(void *ctx, int exit_code);
	void *ctx;
	/* The split irqchip's IOAPIC (NULL with KVM's): KVM_EXIT_IOAPIC_EOI goes here. */
	void (*ioapic_eoi)(void *ioapic, uint8_t vector);
	void *ioapic;
};

/* The metrics "vcpu" group: each vCPU thread counts into its own (one
 * writer, no locked instruction), registered at vcpu_create; the flush sums
 * them. An `*_agg` is Firecracker's latency aggregate: the smallest and
 * largest handling time of one exit of that kind and their sum, in µs. */
#define VCPU_METRICS(X)                                                                            \
	X(exit_io_in, METRICS_COUNTER)                                                             \
	X(exit_io_out, METRICS_COUNTER)                                                            \
	X(exit_mmio_read, METRICS_COUNTER)                                                         \
	X(exit_mmio_write, METRICS_COUNTER)                                                        \
	X(failures, METRICS_COUNTER)                                                               \
	X(kvmclock_ctrl_fails, METRICS_COUNTER)                                                    \
	X(exit_io_in_agg__min_us, METRICS_MIN)                                                     \
	X(exit_io_in_agg__max_us, METRICS_MAX)                                                     \
	X(exit_io_in_agg__sum_us, METRICS_COUNTER)                                                 \
	X(exit_io_out_agg__min_us, METRICS_MIN)                                                    \
	X(exit_io_out_agg__max_us, METRICS_MAX)                                                    \
	X(exit_io_out_agg__sum_us, METRICS_COUNTER)                                                \
	X(exit_mmio_read_agg__min_us, METRICS_MIN)                                                 \
	X(exit_mmio_read_agg__max_us, METRICS_MAX)                                                 \
	X(exit_mmio_read_agg__sum_us, METRICS_COUNTER)                                             \
	X(exit_mmio_write_agg__min_us, METRICS_MIN)                                                \
	X(exit_mmio_write_agg__max_us, METRICS_MAX)                                                \
	X(exit_mmio_write_agg__sum_us, METRICS_COUNTER)
METRICS_COUNTERS(vcpu_metrics, VCPU_METRICS);
extern const struct metrics_group vcpu_metrics_group;

struct vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	atomic_bool thread_started; /* read by other vCPU threads when they kick */
	bool ran;                   /* KVM_RUN was entered: there may be an exit to complete */
	bool parked, exited;        /* this thread is parked / has ended; under ctl->lock */
	struct vcpu_control *ctl;
	struct vcpu_metrics m; /* written by this vCPU's thread only */
	int metrics;           /* its handle as a source of "vcpu" */
};

/* KVM_CREATE_VCPU index on vm_fd and maps its kvm_run (run_size bytes).
 * The caller owns *ret. 0 or -errno. */
int vcpu_create(int vm_fd, unsigned index, size_t run_size, struct vcpu_control *ctl, struct vcpu **ret);
/* Sets the boot state: CPUID (normalised from supported for this index;
 * a template's CPUID modifiers are already in supported), then the
 * template's MSRs (read from KVM after the CPUID is set, filtered) with the
 * boot MSRs, FPU, general and special registers for the 64-bit entry at
 * entry, and LAPIC LINT0 = ExtINT, LINT1 = NMI. tmpl may be NULL. On failure
 * err names the step (an MSR KVM refuses or lacks by its address). 0 or -errno. */
int vcpu_configure(struct vcpu *v, const struct kvm_cpuid2 *supported, const struct cpu_config *tmpl,
		   unsigned vcpu_count, bool smt, uint64_t entry, char *err, size_t errlen);
/* Completes the exit last handled (a port or MMIO read's value reaches the
 * guest's register) with a KVM_RUN that returns at once (immediate_exit).
 * The vCPU's own thread, or any thread while it is parked. 0 or -errno. */
int vcpu_complete_exit(struct vcpu *v);
/* Starts the vCPU thread. 0 or -errno. */
int vcpu_start(struct vcpu *v);
/* Pulls the vCPU out of KVM_RUN (no-op when its thread is not running). */
void vcpu_kick(struct vcpu *v);
/* Joins the thread (the caller has set ctl->stop and kicked). */
void vcpu_join(struct vcpu *v);
/* Unmaps and closes; accepts NULL, returns NULL. The thread must be joined. */
struct vcpu *vcpu_destroy(struct vcpu *v);
