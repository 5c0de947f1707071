/* Output that never puts the writing thread to sleep.
 *
 * ember's log lines and the guest's serial bytes go to stdout, which is
 * usually shared with the parent: a terminal, or a test's pipe. A reader that
 * stops reading must not stall a vCPU (pausing would wait for it) or the api
 * and vmm threads. Setting O_NONBLOCK on stdout would do that, but the flag
 * belongs to the open file description the parent shares: its own writes would
 * fail with EAGAIN, and a crash that skipped the restore would leave it set.
 * So each write says for itself that it must not wait:
 *
 *   OUT_NOWAIT  pwritev2(RWF_NOWAIT): pipes, FIFOs, sockets and the character
 *               devices that support it. A write of at most PIPE_BUF bytes to
 *               a pipe is then taken whole or not at all.
 *   OUT_PLAIN   write(): regular files and block devices, which wait for the
 *               disk but never for a reader (ext4 refuses RWF_NOWAIT with
 *               O_APPEND), and descriptions ember opened with O_NONBLOCK.
 *   OUT_POLL    poll(POLLOUT, 0), then write() at most OUT_POLL_CHUNK bytes, as
 *               long as poll says there is room: for a terminal in a jail.
 *
 * A terminal refuses RWF_NOWAIT (EOPNOTSUPP). Where /proc is mounted,
 * out_stdout_prepare() opens a private description of the same terminal
 * through /proc/self/fd/1, with O_NONBLOCK: nobody else shares it, so that
 * flag is ember's alone and nothing needs restoring. In a jail without /proc
 * stdout falls back to OUT_POLL: a pty signals POLLOUT only with at least 256
 * bytes of room, and OUT_POLL_CHUNK bytes grow to at most 256 under the
 * terminal's output processing (a tab to 8 spaces), so a write after POLLOUT
 * finds room; only another process writing to the same terminal at that
 * instant could still make it wait.
 *
 * The write functions are async-signal-safe (system calls only), so the
 * fatal-signal and SIGSYS paths use them too. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#define OUT_POLL_CHUNK 32u

enum out_mode {
	OUT_PLAIN = 0,
	OUT_NOWAIT,
	OUT_POLL,
};

struct out {
	int fd;
	enum out_mode mode;
};

/* How to write to fd without blocking, from its file type (fstat, isatty);
 * opens nothing. A file type fstat cannot tell gets OUT_NOWAIT. */
struct out out_classify(int fd);

/* Makes stdout ready for out_get(STDOUT_FILENO): classified and, for a
 * terminal, reopened privately with O_NONBLOCK when /proc/self/fd allows
 * (the new fd is O_CLOEXEC and lives until exit). Call once at start-up, before
 * seccomp; ember's log and serial output then never block. Programs that do not
 * call it (the jailer, tools) keep plain blocking writes on stdout. Returns 0
 * or -errno (only from fstat: then stdout is left as it was). */
int out_stdout_prepare(void);

/* What out_stdout_prepare() chose for stdout when fd is STDOUT_FILENO (a plain
 * write before it ran), otherwise out_classify(fd). */
struct out out_get(int fd);

/* Whether fd is the private terminal description out_stdout_prepare() opened,
 * which its users must not close. */
int out_is_private(int fd);

/* Writes at most len bytes without sleeping. Returns the bytes taken (short
 * when the sink filled up; 0 only for len 0), or -errno: -EAGAIN when nothing
 * fit, or the write's own error. On EOPNOTSUPP from RWF_NOWAIT *mode becomes
 * OUT_POLL and the write is retried that way; the caller keeps the new mode. */
ssize_t out_write(int fd, enum out_mode *mode, const void *buf, size_t len);
