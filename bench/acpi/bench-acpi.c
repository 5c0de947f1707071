/* bench-acpi: the ACPI table build in microseconds, in process: the median
 * of many acpi_build_vm() calls (what InstanceStart and --dump-acpi run) for
 * 1 and 32 vCPUs with 0 and 16 drives. bench/startup/run prints it next to
 * the VM build time of the same run. One line per case:
 *   acpi vcpus=N drives=D builds=B median_us=X */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "acpi/acpi.h"
#include "config/vm_config.h"
#include "core/device_env.h"
#include "devices/virtio/virtio.h"

#define BUILDS 2001

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The plan the device manager makes for `drives` drives: the transport's
 * windows, then the GED's two GSIs after theirs. */
static void plan_drives(unsigned drives, struct device_plan *plan)
{
	struct device_window w;

	*plan = (struct device_plan){ 0 };
	for (unsigned i = 0; i < drives; i++)
		if (virtio_transport_window(i, &plan->virtio[plan->nr_virtio]) == 0)
			plan->nr_virtio++;
	virtio_transport_window(plan->nr_virtio, &w);
	plan->vmgenid_gsi = w.irq;
	virtio_transport_window(plan->nr_virtio + 1, &w);
	plan->vmclock_gsi = w.irq;
}

static int bench_case(unsigned vcpus, unsigned drives)
{
	static double us[BUILDS];
	struct vm_config cfg = { .machine = MACHINE_CONFIG_DEFAULT };
	struct device_plan plan;

	cfg.machine.vcpu_count = (uint8_t)vcpus;
	plan_drives(drives, &plan);
	for (unsigned i = 0; i < BUILDS; i++) {
		struct acpi_image img;
		double t0 = now_us();
		int r = acpi_build_vm(&cfg, &plan, &img);

		us[i] = now_us() - t0;
		if (r < 0) {
			fprintf(stderr, "bench-acpi: acpi_build_vm failed: %d\n", r);
			return 1;
		}
		acpi_image_free(&img);
	}
	qsort(us, BUILDS, sizeof(us[0]), cmp_double);
	printf("acpi vcpus=%u drives=%u builds=%u median_us=%.2f\n", vcpus, drives, BUILDS, us[BUILDS / 2]);
	return 0;
}

int main(void)
{
	static const unsigned cases[][2] = { { 1, 0 }, { 1, 16 }, { 32, 0 }, { 32, 16 } };

	for (unsigned i = 0; i < 4; i++)
		if (bench_case(cases[i][0], cases[i][1]))
			return 1;
	return 0;
}
