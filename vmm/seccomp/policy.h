/* Seccomp policies: the validated form of a YAML policy file.
 *
 * One policy describes the three thread roles of ember (vmm, api, vcpu).
 * The loader (policy_load) is the only place where policy text is read; it
 * refuses anything ambiguous or unknown with file:line:column, so that every
 * struct policy in memory is complete and consistent. doc/seccomp-policy.md
 * describes the format. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum seccomp_role {
	SECCOMP_ROLE_VMM,
	SECCOMP_ROLE_API,
	SECCOMP_ROLE_VCPU,
	SECCOMP_ROLE_COUNT,
};

/* The optional `startup` section: rules that only the process-wide baseline
 * carries, for the set-up work a thread does before it takes its role. */
#define POLICY_STARTUP SECCOMP_ROLE_COUNT
#define POLICY_SECTIONS (SECCOMP_ROLE_COUNT + 1)

enum policy_action_kind {
	POLICY_ALLOW,
	POLICY_ERRNO,
	POLICY_TRAP,
	POLICY_LOG,
	POLICY_KILL_THREAD,
	POLICY_KILL_PROCESS,
};

struct policy_action {
	enum policy_action_kind kind;
	uint32_t errno_value; /* POLICY_ERRNO only */
};

enum policy_op {
	POLICY_OP_EQ,
	POLICY_OP_NE,
	POLICY_OP_LT,
	POLICY_OP_LE,
	POLICY_OP_GT,
	POLICY_OP_GE,
	POLICY_OP_MASKED_EQ, /* (arg & mask) == value */
	POLICY_OP_IN,        /* the set bits of arg are a subset of value */
	POLICY_OP_ONE_OF,    /* arg equals one of values[] */
};

#define POLICY_MAX_ONE_OF 32
#define POLICY_MAX_ARGS 6

/* A condition on one syscall argument. Width 32 compares the low 32 bits
 * only, as the kernel reads an int argument. */
struct policy_cond {
	uint8_t arg;   /* 0..5 */
	uint8_t width; /* 32 or 64 */
	enum policy_op op;
	uint64_t value; /* all ops but one_of */
	uint64_t mask;  /* masked_eq */
	uint64_t values[POLICY_MAX_ONE_OF];
	size_t n_values;
	char *text; /* the condition as written, for explain */
};

struct policy_rule {
	int *syscalls; /* native syscall numbers */
	char **names;  /* the names as written, same order */
	unsigned *name_line, *name_col;
	size_t n_syscalls;
	struct policy_action action;
	struct policy_cond *conds;
	size_t n_conds;
	char *comment;
	char *dangerous; /* the reason given for a rule the lint flags, or NULL */
	unsigned line, col;
	const char *group; /* owning group name, or NULL for a role's own rule */
};

struct policy_group {
	char *name;
	struct policy_rule *rules;
	size_t n_rules;
	unsigned line, col;
};

/* A role refers to its rules; rules owned by groups are shared. */
struct policy_role {
	const struct policy_rule **rules;
	size_t n_rules;
	struct policy_rule *own;
	size_t n_own;
};

struct policy {
	char *path;
	uint32_t arch; /* AUDIT_ARCH_* */
	struct policy_action default_action;
	struct policy_action bad_arch_action;
	struct policy_group *groups;
	size_t n_groups;
	struct policy_role roles[POLICY_SECTIONS]; /* the roles, then startup */
};

/* A loader error, already formatted as "file:line:column: message". */
struct policy_error {
	char msg[512];
};

/* Parses and validates the policy text buf[0..len) named path (used in
 * messages). On success *ret owns a policy to free with policy_free().
 * Returns 0, -EINVAL (err filled in) or -ENOMEM. */
int policy_load_buffer(const char *path, const char *buf, size_t len, struct policy **ret,
		       struct policy_error *err);
/* Reads path (at most YTREE_MAX_INPUT bytes) and loads it as above; -errno of
 * the read also comes with a message in err. */
int policy_load_file(const char *path, struct policy **ret, struct policy_error *err);

/* Frees a policy; accepts NULL and returns NULL. */
struct policy *policy_free(struct policy *p);

/* The name of a role or of the startup section (index POLICY_STARTUP). */
const char *policy_role_name(unsigned role);
/* Returns the role for name, or -EINVAL. */
int policy_role_parse(const char *name);
const char *policy_op_name(enum policy_op op);
/* The distinct syscall numbers named by the sections in mask (bit i: role i,
 * bit POLICY_STARTUP: startup), sorted. The caller frees *ret. Returns 0 or
 * -ENOMEM. */
int policy_syscalls(const struct policy *p, unsigned mask, int **ret, size_t *ret_n);
/* Formats an action as it is written in a policy ("allow", "errno: 1"). */
void policy_action_format(const struct policy_action *a, char *buf, size_t len);
