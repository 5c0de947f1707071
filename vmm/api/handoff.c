/* Serving a request and handing its action to the vmm thread: see handoff.h. */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api/handoff.h"
#include "api/methods.h"
#include "api/router.h"
#include "api/server.h"
#include "cleanup.h"
#include "core/loop.h"
#include "log.h"

struct api_handoff {
	struct api_controller *controller;
	struct event_loop *loop;
	int efd;                    /* api -> vmm: "the queue has work" */
	pthread_mutex_t lock;
	pthread_cond_t done_cond;   /* vmm -> api: "an action was answered" */
	struct api_action *head, *tail;
	bool shutdown;
};

/* The vmm thread's side: applies queued actions in order. */
static void handoff_on_event(void *ctx, uint32_t events)
{
	struct api_handoff *h = ctx;
	uint64_t n;

	if (read(h->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "API hand-off eventfd read failed: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&h->lock);
		struct api_action *a = h->head;
		if (a) {
			h->head = a->next;
			if (!h->head)
				h->tail = NULL;
		}
		pthread_mutex_unlock(&h->lock);
		if (!a)
			return;
		api_controller_handle(h->controller, a);
		pthread_mutex_lock(&h->lock);
		a->next = a; /* marks it answered */
		pthread_cond_broadcast(&h->done_cond);
		pthread_mutex_unlock(&h->lock);
	}
}

int api_handoff_new(struct api_controller *c, struct event_loop *loop, struct api_handoff **ret)
{
	_cleanup_free_ struct api_handoff *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->controller = c;
	h->loop = loop;
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0)
		return -errno;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->done_cond, NULL);
	r = loop_add(loop, h->efd, EPOLLIN, handoff_on_event, h);
	if (r < 0) {
		close(h->efd);
		return r;
	}
	*ret = TAKE_PTR(h);
	return 0;
}

void api_handoff_shutdown(struct api_handoff *h)
{
	pthread_mutex_lock(&h->lock);
	h->shutdown = true;
	for (struct api_action *a = h->head, *next; a; a = next) {
		next = a->next;
		http_response_fault(&a->resp, 400, "The VMM is shutting down.");
		a->next = a;
	}
	h->head = h->tail = NULL;
	pthread_cond_broadcast(&h->done_cond);
	pthread_mutex_unlock(&h->lock);
}

struct api_handoff *api_handoff_free(struct api_handoff *h)
{
	if (!h)
		return NULL;
	api_handoff_shutdown(h);
	loop_remove(h->loop, h->efd);
	close(h->efd);
	pthread_cond_destroy(&h->done_cond);
	pthread_mutex_destroy(&h->lock);
	return mfree(h);
}

/* Api thread: queues a and waits for the vmm thread's answer. */
static void handoff_run(struct api_handoff *h, struct api_action *a)
{
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	if (h->shutdown) {
		pthread_mutex_unlock(&h->lock);
		http_response_fault(&a->resp, 400, "The VMM is shutting down.");
		return;
	}
	a->next = NULL;
	if (h->tail)
		h->tail->next = a;
	else
		h->head = a;
	h->tail = a;
	pthread_mutex_unlock(&h->lock);
	if (write(h->efd, &one, sizeof(one)) < 0)
		log_rl(LOG_WARNING, "API hand-off eventfd write failed: %s", strerror(errno));
	pthread_mutex_lock(&h->lock);
	while (a->next != a)
		pthread_cond_wait(&h->done_cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

/* Rust's Debug rendering of a method, as Firecracker's log lines show it. */
static const char *method_title(const char *m)
{
	const struct api_method *am = api_method_find(m);

	return am ? am->title : m;
}

/* Escapes a body for a log line the way Rust's {:?} does for a str. */
static char *escape_for_log(const char *s, size_t len)
{
	char *out = malloc(len * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *short_esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" :
					c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		if (short_esc) {
			*o++ = short_esc[0];
			*o++ = short_esc[1];
		} else if (c < 0x20 || c == 0x7f) {
			o += sprintf(o, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

/* A request's log lines (the request, its error, its duration) are one unit,
 * written whole or not at all, so a reader never sees half an exchange. The
 * budget is far above a normal configuration sequence (Kata sends about 20
 * requests), so only a flood is cut, and the cut is summed up (log.h). */
#define API_LOG_REQUESTS_PER_WINDOW 128
static struct log_ratelimit api_log_rl = LOG_RATELIMIT_INIT(API_LOG_REQUESTS_PER_WINDOW);

static bool log_request(const struct http_request *req)
{
	const char *m = method_title(req->method);

	if (log_get_level() == LOG_OFF || !log_ratelimit_allow(&api_log_rl, __FILE__, __LINE__))
		return false;
	/* MMDS data may be secret: never logged. A CPU template (up to 50 KiB of
	 * bitmaps) only at Debug, as Firecracker does. */
	if (!req->body_len || !strcmp(req->path, "/mmds") ||
	    (!strcmp(req->path, "/cpu-config") && log_get_level() < LOG_DEBUG)) {
		log_info("The API server received a %s request on \"%s\".", m, req->path);
		return true;
	}
	_cleanup_free_ char *esc = escape_for_log(req->body, req->body_len);
	log_info("The API server received a %s request on \"%s\" with body \"%s\".", m, req->path, esc ? esc : "");
	return true;
}

static void log_failure(const struct http_response *resp)
{
	json_t *body, *msg;

	if (resp->status < 400)
		return;
	body = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
	msg = json_object_get(body, "fault_message");
	log_error("Received Error. Status code: %d %s. Message: %s", resp->status,
		  resp->status == 413 ? "Payload Too Large" : "Bad Request",
		  json_is_string(msg) ? json_string_value(msg) : "(transport error)");
	json_decref(body);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Routes, runs and formats one request; run_action applies a pending action.
 * logged: this request's unit of log lines is being written. */
static int serve(struct api_action *a, bool logged, char **ret, size_t *ret_len)
{
	int r;

	api_action_count(a);
	if (logged)
		log_failure(&a->resp);
	r = http_response_format(&a->resp, ret, ret_len);
	api_action_free(a);
	return r;
}

int api_handoff_serve(struct api_handoff *h, const struct http_request *req, char **ret, size_t *ret_len)
{
	uint64_t t0 = now_us();
	struct api_action *a;
	bool logged;
	int r;

	logged = log_request(req);
	a = api_route_request(req->method, req->path, req->body, req->body_len);
	if (!a)
		return -ENOMEM;
	if (api_action_pending(a))
		handoff_run(h, a);
	r = serve(a, logged, ret, ret_len);
	if (logged)
		log_debug("Total previous API call duration: %" PRIu64 " us.", now_us() - t0);
	return r;
}

int api_serve_local(struct api_controller *c, const char *method, const char *path, const char *body,
		    size_t body_len, char **ret, size_t *ret_len)
{
	struct api_action *a = api_route_request(method, path, body, body_len);

	if (!a)
		return -ENOMEM;
	if (api_action_pending(a))
		api_controller_handle(c, a);
	return serve(a, true, ret, ret_len);
}
