/* Writing a snapshot's files so that a failure leaves nothing behind: each
 * is written under a temporary name in its own directory, created 0600 with
 * O_EXCL (never through a symlink or over another file), and renamed over
 * its final name only when complete. An earlier file of that name stays
 * untouched until then; a restored VM whose memory file is mapped may save
 * over that file (its mapping keeps the old inode). The memory file keeps
 * zero pages as holes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_memory;
struct snap_dirty;

struct snap_out {
	int fd;
	const char *path; /* not owned */
	char *tmp;        /* owned */
};

/* Creates the temporary file for path. 0 or -errno. */
int snap_out_open(struct snap_out *o, const char *path);
/* Writes all of buf at offset. 0 or -errno (-ENOSPC, -EIO, ...). */
int snap_out_pwrite(struct snap_out *o, const void *buf, size_t len, uint64_t off);
/* A Diff's memory file: an existing regular file of path with exactly size
 * bytes is opened to be written in place (*ret_merged true: the Diff is
 * merged into it; no temporary name, a failure leaves the pages written so
 * far, and the caller keeps them dirty); otherwise as snap_out_open() (a
 * new file, renamed over path when complete). 0 or -errno. */
int snap_out_open_diff(struct snap_out *o, const char *path, uint64_t size, bool *ret_merged);
/* Closes and renames to path (a merged file: only closes). 0 or -errno
 * (the temporary file removed). */
int snap_out_commit(struct snap_out *o);
/* Closes and removes the temporary file; accepts one never opened. */
void snap_out_abort(struct snap_out *o);

/* The guest's RAM regions one after another, each at the offset
 * snap_memory_offsets() gives; all-zero 4 KiB pages are not written (holes).
 * *ret_written: the bytes written. 0 or -errno. */
int snap_memory_write(struct snap_out *o, const struct guest_memory *m, uint64_t *ret_written);
/* A Diff: the dirty pages of d, each at its offset, zero pages written as
 * data (the base may hold data there); a new file is first given the RAM's
 * size, so the rest are holes. *ret_written: the bytes written. 0 or -errno. */
int snap_memory_write_diff(struct snap_out *o, const struct guest_memory *m, const struct snap_dirty *d,
			   uint64_t *ret_written);
/* Whether the host has a swap area (/proc/swaps; true when it cannot tell). */
bool snap_host_has_swap(void);
/* Region i's offset in the memory file: the sizes of the ones before it. */
void snap_memory_offsets(const struct guest_memory *m, uint64_t *offsets);
