/* Boot scenario, CPUID: what the VMM set in the leaves KVM passes through.
 *
 * Under PVM KVM (design.md §4) leaves 1 and 7 are overwritten with host
 * values whatever KVM_SET_CPUID2 said, so checks of those skip there. Leaf 0,
 * the hypervisor leaves and the extended leaves are honoured everywhere. */
#include "boot-checks.h"
#include "probe.h"

#define HV_LEAF 0x40000000u
#define EXT_LEAF 0x80000000u

static void cpuid_string(uint32_t a, uint32_t b, uint32_t c, char out[13])
{
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	out[12] = '\0';
}

static bool param_equals(const char *key, const char *s, bool *ret_given)
{
	size_t len;
	const char *v = probe_param(key, &len);

	*ret_given = v != NULL;
	return v && len == strlen(s) && memcmp(v, s, len) == 0;
}

static void cpuid_vendor(void)
{
	uint32_t r[4];
	char vendor[13];
	bool given, same;

	cpuid(0, 0, r);
	cpuid_string(r[1], r[3], r[2], vendor);
	probe_info("cpu_vendor", "%s", vendor);
	same = param_equals("probe.cpu_vendor", vendor, &given);
	if (given)
		probe_check("boot.cpuid.vendor", same, "leaf 0 vendor is %s, the host's is different", vendor);
	else
		probe_check("boot.cpuid.vendor",
			    memcmp(vendor, "GenuineIntel", 12) == 0 || memcmp(vendor, "AuthenticAMD", 12) == 0,
			    "leaf 0 vendor %s is neither GenuineIntel nor AuthenticAMD", vendor);
}

static void cpuid_hypervisor(void)
{
	uint32_t r[4];
	char sig[13];
	bool given, same;

	cpuid(HV_LEAF, 0, r);
	cpuid_string(r[1], r[2], r[3], sig);
	probe_info("hv_sig", "%s", sig);
	if (!probe_check("boot.cpuid.hv-leaves", r[0] >= HV_LEAF && r[0] < HV_LEAF + 0x100,
			 "leaf 0x40000000 reports max leaf 0x%x", r[0]))
		return;
	same = param_equals("probe.hv_sig", sig, &given);
	if (given)
		probe_check("boot.cpuid.hv-sig", same, "hypervisor signature is \"%s\", not the expected one", sig);
	else
		probe_check("boot.cpuid.hv-sig", sig[0] != '\0', "the hypervisor signature is empty");
}

static void cpuid_leaf1(void)
{
	uint32_t r[4];
	uint64_t vcpus;

	if (probe_is_pvm()) {
		probe_skip("boot.cpuid.leaf1", "PVM KVM overwrites leaf 1 with host values");
		return;
	}
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 31)))
		probe_fail("boot.cpuid.leaf1", "the hypervisor bit (ECX[31]) is clear");
	else if ((r[1] >> 24) != 0)
		probe_fail("boot.cpuid.leaf1", "the boot CPU's initial APIC id is %u, not 0", r[1] >> 24);
	else if (probe_param_u64("probe.vcpus", &vcpus))
		probe_check("boot.cpuid.leaf1", ((r[1] >> 16) & 0xff) == vcpus,
			    "EBX[23:16] reports %u logical CPUs, vcpu_count is %lu", (r[1] >> 16) & 0xff, vcpus);
	else
		probe_ok("boot.cpuid.leaf1");
}

/* The VMM's topology: Intel's extended topology leaf 0xb (level 1 counts
 * every vCPU, EDX is the x2APIC id), AMD's core count in 0x80000008. */
static void cpuid_topology(void)
{
	uint32_t r[4], max;
	uint64_t vcpus;
	char vendor[13];

	if (!probe_param_u64("probe.vcpus", &vcpus)) {
		probe_skip("boot.cpuid.topology", "no probe.vcpus=N on the command line");
		return;
	}
	cpuid(0, 0, r);
	max = r[0];
	cpuid_string(r[1], r[3], r[2], vendor);
	if (memcmp(vendor, "AuthenticAMD", 12) == 0) {
		cpuid(EXT_LEAF + 8, 0, r);
		probe_check("boot.cpuid.topology", (r[2] & 0xff) + 1 == vcpus,
			    "0x80000008 ECX[7:0] says %u cores, vcpu_count is %lu", (r[2] & 0xff) + 1, vcpus);
		return;
	}
	if (max < 0xb) {
		probe_skip("boot.cpuid.topology", "max basic leaf 0x%x has no leaf 0xb", max);
		return;
	}
	cpuid(0xb, 1, r);
	if (r[3] != 0)
		probe_fail("boot.cpuid.topology", "leaf 0xb gives the boot CPU x2APIC id %u, not 0", r[3]);
	else
		probe_check("boot.cpuid.topology", (r[1] & 0xffff) == vcpus,
			    "leaf 0xb level 1 counts %u CPUs, vcpu_count is %lu", r[1] & 0xffff, vcpus);
}

static void cpuid_leaf7(void)
{
	uint32_t r[4];

	if (probe_is_pvm()) {
		probe_skip("boot.cpuid.leaf7", "PVM KVM overwrites leaf 7 with host values");
		return;
	}
	cpuid(0, 0, r);
	if (!probe_check("boot.cpuid.leaf7", r[0] >= 7, "max basic leaf is %u: leaf 7 is missing", r[0]))
		return;
}

static void cpuid_extended(void)
{
	uint32_t r[4];

	cpuid(EXT_LEAF, 0, r);
	if (r[0] < EXT_LEAF + 1) {
		probe_fail("boot.cpuid.extended", "max extended leaf is 0x%x", r[0]);
		return;
	}
	cpuid(EXT_LEAF + 1, 0, r);
	probe_check("boot.cpuid.extended", r[3] & (1u << 29), "leaf 0x80000001 does not report long mode (EDX[29])");
}

/* The timing leaf ember fills from KVM_GET_TSC_KHZ: every `*_ms` probe
 * parameter is measured with it, so it must be there and plausible. */
static void cpuid_tsc_khz(void)
{
	uint32_t khz = probe_tsc_khz();

	probe_info("tsc_khz", "%u", khz);
	probe_check("boot.tsc_khz", khz >= 100000 && khz <= 10000000,
		    "CPUID 0x40000010 EAX gives a TSC rate of %u kHz: absent, or outside 100 MHz-10 GHz", khz);
}

void boot_cpuid(void)
{
	cpuid_vendor();
	cpuid_hypervisor();
	cpuid_leaf1();
	cpuid_leaf7();
	cpuid_topology();
	cpuid_extended();
	cpuid_tsc_khz();
}
