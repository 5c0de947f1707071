/* The console terminal: raw mode while ember runs, the operator's settings
 * back on every way out.
 *
 * When stdin is a terminal, the guest's serial console is the operator's
 * keyboard: keys must reach the guest as they are typed, not as lines; the
 * guest echoes, not the terminal; and Ctrl-C is the guest's, not a SIGINT
 * for ember (kvmtool's term.c does the same). term_raw_enter() saves the
 * settings and turns off canonical mode, echo, signal keys and CR-to-NL
 * translation of input; output processing stays, so ember's log lines still
 * start at column 0.
 *
 * term_restore() puts the saved settings back. It is one ioctl(TCSETS) on
 * fd 0 and async-signal-safe, so the fatal-signal and SIGSYS handlers call
 * it before _exit; the normal, error and SIGTERM paths call it at teardown.
 * Every seccomp role allows that ioctl on fd 0 for this reason. */
#pragma once

#include <stdbool.h>

/* Raw mode on fd 0 when it is a terminal. Returns 1 when raw mode is on, 0
 * when stdin is no terminal (nothing changed), or -errno. */
int term_raw_enter(void);
/* Whether raw mode is on (the serial console then handles Ctrl-A). */
bool term_is_raw(void);
/* Back to the saved settings, at most once; does nothing when raw mode was
 * never entered. Async-signal-safe. */
void term_restore(void);
