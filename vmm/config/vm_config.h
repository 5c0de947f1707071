/* The validated configuration of one microVM.
 *
 * Each API resource has one struct here and one validator (machine_config.h,
 * boot_source.h, ...). The config file and the HTTP API both turn JSON into
 * these structs through the same validators, and everything behind them
 * (vm_create) trusts the result.
 *
 * A device kind's config (drives, network-interfaces, vsock, ...) is not a
 * member here: each kind keeps it in its own opaque slot, which its
 * descriptor (devices/kind.h) sizes, fills and frees; vm_config_slot()
 * reaches it. Adding a device kind changes nothing in this file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cpu_config.h"
#include "logger.h"
#include "metrics.h"
#include "mmds.h"

#define VM_CONFIG_MAX_VCPUS 32u
/* Room for the device manager's kinds (one slot each, by their index in
 * device_kinds[]); manager.c checks its list fits at compile time. */
#define VM_CONFIG_SLOTS 16u

struct device_kind;

/* How guest RAM is backed (doc/hugepages.md), in the order of the API's
 * names: "None" (4 KiB pages), "2M" (hugetlbfs 2 MiB pages from the host's
 * pool), "Transparent" (4 KiB pages the kernel may merge into THPs). */
enum huge_pages { HUGE_PAGES_NONE = 0, HUGE_PAGES_2M, HUGE_PAGES_TRANSPARENT };
extern const char *const huge_pages_names[];

/* Who models the interrupt controllers (doc/irqchip.md). KERNEL:
 * Firecracker's set, PIC and IOAPIC in KVM; SPLIT: only the local APIC in
 * KVM, the IOAPIC in ember (devices/irqchip/ioapic.c), no PIC. */
enum irqchip_mode { IRQCHIP_KERNEL, IRQCHIP_SPLIT };

struct machine_config {
	uint8_t vcpu_count;     /* 1..32; 1 or even when smt */
	uint64_t mem_size_mib;  /* > 0 */
	bool smt;
	bool track_dirty_pages; /* KVM dirty logs and ember's bitmap, for Diff snapshots (snapshot/dirty.h) */
	/* The deprecated static CPU template (core/cpu_template.h); NONE when a
	 * custom one (vm_config.cpu_config) is set: the last one set wins. */
	enum cpu_template_name cpu_template;
	enum huge_pages huge_pages;
	enum irqchip_mode irqchip;
	/* "pit" as given; unset, it follows irqchip (machine_config_pit()). */
	bool pit_set, pit;
};

/* Firecracker's defaults: 1 vCPU, 128 MiB, no SMT, in-kernel irqchip and PIT. */
#define MACHINE_CONFIG_DEFAULT ((struct machine_config){ .vcpu_count = 1, .mem_size_mib = 128 })

/* Whether the VM gets KVM's in-kernel PIT: as set, else only with the
 * in-kernel irqchip (the split set has no PIC for it to drive). */
static inline bool machine_config_pit(const struct machine_config *mc)
{
	return mc->pit_set ? mc->pit : mc->irqchip == IRQCHIP_KERNEL;
}

struct boot_source {
	bool configured;
	char *kernel_image_path;
	char *initrd_path;   /* NULL: no initrd */
	char *boot_args;     /* NULL: Firecracker's default command line */
	int kernel_fd;       /* opened at parse time, O_RDONLY|O_CLOEXEC */
	int initrd_fd;       /* -1 without initrd */
};

/* What the command line adds to the VM (not part of the JSON config). */
struct vm_process_options {
	bool boot_timer;            /* --boot-timer */
	uint64_t start_time_us;     /* CLOCK_MONOTONIC at process start (or --start-time-us) */
	uint64_t start_time_cpu_us; /* CLOCK_PROCESS_CPUTIME_ID at start (or --start-time-cpu-us) */
};

struct vm_config {
	struct machine_config machine;
	struct boot_source boot;
	/* Each device kind's config (drive_set, net_set, vsock_slot, ...) by
	 * its index in device_kinds[]; NULL until first used. Owned. */
	void *slot[VM_CONFIG_SLOTS];
	struct vm_process_options process;
	/* The config file's "logger" and "metrics" keys, validated by the same
	 * validators as PUT /logger and PUT /metrics; main.c applies them. */
	struct logger_config logger;
	bool has_logger;
	struct metrics_config metrics; /* path NULL: none */
	/* PUT /mmds/config or the config file's "mmds-config": which interfaces
	 * answer MMDS requests (the data store itself lives in struct ember). */
	struct mmds_config mmds;
	/* PUT /cpu-config or the config file's "cpu-config": a custom CPU
	 * template, NULL for none. Owned. */
	struct cpu_config *cpu_config;
};

/* Sets the defaults: Firecracker's machine config, no boot source. */
void vm_config_init(struct vm_config *c);
/* Frees the strings and slots and closes the fds; the struct is left initialised. */
void vm_config_clear(struct vm_config *c);

/* The slot of kind k: NULL while nothing was configured for it. */
const void *vm_config_slot(const struct vm_config *c, const struct device_kind *k);
/* The same for writing: an empty slot is created on first use. NULL on
 * ENOMEM (or for a kind without config). */
void *vm_config_slot_get(struct vm_config *c, const struct device_kind *k);
/* Moves kind k's slot from src to dst when src has one (dst's is freed);
 * otherwise both are left as they are. */
void vm_config_slot_move(struct vm_config *dst, struct vm_config *src, const struct device_kind *k);
