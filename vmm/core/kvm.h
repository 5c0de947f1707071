/* /dev/kvm: the system fd, its API version and the capabilities ember needs.
 *
 * ember refuses to start on a KVM that lacks any capability in the required
 * list (kvm.c), naming the first one missing, rather than failing later in a
 * less obvious ioctl. */
#pragma once

#include <stddef.h>

struct kvm {
	int fd;            /* /dev/kvm, O_CLOEXEC */
	size_t run_size;   /* KVM_GET_VCPU_MMAP_SIZE */
};

/* Opens /dev/kvm, checks KVM_API_VERSION 12 and the required extensions.
 * Returns 0, -errno from open, -EPROTO for a wrong API version or
 * -EOPNOTSUPP for a missing capability; err names what failed. */
int kvm_open(struct kvm *ret, char *err, size_t errlen);
/* Closes the fd; accepts a zeroed or already closed struct. */
void kvm_close(struct kvm *kvm);
/* KVM_CHECK_EXTENSION on the system fd: > 0 when present, 0 when absent. */
int kvm_check_extension(const struct kvm *kvm, int cap);
