/* See ged.h. */
#include "ged.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

int ged_line_open(struct ged_line *l, int vm_fd, uint32_t gsi, char *why, size_t whylen)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };
	int r;

	l->gsi = gsi;
	l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->fd < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot create the eventfd of GSI %u: %s", gsi, strerror(-r));
		return r;
	}
	irqfd.fd = (uint32_t)l->fd;
	if (vm_fd >= 0 && ioctl(vm_fd, KVM_IRQFD, &irqfd) < 0) {
		r = -errno;
		snprintf(why, whylen, "KVM_IRQFD for GSI %u: %s", gsi, strerror(-r));
		ged_line_close(l);
		return r;
	}
	return 0;
}

int ged_line_pulse(const struct ged_line *l)
{
	uint64_t one = 1;
	ssize_t n = write(l->fd, &one, sizeof(one));

	return n == (ssize_t)sizeof(one) ? 0 : n < 0 ? -errno : -EIO;
}

void ged_line_close(struct ged_line *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
