/* ember-seccomp diff A B: what changing policy A into B allows or denies,
 * rule by rule, compared by meaning (conditions as values, not as text). */
#include <string.h>

#include "bundle.h"
#include "cleanup.h"
#include "tool.h"

#include "policy-internal.h"

static bool rule_matches(const struct policy_rule *a, const struct policy_rule *b)
{
	return a->action.kind == b->action.kind && a->action.errno_value == b->action.errno_value &&
	       policy_rule_same_conds(a, b);
}

/* Prints the rules for nr that `from` has in role and `to` lacks. */
static size_t rules_missing(const struct policy *from, const struct policy *to, unsigned role, int nr,
			    const char *sign)
{
	size_t shown = 0;

	for (size_t i = 0; i < from->roles[role].n_rules; i++) {
		const struct policy_rule *ra = from->roles[role].rules[i];
		bool found = false, names = false;

		for (size_t s = 0; s < ra->n_syscalls; s++)
			names |= ra->syscalls[s] == nr;
		for (size_t j = 0; names && !found && j < to->roles[role].n_rules; j++) {
			const struct policy_rule *rb = to->roles[role].rules[j];

			for (size_t s = 0; s < rb->n_syscalls && !found; s++)
				found = rb->syscalls[s] == nr && rule_matches(ra, rb);
		}
		if (!names || found)
			continue;
		printf("%s %-8s %-20s ", sign, policy_role_name(role), tool_syscall_name(from, nr));
		tool_rule_print(stdout, ra);
		printf("\n");
		shown++;
	}
	return shown;
}

static size_t role_diff(const struct policy *a, const struct policy *b, unsigned role)
{
	_cleanup_free_ int *na = NULL, *nb = NULL;
	size_t n_a, n_b, changes = 0;

	if (tool_role_syscalls(a, role, &na, &n_a) < 0 || tool_role_syscalls(b, role, &nb, &n_b) < 0)
		return 1;
	for (size_t i = 0; i < n_a; i++)
		changes += rules_missing(a, b, role, na[i], "-");
	for (size_t i = 0; i < n_b; i++)
		changes += rules_missing(b, a, role, nb[i], "+");
	return changes;
}

int tool_diff(int argc, char **argv)
{
	struct policy *a, *b;
	size_t changes = 0;
	char da[32], db[32];

	if (argc != 4)
		return fprintf(stderr, "usage: ember-seccomp diff A B\n"), 2;
	a = tool_load(argv[2]);
	b = a ? tool_load(argv[3]) : NULL;
	if (!a || !b) {
		policy_free(a);
		return 2;
	}
	policy_action_format(&a->default_action, da, sizeof(da));
	policy_action_format(&b->default_action, db, sizeof(db));
	if (strcmp(da, db) != 0) {
		printf("~ default action: %s -> %s\n", da, db);
		changes++;
	}
	policy_action_format(&a->bad_arch_action, da, sizeof(da));
	policy_action_format(&b->bad_arch_action, db, sizeof(db));
	if (strcmp(da, db) != 0) {
		printf("~ bad arch action: %s -> %s\n", da, db);
		changes++;
	}
	for (unsigned ro = 0; ro < POLICY_SECTIONS; ro++)
		changes += role_diff(a, b, ro);
	printf("%zu change%s (- no longer allowed, + newly allowed)\n", changes, changes == 1 ? "" : "s");
	policy_free(a);
	policy_free(b);
	return changes ? 1 : 0;
}
