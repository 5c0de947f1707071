/* The scenario registry. A scenario is one file, scenario-<name>.c, that
 * defines `void scenario_<name>(void)` and reports its checks through
 * probe_ok/probe_fail/probe_skip/probe_check. To add one:
 *   1. write test/guest/scenario-<name>.c,
 *   2. declare scenario_<name> below,
 *   3. add one line to the table in scenarios.c,
 *   4. add the file to probe_sources in test/guest/meson.build. */
#pragma once

struct probe_scenario {
	const char *name;
	void (*run)(void);
};

extern const struct probe_scenario probe_scenarios[];
extern const unsigned probe_nr_scenarios;

void scenario_boot(void);
void scenario_triplefault(void);
void scenario_blk(void);
void scenario_hostile_blk(void);
void scenario_blk_resize(void);
void scenario_blk_large(void);
void scenario_wait(void);
void scenario_snapshot(void);
void scenario_snapshot_dirty(void);
void scenario_blk_hog(void);
void scenario_vsock(void);
void scenario_hostile_vsock(void);
void scenario_net(void);
void scenario_hostile_net(void);
void scenario_mmds(void);
void scenario_cpuid(void);
void scenario_smp(void);
void scenario_acpi(void);
void scenario_touch(void);
void scenario_pmem(void);
void scenario_rng(void);
void scenario_serial_flood(void);
void scenario_serial_input(void);
void scenario_balloon(void);
void scenario_balloon_report(void);
void scenario_balloon_hint(void);
void scenario_genid(void);
