/* The Uffd memory backend: see uffd.h. */
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

#define UFFD_PREFIX_CREATE "Failed to UFFD object: "
#define UFFD_PREFIX_REGISTER "Failed to register memory address range with the userfaultfd object: "
#define UFFD_PREFIX_CONNECT "Failed to connect to UDS Unix stream: "
#define UFFD_PREFIX_SEND "Failed to sends file descriptor: "

/* /dev/userfaultfd first (Linux 6.1+; the jailer creates it in the jail,
 * where its mode, not a capability, decides), then the syscall. Not
 * UFFD_USER_MODE_ONLY: the faults to serve are KVM's, taken in the kernel
 * on the guest's behalf. Nonblocking and close-on-exec, as Firecracker's. */
static int uffd_open(void)
{
	int flags = O_CLOEXEC | O_NONBLOCK, fd = -1;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	fd = (int)syscall(SYS_userfaultfd, flags);
	return fd < 0 ? -errno : fd;
}

/* The API handshake, asking for UFFD_FEATURE_EVENT_REMOVE: a balloon's
 * MADV_DONTNEED then tells the page server which ranges it must zero
 * rather than copy again (Firecracker asks for it unconditionally). */
static int uffd_api(int fd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };

	return ioctl(fd, UFFDIO_API, &api) < 0 ? -errno : 0;
}

static int uffd_register(int fd, const struct guest_memory *m)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)m->region[i].host, .len = m->region[i].size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0)
			return -errno;
		/* The page server fills with UFFDIO_COPY: hugetlb ranges have it too. */
		if (!(reg.ioctls & (1ull << _UFFDIO_COPY)))
			return -EOPNOTSUPP;
	}
	return 0;
}

int snap_uffd_json(const struct guest_memory *m, const uint64_t offset[GUEST_MAX_REGIONS], char *buf, size_t size)
{
	size_t len = 0;
	int n;

	for (unsigned i = 0; i < m->nr_regions; i++) {
		n = snprintf(buf + len, size - len,
			     "%s{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64 ",\"offset\":%" PRIu64
			     ",\"page_size\":%" PRIu64 ",\"page_size_kib\":%" PRIu64 "}",
			     i ? "," : "[", (uint64_t)(uintptr_t)m->region[i].host, m->region[i].size, offset[i],
			     m->page_size, m->page_size);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	if (len + 2 > size)
		return -ENOSPC;
	buf[len++] = ']';
	buf[len] = 0;
	return (int)len;
}

static int uffd_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* One sendmsg carries the JSON and the uffd, as Firecracker's
 * send_with_fd; a few hundred bytes on a fresh stream socket are never
 * cut short (a short send is refused rather than followed by a second). */
static int uffd_send(int sock, int uffd, const char *json, size_t len)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)json, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

static int uffd_fail(int r, const char *what, const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s%s (os error %d)%s%s", what, strerror(-r), -r, path ? " " : "", path ? path : "");
	return r;
}

int snap_uffd_memory(uint64_t ram_size, enum guest_backing backing, const uint64_t offset[GUEST_MAX_REGIONS],
		     const char *socket_path, struct guest_memory **ret, char *err, size_t errlen)
{
	struct guest_memory *m = NULL;
	char json[512];
	int r, len;

	r = guest_memory_create_backed(ram_size, backing, &m, NULL);
	if (r < 0) {
		snprintf(err, errlen, "Failed to restore guest memory: Cannot create mmap region: %s (os error %d)",
			 strerror(-r), -r);
		return r;
	}
	r = uffd_open();
	if (r < 0) {
		uffd_fail(r, UFFD_PREFIX_CREATE, NULL, err, errlen);
		goto fail;
	}
	m->uffd = r;
	r = uffd_api(m->uffd);
	if (r < 0) {
		uffd_fail(r, UFFD_PREFIX_CREATE, NULL, err, errlen);
		goto fail;
	}
	r = uffd_register(m->uffd, m);
	if (r < 0) {
		uffd_fail(r, UFFD_PREFIX_REGISTER, NULL, err, errlen);
		goto fail;
	}
	len = snap_uffd_json(m, offset, json, sizeof(json));
	r = uffd_connect(socket_path);
	if (r < 0) {
		uffd_fail(r, UFFD_PREFIX_CONNECT, socket_path, err, errlen);
		goto fail;
	}
	m->uffd_peer = r;
	/* The socket stays open: closing it could reach the server before
	 * the message (Firecracker's note in send_uffd_handshake). */
	r = len < 0 ? len : uffd_send(m->uffd_peer, m->uffd, json, (size_t)len);
	if (r < 0) {
		uffd_fail(r, UFFD_PREFIX_SEND, socket_path, err, errlen);
		goto fail;
	}
	*ret = m;
	return 0;
fail:
	guest_memory_destroy(m);
	return r;
}
