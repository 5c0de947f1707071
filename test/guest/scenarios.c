/* The one table of scenarios, selected by name with probe=a,b,c. */
#include "scenarios.h"

const struct probe_scenario probe_scenarios[] = {
	{ "boot", scenario_boot },
	{ "triplefault", scenario_triplefault },
	{ "blk", scenario_blk },
	{ "hostile-blk", scenario_hostile_blk },
	{ "blk-resize", scenario_blk_resize },
	{ "blk-large", scenario_blk_large },
	{ "wait", scenario_wait },
	{ "snapshot", scenario_snapshot },
	{ "snapshot-dirty", scenario_snapshot_dirty },
	{ "blk-hog", scenario_blk_hog },
	{ "vsock", scenario_vsock },
	{ "hostile-vsock", scenario_hostile_vsock },
	{ "net", scenario_net },
	{ "hostile-net", scenario_hostile_net },
	{ "mmds", scenario_mmds },
	{ "cpuid", scenario_cpuid },
	{ "smp", scenario_smp },
	{ "acpi", scenario_acpi },
	{ "touch", scenario_touch },
	{ "pmem", scenario_pmem },
	{ "rng", scenario_rng },
	{ "serial-flood", scenario_serial_flood },
	{ "serial-input", scenario_serial_input },
	{ "balloon", scenario_balloon },
	{ "balloon-report", scenario_balloon_report },
	{ "balloon-hint", scenario_balloon_hint },
	{ "genid", scenario_genid },
};

const unsigned probe_nr_scenarios = sizeof(probe_scenarios) / sizeof(probe_scenarios[0]);
