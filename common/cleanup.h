/* Scope-bound ownership helpers in the systemd style.
 *
 * A variable declared _cleanup_free_ or _cleanup_close_ is released when it goes
 * out of scope; TAKE_PTR/TAKE_FD hand ownership to the caller and leave the
 * variable empty, so the cleanup becomes a no-op. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(const int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* close() in a cleanup must not clobber the error being returned */
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(fn) __attribute__((cleanup(fn)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _take_tmp = (p);                                                     \
		(p) = NULL;                                                                        \
		_take_tmp;                                                                         \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _take_fd = (fd);                                                               \
		(fd) = -1;                                                                         \
		_take_fd;                                                                          \
	})

/* Frees p and returns NULL, so callers can write `x = mfree(x);`. */
static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_ __attribute__((warn_unused_result))
