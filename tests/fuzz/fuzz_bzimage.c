/*
 * bzImage loader (boot/bzimage.c): the whole input is the kernel file. bzimage_parse must
 * accept or refuse it without reading out of bounds; when it accepts, bzimage_load puts it
 * into 64 MiB of fake guest RAM with a short command line and no initrd. Properties: what
 * parse accepted is self-consistent, and a successful load leaves the protected-mode kernel
 * byte for byte at its load address, the command line at BOOT_CMDLINE_ADDR and a zero page
 * whose E820 map fits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/platform.h"
#include "boot/bzimage.h"
#include "fuzz_util.h"
#include "memory.h"

#define CMDLINE "console=ttyS0 quiet"

static struct guest_memory mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (memory_init(&mem, 64 * MiB) < 0)
		abort();
	fuzz_silence_stdio(); /* the loader logs a line for each image it refuses */
	return 0;
}

static void check_parsed(const struct bzimage_info *info, size_t size)
{
	FUZZ_CHECK(info->hdr_len <= sizeof(info->hdr), "hdr_len %zu", info->hdr_len);
	FUZZ_CHECK(info->setup_size < size, "setup %zu of %zu", info->setup_size, size);
	FUZZ_CHECK(info->payload_size == size - info->setup_size, "payload %zu",
		   info->payload_size);
	FUZZ_CHECK(info->payload_size <= info->hdr.init_size, "payload %zu > init_size %u",
		   info->payload_size, info->hdr.init_size);
	FUZZ_CHECK(info->load_addr >= MEM_HIGH_START && info->load_addr < MEM_PCI_HOLE_START,
		   "load_addr %#llx", (unsigned long long)info->load_addr);
	FUZZ_CHECK(info->cmdline_max > 0, "cmdline_max 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bzimage_info info;
	struct boot_request req = {.kernel_path = "fuzz-bzImage", .cmdline = CMDLINE};
	struct boot_file kernel = {.data = (uint8_t *)data, .size = size};
	struct boot_entry entry = {0};
	const struct boot_params *bp;
	const uint8_t *loaded;
	const char *why = NULL;

	bzimage_detect(data, size);
	if (bzimage_parse(data, size, &info, &why) < 0) {
		FUZZ_CHECK(why && *why, "refused without a reason");
		return 0;
	}
	check_parsed(&info, size);
	if (bzimage_load(&mem, &req, &kernel, &entry) < 0)
		return 0;

	FUZZ_CHECK(entry.mode == BOOT_ENTRY_LONG64 && entry.rsi == BOOT_PARAMS_ADDR,
		   "entry mode %d rsi %#llx", entry.mode, (unsigned long long)entry.rsi);
	FUZZ_CHECK(entry.rip == info.load_addr + 0x200, "rip %#llx", (unsigned long long)entry.rip);
	loaded = gpa_to_host(&mem, info.load_addr, info.payload_size);
	FUZZ_CHECK(loaded && !memcmp(loaded, data + info.setup_size, info.payload_size),
		   "kernel at %#llx differs from the file", (unsigned long long)info.load_addr);
	FUZZ_CHECK(!memcmp(gpa_to_host(&mem, BOOT_CMDLINE_ADDR, sizeof(CMDLINE)), CMDLINE,
			   sizeof(CMDLINE)),
		   "command line");
	bp = gpa_to_host(&mem, BOOT_PARAMS_ADDR, sizeof(*bp));
	FUZZ_CHECK(bp && bp->e820_entries > 0 && bp->e820_entries <= E820_MAX_ENTRIES,
		   "e820_entries %u", bp ? bp->e820_entries : 0);
	FUZZ_CHECK(bp->hdr.cmd_line_ptr == BOOT_CMDLINE_ADDR && bp->hdr.ramdisk_size == 0,
		   "zero page: cmd_line_ptr %#x ramdisk_size %u", bp->hdr.cmd_line_ptr,
		   bp->hdr.ramdisk_size);
	return 0;
}
