#include "ready.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

#define READY_MSG_MAX 480

static atomic_int ready_fd = -1;
/* The last reason seen (an Error line, or an argument error). A fatal
 * signal may read it half rewritten: it is a message, never a length. */
static char ready_msg[READY_MSG_MAX + 1];

static void ready_keep(const char *msg, size_t len)
{
	len = len > READY_MSG_MAX ? READY_MSG_MAX : len;
	memcpy(ready_msg, msg, len);
	ready_msg[len] = '\0';
}

void ready_note(const char *msg)
{
	ready_keep(msg, strlen(msg));
}

void ready_init(void)
{
	const char *v = getenv("EMBER_READY_FD");
	struct stat st;
	uint32_t fd;

	if (!v)
		return;
	/* Only a pipe: a number pointing at the log or a drive must never get
	 * a stray line. */
	if (parse_u32(v, &fd) == 0 && fd >= 3 && fd <= 1024 && fstat((int)fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0) {
		ready_fd = (int)fd;
		log_set_error_hook(ready_keep);
	}
	unsetenv("EMBER_READY_FD");
}

void ready_signal(void)
{
	int fd = atomic_exchange(&ready_fd, -1);

	if (fd < 0)
		return;
	(void)!write(fd, "ready\n", 6);
	close(fd);
}

static size_t ready_put(char *buf, size_t off, size_t cap, const char *s, size_t len)
{
	for (size_t i = 0; i < len && s[i] && s[i] != '\n' && off + 1 < cap; i++)
		buf[off++] = s[i];
	return off;
}

void ready_fail(int code, const char *msg, size_t len)
{
	char line[READY_MSG_MAX + 32], num[12];
	int fd = atomic_exchange(&ready_fd, -1);
	unsigned v = code < 0 ? 0u : (unsigned)code;
	size_t off = 0, n = 0;

	if (fd < 0)
		return;
	if (!msg || !len) {
		msg = ready_msg[0] ? ready_msg : "ember exited before it was ready (no error was logged)";
		len = strlen(msg);
	}
	do
		num[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(num));
	off = ready_put(line, off, sizeof(line), "failed ", 7);
	while (n)
		line[off++] = num[--n];
	off = ready_put(line, off, sizeof(line), " ", 1);
	off = ready_put(line, off, sizeof(line) - 1, msg, len);
	line[off++] = '\n';
	(void)!write(fd, line, off);
	close(fd);
}

void ready_fail_signal(int sig, int code)
{
	char msg[64] = "Shutting down VM after intercepting signal ";
	size_t off = strlen(msg);

	if (sig >= 10)
		msg[off++] = (char)('0' + sig / 10 % 10);
	msg[off++] = (char)('0' + sig % 10);
	ready_fail(code, msg, off);
}

int ready_exit(int code)
{
	ready_fail(code, NULL, 0);
	return code;
}
