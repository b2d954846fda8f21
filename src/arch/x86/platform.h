/* The fixed parts of kvmbox's x86 machine: where devices and firmware tables live. */
#ifndef KVMBOX_ARCH_X86_PLATFORM_H
#define KVMBOX_ARCH_X86_PLATFORM_H

/* Legacy I/O ports and their ISA IRQs. */
#define PORT_COM1	   0x3f8
#define IRQ_COM1	   4
#define PORT_I8042_DATA	   0x60
#define PORT_I8042_CMD	   0x64
#define PORT_RTC	   0x70 /* index 0x70, data 0x71 */
#define IRQ_RTC		   8
#define PORT_POST	   0x80
#define PORT_RESET_CONTROL 0xcf9 /* PIIX/ICH reset control register */

/* ACPI PM block (FADT): PM1a event (4 bytes), PM1a control (2), PM timer (4). */
#define PORT_ACPI_PM_BASE 0x600
#define ACPI_PM1_EVT_OFF  0
#define ACPI_PM1_EVT_LEN  4
#define ACPI_PM1_CNT_OFF  4
#define ACPI_PM1_CNT_LEN  2
#define ACPI_PM_TMR_OFF	  8
#define ACPI_PM_TMR_LEN	  4
#define ACPI_PM_LEN	  12
#define ACPI_SCI_IRQ	  9
/* Sleep type the DSDT's \_S5 object names; PM1a_CNT.SLP_TYP == this + SLP_EN = power off. */
#define ACPI_S5_SLP_TYP	 5
#define ACPI_RESET_VALUE 0x06 /* written to PORT_RESET_CONTROL: full reset */

/* PCI (bus 0): configuration ports, ECAM, and the 32-bit window BARs are placed in. */
#define PORT_PCI_CONFIG	    0xcf8 /* 0xcf8 address, 0xcfc-0xcff data */
#define PORT_PCI_CONFIG_LEN 8
#define PCI_MMIO32_BASE	    0xc0000000ULL
#define PCI_MMIO32_END	    0xe0000000ULL
#define PCI_ECAM_BASE	    0xe0000000ULL
#define PCI_ECAM_SIZE	    0x100000ULL /* bus 0 */

/* Interrupt controllers (guest-physical). */
#define LAPIC_BASE  0xfee00000ULL
#define IOAPIC_BASE 0xfec00000ULL
#define IOAPIC_PINS 24

/* KVM's private areas for VMX real-mode emulation; inside the PCI hole, below the BIOS. */
#define KVM_TSS_ADDR	      0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

/* Low memory used by the loaders (all below 1 MiB). */
#define BOOT_GDT_ADDR	     0x500ULL
#define BOOT_PARAMS_ADDR     0x7000ULL /* Linux zero page, or PVH start_info */
#define BOOT_PVH_MEMMAP_ADDR 0x8000ULL
#define BOOT_PML4_ADDR	     0x9000ULL /* PML4, PDPT, then 4 page directories: 0x9000-0xefff */
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL
/* ACPI tables in the BIOS area so a guest can also find the RSDP by scanning. */
#define ACPI_TABLES_ADDR 0xe0000ULL
#define ACPI_TABLES_SIZE 0x10000ULL
#define MPTABLE_ADDR	 0xf0000ULL
#define MPTABLE_SIZE	 0x10000ULL

#endif
