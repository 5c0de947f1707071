/* ember-seccomp: check, compile, explain and diff seccomp policies. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "policy.h"

/* Loads path or prints the loader's message to stderr. Returns the policy or NULL. */
struct policy *tool_load(const char *path);

/* The distinct syscall numbers of a role (or section), sorted; the caller frees. */
int tool_role_syscalls(const struct policy *p, unsigned role, int **ret, size_t *ret_n);
bool tool_role_has(const struct policy *p, unsigned role, int nr);
/* The name of syscall nr as the policy wrote it. */
const char *tool_syscall_name(const struct policy *p, int nr);
/* Prints one rule's action and conditions ("allow if arg1/32 eq KVM_RUN"). */
void tool_rule_print(FILE *out, const struct policy_rule *rule);

int tool_explain(int argc, char **argv);
int tool_diff(int argc, char **argv);
