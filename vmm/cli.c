/* See cli.h. */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/server.h"
#include "ember-config.h"
#include "exit_code.h"
#include "id.h"
#include "parse.h"
#include "ready.h"

static const struct cli_flag {
	const char *name;
	bool takes_value;
	/* non-NULL: the capability is not in this build; one row per flag, each
	 * removed when its capability lands. */
	const char *absent;
	const char *help;
} cli_flags[ARG_COUNT] = {
	[ARG_CONFIG_FILE] = { "config-file", true, NULL, "Path to a JSON file describing the microVM; it boots at once." },
	[ARG_NO_API] = { "no-api", false, NULL, "Run without the HTTP API (requires --config-file)." },
	[ARG_ID] = { "id", true, NULL, "MicroVM unique identifier (1-64 characters: alphanumeric or '-')." },
	[ARG_LOG_PATH] = { "log-path", true, NULL, "Path to a file or FIFO for the log (default: stdout)." },
	[ARG_LEVEL] = { "level", true, NULL, "Log level: Error, Warning, Info, Debug, Trace or Off." },
	[ARG_SHOW_LEVEL] = { "show-level", false, NULL, "Print the level of each log line." },
	[ARG_SHOW_LOG_ORIGIN] = { "show-log-origin", false, NULL, "Print the source file and line of each log line." },
	[ARG_BOOT_TIMER] = { "boot-timer", false, NULL, "Add the boot-timer device (the guest writes 123 to log its boot time)." },
	[ARG_START_TIME_US] = { "start-time-us", true, NULL, "Process start time, CLOCK_MONOTONIC us (set by the jailer)." },
	[ARG_START_TIME_CPU_US] = { "start-time-cpu-us", true, NULL, "Process start CPU time, us (set by the jailer)." },
	[ARG_PARENT_CPU_TIME_US] = { "parent-cpu-time-us", true, NULL, "Parent process CPU time, us (set by the jailer)." },
	[ARG_VERSION] = { "version", false, NULL, "Print the version and exit." },
	[ARG_HELP] = { "help", false, NULL, "Print this help and exit." },
	[ARG_API_SOCK] = { "api-sock", true, NULL, "Path to the unix socket of the HTTP API (default: " API_DEFAULT_SOCKET ")." },
	[ARG_METADATA] = { "metadata", true, NULL, "Path to a JSON file loaded into the MMDS data store." },
	[ARG_SECCOMP_FILTER] = { "seccomp-filter", true, NULL, "Seccomp policy to use instead of the built-in one: a YAML policy or a bundle from `ember-seccomp compile`." },
	[ARG_NO_SECCOMP] = { "no-seccomp", false, NULL, "Install no seccomp filter (logged)." },
	[ARG_METRICS_PATH] = { "metrics-path", true, NULL, "Path to a file or FIFO for the metrics lines." },
	[ARG_MMDS_SIZE_LIMIT] = { "mmds-size-limit", true, NULL, "Largest MMDS data store, in bytes of compact JSON (default: the payload limit)." },
	[ARG_HTTP_API_MAX_PAYLOAD_SIZE] = { "http-api-max-payload-size", true, NULL, "Largest HTTP API request body, in bytes (default: 51200)." },
	[ARG_HTTP_API_REQUEST_TIMEOUT_S] = { "http-api-request-timeout-s", true, NULL, "Seconds an API request may take to arrive, from its first byte (1-86400; default: 10)." },
	[ARG_HTTP_API_IDLE_TIMEOUT_S] = { "http-api-idle-timeout-s", true, NULL, "Seconds an idle API connection is kept (0 = no limit, up to 86400; default: 120)." },
	[ARG_MODULE] = { "module", true, "log filtering by module", NULL },
	[ARG_ENABLE_PCI] = { "enable-pci", false, "the virtio-pci transport", NULL },
	[ARG_SNAPSHOT_VERSION] = { "snapshot-version", false, NULL, "Print the version of the snapshot state files this build writes and exit." },
	[ARG_DESCRIBE_SNAPSHOT] = { "describe-snapshot", true, NULL, "Print the version of the snapshot state file at the given path and exit." },
};

_printf_(1, 2) static int cli_fail(const char *fmt, ...)
{
	char msg[512] = "Arguments parsing error: ";
	size_t n = strlen(msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s", msg);
	ready_note(msg);
	fprintf(stderr, "\n\nFor more information try --help.\n");
	return EXIT_CODE_ARG_PARSING;
}

static int cli_find(const char *name)
{
	for (int i = 0; i < ARG_COUNT; i++)
		if (strcmp(cli_flags[i].name, name) == 0)
			return i;
	return -1;
}

/* Firecracker's arg-parser rules and messages: --name [value]; a value may
 * not start with "--"; no flag twice. Returns 0 or EXIT_CODE_ARG_PARSING. */
int cli_parse(int argc, char **argv, struct cli *cli)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *name = strncmp(arg, "--", 2) == 0 ? arg + 2 : arg;
		int f = arg == name ? -1 : cli_find(name);

		if (f < 0)
			return cli_fail("Found argument '%s' which wasn't expected, or isn't valid in this context.",
					name);
		if (cli->present[f])
			return cli_fail("The argument '%s' was provided more than once.", name);
		cli->present[f] = true;
		if (!cli_flags[f].takes_value)
			continue;
		if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
			return cli_fail("The argument '%s' requires a value, but none was supplied.", name);
		cli->value[f] = argv[++i];
	}
	return 0;
}

void cli_help(void)
{
	printf("ember v%s: a Firecracker-compatible microVM monitor.\n\nUsage: ember [OPTIONS]\n\n", EMBER_VERSION);
	for (int i = 0; i < ARG_COUNT; i++) {
		char left[48];

		if (cli_flags[i].absent)
			continue;
		snprintf(left, sizeof(left), "--%s%s", cli_flags[i].name, cli_flags[i].takes_value ? " <value>" : "");
		printf("  %-28s %s\n", left, cli_flags[i].help);
	}
	printf("\nThis build does not provide yet:");
	for (int i = 0; i < ARG_COUNT; i++)
		if (cli_flags[i].absent)
			printf(" --%s", cli_flags[i].name);
	printf("\n");
}

/* Firecracker's instance-id rule (common/id.h, shared with the jailer). */
static bool cli_id_valid(const char *id)
{
	size_t pos;

	return id_instance_check(id, &pos) == 0;
}

/* --http-api-max-payload-size and --mmds-size-limit: decimal byte counts > 0. */
static int cli_validate_sizes(const struct cli *cli)
{
	static const enum cli_arg sizes[] = { ARG_HTTP_API_MAX_PAYLOAD_SIZE, ARG_MMDS_SIZE_LIMIT };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (cli->present[sizes[i]] &&
		    (parse_u64(cli->value[sizes[i]], false, SIZE_MAX / 2, &v) < 0 || v == 0)) {
			fprintf(stderr, "Arguments parsing error: --%s: '%s' is not a positive decimal number of bytes.\n",
				cli_flags[sizes[i]].name, cli->value[sizes[i]]);
			return -EINVAL;
		}
	}
	return 0;
}

/* --http-api-request-timeout-s (1..86400) and --http-api-idle-timeout-s
 * (0..86400, 0 = never): whole seconds. */
static int cli_validate_timeouts(const struct cli *cli)
{
	static const struct {
		enum cli_arg arg;
		uint64_t min;
	} timeouts[] = { { ARG_HTTP_API_REQUEST_TIMEOUT_S, 1 }, { ARG_HTTP_API_IDLE_TIMEOUT_S, 0 } };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++) {
		enum cli_arg a = timeouts[i].arg;

		if (cli->present[a] && (parse_u64(cli->value[a], false, API_MAX_TIMEOUT_S, &v) < 0 || v < timeouts[i].min)) {
			fprintf(stderr, "Arguments parsing error: --%s: '%s' is not a decimal number of seconds from %" PRIu64
					" to %d.\n", cli_flags[a].name, cli->value[a], timeouts[i].min, API_MAX_TIMEOUT_S);
			return -EINVAL;
		}
	}
	return 0;
}

/* Checks what the parser cannot: absent capabilities, required pairs, values. */
int cli_validate(const struct cli *cli)
{
	static const enum cli_arg times[] = { ARG_START_TIME_US, ARG_START_TIME_CPU_US, ARG_PARENT_CPU_TIME_US };
	uint64_t v;

	for (int i = 0; i < ARG_COUNT; i++) {
		if (cli->present[i] && cli_flags[i].absent) {
			fprintf(stderr, "Arguments parsing error: --%s: this build does not provide %s yet.\n",
				cli_flags[i].name, cli_flags[i].absent);
			return EXIT_CODE_ARG_PARSING;
		}
	}
	if (cli->present[ARG_NO_SECCOMP] && cli->present[ARG_SECCOMP_FILTER])
		return cli_fail("Argument '%s' cannot be used together with argument '%s'.", "no-seccomp",
				"seccomp-filter");
	if (cli->present[ARG_NO_API] && !cli->present[ARG_CONFIG_FILE])
		return cli_fail("Argument '%s' required, but not found.", "config-file");
	if (cli_validate_sizes(cli) < 0 || cli_validate_timeouts(cli) < 0)
		return EXIT_CODE_ARG_PARSING;
	if (cli->present[ARG_ID] && !cli_id_valid(cli->value[ARG_ID])) {
		fprintf(stderr, "Arguments parsing error: Invalid instance ID: '%s': it must be 1 to 64 characters, "
				"each alphanumeric or '-'.\n", cli->value[ARG_ID]);
		return EXIT_CODE_ARG_PARSING;
	}
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		if (cli->present[times[i]] && parse_u64(cli->value[times[i]], false, UINT64_MAX, &v) < 0) {
			fprintf(stderr, "Arguments parsing error: --%s: '%s' is not a decimal number of microseconds.\n",
				cli_flags[times[i]].name, cli->value[times[i]]);
			return EXIT_CODE_ARG_PARSING;
		}
	}
	return 0;
}
