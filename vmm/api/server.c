/* The `api` thread: unix socket, connection loop, keep-alive and pipelining.
 * See server.h. */
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include "api/handoff.h"
#include "api/http.h"
#include "api/response.h"
#include "api/server.h"
#include "cleanup.h"
#include "exit_code.h"
#include "log.h"
#include "seccomp/install.h"

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
};

struct api_server {
	int listen_fd;
	int epoll_fd;
	int stop_fd;
	char *socket_path;
	struct http_limits limits;
	struct api_handoff *handoff;
	struct conn *conns[API_MAX_CONNECTIONS];
	pthread_t thread;
	bool thread_started;
};

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
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	return 1;
}

static void conn_transport_error(struct conn *c, const char *msg)
{
	struct http_response resp = { 0 };
	_cleanup_free_ char *bytes = NULL;
	size_t len;

	http_response_transport_error(&resp, 400, msg);
	if (http_response_format(&resp, &bytes, &len) == 0)
		conn_append(c, bytes, len);
	http_response_clear(&resp);
	c->close_after_write = true; /* the parser state is lost: drop what follows */
}

static bool method_supported(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") || !strcmp(m, "DELETE");
}

static void conn_serve(struct api_server *s, struct conn *c, struct http_request *req)
{
	_cleanup_free_ char *bytes = NULL;
	size_t len;

	if (!method_supported(req->method)) {
		conn_transport_error(c, "Invalid HTTP Method: Unsupported HTTP method.");
		return;
	}
	if (api_handoff_serve(s->handoff, req, &bytes, &len) < 0 || conn_append(c, bytes, len) < 0) {
		c->close_after_write = true;
		return;
	}
	if (!req->keep_alive)
		c->close_after_write = true;
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
			conn_transport_error(c, err);
			break;
		}
		if (n == 0 && !req) { /* no progress: never spin on input the parser will not take */
			conn_transport_error(c, "Invalid request.");
			break;
		}
		c->in_off += (size_t)n;
		if (http_reader_take_continue(c->reader))
			conn_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (req) {
			conn_serve(s, c, req);
			http_request_free(req);
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
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
	}
	/* Serve buffered input while the answers keep draining; stop when the
	 * socket is full (EPOLLOUT resumes) or the input is used up. */
	int r;
	do {
		conn_process(s, c);
		r = conn_flush(c);
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

static void server_accept(struct api_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_rl(LOG_WARNING, "API socket accept failed: %s", strerror(errno));
			return;
		}
		int slot = free_slot(s);
		if (slot < 0) {
			/* Best effort, as Firecracker: the refusal fits any socket buffer. */
			if (send(fd, http_response_server_full, strlen(http_response_server_full), MSG_NOSIGNAL) < 0)
				log_rl(LOG_DEBUG, "could not tell a refused API client why: %s", strerror(errno));
			log_rl(LOG_WARNING, "API connection refused: already %d open connections", API_MAX_CONNECTIONS);
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
		s->conns[slot] = c;
	}
}

static int server_loop(struct api_server *s)
{
	struct epoll_event evs[API_MAX_CONNECTIONS + 2];

	for (;;) {
		int n = epoll_wait(s->epoll_fd, evs, (int)ARRAY_SIZE(evs), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &s->stop_fd)
				return 0;
			if (evs[i].data.ptr == &s->listen_fd)
				server_accept(s);
			else
				conn_on_event(s, evs[i].data.ptr, evs[i].events);
		}
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	int r;

	log_set_thread_name("api");
	/* Before the first byte from a client is read (design.md §1). */
	r = seccomp_install_role(SECCOMP_ROLE_API);
	if (r < 0) {
		log_error("Cannot install the api seccomp filter: %s", strerror(-r));
		_exit(EXIT_CODE_GENERIC_ERROR);
	}
	r = server_loop(s);
	if (r < 0)
		log_error("API server loop failed: %s", strerror(-r));
	return NULL;
}

static int server_bind(struct api_server *s, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "API socket path '%s' is longer than %zu bytes", path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		snprintf(err, errlen, "cannot create the API socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		if (e == EADDRINUSE)
			snprintf(err, errlen, "Failed to open the API socket at: %s. Check that it is not already used.",
				 path);
		else
			snprintf(err, errlen, "Failed to open the API socket at: %s: %s", path, strerror(e));
		return -e;
	}
	s->socket_path = strdup(path);
	if (!s->socket_path || listen(s->listen_fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on the API socket '%s': %s", path, strerror(errno));
		return s->socket_path ? -errno : -ENOMEM;
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
