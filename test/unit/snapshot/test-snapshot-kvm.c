/* Against real KVM: a vCPU paused right after a port-read exit must be saved
 * with the read done. The test stops a vCPU in an `in al, 0x80` exit, gives
 * the value as the vCPU thread would, and checks that vcpu_complete_exit()
 * (what a vCPU does before it parks) puts it in RAX and moves RIP past the
 * instruction, then that the saved sections carry exactly those registers
 * and restore into a fresh vCPU. Skips without /dev/kvm. */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/boot/entry.h"
#include "core/cpuid.h"
#include "core/kvm.h"
#include "core/memory.h"
#include "core/vcpu.h"
#include "snapshot/format.h"
#include "snapshot/kvm_state.h"

#define ENTRY 0x100000u
#define PORT 0x80u
#define VALUE 0x5au

/* in al, 0x80; jmp . */
static const uint8_t guest[] = { 0xe4, PORT, 0xeb, 0xfe };

struct fixture {
	struct kvm kvm;
	int vm_fd;
	struct guest_memory *mem;
	struct vcpu_control ctl;
	struct vcpu *v;
};

static void fixture_vm(struct fixture *f)
{
	char err[256];
	struct kvm_userspace_memory_region region = { 0 };

	if (access("/dev/kvm", R_OK | W_OK) < 0)
		skip();
	assert_int_equal(kvm_open(&f->kvm, err, sizeof(err)), 0);
	f->vm_fd = ioctl(f->kvm.fd, KVM_CREATE_VM, 0);
	assert_true(f->vm_fd >= 0);
	assert_int_equal(ioctl(f->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul), 0);
	assert_int_equal(guest_memory_create(32ull << 20, &f->mem), 0);
	region.memory_size = f->mem->region[0].size;
	region.userspace_addr = (uintptr_t)f->mem->region[0].host;
	assert_int_equal(ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &region), 0);
	assert_int_equal(ioctl(f->vm_fd, KVM_CREATE_IRQCHIP, 0), 0);
	assert_int_equal(entry_write_tables(f->mem), 0);
	assert_int_equal(guest_memory_write(f->mem, ENTRY, guest, sizeof(guest)), 0);
}

static struct vcpu *fixture_vcpu(struct fixture *f, unsigned index, bool configure)
{
	struct kvm_cpuid2 *supported = NULL;
	struct vcpu *v = NULL;
	char err[256];

	assert_int_equal(vcpu_create(f->vm_fd, index, f->kvm.run_size, &f->ctl, &v), 0);
	if (configure) {
		assert_int_equal(cpuid_get_supported(f->kvm.fd, &supported), 0);
		if (vcpu_configure(v, supported, NULL, 1, false, ENTRY, err, sizeof(err)) < 0)
			fail_msg("vcpu_configure: %s", err);
		free(supported);
	}
	return v;
}

static void fixture_free(struct fixture *f)
{
	f->v = vcpu_destroy(f->v);
	if (f->vm_fd >= 0)
		close(f->vm_fd);
	f->mem = guest_memory_destroy(f->mem);
	kvm_close(&f->kvm);
}

/* Runs until the port read exits to user space and answers it there. */
static void run_to_port_read(struct vcpu *v)
{
	for (int i = 0; i < 100; i++) {
		assert_int_equal(ioctl(v->fd, KVM_RUN, 0), 0);
		if (v->run->exit_reason != KVM_EXIT_IO)
			continue;
		assert_int_equal(v->run->io.direction, KVM_EXIT_IO_IN);
		assert_int_equal(v->run->io.port, PORT);
		*((uint8_t *)v->run + v->run->io.data_offset) = VALUE;
		return;
	}
	fail_msg("no port-read exit");
}

static void test_port_read_completed_before_save(void **state)
{
	struct fixture f = { .vm_fd = -1 };
	struct kvm_regs regs;
	struct snap_writer w;
	struct snap_file file;
	const struct snap_section *s;
	char err[256];

	fixture_vm(&f);
	f.v = fixture_vcpu(&f, 0, true);
	run_to_port_read(f.v);
	/* The state a pause without the completion would save: the read lost. */
	assert_int_equal(ioctl(f.v->fd, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rip, ENTRY);
	assert_int_not_equal(regs.rax & 0xff, VALUE);

	assert_int_equal(vcpu_complete_exit(f.v), 0);
	assert_int_equal(ioctl(f.v->fd, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rax & 0xff, VALUE);
	assert_int_equal(regs.rip, ENTRY + 2);

	snap_writer_init(&w);
	if (snap_vcpu_save(f.kvm.fd, f.v->fd, 0, &w, err, sizeof(err)) < 0)
		fail_msg("snap_vcpu_save: %s", err);
	assert_int_equal(snap_writer_finish(&w), 0);
	assert_int_equal(snap_parse(w.buf, w.len, &file, err, sizeof(err)), 0);
	s = snap_find(&file, SNAP_SEC_VCPU_REGS, 0);
	assert_non_null(s);
	assert_int_equal(s->len, sizeof(regs));
	memcpy(&regs, s->data, sizeof(regs));
	assert_int_equal(regs.rax & 0xff, VALUE);
	assert_int_equal(regs.rip, ENTRY + 2);
	assert_non_null(snap_find(&file, SNAP_SEC_VCPU_MSRS, 0));
	assert_non_null(snap_find(&file, SNAP_SEC_VCPU_CPUID, 0));

	/* Into a fresh vCPU of the same VM: the registers come back. */
	{
		struct vcpu *v2 = fixture_vcpu(&f, 1, false);
		struct kvm_regs back;

		if (snap_vcpu_restore(v2->fd, 0, &file, err, sizeof(err)) < 0)
			fail_msg("snap_vcpu_restore: %s", err);
		assert_int_equal(ioctl(v2->fd, KVM_GET_REGS, &back), 0);
		assert_int_equal(back.rip, ENTRY + 2);
		assert_int_equal(back.rax & 0xff, VALUE);
		vcpu_destroy(v2);
	}
	snap_file_free(&file);
	snap_writer_free(&w);
	fixture_free(&f);
}

/* A TSC rate other than this host's is refused, naming both. */
static void test_other_tsc_refused(void **state)
{
	struct fixture f = { .vm_fd = -1 };
	struct snap_writer w;
	struct snap_file file;
	char err[256];
	uint32_t khz;

	fixture_vm(&f);
	f.v = fixture_vcpu(&f, 0, true);
	snap_writer_init(&w);
	assert_int_equal(snap_vcpu_save(f.kvm.fd, f.v->fd, 0, &w, err, sizeof(err)), 0);
	assert_int_equal(snap_writer_finish(&w), 0);
	assert_int_equal(snap_parse(w.buf, w.len, &file, err, sizeof(err)), 0);
	memcpy(&khz, snap_find(&file, SNAP_SEC_VCPU_TSC_KHZ, 0)->data, 4);
	khz += 1000;
	memcpy((uint8_t *)snap_find(&file, SNAP_SEC_VCPU_TSC_KHZ, 0)->data, &khz, 4);
	assert_int_equal(snap_vcpu_restore(f.v->fd, 0, &file, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "TSC frequency"));
	snap_file_free(&file);
	snap_writer_free(&w);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_read_completed_before_save),
		cmocka_unit_test(test_other_tsc_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
