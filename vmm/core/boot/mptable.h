/* The Intel MultiProcessor Specification 1.4 table at LAYOUT_EBDA: one
 * processor entry per vCPU (APIC id = vCPU index, vCPU 0 the BSP), one ISA
 * bus, the IOAPIC (id vcpu_count + 1) with its 24 pins routed 1:1 from ISA
 * IRQs, and LINT0 = ExtINT, LINT1 = NMI, as Firecracker describes them. Linux
 * finds it by scanning the EBDA for "_MP_" when there are no ACPI tables. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS 32u
#define MPTABLE_IOAPIC_PINS 24u
/* The IOAPIC's ID: after the vCPUs' local APIC IDs 0..vcpu_count-1, so that
 * none collide (the split irqchip's IOAPIC reports the same). */
#define MPTABLE_IOAPIC_ID(vcpu_count) ((uint8_t)((vcpu_count) + 1))

struct guest_memory;

/* Builds the table for vcpu_count CPUs into buf (at least MPTABLE_MAX_SIZE
 * bytes), laid out for guest address base. Returns its size in bytes or
 * -EINVAL for a CPU count outside 1..MPTABLE_MAX_CPUS. */
int mptable_build(unsigned vcpu_count, uint64_t base, uint8_t *buf, size_t buflen);
/* Builds and writes the table at LAYOUT_EBDA. 0 or -errno (-E2BIG when it
 * would overrun the EBDA into the legacy hole). */
int mptable_write(const struct guest_memory *mem, unsigned vcpu_count);

/* The 8-bit two's-complement checksum rule of MP spec §4: all bytes sum to 0. */
uint8_t mptable_checksum(const uint8_t *p, size_t len);

#define MPTABLE_MAX_SIZE 1024u
