/*
 * PVH loader (boot/pvh.c): the whole input is an ELF64 vmlinux. pvh_parse must accept or
 * refuse it without reading out of bounds; when it accepts, pvh_load puts the PT_LOAD
 * segments into 64 MiB of fake guest RAM with a short command line and no initrd.
 * Properties: an accepted image's kernel_end is the end of its highest segment; a successful
 * load enters in 32-bit mode at the note's entry with the start_info where it says, and each
 * PT_LOAD's file bytes are in RAM at p_paddr followed by zeros up to p_memsz (checked for the
 * last segment of each overlapping group only, see below).
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_params.h"
#include "arch/x86/platform.h"
#include "boot/pvh.h"
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

static Elf64_Phdr phdr(const uint8_t *data, const Elf64_Ehdr *eh, int i)
{
	Elf64_Phdr ph;

	memcpy(&ph, data + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Segments load in order, so a later one may overwrite an earlier one: check those that no
 * later segment overlaps. (The boot structures are all below 1 MiB, where no segment may go.)
 */
static void check_segments(const uint8_t *data, size_t size)
{
	Elf64_Ehdr eh;

	memcpy(&eh, data, sizeof(eh));
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(data, &eh, i);
		const uint8_t *p;
		bool overwritten = false;

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		FUZZ_CHECK(ph.p_offset + ph.p_filesz <= size && ph.p_filesz <= ph.p_memsz,
			   "segment %d accepted beyond the file", i);
		for (int j = i + 1; j < eh.e_phnum && !overwritten; j++) {
			Elf64_Phdr later = phdr(data, &eh, j);
			overwritten =
			    later.p_type == PT_LOAD &&
			    ranges_overlap(ph.p_paddr, ph.p_memsz, later.p_paddr, later.p_memsz);
		}
		if (overwritten)
			continue;
		p = gpa_to_host(&mem, ph.p_paddr, ph.p_memsz);
		FUZZ_CHECK(p, "segment %d at %#llx was loaded but is not RAM", i,
			   (unsigned long long)ph.p_paddr);
		FUZZ_CHECK(!memcmp(p, data + ph.p_offset, ph.p_filesz), "segment %d file bytes", i);
		FUZZ_CHECK(fuzz_all_zero(p + ph.p_filesz, ph.p_memsz - ph.p_filesz),
			   "segment %d: bss not zeroed", i);
	}
}

/* The highest p_paddr + p_memsz of the PT_LOADs (parse checked the table and the sums). */
static uint64_t highest_end(const uint8_t *data)
{
	Elf64_Ehdr eh;
	uint64_t end = 0;

	memcpy(&eh, data, sizeof(eh));
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(data, &eh, i);
		if (ph.p_type == PT_LOAD && ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvh_info info;
	struct boot_request req = {.kernel_path = "fuzz-vmlinux", .cmdline = CMDLINE};
	struct boot_file kernel = {.data = (uint8_t *)data, .size = size};
	struct boot_entry entry = {0};
	const struct hvm_start_info *si;
	const char *why = NULL;

	elf_detect(data, size);
	if (pvh_parse(data, size, &info, &why) < 0) {
		FUZZ_CHECK(why && *why, "refused without a reason");
		return 0;
	}
	FUZZ_CHECK(info.kernel_end == highest_end(data), "kernel_end %#llx",
		   (unsigned long long)info.kernel_end);
	if (pvh_load(&mem, &req, &kernel, &entry) < 0)
		return 0;

	FUZZ_CHECK(entry.mode == BOOT_ENTRY_PROT32 && entry.rip == info.entry &&
		       entry.rbx == BOOT_PARAMS_ADDR,
		   "entry mode %d rip %#llx rbx %#llx", entry.mode, (unsigned long long)entry.rip,
		   (unsigned long long)entry.rbx);
	si = gpa_to_host(&mem, BOOT_PARAMS_ADDR, sizeof(*si));
	FUZZ_CHECK(si && si->magic == HVM_START_MAGIC && si->nr_modules == 0 &&
		       si->memmap_entries > 0 && si->memmap_entries <= E820_MAX_ENTRIES,
		   "start_info");
	check_segments(data, size);
	return 0;
}
