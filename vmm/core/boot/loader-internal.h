/* Helpers shared by the kernel and initrd loaders (elf.c, bzimage.c, loader.c).
 * Not part of the loader interface: only the loaders include this. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Reads exactly len bytes at offset off into buf, retrying EINTR and short
 * reads. Returns 0, -EIO when the file ends first, or -errno. */
int loader_pread(int fd, void *buf, size_t len, uint64_t off);

/* The size of the regular file behind fd in *ret_size. -EINVAL when fd is
 * not a regular file, or -errno from fstat. */
int loader_file_size(int fd, uint64_t *ret_size);

/* Formats the operator-facing reason into err (which may be NULL) and
 * returns code, so a failing check reads `return loader_fail(...)`. */
__attribute__((format(printf, 4, 5)))
int loader_fail(char *err, size_t errlen, int code, const char *fmt, ...);
