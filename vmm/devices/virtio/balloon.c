/* See balloon.h. The queues and the config space; the API's requests are
 * balloon-ops.c's. */
#include "balloon-internal.h"


#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "core/memory.h"
#include "log.h"

#define BIT(b) (1ull << (b))

METRICS_GROUP(balloon_metrics, "balloon", BALLOON_METRICS);

struct balloon *balloon_of(struct virtio_dev *d)
{
	return (struct balloon *)((char *)d - offsetof(struct balloon, vdev));
}

/* ---- inflate and deflate: PFN arrays ---- */

/* The batch gathered so far: coalesced and (inflate) returned to the host,
 * then every chain in it goes back to the driver. The pages are discarded
 * before the driver hears of it, so it never reuses a page we then free. */
static void balloon_pfn_flush(struct balloon *b, struct virtq *q, uint16_t qi, bool inflate)
{
	uint64_t outside = b->faults.outside, duplicate = b->faults.duplicate;
	size_t nr = balloon_pfns_to_ranges(b->mem, b->pfn, b->npfn, b->range, &b->faults);

	if (b->faults.outside != outside || b->faults.duplicate != duplicate)
		log_rl(LOG_WARNING, "balloon: %s PFNs skipped: %llu outside guest RAM, %llu duplicated",
		       inflate ? "inflate" : "deflate", (unsigned long long)(b->faults.outside - outside),
		       (unsigned long long)(b->faults.duplicate - duplicate));

	for (size_t i = 0; inflate && i < nr; i++)
		if (balloon_discard_gpa(b->mem, b->range[i].gpa, b->range[i].len, &b->faults) < 0)
			log_rl(LOG_WARNING, "balloon: cannot discard guest range 0x%llx+0x%llx",
			       (unsigned long long)b->range[i].gpa, (unsigned long long)b->range[i].len);
	for (unsigned i = 0; i < b->nheads; i++)
		virtq_push(q, b->heads[i], 0);
	b->npfn = 0;
	b->nheads = 0;
	virtio_signal_used(&b->vdev, qi);
}

/* One chain of le32 PFNs into the batch: a buffer the driver may not have
 * sent (device-writable, not whole u32s, more than Linux's 256 PFNs) is
 * counted and returned unread. */
static void balloon_pfn_take(struct balloon *b, struct virtq *q, uint16_t qi, bool inflate)
{
	const struct virtq_elem *e = &b->elem;
	size_t n = e->out_len / sizeof(uint32_t);

	if (e->nr_in || e->out_len % sizeof(uint32_t) || n > BALLOON_PFNS_PER_CHAIN) {
		b->faults.malformed++;
		log_rl(LOG_WARNING, "balloon: %s buffer of %u bytes (%u writable) refused",
		       inflate ? "inflate" : "deflate", e->out_len, e->in_len);
		virtq_push(q, e->head, 0);
		return;
	}
	if (b->npfn + n > BALLOON_COMPACT_PFNS || b->nheads == VIRTQ_MAX_SIZE)
		balloon_pfn_flush(b, q, qi, inflate);
	virtq_iov_read(e->iov, e->nr_out, 0, &b->pfn[b->npfn], e->out_len);
	for (size_t i = 0; i < n; i++)
		b->pfn[b->npfn + i] = le32toh(b->pfn[b->npfn + i]);
	b->npfn += n;
	b->heads[b->nheads++] = e->head;
}

/* 1: a chain was popped into b->elem; 0: none; -1: the queue is broken or
 * the budget is spent (*yield says which). Chains queue.c dropped on the
 * way (a range outside RAM, a loop) are added to *dropped. */
static int balloon_pop(struct balloon *b, struct virtq *q, bool *yield, uint64_t *dropped)
{
	uint64_t before = q->stats.dropped;
	int r;

	*yield = false;
	if (!virtio_take_chain(&b->vdev)) {
		*yield = true;
		return -1;
	}
	r = virtq_pop(q, &b->elem);
	if (dropped)
		*dropped += q->stats.dropped - before;
	if (r < 0) {
		virtio_set_needs_reset(&b->vdev);
		return -1;
	}
	return r;
}

static void balloon_pfn_queue(struct balloon *b, uint16_t qi, bool inflate)
{
	struct virtq *q = virtio_queue(&b->vdev, qi);
	bool yield = false;
	int r;

	metrics_local_inc(*(inflate ? &b->m.inflate_count : &b->m.deflate_count));
	for (;;) {
		while ((r = balloon_pop(b, q, &yield, NULL)) > 0)
			balloon_pfn_take(b, q, qi, inflate);
		balloon_pfn_flush(b, q, qi, inflate);
		if (yield)
			virtio_yield(&b->vdev, qi);
		if (r < 0 || !virtq_idle(q))
			return;
	}
}

/* ---- statistics ---- */

/* The held buffer goes back: the driver refills it with fresh values. */
void balloon_stats_return(struct balloon *b)
{
	struct virtq *q = b->vq[BVQ_STATS] >= 0 ? virtio_queue(&b->vdev, (uint16_t)b->vq[BVQ_STATS]) : NULL;

	if (!b->stats_held) {
		log_rl(LOG_DEBUG, "balloon: no statistics buffer to return (missing descriptor)");
		return;
	}
	b->stats_held = false;
	if (!q || !q->ready)
		return;
	virtq_push(q, b->stats_head, 0);
	virtio_signal_used(&b->vdev, (uint16_t)b->vq[BVQ_STATS]);
}

static void balloon_stats_take(struct balloon *b)
{
	const struct virtq_elem *e = &b->elem;
	uint8_t buf[BALLOON_STATS_MAX_LEN];

	metrics_local_inc(b->m.stats_updates_count);
	if (b->stats_held) {
		/* virtio 1.3 §5.5.6.3.1: one buffer at a time; the old one goes back. */
		log_rl(LOG_WARNING, "balloon: driver is not compliant, more than one stats buffer received");
		balloon_stats_return(b);
	}
	if (!e->nr_in && e->out_len <= sizeof(buf)) {
		size_t len = virtq_iov_read(e->iov, e->nr_out, 0, buf, e->out_len);

		metrics_local_add(b->m.stats_update_fails, balloon_stats_parse(buf, len, &b->stats));
	} else {
		log_rl(LOG_WARNING, "balloon: stats buffer of %u bytes (%u writable) not parsed", e->out_len, e->in_len);
	}
	b->stats_held = true;
	b->stats_head = e->head;
	balloon_stats_timer_arm(b);
}

static void balloon_stats_queue(struct balloon *b, uint16_t qi)
{
	struct virtq *q = virtio_queue(&b->vdev, qi);
	bool yield = false;
	int r;

	for (;;) {
		while ((r = balloon_pop(b, q, &yield, NULL)) > 0)
			balloon_stats_take(b);
		if (yield)
			virtio_yield(&b->vdev, qi);
		if (r < 0 || !virtq_idle(q))
			return;
	}
}

static void balloon_on_stats_timer(void *ctx, uint32_t events)
{
	struct balloon *b = ctx;
	uint64_t expirations;

	if (read(b->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "balloon: stats timer read: %m");
	virtio_lock(&b->vdev);
	if (b->active)
		balloon_stats_return(b);
	else
		balloon_stats_timer_set(b, 0); /* reset since: the driver is gone */
	virtio_unlock(&b->vdev);
}

void balloon_stats_timer_set(struct balloon *b, uint16_t interval_s)
{
	struct itimerspec its = { .it_value = { .tv_sec = interval_s }, .it_interval = { .tv_sec = interval_s } };

	if (timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		log_rl(LOG_ERROR, "balloon: stats timer: timerfd_settime: %m");
	b->timer_armed = interval_s != 0;
}

/* On the vmm thread, once the driver posted its first buffer (activation
 * runs on a vCPU thread, which does not arm timers). */
void balloon_stats_timer_arm(struct balloon *b)
{
	if (!b->timer_armed && b->interval_s)
		balloon_stats_timer_set(b, b->interval_s);
}

/* ---- free page hinting and reporting: ranges ---- */

/* One hinted or reported range: counted, freed, its bytes or its failure
 * counted too. */
static void balloon_free_range(struct balloon *b, const struct iovec *iov, bool hint)
{
	int r;

	metrics_local_inc(*(hint ? &b->m.free_page_hint_count : &b->m.free_page_report_count));
	r = balloon_discard_host(iov->iov_base, iov->iov_len, &b->faults);
	if (r < 0) {
		metrics_local_inc(*(hint ? &b->m.free_page_hint_fails : &b->m.free_page_report_fails));
		log_rl(LOG_WARNING, "balloon: %s range of %zu bytes not freed: %s", hint ? "hinted" : "reported",
		       iov->iov_len, strerror(-r));
		return;
	}
	metrics_local_add(*(hint ? &b->m.free_page_hint_freed : &b->m.free_page_report_freed), iov->iov_len);
}

/* A hinting chain: a 4-byte device-readable command id, or ranges. Ranges
 * count only while a run is on (host_cmd is a run's id) and the guest's last
 * command id is that run's; others belong to a finished run and are
 * returned untouched. Returns, for a command, whether it ended the guest's
 * hints (1 or 0), and -1 for ranges. */
static int balloon_hint_take(struct balloon *b)
{
	const struct virtq_elem *e = &b->elem;
	uint32_t cmd;

	if (!e->nr_in && e->out_len == sizeof(cmd)) {
		virtq_iov_read(e->iov, e->nr_out, 0, &cmd, sizeof(cmd));
		b->guest_cmd = le32toh(cmd);
		b->guest_cmd_valid = true;
		if (b->guest_cmd == BALLOON_CMD_ID_DONE)
			log_rl(LOG_WARNING, "balloon hinting: unexpected command id %u from the guest", b->guest_cmd);
		return b->guest_cmd == BALLOON_CMD_ID_STOP || b->guest_cmd == BALLOON_CMD_ID_DONE;
	}
	if (b->host_cmd == BALLOON_CMD_ID_STOP || b->host_cmd == BALLOON_CMD_ID_DONE || !b->guest_cmd_valid ||
	    b->guest_cmd != b->host_cmd) {
		log_rl(LOG_INFO, "balloon hinting: ranges outside the current run ignored");
		return -1;
	}
	for (unsigned i = 0; i < (unsigned)e->nr_out + e->nr_in; i++)
		balloon_free_range(b, &e->iov[i], true);
	return -1;
}

static void balloon_range_queue(struct balloon *b, uint16_t qi, bool hint)
{
	struct virtq *q = virtio_queue(&b->vdev, qi);
	uint64_t dropped = 0;
	bool yield = false, ended = false;
	int r;

	for (;;) {
		while ((r = balloon_pop(b, q, &yield, &dropped)) > 0) {
			if (hint) {
				int cmd = balloon_hint_take(b);

				/* only a command changes it: ranges after a STOP
				 * (a new run's, say) do not undo the end */
				if (cmd >= 0)
					ended = cmd;
			} else {
				for (unsigned i = 0; i < (unsigned)b->elem.nr_out + b->elem.nr_in; i++)
					balloon_free_range(b, &b->elem.iov[i], false);
			}
			virtq_push(q, b->elem.head, 0);
		}
		virtio_signal_used(&b->vdev, qi);
		if (yield)
			virtio_yield(&b->vdev, qi);
		if (r < 0 || !virtq_idle(q))
			break;
	}
	/* A range queue.c refused (outside RAM, in the MMIO gap) is a failed range. */
	metrics_local_add(*(hint ? &b->m.free_page_hint_fails : &b->m.free_page_report_fails), dropped);
	if (hint && ended && b->ack_on_stop)
		balloon_hint_command(b, BALLOON_CMD_ID_DONE);
}

void balloon_hint_command(struct balloon *b, uint32_t cmd)
{
	b->host_cmd = cmd;
	b->cmd_id = cmd;
	virtio_signal_config(&b->vdev);
}

/* ---- the virtio device ---- */

static uint64_t balloon_features(struct virtio_dev *d)
{
	return balloon_of(d)->offered;
}

static void balloon_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct balloon *b = balloon_of(d);
	uint32_t cfg[3] = { htole32(b->num_pages), htole32(b->actual), htole32(b->cmd_id) };

	memcpy(data, (uint8_t *)cfg + off, len);
}

/* Only `actual` is the driver's to write (§5.5.4); the other fields are
 * the host's and stay as they are. */
static void balloon_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct balloon *b = balloon_of(d);
	uint32_t actual = htole32(b->actual);

	if (off < 4 || off + len > 8) {
		log_rl(LOG_WARNING, "balloon: driver wrote %u bytes at config offset %u (read-only)", len, off);
		return;
	}
	memcpy((uint8_t *)&actual + (off - 4), data, len);
	b->actual = le32toh(actual);
}

/* Queue indexes follow the negotiated features, as Linux's driver (and
 * virtio_mmio's find_vqs, which skips the queues it has no name for)
 * numbers them. */
static void balloon_number_queues(struct balloon *b, uint64_t features)
{
	static const unsigned feature_of[BVQ_KINDS] = { 0, 0, BALLOON_F_STATS_VQ, BALLOON_F_FREE_PAGE_HINT,
							BALLOON_F_PAGE_REPORTING };
	int next = 0;

	for (unsigned k = 0; k < BVQ_KINDS; k++)
		b->vq[k] = k < BVQ_STATS || (features & BIT(feature_of[k])) ? next++ : -1;
}

static int balloon_activate(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem)
{
	struct balloon *b = balloon_of(d);

	b->mem = mem;
	balloon_number_queues(b, features);
	b->active = true;
	return 0;
}

static void balloon_reset(struct virtio_dev *d)
{
	struct balloon *b = balloon_of(d);

	/* The timer stays armed: it finds the device inactive and disarms
	 * itself on the vmm thread. */
	b->active = false;
	b->actual = 0;
	b->cmd_id = BALLOON_CMD_ID_STOP;
	b->stats_held = false;
	b->stats = (struct balloon_stats){ 0 };
	b->host_cmd = b->last_cmd_id = b->guest_cmd = 0;
	b->guest_cmd_valid = false;
	b->npfn = b->nheads = 0;
	for (unsigned k = 0; k < BVQ_KINDS; k++)
		b->vq[k] = -1;
}

static void balloon_notify(struct virtio_dev *d, uint16_t queue)
{
	struct balloon *b = balloon_of(d);

	if (!b->active)
		return;
	if (queue == b->vq[BVQ_INFLATE] || queue == b->vq[BVQ_DEFLATE])
		balloon_pfn_queue(b, queue, queue == b->vq[BVQ_INFLATE]);
	else if (queue == b->vq[BVQ_STATS])
		balloon_stats_queue(b, queue);
	else if (queue == b->vq[BVQ_HINT] || queue == b->vq[BVQ_REPORT])
		balloon_range_queue(b, queue, queue == b->vq[BVQ_HINT]);
	else
		log_rl(LOG_WARNING, "balloon: notify for queue %u, which the negotiated features do not have", queue);
}

static uint64_t balloon_offered(const struct balloon_config *cfg)
{
	uint64_t f = BIT(VIRTIO_F_VERSION_1);

	if (cfg->deflate_on_oom)
		f |= BIT(BALLOON_F_DEFLATE_ON_OOM);
	if (cfg->stats_polling_interval_s)
		f |= BIT(BALLOON_F_STATS_VQ);
	if (cfg->free_page_hinting)
		f |= BIT(BALLOON_F_FREE_PAGE_HINT);
	if (cfg->free_page_reporting)
		f |= BIT(BALLOON_F_PAGE_REPORTING);
	return f;
}

int balloon_create(const struct device_env *env, const struct balloon_config *cfg, struct balloon **ret)
{
	_cleanup_free_ struct balloon *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->metrics_handle = -1;
	b->timer_fd = -1;
	b->offered = balloon_offered(cfg);
	/* The transport's queue count: inflate and deflate, and one per
	 * optional queue offered (the driver may negotiate fewer). */
	b->ops = (struct virtio_device_ops){
		.name = "balloon", .device_id = VIRTIO_ID_BALLOON, .config_size = BALLOON_CONFIG_SIZE,
		.num_queues = (uint16_t)(2 + !!cfg->stats_polling_interval_s + cfg->free_page_hinting +
					 cfg->free_page_reporting),
		.features = balloon_features, .config_read = balloon_config_read, .config_write = balloon_config_write,
		.activate = balloon_activate, .reset = balloon_reset, .notify = balloon_notify,
	};
	virtio_dev_init(&b->vdev, &b->ops);
	balloon_reset(&b->vdev);
	b->num_pages = cfg->amount_mib * BALLOON_PAGES_PER_MIB; /* config/balloon.c bounds amount_mib */
	b->interval_s = cfg->stats_polling_interval_s;
	b->loop = env->loop;
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = b->loop ? loop_add(b->loop, b->timer_fd, EPOLLIN, balloon_on_stats_timer, b) : 0;
	if (r >= 0)
		r = b->metrics_handle = metrics_register(&balloon_metrics_group, NULL, &b->m);
	if (r < 0)
		goto fail;
	*ret = TAKE_PTR(b);
	return 0;
fail:
	balloon_destroy(TAKE_PTR(b));
	return r;
}

struct balloon *balloon_destroy(struct balloon *b)
{
	if (!b)
		return NULL;
	metrics_unregister(b->metrics_handle);
	if (b->timer_fd >= 0) {
		if (b->loop)
			loop_remove(b->loop, b->timer_fd);
		close(b->timer_fd);
	}
	virtio_dev_destroy(&b->vdev);
	free(b);
	return NULL;
}

struct virtio_dev *balloon_virtio(struct balloon *b)
{
	return &b->vdev;
}

struct balloon_page_faults balloon_faults(struct balloon *b)
{
	struct balloon_page_faults f;

	virtio_lock(&b->vdev);
	f = b->faults;
	virtio_unlock(&b->vdev);
	return f;
}
