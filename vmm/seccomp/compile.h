/* Policy → BPF, through libseccomp.
 *
 * Each condition becomes a set of alternatives, each one libseccomp
 * comparison; a rule becomes one libseccomp rule per combination of its
 * conditions' alternatives. Width-32 conditions are expressed with masked
 * comparisons on the low 32 bits only (libseccomp's own 32-bit comparisons
 * also look at the upper half, which the kernel ignores for an int argument:
 * that would let garbage in the upper half pass a `ne`, `gt` or `ge`). */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

#include "policy.h"

#define COMPILE_MAX_ALTS 64 /* alternatives per condition, and combinations per rule */

/* Writes the alternatives of c into alts[0..max). Returns their number: 0
 * when c can never match, -ERANGE when c matches every value (the condition
 * says nothing), -E2BIG when more than max would be needed. */
int compile_cond_expand(const struct policy_cond *c, struct scmp_arg_cmp *alts, size_t max);

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
