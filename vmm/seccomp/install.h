/* ember's seccomp filters: what main.c and the thread entry points call.
 *
 * Order (design.md §1):
 *   1. seccomp_filters_load()      at start-up, before anything untrusted is read:
 *                                  the built-in bundle, or --seccomp-filter FILE
 *                                  (a YAML policy or a compiled bundle);
 *   2. seccomp_install_baseline()  before the first thread is created: no_new_privs,
 *                                  then the union of all roles (and the startup
 *                                  section) on every thread with TSYNC;
 *   3. seccomp_install_role(R)     in each thread before it handles untrusted input:
 *                                  api before accepting connections, each vCPU
 *                                  before its first KVM_RUN, vmm before the guest
 *                                  starts.
 * With --no-seccomp, seccomp_filters_disable() replaces step 1 and steps 2 and 3 do
 * nothing. A syscall outside the filters raises SIGSYS: the handler logs the
 * role and the syscall, counts seccomp.num_faults, runs the flush hook and
 * exits with 148. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "policy.h"

#define SECCOMP_EXIT_BAD_SYSCALL 148
#define SECCOMP_EXIT_UNEXPECTED 2 /* a SIGSYS no filter raised (kill -SYS) */

/* Loads and verifies the filters from path, or the built-in default policy
 * when path is NULL. Returns 0, or -errno with a message (the loader's
 * file:line:column for a bad policy) in err. */
int seccomp_filters_load(const char *path, char *err, size_t errlen);
/* Records --no-seccomp: nothing will be installed, and the log says so. */
void seccomp_filters_disable(void);

/* Sets no_new_privs, installs the SIGSYS handler and the baseline filter on
 * all threads (TSYNC). Returns 0 or -errno; no-op after seccomp_filters_disable(). */
int seccomp_install_baseline(void);
/* Stacks role's filter on the calling thread only. Returns 0 or -errno; 0
 * without doing anything after seccomp_filters_disable() or when no filters
 * were loaded (a program that is not ember, such as a VMM unit test: ember's
 * main always loads or disables, and seccomp.bats checks every thread). */
int seccomp_install_role(enum seccomp_role role);

/* A function the SIGSYS handler calls before exiting (the metrics flush);
 * it must be async-signal-safe and use only syscalls every role allows. */
void seccomp_set_flush_hook(void (*hook)(void));
/* The metrics group "seccomp" (num_faults: violations seen, at most one:
 * the first one exits), counted by the SIGSYS handler. */
extern const struct metrics_group seccomp_metrics_group;
