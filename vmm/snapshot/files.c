/* See files.h. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/memory.h"
#include "dirty.h"

#define SNAP_PAGE 4096u
#define SNAP_TMP_TRIES 16

int snap_out_open(struct snap_out *o, const char *path)
{
	static unsigned counter;
	size_t len = strlen(path) + 48;

	*o = (struct snap_out){ .fd = -1, .path = path };
	o->tmp = malloc(len);
	if (!o->tmp)
		return -ENOMEM;
	/* Not mkostemp(): glibc draws its name with getrandom, which no
	 * seccomp role needs otherwise. The pid and a counter are unique
	 * enough; O_EXCL settles the rest. */
	for (int i = 0; i < SNAP_TMP_TRIES; i++) {
		snprintf(o->tmp, len, "%s.ember-%d-%u.tmp", path, (int)getpid(), counter++);
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (o->fd >= 0 || errno != EEXIST)
			break;
	}
	if (o->fd < 0) {
		int r = -errno;

		free(o->tmp);
		o->tmp = NULL;
		return r;
	}
	return 0;
}

int snap_out_pwrite(struct snap_out *o, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(o->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int snap_out_commit(struct snap_out *o)
{
	int r = close(o->fd) < 0 ? -errno : 0; /* NFS reports a failed write only here */

	o->fd = -1;
	if (!o->tmp)
		return r; /* written in place (snap_out_open_diff) */
	if (r >= 0 && rename(o->tmp, o->path) < 0)
		r = -errno;
	if (r < 0)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return r;
}

void snap_out_abort(struct snap_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	*o = (struct snap_out){ .fd = -1 };
}

void snap_memory_offsets(const struct guest_memory *m, uint64_t *offsets)
{
	uint64_t off = 0;

	for (unsigned i = 0; i < m->nr_regions; i++) {
		offsets[i] = off;
		off += m->region[i].size;
	}
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[SNAP_PAGE];

	return memcmp(p, zero, SNAP_PAGE) == 0;
}

bool snap_host_has_swap(void)
{
	char line[256];
	FILE *f = fopen("/proc/swaps", "re");
	int lines = 0;

	if (!f)
		return true; /* cannot tell (a jail without /proc): assume swap */
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1; /* the header, then one line per swap area */
}

/* One region, whose first page is page `first` of the file: the pages in
 * `set` (all when NULL; one not in it is never read), without the zero
 * ones when zero_holes, in runs, each written with one pwrite. */
static int snap_region_write(struct snap_out *o, const struct guest_region *g, uint64_t first,
			     const struct snap_dirty *set, bool zero_holes, uint64_t *written)
{
	uint64_t pages = g->size / SNAP_PAGE, run = 0;

	for (uint64_t p = 0; p <= pages; p++) {
		bool data = p < pages && (!set || snap_dirty_test(set, first + p)) &&
			    !(zero_holes && page_is_zero(g->host + p * SNAP_PAGE));
		int r;

		if (data) {
			run++;
			continue;
		}
		if (!run)
			continue;
		r = snap_out_pwrite(o, g->host + (p - run) * SNAP_PAGE, run * SNAP_PAGE,
				    (first + p - run) * SNAP_PAGE);
		if (r < 0)
			return r;
		*written += run * SNAP_PAGE;
		run = 0;
	}
	return 0;
}

/* Which pages of anonymous guest RAM were ever touched: mincore(2) reports
 * a page never faulted in as absent, and such a page reads as zeros, so it
 * need not even be read (reading it would map it). The residency bitmap is
 * the one a Diff without dirty logs takes (dirty.h). Not for a mapping of a
 * memory file (an absent page is in the file) or a page server's memory
 * (an absent page is in its file), and not while the host has swap: a
 * swapped-out page is absent too, and it holds data. Without the bitmap
 * (mincore failed) every page is read. */
int snap_memory_write(struct snap_out *o, const struct guest_memory *m, uint64_t *ret_written)
{
	uint64_t written = 0, first = 0;
	struct snap_dirty touched = { 0 };
	bool anonymous = !m->file_backed && m->uffd < 0 && !snap_host_has_swap();
	int r = 0;

	if (anonymous)
		snap_dirty_resident(m, &touched);
	/* The file's size first: the holes are the zero pages. */
	if (ftruncate(o->fd, (off_t)m->ram_size) < 0)
		r = -errno;
	for (unsigned i = 0; r >= 0 && i < m->nr_regions; i++) {
		r = snap_region_write(o, &m->region[i], first, touched.bits ? &touched : NULL, true, &written);
		first += m->region[i].size / SNAP_PAGE;
	}
	snap_dirty_free(&touched);
	if (r < 0)
		return r;
	*ret_written = written;
	return 0;
}

int snap_out_open_diff(struct snap_out *o, const char *path, uint64_t size, bool *ret_merged)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO of that name must not block the vmm thread; it
	 * is no regular file, so it is replaced like any other. */
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
		*o = (struct snap_out){ .fd = fd, .path = path };
		*ret_merged = true;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	*ret_merged = false;
	return snap_out_open(o, path);
}

int snap_memory_write_diff(struct snap_out *o, const struct guest_memory *m, const struct snap_dirty *d,
			   uint64_t *ret_written)
{
	uint64_t first = 0, written = 0;

	/* A new file gets its size (the holes are pages the Diff does not
	 * carry); a merged one has it already. */
	if (o->tmp && ftruncate(o->fd, (off_t)m->ram_size) < 0)
		return -errno;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		/* Zero pages too: the base may hold data there. */
		int r = snap_region_write(o, &m->region[i], first, d, false, &written);

		if (r < 0)
			return r;
		first += m->region[i].size / SNAP_PAGE;
	}
	*ret_written = written;
	return 0;
}
