/* bench/block: virtio-blk requests per second through queue.c + the mmio
 * transport + block.c, with guest memory built in-process and no KVM,
 * against raw preadv/pwritev of the same sizes on the same file (the
 * physical limit), and the Async engine at queue depths 1 and 32.
 *
 * The "driver" here offers requests in the avail ring and calls the queue's
 * notify handler directly, as a KVM ioeventfd would make the vmm loop do. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "devices/device.h"
#include "log.h"
#include "virtio-driver.h"

#define QN 256u
#define FILE_BYTES (64ull << 20)

struct bench {
	struct guest_memory *m;
	struct event_loop *loop;
	int fd;
	uint16_t seen_used;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spreads requests over the file so that the page cache, not one page, is exercised. */
static uint64_t sector_of(uint64_t i, uint32_t len)
{
	uint64_t slots = FILE_BYTES / len;

	return (i * 7919 % slots) * (len / 512);
}

static double bench_raw(struct bench *B, bool write, uint32_t len, uint64_t n)
{
	void *buf = aligned_alloc(4096, len);
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	double t0;

	memset(buf, 0x5a, len);
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		off_t off = (off_t)(sector_of(i, len) * 512);
		ssize_t r = write ? pwritev(B->fd, &iov, 1, off) : preadv(B->fd, &iov, 1, off);

		if (r != (ssize_t)len) {
			perror("raw I/O");
			exit(1);
		}
	}
	t0 = now_s() - t0;
	free(buf);
	return (double)n / t0;
}

static struct block *bench_device(struct bench *B, enum drive_io_engine engine, unsigned depth)
{
	struct device_env env = { .vm_fd = -1, .mem = B->m, .loop = B->loop };
	struct drive_config cfg = { .drive_id = "bench", .fd = B->fd, .io_engine = engine };
	struct block_options opts = { .async_depth = depth > 64 ? depth : 64 };
	struct block *b;

	if (block_create(&env, 0, &cfg, &opts, &b) < 0) {
		fprintf(stderr, "block_create failed\n");
		exit(1);
	}
	/* A fresh driver: rings start zeroed, as a guest allocates them. */
	memset(guest_memory_slice(B->m, H_AVAIL, 4), 0, 4);
	memset(guest_memory_slice(B->m, H_USED, 4), 0, 4);
	B->seen_used = 0;
	/* No EVENT_IDX: the bench driver never asks for interrupts to be suppressed. */
	vd_init(block_transport(b), QN, 1ull << VIRTIO_F_INDIRECT_DESC);
	return b;
}

/* Reaps used entries; returns the slots that came back through *ret_slots. */
static unsigned bench_reap(struct bench *B, unsigned *ret_slots)
{
	uint16_t used = h_used_idx(B->m);
	unsigned n = 0;

	while (B->seen_used != used) {
		uint32_t id, len;

		h_used_elem(B->m, QN, B->seen_used++, &id, &len);
		ret_slots[n++] = id / 3;
	}
	return n;
}

/* Keeps `depth` requests outstanding until n have completed. */
static double bench_virtio(struct bench *B, enum drive_io_engine engine, bool write, uint32_t len, uint64_t n,
			   unsigned depth)
{
	struct block *b = bench_device(B, engine, depth);
	struct virtio_mmio *t = block_transport(b);
	unsigned free_slots[QN / 3], nr_free = 0, back[QN];
	uint64_t issued = 0, done = 0;
	double t0;

	for (unsigned k = 0; k < depth; k++)
		free_slots[nr_free++] = k;
	t0 = now_s();
	while (done < n) {
		while (nr_free && issued < n) {
			unsigned k = free_slots[--nr_free];

			vd_blk_request(B->m, QN, k, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector_of(issued++, len), len);
		}
		virtio_mmio_notify(t, 0);
		if (engine == DRIVE_ENGINE_ASYNC && h_used_idx(B->m) == B->seen_used)
			loop_run_once(B->loop, 1000);
		for (unsigned i = 0, c = bench_reap(B, back); i < c; i++) {
			if (vd_blk_status(B->m, back[i]) != VIRTIO_BLK_S_OK) {
				fprintf(stderr, "request failed\n");
				exit(1);
			}
			free_slots[nr_free++] = back[i];
			done++;
		}
	}
	t0 = now_s() - t0;
	if (engine == DRIVE_ENGINE_ASYNC && block_engine(b) != DRIVE_ENGINE_ASYNC)
		printf("  (io_uring unavailable: Async fell back to Sync)\n");
	block_destroy(b);
	return (double)n / t0;
}

static void bench_case(struct bench *B, bool write, uint32_t len, uint64_t n)
{
	double raw = bench_raw(B, write, len, n);
	double sync1 = bench_virtio(B, DRIVE_ENGINE_SYNC, write, len, n, 1);
	double sync32 = bench_virtio(B, DRIVE_ENGINE_SYNC, write, len, n, 32);
	double a1 = bench_virtio(B, DRIVE_ENGINE_ASYNC, write, len, n, 1);
	double a32 = bench_virtio(B, DRIVE_ENGINE_ASYNC, write, len, n, 32);

	printf("%-5s %3u KiB  raw %9.0f req/s | Sync d1 %9.0f (%.2fx raw) d32 %9.0f (%.2fx raw) | "
	       "Async d1 %9.0f (%.2fx) d32 %9.0f (%.2fx raw, %.2fx Sync d32)\n",
	       write ? "write" : "read", len >> 10, raw, sync1, sync1 / raw, sync32, sync32 / raw, a1, a1 / raw, a32,
	       a32 / raw, a32 / sync32);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	uint64_t scale = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	char path[4096];
	struct bench B = { 0 };
	void *zero;

	log_set_level(LOG_WARNING);
	snprintf(path, sizeof(path), "%s/ember-bench-block-XXXXXX", dir);
	B.fd = mkostemp(path, O_CLOEXEC);
	if (B.fd < 0 || guest_memory_create(16ull << 20, &B.m) < 0 || loop_create(&B.loop) < 0) {
		perror("setup");
		return 1;
	}
	unlink(path);
	/* Write the file out so reads hit the page cache in every variant alike. */
	zero = calloc(1, 1 << 20);
	for (uint64_t off = 0; off < FILE_BYTES; off += 1 << 20)
		if (pwrite(B.fd, zero, 1 << 20, (off_t)off) != 1 << 20)
			return perror("fill"), 1;
	free(zero);
	printf("bench/block: %s, 64 MiB file in %s (page cache), queue size %u\n", "virtio-blk host path", dir, QN);
	bench_case(&B, false, 4096, 100000 * scale);
	bench_case(&B, true, 4096, 100000 * scale);
	bench_case(&B, false, 65536, 20000 * scale);
	bench_case(&B, true, 65536, 20000 * scale);
	loop_destroy(B.loop);
	guest_memory_destroy(B.m);
	close(B.fd);
	return 0;
}
