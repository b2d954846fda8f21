/*
 * QEMU's firmware configuration device (fw_cfg), x86 I/O port flavour, with the DMA
 * interface. Reference: QEMU docs/specs/fw_cfg.rst and include/standard-headers/linux/
 * qemu_fw_cfg.h (selector keys, directory and DMA layouts).
 *
 * Ports (register the two ranges on the PIO bus):
 *   FW_CFG_PORT_SEL (len 2)  offset 0: 16-bit write = selector (little endian)
 *                            offset 0 or 1: 8-bit read = next data byte; 8-bit write = data
 *                            write, ignored (QEMU >= 2.4)
 *   FW_CFG_PORT_DMA (len 8)  big-endian address of a struct fw_cfg_dma_access in guest RAM;
 *                            a 32-bit write at offset 0 sets the high half, one at offset 4
 *                            the low half and starts the transfer, as does a 64-bit write at
 *                            offset 0. Reads return the signature "QEMU CFG".
 * Other access sizes are ignored (writes) or read as all ones, as QEMU refuses them.
 *
 * Every item is read-only. Selector bit 14 (FW_CFG_WRITE_CHANNEL) is ignored on select, as
 * in QEMU. fw_cfg_create() adds FW_CFG_SIGNATURE, FW_CFG_ID (traditional + DMA) and
 * FW_CFG_FILE_DIR; the machine adds the rest (RAM size, CPUs, "etc/e820", ...).
 *
 * All functions are thread-safe (one mutex per device): vCPU threads may access the ports
 * concurrently, and items may be added while the guest runs.
 */
#ifndef KVMBOX_DEVICES_FW_CFG_H
#define KVMBOX_DEVICES_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define FW_CFG_PORT_SEL	    0x510
#define FW_CFG_PORT_DATA    0x511
#define FW_CFG_PORT_DMA	    0x514
#define FW_CFG_SEL_NR_PORTS 2 /* selector + data */
#define FW_CFG_DMA_NR_PORTS 8

/* Offsets inside the two port ranges. */
#define FW_CFG_OFF_SELECTOR 0
#define FW_CFG_OFF_DATA	    1
#define FW_CFG_OFF_DMA_HIGH 0
#define FW_CFG_OFF_DMA_LOW  4

/* Selector keys of well-known items (qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE      0x0000 /* "QEMU" */
#define FW_CFG_ID	      0x0001 /* u32 LE feature bits, FW_CFG_VERSION* */
#define FW_CFG_UUID	      0x0002
#define FW_CFG_RAM_SIZE	      0x0003 /* u64 LE */
#define FW_CFG_NOGRAPHIC      0x0004 /* u16 LE */
#define FW_CFG_NB_CPUS	      0x0005 /* u16 LE */
#define FW_CFG_MACHINE_ID     0x0006
#define FW_CFG_KERNEL_ADDR    0x0007
#define FW_CFG_KERNEL_SIZE    0x0008
#define FW_CFG_KERNEL_CMDLINE 0x0009
#define FW_CFG_INITRD_ADDR    0x000a
#define FW_CFG_INITRD_SIZE    0x000b
#define FW_CFG_BOOT_DEVICE    0x000c
#define FW_CFG_NUMA	      0x000d
#define FW_CFG_BOOT_MENU      0x000e
#define FW_CFG_MAX_CPUS	      0x000f /* u16 LE */
#define FW_CFG_KERNEL_ENTRY   0x0010
#define FW_CFG_KERNEL_DATA    0x0011
#define FW_CFG_INITRD_DATA    0x0012
#define FW_CFG_CMDLINE_ADDR   0x0013
#define FW_CFG_CMDLINE_SIZE   0x0014
#define FW_CFG_CMDLINE_DATA   0x0015
#define FW_CFG_SETUP_ADDR     0x0016
#define FW_CFG_SETUP_SIZE     0x0017
#define FW_CFG_SETUP_DATA     0x0018
#define FW_CFG_FILE_DIR	      0x0019 /* struct fw_cfg_files, big endian */
#define FW_CFG_FILE_FIRST     0x0020 /* first selector of a named file */

#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL    0x8000 /* x86: ACPI tables, SMBIOS, e820 table, ... */
#define FW_CFG_ENTRY_MASK    0x3fff
#define FW_CFG_INVALID	     0xffff

/* x86 arch-local keys (QEMU hw/i386/fw_cfg.h). */
#define FW_CFG_ACPI_TABLES    (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE  (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE     (FW_CFG_ARCH_LOCAL + 3)
#define FW_CFG_HPET	      (FW_CFG_ARCH_LOCAL + 4)

/* FW_CFG_ID bits. */
#define FW_CFG_VERSION	   0x01 /* traditional (selector/data) interface */
#define FW_CFG_VERSION_DMA 0x02

#define FW_CFG_SIG_SIZE	     4
#define FW_CFG_MAX_FILE_PATH 56 /* name, including the NUL */
#define FW_CFG_MAX_FILES     (FW_CFG_ENTRY_MASK + 1 - FW_CFG_FILE_FIRST)

/* One entry of FW_CFG_FILE_DIR, which is a be32 count followed by these, sorted by name. */
struct fw_cfg_file {
	uint32_t size;	 /* big endian */
	uint16_t select; /* big endian */
	uint16_t reserved;
	char name[FW_CFG_MAX_FILE_PATH];
} __attribute__((packed));

/* DMA control bits (fw_cfg.rst, "Guest-side DMA Interface"); the selector is in 31:16. */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10

#define FW_CFG_DMA_SIGNATURE 0x51454d5520434647ULL /* "QEMU CFG", big endian */

/* The descriptor the guest points the DMA register at; all fields big endian. */
struct fw_cfg_dma_access {
	uint32_t control;
	uint32_t length;
	uint64_t address;
} __attribute__((packed));

struct fw_cfg;

/*
 * mem: the guest RAM DMA transfers go to (not owned; must outlive the device).
 * Returns NULL (errno set, logged) on failure.
 */
struct fw_cfg *fw_cfg_create(struct guest_memory *mem);
void fw_cfg_destroy(struct fw_cfg *f);

/*
 * Adds an item at a fixed selector; data is copied (len may be 0). Selectors are the
 * well-known keys below FW_CFG_FILE_FIRST, optionally with FW_CFG_ARCH_LOCAL. Returns 0,
 * -EEXIST (selector taken), -EINVAL (bad selector, len > 4 GiB - 1, NULL data) or -ENOMEM.
 */
int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t selector, const void *data, size_t len);
/* Integers are stored little endian, as QEMU's fw_cfg_add_i16/i32/i64. */
int fw_cfg_add_u16(struct fw_cfg *f, uint16_t selector, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *f, uint16_t selector, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *f, uint16_t selector, uint64_t v);

/*
 * Adds a named file (e.g. "etc/e820"); data is copied. The file gets the next free selector
 * from FW_CFG_FILE_FIRST on (in order of addition; selectors never move) and an entry in
 * FW_CFG_FILE_DIR, which lists the files sorted by name (strcmp) as QEMU does. Returns 0,
 * -EEXIST (name taken), -EINVAL (empty name or longer than FW_CFG_MAX_FILE_PATH - 1,
 * len > 4 GiB - 1, NULL data), -ENOSPC (no selectors left) or -ENOMEM.
 */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len);

/* Bus handlers; opaque is the struct fw_cfg. */
void fw_cfg_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void fw_cfg_dma_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
