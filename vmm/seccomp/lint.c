/* Policy lint: the syscalls a VMM policy must not allow without saying why.
 *
 * A compromised VMM that may call one of these can leave its jail (mount,
 * namespaces, open_by_handle_at), take over other processes (ptrace,
 * process_vm_*), run new code (execve, PROT_EXEC memory) or reach a large
 * kernel surface (bpf, perf, keyrings, modules). Some are safe behind one
 * condition: memory without PROT_EXEC, a socket of a named family, clone
 * without namespace flags, ioctl on named requests. clone3 passes its flags
 * in memory that seccomp cannot read, so it may only answer ENOSYS (glibc
 * then falls back to clone, whose flags a condition can pin; systemd's
 * seccomp_restrict_namespaces does the same). A rule that really needs one
 * says so with `dangerous: "<reason>"`; such a rule passes, and a
 * `dangerous` key on a rule the lint does not flag is refused. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "policy-internal.h"

#define LOW32 0xffffffffull

/* Every CLONE_NEW* flag clone(2) can carry (CLONE_NEWTIME is clone3's and
 * unshare's only: in clone's flags its bit is the exit signal). */
#define CLONE_NS_FLAGS                                                                                        \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

enum lint_kind {
	LINT_NEVER,    /* no condition makes it safe */
	LINT_CLONE3,   /* only {errno: ENOSYS} */
	LINT_NO_BITS,  /* safe when no allowed value of arg has a bit of bits */
	LINT_PINNED,   /* safe when arg is pinned to listed values (eq, one_of) */
};

struct lint_entry {
	const char *names[8];
	enum lint_kind kind;
	unsigned arg;
	uint64_t bits;
	const char *why; /* what the call gives a compromised VMM, or the condition it needs */
};

static const struct lint_entry lint_table[] = {
	{ { "execve", "execveat" }, LINT_NEVER, 0, 0, "runs another program" },
	{ { "ptrace", "process_vm_readv", "process_vm_writev" }, LINT_NEVER, 0, 0,
	  "reads and writes the memory of other processes" },
	{ { "unshare", "setns" }, LINT_NEVER, 0, 0, "makes or enters namespaces" },
	{ { "mount", "umount2", "pivot_root", "chroot" }, LINT_NEVER, 0, 0, "changes the mounts or the root" },
	{ { "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr" }, LINT_NEVER, 0,
	  0, "changes the mounts (the new mount API)" },
	{ { "bpf" }, LINT_NEVER, 0, 0, "loads BPF programs into the kernel" },
	{ { "kexec_load", "kexec_file_load" }, LINT_NEVER, 0, 0, "replaces the running kernel" },
	{ { "init_module", "finit_module", "delete_module" }, LINT_NEVER, 0, 0, "loads or removes kernel modules" },
	{ { "keyctl", "add_key", "request_key" }, LINT_NEVER, 0, 0, "reaches the kernel keyrings" },
	{ { "perf_event_open" }, LINT_NEVER, 0, 0, "opens the perf subsystem, a large kernel surface" },
	{ { "open_by_handle_at" }, LINT_NEVER, 0, 0, "opens files by handle, past the chroot" },
	{ { "clone3" }, LINT_CLONE3, 0, 0,
	  "must answer {errno: ENOSYS}: its flags are in memory seccomp cannot read, and on ENOSYS glibc falls "
	  "back to clone" },
	{ { "mmap", "mprotect", "pkey_mprotect" }, LINT_NO_BITS, 2, PROT_EXEC,
	  "without a condition on arg 2 that keeps PROT_EXEC out" },
	{ { "clone" }, LINT_NO_BITS, 0, CLONE_NS_FLAGS,
	  "without a condition on arg 0 that keeps every namespace flag (CLONE_NEW*) out" },
	{ { "socket" }, LINT_PINNED, 0, 0, "without a condition pinning the family (arg 0, eq or one_of)" },
	{ { "ioctl" }, LINT_PINNED, 1, 0, "without a condition pinning the request (arg 1, eq or one_of)" },
};

static const struct lint_entry *lint_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(lint_table); i++)
		for (size_t k = 0; k < ARRAY_SIZE(lint_table[i].names) && lint_table[i].names[k]; k++)
			if (strcmp(lint_table[i].names[k], name) == 0)
				return &lint_table[i];
	return NULL;
}

/* x with every bit below its highest set bit set too. */
static uint64_t bits_fill(uint64_t x)
{
	for (unsigned s = 1; s < 64; s <<= 1)
		x |= x >> s;
	return x;
}

/* The bits that some value the condition lets through may have set: an over-
 * approximation (ne, gt and ge may set any bit). The bits the lint asks
 * about are all in the low 32, which a width-32 condition compares exactly. */
static uint64_t cond_possible_bits(const struct policy_cond *c)
{
	uint64_t acc = 0;

	switch (c->op) {
	case POLICY_OP_EQ:
	case POLICY_OP_IN:
		return c->value;
	case POLICY_OP_ONE_OF:
		for (size_t i = 0; i < c->n_values; i++)
			acc |= c->values[i];
		return acc;
	case POLICY_OP_MASKED_EQ:
		return c->value | ~c->mask;
	case POLICY_OP_LT:
		return c->value ? bits_fill(c->value - 1) : 0;
	case POLICY_OP_LE:
		return bits_fill(c->value);
	default:
		return UINT64_MAX;
	}
}

/* A condition that lets through only values it lists. */
static bool cond_pins(const struct policy_cond *c)
{
	return c->op == POLICY_OP_EQ || c->op == POLICY_OP_ONE_OF ||
	       (c->op == POLICY_OP_MASKED_EQ && (c->mask & LOW32) == LOW32);
}

static const struct policy_cond *rule_cond(const struct policy_rule *r, unsigned arg)
{
	for (size_t i = 0; i < r->n_conds; i++)
		if (r->conds[i].arg == arg)
			return &r->conds[i];
	return NULL;
}

static bool action_lets_through(const struct policy_action *a)
{
	return a->kind == POLICY_ALLOW || a->kind == POLICY_LOG;
}

/* True when the rule does what e warns about. */
static bool lint_flags(const struct lint_entry *e, const struct policy_rule *r)
{
	const struct policy_cond *c = rule_cond(r, e->arg);

	switch (e->kind) {
	case LINT_CLONE3:
		return r->action.kind != POLICY_ERRNO || r->action.errno_value != ENOSYS;
	case LINT_NEVER:
		return action_lets_through(&r->action);
	case LINT_NO_BITS:
		return action_lets_through(&r->action) && (!c || (cond_possible_bits(c) & e->bits));
	case LINT_PINNED:
		return action_lets_through(&r->action) && (!c || !cond_pins(c));
	}
	return true;
}

int pload_lint(struct pload *l, const struct ytree *dangerous, struct policy_rule *r)
{
	bool flagged = false;

	for (size_t i = 0; i < r->n_syscalls; i++) {
		const struct lint_entry *e = lint_find(r->names[i]);
		char what[400];

		if (!e || !lint_flags(e, r))
			continue;
		flagged = true;
		if (dangerous)
			continue;
		snprintf(what, sizeof(what),
			 e->kind == LINT_NEVER ? "rule allows '%s', which %s"
			 : e->kind == LINT_CLONE3 ? "'%s' %s" : "rule allows '%s' %s", r->names[i], e->why);
		return pload_fail_pos(l, r->name_line[i], r->name_col[i],
				      "%s: refused unless the rule says why with dangerous: \"<reason>\"", what);
	}
	if (!dangerous)
		return 0;
	if (!flagged)
		return pload_fail(l, dangerous, "dangerous on a rule the policy lint does not flag: drop it");
	return pload_text(l, dangerous, "dangerous", "a reason", &r->dangerous);
}
