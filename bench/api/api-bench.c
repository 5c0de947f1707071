/* bench/api: latency and throughput of ember's HTTP API over its unix socket,
 * against a raw unix-socket echo round trip of the same bytes measured in the
 * same run (the floor any server on this socket type can reach).
 *
 *   api-bench SOCKET [ITERATIONS]
 *
 * Prints median and p99 per request for GET / and PUT /machine-config on one
 * keep-alive connection, requests per second, and each figure's ratio to the
 * echo baseline. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char get_root[] = "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
static const char put_mc[] = "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			     "Content-Length: 35\r\n\r\n{\"vcpu_count\":1,\"mem_size_mib\":128}";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	fprintf(stderr, "api-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n <= 0)
			die("write");
		buf += n;
		len -= (size_t)n;
	}
}

/* Reads one HTTP response (headers, then Content-Length bytes). */
static void read_response(int fd)
{
	char buf[4096];
	size_t have = 0, need = 0;
	char *hdr_end = NULL;

	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			die("read response");
		have += (size_t)n;
		buf[have] = '\0';
		if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
			char *cl = strstr(buf, "Content-Length: ");
			need = (size_t)(hdr_end + 4 - buf) + (cl && cl < hdr_end ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (hdr_end && have >= need)
			return;
	}
}

static void read_exact(int fd, size_t len)
{
	char buf[4096];
	while (len > 0) {
		ssize_t n = read(fd, buf, len < sizeof(buf) ? len : sizeof(buf));
		if (n <= 0)
			die("read echo");
		len -= (size_t)n;
	}
}

static void *echo_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write_all(fd, buf, (size_t)n);
	return NULL;
}

struct result {
	uint64_t median_ns, p99_ns;
	double per_s;
};

static struct result summarise(uint64_t *lat, int n, uint64_t total_ns)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	return (struct result){ lat[n / 2], lat[(n * 99) / 100], n * 1e9 / (double)total_ns };
}

/* The baseline: the request bytes to an echo thread and back, over a unix socket. */
static struct result bench_echo(const char *msg, int n, uint64_t *lat)
{
	int sv[2];
	pthread_t t;
	size_t len = strlen(msg);
	uint64_t start = now_ns();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pthread_create(&t, NULL, echo_thread, (void *)(intptr_t)sv[1]);
	start = now_ns();
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		write_all(sv[0], msg, len);
		read_exact(sv[0], len);
		lat[i] = now_ns() - t0;
	}
	struct result r = summarise(lat, n, now_ns() - start);
	close(sv[0]);
	pthread_join(t, NULL);
	close(sv[1]);
	return r;
}

static struct result bench_api(const char *path, const char *msg, int n, uint64_t *lat)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint64_t start;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("connect to ember");
	start = now_ns();
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		write_all(fd, msg, strlen(msg));
		read_response(fd);
		lat[i] = now_ns() - t0;
	}
	struct result r = summarise(lat, n, now_ns() - start);
	close(fd);
	return r;
}

static void print_row(const char *name, struct result r, struct result base)
{
	printf("%-26s median %8.1f us  p99 %8.1f us  %9.0f req/s   ratio to echo: median x%.1f, p99 x%.1f, "
	       "throughput /%.1f\n",
	       name, r.median_ns / 1e3, r.p99_ns / 1e3, r.per_s, (double)r.median_ns / (double)base.median_ns,
	       (double)r.p99_ns / (double)base.p99_ns, base.per_s / r.per_s);
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 20000;
	uint64_t *lat;

	if (argc < 2 || n < 100) {
		fprintf(stderr, "usage: api-bench SOCKET [ITERATIONS >= 100]\n");
		return 2;
	}
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		die("calloc");
	/* Warm both paths before measuring. */
	bench_echo(get_root, 100, lat);
	bench_api(argv[1], get_root, 100, lat);

	struct result echo_get = bench_echo(get_root, n, lat);
	struct result echo_put = bench_echo(put_mc, n, lat);
	struct result api_get = bench_api(argv[1], get_root, n, lat);
	struct result api_put = bench_api(argv[1], put_mc, n, lat);

	printf("%d sequential requests per row, one keep-alive connection each\n", n);
	print_row("echo round trip (GET size)", echo_get, echo_get);
	print_row("echo round trip (PUT size)", echo_put, echo_put);
	print_row("GET /", api_get, echo_get);
	print_row("PUT /machine-config", api_put, echo_put);
	free(lat);
	return 0;
}
