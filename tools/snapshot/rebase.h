/* ember-snapshot rebase: merges a Diff snapshot's memory file into its
 * base (doc/snapshots.md, "Rebasing a Diff"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Copies the data extents of diff (SEEK_DATA/SEEK_HOLE) to the same offsets
 * of base. Refuses, before writing anything: a file that is not regular,
 * sizes that differ, the same file twice (same device and inode), and a
 * diff on a filesystem that hides its holes (see rebase.c). Prints a
 * summary to out. 0, or -errno with the reason in err. */
int snap_tool_rebase(const char *base, const char *diff, FILE *out, char *err, size_t errlen);
/* The check for a filesystem that hides holes, on the figures alone (unit
 * tested): a file of size bytes that occupies allocated bytes, whose first
 * data extent from offset 0 is [data, hole). True when it occupies less
 * than its size (so it has holes, or compressed data) and yet that extent
 * is the whole file. */
bool snap_tool_hides_holes(uint64_t size, uint64_t allocated, int64_t data, int64_t hole);
