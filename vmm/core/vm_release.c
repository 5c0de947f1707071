#include "vm_release.h"

#include <liburing.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* A ring of one entry that never submits: it exists to own vm_fd in its
 * fixed-file table (IORING_REGISTER_FILES takes a reference of its own),
 * so closing vm_fd here drops only this process's reference. */
static int vm_release_ring(int vm_fd)
{
	struct io_uring_params p;
	int ring, r;

	memset(&p, 0, sizeof(p));
	ring = io_uring_setup(1, &p); /* its fd is O_CLOEXEC */
	if (ring < 0)
		return ring;
	r = io_uring_register(ring, IORING_REGISTER_FILES, &vm_fd, 1);
	if (r < 0) {
		close(ring);
		return r;
	}
	return ring;
}

void vm_release_later(int vm_fd)
{
	int ring;

	ring = vm_release_ring(vm_fd);
	if (ring < 0)
		log_debug("VM fd released here: io_uring unavailable (%s)", strerror(-ring));
	close(vm_fd);
	/* The ring's release queues its teardown on io_uring's workqueue and
	 * returns: that worker drops the last reference to the VM. */
	if (ring >= 0)
		close(ring);
}
