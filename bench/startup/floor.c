/* bench/startup's floor: the least a KVM user can do to run a guest line.
 *
 * One VM, one memory slot the size of the other VMMs' guest RAM (mapped, not
 * touched beyond three pages), one vCPU entered directly in 64-bit mode, no
 * irqchip, no PIT, no devices. The guest does one port write and halts; the
 * floor prints its line on that exit and returns on the HLT exit, leaving
 * the VM to the kernel's exit-time fd release like any VMM that just exits.
 * With --stay it waits after the line instead (the memory figures).
 *
 * Usage: floor MEM_MIB [--stay]   (built by bench/startup/run) */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PML4 0x9000u
#define PDPT 0xa000u
#define PD 0xb000u
#define ENTRY 0x100000u

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* mov $0x3f8, %dx; mov $'\n', %al; out %al, %dx; hlt */
static const uint8_t code[] = { 0x66, 0xba, 0xf8, 0x03, 0xb0, 0x0a, 0xee, 0xf4 };

static void long_mode(int vcpu, uint8_t *mem)
{
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
				  .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3, .present = 1,
				  .s = 1, .db = 1, .g = 1 };
	struct kvm_regs regs = { .rip = ENTRY, .rflags = 2 };
	struct kvm_sregs sregs;
	uint64_t *pml4 = (uint64_t *)(mem + PML4), *pdpt = (uint64_t *)(mem + PDPT), *pd = (uint64_t *)(mem + PD);

	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	pd[0] = 0x83; /* the first 2 MiB, present, writable, large */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.cr3 = PML4;
	sregs.cr4 = 1u << 5;                 /* PAE */
	sregs.cr0 = 0x80000001u;             /* PG, PE */
	sregs.efer = (1u << 8) | (1u << 10); /* LME, LMA */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

int main(int argc, char **argv)
{
	size_t size = (size_t)(argc > 1 ? atoi(argv[1]) : 128) << 20;
	int stay = argc > 2 && strcmp(argv[2], "--stay") == 0;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu;
	struct kvm_userspace_memory_region region = { .memory_size = size };
	struct kvm_run *run;
	uint8_t *mem;

	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	memcpy(mem + ENTRY, code, sizeof(code));
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	long_mode(vcpu, mem);
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x3f8) {
			static const char line[] = "startup guest\n";

			if (write(1, line, sizeof(line) - 1) < 0)
				die("write");
		} else if (run->exit_reason == KVM_EXIT_HLT) {
			if (stay)
				pause();
			return 0;
		} else {
			fprintf(stderr, "floor: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}
}
