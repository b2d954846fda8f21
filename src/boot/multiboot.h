/*
 * Multiboot (version 1, spec 0.6.96) kernels: ELF32 images, or any image whose header sets
 * the "a.out kludge" (flags bit 16) and so says itself where to load. The kernel is entered
 * in 32-bit protected mode with EAX = 0x2BADB002 and EBX = the multiboot information.
 */
#ifndef KVMBOX_BOOT_MULTIBOOT_H
#define KVMBOX_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/platform.h"
#include "boot/boot.h"

/* Spec 3.1.1: the header lies 32-bit aligned within the first 8192 bytes of the file. */
#define MULTIBOOT_SEARCH	   8192
#define MULTIBOOT_HEADER_MAGIC	   0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u /* in EAX at entry */

/* Header flags (spec 3.1.2). Bits 0-15 are requirements, 16-31 optional features. */
#define MULTIBOOT_PAGE_ALIGN	(1u << 0)  /* modules page aligned: kvmbox always does */
#define MULTIBOOT_MEMORY_INFO	(1u << 1)  /* mem_* and mmap_*: kvmbox always provides them */
#define MULTIBOOT_VIDEO_MODE	(1u << 2)  /* kvmbox has no display: accepted, no video info */
#define MULTIBOOT_AOUT_KLUDGE	(1u << 16) /* header_addr..entry_addr are valid */
#define MULTIBOOT_REQUIRED_MASK 0xffffu
#define MULTIBOOT_SUPPORTED_REQUIRED                                                               \
	(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE)

/* Multiboot information flags (spec 3.3): which fields are valid. */
#define MULTIBOOT_INFO_MEMORY		(1u << 0)
#define MULTIBOOT_INFO_CMDLINE		(1u << 2)
#define MULTIBOOT_INFO_MODS		(1u << 3)
#define MULTIBOOT_INFO_MEM_MAP		(1u << 6)
#define MULTIBOOT_INFO_BOOT_LOADER_NAME (1u << 9)

#define MULTIBOOT_BOOT_LOADER_NAME "kvmbox"

/*
 * Where kvmbox puts the multiboot information, all in low memory: the info structure at
 * BOOT_PARAMS_ADDR, the memory map at BOOT_PVH_MEMMAP_ADDR, then from BOOT_CMDLINE_ADDR the
 * command line, the boot loader name, the module list and the module string. No loaded
 * segment may overlap [BOOT_PARAMS_ADDR, MULTIBOOT_AREA_END).
 */
#define MULTIBOOT_INFO_ADDR	   BOOT_PARAMS_ADDR
#define MULTIBOOT_MMAP_ADDR	   BOOT_PVH_MEMMAP_ADDR
#define MULTIBOOT_CMDLINE_ADDR	   BOOT_CMDLINE_ADDR
#define MULTIBOOT_CMDLINE_MAX	   4095 /* bytes of "<kernel path> <--cmdline>", NUL excluded */
#define MULTIBOOT_LOADER_NAME_ADDR (BOOT_CMDLINE_ADDR + 0x1000)
#define MULTIBOOT_MODS_ADDR	   (BOOT_CMDLINE_ADDR + 0x1100)
#define MULTIBOOT_MODSTR_ADDR	   (BOOT_CMDLINE_ADDR + 0x2000)
#define MULTIBOOT_MODSTR_MAX	   4095 /* bytes of the --initrd path, NUL excluded */
#define MULTIBOOT_AREA_END	   (BOOT_CMDLINE_ADDR + 0x3000)

/* Spec 3.3, including the 0.6.96 framebuffer fields (which kvmbox leaves 0). */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB from 0 */
	uint32_t mem_upper; /* KiB from 1 MiB up to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch;
	uint32_t framebuffer_width;
	uint32_t framebuffer_height;
	uint8_t framebuffer_bpp;
	uint8_t framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));

/* mmap_addr points at `size`, which counts the bytes after itself (20). */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));

struct multiboot_module {
	uint32_t mod_start;
	uint32_t mod_end; /* exclusive, as GRUB and QEMU pass it */
	uint32_t string;
	uint32_t reserved;
};

#define MULTIBOOT_MAX_SEGMENTS 16

/* One range to load: filesz bytes from the file at offset, then zeroes up to memsz. */
struct multiboot_segment {
	uint64_t paddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
};

struct multiboot_image {
	size_t header_offset; /* of the multiboot header in the file */
	uint32_t header_flags;
	bool aout_kludge; /* loaded by the header's address fields, not as ELF */
	uint32_t entry;	  /* physical */
	int nsegments;
	struct multiboot_segment segments[MULTIBOOT_MAX_SEGMENTS];
	uint64_t start, end; /* lowest and one past the highest guest-physical byte loaded */
	char why_buf[192];   /* room for *why when the reason carries numbers */
};

/*
 * Offset of the multiboot header: the first 4-byte aligned magic within the first 8 KiB
 * whose checksum holds, else the first such magic whatever its checksum (so a broken header
 * can be reported as such). -1 if there is no magic at all.
 */
int multiboot_find_header(const uint8_t *buf, size_t len);
/* True if a header with a valid checksum is present. */
bool multiboot_detect(const uint8_t *buf, size_t len);
/*
 * Parses and validates the header and the image (pure: no guest memory). Refuses segments
 * below 4 KiB, over the multiboot information area or the BIOS area at 0x9fc00-1 MiB.
 * Returns 0, or -1 with *why set (possibly pointing into img).
 */
int multiboot_parse(const uint8_t *buf, size_t len, struct multiboot_image *img, const char **why);
/*
 * Loads the kernel, --initrd as module 0, and the multiboot information; fills *entry.
 * Returns 0, or -1 after logging one line naming the option, the file and the problem.
 */
int multiboot_load(struct guest_memory *mem, const struct boot_request *req,
		   const struct boot_file *kernel, struct boot_entry *entry);

#endif
