/* The cost of ember's seccomp filters per syscall: getppid (the cheapest
 * call) and ioctl(KVM_CHECK_EXTENSION) on /dev/kvm (a call whose request
 * number the filters check), with no filter, the baseline alone, and the
 * baseline plus the vcpu role. Each mode runs in its own child, since a
 * filter cannot be removed once installed.
 *
 *   bench-seccomp BUNDLE YAML [ITERATIONS]
 *
 * BUNDLE must allow both calls in the vcpu role (bench/seccomp/run derives
 * one from the default policy and compiles it); YAML is its source. The
 * start-up cost of loading the filters is measured too: the built-in bundle
 * (what ember does by default) against parsing and compiling the YAML.
 * Prints figures and ratios; asserts nothing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "seccomp/install.h"

enum mode { MODE_NONE, MODE_BASELINE, MODE_VCPU, MODE_COUNT };
static const char *const mode_names[] = { "no filter", "baseline", "baseline + vcpu" };

#define ROUNDS 7

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum call { CALL_GETPPID, CALL_CHECK_EXTENSION, CALL_KVM_RUN, CALL_COUNT };

/* One call. KVM_RUN on the /dev/kvm fd fails at once (it needs a vCPU fd),
 * after the filters have judged it exactly as a vCPU's KVM_RUN. */
static void call_once(int kvm_fd, enum call c)
{
	if (c == CALL_GETPPID)
		syscall(SYS_getppid);
	else if (c == CALL_CHECK_EXTENSION)
		ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	else
		ioctl(kvm_fd, KVM_RUN, 0);
}

/* The time of n calls, in ns per call. */
static double time_calls(int kvm_fd, enum call c, long n)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++)
		call_once(kvm_fd, c);
	return (double)(now_ns() - t0) / (double)n;
}

static int install(enum mode m, const char *policy)
{
	char err[600];

	if (m == MODE_NONE)
		return 0;
	if (seccomp_filters_load(policy, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	if (seccomp_install_baseline() < 0)
		return -EPERM;
	return m == MODE_VCPU ? seccomp_install_role(SECCOMP_ROLE_VCPU) : 0;
}

/* Runs one mode in a child; writes its figures to ret. */
static int mode_run(enum mode m, const char *policy, int kvm_fd, long n, double ret[CALL_COUNT])
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		double r[CALL_COUNT] = { 0 };

		close(fds[0]);
		if (install(m, policy) < 0)
			_exit(2);
		r[CALL_GETPPID] = time_calls(kvm_fd, CALL_GETPPID, n);
		for (int c = CALL_CHECK_EXTENSION; kvm_fd >= 0 && c < CALL_COUNT; c++)
			r[c] = time_calls(kvm_fd, (enum call)c, n / 4);
		_exit(write(fds[1], r, sizeof(r)) == sizeof(r) ? 0 : 3);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], ret, CALL_COUNT * sizeof(double));
	close(fds[0]);
	waitpid(pid, &status, 0);
	return got == CALL_COUNT * sizeof(double) && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The best of ROUNDS loads of path (NULL: the built-in bundle), each in a
 * fresh child since a process loads its filters once; in microseconds. */
static double load_time_us(const char *path)
{
	double best = 1e18;

	for (int r = 0; r < ROUNDS * 4; r++) {
		int fds[2], status;
		double us = 0;
		pid_t pid;

		if (pipe(fds) < 0)
			return -1;
		pid = fork();
		if (pid == 0) {
			char err[600];
			uint64_t t0 = now_ns();

			if (seccomp_filters_load(path, err, sizeof(err)) < 0)
				_exit(2);
			us = (double)(now_ns() - t0) / 1000.0;
			_exit(write(fds[1], &us, sizeof(us)) == sizeof(us) ? 0 : 3);
		}
		close(fds[1]);
		if (pid < 0 || read(fds[0], &us, sizeof(us)) != sizeof(us))
			us = -1;
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		if (us < 0)
			return -1;
		best = us < best ? us : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	double res[MODE_COUNT][CALL_COUNT], builtin_us, yaml_us;
	long n = argc > 3 ? atol(argv[3]) : 2000000;
	int kvm_fd;

	if (argc < 3 || n <= 0) {
		fprintf(stderr, "usage: bench-seccomp BUNDLE YAML [ITERATIONS]\n");
		return 2;
	}
	log_set_level(LOG_WARNING);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		fprintf(stderr, "bench-seccomp: /dev/kvm: %s; the ioctl figures are skipped\n", strerror(errno));
	/* Rounds alternate between the modes, so a noisy neighbour on the host
	 * slows all of them alike; each figure is the best of its rounds. */
	for (int m = 0; m < MODE_COUNT; m++)
		for (int c = 0; c < CALL_COUNT; c++)
			res[m][c] = 1e18;
	for (int round = 0; round < ROUNDS; round++)
		for (int m = 0; m < MODE_COUNT; m++) {
			double r[CALL_COUNT];

			if (mode_run((enum mode)m, argv[1], kvm_fd, n, r) < 0) {
				fprintf(stderr, "bench-seccomp: mode '%s' failed\n", mode_names[m]);
				return 1;
			}
			for (int c = 0; c < CALL_COUNT; c++)
				res[m][c] = r[c] < res[m][c] ? r[c] : res[m][c];
		}
	printf("seccomp cost per syscall (best of %d rounds; getppid x %ld, each ioctl x %ld)\n", ROUNDS, n, n / 4);
	printf("%-16s %12s %6s   %18s %6s   %12s %6s\n", "filters", "getppid ns", "ratio", "CHECK_EXTENSION ns",
	       "ratio", "KVM_RUN ns", "ratio");
	for (int m = 0; m < MODE_COUNT; m++) {
		printf("%-16s", mode_names[m]);
		for (int c = 0; c < CALL_COUNT; c++)
			printf(" %*.1f %5.2fx  ", c == CALL_CHECK_EXTENSION ? 20 : 14, res[m][c],
			       res[0][c] > 0 ? res[m][c] / res[0][c] : 0.0);
		printf("\n");
	}
	builtin_us = load_time_us(NULL);
	yaml_us = load_time_us(argv[2]);
	printf("\nloading the filters at start-up (best of %d)\n", ROUNDS * 4);
	printf("%-34s %10.1f us %7.2fx\n", "built-in bundle (verify SHA-256)", builtin_us, 1.0);
	printf("%-34s %10.1f us %7.2fx\n", "YAML policy (parse + libseccomp)", yaml_us, yaml_us / builtin_us);
	return 0;
}
