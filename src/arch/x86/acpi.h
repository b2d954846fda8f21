/*
 * ACPI tables for the guest (ACPI 6.5 chapter 5): RSDP -> XSDT -> {FADT -> {FACS, DSDT},
 * MADT}, built in one piece of guest RAM. The DSDT describes the fixed platform devices;
 * later modules add theirs to \_SB through acpi_config.dsdt_sb_extra.
 */
#ifndef KVMBOX_ARCH_X86_ACPI_H
#define KVMBOX_ARCH_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/aml.h"
#include "memory.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ACPI tables are little endian; these structs assume a little-endian host"
#endif

#define ACPI_MAX_CPUS 64

/* Identification written into every table. */
#define ACPI_OEM_ID	   "KVMBOX"   /* 6 bytes */
#define ACPI_OEM_TABLE_ID  "KVMBOXVM" /* 8 bytes */
#define ACPI_CREATOR_ID	   "KVMB"     /* 4 bytes */
#define ACPI_HYPERVISOR_ID "KVMBOX  " /* 8 bytes, FADT Hypervisor Vendor Identity */

/* Section 5.2.6: the header every table except RSDP and FACS starts with. */
struct acpi_table_header {
	char signature[4];
	uint32_t length; /* whole table, header included */
	uint8_t revision;
	uint8_t checksum; /* all bytes of the table sum to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_table_header) == 36, "ACPI table header");

/* Section 5.2.5.3. */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes (the ACPI 1.0 part) sum to 0 */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+ with XSDT */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* all 36 bytes sum to 0 */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "RSDP.XsdtAddress");

/* Section 5.2.3.2, Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 0 undefined, 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_SYSTEM_IO     1
#define ACPI_GAS_ACCESS_BYTE   1
#define ACPI_GAS_ACCESS_WORD   2
#define ACPI_GAS_ACCESS_DWORD  3

/* Section 5.2.9, FADT ("FACP") revision 6 layout. */
struct acpi_fadt {
	struct acpi_table_header header;
	uint32_t firmware_ctrl; /* FACS */
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint8_t hypervisor_vendor_id[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "FADT.SCI_INT");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT.PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT.PM1_EVT_LEN");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT.IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT.Flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT.RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131, "FADT Minor Version");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT.X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT.X_PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT hypervisor id");

/* FADT Flags (table 5.10). */
#define ACPI_FADT_WBINVD	(1U << 0)
#define ACPI_FADT_PROC_C1	(1U << 2)
#define ACPI_FADT_PWR_BUTTON	(1U << 4) /* set: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON	(1U << 5) /* set: no fixed-feature sleep button */
#define ACPI_FADT_TMR_VAL_EXT	(1U << 8)
#define ACPI_FADT_RESET_REG_SUP (1U << 10)
/* IA-PC Boot Architecture Flags (table 5.11). */
#define ACPI_IAPC_BOOT_8042	       (1U << 1)
#define ACPI_IAPC_BOOT_VGA_NOT_PRESENT (1U << 2)

/* Section 5.2.10, FACS: no header and no checksum; must be 64-byte aligned. */
struct acpi_facs {
	char signature[4]; /* "FACS" */
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

/* Section 5.2.12, MADT ("APIC") and its interrupt controller structures. */
struct acpi_madt {
	struct acpi_table_header header;
	uint32_t lapic_address;
	uint32_t flags; /* ACPI_MADT_PCAT_COMPAT */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");

#define ACPI_MADT_PCAT_COMPAT	 (1U << 0) /* dual 8259s present too */
#define ACPI_MADT_TYPE_LAPIC	 0
#define ACPI_MADT_TYPE_IOAPIC	 1
#define ACPI_MADT_TYPE_ISO	 2
#define ACPI_MADT_TYPE_LAPIC_NMI 4
#define ACPI_MADT_LAPIC_ENABLED	 (1U << 0)
/* MPS INTI flags (table 5.26): polarity bits 1:0, trigger mode bits 3:2; 0 = conforming. */
#define ACPI_MPS_INTI_ACTIVE_HIGH 0x1
#define ACPI_MPS_INTI_LEVEL	  0xc

struct acpi_madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t acpi_processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT Processor Local APIC");

struct acpi_madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC");

struct acpi_madt_iso {
	uint8_t type;
	uint8_t length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT Interrupt Source Override");

struct acpi_madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t acpi_processor_uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT Local APIC NMI");

/* MCFG (PCI Firmware Specification 3.0, 4.1.2): one ECAM allocation. */
struct acpi_mcfg_allocation {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg_allocation) == 16, "MCFG allocation");

/* A PCI host bridge to describe: ECAM (MCFG) and \_SB.PCI0 with its windows and _PRT. */
struct acpi_pci {
	uint64_t ecam_base;				 /* bus 0 only (1 MiB) */
	uint32_t mmio_base, mmio_end;			 /* 32-bit BAR window [base, end) */
	uint32_t (*intx_gsi)(uint8_t slot, uint8_t pin); /* pin 0 = INTA# */
};

struct acpi_config {
	uint32_t ncpus;		    /* 1..ACPI_MAX_CPUS; LAPIC ids and processor UIDs 0..ncpus-1 */
	const struct acpi_pci *pci; /* NULL: no PCI */
	/*
	 * Optional: called inside the DSDT's Scope(\_SB) after the built-in devices, to append
	 * more (e.g. Device(PCI0)). Errors go into the aml's sticky error.
	 */
	void (*dsdt_sb_extra)(struct aml *a, void *opaque);
	void *dsdt_sb_opaque;
};

/* The byte to store in a checksum field (zeroed beforehand) so that p[0..len) sums to 0. */
uint8_t acpi_checksum(const void *p, size_t len);

/*
 * Builds RSDP (at base), XSDT, FADT, FACS, DSDT and MADT in guest RAM [base, base + size);
 * base must be 16-byte aligned and the tables must end below 4 GiB (32-bit pointers).
 * Nothing is written unless everything fits. Returns 0 and sets *rsdp_gpa, or -EINVAL (bad
 * arguments), -ENOSPC (region too small), -EFAULT (region not RAM), -ENOMEM.
 */
int acpi_build(struct guest_memory *mem, uint64_t base, uint64_t size,
	       const struct acpi_config *cfg, uint64_t *rsdp_gpa);

#endif
