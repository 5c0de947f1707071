/* The Async engine: io_uring through liburing.
 *
 * Each request in flight owns a slot holding its own copy of the data iovecs
 * (the kernel may read them after submission). Completions signal an eventfd
 * registered with the ring; the vmm loop runs block_uring_on_complete(), which
 * reaps them into the used ring. FLUSH is an IORING_OP_FSYNC with
 * IOSQE_IO_DRAIN: it starts only after everything submitted before it has
 * completed, so a flush covers every write the guest saw acknowledged.
 *
 * A request is transferred in pieces of at most max_transfer bytes: the kernel
 * moves at most 2 GiB - 4 KiB per call (MAX_RW_COUNT), and a chain may carry
 * up to 4 GiB - 1. A completion shorter than the request's rest, whether the
 * piece ended there or the kernel stopped early, is resubmitted for what is
 * left, from the iovec and offset where it stopped, as a short preadv is on
 * the Sync engine. Only an error or a zero-length completion fails the
 * request (IOERR, counted in execute_fails). */
#include <errno.h>
#include <inttypes.h>
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
	int fd;
	uint64_t offset; /* file offset of the next byte to transfer */
	uint64_t done;   /* bytes transferred so far */
	uint64_t left;   /* bytes still to transfer */
	uint64_t asked;  /* bytes the submission in flight asked for */
	uint64_t t0_ns;  /* when it was queued (read_agg / write_agg) */
	bool piece;      /* a piece of the open chain (block.c), not a whole request */
	unsigned first;  /* iov[first, nr) is what is left; iov[first] trimmed in place */
	unsigned nr;
	unsigned cut;    /* a piece that ends inside iov[cut] shortened it; cut_len is its length */
	size_t cut_len;
	bool cut_active;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct blk_uring {
	struct block *b;
	struct io_uring ring;
	bool ring_ok;
	struct event_loop *loop;
	int event_fd;
	unsigned depth;
	uint64_t max_transfer; /* bytes per submission, a multiple of the sector size */
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

/* Prepares the SQE for the rest of slot i, at most max_transfer bytes of it.
 * -EBUSY when the submission ring has no free entry. */
static int blk_uring_prep(struct blk_uring *u, unsigned i)
{
	struct blk_slot *s = &u->slot[i];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	uint64_t bytes = 0;
	unsigned n = s->first;

	if (!sqe)
		return -EBUSY;
	if (s->type != VIRTIO_BLK_T_IN && s->type != VIRTIO_BLK_T_OUT) {
		io_uring_prep_fsync(sqe, s->fd, 0);
		sqe->flags |= IOSQE_IO_DRAIN;
	} else {
		for (; n < s->nr && bytes < u->max_transfer; n++) {
			if (s->iov[n].iov_len > u->max_transfer - bytes) {
				/* the piece ends inside this entry: shorten it until the completion */
				s->cut = n;
				s->cut_len = s->iov[n].iov_len;
				s->cut_active = true;
				s->iov[n].iov_len = (size_t)(u->max_transfer - bytes);
			}
			bytes += s->iov[n].iov_len;
		}
		if (s->type == VIRTIO_BLK_T_IN)
			io_uring_prep_readv(sqe, s->fd, &s->iov[s->first], n - s->first, s->offset);
		else
			io_uring_prep_writev(sqe, s->fd, &s->iov[s->first], n - s->first, s->offset);
	}
	s->asked = bytes;
	io_uring_sqe_set_data64(sqe, i);
	u->queued++;
	return 0;
}

int blk_uring_queue(struct blk_uring *u, const struct blk_req *r, int fd, bool piece)
{
	struct blk_slot *s;
	unsigned i;
	int err;

	if (u->nr_free == 0)
		return -EBUSY;
	i = u->free_list[u->nr_free - 1];
	s = &u->slot[i];
	*s = (struct blk_slot){ .epoch = u->epoch, .head = r->head, .status = r->status, .type = r->type,
				.fd = fd, .offset = r->sector * VIRTIO_BLK_SECTOR, .nr = r->nr_data, .piece = piece,
				.t0_ns = blk_now_ns() };
	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT)
		s->left = r->data_len;
	else
		s->nr = 0; /* a flush moves no data */
	memcpy(s->iov, r->data, sizeof(struct iovec) * s->nr);
	err = blk_uring_prep(u, i);
	if (err < 0)
		return err;
	u->nr_free--;
	u->inflight++;
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

static const char *blk_type_name(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN ? "read" : type == VIRTIO_BLK_T_OUT ? "write" : "flush";
}

/* What a completion of res bytes means for slot s: 1 when the rest must be
 * submitted, 0 when the request is done, -errno when it failed. */
static int blk_slot_advance(struct blk_slot *s, int32_t res)
{
	if (s->cut_active) {
		s->iov[s->cut].iov_len = s->cut_len;
		s->cut_active = false;
	}
	if (res < 0)
		return res;
	if ((uint64_t)res > s->asked)
		return -EIO; /* more than was asked for: trust nothing */
	if (s->left == 0)
		return 0;
	if (res == 0)
		return -ENODATA; /* the file ended early: it shrank under us */
	blk_iov_consume(s->iov, s->nr, &s->first, (uint64_t)res);
	s->offset += (uint64_t)res;
	s->done += (uint64_t)res;
	s->left -= (uint64_t)res;
	return s->left ? 1 : 0;
}

void blk_uring_complete(struct blk_uring *u, uint64_t user_data, int32_t res, bool complete)
{
	struct blk_slot *s;
	int r;

	if (user_data >= u->depth)
		return;
	s = &u->slot[user_data];
	r = blk_slot_advance(s, res);
	/* A reset or teardown dropped the queue: nothing more goes to the disk. */
	if (!complete || s->epoch != u->epoch) {
		r = 0;
	} else if (r > 0) {
		r = blk_uring_prep(u, (unsigned)user_data);
		if (r == 0)
			return; /* in flight again */
	}
	if (complete && s->epoch == u->epoch) {
		blk_time_io(u->b, s->type, s->t0_ns);
		if (r < 0) {
			BLK_COUNT(u->b, execute_fails, 1);
			log_rl(LOG_ERROR, "block %s: %s at byte %" PRIu64 " failed after %" PRIu64 " of %" PRIu64
			       " bytes: %s", u->b->id, blk_type_name(s->type), s->offset, s->done, s->done + s->left,
			       r == -ENODATA ? "the file ended early" : strerror(-r));
		}
		if (s->piece)
			block_piece_done(u->b, r == 0);
		else
			block_complete(u->b, s->head, s->status, r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK,
				       r == 0 && s->type == VIRTIO_BLK_T_IN ? (uint32_t)s->done : 0);
	}
	u->free_list[u->nr_free++] = (unsigned)user_data;
	u->inflight--;
}

unsigned blk_uring_reap(struct blk_uring *u)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		int32_t res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		blk_uring_complete(u, data, res, true);
		n++;
	}
	blk_uring_submit(u); /* the rest of requests that completed short */
	return n;
}

void blk_uring_drain(struct blk_uring *u, bool complete)
{
	struct io_uring_cqe *cqe;

	while (u->inflight) {
		uint64_t data;
		int32_t res;
		int r;

		blk_uring_submit(u);
		r = io_uring_wait_cqe(&u->ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			/* Cannot happen with a live ring; refusing to spin forever matters more. */
			log_error("block %s: io_uring_wait_cqe: %s", u->b->id, strerror(-r));
			return;
		}
		data = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		blk_uring_complete(u, data, res, complete);
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

int blk_uring_create(struct block *b, unsigned depth, uint64_t max_transfer, struct event_loop *loop,
		     struct blk_uring **ret)
{
	struct blk_uring *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->b = b;
	u->depth = depth;
	max_transfer -= max_transfer % VIRTIO_BLK_SECTOR;
	u->max_transfer = max_transfer && max_transfer < BLK_MAX_TRANSFER ? max_transfer : BLK_MAX_TRANSFER;
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
