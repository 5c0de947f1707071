/* What a device needs from the VM to attach itself.
 *
 * The VM builds one device_env at start-up and hands it to each device's
 * create function. A device registers its MMIO window on mmio_bus, its
 * ioeventfds and irqfds through vm_fd (KVM_IOEVENTFD, KVM_IRQFD), and its fds on
 * loop, which runs on the vmm thread. Host-side tests and benchmarks build an
 * env with vm_fd = -1: devices then signal interrupts on a plain eventfd. */
#pragma once

#include <stdint.h>

struct guest_memory;
struct event_loop;
struct bus;
struct cmdline;
struct vm_config;
struct mmds_guest;
struct guest_space;

struct device_env {
	int vm_fd;
	const struct guest_memory *mem;
	struct event_loop *loop;
	struct bus *mmio_bus;
	struct bus *pio_bus;
	/* The guest side of the MMDS (mmds/guest.h): virtio-net detours the
	 * interfaces its configuration enables. NULL: none. */
	struct mmds_guest *mmds;
	/* Guest physical space beyond RAM for device memory (pmem regions,
	 * core/guest_space.h); NULL in host harnesses without one. */
	struct guest_space *space;
};

/* How a device ends the VM (the i8042's reset): request_exit(ctx, code) on
 * the vCPU thread that saw it; it only records the code and wakes the vmm
 * thread. */
struct device_exit_hook {
	void (*request_exit)(void *ctx, int exit_code);
	void *ctx;
};

/* A virtio transport's place in the machine: its MMIO window and its GSI. */
struct device_window {
	uint64_t base, size;
	uint32_t irq;
};

/* Where the device manager puts the virtio devices of a configuration, in
 * attach order: the one list from which both the virtio_mmio.device=
 * entries and the ACPI DSDT are written (devices_plan()); and the two GSIs
 * after theirs that the ACPI GED signals VMGenID and VMClock changes on. */
#define DEVICE_PLAN_MAX_VIRTIO 32u
struct device_plan {
	unsigned nr_virtio;
	struct device_window virtio[DEVICE_PLAN_MAX_VIRTIO];
	uint32_t vmgenid_gsi, vmclock_gsi;
};

/* What the VM core asks of whoever knows the devices (the device manager,
 * the device manager; start-up passes it in): core names no device.
 *   attach:  after the buses exist, creates every device of cfg on env and
 *            appends their parts of the kernel command line to cmdline;
 *            0 or -errno with why filled in;
 *   destroy: destroys them, in reverse order (before the buses go);
 *   plan:    after attach, where the virtio devices were put (the ACPI
 *            tables are built from it). */
struct vm_devices {
	int (*attach)(void *mgr, const struct vm_config *cfg, const struct device_env *env, struct cmdline *cmdline,
		      const struct device_exit_hook *exit, char *why, size_t whylen);
	void (*destroy)(void *mgr);
	/* The VM was left to the process's exit (vm_leave_to_exit): something
	 * still running may use the devices, so nothing of them is freed. */
	void (*leave)(void *mgr);
	const struct device_plan *(*plan)(void *mgr);
	void *mgr;
};
