/* The Async engine: io_uring through liburing.
 *
 * Each request in flight owns a slot holding its own copy of the data iovecs
 * (the kernel may read them after submission). Completions signal an eventfd
 * registered with the ring; the vmm loop runs block_uring_on_complete(), which
 * reaps them into the used ring. FLUSH is an IORING_OP_FSYNC with
 * IOSQE_IO_DRAIN: it starts only after everything submitted before it has
 * completed, so a flush covers every write the guest saw acknowledged. */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block-internal.h"
#include "core/loop.h"
#include "log.h"

struct blk_slot {
	uint32_t epoch;
	uint16_t head;
	uint8_t *status;
	uint32_t type;
	uint32_t expect; /* bytes the operation must transfer */
	bool piece;      /* a piece of the open chain (block.c), not a whole request */
	unsigned nr;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct blk_uring {
	struct block *b;
	struct io_uring ring;
	bool ring_ok;
	struct event_loop *loop;
	int event_fd;
	unsigned depth;
	unsigned inflight;
	unsigned queued; /* prepared, not yet submitted */
	uint32_t epoch;  /* bumped by a device reset: older completions are dropped */
	unsigned *free_list;
	unsigned nr_free;
	struct blk_slot *slot;
};

bool blk_uring_full(const struct blk_uring *u)
{
	return u->nr_free == 0;
}

unsigned blk_uring_inflight(const struct blk_uring *u)
{
	return u->inflight;
}

int blk_uring_queue(struct blk_uring *u, const struct blk_req *r, int fd, bool piece)
{
	struct io_uring_sqe *sqe;
	struct blk_slot *s;
	unsigned i;

	if (u->nr_free == 0)
		return -EBUSY;
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;
	i = u->free_list[--u->nr_free];
	s = &u->slot[i];
	s->epoch = u->epoch;
	s->head = r->head;
	s->status = r->status;
	s->type = r->type;
	s->piece = piece;
	s->nr = r->nr_data;
	s->expect = (uint32_t)r->data_len;
	memcpy(s->iov, r->data, sizeof(struct iovec) * r->nr_data);
	if (r->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, fd, s->iov, s->nr, r->sector * VIRTIO_BLK_SECTOR);
	else if (r->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, fd, s->iov, s->nr, r->sector * VIRTIO_BLK_SECTOR);
	else {
		io_uring_prep_fsync(sqe, fd, 0);
		sqe->flags |= IOSQE_IO_DRAIN;
		s->expect = 0;
	}
	io_uring_sqe_set_data64(sqe, i);
	u->inflight++;
	u->queued++;
	return 0;
}

void blk_uring_submit(struct blk_uring *u)
{
	int r;

	if (!u->queued)
		return;
	r = io_uring_submit(&u->ring);
	if (r < 0)
		log_rl(LOG_ERROR, "block %s: io_uring_submit: %s", u->b->id, strerror(-r));
	else
		u->queued = 0;
}

static void blk_uring_finish(struct blk_uring *u, struct io_uring_cqe *cqe, bool complete)
{
	uint64_t i = io_uring_cqe_get_data64(cqe);
	struct blk_slot *s;
	bool ok;

	if (i >= u->depth)
		return;
	s = &u->slot[i];
	/* A short transfer is an error too: the file shrank or the device failed. */
	ok = cqe->res >= 0 && (uint32_t)cqe->res == s->expect;
	if (complete && s->epoch == u->epoch) {
		if (!ok) {
			BLK_COUNT(u->b, execute_fails, 1);
			log_rl(LOG_ERROR, "block %s: io_uring request type %u: %s", u->b->id, s->type,
			       cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
		}
		if (s->piece)
			block_piece_done(u->b, ok);
		else
			block_complete(u->b, s->head, s->status, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR,
				       ok && s->type == VIRTIO_BLK_T_IN ? s->expect : 0);
	}
	u->free_list[u->nr_free++] = (unsigned)i;
	u->inflight--;
}

unsigned blk_uring_reap(struct blk_uring *u)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		blk_uring_finish(u, cqe, true);
		io_uring_cqe_seen(&u->ring, cqe);
		n++;
	}
	return n;
}

void blk_uring_drain(struct blk_uring *u, bool complete)
{
	struct io_uring_cqe *cqe;

	blk_uring_submit(u);
	while (u->inflight) {
		int r = io_uring_wait_cqe(&u->ring, &cqe);

		if (r == -EINTR)
			continue;
		if (r < 0) {
			/* Cannot happen with a live ring; refusing to spin forever matters more. */
			log_error("block %s: io_uring_wait_cqe: %s", u->b->id, strerror(-r));
			return;
		}
		blk_uring_finish(u, cqe, complete);
		io_uring_cqe_seen(&u->ring, cqe);
	}
	if (complete)
		virtio_signal_used(&u->b->vdev, 0);
}

void blk_uring_forget(struct blk_uring *u)
{
	u->epoch++;
}

static void blk_uring_on_complete(void *ctx, uint32_t events)
{
	struct blk_uring *u = ctx;
	uint64_t v;

	if (read(u->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "block %s: io_uring eventfd read: %m", u->b->id);
	virtio_lock(&u->b->vdev);
	virtio_wakeup(&u->b->vdev); /* a loop handler call of its own */
	if (blk_uring_reap(u))
		block_resume(u->b);
	virtio_unlock(&u->b->vdev);
}

int blk_uring_create(struct block *b, unsigned depth, struct event_loop *loop, struct blk_uring **ret)
{
	struct blk_uring *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->b = b;
	u->depth = depth;
	u->event_fd = -1;
	u->slot = calloc(depth, sizeof(*u->slot));
	u->free_list = calloc(depth, sizeof(*u->free_list));
	if (!u->slot || !u->free_list) {
		blk_uring_destroy(u);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < depth; i++)
		u->free_list[u->nr_free++] = depth - 1 - i;
	r = io_uring_queue_init(depth, &u->ring, 0);
	if (r < 0) {
		blk_uring_destroy(u);
		return r;
	}
	u->ring_ok = true;
	u->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = u->event_fd < 0 ? -errno : io_uring_register_eventfd(&u->ring, u->event_fd);
	if (r >= 0 && loop) {
		r = loop_add(loop, u->event_fd, EPOLLIN, blk_uring_on_complete, u);
		if (r >= 0)
			u->loop = loop;
	}
	if (r < 0) {
		blk_uring_destroy(u);
		return r;
	}
	*ret = u;
	return 0;
}

struct blk_uring *blk_uring_destroy(struct blk_uring *u)
{
	if (!u)
		return NULL;
	if (u->ring_ok) {
		blk_uring_drain(u, false);
		io_uring_queue_exit(&u->ring);
	}
	if (u->loop)
		loop_remove(u->loop, u->event_fd);
	if (u->event_fd >= 0)
		close(u->event_fd);
	free(u->slot);
	free(u->free_list);
	free(u);
	return NULL;
}
