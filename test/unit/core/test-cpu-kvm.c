/* CPU templates on a real KVM: vCPUs built by ember's own code (kvm_open,
 * cpu_template_apply_cpuid, vcpu_create, vcpu_configure), read back with
 * KVM_GET_CPUID2 and KVM_GET_MSRS. Skips without a usable /dev/kvm.
 *
 * IA32_ARCH_CAPABILITIES (0x10a) is CPUID-dependent: KVM >= 6.13 reads 0
 * for it on a vCPU whose CPUID does not list ARCH_CAPABILITIES yet. A
 * template's `x` bits must keep the value KVM reports once the CPUID is set,
 * which fails if ember reads the MSR before KVM_SET_CPUID2. Where KVM
 * refuses host writes to the MSR (kvm_pvm does), the refusal must be
 * InstanceStart's named error; the value checks then skip, saying why.
 *
 * The order itself is checked on any host: the test is linked with
 * -Wl,--wrap=ioctl, and every KVM_SET_CPUID2 and KVM_GET_MSRS ember's code
 * issues is recorded (then passed to the real ioctl). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/cpu_config.h"
#include "core/cpu_template.h"
#include "core/cpuid.h"
#include "core/kvm.h"
#include "core/vcpu.h"

#define MSR_ARCH_CAPABILITIES 0x10au

/* ---- the ioctl recorder ---- */
int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

static struct {
	int fd;
	unsigned long req;
} calls[4096];
static unsigned ncalls;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((req == KVM_SET_CPUID2 || req == KVM_GET_MSRS || req == KVM_SET_MSRS) && ncalls < 4096)
		calls[ncalls++] = (typeof(calls[0])){ fd, req };
	return __real_ioctl(fd, req, arg);
}

/* The position of the first call of req on fd, or -1. */
static int first_call(int fd, unsigned long req)
{
	for (unsigned i = 0; i < ncalls; i++)
		if (calls[i].fd == fd && calls[i].req == req)
			return (int)i;
	return -1;
}
#define FB_CLEAR (1ull << 17)

struct fixture {
	struct kvm kvm;
	int vm;
	struct vcpu_control ctl;
	struct vcpu *v[4];
	unsigned n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (access("/dev/kvm", R_OK | W_OK) < 0 || kvm_open(&f->kvm, err, sizeof(err)) < 0) {
		free(f);
		*state = NULL;
		return 0;
	}
	f->vm = ioctl(f->kvm.fd, KVM_CREATE_VM, 0);
	assert_true(f->vm >= 0);
	assert_int_equal(ioctl(f->vm, KVM_CREATE_IRQCHIP, 0), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	for (unsigned i = 0; i < f->n; i++)
		vcpu_destroy(f->v[i]);
	close(f->vm);
	kvm_close(&f->kvm);
	free(f);
	return 0;
}

static struct fixture *need_kvm(void **state)
{
	if (!*state) {
		print_message("# skip: no usable /dev/kvm\n");
		skip();
	}
	return *state;
}

/* A vCPU configured by ember with tmpl (NULL: none); its error, if any, in err. */
static int build_vcpu(struct fixture *f, const struct cpu_config *tmpl, struct vcpu **ret, char *err, size_t errlen)
{
	struct kvm_cpuid2 *sup = NULL;
	int r;

	assert_true(f->n < 4);
	assert_int_equal(cpuid_get_supported(f->kvm.fd, &sup), 0);
	if (tmpl)
		assert_int_equal(cpu_template_apply_cpuid(sup, tmpl, err, errlen), 0);
	assert_int_equal(vcpu_create(f->vm, f->n, f->kvm.run_size, &f->ctl, &f->v[f->n]), 0);
	*ret = f->v[f->n++];
	err[0] = 0;
	r = vcpu_configure(*ret, sup, tmpl, 4, false, 0x1000000, err, errlen);
	free(sup);
	return r;
}

static uint64_t read_msr(int fd, uint32_t index)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index };

	assert_int_equal(ioctl(fd, KVM_GET_MSRS, &m), 1);
	return m.e.data;
}

/* Whether KVM takes a host write of `value` to the MSR on this vCPU (one
 * whose CPUID is set), restoring nothing: used on a scratch vCPU only. */
static bool kvm_accepts_msr_write(int fd, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index, .e.data = value };

	return ioctl(fd, KVM_SET_MSRS, &m) == 1;
}

/* KVM's value of 0x10a for a vCPU with ember's CPUID, and whether KVM lets
 * the host write it here. */
static uint64_t kvm_reference(struct fixture *f, bool *ret_writable)
{
	struct vcpu *ref;
	char err[512];
	uint64_t v;

	assert_int_equal(build_vcpu(f, NULL, &ref, err, sizeof(err)), 0);
	v = read_msr(ref->fd, MSR_ARCH_CAPABILITIES);
	*ret_writable = kvm_accepts_msr_write(ref->fd, MSR_ARCH_CAPABILITIES, v | FB_CLEAR) &&
			(read_msr(ref->fd, MSR_ARCH_CAPABILITIES) & FB_CLEAR);
	return v;
}

/* The refusal, where KVM refuses the MSR: InstanceStart's named error. */
static void expect_refusal_and_skip(int r, const char *err)
{
	assert_int_equal(r, -EINVAL);
	if (!strstr(err, "Failed to set MSRs: KVM refused MSR 0x10a on vcpu"))
		fail_msg("unexpected error: %s", err);
	print_message("# skip: this KVM refuses host writes to IA32_ARCH_CAPABILITIES (kvm_pvm does); ember "
		      "refused with: %s\n", err);
	skip();
}

/* A template leaf's bits reach the vCPU: KVM_GET_CPUID2 shows them. */
static void test_cpuid_template_reaches_vcpu(void **state)
{
	struct fixture *f = need_kvm(state);
	struct cpu_config *t = calloc(1, sizeof(*t));
	struct kvm_cpuid2 *got = cpuid_alloc();
	struct kvm_cpuid_entry2 *e;
	struct vcpu *v;
	char err[512];

	/* 0x80000008 EAX[7:0] (physical address bits) forced to 0x27 = 39; and
	 * the T2 family's leaf 0xd.1 (XSAVEC, XGETBV1, XSAVES off): KVM holds
	 * it, except kvm_pvm, which puts the host's leaf 0xd back at
	 * KVM_SET_CPUID2 (measured: KVM_GET_CPUID2 and the guest both show the
	 * host's bits), as it does leaves 1 and 7. */
	t->nleaves = 2;
	t->leaves[0] = (struct cpuid_leaf_modifier){ .leaf = 0x80000008, .nmods = 1,
						     .mods = { { CPUID_EAX, { 0xffu, 0x27u } } } };
	t->leaves[1] = (struct cpuid_leaf_modifier){ .leaf = 0xd, .subleaf = 1,
						     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .nmods = 1,
						     .mods = { { CPUID_EAX, { 0xeu, 0x0u } } } };
	assert_int_equal(build_vcpu(f, t, &v, err, sizeof(err)), 0);
	assert_int_equal(ioctl(v->fd, KVM_GET_CPUID2, got), 0);
	e = cpuid_find(got, 0x80000008, 0);
	assert_non_null(e);
	assert_int_equal(e->eax & 0xff, 0x27);
	e = cpuid_find(got, 0xd, 1);
	if (e && access("/sys/module/kvm_pvm", F_OK) != 0)
		assert_int_equal(e->eax & 0xe, 0);
	else if (e && (e->eax & 0xe))
		print_message("# kvm_pvm: leaf 0xd.1 EAX is the host's 0x%x after KVM_SET_CPUID2\n", e->eax);
	free(got);
	free(t);
}

/* x bits keep KVM's value, 0/1 bits are forced: bit 17 (FB_CLEAR) to 1,
 * bit 0 to 0. */
static void test_custom_msr_x_bits(void **state)
{
	struct fixture *f = need_kvm(state);
	struct cpu_config *t = calloc(1, sizeof(*t));
	bool writable;
	uint64_t ref = kvm_reference(f, &writable), got, filter = FB_CLEAR | 1;
	struct vcpu *v;
	char err[512];
	int r;

	print_message("# KVM's IA32_ARCH_CAPABILITIES after CPUID: %#llx\n", (unsigned long long)ref);
	t->nmsrs = 1;
	t->msrs[0] = (struct msr_modifier){ MSR_ARCH_CAPABILITIES, { filter, FB_CLEAR } };
	r = build_vcpu(f, t, &v, err, sizeof(err));
	if (!writable) {
		free(t); /* skip() does not return */
		expect_refusal_and_skip(r, err);
	}
	assert_int_equal(r, 0);
	got = read_msr(v->fd, MSR_ARCH_CAPABILITIES);
	assert_int_equal(got & ~filter, ref & ~filter);
	assert_int_equal(got & filter, FB_CLEAR);
	free(t);
}

/* T2S forces all 64 bits of 0x10a, FB_CLEAR among them. */
static void test_t2s_sets_fb_clear(void **state)
{
	struct fixture *f = need_kvm(state);
	struct cpu_config *t = NULL;
	bool writable;
	struct vcpu *v;
	char err[512];
	int r;

	kvm_reference(f, &writable);
	assert_int_equal(cpu_template_static(CPU_TEMPLATE_T2S, &t), 0);
	r = build_vcpu(f, t, &v, err, sizeof(err));
	if (!writable) {
		free(t); /* skip() does not return */
		expect_refusal_and_skip(r, err);
	}
	assert_int_equal(r, 0);
	assert_true(read_msr(v->fd, MSR_ARCH_CAPABILITIES) == t->msrs[0].bitmap.value);
	assert_true(read_msr(v->fd, MSR_ARCH_CAPABILITIES) & FB_CLEAR);
	free(t);
}

/* On each vCPU, ember reads a template's MSRs only after KVM_SET_CPUID2, and
 * writes them after reading: whatever this KVM answers for the MSR. */
static void test_msrs_read_after_cpuid(void **state)
{
	struct fixture *f = need_kvm(state);
	struct cpu_config *t = NULL;
	struct vcpu *v[2];
	char err[512];

	assert_int_equal(cpu_template_static(CPU_TEMPLATE_T2S, &t), 0);
	for (unsigned i = 0; i < 2; i++) {
		int set_cpuid, get_msrs, set_msrs;

		ncalls = 0;
		build_vcpu(f, t, &v[i], err, sizeof(err)); /* may fail at KVM_SET_MSRS (PVM): the order is what counts */
		set_cpuid = first_call(v[i]->fd, KVM_SET_CPUID2);
		get_msrs = first_call(v[i]->fd, KVM_GET_MSRS);
		set_msrs = first_call(v[i]->fd, KVM_SET_MSRS);
		print_message("# vcpu %u: SET_CPUID2 #%d, GET_MSRS #%d, SET_MSRS #%d\n", i, set_cpuid, get_msrs, set_msrs);
		assert_true(set_cpuid >= 0);
		assert_true(get_msrs > set_cpuid);
		assert_true(set_msrs > get_msrs);
	}
	free(t);
}

/* An MSR KVM does not know: named by its address, as Firecracker does. */
static void test_unknown_msr_named(void **state)
{
	struct fixture *f = need_kvm(state);
	struct cpu_config *t = calloc(1, sizeof(*t));
	struct vcpu *v;
	char err[512];

	t->nmsrs = 1;
	t->msrs[0] = (struct msr_modifier){ 0x12345, { 1, 1 } };
	assert_int_equal(build_vcpu(f, t, &v, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "System configuration error: Failed to create guest config: Template changes an MSR "
				 "entry not supported by KVM: Register Address: 12345");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpuid_template_reaches_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_custom_msr_x_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_t2s_sets_fb_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_msr_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msrs_read_after_cpuid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
