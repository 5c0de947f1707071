/* The policy document: version, arches, defaults, groups and roles, and the
 * checks that look across rules (duplicates, contradictions, unused groups). */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "fd.h"
#include "policy-internal.h"

static const char *const role_names[] = {
	[SECCOMP_ROLE_VMM] = "vmm",
	[SECCOMP_ROLE_API] = "api",
	[SECCOMP_ROLE_VCPU] = "vcpu",
	[POLICY_STARTUP] = "startup",
};

const char *policy_role_name(unsigned role)
{
	return (unsigned)role < ARRAY_SIZE(role_names) ? role_names[role] : "?";
}

int policy_role_parse(const char *name)
{
	for (size_t i = 0; i < SECCOMP_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

static _printf_(4, 0) int fail_at(struct pload *l, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	char msg[400];

	if (l->err->msg[0])
		return -EINVAL; /* keep the first error */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(l->err->msg, sizeof(l->err->msg), "%s:%u:%u: %s", l->path, line, col, msg);
	return -EINVAL;
}

int pload_fail(struct pload *l, const struct ytree *at, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fail_at(l, at->line, at->col, fmt, ap);
	va_end(ap);
	return r;
}

int pload_fail_pos(struct pload *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fail_at(l, line, col, fmt, ap);
	va_end(ap);
	return r;
}

int pload_check_keys(struct pload *l, const struct ytree *map, const char *const *allowed, const char *what)
{
	if (map->kind != YT_MAP)
		return pload_fail(l, map, "expected a mapping for %s", what);
	for (size_t i = 0; i < map->n; i += 2) {
		size_t k = 0;

		while (allowed[k] && strcmp(allowed[k], map->items[i]->scalar) != 0)
			k++;
		if (!allowed[k])
			return pload_fail(l, map->items[i], "unknown key '%s' in %s", map->items[i]->scalar, what);
	}
	return 0;
}

int pload_scalar(struct pload *l, const struct ytree *node, const char *what, const char **ret)
{
	if (node->kind != YT_SCALAR || !node->scalar[0])
		return pload_fail(l, node, "expected %s", what);
	*ret = node->scalar;
	return 0;
}

static int version_parse(struct pload *l, const struct ytree *node)
{
	if (!node)
		return pload_fail_pos(l, 1, 1, "missing 'version' (this build reads version 1)");
	if (node->kind != YT_SCALAR || !node->plain || strcmp(node->scalar, "1") != 0)
		return pload_fail(l, node, "unsupported version (this build reads version 1)");
	return 0;
}

static int arches_parse(struct pload *l, const struct ytree *node)
{
	if (!node)
		return pload_fail_pos(l, 1, 1, "missing 'arches'");
	if (node->kind != YT_SEQ || node->n != 1)
		return pload_fail(l, node, "arches must be a list of one arch ([x86_64])");
	if (node->items[0]->kind != YT_SCALAR || strcmp(node->items[0]->scalar, "x86_64") != 0)
		return pload_fail(l, node->items[0], "this build provides only the x86_64 arch");
	l->p->arch = AUDIT_ARCH_X86_64;
	return 0;
}

static int defaults_parse(struct pload *l, const struct ytree *node)
{
	static const char *const keys[] = { "action", "bad_arch", NULL };
	const struct ytree *action, *bad;

	if (!node)
		return pload_fail_pos(l, 1, 1, "missing 'defaults'");
	if (pload_check_keys(l, node, keys, "defaults") < 0)
		return -EINVAL;
	action = ytree_map_get(node, "action");
	bad = ytree_map_get(node, "bad_arch");
	if (!action || !bad)
		return pload_fail(l, node, "defaults needs both 'action' and 'bad_arch'");
	if (pload_action(l, action, &l->p->default_action) < 0 || pload_action(l, bad, &l->p->bad_arch_action) < 0)
		return -EINVAL;
	if (l->p->default_action.kind == POLICY_ALLOW)
		return pload_fail(l, action, "the default action must deny: a policy is an allowlist");
	if (l->p->bad_arch_action.kind == POLICY_ALLOW || l->p->bad_arch_action.kind == POLICY_LOG)
		return pload_fail(l, bad, "bad_arch must deny: a call from another arch's syscall table is an attack");
	return 0;
}

static int rules_parse(struct pload *l, const struct ytree *node, const char *group, struct policy_rule **ret,
		       size_t *ret_n)
{
	struct policy_rule *rules;

	if (node->kind != YT_SEQ || node->n == 0 || node->n > POLICY_MAX_RULES)
		return pload_fail(l, node, "expected a list of 1..%d rules", POLICY_MAX_RULES);
	rules = calloc(node->n, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	*ret = rules; /* owned by the caller from here on, so a failure frees it too */
	for (size_t i = 0; i < node->n; i++) {
		int r = pload_rule(l, node->items[i], group, &rules[i]);

		*ret_n = i + 1;
		if (r < 0)
			return r;
	}
	return 0;
}

static int groups_parse(struct pload *l, const struct ytree *node)
{
	struct policy *p = l->p;

	if (!node)
		return 0;
	if (node->kind != YT_MAP)
		return pload_fail(l, node, "groups must map group names to lists of rules");
	p->groups = calloc(node->n / 2 + 1, sizeof(*p->groups));
	if (!p->groups)
		return -ENOMEM;
	for (size_t i = 0; i < node->n; i += 2) {
		struct policy_group *g = &p->groups[p->n_groups++];

		g->line = node->items[i]->line;
		g->col = node->items[i]->col;
		g->name = strdup(node->items[i]->scalar);
		if (!g->name)
			return -ENOMEM;
		if (rules_parse(l, node->items[i + 1], g->name, &g->rules, &g->n_rules) < 0)
			return -EINVAL;
	}
	return 0;
}

static const struct policy_group *group_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_groups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

static int role_push(struct policy_role *role, const struct policy_rule *rule)
{
	const struct policy_rule **n;
	size_t entries = rule->n_syscalls;

	for (size_t i = 0; i < role->n_rules; i++)
		entries += role->rules[i]->n_syscalls;
	if (role->n_rules >= POLICY_MAX_RULES || entries > POLICY_MAX_ENTRIES)
		return -E2BIG;
	n = realloc(role->rules, (role->n_rules + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	role->rules = n;
	role->rules[role->n_rules++] = rule;
	return 0;
}

static int role_use(struct pload *l, const struct ytree *node, struct policy_role *role, bool *used)
{
	if (node->kind != YT_SEQ)
		return pload_fail(l, node, "use must be a list of group names");
	for (size_t i = 0; i < node->n; i++) {
		const struct ytree *it = node->items[i];
		const struct policy_group *g;
		const char *name;

		if (pload_scalar(l, it, "a group name", &name) < 0)
			return -EINVAL;
		g = group_find(l->p, name);
		if (!g)
			return pload_fail(l, it, "unknown group '%s'", name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(node->items[j]->scalar, name) == 0)
				return pload_fail(l, it, "group '%s' used twice", name);
		used[g - l->p->groups] = true;
		for (size_t k = 0; k < g->n_rules; k++)
			if (role_push(role, &g->rules[k]) < 0)
				return pload_fail(l, it, "role has more than %d rules or %d syscall entries",
						  POLICY_MAX_RULES, POLICY_MAX_ENTRIES);
	}
	return 0;
}

static int role_parse(struct pload *l, const struct ytree *node, struct policy_role *role, bool *used)
{
	static const char *const keys[] = { "use", "rules", NULL };
	const struct ytree *use, *rules;
	int r;

	if (pload_check_keys(l, node, keys, "a role") < 0)
		return -EINVAL;
	use = ytree_map_get(node, "use");
	rules = ytree_map_get(node, "rules");
	if (!use && !rules)
		return pload_fail(l, node, "a role needs 'use' or 'rules'");
	if (use && role_use(l, use, role, used) < 0)
		return -EINVAL;
	if (!rules)
		return 0;
	r = rules_parse(l, rules, NULL, &role->own, &role->n_own);
	for (size_t k = 0; r >= 0 && k < role->n_own; k++)
		if (role_push(role, &role->own[k]) < 0)
			r = pload_fail(l, rules, "role has more than %d rules or %d syscall entries", POLICY_MAX_RULES,
				       POLICY_MAX_ENTRIES);
	return r;
}

/* Two rules of one role for the same syscall: identical conditions are a
 * duplicate (or a contradiction when the actions differ), and a rule without
 * conditions next to one with conditions makes one of them meaningless. */
static int pair_check(struct pload *l, unsigned role, const struct policy_rule *a, size_t ai,
		      const struct policy_rule *b, size_t bi)
{
	bool same_action = a->action.kind == b->action.kind && a->action.errno_value == b->action.errno_value;

	if (policy_rule_same_conds(a, b))
		return pload_fail_pos(l, b->name_line[bi], b->name_col[bi], "%s rule for '%s' in role %s (first at %u:%u)",
				same_action ? "duplicate" : "contradictory", b->names[bi], policy_role_name(role),
				a->name_line[ai], a->name_col[ai]);
	if (a->n_conds == 0 || b->n_conds == 0)
		return pload_fail_pos(l, b->name_line[bi], b->name_col[bi],
				"rule for '%s' in role %s contradicts the rule at %u:%u: one has conditions, the other "
				"none", b->names[bi], policy_role_name(role), a->name_line[ai], a->name_col[ai]);
	return 0;
}

static int role_check(struct pload *l, unsigned role)
{
	const struct policy_role *r = &l->p->roles[role];

	for (size_t i = 0; i < r->n_rules; i++)
		for (size_t si = 0; si < r->rules[i]->n_syscalls; si++)
			for (size_t j = i + 1; j < r->n_rules; j++)
				for (size_t sj = 0; sj < r->rules[j]->n_syscalls; sj++)
					if (r->rules[i]->syscalls[si] == r->rules[j]->syscalls[sj] &&
					    pair_check(l, role, r->rules[i], si, r->rules[j], sj) < 0)
						return -EINVAL;
	return 0;
}

static int roles_parse(struct pload *l, const struct ytree *root, const struct ytree *node)
{
	static const char *const role_keys[] = { "vmm", "api", "vcpu", NULL };
	_cleanup_free_ bool *used = NULL;
	const struct ytree *rn;
	int r;

	if (!node)
		return pload_fail_pos(l, 1, 1, "missing 'roles'");
	if (pload_check_keys(l, node, role_keys, "roles") < 0)
		return -EINVAL;
	used = calloc(l->p->n_groups + 1, sizeof(*used));
	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < SECCOMP_ROLE_COUNT; i++) {
		rn = ytree_map_get(node, role_names[i]);
		if (!rn)
			return pload_fail(l, node, "missing role '%s' (a policy has vmm, api and vcpu)", role_names[i]);
		r = role_parse(l, rn, &l->p->roles[i], used);
		if (r >= 0)
			r = role_check(l, (unsigned)i);
		if (r < 0)
			return r;
	}
	rn = ytree_map_get(root, "startup");
	if (rn && (role_parse(l, rn, &l->p->roles[POLICY_STARTUP], used) < 0 || role_check(l, POLICY_STARTUP) < 0))
		return -EINVAL;
	for (size_t g = 0; g < l->p->n_groups; g++)
		if (!used[g])
			return pload_fail_pos(l, l->p->groups[g].line, l->p->groups[g].col, "group '%s' is used by no role",
					l->p->groups[g].name);
	return 0;
}

static int document_parse(struct pload *l, const struct ytree *root)
{
	static const char *const keys[] = { "version", "arches", "defaults", "groups", "startup", "roles", NULL };

	if (pload_check_keys(l, root, keys, "the policy") < 0)
		return -EINVAL;
	if (version_parse(l, ytree_map_get(root, "version")) < 0 || arches_parse(l, ytree_map_get(root, "arches")) < 0 ||
	    defaults_parse(l, ytree_map_get(root, "defaults")) < 0)
		return -EINVAL;
	if (groups_parse(l, ytree_map_get(root, "groups")) < 0)
		return -EINVAL;
	return roles_parse(l, root, ytree_map_get(root, "roles"));
}

static int int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int policy_syscalls(const struct policy *p, unsigned mask, int **ret, size_t *ret_n)
{
	size_t total = 0, n = 0, out = 0;
	int *nrs;

	for (size_t ro = 0; ro < POLICY_SECTIONS; ro++)
		for (size_t i = 0; i < p->roles[ro].n_rules; i++)
			total += p->roles[ro].rules[i]->n_syscalls;
	nrs = calloc(total + 1, sizeof(*nrs));
	if (!nrs)
		return -ENOMEM;
	for (size_t ro = 0; ro < POLICY_SECTIONS; ro++)
		for (size_t i = 0; (mask & (1u << ro)) && i < p->roles[ro].n_rules; i++)
			for (size_t s = 0; s < p->roles[ro].rules[i]->n_syscalls; s++)
				nrs[n++] = p->roles[ro].rules[i]->syscalls[s];
	qsort(nrs, n, sizeof(*nrs), int_cmp);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || nrs[out - 1] != nrs[i])
			nrs[out++] = nrs[i];
	*ret = nrs;
	*ret_n = out;
	return 0;
}

struct policy *policy_free(struct policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_groups; i++) {
		for (size_t k = 0; k < p->groups[i].n_rules; k++)
			policy_rule_clear(&p->groups[i].rules[k]);
		free(p->groups[i].rules);
		free(p->groups[i].name);
	}
	free(p->groups);
	for (size_t i = 0; i < POLICY_SECTIONS; i++) {
		for (size_t k = 0; k < p->roles[i].n_own; k++)
			policy_rule_clear(&p->roles[i].own[k]);
		free(p->roles[i].own);
		free(p->roles[i].rules);
	}
	free(p->path);
	return mfree(p);
}

int policy_load_buffer(const char *path, const char *buf, size_t len, struct policy **ret, struct policy_error *err)
{
	struct ytree_error yerr;
	struct ytree *root = NULL;
	struct policy *p;
	struct pload l = { .path = path, .err = err };
	int r;

	err->msg[0] = '\0';
	r = ytree_parse(buf, len, &root, &yerr);
	if (r == -EINVAL)
		return pload_fail_pos(&l, yerr.line, yerr.col, "%s", yerr.msg);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	l.p = p;
	r = p ? document_parse(&l, root) : -ENOMEM;
	if (r >= 0 && !(p->path = strdup(path)))
		r = -ENOMEM;
	ytree_free(root);
	if (r < 0) {
		policy_free(p);
		if (r == -ENOMEM)
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
		return r;
	}
	*ret = p;
	return 0;
}

int policy_load_file(const char *path, struct policy **ret, struct policy_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", path, strerror(errno));
		return -errno;
	}
	r = fd_read_all(fd, YTREE_MAX_INPUT, &buf, &len);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path,
			 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	return policy_load_buffer(path, buf, len, ret, err);
}
