/* One rule of a policy: its syscalls, action, argument conditions and comment. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "constants.h"
#include "parse.h"
#include "policy-internal.h"

static const char *const op_names[] = {
	[POLICY_OP_EQ] = "eq", [POLICY_OP_NE] = "ne", [POLICY_OP_LT] = "lt",
	[POLICY_OP_LE] = "le", [POLICY_OP_GT] = "gt", [POLICY_OP_GE] = "ge",
	[POLICY_OP_MASKED_EQ] = "masked_eq", [POLICY_OP_IN] = "in", [POLICY_OP_ONE_OF] = "one_of",
};

const char *policy_op_name(enum policy_op op)
{
	return (unsigned)op < ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

static const char *const action_names[] = {
	[POLICY_ALLOW] = "allow", [POLICY_ERRNO] = "errno", [POLICY_TRAP] = "trap",
	[POLICY_LOG] = "log", [POLICY_KILL_THREAD] = "kill_thread", [POLICY_KILL_PROCESS] = "kill_process",
};

void policy_action_format(const struct policy_action *a, char *buf, size_t len)
{
	if (a->kind == POLICY_ERRNO)
		snprintf(buf, len, "errno: %u", a->errno_value);
	else
		snprintf(buf, len, "%s", action_names[a->kind]);
}

int pload_action(struct pload *l, const struct ytree *node, struct policy_action *ret)
{
	static const char *const keys[] = { "errno", NULL };
	const struct ytree *v;
	int64_t c;
	uint64_t n;

	if (node->kind == YT_SCALAR) {
		for (size_t i = 0; i < ARRAY_SIZE(action_names); i++)
			if (i != POLICY_ERRNO && strcmp(node->scalar, action_names[i]) == 0) {
				*ret = (struct policy_action){ .kind = (enum policy_action_kind)i };
				return 0;
			}
		return pload_fail(l, node, "unknown action '%s' (allow, errno: N, trap, log, kill_thread, kill_process)",
				  node->scalar);
	}
	if (pload_check_keys(l, node, keys, "an action") < 0)
		return -EINVAL;
	v = ytree_map_get(node, "errno");
	if (!v || v->kind != YT_SCALAR)
		return pload_fail(l, node, "an errno action needs a value: {errno: EPERM}");
	if (parse_u64(v->scalar, true, 4095, &n) < 0) {
		if (seccomp_const_lookup(l->p->arch, v->scalar, &c) < 0 || c <= 0 || c > 4095)
			return pload_fail(l, v, "errno '%s' is not a number 1..4095 or an errno name", v->scalar);
		n = (uint64_t)c;
	}
	if (n == 0)
		return pload_fail(l, v, "errno 0 would make the call look successful: use allow");
	*ret = (struct policy_action){ .kind = POLICY_ERRNO, .errno_value = (uint32_t)n };
	return 0;
}

/* One term of a value: an integer (decimal or 0x-hex) or a named constant. */
static int value_term(struct pload *l, const struct ytree *at, const char *term, unsigned width, uint64_t *ret)
{
	uint64_t max = width == 32 ? UINT32_MAX : UINT64_MAX;
	int64_t c;
	int r;

	r = parse_u64(term, true, max, ret);
	if (r == -ERANGE)
		return pload_fail(l, at, "value %s does not fit in %u bits", term, width);
	if (r == 0)
		return 0;
	if (term[0] >= '0' && term[0] <= '9')
		return pload_fail(l, at, "'%s' is not an integer (decimal or 0x-hex only)", term);
	r = seccomp_const_lookup(l->p->arch, term, &c);
	if (r < 0)
		return pload_fail(l, at, "unknown constant '%s'", term);
	if (width == 32 && (c > (int64_t)UINT32_MAX || c < INT32_MIN))
		return pload_fail(l, at, "constant %s (%lld) does not fit in 32 bits", term, (long long)c);
	*ret = width == 32 ? (uint64_t)(uint32_t)c : (uint64_t)c;
	return 0;
}

/* A value is one term or several joined by '|' (PROT_READ|PROT_WRITE). */
static int value_parse(struct pload *l, const struct ytree *node, unsigned width, uint64_t *ret)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL, *tok;
	uint64_t acc = 0, v;

	if (node->kind != YT_SCALAR || !node->plain || !node->scalar[0])
		return pload_fail(l, node, "expected an unquoted integer or constant name");
	copy = strdup(node->scalar);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		char *end;

		while (*tok == ' ')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (!*tok || value_term(l, node, tok, width, &v) < 0)
			return *tok ? -EINVAL : pload_fail(l, node, "empty term in '%s'", node->scalar);
		acc |= v;
	}
	*ret = acc;
	return 0;
}

static int op_parse(struct pload *l, const struct ytree *node, enum policy_op *ret)
{
	const char *s;

	if (pload_scalar(l, node, "an operator", &s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
		if (strcmp(s, op_names[i]) == 0) {
			*ret = (enum policy_op)i;
			return 0;
		}
	return pload_fail(l, node, "unknown operator '%s' (eq ne lt le gt ge masked_eq in one_of)", s);
}

static int one_of_parse(struct pload *l, const struct ytree *node, struct policy_cond *c)
{
	if (node->kind != YT_SEQ || node->n == 0)
		return pload_fail(l, node, "one_of needs a non-empty list of values");
	if (node->n > POLICY_MAX_ONE_OF)
		return pload_fail(l, node, "one_of takes at most %d values", POLICY_MAX_ONE_OF);
	for (size_t i = 0; i < node->n; i++) {
		if (value_parse(l, node->items[i], c->width, &c->values[i]) < 0)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (c->values[j] == c->values[i])
				return pload_fail(l, node->items[i], "value listed twice in one_of");
	}
	c->n_values = node->n;
	return 0;
}

static int cond_text(struct policy_cond *c, const struct ytree *value, const struct ytree *mask)
{
	char buf[1024];
	size_t off;

	off = (size_t)snprintf(buf, sizeof(buf), "arg%u/%u %s ", c->arg, c->width, policy_op_name(c->op));
	if (c->op == POLICY_OP_ONE_OF) {
		for (size_t i = 0; i < value->n && off < sizeof(buf); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "[",
						value->items[i]->scalar);
		if (off < sizeof(buf))
			snprintf(buf + off, sizeof(buf) - off, "]");
	} else if (mask) {
		snprintf(buf + off, sizeof(buf) - off, "%s == %s", mask->scalar, value->scalar);
	} else {
		snprintf(buf + off, sizeof(buf) - off, "%s", value->scalar);
	}
	c->text = strdup(buf);
	return c->text ? 0 : -ENOMEM;
}

/* Checks that the condition can both match and fail, i.e. that it says something. */
static int cond_check_meaningful(struct pload *l, const struct ytree *node, const struct policy_cond *c)
{
	struct scmp_arg_cmp alts[COND_MAX_ALTS];
	int n = cond_expand(c, alts, ARRAY_SIZE(alts));

	if (n == 0)
		return pload_fail(l, node, "condition '%s' never matches", c->text);
	if (n == -ERANGE)
		return pload_fail(l, node, "condition '%s' always matches: drop it", c->text);
	if (n == -E2BIG)
		return pload_fail(l, node, "condition '%s' needs more than %d comparisons", c->text,
				  COND_MAX_ALTS);
	return n < 0 ? n : 0;
}

static int cond_parse(struct pload *l, const struct ytree *node, struct policy_cond *c)
{
	static const char *const keys[] = { "arg", "op", "value", "mask", "width", NULL };
	const struct ytree *arg, *op, *value, *mask, *width;
	uint64_t n;
	int r;

	if (pload_check_keys(l, node, keys, "a condition") < 0)
		return -EINVAL;
	arg = ytree_map_get(node, "arg");
	op = ytree_map_get(node, "op");
	value = ytree_map_get(node, "value");
	mask = ytree_map_get(node, "mask");
	width = ytree_map_get(node, "width");
	if (!arg || !op || !value)
		return pload_fail(l, node, "a condition needs arg, op and value");
	if (arg->kind != YT_SCALAR || parse_u64(arg->scalar, false, UINT64_MAX, &n) < 0 || n > 5)
		return pload_fail(l, arg, "arg must be 0..5, not '%s'", arg->kind == YT_SCALAR ? arg->scalar : "?");
	c->arg = (uint8_t)n;
	c->width = 64;
	if (width) {
		if (width->kind != YT_SCALAR || (strcmp(width->scalar, "32") && strcmp(width->scalar, "64")))
			return pload_fail(l, width, "width must be 32 or 64");
		c->width = (uint8_t)atoi(width->scalar);
	}
	if (op_parse(l, op, &c->op) < 0)
		return -EINVAL;
	if ((c->op == POLICY_OP_MASKED_EQ) != (mask != NULL))
		return pload_fail(l, mask ? mask : node, mask ? "mask is only for masked_eq" : "masked_eq needs a mask");
	if (c->op == POLICY_OP_ONE_OF)
		r = one_of_parse(l, value, c);
	else
		r = value_parse(l, value, c->width, &c->value);
	if (r >= 0 && mask)
		r = value_parse(l, mask, c->width, &c->mask);
	if (r < 0)
		return r;
	if (mask && (c->value & ~c->mask))
		return pload_fail(l, value, "value has bits outside the mask: the condition never matches");
	r = cond_text(c, value, mask);
	return r < 0 ? r : cond_check_meaningful(l, node, c);
}

static int conds_parse(struct pload *l, const struct ytree *node, struct policy_rule *r)
{
	struct scmp_arg_cmp alts[COND_MAX_ALTS];
	size_t combos = 1;

	if (node->kind != YT_SEQ || node->n == 0 || node->n > POLICY_MAX_ARGS)
		return pload_fail(l, node, "args must be a list of 1..%d conditions", POLICY_MAX_ARGS);
	r->conds = calloc(node->n, sizeof(*r->conds));
	if (!r->conds)
		return -ENOMEM;
	for (size_t i = 0; i < node->n; i++) {
		struct policy_cond *c = &r->conds[i];
		int k = cond_parse(l, node->items[i], c);

		r->n_conds = i + 1;
		if (k < 0)
			return k;
		for (size_t j = 0; j < i; j++)
			if (r->conds[j].arg == c->arg)
				return pload_fail(l, node->items[i], "arg %u already has a condition in this rule "
						  "(use masked_eq, in or one_of, or a second rule)", c->arg);
		combos *= (size_t)cond_expand(c, alts, ARRAY_SIZE(alts));
		if (combos > COND_MAX_ALTS)
			return pload_fail(l, node->items[i], "the conditions combine into more than %d filter rules",
					  COND_MAX_ALTS);
	}
	return 0;
}

static int syscall_add(struct pload *l, const struct ytree *node, struct policy_rule *r)
{
	const char *name;
	int nr;

	if (pload_scalar(l, node, "a syscall name", &name) < 0)
		return -EINVAL;
	nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
	if (nr < 0)
		return pload_fail(l, node, "unknown syscall '%s' on x86_64", name);
	for (size_t i = 0; i < r->n_syscalls; i++)
		if (r->syscalls[i] == nr)
			return pload_fail(l, node, "syscall '%s' listed twice in this rule", name);
	r->syscalls[r->n_syscalls] = nr;
	r->name_line[r->n_syscalls] = node->line;
	r->name_col[r->n_syscalls] = node->col;
	r->names[r->n_syscalls] = strdup(name);
	if (!r->names[r->n_syscalls])
		return -ENOMEM;
	r->n_syscalls++;
	return 0;
}

static int syscalls_parse(struct pload *l, const struct ytree *one, const struct ytree *list,
			  const struct ytree *rule, struct policy_rule *r)
{
	size_t n;

	if (!!one == !!list)
		return pload_fail(l, one && list ? list : rule, "a rule names its syscalls with exactly one of "
				  "'syscall' or 'syscalls'");
	if (list && (list->kind != YT_SEQ || list->n == 0 || list->n > POLICY_MAX_SYSCALLS_PER_RULE))
		return pload_fail(l, list, "syscalls must be a list of 1..%d names", POLICY_MAX_SYSCALLS_PER_RULE);
	n = list ? list->n : 1;
	r->syscalls = calloc(n, sizeof(*r->syscalls));
	r->names = calloc(n, sizeof(*r->names));
	r->name_line = calloc(n, sizeof(*r->name_line));
	r->name_col = calloc(n, sizeof(*r->name_col));
	if (!r->syscalls || !r->names || !r->name_line || !r->name_col)
		return -ENOMEM;
	if (one)
		return syscall_add(l, one, r);
	for (size_t i = 0; i < n; i++)
		if (syscall_add(l, list->items[i], r) < 0)
			return -EINVAL;
	return 0;
}

int pload_text(struct pload *l, const struct ytree *node, const char *key, const char *what, char **ret)
{
	const char *s;

	if (pload_scalar(l, node, what, &s) < 0)
		return -EINVAL;
	if (strlen(s) > POLICY_MAX_COMMENT)
		return pload_fail(l, node, "%s longer than %d bytes", key, POLICY_MAX_COMMENT);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int comment_parse(struct pload *l, const struct ytree *node, const struct ytree *rule, struct policy_rule *r)
{
	if (!node)
		return pload_fail(l, rule, "every rule needs a comment giving the reason and the call site");
	return pload_text(l, node, "comment", "a comment", &r->comment);
}

int pload_rule(struct pload *l, const struct ytree *node, const char *group, struct policy_rule *r)
{
	static const char *const keys[] = { "syscall", "syscalls", "action", "args", "comment", "dangerous", NULL };
	const struct ytree *action, *args;
	int k;

	if (pload_check_keys(l, node, keys, "a rule") < 0)
		return -EINVAL;
	r->line = node->line;
	r->col = node->col;
	r->group = group;
	r->action.kind = POLICY_ALLOW;
	k = syscalls_parse(l, ytree_map_get(node, "syscall"), ytree_map_get(node, "syscalls"), node, r);
	if (k < 0)
		return k;
	action = ytree_map_get(node, "action");
	if (action && pload_action(l, action, &r->action) < 0)
		return -EINVAL;
	if (r->action.kind == l->p->default_action.kind && r->action.errno_value == l->p->default_action.errno_value)
		return pload_fail(l, action ? action : node, "the rule's action is the default action: it changes nothing");
	args = ytree_map_get(node, "args");
	if (args && (k = conds_parse(l, args, r)) < 0)
		return k;
	k = comment_parse(l, ytree_map_get(node, "comment"), node, r);
	return k < 0 ? k : pload_lint(l, ytree_map_get(node, "dangerous"), r);
}

void policy_rule_clear(struct policy_rule *r)
{
	for (size_t i = 0; r->names && i < r->n_syscalls; i++)
		free(r->names[i]);
	for (size_t i = 0; r->conds && i < r->n_conds; i++)
		free(r->conds[i].text);
	free(r->names);
	free(r->syscalls);
	free(r->name_line);
	free(r->name_col);
	free(r->conds);
	free(r->comment);
	free(r->dangerous);
	memset(r, 0, sizeof(*r));
}

bool policy_rule_same_conds(const struct policy_rule *a, const struct policy_rule *b)
{
	return cond_same_set(a->conds, a->n_conds, b->conds, b->n_conds);
}
