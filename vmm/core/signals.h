/* Process-wide signal handling for ember.
 *
 * Fatal signals (SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU, SIGHUP, SIGILL) are logged
 * as Firecracker logs them, run the exit hook (the metrics flush) and end the
 * process with _exit(<Firecracker's code>): after such a signal no state can
 * be trusted, so nothing else is torn down. SIGPIPE is logged and ignored, so
 * a closed log or metrics FIFO reader never kills the VMM. SIGSYS ends it
 * as Firecracker's unexpected error (2) until a seccomp filter is loaded;
 * then the seccomp installer's handler takes it (148 for a real violation).
 *
 * SIGTERM and SIGINT ask for an ordered
 * shutdown: the handler only records the signal and makes
 * signals_shutdown_fd() readable; the vmm loop then stops the vCPUs, flushes
 * the metrics, removes the API socket and exits 0 (vmm/main.c).
 *
 * SIG_VCPU_KICK is the real-time signal that pulls a vCPU thread out of
 * KVM_RUN (see vcpu.h); its handler only sets immediate_exit on the calling
 * thread's kvm_run. */
#pragma once

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "metrics.h"

#define SIG_VCPU_KICK (SIGRTMIN + 0)

/* The metrics group "signals": the handlers count what they caught. */
extern const struct metrics_group signal_metrics_group;

/* Installs the handlers above. Returns 0 or -errno. */
int signals_install(void);

/* The eventfd that becomes readable when a shutdown signal arrives (valid
 * after signals_install(); owned by this module). */
int signals_shutdown_fd(void);
/* Drains that eventfd; returns the last shutdown signal received (0: none),
 * or -errno. */
int signals_shutdown_take(void);

/* Sets the function run once at exit: on a normal exit (vmm_run_exit_hook()
 * from main) and from the fatal-signal handlers, where it must therefore be
 * async-signal-tolerant (write(2) based). NULL clears it. */
void vmm_set_exit_hook(void (*fn)(void));
/* Runs the exit hook at most once per process. */
void vmm_run_exit_hook(void);

/* The vCPU thread registers its kvm_run so that a kick reaching it sets
 * immediate_exit there (NULL on threads that run no vCPU). */
void signals_set_kick_target(volatile uint8_t *immediate_exit);
