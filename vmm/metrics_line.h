/* The groups of the metrics line and their order. */
#pragma once

/* Declares every group in the order of Firecracker's line: the process-wide
 * groups (their owners' counters come with them), the devices' and the
 * vCPUs'. Declared before their owners exist, or in a VM without them, they
 * are written as zeros. 0 or -errno (metrics_declare). */
int metrics_line_declare(void);
