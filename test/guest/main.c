/* The probe's main: read the boot information, run the scenarios named by
 * probe=a,b,c in order, print the summary line, then end the VM. */
#include "probe.h"
#include "scenarios.h"

#define I8042_CMD 0x64u
#define I8042_RESET 0xfeu
#define DEBUG_EXIT_PORT 0xf4u
#define SCENARIO_NAME_MAX 32u

void probe_main(const void *info, int kind);

static const struct probe_scenario *probe_find(const char *name, size_t len)
{
	for (unsigned i = 0; i < probe_nr_scenarios; i++)
		if (strlen(probe_scenarios[i].name) == len && memcmp(probe_scenarios[i].name, name, len) == 0)
			return &probe_scenarios[i];
	return NULL;
}

static void probe_run_one(const char *name, size_t len)
{
	const struct probe_scenario *s = probe_find(name, len);
	char shown[SCENARIO_NAME_MAX + 1];

	if (s) {
		s->run();
		return;
	}
	/* The name comes from the command line: print at most a bounded prefix. */
	if (len > SCENARIO_NAME_MAX)
		len = SCENARIO_NAME_MAX;
	memcpy(shown, name, len);
	shown[len] = '\0';
	probe_fail(len ? shown : "(empty)", "unknown scenario");
}

static void probe_run_list(void)
{
	size_t len, i = 0;
	const char *list = probe_param("probe", &len);

	if (!list) {
		probe_info("scenarios", "no probe= on the command line, running boot");
		scenario_boot();
		return;
	}
	while (i <= len) {
		size_t start = i;

		while (i < len && list[i] != ',')
			i++;
		probe_run_one(list + start, i - start);
		i++;
	}
}

/* i8042 reset ends the VM under ember (and on real hardware); QEMU microvm
 * has no i8042, so isa-debug-exit follows. Its exit status is (v << 1) | 1. */
static void __attribute__((noreturn)) probe_end(void)
{
	outb(I8042_CMD, I8042_RESET);
	outb(DEBUG_EXIT_PORT, probe_failed() ? 1 : 0);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void probe_main(const void *info, int kind)
{
	char done[64];
	int n;

	probe_boot_init(info, kind);
	probe_info("entry", "%s", probe_boot.pvh ? "pvh" : "linux-64");
	probe_run_list();
	n = probe_fmt(done, sizeof(done), "PROBE DONE pass=%u fail=%u\n", probe_passed(), probe_failed());
	uart_write(done, (size_t)n);
	probe_end();
}
