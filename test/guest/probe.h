/* The probe guest's runtime: port I/O, MMIO, output lines, command-line
 * parameters and the boot information, whichever way the probe was entered.
 *
 * The probe is freestanding: no libc, no interrupts, no exceptions. Every
 * check prints exactly one line on the 8250 at 0x3f8:
 *   PROBE <name> ok | PROBE <name> FAIL <why> | PROBE <name> skip <why>
 * and free-form facts for the host tests as `PROBE-INFO <key> <text>`. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_CMDLINE_MAX 2048u
#define PROBE_MEM_MAX 128u

/* E820 / PVH memory map types (they share their numbering). */
#define PROBE_MEM_RAM 1u
#define PROBE_MEM_RESERVED 2u

struct probe_mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* What the loader handed over, normalised. zero_page is NULL under PVH. */
struct probe_boot {
	bool pvh;
	const void *zero_page;
	uint64_t cmdline_addr; /* guest physical address the loader pointed at, 0 if none */
	char cmdline[PROBE_CMDLINE_MAX + 1];
	bool cmdline_terminated; /* a NUL was found within PROBE_CMDLINE_MAX bytes */
	struct probe_mem_range mem[PROBE_MEM_MAX];
	unsigned nr_mem;
	bool have_mem; /* false when the boot ABI carried no memory map (PVH v0) */
};

extern struct probe_boot probe_boot;

/* Filled from the zero page (kind PROBE_BOOT_ZERO_PAGE) or hvm_start_info. */
void probe_boot_init(const void *info, int kind);

/* Command line "key=value" lookup: a pointer into probe_boot.cmdline and the
 * value's length, or NULL when the key is absent. */
const char *probe_param(const char *key, size_t *ret_len);
/* The n-th (from 0) value of a key given several times (probe.mmds_get=). */
const char *probe_param_nth(const char *key, unsigned n, size_t *ret_len);
bool probe_param_u64(const char *key, uint64_t *ret);
bool probe_param_is(const char *key, const char *value);
/* Whether the test told the probe it runs under PVM KVM (probe.pvm=1). */
bool probe_is_pvm(void);

/* Results. The name is "<scenario>.<check>", no spaces. */
void probe_ok(const char *name);
void probe_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void probe_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ok when cond holds, else FAIL with the formatted reason; returns cond. */
bool probe_check(const char *name, bool cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void probe_info(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
unsigned probe_passed(void);
unsigned probe_failed(void);

/* Output: the 8250 at 0x3f8, polled (LSR.THRE before every byte). */
void uart_write(const char *s, size_t len);
int probe_vfmt(char *buf, size_t len, const char *fmt, va_list ap);
int probe_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The few libc functions the compiler may call and the probe uses. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)(uintptr_t)addr = v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Time (time.c). probe_tsc_khz() is CPUID leaf 0x40000010 EAX, 0 when the
 * hypervisor leaves do not reach it. A deadline is a TSC value ms from now;
 * every `*_ms` probe parameter is waited for this way. */
uint32_t probe_tsc_khz(void);
uint64_t probe_deadline_ms(uint64_t ms);
bool probe_deadline_passed(uint64_t deadline);
void probe_sleep_ms(uint64_t ms);

/* Interrupt delivery (irq.c), with IF=0 throughout: routes IOAPIC pin irq to
 * a fresh vector on the boot CPU, edge-triggered, and checks that trigger()
 * leaves the LAPIC IRR bit clear while the pin is masked and sets it once
 * unmasked (within probe.irq_ms, default 1000). Prints one line for name;
 * returns whether it passed. trigger() must make the device raise the pin. */
bool probe_irq_check(const char *name, unsigned irq, void (*trigger)(void));

/* Routes IOAPIC pin irq unmasked, edge-triggered, to a vector of the boot
 * CPU that no check used and whose IRR bit is clear: the vector, or 0 when
 * none is left or irq is out of range. */
unsigned probe_irq_route(unsigned irq);
/* Whether vector's bit is set in the boot CPU's LAPIC IRR within ms. */
bool probe_irq_pending(unsigned vector, uint64_t ms);

/* The DSDT as Linux finds it (scenario-acpi.c: the RSDP scan, the XSDT,
 * the FADT's X_DSDT, every checksum), or NULL with why. */
const uint8_t *probe_acpi_dsdt(char *why, size_t whylen);

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
