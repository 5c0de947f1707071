/* Policy → BPF, through libseccomp.
 *
 * Each condition becomes a set of alternatives (cond.h); a rule becomes one
 * libseccomp rule per combination of its conditions' alternatives. */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

#include "policy.h"


/* A compiled filter program; free with compile_prog_free. */
struct compiled_prog {
	struct sock_filter *insns;
	size_t n_insns;
};

/* Which program: one of the roles, or the process-wide baseline. */
#define COMPILE_BASELINE SECCOMP_ROLE_COUNT

/* Compiles the role's rules (or, for COMPILE_BASELINE, the union of all roles
 * and the startup section: a syscall that every section acts on with one
 * and the same action other than allow, without conditions, gets that action
 * (clone3's ENOSYS); else one that some section allows without conditions, or
 * acts on with an action other than allow, is allowed outright; otherwise the
 * union of its conditional rules). Returns 0 or -errno; *ret is written only
 * on success. */
int compile_program(const struct policy *p, unsigned which, struct compiled_prog *ret);
void compile_prog_clear(struct compiled_prog *prog);
