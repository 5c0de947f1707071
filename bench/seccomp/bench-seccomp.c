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

#define ROUNDS 5

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The best of ROUNDS timings of n calls, in ns per call. */
static double time_calls(int kvm_fd, bool use_ioctl, long n)
{
	double best = 1e18;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++) {
			if (use_ioctl)
				ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
			else
				syscall(SYS_getppid);
		}
		double per = (double)(now_ns() - t0) / (double)n;
		best = per < best ? per : best;
	}
	return best;
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

/* Runs one mode in a child; writes its two figures to ret. */
static int mode_run(enum mode m, const char *policy, int kvm_fd, long n, double ret[2])
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		double r[2];

		close(fds[0]);
		if (install(m, policy) < 0)
			_exit(2);
		r[0] = time_calls(kvm_fd, false, n);
		r[1] = kvm_fd >= 0 ? time_calls(kvm_fd, true, n / 4) : 0;
		_exit(write(fds[1], r, sizeof(r)) == sizeof(r) ? 0 : 3);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], ret, 2 * sizeof(double));
	close(fds[0]);
	waitpid(pid, &status, 0);
	return got == 2 * sizeof(double) && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
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
	double res[MODE_COUNT][2], builtin_us, yaml_us;
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
	for (int m = 0; m < MODE_COUNT; m++) {
		if (mode_run((enum mode)m, argv[1], kvm_fd, n, res[m]) < 0) {
			fprintf(stderr, "bench-seccomp: mode '%s' failed\n", mode_names[m]);
			return 1;
		}
	}
	printf("seccomp cost per syscall (best of %d rounds; getppid x %ld, ioctl KVM_CHECK_EXTENSION x %ld)\n",
	       ROUNDS, n, n / 4);
	printf("%-18s %14s %8s %16s %8s\n", "filters", "getppid ns", "ratio", "ioctl ns", "ratio");
	for (int m = 0; m < MODE_COUNT; m++)
		printf("%-18s %14.1f %7.2fx %16.1f %7.2fx\n", mode_names[m], res[m][0], res[m][0] / res[0][0],
		       res[m][1], kvm_fd >= 0 ? res[m][1] / res[0][1] : 0.0);
	builtin_us = load_time_us(NULL);
	yaml_us = load_time_us(argv[2]);
	printf("\nloading the filters at start-up (best of %d)\n", ROUNDS * 4);
	printf("%-34s %10.1f us %7.2fx\n", "built-in bundle (verify SHA-256)", builtin_us, 1.0);
	printf("%-34s %10.1f us %7.2fx\n", "YAML policy (parse + libseccomp)", yaml_us, yaml_us / builtin_us);
	return 0;
}
