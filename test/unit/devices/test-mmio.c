/* The virtio-mmio transport's registers and status state machine, with a
 * stand-in device that records what the transport asks of it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/layout.h"
#include "core/device_env.h"
#include "virtio-driver.h"

#define MEM (1ull << 20)

struct fake_dev {
	struct virtio_dev vdev; /* first: the handle is the device */
	unsigned activations, resets, notifies;
	int activate_result;
	const struct guest_memory *mem; /* what activate() got */
	uint8_t config[8];
};

static uint64_t fake_features(struct virtio_dev *vd)
{
	return 1ull << VIRTIO_F_EVENT_IDX;
}

static void fake_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, ((struct fake_dev *)vd)->config + off, len);
}

static int fake_activate(struct virtio_dev *vd, uint64_t features, const struct guest_memory *mem)
{
	struct fake_dev *d = (struct fake_dev *)vd;

	d->activations++;
	d->mem = mem;
	return d->activate_result;
}

static void fake_reset(struct virtio_dev *vd)
{
	((struct fake_dev *)vd)->resets++;
}

static void fake_notify(struct virtio_dev *vd, uint16_t q)
{
	((struct fake_dev *)vd)->notifies++;
}

static const struct virtio_device_ops fake_ops = {
	.name = "fake", .device_id = 42, .num_queues = 1, .config_size = 8,
	.features = fake_features, .config_read = fake_config_read,
	.activate = fake_activate, .reset = fake_reset, .notify = fake_notify,
};

struct fx {
	struct guest_memory *m;
	struct bus *bus;
	struct fake_dev dev;
	struct virtio_mmio *t;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct device_env env = { .vm_fd = -1 };

	assert_int_equal(guest_memory_create(MEM, &f->m), 0);
	assert_int_equal(bus_create(&f->bus), 0);
	env.mem = f->m;
	env.mmio_bus = f->bus;
	memcpy(f->dev.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	virtio_dev_init(&f->dev.vdev, &fake_ops);
	assert_int_equal(virtio_mmio_create(&env, 2, &f->dev.vdev, &f->t), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_destroy(f->t);
	virtio_dev_destroy(&f->dev.vdev);
	bus_destroy(f->bus);
	guest_memory_destroy(f->m);
	free(f);
	return 0;
}

static void test_identity_and_bus(void **state)
{
	struct fx *f = *state;
	uint64_t base = LAYOUT_VIRTIO_MMIO_BASE + 2 * LAYOUT_VIRTIO_MMIO_SIZE;
	uint32_t v = 0;
	char buf[64];

	assert_int_equal(virtio_mmio_base(f->t), base);
	assert_int_equal(virtio_mmio_irq(f->t), LAYOUT_VIRTIO_IRQ_FIRST + 2);
	assert_int_equal(bus_read(f->bus, base, (uint8_t *)&v, 4), 0);
	assert_int_equal(v, VIRTIO_MMIO_MAGIC_VALUE);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	vd_write(f->t, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* no such queue */
	assert_true(virtio_mmio_cmdline(f->t, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "virtio_mmio.device=4K@0xc0003000:7");
	assert_int_equal(virtio_mmio_cmdline(f->t, buf, 10), -ENOSPC);
	/* 8-byte config read; 2-byte register read is ignored */
	uint64_t c = 0;
	virtio_mmio_read(f->t, VIRTIO_MMIO_CONFIG, (uint8_t *)&c, 8);
	assert_int_equal(c, 0x0807060504030201ull);
	v = 0xffff;
	virtio_mmio_read(f->t, VIRTIO_MMIO_MAGIC, (uint8_t *)&v, 2);
	assert_int_equal(v, 0);
	virtio_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 6, (uint8_t *)&v, 4); /* crosses the end */
	assert_int_equal(v, 0);
}

static void test_happy_path(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vd_init(f->t, 16, ~0ull), 0xf);
	assert_int_equal(f->dev.activations, 1);
	assert_ptr_equal(f->dev.mem, f->m); /* activate() gets the guest memory */
	assert_ptr_equal(virtio_queue(&f->dev.vdev, 0), virtio_mmio_queue(f->t, 0));
	assert_true(virtio_mmio_queue(f->t, 0)->ready);
	assert_true(virtio_mmio_queue(f->t, 0)->event_idx);
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(f->dev.notifies, 1);
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->dev.resets, 2); /* vd_init resets first */
	assert_false(virtio_mmio_queue(f->t, 0)->ready);
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(f->dev.notifies, 1); /* not live after reset */
}

static void test_status_order_enforced(void **state)
{
	struct fx *f = *state;

	vd_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER); /* before ACKNOWLEDGE */
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS), 0);
	vd_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(f->dev.activations, 0);
	vd_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* clearing a bit without a reset is refused */
	vd_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

static void test_features_need_version_1(void **state)
{
	struct fx *f = *state;

	vd_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_F_EVENT_IDX);
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0xb);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* a feature the device does not offer */
	vd_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 1 | 2);
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0xb);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	vd_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0xb);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	/* features are frozen after FEATURES_OK */
	vd_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0xb);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_STATUS), 0xb);
}

static void test_bad_queue_stays_not_ready(void **state)
{
	struct fx *f = *state;

	/* queue registers before FEATURES_OK are ignored */
	vd_write(f->t, VIRTIO_MMIO_QUEUE_NUM, 8);
	vd_write(f->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	/* a ring past the end of memory, a queue too large, misaligned, unmapped */
	vd_init_at(f->t, 16, 0, MEM - 64, H_AVAIL, H_USED);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	vd_init(f->t, 512, 0);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	vd_init_at(f->t, 16, 0, H_DESC + 4, H_AVAIL, H_USED);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	vd_init_at(f->t, 16, 0, H_DESC, H_AVAIL, 0xffffffff00000000ull);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_activation_failure_needs_reset(void **state)
{
	struct fx *f = *state;
	uint64_t n = 0;

	f->dev.activate_result = -EIO;
	assert_true(vd_init(f->t, 16, 0) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(vd_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(read(virtio_mmio_irq_fd(f->t), &n, 8), 8);
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(f->dev.notifies, 0);
}

static void test_interrupts_and_ack(void **state)
{
	struct fx *f = *state;
	uint32_t gen;
	uint64_t n = 0;

	vd_init(f->t, 16, 0);
	gen = vd_read(f->t, VIRTIO_MMIO_CONFIG_GENERATION);
	/* what a device does, through its handle */
	virtio_lock(&f->dev.vdev);
	virtio_signal_config(&f->dev.vdev);
	virtq_push(virtio_queue(&f->dev.vdev, 0), 0, 0);
	virtio_signal_used(&f->dev.vdev, 0);
	virtio_unlock(&f->dev.vdev);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	assert_int_equal(read(virtio_mmio_irq_fd(f->t), &n, 8), 8);
	assert_int_equal(n, 2);
	vd_write(f->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
}

static void test_broken_queue_sets_needs_reset(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e = malloc(sizeof(*e));

	vd_init(f->t, 16, 0);
	h_set_avail_idx(f->m, 100);
	virtio_lock(&f->dev.vdev);
	assert_int_equal(virtq_pop(virtio_queue(&f->dev.vdev, 0), e), -EIO);
	virtio_set_needs_reset(&f->dev.vdev);
	virtio_unlock(&f->dev.vdev);
	assert_true(vd_read(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* a reset and a fresh set-up bring it back */
	h_set_avail_idx(f->m, 0);
	assert_int_equal(vd_init(f->t, 16, 0), 0xf);
	free(e);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity_and_bus),
		T(test_happy_path),
		T(test_status_order_enforced),
		T(test_features_need_version_1),
		T(test_bad_queue_stays_not_ready),
		T(test_activation_failure_needs_reset),
		T(test_interrupts_and_ack),
		T(test_broken_queue_sets_needs_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
