/* See rebase.h.
 *
 * A Diff's memory file is as large as the guest's RAM: its dirty pages are
 * data at their offsets (zero pages included, written as data), everything
 * else is a hole. So the pages to copy are exactly the data extents, which
 * lseek(SEEK_DATA/SEEK_HOLE) reports. A filesystem without hole support
 * answers those with the whole file as one data extent (Linux's generic
 * fallback); copying that would overwrite the base with the holes' zeros.
 * Such a filesystem is recognised soundly: the file occupies fewer bytes
 * than its size (st_blocks * 512 < st_size: it has holes, or its data is
 * compressed), yet SEEK_DATA/SEEK_HOLE call all of it data. The rebase is
 * then refused (a compressed, truly dense file is refused too: the safe
 * side). A file whose blocks cover its size has no hole to hide, and all
 * of it is data indeed. */
#include "rebase.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"

#define REBASE_CHUNK (1u << 20)

struct rebase_file {
	const char *path;
	int fd;
	struct stat st;
};

static int rebase_open(struct rebase_file *f, const char *path, int flags, char *err, size_t errlen)
{
	/* fd_open_image: a FIFO given by mistake does not block the open, and
	 * anything but a regular file is refused. */
	int e = fd_open_image(path, flags, false);

	f->path = path;
	f->fd = e;
	if (e >= 0 && fstat(f->fd, &f->st) < 0)
		e = -errno;
	if (e < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 e == -EINVAL || e == -EISDIR ? "not a regular file" : strerror(-e));
		return e;
	}
	return 0;
}

bool snap_tool_hides_holes(uint64_t size, uint64_t allocated, int64_t data, int64_t hole)
{
	return allocated < size && data == 0 && (uint64_t)hole == size;
}

/* Whether the diff's filesystem reports holes (see the top of this file). */
static int rebase_check_holes(const struct rebase_file *d, char *err, size_t errlen)
{
	uint64_t size = (uint64_t)d->st.st_size, allocated = (uint64_t)d->st.st_blocks * 512;
	off_t data, hole;

	if (size == 0 || allocated >= size)
		return 0;
	data = lseek(d->fd, 0, SEEK_DATA);
	if (data < 0 && errno == ENXIO)
		return 0; /* all hole: nothing to copy */
	hole = data < 0 ? -1 : lseek(d->fd, data, SEEK_HOLE);
	if (data < 0 || hole < 0) {
		int e = -errno;

		snprintf(err, errlen, "%s: SEEK_DATA/SEEK_HOLE: %s", d->path, strerror(-e));
		return e;
	}
	if (snap_tool_hides_holes(size, allocated, data, hole)) {
		snprintf(err, errlen, "%s: its filesystem hides holes: the file occupies %llu of its %llu bytes, yet "
			 "SEEK_DATA/SEEK_HOLE report all of it as data; copying it would overwrite the base with zeros",
			 d->path, (unsigned long long)allocated, (unsigned long long)size);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int rebase_copy(const struct rebase_file *b, const struct rebase_file *d, off_t from, off_t to, uint8_t *buf,
		       char *err, size_t errlen)
{
	while (from < to) {
		size_t want = (uint64_t)(to - from) < REBASE_CHUNK ? (size_t)(to - from) : REBASE_CHUNK;
		ssize_t n = pread(d->fd, buf, want, from);

		if (n <= 0) {
			snprintf(err, errlen, "%s: read at %lld: %s", d->path, (long long)from,
				 n == 0 ? "unexpected end of file" : strerror(errno));
			return n == 0 ? -EIO : -errno;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(b->fd, buf + done, (size_t)(n - done), from + done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(err, errlen, "%s: write at %lld: %s", b->path, (long long)(from + done),
					 w == 0 ? "no progress" : strerror(errno));
				return w == 0 ? -EIO : -errno;
			}
			done += w;
		}
		from += n;
	}
	return 0;
}

/* Every data extent of d into b; *ret_bytes and *ret_extents counted. */
static int rebase_extents(const struct rebase_file *b, const struct rebase_file *d, uint64_t *ret_bytes,
			  unsigned long *ret_extents, char *err, size_t errlen)
{
	uint8_t *buf = malloc(REBASE_CHUNK);
	off_t pos = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (r >= 0 && pos < d->st.st_size) {
		off_t data = lseek(d->fd, pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(d->fd, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: SEEK_DATA/SEEK_HOLE at %lld: %s", d->path, (long long)pos, strerror(-r));
			break;
		}
		r = rebase_copy(b, d, data, hole, buf, err, errlen);
		*ret_bytes += (uint64_t)(hole - data);
		++*ret_extents;
		pos = hole;
	}
	free(buf);
	return r;
}

int snap_tool_rebase(const char *base, const char *diff, FILE *out, char *err, size_t errlen)
{
	struct rebase_file b = { .fd = -1 }, d = { .fd = -1 };
	unsigned long extents = 0;
	uint64_t bytes = 0;
	int r = rebase_open(&b, base, O_WRONLY, err, errlen);

	if (r >= 0)
		r = rebase_open(&d, diff, O_RDONLY, err, errlen);
	if (r >= 0 && b.st.st_dev == d.st.st_dev && b.st.st_ino == d.st.st_ino) {
		snprintf(err, errlen, "%s and %s are the same file", base, diff);
		r = -EINVAL;
	}
	if (r >= 0 && b.st.st_size != d.st.st_size) {
		snprintf(err, errlen, "sizes differ: %s has %lld bytes, %s %lld (a Diff is as large as the guest's RAM)",
			 base, (long long)b.st.st_size, diff, (long long)d.st.st_size);
		r = -EINVAL;
	}
	if (r >= 0)
		r = rebase_check_holes(&d, err, errlen);
	if (r >= 0)
		r = rebase_extents(&b, &d, &bytes, &extents, err, errlen);
	if (r >= 0 && fsync(b.fd) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: fsync: %s", base, strerror(-r));
	}
	if (r >= 0)
		fprintf(out, "rebased %s onto %s: %llu bytes in %lu extents\n", diff, base, (unsigned long long)bytes,
			extents);
	if (b.fd >= 0)
		close(b.fd);
	if (d.fd >= 0)
		close(d.fd);
	return r;
}
