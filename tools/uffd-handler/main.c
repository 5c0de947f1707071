/* ember-uffd-handler [--all] SOCKET MEMFILE: a reference page server for
 * ember's (and Firecracker's) Uffd snapshot backend (doc/snapshots.md).
 *
 * It binds SOCKET (mode 0600), accepts one connection (and removes SOCKET),
 * receives the userfaultfd and the region list (handshake.h), and serves
 * each page fault with UFFDIO_COPY from a private read-only map of MEMFILE;
 * with --all the first fault copies every region whole (its data; the
 * file's holes are zeroed without being read). A range the VMM gave back to the
 * kernel (UFFD_EVENT_REMOVE: the balloon's MADV_DONTNEED) is zero when next
 * touched, not the file's old contents. Under 2M regions each copy is one
 * whole 2 MiB page (hugetlb faults are served a huge page at a time).
 *
 * It ends when the VMM closes the socket (it exited), printing
 *   faults=N copied_bytes=N zeroed_bytes=N removed_bytes=N
 * A fatal error (a fault outside every region, a copy the kernel refuses)
 * kills the VMM (SIGKILL to the socket's SO_PEERCRED pid), as Firecracker's
 * example handlers do: a guest whose memory can no longer be served must
 * not run on. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "handshake.h"

#define MAX_EVENTS 256
#define HS_MAX_TEXT 65536

struct server {
	struct uffd_handshake hs;
	const uint8_t *file; /* MEMFILE, mapped PROT_READ, MAP_PRIVATE */
	uint64_t file_size;
	int file_fd; /* for SEEK_DATA (--all) */
	uint8_t *removed[UFFD_HS_MAX_REGIONS]; /* per page: 1 after a REMOVE, until zeroed */
	void *zeros;                           /* one zero page of the largest size */
	int uffd, sock;
	pid_t peer;
	bool all, all_done;
	uint64_t faults, copied, zeroed, removed_bytes;
};

static _Noreturn void die(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void summary(const struct server *s)
{
	printf("faults=%" PRIu64 " copied_bytes=%" PRIu64 " zeroed_bytes=%" PRIu64 " removed_bytes=%" PRIu64 "\n",
	       s->faults, s->copied, s->zeroed, s->removed_bytes);
	fflush(stdout);
}

static _Noreturn void die(struct server *s, const char *fmt, ...)
{
	va_list ap;

	fputs("ember-uffd-handler: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (s && s->peer > 0) {
		fprintf(stderr, "ember-uffd-handler: killing the VMM (pid %d): its memory can no longer be served\n",
			(int)s->peer);
		kill(s->peer, SIGKILL);
	}
	if (s)
		summary(s);
	exit(1);
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		die(NULL, "%s: socket path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(NULL, "socket: %m");
	old = umask(0177); /* the socket file is created 0600: only its owner may hand us a VM */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		die(NULL, "bind %s: %m", path);
	if (listen(fd, 1) < 0)
		die(NULL, "listen %s: %m", path);
	return fd;
}

/* The first message carries the uffd; the JSON may come in pieces. */
static void receive_handshake(struct server *s)
{
	static char text[HS_MAX_TEXT];
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = text, .iov_len = sizeof(text) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	size_t len = 0;
	char err[512];
	ssize_t n;
	int r;

	n = recvmsg(s->sock, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		die(s, "no handshake from the VMM: %s", n < 0 ? strerror(errno) : "the connection closed");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&s->uffd, CMSG_DATA(c), sizeof(int));
	if (s->uffd < 0)
		die(s, "the handshake carries no file descriptor");
	len = (size_t)n;
	while ((r = uffd_handshake_parse(text, len, s->file_size, &s->hs, err, sizeof(err))) == -EAGAIN) {
		if (len == sizeof(text))
			die(s, "the handshake's JSON is larger than %d bytes", HS_MAX_TEXT);
		n = recv(s->sock, text + len, sizeof(text) - len, 0);
		if (n <= 0)
			die(s, "the handshake's JSON ended early");
		len += (size_t)n;
	}
	if (r < 0)
		die(s, "bad handshake: %s", err);
}

static const struct uffd_hs_region *region_of(const struct server *s, uint64_t addr, unsigned *ret_index)
{
	for (unsigned i = 0; i < s->hs.nr_regions; i++) {
		const struct uffd_hs_region *r = &s->hs.region[i];

		if (addr >= r->base && addr - r->base < r->size) {
			*ret_index = i;
			return r;
		}
	}
	return NULL;
}

/* UFFDIO_COPY of len bytes at dst; 0, or -EAGAIN (a REMOVE event is
 * queued: the caller reads it and retries). A page already there (EEXIST:
 * another fault on it was served first) is done. */
static int copy_in(struct server *s, uint64_t dst, const void *src, uint64_t len, bool zero)
{
	while (len) {
		struct uffdio_copy c = { .dst = dst, .src = (uintptr_t)src, .len = len };

		if (ioctl(s->uffd, UFFDIO_COPY, &c) == 0 || errno == EEXIST) {
			if (c.copy > 0 && (uint64_t)c.copy < len) {
				/* A partial copy: go on after it. */
				dst += (uint64_t)c.copy;
				src = (const uint8_t *)src + (zero ? 0 : (uint64_t)c.copy);
				len -= (uint64_t)c.copy;
				continue;
			}
			if (c.copy > 0)
				*(zero ? &s->zeroed : &s->copied) += (uint64_t)c.copy;
			return 0;
		}
		if (errno != EAGAIN)
			die(s, "UFFDIO_COPY of %" PRIu64 " bytes at 0x%" PRIx64 ": %m", len, dst);
		if (c.copy <= 0)
			return -EAGAIN;
		*(zero ? &s->zeroed : &s->copied) += (uint64_t)c.copy;
		dst += (uint64_t)c.copy;
		src = (const uint8_t *)src + (zero ? 0 : (uint64_t)c.copy);
		len -= (uint64_t)c.copy;
	}
	return 0;
}

/* A removed page reads zero: UFFDIO_ZEROPAGE for 4 KiB pages, a copy of
 * zeros for hugetlb (which has no ZEROPAGE). */
static int zero_in(struct server *s, uint64_t dst, uint64_t page_size)
{
	struct uffdio_zeropage z = { .range = { .start = dst, .len = page_size } };

	if (page_size != 4096)
		return copy_in(s, dst, s->zeros, page_size, true);
	if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z) == 0 || errno == EEXIST) {
		s->zeroed += z.zeropage > 0 ? (uint64_t)z.zeropage : 0;
		return 0;
	}
	if (errno == EAGAIN)
		return -EAGAIN;
	die(s, "UFFDIO_ZEROPAGE at 0x%" PRIx64 ": %m", dst);
}

/* [off, off + len) of the region at file offset fo reads zero: one
 * UFFDIO_ZEROPAGE (the shared zero page; the guest's first write copies
 * it), or copies of zeros page by page in 2M regions. */
static int zero_range(struct server *s, const struct uffd_hs_region *r, uint64_t fo, uint64_t len)
{
	uint64_t dst = r->base + (fo - r->offset);
	struct uffdio_zeropage z = { .range = { .start = dst, .len = len }, .mode = 0 };

	if (r->page_size != 4096) {
		for (uint64_t done = 0; done < len; done += r->page_size) {
			int e = copy_in(s, dst + done, s->zeros, r->page_size, true);

			if (e < 0)
				return e;
		}
		return 0;
	}
	while (z.range.len) {
		if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z) == 0 || errno == EEXIST) {
			if (z.zeropage > 0 && (uint64_t)z.zeropage < z.range.len) {
				s->zeroed += (uint64_t)z.zeropage;
				z.range.start += (uint64_t)z.zeropage;
				z.range.len -= (uint64_t)z.zeropage;
				continue;
			}
			s->zeroed += z.zeropage > 0 ? (uint64_t)z.zeropage : 0;
			return 0;
		}
		if (errno != EAGAIN)
			die(s, "UFFDIO_ZEROPAGE of %" PRIu64 " bytes at 0x%" PRIx64 ": %m", (uint64_t)z.range.len,
			    (uint64_t)z.range.start);
		if (z.zeropage <= 0)
			return -EAGAIN;
		s->zeroed += (uint64_t)z.zeropage;
		z.range.start += (uint64_t)z.zeropage;
		z.range.len -= (uint64_t)z.zeropage;
	}
	return 0;
}

/* --all: every region whole at the first fault. The file's data extents
 * (SEEK_DATA) are copied, its holes (the zero pages a snapshot leaves out)
 * zeroed without reading them; page-rounded, as page faults would be. A
 * range already served (EEXIST) is skipped by the kernel. */
static int copy_all(struct server *s)
{
	for (unsigned i = 0; i < s->hs.nr_regions; i++) {
		const struct uffd_hs_region *r = &s->hs.region[i];
		uint64_t pos = r->offset, end = r->offset + r->size, mask = r->page_size - 1;

		while (pos < end) {
			off_t data = lseek(s->file_fd, (off_t)pos, SEEK_DATA);
			uint64_t d = data < 0 ? end : (uint64_t)data & ~mask, h;
			int e = 0;

			if (d > end)
				d = end;
			if (d > pos)
				e = zero_range(s, r, pos, d - pos);
			if (e < 0)
				return e;
			if (d >= end)
				break;
			data = lseek(s->file_fd, (off_t)d, SEEK_HOLE);
			h = data < 0 ? end : ((uint64_t)data + mask) & ~mask;
			if (h > end || h <= d)
				h = end;
			e = copy_in(s, r->base + (d - r->offset), s->file + d, h - d, false);
			if (e < 0)
				return e;
			pos = h;
		}
	}
	s->all_done = true;
	return 0;
}

/* One fault: 0 served, -EAGAIN to retry after the queued events. */
static int serve_fault(struct server *s, uint64_t addr)
{
	unsigned i;
	const struct uffd_hs_region *r = region_of(s, addr, &i);
	uint64_t page, index;
	int e;

	if (!r)
		die(s, "a fault at 0x%" PRIx64 " lies in no region of the handshake", addr);
	page = addr & ~(r->page_size - 1);
	index = (page - r->base) / r->page_size;
	if (s->removed[i][index]) {
		e = zero_in(s, page, r->page_size);
		if (e == 0)
			s->removed[i][index] = 0;
		return e;
	}
	if (s->all && !s->all_done)
		return copy_all(s);
	return copy_in(s, page, s->file + r->offset + (page - r->base), r->page_size, false);
}

/* The range [start, end) went back to the kernel: its pages read zero from
 * now on (a later fault there is zero-filled, not copied from the file). */
static void note_remove(struct server *s, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < s->hs.nr_regions; i++) {
		const struct uffd_hs_region *r = &s->hs.region[i];
		uint64_t lo = start > r->base ? start : r->base, hi = end < r->base + r->size ? end : r->base + r->size;

		for (uint64_t p = lo & ~(r->page_size - 1); p < hi; p += r->page_size)
			s->removed[i][(p - r->base) / r->page_size] = 1;
		if (hi > lo)
			s->removed_bytes += hi - lo;
	}
}

/* Reads every queued event; REMOVEs are noted at once (while one is queued
 * every ioctl answers EAGAIN), faults appended to pending. */
static void read_events(struct server *s, uint64_t *pending, unsigned *n)
{
	struct uffd_msg msg[16];
	ssize_t got = 0;

	while (*n + 16 <= MAX_EVENTS && (got = read(s->uffd, msg, sizeof(msg))) > 0) {
		for (size_t k = 0; k < (size_t)got / sizeof(msg[0]); k++) {
			if (msg[k].event == UFFD_EVENT_PAGEFAULT) {
				pending[(*n)++] = msg[k].arg.pagefault.address;
				s->faults++;
			} else if (msg[k].event == UFFD_EVENT_REMOVE) {
				note_remove(s, msg[k].arg.remove.start, msg[k].arg.remove.end);
			} else {
				die(s, "unexpected userfaultfd event %u", msg[k].event);
			}
		}
	}
	if (got < 0 && errno != EAGAIN && errno != EINTR)
		die(s, "read userfaultfd: %m");
}

static void serve(struct server *s)
{
	static uint64_t pending[MAX_EVENTS];
	unsigned n = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->uffd, .events = POLLIN }, { .fd = s->sock, .events = POLLIN } };
		unsigned keep = 0;

		if (poll(p, 2, n ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			die(s, "poll: %m");
		}
		if (p[1].revents) {
			char c;
			ssize_t got = recv(s->sock, &c, 1, MSG_DONTWAIT);

			/* The VMM sends nothing more: readable means it closed (it ended). */
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
				return;
		}
		read_events(s, pending, &n);
		for (unsigned k = 0; k < n; k++)
			if (serve_fault(s, pending[k]) == -EAGAIN)
				pending[keep++] = pending[k];
		n = keep;
	}
}

static void open_file(struct server *s, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(NULL, "%s: %m", path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		die(NULL, "%s: not a non-empty regular file", path);
	s->file_size = (uint64_t)st.st_size;
	/* Private and read-only: nothing the handler does can change the file. */
	s->file = mmap(NULL, s->file_size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (s->file == MAP_FAILED)
		die(NULL, "mmap %s: %m", path);
	s->file_fd = fd;
}

static void prepare(struct server *s)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockopt(s->sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		s->peer = cred.pid;
	receive_handshake(s);
	for (unsigned i = 0; i < s->hs.nr_regions; i++) {
		s->removed[i] = calloc(s->hs.region[i].size / s->hs.region[i].page_size, 1);
		if (!s->removed[i])
			die(s, "out of memory");
	}
	s->zeros = mmap(NULL, 2u << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->zeros == MAP_FAILED)
		die(s, "mmap: %m");
}

static _Noreturn void usage(int code)
{
	fprintf(code ? stderr : stdout, "usage: ember-uffd-handler [--all] SOCKET MEMFILE\n"
		"Serves the guest memory of one snapshot load with the Uffd backend from MEMFILE.\n"
		"  --all   copy every region at the first page fault (otherwise one page per fault)\n");
	exit(code);
}

int main(int argc, char **argv)
{
	struct server s = { .uffd = -1, .sock = -1 };
	int listener, i = 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		usage(0);
	if (argc > 1 && !strcmp(argv[1], "--all")) {
		s.all = true;
		i++;
	}
	if (argc - i != 2)
		usage(2);
	open_file(&s, argv[i + 1]);
	listener = listen_on(argv[i]);
	s.sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (s.sock < 0)
		die(NULL, "accept: %m");
	/* One connection only: the name goes, so the next server can bind it. */
	close(listener);
	unlink(argv[i]);
	prepare(&s);
	fflush(stdout);
	serve(&s);
	summary(&s);
	return 0;
}
