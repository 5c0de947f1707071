/* Named constants that policies may use instead of numbers: KVM and TUN
 * ioctl requests, PROT_*, MAP_*, FUTEX_*, fcntl F_* and O_* flags, socket
 * families and types, errno names, and the few others the default policy
 * needs. Values come from this build's kernel and libc headers, so they are
 * the values of the build's own architecture. */
#pragma once

#include <stdint.h>

/* Looks name up for arch (AUDIT_ARCH_*). Returns 0 and writes *ret, -ENOENT
 * for an unknown name, -EOPNOTSUPP for an arch this build has no table for. */
int seccomp_const_lookup(uint32_t arch, const char *name, int64_t *ret);

/* The arch whose table this build carries (AUDIT_ARCH_*). */
uint32_t seccomp_const_arch(void);
