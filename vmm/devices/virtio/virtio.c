/* See virtio.h. */
#include "virtio.h"

#include <stddef.h>

void virtio_dev_init(struct virtio_dev *d, const struct virtio_device_ops *ops)
{
	d->ops = ops;
	pthread_mutex_init(&d->lock, NULL);
	d->transport = NULL;
	d->transport_ctx = NULL;
	virtio_wakeup(d);
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

void virtio_attach(struct virtio_dev *d, const struct virtio_transport_ops *ops, void *transport)
{
	virtio_lock(d);
	d->transport = ops;
	d->transport_ctx = ops ? transport : NULL;
	virtio_unlock(d);
}

void virtio_lock(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
}

void virtio_unlock(struct virtio_dev *d)
{
	pthread_mutex_unlock(&d->lock);
}

struct virtq *virtio_queue(struct virtio_dev *d, uint16_t queue)
{
	return d->transport ? d->transport->queue(d->transport_ctx, queue) : NULL;
}

void virtio_signal_used(struct virtio_dev *d, uint16_t queue)
{
	if (d->transport)
		d->transport->signal_used(d->transport_ctx, queue);
}

void virtio_signal_config(struct virtio_dev *d)
{
	if (d->transport)
		d->transport->signal_config(d->transport_ctx);
}

void virtio_set_needs_reset(struct virtio_dev *d)
{
	if (d->transport)
		d->transport->set_needs_reset(d->transport_ctx);
}

void virtio_wakeup(struct virtio_dev *d)
{
	d->budget_chains = VIRTIO_WAKEUP_CHAINS;
	d->budget_bytes = VIRTIO_WAKEUP_BYTES;
}

bool virtio_take_chain(struct virtio_dev *d)
{
	if (d->budget_chains == 0)
		return false;
	d->budget_chains--;
	return true;
}

uint64_t virtio_take_bytes(struct virtio_dev *d, uint64_t want, uint64_t unit)
{
	uint64_t grant = want < d->budget_bytes ? want : d->budget_bytes;

	grant &= ~(unit - 1);
	d->budget_bytes -= grant;
	return grant;
}

uint64_t virtio_budget_bytes(const struct virtio_dev *d)
{
	return d->budget_bytes;
}

bool virtio_budget_spent(const struct virtio_dev *d)
{
	return d->budget_chains == 0 || d->budget_bytes == 0;
}


void virtio_yield(struct virtio_dev *d, uint16_t queue)
{
	if (d->transport)
		d->transport->requeue(d->transport_ctx, queue);
}
