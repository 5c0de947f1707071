/* Firecracker's boot-timer device (--boot-timer): an MMIO page at
 * LAYOUT_BOOT_TIMER. When the guest writes the byte 123 at offset 0 (the end
 * of its boot), ember logs
 *   "Guest-boot-time = N us M ms, X CPU us Y CPU ms"
 * measured from the start timestamps: --start-time-us (CLOCK_MONOTONIC) and
 * --start-time-cpu-us (CLOCK_PROCESS_CPUTIME_ID) when the jailer passed them,
 * otherwise ember's own start. */
#pragma once

#include <stdint.h>

#define BOOT_TIMER_MAGIC 123u

struct device_env;
struct boot_timer;

struct boot_timer_start {
	uint64_t wall_us; /* CLOCK_MONOTONIC */
	uint64_t cpu_us;  /* CLOCK_PROCESS_CPUTIME_ID */
};

/* Claims the MMIO page; the caller owns *ret. 0 or -errno. */
int boot_timer_create(const struct device_env *env, const struct boot_timer_start *start,
		      struct boot_timer **ret);
struct boot_timer *boot_timer_destroy(struct boot_timer *t); /* accepts NULL, returns NULL */

/* The clocks the start timestamps use, in microseconds. */
uint64_t boot_timer_now_us(void);
uint64_t boot_timer_cpu_now_us(void);
