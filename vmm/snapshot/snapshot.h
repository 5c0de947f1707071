/* Full and Diff snapshots of a paused microVM and their restore
 * (doc/snapshots.md).
 *
 * Create writes two files: the state file (format.h: configuration, memory
 * layout, devices, vCPUs, VM) and the memory file (the RAM regions one after
 * another, zero pages as holes), each under a temporary name renamed when
 * complete (files.h); a Diff's memory file holds only the dirty pages
 * (dirty.h) and may be merged into an existing one. Load is in two halves: snap_load_open() reads and
 * checks both files without touching KVM (a refusal there leaves the
 * process able to load again), and after the caller built the VM from the
 * returned configuration with snap_load_vm_restore() as its vm_restore,
 * snap_load_finish() puts the VM's and the devices' state back.
 * Everything runs on the vmm thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "core/vm.h"

struct device_manager;
struct snap_file;
struct snap_overrides;

/* Saves the paused vm (built from cfg, its devices in devs). Refuses
 * devices without snapshot support before writing anything. A Full (diff
 * false) writes all non-zero pages; a Diff only the pages changed since the
 * last snapshot (dirty.h), at their offsets, merged into an existing file
 * of the RAM's size. Both clear the dirty logs; a failure puts the pages
 * back. 0 or -errno with Firecracker's chain in err ("Create snapshot
 * error: ..."). */
int snap_create(struct vm *vm, const struct device_manager *devs, const struct vm_config *cfg,
		const char *state_path, const char *mem_path, bool diff, char *err, size_t errlen);

/* What PUT /snapshot/load asks for beyond the two paths. */
struct snap_load_options {
	const char *state_path;
	const char *mem_path; /* the memory file, or (uffd) the page server's socket */
	bool uffd;            /* the Uffd backend (uffd.h) */
	int huge_pages;       /* -1: the snapshot's machine-config; else enum huge_pages */
	/* The load's overrides (may be NULL: overrides.h), applied to the
	 * saved configuration; a clock_realtime request is checked against
	 * the saved clock. */
	const struct snap_overrides *ov;
};

struct snap_load {
	uint8_t *buf;           /* the state file */
	size_t len;
	struct snap_file *file; /* its sections */
	int mem_fd;
	struct vm_restore restore; /* for vm_create() */
	bool clock_realtime;       /* the load's clock_realtime (checked against the file) */
	char err[512];             /* a vCPU's restore failure (restore.vcpu) */
};

/* Reads, checks and parses the state file, fills cfg (vm_config_init()ed
 * by the caller, cleared by it on failure) from its configuration (its
 * huge_pages replaced by opt's unless -1), checks the memory layout against
 * cfg's plan, then prepares the memory: the File backend opens the memory
 * file (regular, large enough; a 2M configuration is refused as by
 * Firecracker), the Uffd backend maps anonymous RAM and hands it to the page
 * server (uffd.h; l->restore.mem, which vm_create() takes over). 0 or -errno
 * with Firecracker's chain in err ("Load snapshot error: Failed to restore
 * from snapshot: ..."). */
int snap_load_open(struct snap_load *l, const struct snap_load_options *opt, struct vm_config *cfg, char *err,
		   size_t errlen);
/* After vm_create(): the VM's KVM devices (or the split IOAPIC), then the
 * devices. 0 or -errno with err filled. */
int snap_load_finish(struct snap_load *l, struct vm *vm, const struct device_manager *devs,
		     const struct vm_config *cfg, char *err, size_t errlen);
/* Frees what snap_load_open() holds (restore.mem too unless vm_create()
 * took it); the memory mapping keeps its own reference to the file. */
void snap_load_close(struct snap_load *l);

/* --snapshot-version's text: "v1.0.0". */
void snap_version_string(char *buf, size_t size);
/* --snapshot-version (path NULL) and --describe-snapshot PATH: prints the
 * version this build writes, or the file's, as "v1.0.0". Returns the
 * process exit code (1 with the reason on stderr). */
int snap_describe(const char *path);
