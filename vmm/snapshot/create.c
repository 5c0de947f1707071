/* Creating a Full or Diff snapshot: see snapshot.h. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/irqchip/split.h"
#include "core/memory.h"
#include "devices.h"
#include "dirty.h"
#include "files.h"
#include "format.h"
#include "generation.h"
#include "kvm_state.h"
#include "log.h"
#include "config.h"

#define CREATE_PREFIX "Create snapshot error: "

void snap_version_string(char *buf, size_t size)
{
	snprintf(buf, size, "v%u.%u.%u", SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR, SNAP_VERSION_PATCH);
}

static void snap_put_memory(struct snap_writer *w, const struct guest_memory *m)
{
	uint8_t buf[4 + GUEST_MAX_REGIONS * 24];
	uint64_t off[GUEST_MAX_REGIONS];
	uint32_t n = m->nr_regions;

	snap_memory_offsets(m, off);
	memcpy(buf, &n, 4);
	for (unsigned i = 0; i < n; i++) {
		memcpy(buf + 4 + i * 24, &m->region[i].gpa, 8);
		memcpy(buf + 4 + i * 24 + 8, &m->region[i].size, 8);
		memcpy(buf + 4 + i * 24 + 16, &off[i], 8);
	}
	snap_put(w, SNAP_SEC_MEMORY, 0, buf, 4 + n * 24);
}

/* The VM's own devices in KVM, or ember's IOAPIC with a split irqchip. */
static int snap_put_vm(struct snap_writer *w, struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	bool kernel = cfg->machine.irqchip == IRQCHIP_KERNEL;
	int r = snap_vm_save(vm_fd(vm), kernel, machine_config_pit(&cfg->machine), w, err, errlen);

	if (r >= 0 && !kernel) {
		uint8_t buf[512];
		size_t n = irqchip_split_save(vm_split_irqchip(vm), buf, sizeof(buf));

		snap_put(w, SNAP_SEC_VM_SPLIT_IOAPIC, 0, buf, n);
	}
	return r;
}

/* Devices first (their in-flight work completes and raises its
 * interrupts), then the vCPUs (their LAPICs hold those interrupts), then
 * the VM (the irqchip, PIT and clock last, as Firecracker orders it). */
static int snap_build_state(struct snap_writer *w, struct vm *vm, const struct device_manager *devs,
			    const struct vm_config *cfg, char *err, size_t errlen)
{
	char *config = snap_config_dump(cfg);
	int r;

	if (!config)
		return -ENOMEM;
	snap_put(w, SNAP_SEC_CONFIG, 0, config, strlen(config));
	free(config);
	snap_put_memory(w, vm_memory(vm));
	r = snap_devices_save(devs, w, err, errlen);
	snap_generation_save(devs, w);
	for (unsigned i = 0; r >= 0 && i < vm_vcpu_count(vm); i++)
		r = snap_vcpu_save(vm_kvm_fd(vm), vm_vcpu_fd(vm, i), i, w, err, errlen);
	if (r >= 0)
		r = snap_put_vm(w, vm, cfg, err, errlen);
	if (r >= 0)
		r = snap_writer_finish(w);
	return r;
}

static int snap_write_memory(const char *path, const struct guest_memory *m, const struct snap_dirty *diff,
			     struct snap_out *o, char *err, size_t errlen)
{
	uint64_t written = 0;
	bool merged = false;
	int r = diff ? snap_out_open_diff(o, path, m->ram_size, &merged) : snap_out_open(o, path);

	if (r < 0) {
		snprintf(err, errlen, CREATE_PREFIX "Cannot perform open on the memory backing file: %s: %s (os error %d)",
			 path, strerror(-r), -r);
		return r;
	}
	r = diff ? snap_memory_write_diff(o, m, diff, &written) : snap_memory_write(o, m, &written);
	if (r < 0) {
		snprintf(err, errlen, CREATE_PREFIX "Cannot write memory file: %s: %s (os error %d)", path,
			 strerror(-r), -r);
		return r;
	}
	if (diff)
		log_info("snapshot: Diff %s %s: %llu bytes of dirty pages (%s)", merged ? "merged into" : "written to",
			 path, (unsigned long long)written, diff->tracked ? "dirty logs" : "mincore");
	else
		log_debug("snapshot: %s: %llu of %llu bytes of guest memory written (the rest are holes)", path,
			  (unsigned long long)written, (unsigned long long)m->ram_size);
	return 0;
}

static int snap_write_state(const char *path, const struct snap_writer *w, struct snap_out *o, char *err,
			    size_t errlen)
{
	int r = snap_out_open(o, path);

	if (r >= 0)
		r = snap_out_pwrite(o, w->buf, w->len, 0);
	if (r < 0)
		snprintf(err, errlen, CREATE_PREFIX "Cannot perform write on the snapshot backing file: %s: %s "
			 "(os error %d)", path, strerror(-r), -r);
	return r;
}

/* Both files complete under their temporary names, then both renamed:
 * memory first, so a state file never names memory that is not there. */
static int snap_write_files(const char *state_path, const char *mem_path, const struct guest_memory *m,
			    const struct snap_dirty *diff, const struct snap_writer *w, char *err, size_t errlen)
{
	struct snap_out mem = { .fd = -1 }, state = { .fd = -1 };
	int r = snap_write_memory(mem_path, m, diff, &mem, err, errlen);

	if (r >= 0)
		r = snap_write_state(state_path, w, &state, err, errlen);
	if (r >= 0) {
		r = snap_out_commit(&mem);
		if (r < 0)
			snprintf(err, errlen, CREATE_PREFIX "Cannot write memory file: %s: %s (os error %d)", mem_path,
				 strerror(-r), -r);
	}
	if (r >= 0) {
		r = snap_out_commit(&state);
		if (r < 0)
			snprintf(err, errlen, CREATE_PREFIX "Cannot perform write on the snapshot backing file: %s: %s "
				 "(os error %d)", state_path, strerror(-r), -r);
	}
	snap_out_abort(&mem);
	snap_out_abort(&state);
	return r;
}

int snap_create(struct vm *vm, const struct device_manager *devs, const struct vm_config *cfg,
		const char *state_path, const char *mem_path, bool diff, char *err, size_t errlen)
{
	const struct guest_memory *m = vm_memory(vm);
	struct snap_dirty dirty;
	struct snap_writer w;
	char names[256], why[512] = "";
	int r;

	if (snap_devices_unsupported(devs, names, sizeof(names)) > 0) {
		snprintf(err, errlen, CREATE_PREFIX "Cannot save the microVM state: Devices without snapshot support "
			 "are present: %s", names);
		return -EOPNOTSUPP;
	}
	snap_writer_init(&w);
	r = snap_build_state(&w, vm, devs, cfg, why, sizeof(why));
	/* After the devices (finishing their work may write guest memory),
	 * with nothing left to write: this snapshot's pages, taken out of the
	 * logs. A Full only clears them; a failure puts them back. */
	if (r >= 0)
		r = snap_dirty_collect(vm_fd(vm), m, diff, &dirty, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, CREATE_PREFIX "Cannot save the microVM state: %s",
			 why[0] ? why : strerror(-r));
		snap_writer_free(&w);
		return r;
	}
	r = snap_write_files(state_path, mem_path, m, diff ? &dirty : NULL, &w, err, errlen);
	if (r < 0)
		snap_dirty_restore(m, &dirty);
	snap_dirty_free(&dirty);
	snap_writer_free(&w);
	return r;
}

int snap_describe(const char *path)
{
	uint8_t head[SNAP_HEADER_SIZE];
	struct snap_version v;
	char buf[32];
	ssize_t n = 0;
	int fd;

	if (!path) {
		snap_version_string(buf, sizeof(buf));
		printf("%s\n", buf);
		return 0;
	}
	/* Only the header: the version is all this prints (Firecracker's
	 * --describe-snapshot reads no further either). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		n = read(fd, head, sizeof(head));
		close(fd);
	}
	if (fd < 0 || n < 0) {
		fprintf(stderr, "Snapshot error: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (snap_peek_version(head, (size_t)n, &v) < 0) {
		fprintf(stderr, "Snapshot error: %s: not an ember snapshot state file (bad magic or too short)\n", path);
		return 1;
	}
	printf("v%u.%u.%u\n", v.major, v.minor, v.patch);
	return 0;
}
