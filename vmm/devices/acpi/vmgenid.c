/* See vmgenid.h. */
#include "vmgenid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/device_env.h"
#include "core/layout.h"
#include "core/memory.h"
#include "ged.h"

struct vmgenid {
	const struct guest_memory *mem;
	uint8_t id[VMGENID_ID_SIZE];
	struct ged_line irq;
};

/* 16 bytes from the host's pool; flags 0 may wait for it only until the
 * host's RNG is first seeded, long before a VM starts. */
static int vmgenid_draw(struct vmgenid *g, char *why, size_t whylen)
{
	size_t got = 0;

	while (got < sizeof(g->id)) {
		ssize_t n = getrandom(g->id + got, sizeof(g->id) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			snprintf(why, whylen, "VMGenID: getrandom: %s", strerror(-r));
			return r;
		}
		got += (size_t)n;
	}
	return 0;
}

static int vmgenid_write(struct vmgenid *g, char *why, size_t whylen)
{
	int r = guest_memory_write(g->mem, LAYOUT_VMGENID, g->id, sizeof(g->id));

	if (r < 0)
		snprintf(why, whylen, "VMGenID: cannot write the ID at 0x%llx: %s", (unsigned long long)LAYOUT_VMGENID,
			 strerror(-r));
	return r;
}

int vmgenid_create(const struct device_env *env, uint32_t gsi, struct vmgenid **ret, char *why, size_t whylen)
{
	struct vmgenid *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->mem = env->mem;
	g->irq.fd = -1;
	r = vmgenid_draw(g, why, whylen);
	/* Memory a page server fills (a Uffd snapshot load) is not written
	 * on the vmm thread while the VM is built: the page may never be
	 * served. The load writes a new ID there (snapshot/generation.c). */
	if (r >= 0 && env->mem->uffd < 0)
		r = vmgenid_write(g, why, whylen);
	if (r >= 0)
		r = ged_line_open(&g->irq, env->vm_fd, gsi, why, whylen);
	if (r < 0) {
		vmgenid_destroy(g);
		return r;
	}
	*ret = g;
	return 0;
}

struct vmgenid *vmgenid_destroy(struct vmgenid *g)
{
	if (!g)
		return NULL;
	ged_line_close(&g->irq);
	free(g);
	return NULL;
}

void vmgenid_id(const struct vmgenid *g, uint8_t ret[VMGENID_ID_SIZE])
{
	memcpy(ret, g->id, sizeof(g->id));
}

uint32_t vmgenid_gsi(const struct vmgenid *g)
{
	return g->irq.gsi;
}

int vmgenid_renew(struct vmgenid *g, char *why, size_t whylen)
{
	int r = vmgenid_draw(g, why, whylen);

	if (r >= 0)
		r = vmgenid_write(g, why, whylen);
	if (r >= 0) {
		r = ged_line_pulse(&g->irq);
		if (r < 0)
			snprintf(why, whylen, "VMGenID: cannot pulse GSI %u: %s", g->irq.gsi, strerror(-r));
	}
	return r;
}
