/* The state file: what a snapshot keeps besides guest memory.
 *
 *   header   8 bytes magic "EMBRSNAP", version MAJOR.MINOR.PATCH (u16 each),
 *            u16 0, u32 section count, u32 0                    (24 bytes)
 *   sections each: u32 type, u32 instance, u32 length, u32 0, then `length`
 *            bytes of payload
 *   trailer  CRC-64 (ECMA-182, liblzma's lzma_crc64) of every byte before it
 *
 * All integers little-endian. The CRC is checked before anything else is
 * read; then the header, then each section's type, instance and length
 * against the bounds below, so a consumer only ever sees sections whose
 * length fits and whose instance is in range. A file is at most
 * SNAP_MAX_FILE bytes.
 *
 * Versions: MAJOR changes when an older ember could misread a file; a new
 * section type or a longer payload changes MINOR. ember loads files of its
 * own MAJOR with a MINOR up to its own; a section type it does not know is
 * refused (a writer of the same MAJOR and a MINOR ember accepts writes only
 * types ember knows, so an unknown one is a damaged or forged file). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "EMBRSNAP"
#define SNAP_VERSION_MAJOR 1u
#define SNAP_VERSION_MINOR 1u /* 1.1: the generation section */
#define SNAP_VERSION_PATCH 0u

#define SNAP_MAX_FILE (10u << 20)
#define SNAP_MAX_SECTIONS 4096u
#define SNAP_HEADER_SIZE 24u
#define SNAP_SECTION_HEADER_SIZE 16u
#define SNAP_CRC_SIZE 8u

/* Section types. Per-vCPU sections have the vCPU index as instance, device
 * sections the device's position in the manager's attach order; the rest
 * use instance 0. */
enum snap_section_type {
	SNAP_SEC_CONFIG = 1,         /* JSON: machine-config, boot-source, drives, mmds-config */
	SNAP_SEC_MEMORY = 2,         /* u32 count, then {u64 gpa, u64 size, u64 file offset} */

	SNAP_SEC_VCPU_REGS = 0x10,   /* struct kvm_regs */
	SNAP_SEC_VCPU_SREGS,         /* struct kvm_sregs */
	SNAP_SEC_VCPU_XSAVE,         /* struct kvm_xsave */
	SNAP_SEC_VCPU_XCRS,          /* struct kvm_xcrs */
	SNAP_SEC_VCPU_DEBUGREGS,     /* struct kvm_debugregs */
	SNAP_SEC_VCPU_LAPIC,         /* struct kvm_lapic_state */
	SNAP_SEC_VCPU_MP_STATE,      /* struct kvm_mp_state */
	SNAP_SEC_VCPU_EVENTS,        /* struct kvm_vcpu_events */
	SNAP_SEC_VCPU_MSRS,          /* struct kvm_msr_entry[] */
	SNAP_SEC_VCPU_CPUID,         /* struct kvm_cpuid_entry2[] */
	SNAP_SEC_VCPU_TSC_KHZ,       /* u32 */

	SNAP_SEC_VM_PIC_MASTER = 0x20, /* struct kvm_irqchip, chip 0 */
	SNAP_SEC_VM_PIC_SLAVE,       /* struct kvm_irqchip, chip 1 */
	SNAP_SEC_VM_IOAPIC,          /* struct kvm_irqchip, chip 2 */
	SNAP_SEC_VM_PIT,             /* struct kvm_pit_state2 */
	SNAP_SEC_VM_CLOCK,           /* struct kvm_clock_data */
	SNAP_SEC_VM_SPLIT_IOAPIC,    /* ember's IOAPIC (irqchip split): core/irqchip/ioapic.h */
	SNAP_SEC_VM_ACPI,            /* reserved: the ACPI sleep registers (PM1 control, status, enable) */

	SNAP_SEC_DEVICE = 0x30,      /* a device: kind name, id, then its own state (snapshot/device.h) */
	SNAP_SEC_DEVICE_VIRTIO,      /* a virtio device's transport: status, features, queues */

	SNAP_SEC_GENERATION = 0x40,  /* VMGenID and VMClock: snapshot/generation.h (since 1.1) */
};

#define SNAP_MAX_VCPUS 32u
#define SNAP_MAX_DEVICES 64u
#define SNAP_MAX_MSRS 1024u
#define SNAP_MAX_CPUID 256u

struct snap_version {
	uint16_t major, minor, patch;
};

struct snap_section {
	uint32_t type, instance, len;
	const uint8_t *data; /* into the parsed buffer */
};

struct snap_file {
	struct snap_version version;
	unsigned n;
	struct snap_section *sec; /* owned */
};

/* A growable buffer the sections are appended to. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nsec;
	int err; /* the first error, sticky: -ENOMEM or -EFBIG */
};

void snap_writer_init(struct snap_writer *w);
/* Appends a section (copies data). Errors are sticky and reported by
 * snap_writer_finish(). */
void snap_put(struct snap_writer *w, uint32_t type, uint32_t instance, const void *data, size_t len);
/* Fills the header and appends the CRC. 0, -ENOMEM, or -EFBIG past
 * SNAP_MAX_FILE or SNAP_MAX_SECTIONS. The buffer stays owned by w. */
int snap_writer_finish(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);

/* Checks len, the CRC, magic, version and every section's bounds, and
 * indexes the sections of buf (which must outlive *ret). 0 or -EINVAL,
 * -EPROTO (version), -EBADMSG (CRC) with the reason in err, in
 * Firecracker's words where it has some ("File too short to contain CRC",
 * "CRC64 validation failed"). */
int snap_parse(const uint8_t *buf, size_t len, struct snap_file *ret, char *err, size_t errlen);
void snap_file_free(struct snap_file *f);
/* The version of a file, read without any other check but its length and
 * magic (--describe-snapshot). 0 or -EINVAL. */
int snap_peek_version(const uint8_t *buf, size_t len, struct snap_version *ret);
/* The section of that type and instance, or NULL. */
const struct snap_section *snap_find(const struct snap_file *f, uint32_t type, uint32_t instance);
/* A section's name ("vcpu-regs"), or NULL for an unknown type. */
const char *snap_section_name(uint32_t type);
/* The CRC of buf (lzma_crc64). */
uint64_t snap_crc64(const uint8_t *buf, size_t len);
/* Reads up to SNAP_MAX_FILE + 1 bytes of an open file into a new buffer:
 * 0 with *ret_buf (free()) and *ret_len, or -errno (-EFBIG: larger than
 * the cap, nothing more read). */
int snap_read_fd(int fd, uint8_t **ret_buf, size_t *ret_len);
