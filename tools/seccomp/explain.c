/* ember-seccomp explain: what each role allows, under which conditions and
 * why, in a form a reviewer reads top to bottom. */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cleanup.h"
#include "tool.h"

int tool_role_syscalls(const struct policy *p, unsigned role, int **ret, size_t *ret_n)
{
	return policy_syscalls(p, 1u << role, ret, ret_n);
}

static bool rule_names(const struct policy_rule *rule, int nr)
{
	for (size_t s = 0; s < rule->n_syscalls; s++)
		if (rule->syscalls[s] == nr)
			return true;
	return false;
}

bool tool_role_has(const struct policy *p, unsigned role, int nr)
{
	for (size_t i = 0; i < p->roles[role].n_rules; i++)
		if (rule_names(p->roles[role].rules[i], nr))
			return true;
	return false;
}

const char *tool_syscall_name(const struct policy *p, int nr)
{
	for (unsigned ro = 0; ro < POLICY_SECTIONS; ro++)
		for (size_t i = 0; i < p->roles[ro].n_rules; i++)
			for (size_t s = 0; s < p->roles[ro].rules[i]->n_syscalls; s++)
				if (p->roles[ro].rules[i]->syscalls[s] == nr)
					return p->roles[ro].rules[i]->names[s];
	return "?";
}

void tool_rule_print(FILE *out, const struct policy_rule *rule)
{
	char action[32];

	policy_action_format(&rule->action, action, sizeof(action));
	fprintf(out, "%s", action);
	for (size_t c = 0; c < rule->n_conds; c++)
		fprintf(out, "%s%s", c ? " and " : " if ", rule->conds[c].text);
}

/* Sorts by name, which is how a reviewer looks a syscall up. */
static const struct policy *sort_policy;
static int name_cmp(const void *a, const void *b)
{
	return strcmp(tool_syscall_name(sort_policy, *(const int *)a), tool_syscall_name(sort_policy, *(const int *)b));
}

/* Prints text wrapped at about 100 columns, each line indented by indent. */
static void wrap_print(FILE *out, const char *text, int indent)
{
	const int width = 100;
	int col = indent;

	fprintf(out, "%*s", indent, "");
	while (*text) {
		int len = (int)strcspn(text, " ");

		if (col > indent && col + 1 + len > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", len, text);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

/* A rule the policy lint flags carries its reason: shown apart from the
 * comment, so a reviewer sees which rules widen what a compromised VMM can do. */
static void dangerous_print(FILE *out, const char *reason)
{
	_cleanup_free_ char *text = NULL;

	if (asprintf(&text, "dangerous: %s", reason) < 0)
		fprintf(out, "          dangerous: %s\n", reason);
	else
		wrap_print(out, text, 10);
}

static void syscall_explain(FILE *out, const struct policy *p, unsigned role, int nr)
{
	fprintf(out, "  %s (%d)\n", tool_syscall_name(p, nr), nr);
	for (size_t i = 0; i < p->roles[role].n_rules; i++) {
		const struct policy_rule *rule = p->roles[role].rules[i];

		if (!rule_names(rule, nr))
			continue;
		fprintf(out, "      ");
		tool_rule_print(out, rule);
		if (rule->group)
			fprintf(out, "   (line %u, group %s)\n", rule->line, rule->group);
		else
			fprintf(out, "   (line %u)\n", rule->line);
		wrap_print(out, rule->comment, 10);
		if (rule->dangerous)
			dangerous_print(out, rule->dangerous);
	}
}

static int role_explain(FILE *out, const struct policy *p, unsigned role, const struct seccomp_bundle *b,
			int only_nr, bool names)
{
	_cleanup_free_ int *nrs = NULL;
	size_t n;
	int r = tool_role_syscalls(p, role, &nrs, &n);

	if (r < 0)
		return r;
	sort_policy = p;
	qsort(nrs, n, sizeof(*nrs), name_cmp);
	if (!names) {
		fprintf(out, "\n%s %s: %zu syscalls, %zu rules", role == POLICY_STARTUP ? "section" : "role",
			policy_role_name(role), n, p->roles[role].n_rules);
		if (role < SECCOMP_ROLE_COUNT)
			fprintf(out, ", %zu BPF instructions", b->progs[role].n_insns);
		else
			fprintf(out, " (in the baseline only, for set-up before a thread takes its role)");
		fprintf(out, "\n");
	}
	for (size_t i = 0; i < n; i++) {
		if (only_nr >= 0 && nrs[i] != only_nr)
			continue;
		if (names)
			fprintf(out, "%s %s\n", policy_role_name(role), tool_syscall_name(p, nrs[i]));
		else
			syscall_explain(out, p, role, nrs[i]);
	}
	return 0;
}

static void differences_explain(FILE *out, const struct policy *p)
{
	fprintf(out, "\nsyscalls allowed in one role but not in another:\n");
	for (unsigned a = 0; a < SECCOMP_ROLE_COUNT; a++)
		for (unsigned b = 0; b < SECCOMP_ROLE_COUNT; b++) {
			_cleanup_free_ int *nrs = NULL;
			size_t n, shown = 0;

			if (a == b || tool_role_syscalls(p, a, &nrs, &n) < 0)
				continue;
			fprintf(out, "  in %s, not in %s:", policy_role_name(a), policy_role_name(b));
			for (size_t i = 0; i < n; i++)
				if (!tool_role_has(p, b, nrs[i]) && ++shown)
					fprintf(out, " %s", tool_syscall_name(p, nrs[i]));
			fprintf(out, "%s\n", shown ? "" : " (none)");
		}
}

int tool_explain(int argc, char **argv)
{
	const char *file = NULL, *role_name = NULL, *sys_name = NULL;
	struct seccomp_bundle b;
	bool names = false;
	struct policy *p;
	int role = -1, nr = -1, r;
	char action[32], bad[32];

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role_name = argv[++i];
		else if (strcmp(argv[i], "--syscall") == 0 && i + 1 < argc)
			sys_name = argv[++i];
		else if (strcmp(argv[i], "--names") == 0)
			names = true;
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			return fprintf(stderr, "explain: unexpected argument '%s'\n", argv[i]), 2;
	}
	if (!file)
		return fprintf(stderr, "usage: ember-seccomp explain FILE [--role R] [--syscall NAME] [--names]\n"), 2;
	if (role_name && (role = role_name && strcmp(role_name, "startup") == 0 ? POLICY_STARTUP
										 : policy_role_parse(role_name)) < 0)
		return fprintf(stderr, "explain: unknown role '%s' (vmm, api, vcpu, startup)\n", role_name), 2;
	if (sys_name && (nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, sys_name)) < 0)
		return fprintf(stderr, "explain: unknown syscall '%s'\n", sys_name), 2;
	p = tool_load(file);
	if (!p)
		return 1;
	r = bundle_build(p, &b);
	if (r < 0) {
		fprintf(stderr, "%s: the policy does not compile: %s\n", file, strerror(-r));
		policy_free(p);
		return 1;
	}
	policy_action_format(&p->default_action, action, sizeof(action));
	policy_action_format(&p->bad_arch_action, bad, sizeof(bad));
	if (!names)
		printf("policy %s: arch x86_64, default action %s, bad arch %s\nbaseline (union of all roles and "
		       "startup, installed before the first thread): %zu BPF instructions\n",
		       file, action, bad, b.progs[COMPILE_BASELINE].n_insns);
	for (unsigned ro = 0; ro < POLICY_SECTIONS; ro++)
		if ((role < 0 || (unsigned)role == ro) && (ro < SECCOMP_ROLE_COUNT || p->roles[ro].n_rules))
			role_explain(stdout, p, ro, &b, nr, names);
	if (!names && role < 0 && nr < 0)
		differences_explain(stdout, p);
	bundle_clear(&b);
	policy_free(p);
	return 0;
}
