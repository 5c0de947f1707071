/* Small file-descriptor helpers. All return >= 0 or -errno. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads exactly len bytes unless EOF comes first; returns the byte count read. */
ssize_t fd_read_full(int fd, void *buf, size_t len);
/* Writes all len bytes, retrying short writes and EINTR. */
int fd_write_full(int fd, const void *buf, size_t len);
int fd_set_nonblock(int fd, int on);
/* Reads a whole regular file of at most max bytes into a NUL-terminated heap
 * buffer. -EFBIG when it is larger. The caller frees *ret. */
int fd_read_all(int fd, size_t max, char **ret, size_t *ret_len);
/* Points each of fds 0, 1 and 2 that is closed at /dev/null (not O_CLOEXEC:
 * they are standard streams), so that a later open() cannot land there and be
 * taken for stdio. Returns 0, -errno, or -EBADF if /dev/null came back on
 * another number. */
int fd_stdio_on_devnull(void);

/* Opens a file named by outside input (a config file, an API client) for use
 * as a disk or image: flags are O_RDONLY or O_RDWR; O_CLOEXEC and O_NOCTTY are
 * added. The open is non-blocking so a FIFO at path cannot stall the caller in
 * open(); the returned fd is blocking again. Returns the fd, -EISDIR for a
 * directory, -EINVAL for anything but a regular file (or a block device when
 * allow_block_device), or -errno. */
int fd_open_image(const char *path, int flags, int allow_block_device);
