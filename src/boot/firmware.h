/*
 * --firmware FILE: a raw ROM image mapped read-only just below 4 GiB, with its last 128 KiB
 * also at 0xE0000-0xFFFFF, the way a PC's flash appears. The boot vCPU starts at the reset
 * vector F000:FFF0 (linear 0xFFFFFFF0), inside the image.
 */
#ifndef KVMBOX_BOOT_FIRMWARE_H
#define KVMBOX_BOOT_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define FIRMWARE_MAX_SIZE   (16 * MiB)
#define FIRMWARE_ALIAS_SIZE (128 * 1024)
#define FIRMWARE_ALIAS_BASE (MEM_HIGH_START - FIRMWARE_ALIAS_SIZE) /* 0xE0000 */

struct firmware {
	uint8_t *host; /* read-only mapping of the image */
	size_t size;
};

/* Reads and checks the image (multiple of 4 KiB, at most 16 MiB). Logs one line on error. */
int firmware_load(struct firmware *fw, const char *path);
/* The part of low RAM the alias replaces; take it out with memory_carve_hole(). */
uint64_t firmware_alias_start(const struct firmware *fw);
/*
 * Registers the image as read-only memslots first_slot and first_slot + 1. Guest writes to
 * it become MMIO exits, which nothing claims, so they are dropped.
 */
int firmware_map(const struct firmware *fw, int vm_fd, int first_slot);
void firmware_destroy(struct firmware *fw);

#endif
