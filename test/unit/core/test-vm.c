/* The VM lifecycle against real KVM, with tiny guests generated here:
 * a guest that resets through the i8042, one that spins, one that faults.
 * Skips when /dev/kvm is not usable. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/vm_config.h"
#include "core/loop.h"
#include "core/signals.h"
#include "core/vm.h"
#include "devices/manager.h"
#include "exit_code.h"
#include "log.h"
#include "seccomp/install.h"

#define GUEST_BASE 0x100000u

/* out to COM2 (a sink, so nothing reaches the TAP stream), then reset. */
static const uint8_t guest_reset[] = {
	0x66, 0xba, 0xf8, 0x02, /* mov dx, 0x2f8 */
	0xb0, 0x4b,             /* mov al, 'K' */
	0xee,                   /* out dx, al */
	0xb0, 0xfe,             /* mov al, 0xfe */
	0xe6, 0x64,             /* out 0x64, al: i8042 reset */
	0xeb, 0xfe,             /* jmp . */
};
static const uint8_t guest_spin[] = { 0xeb, 0xfe };
static const uint8_t guest_fault[] = { 0x0f, 0x0b }; /* ud2 with an empty IDT: triple fault */

struct run {
	struct event_loop *loop;
	struct vm_config cfg;
	struct vm *vm;
	struct device_manager *devices; /* as ember passes it in: serial, i8042, ... */
	int exit_code;
	bool exited;
	char path[64];
};

static int write_elf(char *path, const uint8_t *code, size_t len)
{
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT, .e_entry = GUEST_BASE,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1,
	};
	Elf64_Phdr ph = {
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000, .p_vaddr = GUEST_BASE,
		.p_paddr = GUEST_BASE, .p_filesz = len, .p_memsz = len, .p_align = 0x1000,
	};
	uint8_t file[0x1000 + 64] = { 0 };
	int fd;

	memcpy(file, &eh, sizeof(eh));
	memcpy(file + sizeof(eh), &ph, sizeof(ph));
	memcpy(file + 0x1000, code, len);
	snprintf(path, 64, "/tmp/ember-test-vm-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, file, 0x1000 + len), (ssize_t)(0x1000 + len));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void on_exit_hook(void *ctx, int code)
{
	struct run *r = ctx;

	r->exit_code = code;
	r->exited = true;
	loop_stop(r->loop);
}

static void run_create(struct run *r, const uint8_t *code, size_t len, unsigned vcpus)
{
	struct vm_hooks hooks = { .on_exit = on_exit_hook, .ctx = r };
	struct vm_error err;

	memset(r, 0, sizeof(*r));
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		skip();
	assert_int_equal(loop_create(&r->loop), 0);
	assert_int_equal(devices_create(&r->devices), 0);
	hooks.devices = devices_vm_hooks(r->devices);
	vm_config_init(&r->cfg);
	r->cfg.machine.vcpu_count = (uint8_t)vcpus;
	r->cfg.machine.mem_size_mib = 32;
	r->cfg.boot.kernel_fd = write_elf(r->path, code, len);
	r->cfg.boot.configured = true;
	if (vm_create(&r->cfg, r->loop, &hooks, &r->vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	assert_int_equal(vm_get_state(r->vm), VM_NOT_STARTED);
}

/* Runs the loop until the guest ends the VM; a hang is caught by the runner's time limit. */
static void run_until_exit(struct run *r)
{
	while (!r->exited)
		assert_true(loop_run_once(r->loop, -1) >= 0);
}

static void run_destroy(struct run *r)
{
	r->vm = vm_destroy(r->vm);
	r->devices = devices_free(r->devices);
	r->loop = loop_destroy(r->loop);
	vm_config_clear(&r->cfg);
	unlink(r->path);
}

static int group_setup(void **state)
{
	/* The lifecycle is under test here; seccomp.bats covers the filters. */
	seccomp_filters_disable();
	log_set_fd(STDERR_FILENO);
	return signals_install() < 0;
}

static void test_reset_exits_zero(void **state)
{
	struct run r;

	run_create(&r, guest_reset, sizeof(guest_reset), 1);
	assert_int_equal(vm_pause(r.vm, NULL, 0), -EINVAL); /* not started */
	assert_int_equal(vm_start(r.vm), 0);
	assert_int_equal(vm_start(r.vm), -EALREADY);
	run_until_exit(&r);
	assert_int_equal(r.exit_code, EXIT_CODE_OK);
	assert_int_equal(vm_exit_code(r.vm), EXIT_CODE_OK);
	run_destroy(&r);
}

static void test_triple_fault_exits_one(void **state)
{
	struct run r;

	run_create(&r, guest_fault, sizeof(guest_fault), 2);
	assert_int_equal(vm_start(r.vm), 0);
	run_until_exit(&r); /* the AP waiting for SIPI must not keep ember alive */
	assert_int_equal(r.exit_code, EXIT_CODE_GENERIC_ERROR);
	run_destroy(&r);
}

static void test_pause_resume_spinning_guest(void **state)
{
	struct run r;

	run_create(&r, guest_spin, sizeof(guest_spin), 2);
	assert_int_equal(vm_start(r.vm), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vm_pause(r.vm, NULL, 0), 0);
		assert_int_equal(vm_get_state(r.vm), VM_PAUSED);
		assert_int_equal(vm_pause(r.vm, NULL, 0), 0); /* idempotent */
		assert_int_equal(vm_resume(r.vm), 0);
		assert_int_equal(vm_get_state(r.vm), VM_RUNNING);
		assert_int_equal(vm_resume(r.vm), 0);
	}
	assert_int_equal(devices_ctrl_alt_del(r.devices), 0); /* SendCtrlAltDel goes through the manager */
	assert_int_equal(vm_exit_code(r.vm), -1);
	run_destroy(&r); /* stops and joins vCPUs that never exit on their own */
}

static void test_destroy_while_paused(void **state)
{
	struct run r;

	run_create(&r, guest_spin, sizeof(guest_spin), 1);
	assert_int_equal(vm_start(r.vm), 0);
	assert_int_equal(vm_pause(r.vm, NULL, 0), 0);
	run_destroy(&r);
}

static void test_destroy_never_started(void **state)
{
	struct run r;

	run_create(&r, guest_spin, sizeof(guest_spin), 4);
	run_destroy(&r);
}

static void test_kernel_that_does_not_fit(void **state)
{
	struct run r = { 0 };
	struct vm_hooks hooks = { 0 };
	struct vm_error err;
	struct vm *vm = NULL;
	uint8_t big[64] = { 0 };

	if (access("/dev/kvm", R_OK | W_OK) < 0)
		skip();
	assert_int_equal(loop_create(&r.loop), 0);
	vm_config_init(&r.cfg);
	r.cfg.machine.mem_size_mib = 1; /* the kernel at 1 MiB is past the end of RAM */
	r.cfg.boot.kernel_fd = write_elf(r.path, big, sizeof(big));
	r.cfg.boot.configured = true;
	assert_true(vm_create(&r.cfg, r.loop, &hooks, &vm, &err) < 0);
	assert_true(err.config);
	assert_non_null(strstr(err.msg, "Cannot load kernel"));
	assert_null(vm);
	run_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_exits_zero),
		cmocka_unit_test(test_triple_fault_exits_one),
		cmocka_unit_test(test_pause_resume_spinning_guest),
		cmocka_unit_test(test_destroy_while_paused),
		cmocka_unit_test(test_destroy_never_started),
		cmocka_unit_test(test_kernel_that_does_not_fit),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
