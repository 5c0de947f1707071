/* What a device needs from the VM to attach itself.
 *
 * The VM builds one device_env at start-up and hands it to each device's
 * create function. A device registers its MMIO window on mmio_bus, its
 * ioeventfds and irqfds through vm_fd (KVM_IOEVENTFD, KVM_IRQFD), and its fds on
 * loop, which runs on the vmm thread. Host-side tests and benchmarks build an
 * env with vm_fd = -1: devices then signal interrupts on a plain eventfd. */
#pragma once

struct guest_memory;
struct event_loop;
struct bus;

struct device_env {
	int vm_fd;
	const struct guest_memory *mem;
	struct event_loop *loop;
	struct bus *mmio_bus;
	struct bus *pio_bus;
};
