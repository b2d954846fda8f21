/*
 * Multiboot loader (boot/multiboot.c): the whole input is the kernel file, an a.out-kludge
 * image or an ELF32. multiboot_find_header and multiboot_parse must not read out of bounds;
 * what parse accepts is loaded into 64 MiB of fake guest RAM by multiboot_load (short command
 * line, no module). Properties: the header found is aligned, in the first 8 KiB and really
 * holds the magic; accepted segments lie in the file, below 4 GiB, clear of the reserved
 * ranges, and the entry point lies in what is loaded; a successful load fills the multiboot
 * information the kernel will read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/platform.h"
#include "boot/multiboot.h"
#include "fuzz_util.h"
#include "memory.h"

#define KERNEL_PATH "fuzz-kernel"
#define CMDLINE	    "console=ttyS0"

static struct guest_memory mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (memory_init(&mem, 64 * MiB) < 0)
		abort();
	fuzz_silence_stdio(); /* the loader logs a line for each image it refuses */
	return 0;
}

static bool overlaps(uint64_t start, uint64_t end, uint64_t rstart, uint64_t rend)
{
	return start < rend && rstart < end;
}

static void check_image(const struct multiboot_image *img, size_t size)
{
	bool entry_loaded = false;

	FUZZ_CHECK(img->nsegments >= 1 && img->nsegments <= MULTIBOOT_MAX_SEGMENTS, "nsegments %d",
		   img->nsegments);
	FUZZ_CHECK(img->header_offset % 4 == 0 && img->header_offset < MULTIBOOT_SEARCH,
		   "header at %#zx", img->header_offset);
	for (int i = 0; i < img->nsegments; i++) {
		const struct multiboot_segment *s = &img->segments[i];
		uint64_t end = s->paddr + s->memsz;

		FUZZ_CHECK(s->filesz <= s->memsz && s->offset <= size &&
			       s->filesz <= size - s->offset,
			   "segment %d: file bytes %#llx+%#llx of %zu, memsz %#llx", i,
			   (unsigned long long)s->offset, (unsigned long long)s->filesz, size,
			   (unsigned long long)s->memsz);
		FUZZ_CHECK(s->memsz > 0 && s->paddr < end && end <= 0x100000000ULL,
			   "segment %d at %#llx-%#llx", i, (unsigned long long)s->paddr,
			   (unsigned long long)end);
		FUZZ_CHECK(!overlaps(s->paddr, end, 0, 0x1000) &&
			       !overlaps(s->paddr, end, MULTIBOOT_INFO_ADDR, MULTIBOOT_AREA_END) &&
			       !overlaps(s->paddr, end, MEM_LOW_RAM_END, MEM_HIGH_START),
			   "segment %d at %#llx-%#llx overlaps a reserved range", i,
			   (unsigned long long)s->paddr, (unsigned long long)end);
		FUZZ_CHECK(img->start <= s->paddr && end <= img->end, "start/end do not cover %d",
			   i);
		entry_loaded |= img->entry >= s->paddr && img->entry < s->paddr + s->filesz;
	}
	FUZZ_CHECK(entry_loaded, "entry %#x outside the loaded bytes", img->entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct multiboot_image img;
	struct boot_request req = {.kernel_path = KERNEL_PATH, .cmdline = CMDLINE};
	struct boot_file kernel = {.data = (uint8_t *)data, .size = size};
	struct boot_entry entry = {0};
	const struct multiboot_info *mbi;
	const char *why = NULL;
	int off = multiboot_find_header(data, size);
	bool detected = multiboot_detect(data, size);

	if (off >= 0) {
		uint32_t magic;

		FUZZ_CHECK(off % 4 == 0 && (size_t)off + 12 <= size && off < MULTIBOOT_SEARCH,
			   "header offset %d of %zu", off, size);
		memcpy(&magic, data + off, 4);
		FUZZ_CHECK(magic == MULTIBOOT_HEADER_MAGIC, "no magic at %d", off);
	} else {
		FUZZ_CHECK(!detected, "detected without a header");
	}
	if (multiboot_parse(data, size, &img, &why) < 0) {
		FUZZ_CHECK(why && *why, "refused without a reason");
		return 0;
	}
	FUZZ_CHECK(detected && (size_t)off == img.header_offset, "parse accepted header at %zu",
		   img.header_offset);
	check_image(&img, size);
	if (multiboot_load(&mem, &req, &kernel, &entry) < 0)
		return 0;

	FUZZ_CHECK(entry.mode == BOOT_ENTRY_PROT32 && entry.rip == img.entry &&
		       entry.rax == MULTIBOOT_BOOTLOADER_MAGIC && entry.rbx == MULTIBOOT_INFO_ADDR,
		   "entry");
	mbi = gpa_to_host(&mem, MULTIBOOT_INFO_ADDR, sizeof(*mbi));
	FUZZ_CHECK(mbi && (mbi->flags & MULTIBOOT_INFO_MEM_MAP) && mbi->mmap_length > 0 &&
		       mbi->mods_count == 0 && mbi->cmdline == MULTIBOOT_CMDLINE_ADDR,
		   "multiboot information");
	FUZZ_CHECK(!strcmp(gpa_to_host(&mem, MULTIBOOT_CMDLINE_ADDR, 1), KERNEL_PATH " " CMDLINE),
		   "command line");
	return 0;
}
