#include "boot_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/bus.h"
#include "core/layout.h"
#include "core/device_env.h"
#include "log.h"

struct boot_timer {
	struct boot_timer_start start;
};

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t boot_timer_now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t boot_timer_cpu_now_us(void)
{
	return clock_us(CLOCK_PROCESS_CPUTIME_ID);
}

static void boot_timer_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct boot_timer *t = dev;
	uint64_t wall, cpu;

	if (offset != 0 || len != 1 || data[0] != BOOT_TIMER_MAGIC)
		return;
	wall = boot_timer_now_us() - t->start.wall_us;
	cpu = boot_timer_cpu_now_us() - t->start.cpu_us;
	log_rl(LOG_INFO, "Guest-boot-time = %llu us %llu ms, %llu CPU us %llu CPU ms",
	       (unsigned long long)wall, (unsigned long long)(wall / 1000), (unsigned long long)cpu,
	       (unsigned long long)(cpu / 1000));
}

static const struct bus_ops boot_timer_ops = { .write = boot_timer_write };

int boot_timer_create(const struct device_env *env, const struct boot_timer_start *start,
		      struct boot_timer **ret)
{
	struct boot_timer *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->start = *start;
	r = bus_register(env->mmio_bus, LAYOUT_BOOT_TIMER, LAYOUT_BOOT_TIMER_SIZE, &boot_timer_ops, t);
	if (r < 0) {
		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

struct boot_timer *boot_timer_destroy(struct boot_timer *t)
{
	free(t);
	return NULL;
}
