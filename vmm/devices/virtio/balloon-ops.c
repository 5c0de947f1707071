/* The API's post-boot balloon requests (balloon.h balloon_request), with
 * Firecracker's rules (devices/virtio/balloon/device.rs): a new target or a
 * hinting command needs an activated driver; statistics cannot be switched
 * on or off after boot, only their interval changed; hinting calls need
 * free_page_hinting. */
#include "balloon-internal.h"

#include <errno.h>
#include <stdio.h>

#include "core/memory.h"

static int balloon_fault(struct balloon_request *req, int r, const char *text)
{
	snprintf(req->fault, sizeof(req->fault), "%s", text);
	return r;
}

static int balloon_resize(struct balloon *b, struct balloon_request *req)
{
	uint64_t ram_mib;

	if (!b->active)
		return balloon_fault(req, -EAGAIN, BALLOON_ERR_NOT_ACTIVE);
	ram_mib = b->mem->ram_size >> 20;
	if (req->amount_mib > ram_mib) {
		/* Firecracker's text; it names the guest's memory, the bound. */
		snprintf(req->fault, sizeof(req->fault), "Balloon: Requested memory should be less than %lluMiB",
			 (unsigned long long)ram_mib);
		return -EINVAL;
	}
	b->num_pages = req->amount_mib * BALLOON_PAGES_PER_MIB;
	virtio_signal_config(&b->vdev);
	return 0;
}

static int balloon_stats_interval(struct balloon *b, struct balloon_request *req)
{
	if (req->interval_s == b->interval_s)
		return 0;
	if (!b->interval_s || !req->interval_s)
		return balloon_fault(req, -EINVAL, BALLOON_ERR_STATS_CHANGE);
	/* The driver sends fresh values now, then at the new interval. */
	balloon_stats_return(b);
	b->interval_s = req->interval_s;
	if (b->timer_armed)
		balloon_stats_timer_set(b, b->interval_s);
	return 0;
}

static int balloon_stats_get(struct balloon *b, struct balloon_request *req)
{
	if (!b->interval_s)
		return balloon_fault(req, -EINVAL, BALLOON_ERR_STATS_DISABLED);
	req->reply = balloon_stats_to_json(&b->stats, b->num_pages, b->actual);
	return req->reply ? 0 : balloon_fault(req, -ENOMEM, "Out of memory.");
}

static bool balloon_hinting(const struct balloon *b)
{
	return b->offered & (1ull << BALLOON_F_FREE_PAGE_HINT);
}

/* A run's id: the next one, skipping STOP and DONE. */
static int balloon_hint_start(struct balloon *b, struct balloon_request *req)
{
	uint32_t id = b->last_cmd_id + 1;

	if (!balloon_hinting(b))
		return balloon_fault(req, -EINVAL, BALLOON_ERR_HINTING);
	if (!b->active)
		return balloon_fault(req, -EAGAIN, BALLOON_ERR_NOT_ACTIVE);
	if (id <= BALLOON_CMD_ID_DONE)
		id = BALLOON_CMD_ID_DONE + 1;
	b->ack_on_stop = req->ack_on_stop;
	b->last_cmd_id = id;
	balloon_hint_command(b, id);
	return 0;
}

static int balloon_hint_status(struct balloon *b, struct balloon_request *req)
{
	if (!balloon_hinting(b))
		return balloon_fault(req, -EINVAL, BALLOON_ERR_HINTING);
	req->reply = json_pack("{s:I, s:o}", "host_cmd", (json_int_t)b->host_cmd, "guest_cmd",
			       b->guest_cmd_valid ? json_integer(b->guest_cmd) : json_null());
	return req->reply ? 0 : balloon_fault(req, -ENOMEM, "Out of memory.");
}

static int balloon_hint_stop(struct balloon *b, struct balloon_request *req)
{
	if (!balloon_hinting(b))
		return balloon_fault(req, -EINVAL, BALLOON_ERR_HINTING);
	if (!b->active)
		return balloon_fault(req, -EAGAIN, BALLOON_ERR_NOT_ACTIVE);
	balloon_hint_command(b, BALLOON_CMD_ID_DONE);
	return 0;
}

int balloon_request(struct balloon *b, struct balloon_request *req)
{
	int r = -EINVAL;

	req->reply = NULL;
	req->fault[0] = 0;
	virtio_lock(&b->vdev);
	switch (req->op) {
	case BALLOON_OP_RESIZE:
		r = balloon_resize(b, req);
		break;
	case BALLOON_OP_STATS_INTERVAL:
		r = balloon_stats_interval(b, req);
		break;
	case BALLOON_OP_STATS:
		r = balloon_stats_get(b, req);
		break;
	case BALLOON_OP_HINT_START:
		r = balloon_hint_start(b, req);
		break;
	case BALLOON_OP_HINT_STATUS:
		r = balloon_hint_status(b, req);
		break;
	case BALLOON_OP_HINT_STOP:
		r = balloon_hint_stop(b, req);
		break;
	}
	virtio_unlock(&b->vdev);
	return r;
}
