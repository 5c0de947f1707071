/* The policy loader against each class of bad input, with the exact position. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

/* Lines 1-3, then roles vmm (4-7) and api (8-10); vcpu's rules start on line 13. */
#define HEAD "version: 1\narches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n"
#define ROLES                                                                                      \
	"roles:\n  vmm:\n    rules:\n      - {syscall: read, comment: r}\n  api:\n    rules:\n"      \
	"      - {syscall: read, comment: r}\n  vcpu:\n    rules:\n"
#define VCPU_RULE "      - {syscall: read, comment: r}\n"

struct bad_case {
	const char *name;
	const char *yaml;
	const char *error; /* the exact message after "t.yaml:" */
};

static const struct bad_case bad_cases[] = {
	{ "unknown top-level key", "bogus: 1\n" HEAD ROLES VCPU_RULE, "1:1: unknown key 'bogus' in the policy" },
	{ "duplicate key", HEAD "version: 1\n" ROLES VCPU_RULE, "4:1: duplicate key 'version' (first at 1:1)" },
	{ "anchor", "version: 1\narches: &a [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n" ROLES VCPU_RULE,
	  "2:9: anchors are not allowed (&a)" },
	{ "alias", HEAD ROLES "      - {syscall: read, comment: &c r}\n      - {syscall: write, comment: *c}\n",
	  "13:34: anchors are not allowed (&c)" },
	{ "alias alone", HEAD ROLES "      - {syscall: write, comment: *c}\n", "13:35: aliases are not allowed (*c)" },
	{ "tag", "version: !!int 1\n" "arches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n" ROLES VCPU_RULE,
	  "1:10: tags are not allowed (tag:yaml.org,2002:int)" },
	{ "yaml 1.1 boolean", "version: yes\n" "arches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n" ROLES
	  VCPU_RULE, "1:10: 'yes' is a boolean in YAML 1.1 and a string in 1.2: quote it" },
	{ "yaml 1.1 boolean off", HEAD ROLES "      - {syscall: read, comment: off}\n",
	  "13:34: 'off' is a boolean in YAML 1.1 and a string in 1.2: quote it" },
	{ "octal", HEAD ROLES "      - {syscall: read, comment: r, args: [{arg: 0, op: eq, value: 0644}]}\n",
	  "13:68: '0644' looks octal: write integers in decimal or 0x-hex" },
	{ "duplicate rule", HEAD ROLES VCPU_RULE VCPU_RULE,
	  "14:19: duplicate rule for 'read' in role vcpu (first at 13:19)" },
	{ "contradictory rule (actions)", HEAD ROLES VCPU_RULE "      - {syscall: read, action: log, comment: r}\n",
	  "14:19: contradictory rule for 'read' in role vcpu (first at 13:19)" },
	{ "contradictory rule (conditions)", HEAD ROLES VCPU_RULE
	  "      - {syscall: read, comment: r, args: [{arg: 0, op: eq, value: 1}]}\n",
	  "14:19: rule for 'read' in role vcpu contradicts the rule at 13:19: one has conditions, the other none" },
	{ "unknown syscall", HEAD ROLES "      - {syscall: reed, comment: r}\n", "13:19: unknown syscall 'reed' on x86_64" },
	{ "unknown constant", HEAD ROLES "      - {syscall: ioctl, comment: r, args: [{arg: 1, op: eq, value: KVM_WALK}]}\n",
	  "13:69: unknown constant 'KVM_WALK'" },
	{ "arg index", HEAD ROLES "      - {syscall: read, comment: r, args: [{arg: 6, op: eq, value: 1}]}\n",
	  "13:50: arg must be 0..5, not '6'" },
	{ "value wider than 32 bits", HEAD ROLES
	  "      - {syscall: read, comment: r, args: [{arg: 0, op: eq, width: 32, value: 0x100000000}]}\n",
	  "13:79: value 0x100000000 does not fit in 32 bits" },
	{ "value wider than 64 bits", HEAD ROLES
	  "      - {syscall: read, comment: r, args: [{arg: 0, op: eq, value: 18446744073709551616}]}\n",
	  "13:68: value 18446744073709551616 does not fit in 64 bits" },
	{ "missing comment", HEAD ROLES "      - {syscall: read}\n",
	  "13:9: every rule needs a comment giving the reason and the call site" },
	{ "unknown rule key", HEAD ROLES "      - {syscall: read, comment: r, why: x}\n", "13:37: unknown key 'why' in a rule" },
	{ "unknown group", HEAD ROLES "      - {syscall: read, comment: r}\n    use: [nope]\n", "14:11: unknown group 'nope'" },
	{ "unused group", HEAD "groups:\n  spare:\n    - {syscall: read, comment: r}\n" ROLES VCPU_RULE,
	  "5:3: group 'spare' is used by no role" },
	{ "missing role", HEAD "roles:\n  vmm:\n    rules:\n      - {syscall: read, comment: r}\n",
	  "5:3: missing role 'api' (a policy has vmm, api and vcpu)" },
	{ "two conditions on one arg", HEAD ROLES "      - {syscall: read, comment: r, args: [{arg: 0, op: gt, value: 1},"
	  " {arg: 0, op: lt, value: 9}]}\n", "13:72: arg 0 already has a condition in this rule (use masked_eq, in or one_of, or a second rule)" },
	{ "never matches", HEAD ROLES "      - {syscall: read, comment: r, args: [{arg: 0, op: lt, value: 0}]}\n",
	  "13:44: condition 'arg0/64 lt 0' never matches" },
	{ "masked value outside mask", HEAD ROLES
	  "      - {syscall: read, comment: r, args: [{arg: 0, op: masked_eq, mask: 4, value: 3}]}\n",
	  "13:84: value has bits outside the mask: the condition never matches" },
	{ "default allow", "version: 1\narches: [x86_64]\ndefaults: {action: allow, bad_arch: kill_process}\n" ROLES VCPU_RULE,
	  "3:20: the default action must deny: a policy is an allowlist" },
	{ "arch", "version: 1\narches: [aarch64]\ndefaults: {action: trap, bad_arch: kill_process}\n" ROLES VCPU_RULE,
	  "2:10: this build provides only the x86_64 arch" },
	{ "syntax", HEAD ROLES "      - {syscall: read, comment: r\n", "14:1: YAML syntax: did not find expected ',' or '}' while parsing a flow mapping" },
	{ "two documents", HEAD ROLES VCPU_RULE "---\nversion: 1\n", "14:1: only one YAML document is allowed" },
	{ "empty", "", "1:1: the file holds no YAML document" },
	{ "quoted integer", HEAD ROLES "      - {syscall: read, comment: r, args: [{arg: 0, op: eq, value: '1'}]}\n",
	  "13:68: expected an unquoted integer or constant name" },
	{ "errno zero", HEAD ROLES "      - {syscall: read, comment: r, action: {errno: 0}}\n",
	  "13:53: errno 0 would make the call look successful: use allow" },
};

static void test_bad_policies(void **state)
{
	size_t wrong = 0;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct policy_error err;
		struct policy *p = NULL;
		char want[600];
		int r;

		r = policy_load_buffer("t.yaml", c->yaml, strlen(c->yaml), &p, &err);
		snprintf(want, sizeof(want), "t.yaml:%s", c->error);
		if (r != -EINVAL || strcmp(err.msg, want) != 0 || p) {
			print_error("case '%s': got %d '%s', want '%s'\n", c->name, r, err.msg, want);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

static void test_good_policy(void **state)
{
	static const char yaml[] =
		HEAD "groups:\n  common:\n    - {syscalls: [write, exit_group], comment: \"log and exit\"}\n" ROLES
		"      - syscall: ioctl\n        args:\n          - {arg: 1, op: one_of, width: 32, value: [KVM_RUN, 0xae03]}\n"
		"          - {arg: 2, op: masked_eq, mask: PROT_EXEC, value: 0}\n        comment: \"vCPU loop\"\n"
		"    use: [common]\n";
	struct policy_error err;
	struct policy *p = NULL;

	assert_int_equal(policy_load_buffer("g.yaml", yaml, strlen(yaml), &p, &err), 0);
	assert_int_equal(p->roles[SECCOMP_ROLE_VCPU].n_rules, 2);
	assert_int_equal(p->roles[SECCOMP_ROLE_VMM].n_rules, 1);
	assert_int_equal(p->roles[SECCOMP_ROLE_VCPU].rules[0]->n_syscalls, 2);
	assert_int_equal(p->roles[SECCOMP_ROLE_VCPU].rules[1]->conds[0].n_values, 2);
	assert_string_equal(p->roles[SECCOMP_ROLE_VCPU].rules[1]->conds[0].text, "arg1/32 one_of [KVM_RUN, 0xae03]");
	assert_int_equal(p->roles[SECCOMP_ROLE_VCPU].rules[1]->conds[1].mask, 4);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_policies),
		cmocka_unit_test(test_good_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
