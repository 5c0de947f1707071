/* Shared by the two halves of the loader: policy.c (the document, groups and
 * roles, and the cross-rule checks) and rule.c (one rule and its conditions). */
#pragma once

#include <stdbool.h>

#include "cleanup.h"
#include "policy.h"
#include "yamltree.h"

/* Caps on what one policy may hold, so hostile files stay cheap to check. */
#define POLICY_MAX_RULES 1024
#define POLICY_MAX_ENTRIES 2048 /* (rule, syscall) pairs per role: the pairwise checks stay cheap */
#define POLICY_MAX_SYSCALLS_PER_RULE 64
#define POLICY_MAX_COMMENT 1024

struct pload {
	const char *path;
	struct policy *p;
	struct policy_error *err;
};

/* Records the first error at node's position; returns -EINVAL. */
_printf_(3, 4) int pload_fail(struct pload *l, const struct ytree *at, const char *fmt, ...);
/* The same at a line and column. */
_printf_(4, 5) int pload_fail_pos(struct pload *l, unsigned line, unsigned col, const char *fmt, ...);
/* Refuses a non-mapping and any key not in allowed (NULL-terminated). */
int pload_check_keys(struct pload *l, const struct ytree *map, const char *const *allowed, const char *what);
/* A non-empty scalar, or an error naming what was expected. */
int pload_scalar(struct pload *l, const struct ytree *node, const char *what, const char **ret);

/* A free text of at most POLICY_MAX_COMMENT bytes (a comment, a reason),
 * copied into *ret; key names it in the length error. */
int pload_text(struct pload *l, const struct ytree *node, const char *key, const char *what, char **ret);
int pload_action(struct pload *l, const struct ytree *node, struct policy_action *ret);
/* Parses one rule mapping into *ret (zeroed by the caller); on failure *ret
 * may hold partial allocations, which policy_rule_clear releases. */
int pload_rule(struct pload *l, const struct ytree *node, const char *group, struct policy_rule *ret);
void policy_rule_clear(struct policy_rule *r);
/* The policy lint (lint.c): refuses, at the syscall's position, a rule that
 * allows a dangerous syscall, or one without the condition that makes it
 * safe, unless the rule carries dangerous: "<reason>" (the node, or NULL),
 * which it then stores in r->dangerous. Returns 0, -EINVAL or -ENOMEM. */
int pload_lint(struct pload *l, const struct ytree *dangerous, struct policy_rule *r);
/* True when the two rules have the same set of conditions, in any order. */
bool policy_rule_same_conds(const struct policy_rule *a, const struct policy_rule *b);
