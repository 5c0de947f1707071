#include "compile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "cond.h"
#include "policy-internal.h"

/* The binary-tree syscall dispatch costs a few instructions of set-up but
 * turns the linear scan over syscall numbers into a logarithmic one; below
 * this many syscalls the scan is as short (bench/seccomp measures both). */
#define COMPILE_TREE_MIN_SYSCALLS 16

static uint32_t action_bits(const struct policy_action *a)
{
	switch (a->kind) {
	case POLICY_ALLOW:
		return SCMP_ACT_ALLOW;
	case POLICY_ERRNO:
		return SCMP_ACT_ERRNO(a->errno_value);
	case POLICY_TRAP:
		return SCMP_ACT_TRAP;
	case POLICY_LOG:
		return SCMP_ACT_LOG;
	case POLICY_KILL_THREAD:
		return SCMP_ACT_KILL;
	default:
		return SCMP_ACT_KILL_PROCESS;
	}
}

/* Adds one libseccomp rule per combination of the conditions' alternatives. */
static int rule_add(scmp_filter_ctx ctx, uint32_t action, int nr, const struct policy_cond *conds, size_t n_conds)
{
	struct scmp_arg_cmp alts[POLICY_MAX_ARGS][COND_MAX_ALTS], pick[POLICY_MAX_ARGS];
	size_t n_alts[POLICY_MAX_ARGS], idx[POLICY_MAX_ARGS] = { 0 };
	int r;

	for (size_t i = 0; i < n_conds; i++) {
		r = cond_expand(&conds[i], alts[i], COND_MAX_ALTS);
		if (r <= 0)
			return r < 0 ? r : -EINVAL;
		n_alts[i] = (size_t)r;
	}
	for (;;) {
		size_t k = 0;

		for (size_t i = 0; i < n_conds; i++)
			pick[i] = alts[i][idx[i]];
		r = seccomp_rule_add_exact_array(ctx, action, nr, (unsigned)n_conds, pick);
		if (r < 0)
			return r;
		while (k < n_conds && ++idx[k] == n_alts[k])
			idx[k++] = 0;
		if (k == n_conds)
			return 0;
	}
}

static int role_add(scmp_filter_ctx ctx, const struct policy_role *role)
{
	for (size_t i = 0; i < role->n_rules; i++) {
		const struct policy_rule *rule = role->rules[i];

		for (size_t s = 0; s < rule->n_syscalls; s++) {
			int r = rule_add(ctx, action_bits(&rule->action), rule->syscalls[s], rule->conds, rule->n_conds);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static bool rule_has(const struct policy_rule *rule, int nr)
{
	for (size_t s = 0; s < rule->n_syscalls; s++)
		if (rule->syscalls[s] == nr)
			return true;
	return false;
}

/* True when some role lets nr through without looking at its arguments, or
 * acts on it with something other than allow: the baseline then allows it
 * outright and leaves the decision to the role filters. */
static bool baseline_unconditional(const struct policy *p, int nr)
{
	for (size_t ro = 0; ro < POLICY_SECTIONS; ro++)
		for (size_t i = 0; i < p->roles[ro].n_rules; i++) {
			const struct policy_rule *rule = p->roles[ro].rules[i];

			if (rule_has(rule, nr) && (rule->n_conds == 0 || rule->action.kind != POLICY_ALLOW))
				return true;
		}
	return false;
}

/* True when every rule for nr, in every section, gives it one action other
 * than allow and looks at no argument (clone3's ENOSYS): the baseline then
 * answers with that action too, rather than let the call through to the
 * role filters, which a thread without its role yet does not have. */
static bool baseline_uniform(const struct policy *p, int nr, struct policy_action *ret)
{
	const struct policy_rule *first = NULL;

	for (size_t ro = 0; ro < POLICY_SECTIONS; ro++)
		for (size_t i = 0; i < p->roles[ro].n_rules; i++) {
			const struct policy_rule *rule = p->roles[ro].rules[i];

			if (!rule_has(rule, nr))
				continue;
			if (rule->action.kind == POLICY_ALLOW || rule->n_conds)
				return false;
			if (first && (first->action.kind != rule->action.kind ||
				      first->action.errno_value != rule->action.errno_value))
				return false;
			first = rule;
		}
	if (!first)
		return false;
	*ret = first->action;
	return true;
}

/* Adds nr's conditional allow rules from every role, each distinct rule once. */
static int baseline_conditional(scmp_filter_ctx ctx, const struct policy *p, int nr)
{
	_cleanup_free_ const struct policy_rule **seen = NULL;
	size_t n_seen = 0, total = 0;

	for (size_t ro = 0; ro < POLICY_SECTIONS; ro++)
		total += p->roles[ro].n_rules;
	seen = calloc(total + 1, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	for (size_t ro = 0; ro < POLICY_SECTIONS; ro++)
		for (size_t i = 0; i < p->roles[ro].n_rules; i++) {
			const struct policy_rule *rule = p->roles[ro].rules[i];
			bool dup = false;
			int r;

			if (!rule_has(rule, nr))
				continue;
			for (size_t k = 0; k < n_seen && !dup; k++)
				dup = seen[k] == rule || cond_same_set(seen[k]->conds, seen[k]->n_conds, rule->conds, rule->n_conds);
			if (dup)
				continue;
			seen[n_seen++] = rule;
			r = rule_add(ctx, SCMP_ACT_ALLOW, nr, rule->conds, rule->n_conds);
			if (r < 0)
				return r;
		}
	return 0;
}

static int baseline_add(scmp_filter_ctx ctx, const struct policy *p, const int *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct policy_action uniform;
		int r;

		if (baseline_uniform(p, nrs[i], &uniform))
			r = seccomp_rule_add_exact(ctx, action_bits(&uniform), nrs[i], 0);
		else if (baseline_unconditional(p, nrs[i]))
			r = seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, nrs[i], 0);
		else
			r = baseline_conditional(ctx, p, nrs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* libseccomp 2.5 exports only to a file descriptor: go through a memfd. */
static int prog_export(scmp_filter_ctx ctx, struct compiled_prog *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	fd = memfd_create("ember-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return r;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	r = fd_read_all(fd, BPF_MAXINSNS * sizeof(struct sock_filter), &buf, &len);
	if (r < 0)
		return r == -EFBIG ? -E2BIG : r;
	if (len == 0 || len % sizeof(struct sock_filter))
		return -EINVAL;
	ret->insns = (struct sock_filter *)TAKE_PTR(buf);
	ret->n_insns = len / sizeof(struct sock_filter);
	return 0;
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int compile_program(const struct policy *p, unsigned which, struct compiled_prog *ret)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = NULL;
	_cleanup_free_ int *nrs = NULL;
	size_t n;
	int r;

	if (which > COMPILE_BASELINE)
		return -EINVAL;
	r = policy_syscalls(p, which == COMPILE_BASELINE ? ~0u : 1u << which, &nrs, &n);
	if (r < 0)
		return r;
	ctx = seccomp_init(action_bits(&p->default_action));
	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, action_bits(&p->bad_arch_action));
	if (r >= 0 && n >= COMPILE_TREE_MIN_SYSCALLS)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r >= 0)
		r = which == COMPILE_BASELINE ? baseline_add(ctx, p, nrs, n) : role_add(ctx, &p->roles[which]);
	if (r >= 0)
		r = prog_export(ctx, ret);
	return r;
}

void compile_prog_clear(struct compiled_prog *prog)
{
	prog->insns = mfree(prog->insns);
	prog->n_insns = 0;
}
