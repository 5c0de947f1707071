#include "i8042.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/layout.h"
#include "core/device_env.h"
#include "log.h"

#define OFS_DATA 0u
#define OFS_STATUS 4u

#define CMD_READ_CTR 0x20u
#define CMD_WRITE_CTR 0x60u
#define CMD_READ_OUTP 0xd0u
#define CMD_WRITE_OUTP 0xd1u
#define CMD_RESET_CPU 0xfeu

#define SB_OUT_DATA_AVAIL 0x01u
#define SB_I8042_CMD_DATA 0x08u
#define SB_KBD_ENABLED 0x10u

#define CB_KBD_INT 0x01u
#define CB_POST_OK 0x04u

#define AT_KBD_ACK 0xfau

struct i8042_metrics i8042_metrics;
METRICS_GROUP(i8042_metrics, "i8042", I8042_METRICS);

struct i8042 {
	pthread_mutex_t lock;
	uint8_t status, control, outp, cmd;
	uint8_t buf[I8042_BUF_SIZE];
	unsigned head, count;
	int irq_fd;
	void (*on_reset)(void *ctx);
	void *ctx;
	int metrics; /* handle of i8042_metrics as a source of "i8042" */
};

int i8042_irq_fd(const struct i8042 *d)
{
	return d->irq_fd;
}

static void i8042_flush(struct i8042 *d)
{
	d->head = d->count = 0;
	d->status &= (uint8_t)~SB_OUT_DATA_AVAIL;
}

static int i8042_push(struct i8042 *d, uint8_t b)
{
	if (d->count == I8042_BUF_SIZE) {
		i8042_metrics.missed_write_count++;
		return -ENOSPC;
	}
	d->buf[(d->head + d->count++) % I8042_BUF_SIZE] = b;
	d->status |= SB_OUT_DATA_AVAIL;
	return 0;
}

static void i8042_kbd_interrupt(struct i8042 *d)
{
	uint64_t one = 1;

	if (!(d->control & CB_KBD_INT))
		return;
	if (write(d->irq_fd, &one, sizeof(one)) < 0)
		i8042_metrics.error_count++;
}

static uint8_t i8042_pop(struct i8042 *d)
{
	uint8_t b;

	if (!d->count) {
		i8042_metrics.missed_read_count++;
		return 0;
	}
	b = d->buf[d->head];
	d->head = (d->head + 1) % I8042_BUF_SIZE;
	if (--d->count == 0)
		d->status &= (uint8_t)~SB_OUT_DATA_AVAIL;
	else
		i8042_kbd_interrupt(d); /* more bytes: let the guest take the next */
	i8042_metrics.read_count++;
	return b;
}

static void i8042_command(struct i8042 *d, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_flush(d);
		i8042_push(d, d->control);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		d->status |= SB_I8042_CMD_DATA;
		d->cmd = cmd;
		break;
	case CMD_READ_OUTP:
		i8042_flush(d);
		i8042_push(d, d->outp);
		break;
	case CMD_RESET_CPU:
		i8042_metrics.reset_count++;
		d->on_reset(d->ctx);
		break;
	default:
		log_rl(LOG_DEBUG, "i8042: ignoring controller command 0x%02x", cmd);
		break;
	}
}

static void i8042_data(struct i8042 *d, uint8_t v)
{
	if (d->status & SB_I8042_CMD_DATA) {
		if (d->cmd == CMD_WRITE_CTR)
			d->control = v;
		else
			d->outp = v;
		d->status &= (uint8_t)~SB_I8042_CMD_DATA;
		return;
	}
	/* A keyboard command: Linux's atkbd waits for the ACK. */
	i8042_flush(d);
	i8042_push(d, AT_KBD_ACK);
	i8042_kbd_interrupt(d);
}

static void i8042_bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042 *d = dev;

	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
	pthread_mutex_lock(&d->lock);
	if (offset == OFS_STATUS)
		data[0] = d->status;
	else if (offset == OFS_DATA)
		data[0] = i8042_pop(d);
	else
		i8042_metrics.missed_read_count++;
	pthread_mutex_unlock(&d->lock);
}

static void i8042_bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *d = dev;

	pthread_mutex_lock(&d->lock);
	if (offset == OFS_STATUS) {
		i8042_command(d, data[0]);
		i8042_metrics.write_count++;
	} else if (offset == OFS_DATA) {
		i8042_data(d, data[0]);
		i8042_metrics.write_count++;
	} else {
		i8042_metrics.missed_write_count++;
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_ops i8042_ops = { .read = i8042_bus_read, .write = i8042_bus_write };

int i8042_send_ctrl_alt_del(struct i8042 *d)
{
	static const uint8_t keys[] = { 0x14, 0x11, 0xe0, 0x71,       /* press Ctrl, Alt, Del */
					0xe0, 0xf0, 0x71, 0xf0, 0x11, /* release Del, Alt */
					0xf0, 0x14 };                 /* release Ctrl */
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (I8042_BUF_SIZE - d->count < sizeof(keys)) {
		i8042_metrics.missed_write_count++;
		r = -ENOSPC;
	} else {
		for (size_t i = 0; i < sizeof(keys); i++)
			i8042_push(d, keys[i]);
		i8042_kbd_interrupt(d);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

int i8042_create(const struct device_env *env, void (*on_reset)(void *ctx), void *ctx, struct i8042 **ret)
{
	struct i8042 *d = calloc(1, sizeof(*d));
	struct kvm_irqfd irqfd = { .gsi = LAYOUT_IRQ_I8042 };
	int r = 0;

	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->status = SB_KBD_ENABLED;
	d->control = CB_POST_OK | CB_KBD_INT;
	d->on_reset = on_reset;
	d->ctx = ctx;
	d->metrics = metrics_register(&i8042_metrics_group, NULL, &i8042_metrics);
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		r = -errno;
	irqfd.fd = (uint32_t)d->irq_fd;
	if (r >= 0 && env->vm_fd >= 0 && ioctl(env->vm_fd, KVM_IRQFD, &irqfd) < 0)
		r = -errno;
	if (r >= 0)
		r = bus_register(env->pio_bus, LAYOUT_PORT_I8042_DATA, I8042_PORT_LEN, &i8042_ops, d);
	if (r < 0) {
		i8042_destroy(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct i8042 *i8042_destroy(struct i8042 *d)
{
	if (!d)
		return NULL;
	if (d->irq_fd >= 0)
		close(d->irq_fd);
	metrics_unregister(d->metrics);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return NULL;
}

/* Snapshots: status, control, output port, pending command, then the
 * buffered bytes in order. */
#define I8042_STATE_FIXED 5u

size_t i8042_state_save(struct i8042 *d, uint8_t *buf, size_t size)
{
	size_t n;

	if (size < I8042_STATE_MAX)
		return 0;
	pthread_mutex_lock(&d->lock);
	buf[0] = d->status;
	buf[1] = d->control;
	buf[2] = d->outp;
	buf[3] = d->cmd;
	buf[4] = (uint8_t)d->count;
	for (unsigned i = 0; i < d->count; i++)
		buf[I8042_STATE_FIXED + i] = d->buf[(d->head + i) % I8042_BUF_SIZE];
	n = I8042_STATE_FIXED + d->count;
	pthread_mutex_unlock(&d->lock);
	return n;
}

int i8042_state_restore(struct i8042 *d, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (len < I8042_STATE_FIXED || buf[4] > I8042_BUF_SIZE || len != I8042_STATE_FIXED + buf[4]) {
		snprintf(err, errlen, "i8042 state of %zu bytes is malformed", len);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	d->status = buf[0];
	d->control = buf[1];
	d->outp = buf[2];
	d->cmd = buf[3];
	d->head = 0;
	d->count = buf[4];
	memcpy(d->buf, buf + I8042_STATE_FIXED, d->count);
	pthread_mutex_unlock(&d->lock);
	return 0;
}
