/* The probe's output: the 8250 UART at 0x3f8, and the result lines. */
#include "probe.h"

#define COM1 0x3f8u
#define COM1_LSR (COM1 + 5)
#define LSR_THRE 0x20u
/* Bounds the wait for THRE, so a VMM whose LSR never reports an empty
 * holding register cannot hang the probe: it then writes anyway. */
#define UART_SPIN_MAX 100000u
/* A whole command line fits (PROBE-INFO cmdline with 19 devices is about
 * 900 bytes): the host tests compare its virtio_mmio.device= entries. */
#define LINE_MAX (PROBE_CMDLINE_MAX + 64u)

static unsigned passed, failed;

static void uart_putc(char c)
{
	for (unsigned i = 0; i < UART_SPIN_MAX && !(inb(COM1_LSR) & LSR_THRE); i++)
		;
	outb(COM1, (uint8_t)c);
}

void uart_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		uart_putc(s[i]);
}

/* "PROBE <name> <word>[ <formatted reason>]\n" */
static void report_line(const char *prefix, const char *name, const char *word, const char *fmt, va_list ap)
{
	char line[LINE_MAX];
	int n = probe_fmt(line, sizeof(line), "%s %s%s%s", prefix, name, word[0] ? " " : "", word);

	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (fmt) {
		line[n++] = ' ';
		n += probe_vfmt(line + n, sizeof(line) - 1 - (size_t)n, fmt, ap);
		if (n > (int)sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	uart_write(line, (size_t)n);
}

static void report(const char *name, const char *word, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_line("PROBE", name, word, fmt, ap);
	va_end(ap);
}

void probe_ok(const char *name)
{
	passed++;
	report(name, "ok", NULL);
}

void probe_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	failed++;
	va_start(ap, fmt);
	report_line("PROBE", name, "FAIL", fmt, ap);
	va_end(ap);
}

void probe_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_line("PROBE", name, "skip", fmt, ap);
	va_end(ap);
}

bool probe_check(const char *name, bool cond, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		probe_ok(name);
		return true;
	}
	failed++;
	va_start(ap, fmt);
	report_line("PROBE", name, "FAIL", fmt, ap);
	va_end(ap);
	return false;
}

void probe_info(const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_line("PROBE-INFO", key, "", fmt, ap);
	va_end(ap);
}

unsigned probe_passed(void)
{
	return passed;
}

unsigned probe_failed(void)
{
	return failed;
}
