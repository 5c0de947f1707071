/* ember's command line: Firecracker's flags, parser rules and messages.
 *
 * cli_parse() takes argv into a struct cli (present/value per flag) and
 * refuses what Firecracker's arg parser refuses; cli_validate() checks the
 * values (ids, sizes, timeouts, flag combinations). Both print the error
 * and return EXIT_CODE_ARG_PARSING, or 0. */
#pragma once

#include <stdbool.h>

enum cli_arg {
	ARG_CONFIG_FILE, ARG_NO_API, ARG_ID, ARG_LOG_PATH, ARG_LEVEL, ARG_SHOW_LEVEL, ARG_SHOW_LOG_ORIGIN,
	ARG_BOOT_TIMER, ARG_START_TIME_US, ARG_START_TIME_CPU_US, ARG_PARENT_CPU_TIME_US, ARG_VERSION, ARG_HELP,
	ARG_API_SOCK, ARG_METADATA, ARG_SECCOMP_FILTER, ARG_NO_SECCOMP, ARG_METRICS_PATH, ARG_MMDS_SIZE_LIMIT,
	ARG_HTTP_API_MAX_PAYLOAD_SIZE, ARG_HTTP_API_REQUEST_TIMEOUT_S, ARG_HTTP_API_IDLE_TIMEOUT_S, ARG_MODULE, ARG_ENABLE_PCI, ARG_SNAPSHOT_VERSION, ARG_DESCRIBE_SNAPSHOT,
	ARG_DUMP_ACPI,
	ARG_COUNT
};

struct cli {
	bool present[ARG_COUNT];
	const char *value[ARG_COUNT];
};

int cli_parse(int argc, char **argv, struct cli *cli);
void cli_help(void);
int cli_validate(const struct cli *cli);
