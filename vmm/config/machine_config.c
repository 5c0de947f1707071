#include "machine_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/layout.h"
#include "json_field.h"

static const char *const machine_config_fields[] = {
	"vcpu_count", "mem_size_mib", "smt", "cpu_template", "track_dirty_pages", "huge_pages", "irqchip", "pit", NULL,
};

static int machine_config_error(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, MACHINE_CONFIG_ERR_PREFIX "%s", what);
	return -EINVAL;
}

/* cpu_template: one of Firecracker's x86 static templates or "None" (which
 * clears any template). Absent keeps the current one, in PUT too, as
 * Firecracker's MachineConfig::update does. */
static int machine_config_template(const json_t *j, struct machine_config *mc, char *err, size_t errlen)
{
	int v = 0, r = json_field_enum(j, "cpu_template", false, cpu_template_serde_order, &v, err, errlen);

	if (r > 0)
		mc->cpu_template = cpu_template_serde_value[v];
	return r < 0 ? r : 0;
}

const char *const huge_pages_names[] = { "None", "2M", "Transparent", NULL };

/* huge_pages: absent keeps the current value in PATCH and is "None" in PUT
 * (mc starts from the defaults there). */
static int machine_config_huge_pages(const json_t *j, struct machine_config *mc, char *err, size_t errlen)
{
	int v = (int)mc->huge_pages, r = json_field_enum(j, "huge_pages", false, huge_pages_names, &v, err, errlen);

	if (r > 0)
		mc->huge_pages = (enum huge_pages)v;
	return r < 0 ? r : 0;
}

/* ember's own fields, beside Firecracker's: which irqchip models the
 * interrupt controllers (doc/irqchip.md). */
static int machine_config_irqchip_read(const json_t *j, struct machine_config *mc, char *err, size_t errlen)
{
	static const char *const modes[] = { "kernel", "split", NULL };
	int v = (int)mc->irqchip, r = json_field_enum(j, "irqchip", false, modes, &v, err, errlen);

	if (r > 0)
		mc->irqchip = v == 1 ? IRQCHIP_SPLIT : IRQCHIP_KERNEL;
	return r < 0 ? r : 0;
}

static int machine_config_fields_read(const json_t *j, bool patch, struct machine_config *mc, char *err,
				      size_t errlen)
{
	uint64_t vcpus = mc->vcpu_count, mem = mc->mem_size_mib;
	int r, present;

	r = json_field_uint(j, "vcpu_count", !patch, UINT8_MAX, "u8", &vcpus, err, errlen);
	if (r >= 0)
		r = json_field_uint(j, "mem_size_mib", !patch, UINT64_MAX, "usize", &mem, err, errlen);
	if (r >= 0)
		r = json_field_bool(j, "smt", false, &mc->smt, err, errlen);
	if (r >= 0)
		r = json_field_bool(j, "track_dirty_pages", false, &mc->track_dirty_pages, err, errlen);
	if (r >= 0)
		r = machine_config_template(j, mc, err, errlen);
	if (r >= 0)
		r = machine_config_huge_pages(j, mc, err, errlen);
	if (r >= 0)
		r = machine_config_irqchip_read(j, mc, err, errlen);
	if (r < 0)
		return r;
	present = json_field_bool(j, "pit", false, &mc->pit, err, errlen);
	if (present < 0)
		return present;
	mc->pit_set |= present > 0;
	mc->vcpu_count = (uint8_t)vcpus;
	mc->mem_size_mib = mem;
	return 0;
}

static int machine_config_validate(const struct machine_config *mc, char *err, size_t errlen)
{
	if (mc->vcpu_count == 0 || mc->vcpu_count > VM_CONFIG_MAX_VCPUS ||
	    (mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2))
		return machine_config_error(err, errlen,
					    "The number of vCPUs must be greater than 0, less than 32 and must be 1 "
					    "or an even number if SMT is enabled.");
	/* Both huge page kinds map RAM in 2 MiB units (Transparent too: its
	 * mapping is 2 MiB aligned so that every page can become a THP). */
	if (mc->mem_size_mib == 0 || (mc->huge_pages != HUGE_PAGES_NONE && mc->mem_size_mib % 2))
		return machine_config_error(err, errlen,
					    "The memory size (MiB) is either 0, or not a multiple of the configured "
					    "page size.");
	if (mc->mem_size_mib > LAYOUT_MAX_RAM_MIB) {
		snprintf(err, errlen, MACHINE_CONFIG_ERR_PREFIX "The memory size (MiB) exceeds this build's limit "
			 "of %llu MiB.", (unsigned long long)LAYOUT_MAX_RAM_MIB);
		return -EINVAL;
	}
	/* KVM's PIT raises its IRQ 0 on the in-kernel PIC and IOAPIC; with the
	 * split set neither is in KVM, so its ticks would go nowhere. */
	if (mc->irqchip == IRQCHIP_SPLIT && machine_config_pit(mc))
		return machine_config_error(err, errlen, "an in-kernel PIT needs irqchip \"kernel\".");
	return 0;
}

int machine_config_parse(const json_t *j, bool patch, struct machine_config *inout, char *err, size_t errlen)
{
	struct machine_config mc = patch ? *inout : MACHINE_CONFIG_DEFAULT;
	int r = json_field_check_object(j, "MachineConfig", machine_config_fields, err, errlen);

	if (r < 0)
		return r;
	mc.cpu_template = inout->cpu_template;
	if (patch && json_object_size(j) == 0) {
		snprintf(err, errlen, "Empty PATCH request.");
		return -EINVAL;
	}
	r = machine_config_fields_read(j, patch, &mc, err, errlen);
	if (r < 0)
		return r;
	r = machine_config_validate(&mc, err, errlen);
	if (r < 0)
		return r;
	*inout = mc;
	return 0;
}

/* cpu_template is shown only when a static template is set, as Firecracker
 * skips its None (a custom template is not shown here either); the keys are
 * in the order of Firecracker's MachineConfig. ember's irqchip and pit come
 * last and only away from their defaults, so that a default VM shows
 * Firecracker's shape; what is shown, PUT back, gives the same VM. */
json_t *machine_config_to_json(const struct machine_config *mc)
{
	json_t *o = json_pack("{s:i, s:I, s:b}", "vcpu_count", (int)mc->vcpu_count, "mem_size_mib",
			      (json_int_t)mc->mem_size_mib, "smt", mc->smt);
	bool pit = machine_config_pit(mc);
	int r = o ? 0 : -1;

	if (r == 0 && mc->cpu_template != CPU_TEMPLATE_NONE)
		r = json_object_set_new(o, "cpu_template", json_string(cpu_template_names[mc->cpu_template]));
	if (r == 0)
		r = json_object_set_new(o, "track_dirty_pages", json_boolean(mc->track_dirty_pages));
	if (r == 0)
		r = json_object_set_new(o, "huge_pages", json_string(huge_pages_names[mc->huge_pages]));
	if (r == 0 && mc->irqchip != IRQCHIP_KERNEL)
		r = json_object_set_new(o, "irqchip", json_string("split"));
	if (r == 0 && pit != (mc->irqchip == IRQCHIP_KERNEL))
		r = json_object_set_new(o, "pit", json_boolean(pit));
	if (r < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
