/* Linux bzImage: setup header checks and loading for the 64-bit boot protocol. */
#ifndef KVMBOX_BOOT_BZIMAGE_H
#define KVMBOX_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/boot_params.h"
#include "boot/boot.h"

struct bzimage_info {
	struct setup_header hdr; /* as found in the file */
	size_t hdr_len;		 /* bytes of header the kernel defines (copied into boot_params) */
	size_t setup_size;	 /* real-mode setup code, skipped by the 64-bit entry */
	size_t payload_size;	 /* protected-mode kernel */
	uint64_t load_addr;
	uint64_t cmdline_max; /* longest command line the kernel accepts, without NUL */
};

/* True if buf starts like a bzImage (boot sector flag and "HdrS"). */
bool bzimage_detect(const uint8_t *buf, size_t len);
/* Validates the header. Returns 0, or -1 with *why set to a reason a user can act on. */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *info, const char **why);
int bzimage_load(struct guest_memory *mem, const struct boot_request *req,
		 const struct boot_file *kernel, struct boot_entry *entry);

#endif
