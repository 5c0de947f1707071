#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "boot/cmdline.h"
#include "boot/entry.h"
#include "boot/loader.h"
#include "boot/mptable.h"
#include "boot/params.h"
#include "bus.h"
#include "cleanup.h"
#include "cpu_template.h"
#include "cpuid.h"
#include "device_env.h"
#include "exit_code.h"
#include "irqchip/split.h"
#include "kvm.h"
#include "layout.h"
#include "log.h"
#include "loop.h"
#include "guest_space.h"
#include "memory.h"
#include "thp.h"
#include "vcpu.h"
#include "vm_release.h"

/* Intel VMX needs three pages for the real-mode TSS; Firecracker's address,
 * just below the BIOS area at the top of the 32-bit space. */
#define VM_TSS_ADDR 0xfffbd000ul

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	int fd;
	struct guest_memory *mem;
	struct event_loop *loop;
	struct bus *mmio_bus, *pio_bus;
	struct guest_space space; /* device memory beyond RAM (pmem) */
	struct irqchip_split *split; /* irqchip "split": ember's IOAPIC; NULL with "kernel" */
	struct device_env env;
	struct cmdline cmdline;
	struct kernel_info kernel;
	uint64_t initrd_addr, initrd_size;
	struct cpu_config *tmpl; /* the CPU template in force, NULL for none; owned */

	/* The devices are the manager's (hooks.devices): core names none. */
	bool devices_attached;
	struct device_exit_hook exit_hook; /* how a device (the i8042) ends the VM */

	unsigned nr_vcpus;
	struct vcpu *vcpus[VM_CONFIG_MAX_VCPUS];
	struct vcpu_control ctl;
	enum vm_state state;
	bool vcpus_prepared; /* the threads exist, parked (vm_prepare_vcpus) */
	int exit_code;    /* -1 while the guest runs; under ctl.lock */
	unsigned kickers; /* vCPU threads kicking the others; under ctl.lock */
	int exit_fd;
	struct vm_hooks hooks;
	char *err;    /* the caller's vm_error.msg during vm_create */
	size_t errlen;
	bool unbacked; /* vm_error.unbacked */
	/* vCPU threads that did not end when stopped (a guest page fault
	 * nobody serves: vm_stop_vcpus); what they may still touch is left. */
	bool abandoned;
};

/* Records why a step failed and returns r (evaluated before the message is
 * formatted, so -errno and %m agree). */
_printf_(3, 4) static int vm_fail(struct vm *vm, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->err, vm->errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- exits requested by the guest (vCPU threads) ---- */

/* The first caller stops the vCPUs; `kickers` keeps vm_stop_vcpus() from
 * joining a thread that this (vCPU) thread may still be signalling. */
static void vm_request_exit(void *ctx, int exit_code)
{
	struct vm *vm = ctx;
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->ctl.lock);
	if (vm->exit_code < 0)
		vm->exit_code = exit_code;
	first = !vm->ctl.stop;
	vm->ctl.stop = true;
	vm->kickers += first;
	pthread_cond_broadcast(&vm->ctl.cond);
	pthread_mutex_unlock(&vm->ctl.lock);
	if (first) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(vm->vcpus[i]);
		pthread_mutex_lock(&vm->ctl.lock);
		vm->kickers--;
		pthread_cond_broadcast(&vm->ctl.cond);
		pthread_mutex_unlock(&vm->ctl.lock);
	}
	if (write(vm->exit_fd, &one, sizeof(one)) < 0)
		log_error("cannot signal the vmm thread: %m");
}

static void vm_on_exit_event(void *ctx, uint32_t events)
{
	struct vm *vm = ctx;
	uint64_t v;

	if (read(vm->exit_fd, &v, sizeof(v)) < 0)
		return;
	if (vm->hooks.on_exit)
		vm->hooks.on_exit(vm->hooks.ctx, vm_exit_code(vm));
}

/* ---- the steps of vm_create ---- */

/* First, before anything is created: a static template that does not fit
 * this host refuses InstanceStart with Firecracker's words, and the VM stays
 * unstarted. A custom template is copied: it may be replaced by the API
 * while the VM lives. */
static int vm_step_cpu_template(struct vm *vm)
{
	struct cpu_host host;

	if (vm->cfg->cpu_config) {
		vm->tmpl = malloc(sizeof(*vm->tmpl));
		if (!vm->tmpl)
			return vm_fail(vm, -ENOMEM, "cannot copy the CPU template: out of memory");
		*vm->tmpl = *vm->cfg->cpu_config;
		return 0;
	}
	if (vm->cfg->machine.cpu_template == CPU_TEMPLATE_NONE)
		return 0;
	cpu_host_read(&host);
	return cpu_template_resolve(vm->cfg->machine.cpu_template, &host, &vm->tmpl, vm->err, vm->errlen);
}

/* A template's "N" capabilities are required as well as ember's own
 * (kvm.c); "!N" cannot waive one ember uses, so it changes nothing here. */
static int vm_check_template_caps(struct vm *vm)
{
	for (unsigned i = 0; vm->tmpl && i < vm->tmpl->ncaps; i++)
		if (!vm->tmpl->caps[i].remove && !kvm_check_extension(&vm->kvm, (int)vm->tmpl->caps[i].cap))
			return vm_fail(vm, -EOPNOTSUPP, "Kvm error: Missing KVM capabilities: %#x",
				       vm->tmpl->caps[i].cap);
	return 0;
}

static enum guest_backing vm_backing(enum huge_pages hp)
{
	return hp == HUGE_PAGES_2M ? GUEST_BACKING_HUGETLB_2M
	       : hp == HUGE_PAGES_TRANSPARENT ? GUEST_BACKING_TRANSPARENT : GUEST_BACKING_SMALL;
}

/* "Transparent" only asks: under the host's "never" (or a kernel that
 * refuses MADV_HUGEPAGE) the guest runs on 4 KiB pages, which the operator
 * should know. */
static void vm_warn_thp(bool refused)
{
	if (thp_host_mode() == THP_NEVER)
		log_warn("huge_pages \"Transparent\": the host's transparent_hugepage/enabled is \"never\", so "
			 "guest memory stays in 4 KiB pages");
	else if (refused)
		log_warn("huge_pages \"Transparent\": madvise(MADV_HUGEPAGE) was refused, so guest memory stays in "
			 "4 KiB pages");
}

static int vm_step_memory(struct vm *vm)
{
	/* A snapshot's memory is its file, mapped with small pages (a file
	 * mapping takes no hugetlb pages; snapshot/load.c refuses 2M), asked
	 * for THPs under "Transparent"; or RAM a page server fills, mapped by
	 * snapshot/uffd.c and taken over in vm_create(). */
	const struct vm_restore *rs = vm->hooks.restore;
	enum guest_backing backing = vm_backing(vm->cfg->machine.huge_pages);
	bool thp_refused = false;
	int r = 0;

	if (!rs)
		r = guest_memory_create_backed(vm->cfg->machine.mem_size_mib << 20, backing, &vm->mem, &thp_refused);
	else if (!vm->mem) {
		r = guest_memory_create_file(vm->cfg->machine.mem_size_mib << 20, rs->mem_fd, rs->offset, &vm->mem);
		if (r >= 0 && backing == GUEST_BACKING_TRANSPARENT)
			thp_refused = guest_memory_advise_thp(vm->mem) < 0;
	} else if (vm->mem->backing == GUEST_BACKING_TRANSPARENT) {
		thp_refused = vm->mem->thp_refused;
	}
	if (r < 0)
		return vm_fail(vm, r, "Invalid Memory Configuration: Cannot create mmap region: %s (os error %d)",
			       strerror(-r), -r);
	if (backing == GUEST_BACKING_TRANSPARENT)
		vm_warn_thp(thp_refused);
	/* track_dirty_pages: the bitmap of ember's own writes (KVM logs the
	 * guest's, vm_step_memory_regions), for Diff snapshots. */
	if (vm->cfg->machine.track_dirty_pages && guest_memory_track_dirty(vm->mem) < 0)
		return vm_fail(vm, -ENOMEM, "cannot allocate the dirty page bitmap");
	vm->ctl.mem = vm->mem;
	return 0;
}

static int vm_step_kvm(struct vm *vm)
{
	int r = kvm_open(&vm->kvm, vm->err, vm->errlen);

	if (r >= 0)
		r = vm_check_template_caps(vm);
	if (r < 0)
		return r;
	vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return vm_fail(vm, -errno, "KVM_CREATE_VM failed: %m");
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0)
		return vm_fail(vm, -errno, "KVM_SET_TSS_ADDR failed: %m");
	return 0;
}

/* After the memory regions (see vm_create_steps): KVM puts the PIC, IOAPIC
 * and PIT on its I/O buses, and each bus update leaves an SRCU grace period
 * behind that the next memslot update would wait for. x86 KVM needs the
 * irqchip only before KVM_CREATE_VCPU (and before any KVM_IRQFD).
 * The machine-config's device set (doc/irqchip.md): KVM's PIC and IOAPIC,
 * or only its local APICs with ember's IOAPIC (attached with the buses);
 * KVM's PIT unless "pit" is false. */
static int vm_step_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (vm->cfg->machine.irqchip == IRQCHIP_SPLIT) {
		int r = irqchip_split_enable(vm->fd, vm->err, vm->errlen);

		if (r < 0)
			return r;
	} else if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		return vm_fail(vm, -errno, "KVM_CREATE_IRQCHIP failed: %m");
	}
	if (machine_config_pit(&vm->cfg->machine) && ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return vm_fail(vm, -errno, "KVM_CREATE_PIT2 failed: %m");
	return 0;
}

static int vm_step_memory_regions(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem->nr_regions; i++) {
		const struct guest_region *g = &vm->mem->region[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = g->gpa,
			.memory_size = g->size,
			.userspace_addr = (uintptr_t)g->host,
			/* Dirty logging also makes KVM map the slot with 4 KiB
			 * pages, whatever backs it (huge_pages 2M, Transparent). */
			.flags = vm->mem->dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return vm_fail(vm, -errno, "KVM_SET_USER_MEMORY_REGION (slot %u) failed: %m", i);
	}
	return 0;
}

/* Device memory goes from 512 GiB, or from above RAM when RAM reaches that
 * far (1 GiB rounded); its KVM slots follow RAM's. */
static void vm_space_init(struct vm *vm)
{
	const struct guest_region *last = &vm->mem->region[vm->mem->nr_regions - 1];
	uint64_t ram_end = (last->gpa + last->size + (1ull << 30) - 1) & ~((1ull << 30) - 1);

	guest_space_init(&vm->space, vm->fd, ram_end > LAYOUT_PMEM_BASE ? ram_end : LAYOUT_PMEM_BASE,
			 LAYOUT_PMEM_END, GUEST_MAX_REGIONS);
}

static int vm_step_buses(struct vm *vm)
{
	int r = bus_create(&vm->mmio_bus);

	if (r >= 0)
		r = bus_create(&vm->pio_bus);
	if (r < 0)
		return vm_fail(vm, r, "cannot create the device buses: %s", strerror(-r));
	vm_space_init(vm);
	vm->env = (struct device_env){
		.vm_fd = vm->fd, .mem = vm->mem, .loop = vm->loop,
		.mmio_bus = vm->mmio_bus, .pio_bus = vm->pio_bus, .mmds = vm->hooks.mmds,
		.space = &vm->space,
	};
	vm->ctl.mmio_bus = vm->mmio_bus;
	vm->ctl.pio_bus = vm->pio_bus;
	return 0;
}

/* The split set's IOAPIC on the MMIO bus, before the devices bind their
 * irqfds to its pins; the vCPUs hand it the EOIs of its level vectors. */
static int vm_step_ioapic(struct vm *vm)
{
	int r;

	if (vm->cfg->machine.irqchip != IRQCHIP_SPLIT)
		return 0;
	r = irqchip_split_attach(vm->fd, MPTABLE_IOAPIC_ID(vm->nr_vcpus), vm->mmio_bus, &vm->split, vm->err,
				 vm->errlen);
	if (r < 0)
		return r;
	vm->ctl.ioapic_eoi = irqchip_split_eoi;
	vm->ctl.ioapic = vm->split;
	return 0;
}

static int vm_step_cmdline(struct vm *vm)
{
	char why[256];
	int r = cmdline_init(&vm->cmdline, vm->cfg->boot.boot_args, why, sizeof(why));

	/* Firecracker without --enable-pci, right after boot_args: the guest
	 * then does not probe a PCI bus that is not there. */
	if (r >= 0)
		r = cmdline_append(&vm->cmdline, "pci=off", why, sizeof(why));
	if (r < 0)
		return vm_fail(vm, r, "Boot source error: The kernel command line is invalid: %s", why);
	return 0;
}

/* The devices, through the manager start-up passed in: they append to the
 * command line, which the boot tables step then writes into the guest. */
static int vm_step_devices(struct vm *vm)
{
	const struct vm_devices *d = &vm->hooks.devices;
	char why[384] = "";
	int r;

	if (!d->attach)
		return 0;
	vm->devices_attached = true;
	r = d->attach(d->mgr, vm->cfg, &vm->env, &vm->cmdline, &vm->exit_hook, why, sizeof(why));
	return r < 0 ? vm_fail(vm, r, "%s", why) : 0;
}

/* The ACPI tables, from the plan the devices were just attached by (the
 * plan that wrote their virtio_mmio.device= entries). */
static int vm_step_acpi(struct vm *vm)
{
	static const struct device_plan no_devices = { .vmgenid_gsi = LAYOUT_VIRTIO_IRQ_FIRST,
						       .vmclock_gsi = LAYOUT_VIRTIO_IRQ_FIRST + 1 };
	const struct vm_devices *d = &vm->hooks.devices;
	struct acpi_image img;
	int r;

	/* A restored guest has its tables in its memory already: nothing to
	 * build, and ember writes nothing there while building, so that a Uffd
	 * page server that has not served (or never does) cannot hang the load
	 * on the vmm thread. */
	if (vm->hooks.restore)
		return 0;
	r = acpi_build_vm(vm->cfg, d->plan ? d->plan(d->mgr) : &no_devices, &img);
	if (r < 0)
		return vm_fail(vm, r, "cannot build the ACPI tables: %s", strerror(-r));
	r = acpi_write(vm->mem, &img);
	acpi_image_free(&img);
	if (r < 0)
		return vm_fail(vm, r, "cannot write the ACPI tables: %s", strerror(-r));
	return 0;
}

static int vm_step_kernel(struct vm *vm)
{
	char why[256] = "";
	int r;

	if (vm->hooks.restore)
		return 0; /* the kernel is in the restored memory */
	r = kernel_load(vm->mem, vm->cfg->boot.kernel_fd, &vm->kernel, why, sizeof(why));

	/* The loader preads straight into guest RAM: the kernel answers EFAULT
	 * (not SIGBUS) when it cannot fault in a hugetlb page there. */
	if (r == -EFAULT && vm->mem->backing == GUEST_BACKING_HUGETLB_2M) {
		vm->unbacked = true;
		return vm_fail(vm, r, "guest memory could not be backed while loading the kernel (huge page pool "
				      "exhausted?)");
	}
	if (r < 0)
		return vm_fail(vm, r, "Cannot load kernel due to invalid memory configuration or invalid kernel "
				      "image: %s", why);
	if (vm->cfg->boot.initrd_fd < 0)
		return 0;
	r = initrd_load(vm->mem, vm->cfg->boot.initrd_fd, &vm->kernel, &vm->initrd_addr, &vm->initrd_size, why,
			sizeof(why));
	if (r < 0)
		return vm_fail(vm, r, "Cannot load initrd due to an invalid memory configuration: %s", why);
	return 0;
}

static int vm_step_boot_tables(struct vm *vm)
{
	struct boot_info info = {
		.ram_size = vm->mem->ram_size,
		.kernel = &vm->kernel,
		.cmdline_addr = LAYOUT_CMDLINE,
		.cmdline_size = cmdline_size(&vm->cmdline),
		.initrd_addr = vm->initrd_addr,
		.initrd_size = vm->initrd_size,
		.acpi_rsdp_addr = LAYOUT_ACPI_RSDP,
	};
	int r;

	if (vm->hooks.restore)
		return 0; /* written at boot, in the restored memory */
	r = guest_memory_write(vm->mem, LAYOUT_CMDLINE, vm->cmdline.buf, cmdline_size(&vm->cmdline));
	if (r >= 0)
		r = boot_params_write(vm->mem, &info);
	if (r >= 0)
		r = mptable_write(vm->mem, vm->nr_vcpus);
	if (r >= 0)
		r = entry_write_tables(vm->mem);
	if (r < 0)
		return vm_fail(vm, r, "cannot write the boot tables: %s", strerror(-r));
	return 0;
}

static int vm_step_vcpus(struct vm *vm)
{
	_cleanup_free_ struct kvm_cpuid2 *supported = NULL;
	int r = cpuid_get_supported(vm->kvm.fd, &supported);

	if (r < 0)
		return vm_fail(vm, r, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-r));
	if (vm->tmpl) {
		char why[160];

		r = cpu_template_apply_cpuid(supported, vm->tmpl, why, sizeof(why));
		if (r < 0)
			return vm_fail(vm, r, "System configuration error: Failed to create guest config: %s", why);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_create(vm->fd, i, vm->kvm.run_size, &vm->ctl, &vm->vcpus[i]);
		if (r < 0)
			return vm_fail(vm, r, "cannot create vcpu %u: %s", i, strerror(-r));
		if (vm->hooks.restore) {
			r = vm->hooks.restore->vcpu(vm->hooks.restore->ctx, i, vm->vcpus[i]->fd, vm->err, vm->errlen);
			if (r < 0)
				return r;
			continue;
		}
		r = vcpu_configure(vm->vcpus[i], supported, vm->tmpl, vm->nr_vcpus, vm->cfg->machine.smt,
				   vm->kernel.entry, vm->err, vm->errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

static int vm_step_exit_event(struct vm *vm)
{
	int r;

	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_fd < 0)
		return vm_fail(vm, -errno, "cannot create the exit eventfd: %m");
	r = loop_add(vm->loop, vm->exit_fd, EPOLLIN, vm_on_exit_event, vm);
	if (r < 0)
		return vm_fail(vm, r, "cannot watch the exit eventfd: %s", strerror(-r));
	return 0;
}

/* In order; config marks steps whose failure is the configuration's fault.
 * The configuration's steps come first, so a bad kernel is reported without
 * touching KVM. Memory is registered before anything else goes on KVM's
 * buses (irqchip, PIT, the devices' ioeventfds): a memslot update waits for
 * the SRCU grace period each bus update starts (about 9 ms measured under
 * nested PVM, doc/design-notes.md "Start-up and teardown"), while nothing
 * waits for one queued before it. Devices come before the boot tables: they
 * may append to the command line, which the boot tables step writes into the
 * guest. */
static const struct {
	const char *name;
	int (*run)(struct vm *vm);
	bool config;
} vm_create_steps[] = {
	{ "CPU template", vm_step_cpu_template, true },
	{ "guest memory", vm_step_memory, true },
	{ "kernel command line", vm_step_cmdline, true },
	{ "kernel and initrd", vm_step_kernel, true },
	{ "KVM VM", vm_step_kvm, false },
	{ "memory regions", vm_step_memory_regions, false },
	{ "irqchip and PIT", vm_step_irqchip, false },
	{ "device buses", vm_step_buses, false },
	{ "IOAPIC (split irqchip)", vm_step_ioapic, false },
	{ "devices", vm_step_devices, false },
	{ "ACPI tables", vm_step_acpi, false },
	{ "boot tables", vm_step_boot_tables, false },
	{ "vCPUs", vm_step_vcpus, false },
	{ "exit event", vm_step_exit_event, false },
};

static struct vm *vm_alloc(const struct vm_config *cfg, struct event_loop *loop, const struct vm_hooks *hooks)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->cfg = cfg;
	vm->loop = loop;
	vm->hooks = *hooks;
	vm->kvm.fd = -1;
	vm->fd = -1;
	vm->exit_fd = -1;
	vm->exit_code = -1;
	vm->nr_vcpus = cfg->machine.vcpu_count;
	pthread_mutex_init(&vm->ctl.lock, NULL);
	pthread_cond_init(&vm->ctl.cond, NULL);
	vm->ctl.request_exit = vm_request_exit;
	vm->ctl.ctx = vm;
	vm->exit_hook = (struct device_exit_hook){ .request_exit = vm_request_exit, .ctx = vm };
	return vm;
}

int vm_create(const struct vm_config *cfg, struct event_loop *loop, const struct vm_hooks *hooks,
	      struct vm **ret, struct vm_error *err)
{
	struct vm *vm;

	*err = (struct vm_error){ 0 };
	if (!cfg->boot.configured && !hooks->restore) {
		snprintf(err->msg, sizeof(err->msg),
			 "Start microvm error: Cannot start microvm without kernel configuration.");
		err->config = true;
		return -EINVAL;
	}
	vm = vm_alloc(cfg, loop, hooks);
	if (!vm) {
		if (hooks->restore)
			guest_memory_destroy(hooks->restore->mem);
		snprintf(err->msg, sizeof(err->msg), "cannot allocate the microVM: out of memory");
		return -ENOMEM;
	}
	if (hooks->restore)
		vm->mem = hooks->restore->mem; /* ours from here on (vm_restore) */
	vm->err = err->msg;
	vm->errlen = sizeof(err->msg);
	for (size_t i = 0; i < ARRAY_SIZE(vm_create_steps); i++) {
		int r = vm_create_steps[i].run(vm);

		if (r < 0) {
			err->config = vm_create_steps[i].config;
			err->unbacked = vm->unbacked;
			log_debug("vm_create: step \"%s\" failed: %s", vm_create_steps[i].name, err->msg);
			vm->err = NULL;
			vm_destroy(vm);
			return r;
		}
	}
	vm->err = NULL;
	vm->hooks.restore = NULL; /* the caller's, used only while building */
	*ret = vm;
	return 0;
}

/* ---- running ---- */

#define VM_PAUSE_TIMEOUT_MS 4000
#define VM_STOP_TIMEOUT_MS 2000

static void vm_stop_vcpus(struct vm *vm);

/* Why a thread cannot be created, as an operator can act on it: EAGAIN is
 * the pids limit of the cgroup (the jailer's pids.max) or RLIMIT_NPROC. (The
 * seccomp baseline has no prlimit64, so the limit itself is not read here.) */
static void vm_thread_error(int r, unsigned index, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot create the thread of vCPU %u: %s%s", index, strerror(-r),
		 r == -EAGAIN ? ": the cgroup's pids.max or RLIMIT_NPROC is likely too low" : "");
}

int vm_prepare_vcpus(struct vm *vm, char *err, size_t errlen)
{
	if (vm->state != VM_NOT_STARTED || vm->vcpus_prepared)
		return -EALREADY;
	/* Held parked until vm_start(): no vCPU runs unless all of them exist. */
	pthread_mutex_lock(&vm->ctl.lock);
	vm->ctl.pause = true;
	pthread_mutex_unlock(&vm->ctl.lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu_start(vm->vcpus[i]);

		if (r < 0) {
			vm_thread_error(r, i, err, errlen);
			vm_stop_vcpus(vm);
			return r;
		}
	}
	vm->vcpus_prepared = true;
	return 0;
}

int vm_start(struct vm *vm)
{
	char err[256];
	int r;

	if (vm->state != VM_NOT_STARTED)
		return -EALREADY;
	if (!vm->vcpus_prepared) {
		r = vm_prepare_vcpus(vm, err, sizeof(err));
		if (r < 0) {
			log_error("%s", err);
			return r;
		}
	}
	pthread_mutex_lock(&vm->ctl.lock);
	vm->ctl.pause = false;
	pthread_cond_broadcast(&vm->ctl.cond);
	pthread_mutex_unlock(&vm->ctl.lock);
	vm->state = VM_RUNNING;
	return 0;
}

int vm_start_paused(struct vm *vm, char *err, size_t errlen)
{
	int r = vm_prepare_vcpus(vm, err, errlen);

	if (r < 0)
		return r;
	vm->state = VM_PAUSED;
	return 0;
}

int vm_kvm_fd(const struct vm *vm)
{
	return vm->kvm.fd;
}

int vm_fd(const struct vm *vm)
{
	return vm->fd;
}

unsigned vm_vcpu_count(const struct vm *vm)
{
	return vm->nr_vcpus;
}

int vm_vcpu_fd(const struct vm *vm, unsigned index)
{
	return index < vm->nr_vcpus ? vm->vcpus[index]->fd : -1;
}

const struct guest_memory *vm_memory(const struct vm *vm)
{
	return vm->mem;
}

struct irqchip_split *vm_split_irqchip(const struct vm *vm)
{
	return vm->split;
}

/* Waits (ctl.lock held) until every vCPU thread is parked, or gone as well
 * when stopping, or until timeout_ms passed: 0 or -ETIMEDOUT. A vCPU whose
 * guest waits on a page fault of a userfaultfd (the Uffd backend) stays in
 * KVM_RUN whatever signal reaches it (measured on this host), so a page
 * server that never answers must not hang the vmm thread. */
static int vm_wait_vcpus(struct vm *vm, bool stopping, unsigned timeout_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	for (;;) {
		unsigned done = 0;

		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			const struct vcpu *v = vm->vcpus[i];

			done += !v || !v->thread_started || v->exited || (!stopping && v->parked);
		}
		if (done == vm->nr_vcpus)
			return 0;
		if (pthread_cond_clockwait(&vm->ctl.cond, &vm->ctl.lock, CLOCK_MONOTONIC, &deadline) == ETIMEDOUT)
			return -ETIMEDOUT;
	}
}

/* "0, 2": the vCPUs still running (ctl.lock held). */
static void vm_running_vcpus(const struct vm *vm, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < vm->nr_vcpus && len < size; i++) {
		const struct vcpu *v = vm->vcpus[i];

		if (v && v->thread_started && !v->exited && !v->parked) {
			int n = snprintf(buf + len, size - len, "%s%u", len ? ", " : "", i);

			len += n > 0 ? (size_t)n : 0;
		}
	}
}

int vm_pause(struct vm *vm, char *err, size_t errlen)
{
	char list[128];
	int r;

	if (vm->state == VM_NOT_STARTED)
		return -EINVAL;
	if (vm->state == VM_PAUSED)
		return 0;
	pthread_mutex_lock(&vm->ctl.lock);
	vm->ctl.pause = true;
	pthread_mutex_unlock(&vm->ctl.lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	pthread_mutex_lock(&vm->ctl.lock);
	r = vm_wait_vcpus(vm, false, VM_PAUSE_TIMEOUT_MS);
	if (r < 0) {
		/* Given up: those that parked run again, the VM stays Running. */
		vm_running_vcpus(vm, list, sizeof(list));
		vm->ctl.pause = false;
		pthread_cond_broadcast(&vm->ctl.cond);
		snprintf(err, errlen, "vCPU %s did not leave KVM_RUN within %u s (the guest waits on a page fault "
			 "that its memory backend does not serve?)", list, VM_PAUSE_TIMEOUT_MS / 1000);
	}
	pthread_mutex_unlock(&vm->ctl.lock);
	if (r < 0)
		return r;
	vm->state = VM_PAUSED;
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (vm->state == VM_NOT_STARTED)
		return -EINVAL;
	pthread_mutex_lock(&vm->ctl.lock);
	vm->ctl.pause = false;
	pthread_cond_broadcast(&vm->ctl.cond);
	pthread_mutex_unlock(&vm->ctl.lock);
	vm->state = VM_RUNNING;
	return 0;
}

enum vm_state vm_get_state(const struct vm *vm)
{
	return vm->state;
}

int vm_exit_code(const struct vm *vm)
{
	struct vm *m = (struct vm *)vm;
	int code;

	pthread_mutex_lock(&m->ctl.lock);
	code = m->exit_code;
	pthread_mutex_unlock(&m->ctl.lock);
	return code;
}

static void vm_stop_vcpus(struct vm *vm)
{
	char list[128];

	pthread_mutex_lock(&vm->ctl.lock);
	vm->ctl.stop = true;
	pthread_cond_broadcast(&vm->ctl.cond);
	pthread_mutex_unlock(&vm->ctl.lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			vcpu_kick(vm->vcpus[i]);
	pthread_mutex_lock(&vm->ctl.lock);
	while (vm->kickers)
		pthread_cond_wait(&vm->ctl.cond, &vm->ctl.lock);
	/* Bounded (vm_wait_vcpus): a thread that does not end is left to the
	 * process's exit, which ends it, and nothing it may use is freed. */
	if (vm_wait_vcpus(vm, true, VM_STOP_TIMEOUT_MS) < 0) {
		vm_running_vcpus(vm, list, sizeof(list));
		vm->abandoned = true;
		log_warn("vCPU %s did not leave KVM_RUN within %u s (a guest page fault nobody serves?): left to "
			 "the process's exit", list, VM_STOP_TIMEOUT_MS / 1000);
	}
	pthread_mutex_unlock(&vm->ctl.lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->exited)
			vcpu_join(vm->vcpus[i]);
}

void vm_leave_to_exit(struct vm *vm)
{
	vm->abandoned = true;
}

struct vm *vm_destroy(struct vm *vm)
{
	if (!vm)
		return NULL;
	vm_stop_vcpus(vm);
	if (vm->abandoned) {
		/* the process is ending: its exit takes the rest, devices included */
		if (vm->devices_attached && vm->hooks.devices.leave)
			vm->hooks.devices.leave(vm->hooks.devices.mgr);
		return NULL;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i] = vcpu_destroy(vm->vcpus[i]);
	if (vm->exit_fd >= 0) {
		loop_remove(vm->loop, vm->exit_fd);
		close(vm->exit_fd);
	}
	/* The devices go before the buses they claimed windows on. */
	if (vm->devices_attached)
		vm->hooks.devices.destroy(vm->hooks.devices.mgr);
	vm->mmio_bus = bus_destroy(vm->mmio_bus);
	vm->pio_bus = bus_destroy(vm->pio_bus);
	vm->split = irqchip_split_destroy(vm->split);
	if (vm->fd >= 0)
		vm_release_later(vm->fd); /* the last reference: the vCPU fds are closed */
	kvm_close(&vm->kvm);
	vm->mem = guest_memory_destroy(vm->mem);
	free(vm->tmpl);
	pthread_mutex_destroy(&vm->ctl.lock);
	pthread_cond_destroy(&vm->ctl.cond);
	free(vm);
	return NULL;
}
