#pragma once

/* The name of each syscall number of the build target, NULL where the
 * number has none; generated at build time from <sys/syscall.h>
 * (gen-syscall-names.py), so nothing is resolved at start-up and the SIGSYS
 * handler only reads a constant table. */
#define SYSCALL_NAMES 512

extern const char *const syscall_names[SYSCALL_NAMES];
