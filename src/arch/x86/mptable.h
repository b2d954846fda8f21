/*
 * Intel MultiProcessor Specification 1.4 tables, for guests booted without ACPI: a
 * floating pointer structure the guest finds by scanning the BIOS area, and the
 * configuration table it points to (processors, buses, IOAPIC, interrupt routing).
 */
#ifndef KVMBOX_ARCH_X86_MPTABLE_H
#define KVMBOX_ARCH_X86_MPTABLE_H

#include <stdint.h>

#include "memory.h"

/* APIC ids are 8 bits, 0xff is "all", and the IOAPIC takes id ncpus. */
#define MPTABLE_MAX_CPUS 254

#define MP_SPEC_REV	  4    /* MP spec 1.4 */
#define MP_APIC_VERSION	  0x14 /* KVM's local APIC */
#define MP_IOAPIC_VERSION 0x11 /* KVM's IOAPIC */

/* MP spec 4.1: the floating pointer structure, on a 16-byte boundary. */
struct mp_floating_pointer {
	char signature[4]; /* "_MP_" */
	uint32_t config_table;
	uint8_t length; /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum; /* all 16 bytes sum to 0 */
	uint8_t feature1; /* 0: a configuration table is present */
	uint8_t feature2; /* bit 7 IMCRP clear: virtual wire mode */
	uint8_t feature3[3];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_floating_pointer) == 16, "MP floating pointer");

/* MP spec 4.2: the configuration table header; entries follow, sorted by type. */
struct mp_config_header {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table: header and entries */
	uint8_t spec_rev;
	uint8_t checksum; /* base table sums to 0 */
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_config_header) == 44, "MP configuration table header");

#define MP_ENTRY_PROCESSOR	 0
#define MP_ENTRY_BUS		 1
#define MP_ENTRY_IOAPIC		 2
#define MP_ENTRY_IO_INTERRUPT	 3
#define MP_ENTRY_LOCAL_INTERRUPT 4

#define MP_CPU_ENABLED	  (1U << 0)
#define MP_CPU_BSP	  (1U << 1)
#define MP_IOAPIC_ENABLED (1U << 0)
/* Interrupt types (MP spec table 4-8). */
#define MP_INT	      0
#define MP_NMI	      1
#define MP_EXTINT     3
#define MP_ALL_LAPICS 0xff

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;	    /* MP_CPU_* */
	uint32_t signature; /* CPUID.1:EAX stepping/model/family */
	uint32_t features;  /* CPUID.1:EDX */
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6]; /* "ISA   ", "PCI   " */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");

struct mp_ioapic {
	uint8_t type;
	uint8_t ioapic_id;
	uint8_t version;
	uint8_t flags;
	uint32_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP I/O APIC entry");

/* I/O (type 3) and local (type 4) interrupt assignment entries share this layout. */
struct mp_interrupt {
	uint8_t type;
	uint8_t int_type; /* MP_INT, MP_NMI, MP_EXTINT */
	uint16_t flags;	  /* polarity bits 1:0, trigger bits 3:2; 0 = conforming to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic; /* IOAPIC id, or LAPIC id / MP_ALL_LAPICS */
	uint8_t dst_pin;  /* IOAPIC INTIN#, or LINTIN# */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP interrupt entry");

/*
 * Builds the floating pointer at base (16-byte aligned; MPTABLE_ADDR in practice, inside
 * the 0xf0000-0xfffff area Linux scans) and the configuration table right after it, in
 * guest RAM [base, base + size). Nothing is written unless everything fits.
 * Returns 0, -EINVAL (bad arguments), -ENOSPC, -EFAULT or -ENOMEM.
 */
int mptable_build(struct guest_memory *mem, uint64_t base, uint64_t size, uint32_t ncpus);

#endif
