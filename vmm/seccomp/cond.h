/* Condition algebra: what a policy condition means as libseccomp
 * comparisons, and when two conditions are the same. A leaf: the validator
 * (rule.c, which checks that a rule compiles) and the compiler (compile.c)
 * both use it, and it uses neither.
 *
 * Each condition becomes a set of alternatives, each one libseccomp
 * comparison. Width-32 conditions are expressed with masked comparisons on
 * the low 32 bits only (libseccomp's own 32-bit comparisons also look at the
 * upper half, which the kernel ignores for an int argument: that would let
 * garbage in the upper half pass a `ne`, `gt` or `ge`). */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define COND_MAX_ALTS 64 /* alternatives per condition, and combinations per rule */

/* Writes the alternatives of c into alts[0..max). Returns their number: 0
 * when c can never match, -ERANGE when c matches every value (the condition
 * says nothing), -E2BIG when more than max would be needed. */
int cond_expand(const struct policy_cond *c, struct scmp_arg_cmp *alts, size_t max);
/* Same argument, width, operator and value(s) (one_of compared as a set). */
bool cond_equal(const struct policy_cond *a, const struct policy_cond *b);
/* The same conditions in any order. */
bool cond_same_set(const struct policy_cond *a, size_t na, const struct policy_cond *b, size_t nb);
