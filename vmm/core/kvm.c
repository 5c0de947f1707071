#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

int kvm_check_extension(const struct kvm *kvm, int cap)
{
	int r = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int kvm_check(struct kvm *kvm, char *err, size_t errlen)
{
	int r = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);

	if (r != KVM_API_VERSION) {
		snprintf(err, errlen, "KVM API version is %d, ember needs %d", r, KVM_API_VERSION);
		return -EPROTO;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_required_caps); i++) {
		if (!kvm_check_extension(kvm, kvm_required_caps[i].cap)) {
			snprintf(err, errlen, "KVM lacks the required capability %s", kvm_required_caps[i].name);
			return -EOPNOTSUPP;
		}
	}
	r = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed: %m");
		return r < 0 ? -errno : -EPROTO;
	}
	kvm->run_size = (size_t)r;
	return 0;
}

int kvm_open(struct kvm *ret, char *err, size_t errlen)
{
	struct kvm kvm = { .fd = open("/dev/kvm", O_RDWR | O_CLOEXEC) };
	int r;

	if (kvm.fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /dev/kvm: %m");
		return r;
	}
	r = kvm_check(&kvm, err, errlen);
	if (r < 0) {
		close(kvm.fd);
		return r;
	}
	*ret = kvm;
	return 0;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd > 0)
		close(kvm->fd);
	kvm->fd = -1;
}
