/* bench/block: virtio-blk requests per second through queue.c + the mmio
 * transport + block.c, with guest memory built in-process and no KVM,
 * against raw preadv/pwritev of the same sizes on the same file (the
 * physical limit), and the Async engine at queue depths 1 and 32.
 *
 * The "driver" here offers requests in the avail ring and calls the queue's
 * notify handler directly, as a KVM ioeventfd would make the vmm loop do. */
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/device_env.h"
#include "log.h"
#include "virtio-driver.h"

#define QN 256u
#define FILE_BYTES (256ull << 20)

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

/* Where slot k's data goes: the harness's slots hold up to 64 KiB; larger
 * buffers (1 MiB) get slots of their own above 16 MiB, so that they do not
 * overlap the other slots' headers and status bytes. */
#define BIG_DATA (16ull << 20)

static uint64_t bench_data(unsigned k, uint32_t len)
{
	return len <= 65536 ? vd_data(k) : BIG_DATA + (uint64_t)k * len;
}

/* Spreads requests over the file so that the page cache, not one page, is exercised. */
static uint64_t sector_of(uint64_t i, uint32_t len)
{
	uint64_t slots = FILE_BYTES / len;

	return (i * 7919 % slots) * (len / 512);
}

/* The baseline: the same requests as plain syscalls, into the same guest
 * buffers the virtio runs use (32 slots in rotation), so that the ratio
 * isolates what the VMM adds rather than cache effects of buffer placement. */
static double bench_raw(struct bench *B, bool write, uint32_t len, uint64_t n)
{
	double t0;

	for (unsigned k = 0; k < 32; k++)
		memset(guest_memory_slice(B->m, bench_data(k, len), len), 0x5a, len);
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		struct iovec iov = { .iov_base = guest_memory_slice(B->m, bench_data(i % 32, len), len), .iov_len = len };
		off_t off = (off_t)(sector_of(i, len) * 512);
		ssize_t r = write ? pwritev(B->fd, &iov, 1, off) : preadv(B->fd, &iov, 1, off);

		if (r != (ssize_t)len) {
			perror("raw I/O");
			exit(1);
		}
	}
	return (double)n / (now_s() - t0);
}

static struct block *bench_device(struct bench *B, enum drive_io_engine engine, unsigned depth,
				  struct virtio_mmio **ret_t)
{
	struct device_env env = { .vm_fd = -1, .mem = B->m, .loop = B->loop };
	struct drive_config cfg = { .drive_id = "bench", .fd = B->fd, .io_engine = engine };
	struct block_options opts = { .async_depth = depth > 64 ? depth : 64 };
	struct block *b;

	if (block_create(&env, &cfg, &opts, &b) < 0 || virtio_mmio_create(&env, 0, block_virtio(b), ret_t) < 0) {
		fprintf(stderr, "block_create failed\n");
		exit(1);
	}
	/* A fresh driver: rings start zeroed, as a guest allocates them. */
	memset(guest_memory_slice(B->m, H_AVAIL, 4), 0, 4);
	memset(guest_memory_slice(B->m, H_USED, 4), 0, 4);
	B->seen_used = 0;
	/* No EVENT_IDX: the bench driver never asks for interrupts to be suppressed. */
	vd_init(*ret_t, QN, 1ull << VIRTIO_F_INDIRECT_DESC);
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

/* Per request the bench driver writes only what a guest would: the sector
 * in a header whose descriptors were built once per slot, and the avail
 * entry. So the figures measure the VMM's side, not the harness. */
static void bench_offer(struct bench *B, unsigned k, uint64_t sector)
{
	uint64_t le = htole64(sector);
	uint8_t st = 0xff;

	guest_memory_write(B->m, vd_hdr(k) + 8, &le, 8);
	guest_memory_write(B->m, vd_status(k), &st, 1);
	h_offer(B->m, QN, (uint16_t)(3 * k));
}

/* Keeps `depth` requests outstanding until n have completed. */
static double bench_virtio(struct bench *B, enum drive_io_engine engine, bool write, uint32_t len, uint64_t n,
			   unsigned depth, uint64_t (*sector_fn)(uint64_t, uint32_t))
{
	struct virtio_mmio *t;
	struct block *b = bench_device(B, engine, depth, &t);
	unsigned free_slots[QN / 3], nr_free = 0, back[QN];
	uint64_t issued = 0, done = 0;
	double t0;

	for (unsigned k = 0; k < depth; k++) {
		free_slots[nr_free++] = k;
		/* builds the slot's descriptors; the chain is taken back out of the ring below */
		vd_blk_request(B->m, QN, k, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 0, len);
		if (len > 65536) /* the data descriptor, moved to the slot's own buffer */
			h_desc(B->m, (uint16_t)(3 * k + 1), bench_data(k, len), len,
			       (write ? 0 : VIRTQ_DESC_F_WRITE) | VIRTQ_DESC_F_NEXT, (uint16_t)(3 * k + 2));
	}
	h_set_avail_idx(B->m, 0);
	t0 = now_s();
	while (done < n) {
		while (nr_free && issued < n)
			bench_offer(B, free_slots[--nr_free], sector_fn(issued++, len));
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
	virtio_mmio_destroy(t);
	block_destroy(b);
	return (double)n / t0;
}

/* Every variant starts from the same state: no dirty pages left by the
 * previous one (writeback would land on the next), and for cold runs an
 * empty page cache for the file. */
static void bench_settle(struct bench *B, bool cold)
{
	fdatasync(B->fd);
	if (cold)
		posix_fadvise(B->fd, 0, 0, POSIX_FADV_DONTNEED);
}

enum { V_RAW, V_SYNC1, V_SYNC32, V_ASYNC1, V_ASYNC32, V_COUNT };

/* Best of `rounds` runs of each variant, interleaved so that drift in the
 * machine (page cache, other load) hits them alike. */
static void bench_case(struct bench *B, const char *label, bool write, uint32_t len, uint64_t n, bool cold,
		       unsigned rounds)
{
	double best[V_COUNT] = { 0 };

	for (unsigned r = 0; r < rounds; r++) {
		double v[V_COUNT];

		bench_settle(B, cold);
		v[V_RAW] = bench_raw(B, write, len, n);
		bench_settle(B, cold);
		v[V_SYNC1] = bench_virtio(B, DRIVE_ENGINE_SYNC, write, len, n, 1, sector_of);
		bench_settle(B, cold);
		v[V_SYNC32] = bench_virtio(B, DRIVE_ENGINE_SYNC, write, len, n, 32, sector_of);
		bench_settle(B, cold);
		v[V_ASYNC1] = bench_virtio(B, DRIVE_ENGINE_ASYNC, write, len, n, 1, sector_of);
		bench_settle(B, cold);
		v[V_ASYNC32] = bench_virtio(B, DRIVE_ENGINE_ASYNC, write, len, n, 32, sector_of);
		for (unsigned i = 0; i < V_COUNT; i++)
			best[i] = v[i] > best[i] ? v[i] : best[i];
	}
	printf("%-11s %3u KiB | raw %8.0f | Sync d1 %8.0f %.2fx  d32 %8.0f %.2fx | Async d1 %8.0f %.2fx  d32 %8.0f "
	       "%.2fx | Async d32 / Sync d32 %.2fx\n",
	       label, len >> 10, best[V_RAW], best[V_SYNC1], best[V_SYNC1] / best[V_RAW], best[V_SYNC32],
	       best[V_SYNC32] / best[V_RAW], best[V_ASYNC1], best[V_ASYNC1] / best[V_RAW], best[V_ASYNC32],
	       best[V_ASYNC32] / best[V_RAW], best[V_ASYNC32] / best[V_SYNC32]);
	fflush(stdout);
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
	if (B.fd < 0 || guest_memory_create(64ull << 20, &B.m) < 0 || loop_create(&B.loop) < 0) {
		perror("setup");
		return 1;
	}
	unlink(path);
	/* random offsets: readahead would turn cold reads into cached ones */
	posix_fadvise(B.fd, 0, 0, POSIX_FADV_RANDOM);
	/* Write the file out so reads hit the page cache in every variant alike. */
	zero = calloc(1, 1 << 20);
	for (uint64_t off = 0; off < FILE_BYTES; off += 1 << 20)
		if (pwrite(B.fd, zero, 1 << 20, (off_t)off) != 1 << 20)
			return perror("fill"), 1;
	free(zero);
	printf("bench/block: requests/s through queue.c + virtio-mmio + block.c (no KVM) against raw\n"
	       "preadv/pwritev on the same %llu MiB file in %s; best of 3; ratios against raw\n",
	       (unsigned long long)(FILE_BYTES >> 20), dir);
	bench_case(&B, "read cached", false, 4096, 100000 * scale, false, 3);
	if (argc > 3 && strcmp(argv[3], "quick") == 0)
		goto out; /* the per-request overhead case alone */
	if (argc > 3 && strcmp(argv[3], "budget") == 0) {
		/* 4 KiB against a whole wake-up budget per request (1 MiB) */
		bench_case(&B, "read cached", false, 1u << 20, 2000 * scale, false, 3);
		bench_case(&B, "write", true, 1u << 20, 1000 * scale, false, 3);
		goto out;
	}
	bench_case(&B, "write", true, 4096, 100000 * scale, false, 3);
	bench_case(&B, "read cached", false, 65536, 20000 * scale, false, 3);
	bench_case(&B, "write", true, 65536, 20000 * scale, false, 3);
	/* One request of 1 MiB: a whole wake-up's budget (devices/virtio/virtio.h). */
	bench_case(&B, "read cached", false, 1u << 20, 2000 * scale, false, 3);
	bench_case(&B, "write", true, 1u << 20, 1000 * scale, false, 3);
	/* Reads that reach the disk: where queue depth can pay off. */
	bench_case(&B, "read cold", false, 4096, 5000 * scale, true, 2);
	bench_case(&B, "read cold", false, 65536, 2000 * scale, true, 2);
out:
	loop_destroy(B.loop);
	guest_memory_destroy(B.m);
	close(B.fd);
	return 0;
}
