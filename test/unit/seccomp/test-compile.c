/* Compilation: for each operator and width, a child process installs a
 * one-rule filter and checks which calls get through. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* The ASan runtime maps memory and switches signal stacks after the filter
 * is on (at _exit, for instance): sanitizer builds let those calls through. */
#if defined(EMBER_SANITIZE)
#define SANITIZER_RULES "    - {syscalls: [mmap, munmap, mprotect, madvise, sigaltstack], comment: sanitizer runtime, dangerous: 'the ASan and UBSan runtime maps and protects its own memory with any flags'}\n"
#else
#define SANITIZER_RULES ""
#endif

#include <linux/seccomp.h>

#include "bundle.h"
#include "policy.h"

#define MAX_PROBES 8

struct op_case {
	const char *op;
	unsigned width;
	const char *value, *mask;
	uint64_t allowed[MAX_PROBES];
	size_t n_allowed;
	uint64_t denied[MAX_PROBES];
	size_t n_denied;
};

#define HI 0x100000000ull /* a bit that the kernel drops from an int argument */
#define L(...) { __VA_ARGS__ }, sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t)

static const struct op_case cases[] = {
	{ "eq", 64, "5", NULL, L(5), L(4, 6, HI | 5) },
	{ "eq", 32, "5", NULL, L(5, HI | 5), L(4, 6, HI | 4) },
	{ "ne", 64, "5", NULL, L(4, 6, HI | 5), L(5) },
	{ "ne", 32, "5", NULL, L(4, 6, 0xffffffff, HI | 4), L(5, HI | 5) },
	{ "lt", 64, "5", NULL, L(0, 4), L(5, 6, HI | 1) },
	{ "lt", 32, "5", NULL, L(0, 4, HI | 4), L(5, 6, 0xffffffff, HI | 5) },
	{ "le", 64, "5", NULL, L(0, 5), L(6, HI) },
	{ "le", 32, "5", NULL, L(0, 5, HI | 5), L(6, HI | 6) },
	{ "gt", 64, "5", NULL, L(6, 0xffffffff, HI), L(0, 5) },
	{ "gt", 32, "5", NULL, L(6, 0xffffffff, HI | 6), L(0, 5, HI | 5, HI) },
	{ "ge", 64, "5", NULL, L(5, 6, HI), L(0, 4) },
	{ "ge", 32, "5", NULL, L(5, 6, HI | 5), L(0, 4, HI | 4) },
	{ "masked_eq", 64, "0x30", "0x1000000f0", L(0x30, 0x3f, 0x130), L(0x20, 0x40, HI | 0x30) },
	{ "masked_eq", 32, "0x30", "0xf0", L(0x30, 0x3f, HI | 0x30), L(0x20, HI | 0x40) },
	{ "in", 64, "PROT_READ|PROT_WRITE", NULL, L(0, 1, 2, 3), L(4, 7, HI | 1) },
	{ "in", 32, "PROT_READ|PROT_WRITE", NULL, L(0, 3, HI | 3), L(4, 7, HI | 4) },
	{ "one_of", 64, "[3, 7]", NULL, L(3, 7), L(4, 0, HI | 3) },
	{ "one_of", 32, "[3, 7]", NULL, L(3, 7, HI | 7), L(4, 0, HI | 4) },
};

static int policy_for(const struct op_case *c, struct policy **ret)
{
	char yaml[1024], mask[64] = "";
	struct policy_error err;
	int r;

	if (c->mask)
		snprintf(mask, sizeof(mask), ", mask: %s", c->mask);
	snprintf(yaml, sizeof(yaml),
		 "version: 1\narches: [x86_64]\ndefaults: {action: {errno: EPERM}, bad_arch: kill_process}\n"
		 "groups:\n  base:\n    - {syscalls: [write, exit_group], comment: report}\n" SANITIZER_RULES
		 "roles:\n  vmm:\n    use: [base]\n    rules:\n"
		 "      - {syscall: getppid, comment: probe, args: [{arg: 0, op: %s, width: %u, value: %s%s}]}\n"
		 "  api: {use: [base]}\n  vcpu: {use: [base]}\n",
		 c->op, c->width, c->value, mask);
	r = policy_load_buffer("op.yaml", yaml, strlen(yaml), ret, &err);
	if (r < 0)
		print_error("%s\n", err.msg);
	return r;
}

/* In the child: installs the vmm program, probes, and reports one byte per
 * probe (1 allowed, 0 denied with EPERM, 2 anything else). */
static void child_probe(const struct compiled_prog *prog, const uint64_t *args, size_t n, int fd)
{
	struct sock_fprog fprog = { .len = (unsigned short)prog->n_insns, .filter = prog->insns };
	char out[2 * MAX_PROBES];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		_exit(3);
	for (size_t i = 0; i < n; i++) {
		long r = syscall(SYS_getppid, args[i]);
		out[i] = r > 0 ? 1 : (r < 0 && errno == EPERM ? 0 : 2);
	}
	_exit(write(fd, out, n) == (ssize_t)n ? 0 : 4);
}

static void case_run(const struct op_case *c, const struct compiled_prog *prog)
{
	uint64_t args[2 * MAX_PROBES];
	char got[2 * MAX_PROBES];
	size_t n = 0;
	int fds[2], status;
	pid_t pid;

	for (size_t i = 0; i < c->n_allowed; i++)
		args[n++] = c->allowed[i];
	for (size_t i = 0; i < c->n_denied; i++)
		args[n++] = c->denied[i];
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_probe(prog, args, n, fds[1]);
	close(fds[1]);
	assert_int_equal(read(fds[0], got, sizeof(got)), (ssize_t)n);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (size_t i = 0; i < n; i++) {
		int want = i < c->n_allowed ? 1 : 0;

		if (got[i] != want)
			fail_msg("%s width %u value %s: arg 0x%llx %s, expected %s", c->op, c->width, c->value,
				 (unsigned long long)args[i], got[i] == 1 ? "allowed" : "denied",
				 want ? "allowed" : "denied");
	}
}

static void test_operators(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *p = NULL;
		struct compiled_prog prog;

		assert_int_equal(policy_for(&cases[i], &p), 0);
		assert_int_equal(compile_program(p, SECCOMP_ROLE_VMM, &prog), 0);
		case_run(&cases[i], &prog);
		compile_prog_clear(&prog);
		policy_free(p);
	}
}

/* The baseline admits what any role admits: here vmm's getppid(5) and
 * vcpu's getppid(7), and nothing else. */
static void test_baseline_union(void **state)
{
	static const char yaml[] =
		"version: 1\narches: [x86_64]\ndefaults: {action: {errno: EPERM}, bad_arch: kill_process}\n"
		"groups:\n  base:\n    - {syscalls: [write, exit_group], comment: report}\n" SANITIZER_RULES
		"roles:\n  vmm:\n    use: [base]\n    rules:\n"
		"      - {syscall: getppid, comment: a, args: [{arg: 0, op: eq, value: 5}]}\n"
		"  api: {use: [base]}\n  vcpu:\n    use: [base]\n    rules:\n"
		"      - {syscall: getppid, comment: b, args: [{arg: 0, op: eq, value: 7}]}\n";
	static const struct op_case c = { "union", 64, "-", NULL, L(5, 7), L(6, 0) };
	struct policy_error err;
	struct policy *p = NULL;
	struct compiled_prog prog;

	assert_int_equal(policy_load_buffer("u.yaml", yaml, strlen(yaml), &p, &err), 0);
	assert_int_equal(compile_program(p, COMPILE_BASELINE, &prog), 0);
	case_run(&c, &prog);
	compile_prog_clear(&prog);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_baseline_union),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
