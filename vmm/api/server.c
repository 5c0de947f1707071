/* The `api` thread: unix socket, connection loop, keep-alive and pipelining.
 * See server.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/handoff.h"
#include "api/methods.h"
#include "api/http.h"
#include "api/response.h"
#include "api/server.h"
#include "cleanup.h"
#include "exit_code.h"
#include "log.h"
#include "ready.h"
#include "seccomp/install.h"
#include "term.h"
#include "thread.h"

#define READ_CHUNK 4096
/* A client that pipelines requests but never reads its answers is not read
 * from again until its answers drain below this. */
#define OUT_HIGH_WATER (256 * 1024)

struct conn {
	int fd;
	struct http_reader *reader;
	char *out;                /* response bytes not yet written */
	size_t out_len, out_off;
	char in[READ_CHUNK];      /* bytes read but not yet parsed (while out is full) */
	size_t in_len, in_off;
	bool close_after_write;
	bool req_pending;         /* bytes of a request not yet served were read */
	uint64_t req_start_ns;    /* when the first of them arrived: the request timeout */
	uint64_t active_ns;       /* the last byte read or written: the idle timeout */
	uint64_t done_ns;         /* accepted, or the last request served: who is evicted first */
};

struct api_server {
	int listen_fd;
	int epoll_fd;
	int stop_fd;
	char *socket_path;
	struct http_limits limits;
	uint64_t request_timeout_ns;
	uint64_t idle_timeout_ns;  /* 0: never */
	uint64_t now_ns;           /* CLOCK_MONOTONIC, read once per loop turn */
	struct api_handoff *handoff;
	struct conn *conns[API_MAX_CONNECTIONS];
	pthread_t thread;
	bool thread_started;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct conn *conn_free(struct api_server *s, struct conn *c)
{
	if (!c)
		return NULL;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	http_reader_free(c->reader);
	free(c->out);
	for (size_t i = 0; i < API_MAX_CONNECTIONS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	return mfree(c);
}

static int conn_append(struct conn *c, const char *buf, size_t len)
{
	char *n;

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	n = realloc(c->out, c->out_len + len);
	if (!n)
		return -ENOMEM;
	memcpy(n + c->out_len, buf, len);
	c->out = n;
	c->out_len += len;
	return 0;
}

/* Writes what it can. Returns 1 when everything is out, 0 when the socket is
 * full, -errno when the peer is gone. */
static int conn_flush(struct api_server *s, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)n;
		c->active_ns = s->now_ns;
	}
	c->out_len = c->out_off = 0;
	return 1;
}

static void conn_transport_error(struct conn *c, int status, const char *msg)
{
	struct http_response resp = { 0 };
	_cleanup_free_ char *bytes = NULL;
	size_t len;

	http_response_transport_error(&resp, status, msg);
	if (http_response_format(&resp, &bytes, &len) == 0)
		conn_append(c, bytes, len);
	http_response_clear(&resp);
	c->close_after_write = true; /* the parser state is lost: drop what follows */
}

static bool method_supported(const char *m)
{
	return api_method_find(m) != NULL;
}

static void conn_serve(struct api_server *s, struct conn *c, struct http_request *req)
{
	_cleanup_free_ char *bytes = NULL;
	size_t len;
	int r;

	if (!method_supported(req->method)) {
		conn_transport_error(c, 400, "Invalid HTTP Method: Unsupported HTTP method.");
		return;
	}
	r = api_handoff_serve(s->handoff, req, &bytes, &len);
	s->now_ns = now_ns(); /* the vmm thread may have taken long (a pause, a slow disk) */
	if (r < 0 || conn_append(c, bytes, len) < 0) {
		c->close_after_write = true;
		return;
	}
	if (!req->keep_alive)
		c->close_after_write = true;
}

/* The request timer runs from the first byte of a request not yet served. */
static void conn_request_started(struct conn *c, uint64_t at_ns)
{
	if (!c->req_pending) {
		c->req_pending = true;
		c->req_start_ns = at_ns;
	}
}

/* Parses and serves buffered input until it is used up, an error stops the
 * connection, or the output backs up. */
static void conn_process(struct api_server *s, struct conn *c)
{
	char err[256];

	while (c->in_off < c->in_len && !c->close_after_write && c->out_len - c->out_off < OUT_HIGH_WATER) {
		struct http_request *req = NULL;
		ssize_t n = http_reader_feed(c->reader, c->in + c->in_off, c->in_len - c->in_off, &req, err,
					     sizeof(err));
		if (n < 0) {
			conn_transport_error(c, 400, err);
			break;
		}
		if (n == 0 && !req) { /* no progress: never spin on input the parser will not take */
			conn_transport_error(c, 400, "Invalid request.");
			break;
		}
		c->in_off += (size_t)n;
		if (http_reader_take_continue(c->reader))
			conn_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (req) {
			conn_serve(s, c, req);
			http_request_free(req);
			c->req_pending = false;
			c->done_ns = s->now_ns;
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	/* What is left (unparsed, or a partial request in the reader) came with
	 * the last read; a request served since then restarted the clock. */
	if (c->in_len == 0 && !http_reader_partial(c->reader))
		c->req_pending = false;
	else
		conn_request_started(c, c->active_ns);
}

/* Waits for input only when there is room for more output, and for output
 * only when some is pending. */
static int conn_rearm(struct api_server *s, struct conn *c)
{
	bool backlog = c->out_off < c->out_len;
	struct epoll_event ev = {
		.events = (backlog ? EPOLLOUT : 0) | (c->in_len == 0 && !c->close_after_write ? EPOLLIN : 0),
		.data.ptr = c,
	};
	return epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_on_event(struct api_server *s, struct conn *c, uint32_t events)
{
	if (events & EPOLLIN && c->in_len == 0) {
		ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_free(s, c);
			return;
		}
		c->in_len = n > 0 ? (size_t)n : 0;
		if (n > 0) {
			c->active_ns = s->now_ns;
			conn_request_started(c, s->now_ns);
		}
	}
	/* Serve buffered input while the answers keep draining; stop when the
	 * socket is full (EPOLLOUT resumes) or the input is used up. */
	int r;
	do {
		conn_process(s, c);
		r = conn_flush(s, c);
	} while (r == 1 && c->in_len > 0 && !c->close_after_write);
	if (r < 0 || (r == 1 && c->close_after_write) || (events & (EPOLLHUP | EPOLLERR) && r != 0)) {
		conn_free(s, c);
		return;
	}
	if (conn_rearm(s, c) < 0)
		conn_free(s, c);
}

static int free_slot(struct api_server *s)
{
	for (int i = 0; i < API_MAX_CONNECTIONS; i++)
		if (!s->conns[i])
			return i;
	return -1;
}

/* Something waits on c: input not yet served (its answers back up) or an
 * answer not yet sent. Closing c would lose it. */
static bool conn_busy(const struct conn *c)
{
	return c->in_len > 0 || c->out_off < c->out_len || c->close_after_write;
}

/* With every slot taken: the connection that has gone longest without
 * completing a request, among those with nothing waiting; -1 if none. A
 * deliberate change from Firecracker, which refuses the newcomer: idle or
 * trickling clients can no longer lock the operator out (doc/api.md). */
static int evict_slot(const struct api_server *s)
{
	int best = -1;

	for (int i = 0; i < API_MAX_CONNECTIONS; i++) {
		const struct conn *c = s->conns[i];
		if (c && !conn_busy(c) && (best < 0 || c->done_ns < s->conns[best]->done_ns))
			best = i;
	}
	return best;
}

static int take_slot(struct api_server *s)
{
	int slot = free_slot(s);

	if (slot < 0 && (slot = evict_slot(s)) >= 0) {
		log_rl(LOG_WARNING, "API connection closed to make room for a new one: no request completed on it for %" PRIu64
		       " ms.", (s->now_ns - s->conns[slot]->done_ns) / 1000000);
		conn_free(s, s->conns[slot]);
	}
	return slot;
}

static void server_accept(struct api_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_rl(LOG_WARNING, "API socket accept failed: %s", strerror(errno));
			return;
		}
		int slot = take_slot(s);
		if (slot < 0) {
			/* Best effort, as Firecracker: the refusal fits any socket buffer. */
			if (send(fd, http_response_server_full, strlen(http_response_server_full), MSG_NOSIGNAL) < 0)
				log_rl(LOG_DEBUG, "could not tell a refused API client why: %s", strerror(errno));
			log_rl(LOG_WARNING, "API connection refused: all %d connections have answers or requests pending",
			       API_MAX_CONNECTIONS);
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c || http_reader_new(&s->limits, &c->reader) < 0 ||
		    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (c)
				http_reader_free(c->reader);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->active_ns = c->done_ns = s->now_ns;
		s->conns[slot] = c;
	}
}

/* When c's running timer expires (UINT64_MAX: none). While answers back up
 * the client is not reading: only the idle timer runs, reset by each byte it
 * takes. Otherwise a request in progress has the request timer. */
static uint64_t conn_deadline(const struct api_server *s, const struct conn *c)
{
	if (!conn_busy(c) && c->req_pending)
		return c->req_start_ns + s->request_timeout_ns;
	return s->idle_timeout_ns ? c->active_ns + s->idle_timeout_ns : UINT64_MAX;
}

static void conn_expire(struct api_server *s, struct conn *c)
{
	char msg[128];
	unsigned secs = (unsigned)(s->request_timeout_ns / 1000000000u);

	if (!conn_busy(c) && c->req_pending) {
		log_rl(LOG_WARNING, "API request timed out: not complete %u s after its first byte; connection closed.",
		       secs);
		snprintf(msg, sizeof(msg), "Request timeout: the request was not complete %u s after its first byte.",
			 secs);
		conn_transport_error(c, 408, msg);
		conn_flush(s, c); /* best effort: nothing else is queued, so it fits */
	} else {
		log_rl(LOG_INFO, "API connection closed: idle for %" PRIu64 " s.", s->idle_timeout_ns / 1000000000u);
	}
	conn_free(s, c);
}

static void server_expire(struct api_server *s)
{
	for (size_t i = 0; i < API_MAX_CONNECTIONS; i++)
		if (s->conns[i] && conn_deadline(s, s->conns[i]) <= s->now_ns)
			conn_expire(s, s->conns[i]);
}

/* The epoll_wait timeout until the next timer, rounded up; -1 for none. */
static int server_timeout_ms(const struct api_server *s)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < API_MAX_CONNECTIONS; i++) {
		uint64_t d = s->conns[i] ? conn_deadline(s, s->conns[i]) : UINT64_MAX;
		next = d < next ? d : next;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= s->now_ns)
		return 0;
	next = (next - s->now_ns + 999999) / 1000000;
	return next > INT_MAX ? INT_MAX : (int)next;
}

static int server_loop(struct api_server *s)
{
	struct epoll_event evs[API_MAX_CONNECTIONS + 2];

	for (;;) {
		bool accept_ready = false;

		s->now_ns = now_ns();
		server_expire(s);
		int n = epoll_wait(s->epoll_fd, evs, (int)ARRAY_SIZE(evs), server_timeout_ms(s));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s->now_ns = now_ns();
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &s->stop_fd)
				return 0;
			if (evs[i].data.ptr == &s->listen_fd)
				accept_ready = true;
			else
				conn_on_event(s, evs[i].data.ptr, evs[i].events);
		}
		/* Last: accepting may evict a connection, which must not have an
		 * event still to handle in this batch. */
		if (accept_ready)
			server_accept(s);
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	int r;

	log_set_thread_name("api");
	(void)thread_set_comm(THREAD_COMM_API); /* cannot fail for a string */
	/* Before the first byte from a client is read (design.md §1). */
	r = seccomp_install_role(SECCOMP_ROLE_API);
	if (r < 0) {
		log_error("Cannot install the api seccomp filter: %s", strerror(-r));
		ready_exit(EXIT_CODE_GENERIC_ERROR); /* the last error logged is the reason */
		term_restore();
		_exit(EXIT_CODE_GENERIC_ERROR);
	}
	r = server_loop(s);
	if (r < 0)
		log_error("API server loop failed: %s", strerror(-r));
	return NULL;
}

static int bind_error(const char *path, int e, char *err, size_t errlen)
{
	if (e == EADDRINUSE || e == EEXIST)
		snprintf(err, errlen, "Failed to open the API socket at: %s. Check that it is not already used.", path);
	else
		snprintf(err, errlen, "Failed to open the API socket at: %s: %s", path, strerror(e));
	return e == EEXIST ? -EADDRINUSE : -e;
}

/* Binds and listens on `bound_path`, mode 0755 (Firecracker's under the
 * usual umask) whatever umask ember runs with (the jailer's is 077):
 * connecting needs write access, so only the owner can still connect.
 * umask is process-wide, but this runs at start-up, before any other thread
 * of ember exists. */
static int server_listen_at(struct api_server *s, const char *bound_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	strcpy(addr.sun_path, bound_path);
	mode_t old_umask = umask(022);
	int bound = bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr));

	umask(old_umask);
	if (bound < 0)
		return -errno;
	return listen(s->listen_fd, 64) < 0 ? -errno : 0;
}

/* The socket file appears at `path` only once it listens: clients (the Go
 * SDK, Kata, the tests) wait for the file and connect at once, and a file
 * bound but not yet listening answers ECONNREFUSED (seen under load). So it
 * is bound under a temporary name beside it and renamed into place without
 * replacing anything: a live socket of another ember stays and is reported
 * as in use. A path too long for the temporary name is bound in place. */
static int server_bind(struct api_server *s, const char *path, char *err, size_t errlen)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t max = sizeof(tmp) - 1;
	int n, r;

	if (strlen(path) > max) {
		snprintf(err, errlen, "API socket path '%s' is longer than %zu bytes", path, max);
		return -ENAMETOOLONG;
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		snprintf(err, errlen, "cannot create the API socket: %s", strerror(errno));
		return -errno;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.ember-%d.bind", path, (int)getpid());
	if (n < 0 || (size_t)n > max) {
		r = server_listen_at(s, path);
	} else {
		(void)unlink(tmp); /* a leftover of a killed ember that had this pid */
		r = server_listen_at(s, tmp);
		if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
			r = -errno;
		if (r < 0)
			(void)unlink(tmp);
	}
	if (r < 0)
		return bind_error(path, -r, err, errlen);
	/* Only a socket ember put in place is removed at exit, never another's. */
	s->socket_path = strdup(path);
	if (!s->socket_path) {
		snprintf(err, errlen, "cannot keep the API socket path '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

static int epoll_watch(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int server_setup(struct api_server *s, const struct api_server_config *cfg, struct api_controller *controller,
			struct event_loop *loop, char *err, size_t errlen)
{
	int r = server_bind(s, cfg->socket_path, err, errlen);

	if (r < 0)
		return r;
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->epoll_fd < 0 || s->stop_fd < 0 || (r = epoll_watch(s->epoll_fd, s->listen_fd, &s->listen_fd)) < 0 ||
	    (r = epoll_watch(s->epoll_fd, s->stop_fd, &s->stop_fd)) < 0) {
		r = r < 0 ? r : -errno;
		snprintf(err, errlen, "cannot set up the API event loop: %s", strerror(-r));
		return r;
	}
	r = api_handoff_new(controller, loop, &s->handoff);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up the API hand-off: %s", strerror(-r));
		return r;
	}
	r = -pthread_create(&s->thread, NULL, api_thread, s);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the api thread: %s", strerror(-r));
		return r;
	}
	s->thread_started = true;
	log_info("API server started.");
	return 0;
}

int api_server_start(const struct api_server_config *cfg, struct api_controller *controller,
		     struct event_loop *loop, struct api_server **ret, char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		snprintf(err, errlen, "cannot allocate the API server");
		return -ENOMEM;
	}
	s->listen_fd = s->epoll_fd = s->stop_fd = -1;
	/* jansson seeds its hash function from /dev/urandom on first use; do
	 * it here, on the vmm thread, before the api thread (whose seccomp role
	 * opens no files) parses its first body. */
	json_object_seed(0);
	/* One malloc arena for the process: a thread arena of its own would make
	 * glibc read /proc/sys/vm/overcommit_memory the first time it shrinks,
	 * a file access the api role does not have (and need not). */
	mallopt(M_ARENA_MAX, 1);
	http_limits_default(&s->limits);
	s->limits.max_body = cfg->max_payload;
	s->request_timeout_ns = (uint64_t)(cfg->request_timeout_s ? cfg->request_timeout_s : API_DEFAULT_REQUEST_TIMEOUT_S) *
				1000000000u;
	s->idle_timeout_ns = (uint64_t)cfg->idle_timeout_s * 1000000000u;
	r = server_setup(s, cfg, controller, loop, err, errlen);
	if (r < 0) {
		api_server_stop(s);
		return r;
	}
	*ret = s;
	return 0;
}

bool api_socket_remove_stale(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	bool stale;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	strcpy(addr.sun_path, path);
	/* Non-blocking: a live server with a full backlog answers EAGAIN, not a wait. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	stale = connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return stale && unlink(path) == 0;
}

struct api_server *api_server_stop(struct api_server *s)
{
	uint64_t one = 1;

	if (!s)
		return NULL;
	if (s->handoff)
		api_handoff_shutdown(s->handoff); /* an api thread waiting on us gets an answer */
	if (s->thread_started) {
		if (write(s->stop_fd, &one, sizeof(one)) < 0)
			log_warn("cannot signal the api thread to stop: %s", strerror(errno));
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < API_MAX_CONNECTIONS; i++)
		conn_free(s, s->conns[i]);
	api_handoff_free(s->handoff);
	if (s->socket_path)
		unlink(s->socket_path);
	free(s->socket_path);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	return mfree(s);
}
