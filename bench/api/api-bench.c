/* bench/api: latency and throughput of ember's HTTP API over its unix socket,
 * against a raw unix-socket echo round trip of the same bytes measured in the
 * same run (the floor any server on this socket type can reach).
 *
 *   api-bench SOCKET [ITERATIONS]
 *
 * Prints median and p99 per request for GET / and PUT /machine-config on one
 * keep-alive connection, requests per second, and each figure's ratio to the
 * echo baseline. Then what the connection defences cost, beside the same
 * baseline: the strict byte checks (in process, in thread CPU time: ember's
 * request reader, and the checks alone on the same bytes), and the timers
 * (the clock reads the api thread makes per request, and GET / while 9 other
 * connections hold armed idle timers). */
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

#include "api/http.h"
#include "api/http_strict.h"

static const char get_root[] = "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
static const char put_mc[] = "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			     "Content-Length: 35\r\n\r\n{\"vcpu_count\":1,\"mem_size_mib\":128}";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: the in-process loops below measure work, not the
 * time other processes on a shared machine take the CPU away. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

static int connect_to(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("connect to ember");
	return fd;
}

static struct result bench_api(const char *path, const char *msg, int n, uint64_t *lat)
{
	int fd = connect_to(path);
	uint64_t start = now_ns();
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

/* ns per request through ember's whole reader (http-parser + strict checks). */
static double reader_ns(const char *msg, int n)
{
	struct http_limits l;
	struct http_reader *r;
	char err[256];
	uint64_t t0;

	http_limits_default(&l);
	if (http_reader_new(&l, &r) < 0)
		die("http_reader_new");
	t0 = cpu_ns();
	for (int i = 0; i < n; i++) {
		struct http_request *req = NULL;
		if (http_reader_feed(r, msg, strlen(msg), &req, err, sizeof(err)) < 0 || !req)
			die("http_reader_feed");
		http_request_free(req);
	}
	double per = (double)(cpu_ns() - t0) / n;
	http_reader_free(r);
	return per;
}

/* ns per request of the strict checks alone, on the same bytes. */
static double strict_ns(const char *msg, int n)
{
	struct http_strict st;
	char err[256];
	const char *cl = strstr(msg, "Content-Length: ");
	uint64_t body = cl ? strtoull(cl + 16, NULL, 10) : 0;
	size_t head = (size_t)(strstr(msg, "\r\n\r\n") + 3 - msg), len = strlen(msg);
	uint64_t t0;

	http_strict_init(&st);
	t0 = cpu_ns();
	for (int i = 0; i < n; i++) {
		/* up to the last LF of the head; then the body length, as the
		 * reader learns it from http-parser; then the rest */
		if (http_strict_scan(&st, msg, head, err, sizeof(err)) < 0)
			die("http_strict_scan");
		http_strict_set_body(&st, body);
		if (http_strict_scan(&st, msg + head, len - head, err, sizeof(err)) < 0 ||
		    !http_strict_between_requests(&st))
			die("http_strict_scan");
	}
	return (double)(cpu_ns() - t0) / n;
}

/* The least of 5 runs: these in-process loops only lose to noise. */
static double best_of(double (*f)(const char *, int), const char *msg, int n)
{
	double best = 1e18;

	for (int i = 0; i < 5; i++) {
		double v = f(msg, n);
		best = v < best ? v : best;
	}
	return best;
}

static double clock_read_ns(int n)
{
	struct timespec ts;
	uint64_t t0 = cpu_ns();

	for (int i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(cpu_ns() - t0) / n;
}

/* clock: "CPU" for the in-process loops, "wall" for a difference of medians. */
static void print_cost(const char *name, double ns, const char *clock, struct result api, struct result echo)
{
	printf("%-36s %7.0f ns %-4s per request   %5.1f%% of the API median, x%.2f the echo median\n", name, ns,
	       clock, 100.0 * ns / (double)api.median_ns, ns / (double)echo.median_ns);
}

/* GET / alone and GET / while 9 more connections are open and idle (every
 * loop turn of the api thread then computes 10 deadlines instead of 1), in
 * alternating rounds so that load changes on the machine hit both alike. */
static void bench_timers(const char *path, int n, uint64_t *lat, struct result *ret_alone,
			 struct result *ret_idle)
{
	const int rounds = 10, per = n / rounds;
	uint64_t *alone = calloc((size_t)n, sizeof(*alone)), *idle_lat = calloc((size_t)n, sizeof(*idle_lat));
	uint64_t t_alone = 0, t_idle = 0;
	int idle[9];

	if (!alone || !idle_lat)
		die("calloc");
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		bench_api(path, get_root, per, lat);
		memcpy(alone + r * per, lat, (size_t)per * sizeof(*lat));
		t_alone += now_ns() - t0;
		for (size_t i = 0; i < 9; i++)
			idle[i] = connect_to(path);
		t0 = now_ns();
		bench_api(path, get_root, per, lat);
		memcpy(idle_lat + r * per, lat, (size_t)per * sizeof(*lat));
		t_idle += now_ns() - t0;
		for (size_t i = 0; i < 9; i++)
			close(idle[i]);
	}
	*ret_alone = summarise(alone, rounds * per, t_alone);
	*ret_idle = summarise(idle_lat, rounds * per, t_idle);
	free(alone);
	free(idle_lat);
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

	struct result alone, idle;
	bench_timers(argv[1], n, lat, &alone, &idle);
	print_row("GET /, alone (timer rounds)", alone, echo_get);
	print_row("GET /, 9 idle conns open", idle, echo_get);
	printf("the connection defences, per request:\n");
	print_cost("reader, GET / (parser + checks)", best_of(reader_ns, get_root, n), "CPU", api_get, echo_get);
	print_cost("strict checks alone, GET /", best_of(strict_ns, get_root, n), "CPU", api_get, echo_get);
	print_cost("reader, PUT (parser + checks)", best_of(reader_ns, put_mc, n), "CPU", api_put, echo_put);
	print_cost("strict checks alone, PUT", best_of(strict_ns, put_mc, n), "CPU", api_put, echo_put);
	print_cost("timers: 3 clock reads", 3 * clock_read_ns(n), "CPU", api_get, echo_get);
	print_cost("timers: 10 armed vs 1 (median diff)", (double)idle.median_ns - (double)alone.median_ns, "wall",
		   api_get, echo_get);
	free(lat);
	return 0;
}
