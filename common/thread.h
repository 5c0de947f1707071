/* The names a thread shows to the host (/proc/<pid>/task/<tid>/comm).
 *
 * They are an interface of their own, apart from the name in ember's log
 * lines (log_set_thread_name): engines find ember's threads the way they
 * find Firecracker's. Kata puts each vCPU thread, found by its comm
 * "fc_vcpu N", into the sandbox's cgroup and pins it; the main thread keeps
 * the name it was executed under ("firecracker" when installed so). */
#pragma once

/* Firecracker's comms: "fc_api" and "fc_vcpu N". */
#define THREAD_COMM_API "fc_api"
#define THREAD_COMM_VCPU_FMT "fc_vcpu %u"

/* Sets the calling thread's comm (truncated by the kernel to 15 bytes).
 * Returns 0 or -errno. */
int thread_set_comm(const char *comm);
