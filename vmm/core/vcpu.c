#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot/entry.h"
#include "bus.h"
#include "cleanup.h"
#include "cpu_template.h"
#include "cpuid.h"
#include "exit_code.h"
#include "log.h"
#include "memory.h"
#include "seccomp/install.h"
#include "signals.h"
#include "thread.h"

METRICS_GROUP(vcpu_metrics, "vcpu", VCPU_METRICS);

/* The boot MSRs Linux expects, as Firecracker sets them: syscall MSRs cleared,
 * TSC 0, fast strings on, MTRRs enabled with write-back as the default type. */
static const struct {
	uint32_t index;
	uint64_t value;
} boot_msrs[] = {
	{ 0x174, 0 },                 /* IA32_SYSENTER_CS */
	{ 0x175, 0 },                 /* IA32_SYSENTER_ESP */
	{ 0x176, 0 },                 /* IA32_SYSENTER_EIP */
	{ 0xc0000081, 0 },            /* STAR */
	{ 0xc0000083, 0 },            /* CSTAR */
	{ 0xc0000102, 0 },            /* KERNEL_GS_BASE */
	{ 0xc0000084, 0 },            /* SYSCALL_MASK */
	{ 0xc0000082, 0 },            /* LSTAR */
	{ 0x10, 0 },                  /* IA32_TSC */
	{ 0x1a0, 1 },                 /* IA32_MISC_ENABLE: fast strings */
	{ 0x2ff, (1u << 11) | 6 },    /* MTRRdefType: enabled, write-back */
};

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4u
#define APIC_MODE_EXTINT 0x7u

int vcpu_create(int vm_fd, unsigned index, size_t run_size, struct vcpu_control *ctl, struct vcpu **ret)
{
	_cleanup_free_ struct vcpu *v = calloc(1, sizeof(*v));
	void *run;

	if (!v)
		return -ENOMEM;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return -errno;
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		int r = -errno;

		close(v->fd);
		return r;
	}
	v->run = run;
	v->run_size = run_size;
	v->index = index;
	v->ctl = ctl;
	v->metrics = metrics_register(&vcpu_metrics_group, NULL, &v->m);
	*ret = TAKE_PTR(v);
	return 0;
}

struct vcpu *vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return NULL;
	metrics_unregister(v->metrics);
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
	return NULL;
}

static struct kvm_msrs *vcpu_msrs_alloc(size_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	if (m)
		m->nmsrs = (uint32_t)n;
	return m;
}

/* The template's MSRs as KVM reports them now, filtered. Called after
 * KVM_SET_CPUID2 (vcpu_configure's order): KVM >= 6.13 reads 0 for an MSR
 * whose CPUID feature the vCPU does not have yet, which would silently
 * turn the template's `x` bits to 0. */
static int vcpu_template_msrs(struct vcpu *v, const struct cpu_config *t, struct kvm_msrs *m, char *err,
			      size_t errlen)
{
	int r;

	for (unsigned i = 0; i < t->nmsrs; i++)
		m->entries[i].index = t->msrs[i].addr;
	m->nmsrs = t->nmsrs;
	r = t->nmsrs ? ioctl(v->fd, KVM_GET_MSRS, m) : 0;
	if (r < 0)
		return -errno;
	if ((unsigned)r != t->nmsrs) {
		snprintf(err, errlen, "System configuration error: Failed to create guest config: Template changes "
			 "an MSR entry not supported by KVM: Register Address: %x", t->msrs[r].addr);
		return -ENOENT;
	}
	for (unsigned i = 0; i < t->nmsrs; i++) {
		uint64_t val = m->entries[i].data;

		cpu_template_apply_msrs_one(&t->msrs[i], &val);
		m->entries[i].data = val;
	}
	return 0;
}

/* The template's MSRs, then the boot MSRs Linux expects (the boot values
 * win over a template that names the same MSR, as in Firecracker). */
static int vcpu_set_msrs(struct vcpu *v, const struct cpu_config *t, char *err, size_t errlen)
{
	unsigned ntmpl = t ? t->nmsrs : 0;
	_cleanup_free_ struct kvm_msrs *msrs = vcpu_msrs_alloc(ntmpl + ARRAY_SIZE(boot_msrs));
	int r;

	if (!msrs)
		return -ENOMEM;
	if (t) {
		r = vcpu_template_msrs(v, t, msrs, err, errlen);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		msrs->entries[ntmpl + i].index = boot_msrs[i].index;
		msrs->entries[ntmpl + i].data = boot_msrs[i].value;
	}
	msrs->nmsrs = ntmpl + ARRAY_SIZE(boot_msrs);
	r = ioctl(v->fd, KVM_SET_MSRS, msrs);
	if (r < 0)
		return -errno;
	/* KVM stops at the first MSR it refuses and returns how many it set. */
	if ((uint32_t)r != msrs->nmsrs) {
		snprintf(err, errlen, "System configuration error: Error configuring the vcpu for boot: Failed to "
			 "set MSRs: KVM refused MSR 0x%x on vcpu %u", msrs->entries[r].index, v->index);
		return -EINVAL;
	}
	return 0;
}

/* The guest's TSC rate, for CPUID's timing leaf: KVM answers per vCPU (a VM
 * may scale it). 0 when KVM cannot tell (an unstable host TSC): the guest
 * then calibrates, as it would without the leaf. */
static uint32_t vcpu_tsc_khz(struct vcpu *v)
{
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

	if (khz <= 0) {
		log_warn("vcpu %u: KVM_GET_TSC_KHZ failed (%s): CPUID leaf 0x40000010 reports an unknown TSC rate",
			 v->index, khz < 0 ? strerror(errno) : "rate 0");
		return 0;
	}
	if (v->index == 0)
		log_debug("guest TSC rate: %d kHz", khz);
	return (uint32_t)khz;
}

static int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *supported, unsigned vcpu_count, bool smt)
{
	struct cpuid_topology topo = { .cpu_index = v->index, .vcpu_count = vcpu_count, .smt = smt };
	_cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;
	int r = cpuid_normalize(supported, &topo, vcpu_tsc_khz(v), &cpuid);

	if (r < 0)
		return r;
	return ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
}

static int vcpu_set_regs(struct vcpu *v, uint64_t entry)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;

	entry_fpu(&fpu);
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	entry_regs(&regs, entry);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	entry_sregs(&sregs);
	return ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ? -errno : 0;
}

static void lapic_set_mode(struct kvm_lapic_state *lapic, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, lapic->regs + reg, sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(lapic->regs + reg, &v, sizeof(v));
}

static int vcpu_set_lint(struct vcpu *v)
{
	struct kvm_lapic_state lapic;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lapic_set_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	return ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int vcpu_configure(struct vcpu *v, const struct kvm_cpuid2 *supported, const struct cpu_config *tmpl,
		   unsigned vcpu_count, bool smt, uint64_t entry, char *err, size_t errlen)
{
	const char *step = "CPUID";
	int r = vcpu_set_cpuid(v, supported, vcpu_count, smt);

	/* CPUID first: the MSRs a template changes are read after it. */
	if (r >= 0) {
		step = "boot MSRs";
		err[0] = 0;
		r = vcpu_set_msrs(v, tmpl, err, errlen);
		if (r < 0 && err[0])
			return r;
	}
	if (r >= 0) {
		step = "registers";
		r = vcpu_set_regs(v, entry);
	}
	if (r >= 0) {
		step = "LAPIC LINT0/LINT1";
		r = vcpu_set_lint(v);
	}
	if (r < 0)
		snprintf(err, errlen, "vcpu %u: cannot set %s: %s", v->index, step, strerror(-r));
	return r;
}

/* Logs what a failed vCPU was doing: enough to find a boot bug. */
static void vcpu_dump(struct vcpu *v, const char *what)
{
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };

	ioctl(v->fd, KVM_GET_REGS, &regs);
	ioctl(v->fd, KVM_GET_SREGS, &sregs);
	log_error("vcpu %u: %s: RIP=0x%llx RSP=0x%llx RFLAGS=0x%llx CR0=0x%llx CR3=0x%llx CR4=0x%llx "
		  "EFER=0x%llx CS=0x%x",
		  v->index, what, regs.rip, regs.rsp, regs.rflags, sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer,
		  sregs.cs.selector);
}

static uint64_t vcpu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no exit from the vCPU's own budget */
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void vcpu_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint64_t t0 = vcpu_now_us();

	/* A string instruction (rep outsb) carries count items of size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (out) {
			metrics_local_inc(v->m.exit_io_out);
			bus_write(v->ctl->pio_bus, run->io.port, data, run->io.size);
		} else {
			metrics_local_inc(v->m.exit_io_in);
			if (bus_read(v->ctl->pio_bus, run->io.port, data, run->io.size) < 0)
				memset(data, 0xff, run->io.size);
		}
	}
	metrics_record_latency(out ? &v->m.exit_io_out_agg__min_us : &v->m.exit_io_in_agg__min_us,
			       vcpu_now_us() - t0);
}

/* An MMIO exit on a RAM address: KVM found no host page behind guest RAM.
 * With 2M pages that is an exhausted hugetlb pool, after a snapshot's load a
 * memory file that shrank (measured under nested
 * PVM: the guest's touch came back as KVM_EXIT_MMIO, not as SIGBUS).
 * Dropping the write or reading 0xff would corrupt the guest silently, so
 * the VM ends with the SIGBUS exit code, as ember's own touch would. */
static bool vcpu_mmio_in_ram(struct vcpu *v)
{
	const struct kvm_run *run = v->run;

	if (!v->ctl->mem || !guest_memory_contains(v->ctl->mem, run->mmio.phys_addr, 1))
		return false;
	metrics_local_inc(v->m.failures);
	log_error("vcpu %u: guest memory at 0x%llx could not be backed (%s)", v->index, run->mmio.phys_addr,
		  v->ctl->mem->backing == GUEST_BACKING_HUGETLB_2M ? "huge page pool exhausted?"
								   : "a snapshot's memory file truncated?");
	return true;
}

/* Returns -1 to keep running, else the VM's exit code. */
static int vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;
	uint64_t t0 = vcpu_now_us();

	if (vcpu_mmio_in_ram(v))
		return EXIT_CODE_SIGBUS;
	if (run->mmio.is_write) {
		metrics_local_inc(v->m.exit_mmio_write);
		if (bus_write(v->ctl->mmio_bus, run->mmio.phys_addr, run->mmio.data, len) < 0)
			log_rl(LOG_DEBUG, "vcpu %u: write to unclaimed MMIO 0x%llx", v->index,
			       run->mmio.phys_addr);
		metrics_record_latency(&v->m.exit_mmio_write_agg__min_us, vcpu_now_us() - t0);
	} else {
		metrics_local_inc(v->m.exit_mmio_read);
		if (bus_read(v->ctl->mmio_bus, run->mmio.phys_addr, run->mmio.data, len) < 0)
			memset(run->mmio.data, 0xff, len);
		metrics_record_latency(&v->m.exit_mmio_read_agg__min_us, vcpu_now_us() - t0);
	}
	return -1;
}

/* Handles one exit. Returns -1 to keep running, else the VM's exit code. */
static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_io(v);
		return -1;
	case KVM_EXIT_MMIO:
		return vcpu_mmio(v);
	case KVM_EXIT_HLT: /* the in-kernel irqchip handles HLT; harmless if it ever exits */
		return -1;
	case KVM_EXIT_IOAPIC_EOI: /* split irqchip: a level vector's EOI (irqchip/split.h) */
		if (v->ctl->ioapic_eoi)
			v->ctl->ioapic_eoi(v->ctl->ioapic, run->eoi.vector);
		return -1;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ||
		    run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			return EXIT_CODE_OK;
		snprintf(what, sizeof(what), "system event %u", run->system_event.type);
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(what, sizeof(what), "guest triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error, suberror %u", run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u", run->exit_reason);
		break;
	}
	metrics_local_inc(v->m.failures);
	vcpu_dump(v, what);
	return EXIT_CODE_GENERIC_ERROR;
}

int vcpu_complete_exit(struct vcpu *v)
{
	int r;

	/* KVM completes a pending port read or MMIO read (the value goes into
	 * the guest's register, RIP moves past the instruction) at the start of
	 * KVM_RUN, before it looks at immediate_exit (api.rst, immediate_exit). */
	v->run->immediate_exit = 1;
	r = ioctl(v->fd, KVM_RUN, 0);
	v->run->immediate_exit = 0;
	if (r == 0 || errno == EINTR || errno == EAGAIN)
		return 0;
	return -errno;
}

/* Before parking for a pause: the exit just handled is completed (a paused
 * guest is saved with its read done and its write not repeated), and the
 * guest's kvm-clock is told it was stopped (KVM_KVMCLOCK_CTRL), so its soft
 * lockup watchdog does not fire on resume. A guest that has not set up a
 * kvm-clock makes KVM refuse that: counted, harmless. */
static void vcpu_before_park(struct vcpu *v)
{
	if (!v->ran)
		return;
	if (vcpu_complete_exit(v) < 0)
		log_rl(LOG_WARNING, "vcpu %u: completing the pending exit before a pause failed: %m", v->index);
	if (ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0) < 0)
		metrics_local_inc(v->m.kvmclock_ctrl_fails);
}

/* Parks while paused. Returns false when the thread must stop. */
static bool vcpu_wait_runnable(struct vcpu *v)
{
	struct vcpu_control *ctl = v->ctl;
	bool stop, pause;

	pthread_mutex_lock(&ctl->lock);
	pause = ctl->pause && !ctl->stop;
	pthread_mutex_unlock(&ctl->lock);
	if (pause)
		vcpu_before_park(v);
	pthread_mutex_lock(&ctl->lock);
	if (ctl->pause && !ctl->stop) {
		ctl->parked++;
		v->parked = true;
		pthread_cond_broadcast(&ctl->cond);
		while (ctl->pause && !ctl->stop)
			pthread_cond_wait(&ctl->cond, &ctl->lock);
		ctl->parked--;
		v->parked = false;
	}
	stop = ctl->stop;
	pthread_mutex_unlock(&ctl->lock);
	return !stop;
}

static int vcpu_loop(struct vcpu *v)
{
	for (;;) {
		int code;

		if (!vcpu_wait_runnable(v))
			return -1;
		v->ran = true;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			metrics_local_inc(v->m.failures);
			log_error("vcpu %u: KVM_RUN failed: %m", v->index);
			return EXIT_CODE_GENERIC_ERROR;
		}
		code = vcpu_handle_exit(v);
		if (code >= 0)
			return code;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	sigset_t set;
	int code;

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	log_set_thread_name(name);
	snprintf(name, sizeof(name), THREAD_COMM_VCPU_FMT, v->index);
	(void)thread_set_comm(name); /* cannot fail for a string */
	/* Register the kick target before the first look at the control state. */
	signals_set_kick_target(&v->run->immediate_exit);
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	/* The vcpu role goes on before the first KVM_RUN, i.e. before any guest exit. */
	code = seccomp_install_role(SECCOMP_ROLE_VCPU);
	if (code < 0)
		log_error("vcpu %u: cannot install the vcpu seccomp filter: %s", v->index, strerror(-code));
	code = code < 0 ? EXIT_CODE_GENERIC_ERROR : vcpu_loop(v);
	if (code >= 0)
		v->ctl->request_exit(v->ctl->ctx, code);
	pthread_mutex_lock(&v->ctl->lock);
	v->ctl->exited++;
	v->exited = true;
	pthread_cond_broadcast(&v->ctl->cond);
	pthread_mutex_unlock(&v->ctl->lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t all, old;
	int r;

	/* The thread starts with asynchronous signals blocked: SIGINT, SIGTERM and
	 * the like belong to the vmm thread. Synchronous faults stay deliverable. */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGSYS);
	sigdelset(&all, SIGXFSZ);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		v->thread_started = true;
	return r;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->thread_started)
		pthread_kill(v->thread, SIG_VCPU_KICK);
}

void vcpu_join(struct vcpu *v)
{
	if (v->thread_started) {
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}
