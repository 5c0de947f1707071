/* See kvm_state.h: the per-vCPU part. */
#include "kvm_state.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "format.h"

/* The fixed-size structures: one section each, read and written whole. */
static const struct {
	uint32_t type;
	unsigned long get, set;
	size_t size;
} vcpu_fixed[] = {
	{ SNAP_SEC_VCPU_REGS, KVM_GET_REGS, KVM_SET_REGS, sizeof(struct kvm_regs) },
	{ SNAP_SEC_VCPU_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs) },
	{ SNAP_SEC_VCPU_XSAVE, KVM_GET_XSAVE, KVM_SET_XSAVE, sizeof(struct kvm_xsave) },
	{ SNAP_SEC_VCPU_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs) },
	{ SNAP_SEC_VCPU_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs) },
	{ SNAP_SEC_VCPU_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state) },
	{ SNAP_SEC_VCPU_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state) },
	{ SNAP_SEC_VCPU_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events) },
};

static int vcpu_fail(char *err, size_t errlen, unsigned index, uint32_t type, const char *what)
{
	int r = -errno;

	snprintf(err, errlen, "vCPU %u: %s %s: %s", index, what, snap_section_name(type), strerror(errno));
	return r ? r : -EIO;
}

/* The MSRs KVM can save (KVM_GET_MSR_INDEX_LIST); the ones KVM then cannot
 * read on this vCPU are left out one by one (KVM_GET_MSRS stops at the
 * first it refuses and returns how many it read). */
static int vcpu_save_msrs(int kvm_fd, int fd, unsigned index, struct snap_writer *w, char *err, size_t errlen)
{
	_cleanup_free_ struct kvm_msr_list *list = calloc(1, sizeof(*list) + SNAP_MAX_MSRS * sizeof(uint32_t));
	_cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof(*m) + SNAP_MAX_MSRS * sizeof(m->entries[0]));

	if (!list || !m)
		return -ENOMEM;
	list->nmsrs = SNAP_MAX_MSRS;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0)
		return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_MSRS, "KVM_GET_MSR_INDEX_LIST for");
	for (uint32_t i = 0; i < list->nmsrs; i++)
		m->entries[i].index = list->indices[i];
	m->nmsrs = list->nmsrs;
	for (;;) {
		int r = m->nmsrs ? ioctl(fd, KVM_GET_MSRS, m) : 0;

		if (r < 0)
			return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_MSRS, "KVM_GET_MSRS for");
		if ((uint32_t)r >= m->nmsrs)
			break;
		/* entry r cannot be read here: leave it out and read again */
		memmove(&m->entries[r], &m->entries[r + 1], (m->nmsrs - (uint32_t)r - 1) * sizeof(m->entries[0]));
		m->nmsrs--;
	}
	snap_put(w, SNAP_SEC_VCPU_MSRS, index, m->entries, (size_t)m->nmsrs * sizeof(m->entries[0]));
	return 0;
}

static int vcpu_save_cpuid(int fd, unsigned index, struct snap_writer *w, char *err, size_t errlen)
{
	_cleanup_free_ struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + SNAP_MAX_CPUID * sizeof(c->entries[0]));

	if (!c)
		return -ENOMEM;
	c->nent = SNAP_MAX_CPUID;
	if (ioctl(fd, KVM_GET_CPUID2, c) < 0)
		return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_CPUID, "KVM_GET_CPUID2 for");
	snap_put(w, SNAP_SEC_VCPU_CPUID, index, c->entries, (size_t)c->nent * sizeof(c->entries[0]));
	return 0;
}

int snap_vcpu_save(int kvm_fd, int fd, unsigned index, struct snap_writer *w, char *err, size_t errlen)
{
	uint8_t buf[sizeof(struct kvm_xsave)]; /* the largest of vcpu_fixed */
	uint32_t khz;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(vcpu_fixed); i++) {
		memset(buf, 0, sizeof(buf));
		if (ioctl(fd, vcpu_fixed[i].get, buf) < 0)
			return vcpu_fail(err, errlen, index, vcpu_fixed[i].type, "cannot read");
		snap_put(w, vcpu_fixed[i].type, index, buf, vcpu_fixed[i].size);
	}
	r = vcpu_save_msrs(kvm_fd, fd, index, w, err, errlen);
	if (r >= 0)
		r = vcpu_save_cpuid(fd, index, w, err, errlen);
	if (r < 0)
		return r;
	r = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	if (r < 0)
		return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_TSC_KHZ, "cannot read");
	khz = (uint32_t)r;
	snap_put(w, SNAP_SEC_VCPU_TSC_KHZ, index, &khz, sizeof(khz));
	return 0;
}

/* ---- restoring ---- */

static const struct snap_section *vcpu_section(const struct snap_file *f, uint32_t type, unsigned index,
					       size_t size, size_t unit, char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, type, index);

	if (!s)
		snprintf(err, errlen, "vCPU %u: no %s section", index, snap_section_name(type));
	else if (size ? s->len != size : s->len % unit != 0)
		snprintf(err, errlen, "vCPU %u: %s section of %" PRIu32 " bytes, expected %zu%s", index,
			 snap_section_name(type), s->len, size ? size : unit, size ? "" : " per entry");
	else
		return s;
	return NULL;
}

static int vcpu_set_fixed(int fd, unsigned index, const struct snap_file *f, size_t i, char *err, size_t errlen)
{
	uint8_t buf[sizeof(struct kvm_xsave)];
	const struct snap_section *s = vcpu_section(f, vcpu_fixed[i].type, index, vcpu_fixed[i].size, 0, err, errlen);

	if (!s)
		return -EINVAL;
	memcpy(buf, s->data, s->len);
	if (ioctl(fd, vcpu_fixed[i].set, buf) < 0)
		return vcpu_fail(err, errlen, index, vcpu_fixed[i].type, "KVM refused");
	return 0;
}

static int vcpu_set_cpuid(int fd, unsigned index, const struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_section *s = vcpu_section(f, SNAP_SEC_VCPU_CPUID, index, 0,
						    sizeof(struct kvm_cpuid_entry2), err, errlen);
	_cleanup_free_ struct kvm_cpuid2 *c = NULL;

	if (!s)
		return -EINVAL;
	c = calloc(1, sizeof(*c) + s->len);
	if (!c)
		return -ENOMEM;
	c->nent = s->len / (uint32_t)sizeof(c->entries[0]);
	memcpy(c->entries, s->data, s->len);
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0)
		return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_CPUID, "KVM refused");
	return 0;
}

static int vcpu_set_msrs(int fd, unsigned index, const struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_section *s = vcpu_section(f, SNAP_SEC_VCPU_MSRS, index, 0, sizeof(struct kvm_msr_entry),
						    err, errlen);
	_cleanup_free_ struct kvm_msrs *m = NULL;
	int r;

	if (!s)
		return -EINVAL;
	m = calloc(1, sizeof(*m) + s->len);
	if (!m)
		return -ENOMEM;
	m->nmsrs = s->len / (uint32_t)sizeof(m->entries[0]);
	memcpy(m->entries, s->data, s->len);
	r = ioctl(fd, KVM_SET_MSRS, m);
	if (r < 0)
		return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_MSRS, "KVM refused");
	if ((uint32_t)r != m->nmsrs) {
		snprintf(err, errlen, "vCPU %u: KVM refused MSR 0x%" PRIx32 " of the snapshot", index,
			 m->entries[r].index);
		return -EINVAL;
	}
	return 0;
}

/* No KVM_CAP_TSC_CONTROL here: a guest saved at another rate would see its
 * clock run at the wrong speed, so that is refused. */
static int vcpu_check_tsc(int fd, unsigned index, const struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_section *s = vcpu_section(f, SNAP_SEC_VCPU_TSC_KHZ, index, sizeof(uint32_t), 0, err,
						    errlen);
	uint32_t saved;
	int now;

	if (!s)
		return -EINVAL;
	memcpy(&saved, s->data, sizeof(saved));
	now = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	if (now < 0)
		return vcpu_fail(err, errlen, index, SNAP_SEC_VCPU_TSC_KHZ, "cannot read");
	if ((uint32_t)now != saved) {
		snprintf(err, errlen, "vCPU %u: the snapshot's TSC frequency is %" PRIu32 " kHz, this host's %d kHz "
			 "(no TSC scaling)", index, saved, now);
		return -EINVAL;
	}
	return 0;
}

int snap_vcpu_restore(int fd, unsigned index, const struct snap_file *f, char *err, size_t errlen)
{
	/* KVM's order: CPUID before anything that depends on features; MP
	 * state, then the registers; the LAPIC before the MSRs (TSC deadline)
	 * and the events last (they may refer to the LAPIC). */
	static const uint32_t order[] = {
		SNAP_SEC_VCPU_MP_STATE, SNAP_SEC_VCPU_REGS, SNAP_SEC_VCPU_SREGS, SNAP_SEC_VCPU_XSAVE,
		SNAP_SEC_VCPU_XCRS, SNAP_SEC_VCPU_DEBUGREGS, SNAP_SEC_VCPU_LAPIC,
	};
	int r = vcpu_check_tsc(fd, index, f, err, errlen);

	if (r >= 0)
		r = vcpu_set_cpuid(fd, index, f, err, errlen);
	for (size_t k = 0; r >= 0 && k < ARRAY_SIZE(order); k++)
		for (size_t i = 0; i < ARRAY_SIZE(vcpu_fixed); i++)
			if (vcpu_fixed[i].type == order[k])
				r = r < 0 ? r : vcpu_set_fixed(fd, index, f, i, err, errlen);
	if (r >= 0)
		r = vcpu_set_msrs(fd, index, f, err, errlen);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(vcpu_fixed); i++)
		if (vcpu_fixed[i].type == SNAP_SEC_VCPU_EVENTS)
			r = vcpu_set_fixed(fd, index, f, i, err, errlen);
	return r;
}

bool snap_cpuid_vendor(const struct snap_file *f, char vendor[13])
{
	const struct snap_section *s = snap_find(f, SNAP_SEC_VCPU_CPUID, 0);
	struct kvm_cpuid_entry2 e;

	for (uint32_t off = 0; s && off + sizeof(e) <= s->len; off += sizeof(e)) {
		memcpy(&e, s->data + off, sizeof(e));
		if (e.function != 0)
			continue;
		memcpy(vendor, &e.ebx, 4);
		memcpy(vendor + 4, &e.edx, 4);
		memcpy(vendor + 8, &e.ecx, 4);
		vendor[12] = 0;
		return true;
	}
	return false;
}
