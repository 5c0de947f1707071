/* The VM fd's last close, left to the kernel (doc/design-notes.md,
 * "Teardown").
 *
 * Destroying a VM (kvm_destroy_vm, run by the last fput of its fd) waits for
 * SRCU grace periods: with the default device set, freeing the in-kernel PIT
 * waits for two (about 15 ms here), and each device KVM unregisters from its
 * buses for another. A process that closes the fd itself, or leaves it to
 * exit, waits for them before it is gone: exit's fput runs as task work of
 * the exiting task, before its parent can reap it.
 *
 * vm_release_later() hands the fd to an io_uring's fixed-file table and
 * closes both: the ring is freed by the kernel's io_uring worker, whose
 * fput of the VM fd is a kernel thread's (delayed_fput), so the VM is
 * destroyed there, off this process's path. Nothing the guest could see
 * remains: the vCPUs are gone before this is called. */
#pragma once

/* Takes ownership of vm_fd, which must be the last reference to the VM
 * this process holds (vCPU fds closed). Falls back to close() where io_uring
 * is unavailable (kernel without it, io_uring_disabled, a seccomp policy
 * without io_uring_setup): the VM is then destroyed here, as before. */
void vm_release_later(int vm_fd);
