/* ember's process exit codes: Firecracker's FcExitCode, value for value, so
 * that supervisors written for Firecracker read ember's exits the same way
 * (reference §1). */
#pragma once

enum exit_code {
	EXIT_CODE_OK = 0,               /* also a guest reset through the i8042 */
	EXIT_CODE_GENERIC_ERROR = 1,    /* start-up failure, guest triple fault, KVM internal error */
	EXIT_CODE_UNEXPECTED_ERROR = 2,
	EXIT_CODE_BAD_SYSCALL = 148,    /* seccomp SIGSYS */
	EXIT_CODE_SIGBUS = 149,
	EXIT_CODE_SIGSEGV = 150,
	EXIT_CODE_SIGXFSZ = 151,
	EXIT_CODE_BAD_CONFIGURATION = 152,
	EXIT_CODE_ARG_PARSING = 153,
	EXIT_CODE_SIGXCPU = 154,
	EXIT_CODE_SIGPIPE = 155,        /* defined for compatibility; SIGPIPE is only logged */
	EXIT_CODE_SIGHUP = 156,
	EXIT_CODE_SIGILL = 157,
};
