/* Output that never blocks: see out.h. */
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Set once at start-up, before any other thread exists; read-only afterwards. */
static struct out stdout_out = { STDOUT_FILENO, OUT_PLAIN };
static int private_fd = -1;

struct out out_classify(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return (struct out){ fd, OUT_PLAIN };
	if (isatty(fd))
		return (struct out){ fd, OUT_POLL };
	return (struct out){ fd, OUT_NOWAIT };
}

/* A description of the terminal on fd that only ember holds, O_NONBLOCK. */
static int out_reopen_terminal(int fd)
{
	char path[32];
	struct stat a, b;
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* O_NOCTTY: opening a terminal must not make it ember's controlling one. */
	nfd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	/* The magic link could have been swapped meanwhile only by ember itself;
	 * still, make sure it is the same terminal before writing there. */
	if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0 || !S_ISCHR(b.st_mode) || a.st_rdev != b.st_rdev) {
		close(nfd);
		return -ENOTTY;
	}
	return nfd;
}

int out_stdout_prepare(void)
{
	struct stat st;
	struct out o;
	int fd;

	if (fstat(STDOUT_FILENO, &st) < 0)
		return -errno;
	if (private_fd >= 0) { /* prepared before: stdout may have changed since */
		close(private_fd);
		private_fd = -1;
	}
	o = out_classify(STDOUT_FILENO);
	if (o.mode == OUT_POLL) {
		fd = out_reopen_terminal(STDOUT_FILENO);
		if (fd >= 0) {
			private_fd = fd;
			o = (struct out){ fd, OUT_PLAIN };
		}
	}
	stdout_out = o;
	return 0;
}

struct out out_get(int fd)
{
	return fd == STDOUT_FILENO ? stdout_out : out_classify(fd);
}

int out_is_private(int fd)
{
	return fd >= 0 && fd == private_fd;
}

/* One poll-guarded piece at a time, while the sink has room. */
static ssize_t out_write_polled(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		size_t n = len - done < OUT_POLL_CHUNK ? len - done : OUT_POLL_CHUNK;
		ssize_t w;

		if (poll(&p, 1, 0) < 0 && errno != EINTR)
			return done ? (ssize_t)done : -errno;
		if (!(p.revents & (POLLOUT | POLLERR | POLLHUP)))
			break;
		/* POLLERR or POLLHUP: the write reports the error without waiting. */
		w = write(fd, buf + done, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)w;
		if ((size_t)w < n)
			break;
	}
	return done ? (ssize_t)done : -EAGAIN;
}

ssize_t out_write(int fd, enum out_mode *mode, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	ssize_t w;

	if (len == 0)
		return 0;
	for (;;) {
		if (*mode == OUT_POLL)
			return out_write_polled(fd, buf, len);
		if (*mode == OUT_NOWAIT)
			w = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
		else
			w = write(fd, buf, len);
		if (w >= 0)
			return w;
		if (errno == EOPNOTSUPP && *mode == OUT_NOWAIT) {
			*mode = OUT_POLL; /* a kernel or file type without RWF_NOWAIT */
			continue;
		}
		if (errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno != EINTR)
			return -errno;
	}
}
