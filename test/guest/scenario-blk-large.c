/* Scenario blk-large: one virtio-blk read far larger than one host transfer.
 *
 * A single chain of probe.blk_large_chunks (default 7) buffers of
 * probe.blk_large_chunk_mib MiB (default 480: 3.28 GiB in all) reads the start
 * of the drive. The kernel moves at most 2 GiB - 4 KiB per read call, so the
 * device must go on where each transfer stopped. Every buffer is the same
 * guest region (at probe.blk_large_addr_mib, default 32 MiB), so a 512 MiB
 * guest can take it: chunk k lands on the region after chunk k-1, and the
 * region ends up holding the last chunk, if the device went on from the
 * right place.
 *
 * The host writes a pattern into the first and last 4 KiB of every chunk of
 * the file (the rest is a hole): the 8-byte word at file offset X is
 * BLK_LARGE_MAGIC ^ X, so each chunk has its own. `PROBE blk-large.read ok`
 * needs status OK, the used length of the whole chain, and the last chunk's
 * words at both ends of the region. */
#include "probe.h"
#include "virtio-probe.h"

#define BLK_LARGE_MAGIC 0x4c41524745424c4bull /* "LARGEBLK" */
#define BLK_LARGE_CHECK 4096u
#define BLK_LARGE_MAX_CHUNKS (VP_QN - 2)

static struct blk_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;

/* The first bad word of the check window at region + at, which must hold
 * file bytes from file_off on; -1 when all match. */
static long first_mismatch(uint64_t region, uint64_t at, uint64_t file_off)
{
	const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)(region + at);

	for (unsigned i = 0; i < BLK_LARGE_CHECK / 8; i++)
		if (w[i] != (BLK_LARGE_MAGIC ^ (file_off + 8ull * i)))
			return (long)i;
	return -1;
}

/* Builds the chain: header, `chunks` writable buffers on one region, status. */
static void build_chain(struct vp_dev *d, uint64_t region, uint32_t chunk, unsigned chunks)
{
	hdr = (struct blk_hdr){ .type = BLK_T_IN, .sector = 0 };
	status = 0xff;
	d->desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VP_DESC_F_NEXT, 1 };
	for (unsigned k = 0; k < chunks; k++)
		d->desc[1 + k] = (struct vp_desc){ region, chunk, VP_DESC_F_NEXT | VP_DESC_F_WRITE, (uint16_t)(2 + k) };
	d->desc[1 + chunks] = (struct vp_desc){ (uint64_t)(uintptr_t)&status, 1, VP_DESC_F_WRITE, 0 };
}

void scenario_blk_large(void)
{
	uint64_t chunk_mib = 480, chunks = 7, addr_mib = 32, chunk, total, last;
	uint32_t id, len;
	long head_bad, tail_bad;
	struct vp_dev d;

	probe_param_u64("probe.blk_large_chunk_mib", &chunk_mib);
	probe_param_u64("probe.blk_large_chunks", &chunks);
	probe_param_u64("probe.blk_large_addr_mib", &addr_mib);
	chunk = chunk_mib << 20;
	total = chunk * chunks;
	if (chunks == 0 || chunks > BLK_LARGE_MAX_CHUNKS || chunk < 2 * BLK_LARGE_CHECK || chunk > 0xffffffffull ||
	    total >= 0xffffffffull) {
		probe_fail("blk-large.read", "bad parameters: %lu chunks of %lu MiB", chunks, chunk_mib);
		return;
	}
	if (!vp_open_first_blk(&d)) {
		probe_fail("blk-large.read", "no usable virtio-blk device");
		return;
	}
	build_chain(&d, addr_mib << 20, (uint32_t)chunk, (unsigned)chunks);
	if (!vp_submit(&d, 0, &id, &len)) {
		probe_fail("blk-large.read", "no used element for the %lu-byte read", total);
		return;
	}
	last = (chunks - 1) * chunk;
	head_bad = first_mismatch(addr_mib << 20, 0, last);
	tail_bad = first_mismatch(addr_mib << 20, chunk - BLK_LARGE_CHECK, last + chunk - BLK_LARGE_CHECK);
	probe_check("blk-large.read",
		    status == BLK_S_OK && len == total + 1 && head_bad < 0 && tail_bad < 0,
		    "status %u, used length %u of %lu, first bad word at the start %ld, at the end %ld", status, len,
		    total + 1, head_bad, tail_bad);
}
