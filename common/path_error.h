/* Messages about files named by outside input (a config file, an API client,
 * the command line, a template): the path as given and, when it is relative,
 * as resolved against the working directory; the errno text; and for EACCES
 * the ids the access was checked against, so that "Permission denied" says
 * who was denied:
 *
 *   vm/vmlinux (resolved: /home/op/vm/vmlinux): No such file or directory (os error 2)
 *   /srv/vmlinux: Permission denied (os error 13; uid 65534, gid 65534)
 *
 * "(os error N)" is Firecracker's rendering of an io::Error. */
#pragma once

#include <stddef.h>

/* Records the working directory and the effective uid and gid. Call it once
 * early, before a seccomp filter forbids asking (getcwd is in no role), and
 * again after a chdir. Without it the first path_error() asks itself. */
void path_error_init(void);

/* Formats the message above for err (a positive errno) into buf and returns
 * buf; always NUL-terminated, truncated to len. */
const char *path_error(char *buf, size_t len, const char *path, int err);
