/* Loading a snapshot: see snapshot.h. */
#include "snapshot.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/irqchip/split.h"
#include "core/memory.h"
#include "devices.h"
#include "format.h"
#include "generation.h"
#include "kvm_state.h"
#include "log.h"
#include "overrides.h"
#include "uffd.h"

#define LOAD_PREFIX "Load snapshot error: Failed to restore from snapshot: "

static int snap_read_state(struct snap_load *l, const char *path, char *err, size_t errlen)
{
	char why[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), r;
	struct stat st;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, LOAD_PREFIX "Failed to get snapshot state from file: Failed to open snapshot file: "
			 "%s: %s (os error %d)", path, strerror(-r), -r);
		return r;
	}
	r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (r >= 0)
		r = snap_read_fd(fd, &l->buf, &l->len);
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, LOAD_PREFIX "Failed to get snapshot state from file: Failed to load snapshot state "
			 "from file: %s: %s", path, r == -EFBIG ? "larger than the 10 MiB a state file may have"
			 : r == -EINVAL ? "not a regular file" : strerror(-r));
		return r;
	}
	l->file = calloc(1, sizeof(*l->file));
	if (!l->file)
		return -ENOMEM;
	r = snap_parse(l->buf, l->len, l->file, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, LOAD_PREFIX "Failed to get snapshot state from file: Failed to load snapshot state "
			 "from file: %s: %s", path, why);
	return r;
}

/* The saved regions must be exactly what ember plans for the saved
 * mem_size_mib, at offsets inside a file of at least that size. */
static int snap_check_memory(struct snap_load *l, const struct vm_config *cfg, char *why, size_t whylen)
{
	const struct snap_section *s = snap_find(l->file, SNAP_SEC_MEMORY, 0);
	struct guest_region plan[GUEST_MAX_REGIONS];
	int n = guest_memory_plan(cfg->machine.mem_size_mib << 20, plan);
	uint32_t count;

	if (n < 0 || !s || s->len < 4) {
		snprintf(why, whylen, "no memory section, or mem_size_mib %" PRIu64 " has no memory plan",
			 cfg->machine.mem_size_mib);
		return -EINVAL;
	}
	memcpy(&count, s->data, 4);
	if (count != (uint32_t)n || s->len != 4 + count * 24) {
		snprintf(why, whylen, "the memory section has %" PRIu32 " regions, ember plans %d for %" PRIu64 " MiB",
			 count, n, cfg->machine.mem_size_mib);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		uint64_t gpa, size, off;

		memcpy(&gpa, s->data + 4 + i * 24, 8);
		memcpy(&size, s->data + 4 + i * 24 + 8, 8);
		memcpy(&off, s->data + 4 + i * 24 + 16, 8);
		if (gpa != plan[i].gpa || size != plan[i].size || off % 4096 || off > (UINT64_MAX >> 1)) {
			snprintf(why, whylen, "memory region %d (0x%" PRIx64 ", %" PRIu64 " bytes at offset %" PRIu64
				 ") is not ember's (0x%" PRIx64 ", %" PRIu64 " bytes)", i, gpa, size, off, plan[i].gpa,
				 plan[i].size);
			return -EINVAL;
		}
		l->restore.offset[i] = off;
	}
	return 0;
}

/* A regular file (a FIFO is refused without waiting for a writer: the open
 * does not block with O_NONBLOCK), holding every region. */
static int snap_open_memory(struct snap_load *l, const char *path, const struct vm_config *cfg, char *why,
			    size_t whylen)
{
	uint64_t need = 0;
	struct guest_region plan[GUEST_MAX_REGIONS];
	int n = guest_memory_plan(cfg->machine.mem_size_mib << 20, plan);
	struct stat st;

	for (int i = 0; i < n; i++)
		if (l->restore.offset[i] + plan[i].size > need)
			need = l->restore.offset[i] + plan[i].size;
	l->mem_fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (l->mem_fd < 0 || fstat(l->mem_fd, &st) < 0) {
		int r = -errno;

		snprintf(why, whylen, "%s: %s (os error %d)", path, strerror(-r), -r);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < need) {
		snprintf(why, whylen, "%s: %jd bytes, the snapshot's memory needs %" PRIu64, path, (intmax_t)st.st_size,
			 need);
		return -EINVAL;
	}
	return 0;
}

static int snap_check_vendor(const struct snap_load *l, char *why, size_t whylen)
{
	unsigned a, b, c, d;
	char host[13], saved[13];

	if (!snap_cpuid_vendor(l->file, saved)) {
		snprintf(why, whylen, "vCPU 0 has no CPUID leaf 0");
		return -EINVAL;
	}
	__cpuid(0, a, b, c, d);
	memcpy(host, &b, 4);
	memcpy(host + 4, &d, 4);
	memcpy(host + 8, &c, 4);
	host[12] = 0;
	if (strcmp(host, saved) != 0) {
		snprintf(why, whylen, "the snapshot's CPU vendor is %s, this host's %s", saved, host);
		return -EINVAL;
	}
	return 0;
}

static int snap_load_vcpu(void *ctx, unsigned index, int vcpu_fd, char *err, size_t errlen)
{
	struct snap_load *l = ctx;
	int r = snap_vcpu_restore(vcpu_fd, index, l->file, err, errlen);

	if (r < 0)
		snprintf(l->err, sizeof(l->err), "%s", err);
	return r;
}

/* huge_pages at load (Firecracker's LoadHugePageConfig::resolve, then its
 * machine-config update): the request's replaces the snapshot's, and the
 * size must be a multiple of the page size. */
static int snap_resolve_huge_pages(const struct snap_load_options *opt, struct vm_config *cfg, char *err,
				   size_t errlen)
{
	if (opt->huge_pages >= 0)
		cfg->machine.huge_pages = (enum huge_pages)opt->huge_pages;
	if (cfg->machine.huge_pages != HUGE_PAGES_NONE && cfg->machine.mem_size_mib % 2) {
		snprintf(err, errlen, LOAD_PREFIX "Failed to build microVM from snapshot: Failed to update microVM "
			 "configuration: The memory size (MiB) is either 0, or not a multiple of the configured page "
			 "size.");
		return -EINVAL;
	}
	return 0;
}

static enum guest_backing snap_backing(enum huge_pages hp)
{
	return hp == HUGE_PAGES_2M ? GUEST_BACKING_HUGETLB_2M
	       : hp == HUGE_PAGES_TRANSPARENT ? GUEST_BACKING_TRANSPARENT : GUEST_BACKING_SMALL;
}

/* The memory: the page server's (Uffd), or the file's. */
static int snap_load_memory(struct snap_load *l, const struct snap_load_options *opt, const struct vm_config *cfg,
			    char *err, size_t errlen)
{
	char why[768];
	int r;

	if (opt->uffd) {
		r = snap_uffd_memory(cfg->machine.mem_size_mib << 20, snap_backing(cfg->machine.huge_pages),
				     l->restore.offset, opt->mem_path, &l->restore.mem, why, sizeof(why));
		if (r < 0)
			snprintf(err, errlen, LOAD_PREFIX "Failed to load guest memory: Error creating guest memory "
				 "from uffd: %s", why);
		return r;
	}
	if (cfg->machine.huge_pages == HUGE_PAGES_2M) {
		/* Firecracker's refusal: a file mapping would not be hugetlb memory. */
		snprintf(err, errlen, LOAD_PREFIX "Failed to load guest memory: Error creating guest memory from file: "
			 "Cannot restore hugetlbfs backed snapshot by mapping the memory file. Please use uffd.");
		return -EOPNOTSUPP;
	}
	r = snap_open_memory(l, opt->mem_path, cfg, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, LOAD_PREFIX "Failed to load guest memory: Error creating guest memory from file: "
			 "Failed to load guest memory: %s", why);
		return r;
	}
	l->restore.mem_fd = l->mem_fd;
	return 0;
}

int snap_load_open(struct snap_load *l, const struct snap_load_options *opt, struct vm_config *cfg, char *err,
		   size_t errlen)
{
	const struct snap_section *s;
	char why[768];
	int r;

	*l = (struct snap_load){ .mem_fd = -1 };
	l->restore = (struct vm_restore){ .mem_fd = -1, .vcpu = snap_load_vcpu, .ctx = l };
	l->clock_realtime = opt->ov && opt->ov->clock_realtime;
	r = snap_read_state(l, opt->state_path, err, errlen);
	if (r < 0)
		return r;
	s = snap_find(l->file, SNAP_SEC_CONFIG, 0);
	r = s ? snap_config_load(s->data, s->len, opt->ov, cfg, why, sizeof(why)) : -EINVAL;
	if (r == -ENODEV) {
		/* Firecracker's chain for an override naming no saved device */
		snprintf(err, errlen, LOAD_PREFIX "Failed to get snapshot state from file: %s", why);
		return r;
	}
	if (!s)
		snprintf(why, sizeof(why), "no config section");
	if (r >= 0)
		r = snap_check_memory(l, cfg, why, sizeof(why));
	if (r >= 0)
		r = snap_check_vendor(l, why, sizeof(why));
	if (r >= 0)
		r = snap_generation_check(l->file, why, sizeof(why));
	if (r >= 0 && l->clock_realtime && !snap_vm_clock_has_realtime(l->file)) {
		/* Checked here, before KVM is touched, so the process may load again. */
		snprintf(err, errlen, LOAD_PREFIX "Failed to build microVM from snapshot: clock_realtime requested but "
			 "not present in the snapshot state");
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, LOAD_PREFIX "Invalid snapshot state: %s: %s", opt->state_path, why);
		return r;
	}
	r = snap_resolve_huge_pages(opt, cfg, err, errlen);
	if (r < 0)
		return r;
	return snap_load_memory(l, opt, cfg, err, errlen);
}

/* Under the Uffd backend the new generation's writes into guest memory
 * wait for the page server to serve those pages. They run on a thread of
 * their own, waited for at most SNAP_GENERATION_WAIT_MS: a page server
 * that never serves must not hang the load on the vmm thread (the guest
 * cannot run without it either, and the writes land when it serves). */
#define SNAP_GENERATION_WAIT_MS 2000

struct snap_generation_job {
	const struct device_manager *devs;
	struct snap_generation saved;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, abandoned;
	int r;
	char why[256];
};

static void snap_generation_job_free(struct snap_generation_job *j)
{
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void *snap_generation_thread(void *arg)
{
	struct snap_generation_job *j = arg;
	char why[256] = "";
	int r = snap_generation_apply(j->devs, &j->saved, why, sizeof(why));
	bool abandoned;

	pthread_mutex_lock(&j->lock);
	j->r = r;
	snprintf(j->why, sizeof(j->why), "%s", why);
	j->done = true;
	abandoned = j->abandoned;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	if (abandoned) {
		if (r < 0)
			log_error("snapshot load: the new VMGenID/VMClock generation, written late: %s", why);
		snap_generation_job_free(j); /* the loader gave up waiting: the job is this thread's */
	}
	return NULL;
}

static int snap_generation_uffd(struct vm *vm, const struct device_manager *devs, const struct snap_file *f,
				char *why, size_t whylen)
{
	struct snap_generation_job *j = calloc(1, sizeof(*j));
	struct timespec deadline;
	pthread_t t;
	int r;

	if (!j)
		return -ENOMEM;
	j->devs = devs;
	r = snap_generation_prepare(devs, f, &j->saved, why, whylen);
	if (r >= 0) {
		pthread_mutex_init(&j->lock, NULL);
		pthread_cond_init(&j->cond, NULL);
		r = -pthread_create(&t, NULL, snap_generation_thread, j);
		if (r < 0)
			snprintf(why, whylen, "cannot start the generation writer: %s", strerror(-r));
	}
	if (r < 0) {
		free(j);
		return r;
	}
	pthread_detach(t);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SNAP_GENERATION_WAIT_MS / 1000;
	pthread_mutex_lock(&j->lock);
	while (!j->done &&
	       pthread_cond_clockwait(&j->cond, &j->lock, CLOCK_MONOTONIC, &deadline) != ETIMEDOUT)
		;
	if (!j->done) {
		j->abandoned = true;
		pthread_mutex_unlock(&j->lock);
		/* The writer holds the devices and the memory until the page
		 * is served, which may be during teardown: nothing it uses is
		 * freed then. */
		vm_leave_to_exit(vm);
		log_warn("snapshot load: the page server has not served the VMGenID and VMClock pages within %d s; "
			 "the new generation is written when it does", SNAP_GENERATION_WAIT_MS / 1000);
		return 0;
	}
	r = j->r;
	if (r < 0)
		snprintf(why, whylen, "%s", j->why);
	pthread_mutex_unlock(&j->lock);
	snap_generation_job_free(j);
	return r;
}

int snap_load_finish(struct snap_load *l, struct vm *vm, const struct device_manager *devs,
		     const struct vm_config *cfg, char *err, size_t errlen)
{
	bool kernel = cfg->machine.irqchip == IRQCHIP_KERNEL;
	char why[512] = "";
	int r = snap_vm_restore(vm_fd(vm), kernel, machine_config_pit(&cfg->machine), l->clock_realtime, l->file, why,
				sizeof(why));

	if (r >= 0 && !kernel) {
		const struct snap_section *s = snap_find(l->file, SNAP_SEC_VM_SPLIT_IOAPIC, 0);

		r = s ? irqchip_split_restore(vm_split_irqchip(vm), s->data, s->len, why, sizeof(why)) : -EINVAL;
		if (!s)
			snprintf(why, sizeof(why), "no split-ioapic section for irqchip split");
	}
	if (r >= 0)
		r = snap_devices_restore(devs, l->file, why, sizeof(why));
	/* Last: the IOAPIC's entries and the LAPICs are back, so the GED's
	 * edges land in the guest's IRR; no vCPU runs yet. */
	if (r >= 0 && vm_memory(vm)->uffd >= 0)
		r = snap_generation_uffd(vm, devs, l->file, why, sizeof(why));
	else if (r >= 0)
		r = snap_generation_restore(devs, l->file, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, LOAD_PREFIX "Failed to build microVM from snapshot: %s", why);
	return r;
}

void snap_load_close(struct snap_load *l)
{
	if (l->file)
		snap_file_free(l->file);
	free(l->file);
	free(l->buf);
	if (l->mem_fd >= 0)
		close(l->mem_fd);
	guest_memory_destroy(l->restore.mem);
	*l = (struct snap_load){ .mem_fd = -1 };
}
