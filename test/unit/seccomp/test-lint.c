/* The policy lint: every entry of its list is an error at the syscall's
 * position without `dangerous`, and accepted with it; the conditions that
 * make mmap, clone, socket and ioctl safe are accepted without it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

/* Lines 1-3, then roles vmm (4-7) and api (8-10); vcpu's rules start on line 13. */
#define HEAD "version: 1\narches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n"
#define ROLES                                                                                      \
	"roles:\n  vmm:\n    rules:\n      - {syscall: read, comment: r}\n  api:\n    rules:\n"      \
	"      - {syscall: read, comment: r}\n  vcpu:\n    rules:\n"
#define GLIBC_THREAD                                                                               \
	"CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"     \
	"CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
#define ALL_NS "CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET"

struct lint_case {
	const char *rule;  /* the inside of a flow mapping, before ", comment: c" */
	const char *error; /* the start of the message after "t.yaml:", or NULL: accepted */
};

#define NEVER(name) { "syscall: " name, "13:19: rule allows '" name "', which " }

static const struct lint_case cases[] = {
	NEVER("execve"), NEVER("execveat"), NEVER("ptrace"), NEVER("process_vm_readv"),
	NEVER("process_vm_writev"), NEVER("unshare"), NEVER("setns"), NEVER("mount"), NEVER("umount2"),
	NEVER("pivot_root"), NEVER("chroot"), NEVER("fsopen"), NEVER("fsconfig"), NEVER("fsmount"),
	NEVER("fspick"), NEVER("move_mount"), NEVER("open_tree"), NEVER("mount_setattr"), NEVER("bpf"),
	NEVER("kexec_load"), NEVER("kexec_file_load"), NEVER("init_module"), NEVER("finit_module"),
	NEVER("delete_module"), NEVER("keyctl"), NEVER("add_key"), NEVER("request_key"),
	NEVER("perf_event_open"), NEVER("open_by_handle_at"),
	/* log lets the call through too; a denying action needs no reason */
	{ "syscall: ptrace, action: log", "13:19: rule allows 'ptrace', which " },
	{ "syscall: ptrace, action: {errno: EPERM}", NULL },
	{ "syscall: execve, action: kill_process", NULL },
	/* one flagged name among harmless ones is reported at its own column */
	{ "syscalls: [read, unshare]", "13:27: rule allows 'unshare', which makes or enters namespaces" },

	{ "syscall: clone3", "13:19: 'clone3' must answer {errno: ENOSYS}" },
	{ "syscall: clone3, action: {errno: EPERM}", "13:19: 'clone3' must answer {errno: ENOSYS}" },
	{ "syscall: clone3, action: kill_thread, args: [{arg: 1, op: eq, value: 88}]", "13:19: 'clone3' must answer" },
	{ "syscall: clone3, action: {errno: ENOSYS}", NULL },
	{ "syscall: clone3, action: {errno: 38}", NULL },

	{ "syscall: mmap", "13:19: rule allows 'mmap' without a condition on arg 2 that keeps PROT_EXEC out" },
	{ "syscall: mprotect", "13:19: rule allows 'mprotect' without a condition on arg 2" },
	{ "syscall: pkey_mprotect", "13:19: rule allows 'pkey_mprotect' without a condition on arg 2" },
	{ "syscall: mprotect, args: [{arg: 0, op: eq, value: 4096}]", "13:19: rule allows 'mprotect' without" },
	{ "syscall: mprotect, args: [{arg: 2, op: ne, value: PROT_EXEC}]", "13:19: rule allows 'mprotect' without" },
	{ "syscall: mmap, args: [{arg: 2, op: one_of, value: [PROT_READ, PROT_READ|PROT_EXEC]}]",
	  "13:19: rule allows 'mmap' without" },
	{ "syscall: mmap, args: [{arg: 2, op: masked_eq, mask: PROT_WRITE, value: 0}]",
	  "13:19: rule allows 'mmap' without" },
	{ "syscall: mmap, args: [{arg: 2, op: le, value: PROT_EXEC}]", "13:19: rule allows 'mmap' without" },
	{ "syscall: mmap, args: [{arg: 2, op: in, value: PROT_READ|PROT_WRITE}]", NULL },
	{ "syscall: mprotect, args: [{arg: 2, op: eq, width: 32, value: PROT_READ}]", NULL },
	{ "syscall: pkey_mprotect, args: [{arg: 2, op: masked_eq, mask: PROT_EXEC, value: 0}]", NULL },
	{ "syscall: mmap, args: [{arg: 2, op: lt, value: PROT_EXEC}]", NULL },

	{ "syscall: clone", "13:19: rule allows 'clone' without a condition on arg 0 that keeps every namespace "
			    "flag (CLONE_NEW*) out" },
	{ "syscall: clone, args: [{arg: 0, op: eq, width: 32, value: " GLIBC_THREAD "|CLONE_NEWUSER}]",
	  "13:19: rule allows 'clone' without" },
	{ "syscall: clone, args: [{arg: 0, op: in, value: CLONE_VM|CLONE_NEWNET}]", "13:19: rule allows 'clone'" },
	{ "syscall: clone, args: [{arg: 0, op: masked_eq, mask: CLONE_NEWUSER, value: 0}]",
	  "13:19: rule allows 'clone'" },
	{ "syscall: clone, args: [{arg: 0, op: gt, value: 0}]", "13:19: rule allows 'clone'" },
	{ "syscall: clone, args: [{arg: 0, op: eq, width: 32, value: " GLIBC_THREAD "}]", NULL },
	{ "syscall: clone, args: [{arg: 0, op: masked_eq, width: 32, mask: " ALL_NS ", value: 0}]", NULL },

	{ "syscall: socket", "13:19: rule allows 'socket' without a condition pinning the family (arg 0, eq or "
			     "one_of)" },
	{ "syscall: socket, args: [{arg: 0, op: ne, value: AF_NETLINK}]", "13:19: rule allows 'socket' without" },
	{ "syscall: socket, args: [{arg: 1, op: eq, value: SOCK_STREAM}]", "13:19: rule allows 'socket' without" },
	{ "syscall: socket, args: [{arg: 0, op: eq, width: 32, value: AF_UNIX}]", NULL },
	{ "syscall: socket, args: [{arg: 0, op: one_of, width: 32, value: [AF_UNIX, AF_VSOCK]}]", NULL },

	{ "syscall: ioctl", "13:19: rule allows 'ioctl' without a condition pinning the request (arg 1, eq or "
			    "one_of)" },
	{ "syscall: ioctl, args: [{arg: 1, op: gt, value: 0}]", "13:19: rule allows 'ioctl' without" },
	{ "syscall: ioctl, args: [{arg: 0, op: eq, value: 3}]", "13:19: rule allows 'ioctl' without" },
	{ "syscall: ioctl, args: [{arg: 1, op: one_of, width: 32, value: [KVM_RUN, KVM_GET_REGS]}]", NULL },
	{ "syscall: ioctl, args: [{arg: 1, op: masked_eq, mask: 0xffffffff, value: KVM_RUN}]", NULL },
};

static int load(const char *yaml, struct policy **ret, struct policy_error *err)
{
	*ret = NULL;
	return policy_load_buffer("t.yaml", yaml, strlen(yaml), ret, err);
}

/* Loads HEAD ROLES plus the case's rule, with extra appended inside the mapping. */
static int load_case(const struct lint_case *c, const char *extra, struct policy **ret, struct policy_error *err)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml), HEAD ROLES "      - {%s, comment: c%s}\n", c->rule, extra);
	return load(yaml, ret, err);
}

static void test_each_entry(void **state)
{
	size_t wrong = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lint_case *c = &cases[i];
		struct policy_error err;
		struct policy *p;
		char want[600];
		int r = load_case(c, "", &p, &err);

		snprintf(want, sizeof(want), "t.yaml:%s", c->error ? c->error : "");
		if (c->error ? (r != -EINVAL || strncmp(err.msg, want, strlen(want)) != 0 ||
				!strstr(err.msg, ": refused unless the rule says why with dangerous: \"<reason>\""))
			     : r != 0) {
			print_error("case '%s': got %d '%s', want '%s'\n", c->rule, r, err.msg, c->error ? want : "ok");
			wrong++;
		}
		policy_free(p);
	}
	assert_int_equal(wrong, 0);
}

/* Every flagged case passes with a reason, which the rule keeps for explain. */
static void test_dangerous_accepts(void **state)
{
	size_t wrong = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lint_case *c = &cases[i];
		struct policy_error err;
		struct policy *p;
		int r;

		if (!c->error)
			continue;
		r = load_case(c, ", dangerous: \"the test needs it\"", &p, &err);
		if (r != 0 || strcmp(p->roles[SECCOMP_ROLE_VCPU].own[0].dangerous, "the test needs it") != 0) {
			print_error("case '%s' with dangerous: got %d '%s'\n", c->rule, r, err.msg);
			wrong++;
		}
		policy_free(p);
	}
	assert_int_equal(wrong, 0);
}

static void test_dangerous_misused(void **state)
{
	static const struct {
		struct lint_case rule;
		const char *extra, *error;
	} bad[] = {
		{ { "syscall: read", NULL }, ", dangerous: \"not at all\"",
		  "t.yaml:13:48: dangerous on a rule the policy lint does not flag: drop it" },
		{ { "syscall: bpf", NULL }, ", dangerous: \"\"", "t.yaml:13:47: expected a reason" },
		{ { "syscall: bpf", NULL }, ", dangerous: [a]", "t.yaml:13:47: expected a reason" },
	};
	struct policy_error err;
	struct policy *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load_case(&bad[i].rule, bad[i].extra, &p, &err), -EINVAL);
		assert_string_equal(err.msg, bad[i].error);
		assert_null(p);
	}
}

/* Group and startup rules are linted like a role's own. */
static void test_groups_and_startup(void **state)
{
	static const char group[] = HEAD "groups:\n  g:\n    - {syscall: keyctl, comment: k}\n" ROLES
				    "      - {syscall: read, comment: r}\n    use: [g]\n";
	static const char startup[] = HEAD "startup:\n  rules:\n    - {syscall: socket, comment: s}\n" ROLES
				      "      - {syscall: read, comment: r}\n";
	struct policy_error err;
	struct policy *p;

	assert_int_equal(load(group, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "t.yaml:6:17: rule allows 'keyctl', which reaches the kernel keyrings: refused "
				     "unless the rule says why with dangerous: \"<reason>\"");
	assert_int_equal(load(startup, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "t.yaml:6:17: rule allows 'socket' without a condition pinning the family "
				     "(arg 0, eq or one_of): refused unless the rule says why with dangerous: "
				     "\"<reason>\"");
}

/* The role the issue found passing: execve, ptrace, unshare, any mprotect
 * and any socket. Each is refused in turn as the ones before it get a reason. */
static void test_permissive_vcpu_role(void **state)
{
	static const char *const names[] = { "execve", "ptrace", "unshare", "mprotect", "socket" };
	struct policy_error err;
	struct policy *p;

	for (size_t bless = 0; bless <= 5; bless++) {
		char yaml[2048];
		size_t off = (size_t)snprintf(yaml, sizeof(yaml), HEAD ROLES);

		for (size_t i = 0; i < 5; i++)
			off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "      - {syscall: %s, comment: c%s}\n",
						names[i], i < bless ? ", dangerous: d" : "");
		if (bless == 5) {
			assert_int_equal(load(yaml, &p, &err), 0);
			policy_free(p);
			break;
		}
		assert_int_equal(load(yaml, &p, &err), -EINVAL);
		assert_int_equal(strncmp(err.msg, "t.yaml:", 7), 0);
		assert_int_equal(atoi(err.msg + 7), 13 + (int)bless);
		assert_non_null(strstr(err.msg, names[bless]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_entry),
		cmocka_unit_test(test_dangerous_accepts),
		cmocka_unit_test(test_dangerous_misused),
		cmocka_unit_test(test_groups_and_startup),
		cmocka_unit_test(test_permissive_vcpu_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
