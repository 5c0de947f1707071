/* See term.h. */
#include "term.h"

#include <asm/termbits.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The kernel's termios through TCGETS and TCSETS directly: glibc's
 * tcsetattr() may first read the settings back (TCGETS), which would be
 * one more ioctl for every seccomp role to allow on the way out. */
static struct termios saved;
static atomic_bool raw_on;

int term_raw_enter(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (ioctl(STDIN_FILENO, TCGETS, &saved) < 0)
		return -errno;
	t = saved;
	t.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (ioctl(STDIN_FILENO, TCSETS, &t) < 0)
		return -errno;
	atomic_store(&raw_on, true);
	return 1;
}

bool term_is_raw(void)
{
	return atomic_load(&raw_on);
}

void term_restore(void)
{
	int saved_errno = errno;

	/* TCSETS is TCSANOW: a handler must not wait for output to drain */
	if (atomic_exchange(&raw_on, false))
		(void)ioctl(STDIN_FILENO, TCSETS, &saved);
	errno = saved_errno;
}
