/* ELF vmlinux booted through its PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY). */
#ifndef KVMBOX_BOOT_PVH_H
#define KVMBOX_BOOT_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"

#define PVH_CMDLINE_MAX 2047 /* x86 COMMAND_LINE_SIZE is 2048 including the NUL */

struct pvh_info {
	uint64_t entry;	     /* 32-bit physical entry point from the note */
	uint64_t kernel_end; /* highest p_paddr + p_memsz of the loadable segments */
};

bool elf_detect(const uint8_t *buf, size_t len);
/* Validates the ELF64 headers and finds the PVH note. Returns 0 or -1 with *why set. */
int pvh_parse(const uint8_t *buf, size_t len, struct pvh_info *info, const char **why);
int pvh_load(struct guest_memory *mem, const struct boot_request *req,
	     const struct boot_file *kernel, struct boot_entry *entry);

#endif
