/* The microVM's lifecycle, driven from the vmm thread.
 *
 *   vm_create()  memory, KVM VM, memory regions, irqchip and PIT, devices, kernel, boot tables
 *                and vCPUs, all configured but not running ("Not started");
 *   vm_start()   starts one thread per vCPU ("Running");
 *   vm_pause()   kicks every vCPU out of KVM_RUN and waits until all are
 *                parked ("Paused"); vm_resume() lets them go. Both idempotent;
 *   vm_destroy() stops and joins the vCPUs and frees everything.
 *
 * The guest ends the VM by resetting through the i8042 (exit code 0) or by
 * failing (triple fault, KVM internal error, failed entry: exit code 1). The
 * vCPU that sees it records the code, stops the other vCPUs and signals an
 * eventfd that vm_create() registered on the vmm loop; on the vmm thread that
 * runs hooks->on_exit(ctx, code). The caller then ends its loop and calls
 * vm_destroy(). Only the first exit code counts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "device_env.h"

struct event_loop;
struct irqchip_split;
struct guest_memory;
struct vm;

enum vm_state { VM_NOT_STARTED, VM_RUNNING, VM_PAUSED };

/* A VM built from a snapshot (snapshot/load.c): memory mapped from the
 * memory file, or mem when it is set (RAM a page server fills: vm_create()
 * takes it over, freeing it on failure too), no kernel or boot tables, and
 * each vCPU's state put back by vcpu() right after it is created instead of
 * the boot state. */
struct vm_restore {
	struct guest_memory *mem;
	int mem_fd;
	uint64_t offset[2]; /* per region (core/memory.h GUEST_MAX_REGIONS) */
	int (*vcpu)(void *ctx, unsigned index, int vcpu_fd, char *err, size_t errlen);
	void *ctx;
};

struct vm_hooks {
	/* Runs on the vmm thread once the guest has ended the VM. */
	void (*on_exit)(void *ctx, int exit_code);
	void *ctx;
	/* The devices (the device manager's devices_vm_hooks()); attach NULL: none. */
	struct vm_devices devices;
	/* Handed to the devices in their device_env (NULL: no MMDS for the guest). */
	struct mmds_guest *mmds;
	/* NULL: a fresh boot. */
	const struct vm_restore *restore;
};

/* Why vm_create() failed. config is true when the configuration is at fault
 * (memory that cannot be mapped, a kernel that does not load or fit, a bad
 * command line): ember's --config-file then exits 152 and the API answers 400. */
struct vm_error {
	bool config;
	/* Guest RAM could not be backed while ember filled it (an exhausted
	 * hugetlb pool under huge_pages 2M): --config-file exits 149, as a
	 * SIGBUS on ember's own write would. */
	bool unbacked;
	char msg[512];
};

/* Builds the VM described by cfg (which must stay valid until vm_destroy(),
 * and whose kernel and initrd fds are read here). Its devices register fds on
 * loop; hooks is copied. On success the caller owns *ret. Returns 0 or -errno
 * with err filled in, naming the step that failed. */
int vm_create(const struct vm_config *cfg, struct event_loop *loop, const struct vm_hooks *hooks,
	      struct vm **ret, struct vm_error *err);
/* Creates the vCPU threads, each held before its first KVM_RUN, so that a
 * thread that cannot be created fails the start before the guest runs. On
 * failure err names the vCPU and, for EAGAIN, the limit likely at fault
 * (pids.max, RLIMIT_NPROC); the threads created are stopped again and the VM
 * can only be destroyed. -EALREADY if already done or started. */
int vm_prepare_vcpus(struct vm *vm, char *err, size_t errlen);
/* Lets the vCPUs run, creating their threads first unless
 * vm_prepare_vcpus() did (a failure is then logged). -EALREADY if already
 * started; -errno if a thread cannot be created. */
int vm_start(struct vm *vm);
/* A restored VM: creates the vCPU threads, parked ("Paused"); vm_resume()
 * lets them run. -EALREADY if started; -errno (err filled) if a thread
 * cannot be created. */
int vm_start_paused(struct vm *vm, char *err, size_t errlen);
/* Pause and resume the vCPUs. 0, or -EINVAL before vm_start(). Idempotent.
 * vm_pause() gives up after 4 s with -ETIMEDOUT (err names the vCPUs still
 * in KVM_RUN: a guest page fault nobody serves, snapshot/uffd.h) and the
 * VM stays running. */
int vm_pause(struct vm *vm, char *err, size_t errlen);
int vm_resume(struct vm *vm);
enum vm_state vm_get_state(const struct vm *vm);
/* The exit code the guest chose, or -1 while it runs. */
int vm_exit_code(const struct vm *vm);
/* For saving a paused VM (snapshot/create.c): the fds KVM state is read
 * from, the guest memory, and the split irqchip's IOAPIC (NULL with KVM's). */
int vm_kvm_fd(const struct vm *vm);
int vm_fd(const struct vm *vm);
unsigned vm_vcpu_count(const struct vm *vm);
int vm_vcpu_fd(const struct vm *vm, unsigned index);
const struct guest_memory *vm_memory(const struct vm *vm);
struct irqchip_split *vm_split_irqchip(const struct vm *vm);
/* Stops and joins the vCPUs, unregisters from the loop, frees everything.
 * A vCPU thread that has not ended 2 s after the stop (stuck on a page
 * fault nobody serves) is not waited for: then only the stop is done, and
 * the caller must be ending the process. Accepts NULL; returns NULL. */
struct vm *vm_destroy(struct vm *vm);
/* Something outside the vCPUs may still use the VM's memory and devices (a
 * detached writer waiting on a page fault nobody serves): vm_destroy() then
 * only stops the vCPUs and leaves the rest, devices included, to the
 * process's exit, as for a stuck vCPU. */
void vm_leave_to_exit(struct vm *vm);
