/* Loading a kernel into guest RAM and describing how the boot vCPU enters it. */
#ifndef KVMBOX_BOOT_BOOT_H
#define KVMBOX_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "memory.h"

enum boot_entry_mode {
	BOOT_ENTRY_LONG64, /* Linux 64-bit boot protocol: paging on, RSI = boot_params */
	BOOT_ENTRY_PROT32, /* PVH, multiboot: 32-bit protected mode, paging off */
	BOOT_ENTRY_RESET,  /* firmware: the CPU's reset state, F000:FFF0 in real mode */
};

struct boot_entry {
	enum boot_entry_mode mode;
	uint64_t rip;
	uint64_t rax;
	uint64_t rsi;
	uint64_t rbx;
};

/* Everything the loaders need besides the files. */
struct boot_request {
	const char *kernel_path;
	const char *initrd_path;
	const char *cmdline;
	uint64_t rsdp_gpa; /* 0 without ACPI */
};

/* A whole file in memory; limit guards against reading something absurd. */
struct boot_file {
	uint8_t *data;
	size_t size;
};
int boot_file_read(const char *option, const char *path, size_t limit, struct boot_file *out);
void boot_file_free(struct boot_file *f);

/*
 * Detects the kernel format, loads kernel, initrd and command line into guest RAM, and
 * fills *entry. Returns 0, or -1 after logging one line that names the file and the problem.
 */
int boot_load(struct guest_memory *mem, const struct boot_request *req, struct boot_entry *entry);

/*
 * Places an initrd of `size` bytes page-aligned as high as possible in [min, max_end);
 * returns its address or 0 if it does not fit.
 */
uint64_t boot_place_initrd(uint64_t size, uint64_t min, uint64_t max_end);

#endif
