/*
 * Tests for the multiboot loader (boot/multiboot.c). Two kinds of image are built here: an
 * "a.out kludge" image (a prefix that is not loaded, the header with its address fields,
 * code, a tail past load_end_addr, and bss) and an ELF32 image (two PT_LOADs, one with bss,
 * linked higher-half so e_entry must be translated, plus a non-load header). Each test
 * corrupts one field; the last one mutates bytes at random and only asks that nothing
 * crashes (run it under SANITIZE=1).
 */
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_util.h"

#include "arch/x86/platform.h"
#include "boot/boot.h"
#include "boot/multiboot.h"
#include "memory.h"

#define IMG_MAX 0x4000

/* a.out kludge image: file [0, 0x200) is not loaded; file 0x200.. goes to AOUT_LOAD_ADDR. */
#define AOUT_PREFIX	 0x200
#define AOUT_HDR_OFF	 0x240
#define AOUT_FILE_SIZE	 0x3000
#define AOUT_LOAD_ADDR	 (2 * MiB)
#define AOUT_HEADER_ADDR (AOUT_LOAD_ADDR + (AOUT_HDR_OFF - AOUT_PREFIX))
#define AOUT_LOAD_SIZE	 0x2800 /* the file's last 0x600 bytes are not loaded */
#define AOUT_LOAD_END	 (AOUT_LOAD_ADDR + AOUT_LOAD_SIZE)
#define AOUT_BSS_END	 (AOUT_LOAD_ADDR + 0x4000)
#define AOUT_ENTRY	 (AOUT_LOAD_ADDR + 0x100)
#define AOUT_FLAGS	 (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_AOUT_KLUDGE)

/* Header field offsets (spec 3.1.1). */
#define H_CHECKSUM	8
#define H_HEADER_ADDR	12
#define H_LOAD_ADDR	16
#define H_LOAD_END_ADDR 20
#define H_BSS_END_ADDR	24
#define H_ENTRY_ADDR	28

/* ELF32 image: [ehdr | 3 phdrs | multiboot header at 0xc0 | seg A at 0x1000 | seg B 0x2000] */
#define ELF_SIZE	0x2100
#define ELF_HDR_OFF	0xc0
#define ELF_FLAGS	(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)
#define SEG_A_OFF	0x1000
#define SEG_A_FILESZ	0x800
#define SEG_A_MEMSZ	0x1800 /* 4 KiB of bss */
#define SEG_A_PADDR	(1 * MiB)
#define SEG_A_VADDR	0xc0100000u
#define SEG_B_OFF	0x2000
#define SEG_B_SIZE	0x100
#define SEG_B_PADDR	(1 * MiB + 0x2000)
#define SEG_B_VADDR	0xc0102000u
#define ELF_END		(SEG_B_PADDR + SEG_B_SIZE)
#define ELF_ENTRY_VADDR (SEG_A_VADDR + 0x40)
#define ELF_ENTRY	(SEG_A_PADDR + 0x40)

#define KERNEL_PATH "test-kernel"

static _Alignas(8) uint8_t img[IMG_MAX];
static size_t img_len;
static size_t hdr_off;

static void put32(size_t off, uint32_t v)
{
	memcpy(img + off, &v, sizeof(v));
}

/* Writes magic, flags and a matching checksum at off. */
static void put_header(size_t off, uint32_t flags)
{
	put32(off, MULTIBOOT_HEADER_MAGIC);
	put32(off + 4, flags);
	put32(off + H_CHECKSUM, -(MULTIBOOT_HEADER_MAGIC + flags));
	hdr_off = off;
}

static void set_hdr_field(size_t field, uint32_t v)
{
	put32(hdr_off + field, v);
}

static void fill_pattern(void)
{
	for (size_t i = 0; i < IMG_MAX; i++)
		img[i] = (uint8_t)(i * 7 + 3);
}

static void build_aout(void)
{
	memset(img, 0, sizeof(img));
	fill_pattern();
	img_len = AOUT_FILE_SIZE;
	put_header(AOUT_HDR_OFF, AOUT_FLAGS);
	set_hdr_field(H_HEADER_ADDR, AOUT_HEADER_ADDR);
	set_hdr_field(H_LOAD_ADDR, AOUT_LOAD_ADDR);
	set_hdr_field(H_LOAD_END_ADDR, AOUT_LOAD_END);
	set_hdr_field(H_BSS_END_ADDR, AOUT_BSS_END);
	set_hdr_field(H_ENTRY_ADDR, AOUT_ENTRY);
}

static Elf32_Ehdr *eh(void)
{
	return (Elf32_Ehdr *)img;
}

static Elf32_Phdr *ph(int i)
{
	return (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)) + i;
}

static void build_elf(void)
{
	memset(img, 0, sizeof(img));
	img_len = ELF_SIZE;
	memcpy(eh()->e_ident, ELFMAG, SELFMAG);
	eh()->e_ident[EI_CLASS] = ELFCLASS32;
	eh()->e_ident[EI_DATA] = ELFDATA2LSB;
	eh()->e_ident[EI_VERSION] = EV_CURRENT;
	eh()->e_type = ET_EXEC;
	eh()->e_machine = EM_386;
	eh()->e_version = EV_CURRENT;
	eh()->e_entry = ELF_ENTRY_VADDR;
	eh()->e_phoff = sizeof(Elf32_Ehdr);
	eh()->e_ehsize = sizeof(Elf32_Ehdr);
	eh()->e_phentsize = sizeof(Elf32_Phdr);
	eh()->e_phnum = 3;
	*ph(0) = (Elf32_Phdr){.p_type = PT_LOAD,
			      .p_offset = SEG_A_OFF,
			      .p_vaddr = SEG_A_VADDR,
			      .p_paddr = SEG_A_PADDR,
			      .p_filesz = SEG_A_FILESZ,
			      .p_memsz = SEG_A_MEMSZ,
			      .p_flags = PF_R | PF_X,
			      .p_align = 0x1000};
	/* Not loadable: its addresses (over the first page) must be ignored. */
	*ph(1) = (Elf32_Phdr){.p_type = PT_GNU_STACK, .p_memsz = 0x1000, .p_flags = PF_R | PF_W};
	*ph(2) = (Elf32_Phdr){.p_type = PT_LOAD,
			      .p_offset = SEG_B_OFF,
			      .p_vaddr = SEG_B_VADDR,
			      .p_paddr = SEG_B_PADDR,
			      .p_filesz = SEG_B_SIZE,
			      .p_memsz = SEG_B_SIZE,
			      .p_flags = PF_R | PF_W,
			      .p_align = 0x1000};
	put_header(ELF_HDR_OFF, ELF_FLAGS);
	for (size_t i = 0; i < SEG_A_FILESZ; i++)
		img[SEG_A_OFF + i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < SEG_B_SIZE; i++)
		img[SEG_B_OFF + i] = (uint8_t)(0xb0 ^ i);
}

static int setup_aout(void **state)
{
	build_aout();
	return 0;
}

static int setup_elf(void **state)
{
	build_elf();
	return 0;
}

static void parse_ok(struct multiboot_image *mb)
{
	const char *why = NULL;

	if (multiboot_parse(img, img_len, mb, &why) != 0)
		fail_msg("rejected: %s", why);
}

/* multiboot_parse rejects img[0..len) with a reason containing `why_part`. */
static void assert_rejected_len(size_t len, const char *why_part)
{
	struct multiboot_image mb;
	const char *why = NULL;

	if (multiboot_parse(img, len, &mb, &why) != -1)
		fail_msg("accepted, expected rejection with '%s'", why_part);
	test_assert_reason(why, why_part);
}

static void assert_rejected(const char *why_part)
{
	assert_rejected_len(img_len, why_part);
}

/* --- detection ------------------------------------------------------------------------------ */

static void test_multiboot__detects_aout_and_elf_headers(void **state)
{
	static uint8_t zeroes[IMG_MAX];

	build_aout();
	assert_true(multiboot_detect(img, img_len));
	assert_int_equal(multiboot_find_header(img, img_len), AOUT_HDR_OFF);
	build_elf();
	assert_true(multiboot_detect(img, img_len));
	assert_int_equal(multiboot_find_header(img, img_len), ELF_HDR_OFF);
	assert_false(multiboot_detect(zeroes, sizeof(zeroes)));
	assert_int_equal(multiboot_find_header(zeroes, sizeof(zeroes)), -1);
	/* Too short to hold magic, flags and checksum. */
	assert_false(multiboot_detect(img, ELF_HDR_OFF + 11));
	assert_true(multiboot_detect(img, ELF_HDR_OFF + 12));
}

static void test_multiboot__bad_checksum_is_refused(void **state)
{
	put32(hdr_off + H_CHECKSUM, 0x12345678);
	assert_false(multiboot_detect(img, img_len));
	/* Still found, so the loader can say what is wrong. */
	assert_int_equal(multiboot_find_header(img, img_len), AOUT_HDR_OFF);
	assert_rejected("checksum mismatch");
	/* A flipped flag bit breaks the checksum too. */
	build_aout();
	put32(hdr_off + 4, AOUT_FLAGS | 1u << 20);
	assert_false(multiboot_detect(img, img_len));
	assert_rejected("checksum mismatch");
}

static void test_multiboot__valid_header_after_broken_one_is_used(void **state)
{
	struct multiboot_image mb;

	put_header(0x20, AOUT_FLAGS);
	put32(0x20 + H_CHECKSUM, 0); /* a broken copy before the real header */
	hdr_off = AOUT_HDR_OFF;
	assert_true(multiboot_detect(img, img_len));
	assert_int_equal(multiboot_find_header(img, img_len), AOUT_HDR_OFF);
	parse_ok(&mb);
	assert_int_equal(mb.header_offset, AOUT_HDR_OFF);
}

static void test_multiboot__unaligned_magic_is_not_found(void **state)
{
	memmove(img + ELF_HDR_OFF + 2, img + ELF_HDR_OFF, 12);
	memset(img + ELF_HDR_OFF, 0, 2);
	assert_false(multiboot_detect(img, img_len));
	assert_int_equal(multiboot_find_header(img, img_len), -1);
	assert_rejected("no multiboot header");
}

static void test_multiboot__header_beyond_8k_is_not_found(void **state)
{
	img_len = IMG_MAX;
	memset(img + ELF_HDR_OFF, 0, 12);
	put_header(MULTIBOOT_SEARCH, ELF_FLAGS);
	assert_false(multiboot_detect(img, img_len));
	assert_rejected("no multiboot header");
	/* Starts inside 8 KiB but its checksum ends past it. */
	memset(img + MULTIBOOT_SEARCH, 0, 12);
	put_header(MULTIBOOT_SEARCH - 8, ELF_FLAGS);
	assert_false(multiboot_detect(img, img_len));
	/* The last position whose 12 bytes fit. */
	memset(img + MULTIBOOT_SEARCH - 8, 0, 12);
	put_header(MULTIBOOT_SEARCH - 12, ELF_FLAGS);
	assert_true(multiboot_detect(img, img_len));
}

static void test_multiboot__aout_fields_past_8k_are_refused(void **state)
{
	img_len = IMG_MAX;
	memset(img + AOUT_HDR_OFF, 0, 32);
	put_header(MULTIBOOT_SEARCH - 12, AOUT_FLAGS); /* magic fits; address fields do not */
	assert_true(multiboot_detect(img, img_len));
	assert_rejected("cut off");
	/* Address fields cut off by the end of the file. */
	build_aout();
	assert_rejected_len(AOUT_HDR_OFF + 20, "cut off");
}

/* --- a.out kludge ----------------------------------------------------------------------------- */

static void test_multiboot__aout_parse_maps_file_offset_to_load_addr(void **state)
{
	struct multiboot_image mb;

	parse_ok(&mb);
	assert_true(mb.aout_kludge);
	assert_int_equal(mb.header_offset, AOUT_HDR_OFF);
	assert_int_equal(mb.header_flags, AOUT_FLAGS);
	assert_int_equal(mb.entry, AOUT_ENTRY);
	assert_int_equal(mb.nsegments, 1);
	/* file offset = header offset - (header_addr - load_addr) */
	assert_int_equal(mb.segments[0].offset, AOUT_PREFIX);
	assert_int_equal(mb.segments[0].paddr, AOUT_LOAD_ADDR);
	assert_int_equal(mb.segments[0].filesz, AOUT_LOAD_SIZE);
	assert_int_equal(mb.segments[0].memsz, AOUT_BSS_END - AOUT_LOAD_ADDR);
	assert_int_equal(mb.start, AOUT_LOAD_ADDR);
	assert_int_equal(mb.end, AOUT_BSS_END);
}

static void test_multiboot__aout_load_end_zero_loads_to_end_of_file(void **state)
{
	struct multiboot_image mb;

	set_hdr_field(H_LOAD_END_ADDR, 0);
	set_hdr_field(H_BSS_END_ADDR, 0);
	parse_ok(&mb);
	assert_int_equal(mb.segments[0].filesz, AOUT_FILE_SIZE - AOUT_PREFIX);
	assert_int_equal(mb.segments[0].memsz, AOUT_FILE_SIZE - AOUT_PREFIX);
	assert_int_equal(mb.end, AOUT_LOAD_ADDR + AOUT_FILE_SIZE - AOUT_PREFIX);
	/* bss_end_addr 0 means no bss. */
	build_aout();
	set_hdr_field(H_BSS_END_ADDR, 0);
	parse_ok(&mb);
	assert_int_equal(mb.segments[0].memsz, AOUT_LOAD_SIZE);
}

static void test_multiboot__aout_header_addr_below_load_addr_is_refused(void **state)
{
	set_hdr_field(H_HEADER_ADDR, AOUT_LOAD_ADDR - 4);
	assert_rejected("header_addr");
}

static void test_multiboot__aout_load_addr_before_file_start_is_refused(void **state)
{
	/* The header is at file offset 0x240: load_addr cannot be more than 0x240 before it. */
	set_hdr_field(H_LOAD_ADDR, AOUT_HEADER_ADDR - AOUT_HDR_OFF - 4);
	assert_rejected("before the header");
}

static void test_multiboot__aout_load_range_beyond_file_is_refused(void **state)
{
	set_hdr_field(H_LOAD_END_ADDR, AOUT_LOAD_ADDR + AOUT_FILE_SIZE - AOUT_PREFIX + 1);
	assert_rejected("file has");
	build_aout();
	set_hdr_field(H_LOAD_END_ADDR, 0xffffffff);
	set_hdr_field(H_BSS_END_ADDR, 0);
	assert_rejected("file has");
	/* A truncated file: the default load range no longer fits. */
	build_aout();
	assert_rejected_len(AOUT_PREFIX + AOUT_LOAD_SIZE - 1, "file has");
}

static void test_multiboot__aout_load_end_below_load_addr_is_refused(void **state)
{
	set_hdr_field(H_LOAD_END_ADDR, AOUT_LOAD_ADDR - 1);
	assert_rejected("load_end_addr");
}

static void test_multiboot__aout_bss_end_below_load_end_is_refused(void **state)
{
	set_hdr_field(H_BSS_END_ADDR, AOUT_LOAD_END - 1);
	assert_rejected("bss_end_addr");
}

static void test_multiboot__aout_entry_outside_image_is_refused(void **state)
{
	set_hdr_field(H_ENTRY_ADDR, AOUT_LOAD_ADDR - 1);
	assert_rejected("entry_addr");
	set_hdr_field(H_ENTRY_ADDR, AOUT_LOAD_END); /* in bss: nothing there to run */
	assert_rejected("entry_addr");
	set_hdr_field(H_ENTRY_ADDR, AOUT_LOAD_END - 1);
	assert_int_equal(
	    multiboot_parse(img, img_len, &(struct multiboot_image){0}, &(const char *){0}), 0);
}

static void test_multiboot__aout_range_past_4g_is_refused(void **state)
{
	set_hdr_field(H_LOAD_ADDR, 0xfffff000);
	set_hdr_field(H_HEADER_ADDR, 0xfffff040);
	set_hdr_field(H_LOAD_END_ADDR, 0xfffffff0);
	set_hdr_field(H_BSS_END_ADDR, 0);
	set_hdr_field(H_ENTRY_ADDR, 0xfffff100);
	assert_int_equal(
	    multiboot_parse(img, img_len, &(struct multiboot_image){0}, &(const char *){0}), 0);
	set_hdr_field(H_LOAD_END_ADDR, 0); /* to the end of the file: past 4 GiB */
	assert_rejected("4 GiB");
}

static void test_multiboot__unsupported_required_flags_are_refused(void **state)
{
	struct multiboot_image mb;

	for (int bit = 3; bit < 16; bit++) {
		build_aout();
		put_header(AOUT_HDR_OFF, AOUT_FLAGS | 1u << bit);
		assert_true(multiboot_detect(img, img_len));
		assert_rejected("requires features");
	}
	/* Bits 0-2 are provided (or, for video, declined gracefully); 17-31 are optional. */
	build_aout();
	put_header(AOUT_HDR_OFF, AOUT_FLAGS | MULTIBOOT_VIDEO_MODE | 0xfffe0000u);
	parse_ok(&mb);
}

static void test_multiboot__segment_overlapping_reserved_low_memory_is_refused(void **state)
{
	const uint64_t bad[] = {0,
				0x800,
				BOOT_PARAMS_ADDR,
				BOOT_PARAMS_ADDR - 0x100,
				MULTIBOOT_MMAP_ADDR,
				MULTIBOOT_CMDLINE_ADDR,
				MULTIBOOT_AREA_END - 0x100,
				MEM_LOW_RAM_END - 0x100,
				0xf0000,
				MEM_HIGH_START - 0x10};
	struct multiboot_image mb;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_aout();
		set_hdr_field(H_LOAD_ADDR, (uint32_t)bad[i]);
		set_hdr_field(H_HEADER_ADDR, (uint32_t)bad[i] + 0x40);
		set_hdr_field(H_LOAD_END_ADDR, (uint32_t)bad[i] + 0x200);
		set_hdr_field(H_BSS_END_ADDR, 0);
		set_hdr_field(H_ENTRY_ADDR, (uint32_t)bad[i] + 0x100);
		assert_rejected("overlaps");
	}
	/* Low memory between the reserved ranges is fine. */
	build_aout();
	set_hdr_field(H_LOAD_ADDR, MULTIBOOT_AREA_END);
	set_hdr_field(H_HEADER_ADDR, MULTIBOOT_AREA_END + 0x40);
	set_hdr_field(H_LOAD_END_ADDR, MULTIBOOT_AREA_END + 0x200);
	set_hdr_field(H_BSS_END_ADDR, 0);
	set_hdr_field(H_ENTRY_ADDR, MULTIBOOT_AREA_END + 0x100);
	parse_ok(&mb);
}

/* --- ELF32 ------------------------------------------------------------------------------------ */

static void test_multiboot__elf_parse_translates_entry_to_physical(void **state)
{
	struct multiboot_image mb;

	parse_ok(&mb);
	assert_false(mb.aout_kludge);
	assert_int_equal(mb.entry, ELF_ENTRY);
	assert_int_equal(mb.nsegments, 2);
	assert_int_equal(mb.segments[0].paddr, SEG_A_PADDR);
	assert_int_equal(mb.segments[0].offset, SEG_A_OFF);
	assert_int_equal(mb.segments[0].filesz, SEG_A_FILESZ);
	assert_int_equal(mb.segments[0].memsz, SEG_A_MEMSZ);
	assert_int_equal(mb.segments[1].paddr, SEG_B_PADDR);
	assert_int_equal(mb.start, SEG_A_PADDR);
	assert_int_equal(mb.end, ELF_END);
	/* Identity-linked kernels (vaddr == paddr) are the common case. */
	ph(0)->p_vaddr = SEG_A_PADDR;
	eh()->e_entry = ELF_ENTRY;
	parse_ok(&mb);
	assert_int_equal(mb.entry, ELF_ENTRY);
}

static void test_multiboot__elf_entry_outside_image_is_refused(void **state)
{
	eh()->e_entry = SEG_A_VADDR + SEG_A_FILESZ; /* in bss */
	assert_rejected("entry point");
	eh()->e_entry = ELF_ENTRY; /* physical, but the segments are linked higher-half */
	assert_rejected("entry point");
}

static void test_multiboot__elf64_is_refused_with_advice(void **state)
{
	eh()->e_ident[EI_CLASS] = ELFCLASS64;
	assert_rejected("a.out kludge");
	assert_rejected("ELF64");
}

static void test_multiboot__non_x86_or_non_executable_elf_is_refused(void **state)
{
	eh()->e_machine = EM_ARM;
	assert_rejected("i386");
	build_elf();
	eh()->e_ident[EI_DATA] = ELFDATA2MSB;
	assert_rejected("i386");
	build_elf();
	eh()->e_ident[EI_CLASS] = ELFCLASSNONE;
	assert_rejected("i386");
	build_elf();
	eh()->e_type = ET_REL;
	assert_rejected("ET_EXEC");
}

static void test_multiboot__non_elf_without_kludge_is_refused(void **state)
{
	img[0] = 'M';
	img[1] = 'Z';
	assert_rejected("a.out kludge");
	/* An ELF file too short for its own header, with a multiboot header inside it. */
	build_elf();
	memset(img + ELF_HDR_OFF, 0, 12);
	put_header(24, ELF_FLAGS);
	assert_rejected_len(sizeof(Elf32_Ehdr) - 4, "truncated ELF header");
}

static void test_multiboot__truncated_program_headers_are_refused(void **state)
{
	eh()->e_phoff = ELF_SIZE - sizeof(Elf32_Phdr);
	assert_rejected("program headers");
	build_elf();
	eh()->e_phnum = 0xffff;
	assert_rejected("program headers");
	build_elf();
	eh()->e_phoff = 0xfffffff0;
	assert_rejected("program headers");
	build_elf();
	eh()->e_phnum = 0;
	assert_rejected("program headers");
	build_elf();
	eh()->e_phentsize = sizeof(Elf64_Phdr);
	assert_rejected("program headers");
	/* The table itself is cut off by a short file (the multiboot header is before it). */
	build_elf();
	memcpy(img + 0x200, img + sizeof(Elf32_Ehdr), 3 * sizeof(Elf32_Phdr));
	eh()->e_phoff = 0x200;
	assert_rejected_len(0x200 + 2 * sizeof(Elf32_Phdr) + 16, "program headers");
}

static void test_multiboot__elf_segment_beyond_file_is_refused(void **state)
{
	ph(2)->p_filesz = SEG_B_SIZE + 1;
	ph(2)->p_memsz = SEG_B_SIZE + 1;
	assert_rejected("beyond the end of the file");
	build_elf();
	ph(0)->p_offset = 0xfffffff0; /* offset + size wraps 32 bits */
	assert_rejected("beyond the end of the file");
	build_elf();
	ph(0)->p_memsz = SEG_A_FILESZ - 1; /* filesz > memsz */
	assert_rejected("larger than in memory");
	build_elf();
	assert_rejected_len(ELF_SIZE - 1, "beyond the end of the file");
}

static void test_multiboot__elf_segment_past_4g_or_in_low_area_is_refused(void **state)
{
	ph(2)->p_paddr = 0xffffff80; /* + 0x100 crosses 4 GiB */
	assert_rejected("4 GiB");
	build_elf();
	ph(2)->p_paddr = BOOT_PARAMS_ADDR;
	assert_rejected("overlaps");
	build_elf();
	ph(0)->p_paddr = 0;
	assert_rejected("overlaps");
}

static void test_multiboot__elf_without_loadable_segments_is_refused(void **state)
{
	ph(0)->p_type = PT_NULL;
	ph(2)->p_type = PT_NOTE;
	assert_rejected("no loadable segments");
	/* Empty PT_LOADs load nothing. */
	build_elf();
	ph(0)->p_filesz = ph(0)->p_memsz = 0;
	ph(2)->p_filesz = ph(2)->p_memsz = 0;
	assert_rejected("no loadable segments");
}

static void test_multiboot__elf_with_too_many_segments_is_refused(void **state)
{
	struct multiboot_image mb;
	int n = MULTIBOOT_MAX_SEGMENTS + 1;

	/* Move the multiboot header out of the way of a longer program header table. */
	memset(img + ELF_HDR_OFF, 0, 12);
	put_header(0x800, ELF_FLAGS);
	eh()->e_phnum = (Elf32_Half)n;
	for (int i = 0; i < n; i++)
		*ph(i) = (Elf32_Phdr){.p_type = PT_LOAD,
				      .p_offset = SEG_A_OFF,
				      .p_vaddr = SEG_A_VADDR + i * 0x1000,
				      .p_paddr = SEG_A_PADDR + i * 0x1000,
				      .p_filesz = 0x100,
				      .p_memsz = 0x100};
	assert_rejected("loadable segments");
	eh()->e_phnum = (Elf32_Half)(n - 1);
	parse_ok(&mb);
	assert_int_equal(mb.nsegments, MULTIBOOT_MAX_SEGMENTS);
}

static void test_multiboot__elf_reads_unaligned_program_headers(void **state)
{
	struct multiboot_image mb;

	memmove(img + sizeof(Elf32_Ehdr) + 2, img + sizeof(Elf32_Ehdr), 3 * sizeof(Elf32_Phdr));
	eh()->e_phoff = sizeof(Elf32_Ehdr) + 2;
	parse_ok(&mb);
	assert_int_equal(mb.entry, ELF_ENTRY);
}

static void test_multiboot__aout_kludge_wins_over_elf_headers(void **state)
{
	struct multiboot_image mb;

	/* An ELF whose header also sets bit 16: the spec says use the header's fields. */
	put_header(ELF_HDR_OFF, ELF_FLAGS | MULTIBOOT_AOUT_KLUDGE);
	set_hdr_field(H_HEADER_ADDR, 4 * MiB + ELF_HDR_OFF);
	set_hdr_field(H_LOAD_ADDR, 4 * MiB);
	set_hdr_field(H_LOAD_END_ADDR, 0);
	set_hdr_field(H_BSS_END_ADDR, 0);
	set_hdr_field(H_ENTRY_ADDR, 4 * MiB + SEG_A_OFF);
	parse_ok(&mb);
	assert_true(mb.aout_kludge);
	assert_int_equal(mb.nsegments, 1);
	assert_int_equal(mb.segments[0].paddr, 4 * MiB);
	assert_int_equal(mb.segments[0].offset, 0);
	assert_int_equal(mb.segments[0].filesz, ELF_SIZE);
	assert_int_equal(mb.entry, 4 * MiB + SEG_A_OFF);
}

/* --- multiboot_load into fake guest memory --------------------------------------------------- */

struct fixture {
	struct guest_memory mem;
	char initrd_path[64];
};

static int setup_ram(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || memory_init(&f->mem, 64 * MiB))
		return -1;
	*state = f;
	return 0;
}

static int setup_ram_aout(void **state)
{
	build_aout();
	return setup_ram(state);
}

static int setup_ram_elf(void **state)
{
	build_elf();
	return setup_ram(state);
}

static int teardown_ram(void **state)
{
	struct fixture *f = *state;

	if (f->initrd_path[0])
		unlink(f->initrd_path);
	memory_destroy(&f->mem);
	free(f);
	return 0;
}

static const char *write_initrd(struct fixture *f, size_t size, uint8_t **bytes)
{
	*bytes = test_pattern_bytes(size);
	return test_write_temp_file(f->initrd_path, *bytes, size);
}

static struct boot_request request(const char *cmdline, const char *initrd)
{
	return (struct boot_request){
	    .kernel_path = KERNEL_PATH,
	    .initrd_path = initrd,
	    .cmdline = cmdline,
	};
}

static int load_img(struct fixture *f, const struct boot_request *req, struct boot_entry *e)
{
	struct boot_file k = {img, img_len};

	return multiboot_load(&f->mem, req, &k, e);
}

/* Runs multiboot_load with stderr captured into msg (the one line it logs). */
static int load_img_logged(struct fixture *f, const struct boot_request *req, char *msg,
			   size_t msg_size)
{
	struct boot_entry e;
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO), r;
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	r = load_img(f, req, &e);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(msg, 1, msg_size - 1, tmp);
	msg[n] = '\0';
	fclose(tmp);
	return r;
}

static void assert_load_fails_saying(struct fixture *f, const struct boot_request *req,
				     const char *part)
{
	char msg[16384];

	assert_int_equal(load_img_logged(f, req, msg, sizeof(msg)), -1);
	if (!strstr(msg, part))
		fail_msg("log \"%s\" does not mention '%s'", msg, part);
	/* Exactly one line. */
	assert_non_null(strchr(msg, '\n'));
	assert_int_equal(strchr(msg, '\n')[1], '\0');
}

static struct multiboot_info info(struct fixture *f)
{
	struct multiboot_info mbi;

	assert_int_equal(memory_read(&f->mem, MULTIBOOT_INFO_ADDR, &mbi, sizeof(mbi)), 0);
	return mbi;
}

static const char *guest_str(struct fixture *f, uint32_t gpa)
{
	const char *s = gpa_to_host(&f->mem, gpa, 1);

	assert_non_null(s);
	return s;
}

static void test_multiboot__load_sets_entry_state(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;

	memset(&entry, 0x55, sizeof(entry));
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_int_equal(entry.mode, BOOT_ENTRY_PROT32);
	assert_int_equal(entry.rax, 0x2BADB002);
	assert_int_equal(entry.rbx, BOOT_PARAMS_ADDR);
	assert_int_equal(entry.rip, AOUT_ENTRY);
	assert_int_equal(entry.rsi, 0);
}

static void test_multiboot__load_writes_info_structure(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("console=ttyS0 debug", NULL);
	struct boot_entry entry;
	struct multiboot_info mbi;
	struct e820_entry map[E820_MAX_ENTRIES];
	int n;

	assert_int_equal(load_img(f, &req, &entry), 0);
	mbi = info(f);
	assert_int_equal(mbi.flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	/* Conventional memory as the E820 map has it (ends at the EBDA, 0x9fc00). */
	assert_int_equal(mbi.mem_lower, 639);
	assert_int_equal(mbi.mem_upper, 63 * 1024);
	assert_string_equal(guest_str(f, mbi.cmdline), KERNEL_PATH " console=ttyS0 debug");
	assert_string_equal(guest_str(f, mbi.boot_loader_name), "kvmbox");
	assert_int_equal(mbi.mods_count, 0);
	assert_int_equal(mbi.boot_device, 0);
	assert_int_equal(mbi.vbe_mode, 0);
	assert_int_equal(mbi.framebuffer_addr, 0);

	n = e820_build(&f->mem, map, E820_MAX_ENTRIES);
	assert_true(n >= 3);
	assert_int_equal(mbi.mmap_length, n * 24);
	for (int i = 0; i < n; i++) {
		struct multiboot_mmap_entry e;

		assert_int_equal(memory_read(&f->mem, mbi.mmap_addr + i * 24, &e, sizeof(e)), 0);
		assert_int_equal(e.size, 20);
		assert_int_equal(e.base_addr, map[i].addr);
		assert_int_equal(e.length, map[i].size);
		assert_int_equal(e.type, map[i].type);
	}
	/* All of it in the low area no segment may overlap. */
	assert_true(mbi.mmap_addr >= BOOT_PARAMS_ADDR + sizeof(mbi));
	assert_true(mbi.mmap_addr + mbi.mmap_length <= MULTIBOOT_AREA_END);
	assert_true(mbi.cmdline >= BOOT_PARAMS_ADDR && mbi.cmdline < MULTIBOOT_AREA_END);
}

static void test_multiboot__load_without_cmdline_passes_kernel_path(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;

	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_string_equal(guest_str(f, info(f).cmdline), KERNEL_PATH);
}

static void test_multiboot__load_passes_initrd_as_module_0(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes;
	size_t size = 300 * 1024 + 5;
	struct boot_request req = request("", write_initrd(f, size, &bytes));
	struct boot_entry entry;
	struct multiboot_info mbi;
	struct multiboot_module mod;

	assert_int_equal(load_img(f, &req, &entry), 0);
	mbi = info(f);
	assert_true(mbi.flags & MULTIBOOT_INFO_MODS);
	assert_int_equal(mbi.mods_count, 1);
	assert_int_equal(memory_read(&f->mem, mbi.mods_addr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.mod_start % 4096, 0);
	assert_true(mod.mod_start >= AOUT_BSS_END);
	assert_true(mod.mod_start < AOUT_BSS_END + 4096);
	assert_int_equal(mod.mod_end - mod.mod_start, size);
	assert_int_equal(mod.reserved, 0);
	assert_memory_equal(gpa_to_host(&f->mem, mod.mod_start, size), bytes, size);
	assert_string_equal(guest_str(f, mod.string), f->initrd_path);
	/* The list and the string do not overlap each other or the command line. */
	assert_true(mbi.mods_addr + sizeof(mod) <= mod.string || mod.string + 64 <= mbi.mods_addr);
	assert_true(mbi.mods_addr < MULTIBOOT_AREA_END && mod.string < MULTIBOOT_AREA_END);
	free(bytes);
}

static void test_multiboot__module_after_low_kernel_starts_at_1m(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes;
	struct boot_request req = request("", write_initrd(f, 5000, &bytes));
	struct boot_entry entry;
	struct multiboot_module mod;

	/* A kernel in low memory between the reserved ranges. */
	set_hdr_field(H_LOAD_ADDR, 0x40000);
	set_hdr_field(H_HEADER_ADDR, 0x40040);
	set_hdr_field(H_LOAD_END_ADDR, 0x40200);
	set_hdr_field(H_BSS_END_ADDR, 0);
	set_hdr_field(H_ENTRY_ADDR, 0x40100);
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_int_equal(memory_read(&f->mem, info(f).mods_addr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.mod_start, MEM_HIGH_START);
	assert_memory_equal(gpa_to_host(&f->mem, 0x40000, 0x200), img + AOUT_PREFIX, 0x200);
	free(bytes);
}

static void test_multiboot__aout_load_copies_image_and_zeroes_bss(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;
	uint8_t *ram = gpa_to_host(&f->mem, AOUT_LOAD_ADDR, 0x5000);

	memset(ram, 0xaa, 0x5000);
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_memory_equal(ram, img + AOUT_PREFIX, AOUT_LOAD_SIZE);
	for (size_t i = AOUT_LOAD_SIZE; i < AOUT_BSS_END - AOUT_LOAD_ADDR; i++)
		assert_int_equal(ram[i], 0);
	/* Nothing past bss_end_addr is touched. */
	assert_int_equal(ram[AOUT_BSS_END - AOUT_LOAD_ADDR], 0xaa);
}

static void test_multiboot__aout_load_end_zero_copies_whole_file(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;
	const size_t n = AOUT_FILE_SIZE - AOUT_PREFIX;
	uint8_t *ram = gpa_to_host(&f->mem, AOUT_LOAD_ADDR, n + 0x1000);

	set_hdr_field(H_LOAD_END_ADDR, 0);
	set_hdr_field(H_BSS_END_ADDR, AOUT_LOAD_ADDR + n + 0x800);
	memset(ram, 0xaa, n + 0x1000);
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_memory_equal(ram, img + AOUT_PREFIX, n);
	for (size_t i = n; i < n + 0x800; i++)
		assert_int_equal(ram[i], 0);
	assert_int_equal(ram[n + 0x800], 0xaa);
}

static void test_multiboot__elf_load_copies_segments_and_zeroes_bss(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;
	uint8_t *a = gpa_to_host(&f->mem, SEG_A_PADDR, SEG_A_MEMSZ);

	memset(a, 0xaa, SEG_A_MEMSZ);
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_int_equal(entry.rip, ELF_ENTRY);
	assert_int_equal(entry.rax, MULTIBOOT_BOOTLOADER_MAGIC);
	assert_memory_equal(a, img + SEG_A_OFF, SEG_A_FILESZ);
	for (size_t i = SEG_A_FILESZ; i < SEG_A_MEMSZ; i++)
		assert_int_equal(a[i], 0);
	assert_memory_equal(gpa_to_host(&f->mem, SEG_B_PADDR, SEG_B_SIZE), img + SEG_B_OFF,
			    SEG_B_SIZE);
}

static void test_multiboot__segment_outside_ram_is_refused(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);

	/* 63 MiB + 2 MiB of bss in a 64 MiB guest. */
	set_hdr_field(H_LOAD_ADDR, 63 * MiB);
	set_hdr_field(H_HEADER_ADDR, 63 * MiB + 0x40);
	set_hdr_field(H_LOAD_END_ADDR, 63 * MiB + 0x1000);
	set_hdr_field(H_BSS_END_ADDR, 65 * MiB);
	set_hdr_field(H_ENTRY_ADDR, 63 * MiB + 0x100);
	assert_load_fails_saying(f, &req,
				 "--kernel " KERNEL_PATH ": segment 0x3f00000-0x4100000 "
				 "lies outside guest RAM");
	/* Entirely above RAM. */
	set_hdr_field(H_LOAD_ADDR, 128 * MiB);
	set_hdr_field(H_HEADER_ADDR, 128 * MiB + 0x40);
	set_hdr_field(H_LOAD_END_ADDR, 128 * MiB + 0x1000);
	set_hdr_field(H_BSS_END_ADDR, 0);
	set_hdr_field(H_ENTRY_ADDR, 128 * MiB + 0x100);
	assert_load_fails_saying(f, &req, "raise --mem");
	/* The first one fits exactly. */
	set_hdr_field(H_LOAD_ADDR, 63 * MiB);
	set_hdr_field(H_HEADER_ADDR, 63 * MiB + 0x40);
	set_hdr_field(H_LOAD_END_ADDR, 63 * MiB + 0x1000);
	set_hdr_field(H_BSS_END_ADDR, 64 * MiB);
	set_hdr_field(H_ENTRY_ADDR, 63 * MiB + 0x100);
	assert_int_equal(load_img(f, &req, &(struct boot_entry){0}), 0);
}

static void test_multiboot__elf_segment_outside_ram_is_refused(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);

	ph(2)->p_paddr = 128 * MiB;
	assert_load_fails_saying(f, &req, "outside guest RAM");
}

static void test_multiboot__corrupt_image_is_refused_by_load(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);

	put32(hdr_off + H_CHECKSUM, 0);
	assert_load_fails_saying(f, &req,
				 "--kernel " KERNEL_PATH ": multiboot header checksum "
				 "mismatch");
	build_aout();
	set_hdr_field(H_HEADER_ADDR, AOUT_LOAD_ADDR - 0x1000);
	assert_load_fails_saying(f, &req, "header_addr");
}

static void test_multiboot__initrd_that_does_not_fit_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes;
	struct boot_request req = request("", write_initrd(f, 4096, &bytes));

	/* 64 MiB of RAM and the kernel ends above 2 MiB: 62 MiB cannot fit after it. */
	assert_int_equal(truncate(f->initrd_path, 62 * MiB), 0);
	assert_load_fails_saying(f, &req, "do not fit in guest memory");
	/* Just fits: from 2 MiB + 16 KiB (page aligned) to the end of RAM. */
	assert_int_equal(truncate(f->initrd_path, 64 * MiB - AOUT_BSS_END), 0);
	assert_int_equal(load_img(f, &req, &(struct boot_entry){0}), 0);
	free(bytes);
}

static void test_multiboot__missing_initrd_is_refused(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", "/nonexistent/kvmbox-initrd");

	assert_load_fails_saying(f, &req, "--initrd /nonexistent/kvmbox-initrd");
}

static void test_multiboot__too_long_cmdline_is_refused(void **state)
{
	struct fixture *f = *state;
	static char cmdline[MULTIBOOT_CMDLINE_MAX + 2];
	struct boot_request req = request(cmdline, NULL);
	/* Room left for --cmdline after the kernel path and the space. */
	size_t room = MULTIBOOT_CMDLINE_MAX - strlen(KERNEL_PATH) - 1;

	memset(cmdline, 'x', room + 1);
	cmdline[room + 1] = '\0';
	assert_load_fails_saying(f, &req, "at most 4095");
	cmdline[room] = '\0';
	assert_int_equal(load_img(f, &req, &(struct boot_entry){0}), 0);
	assert_int_equal(strlen(guest_str(f, info(f).cmdline)), MULTIBOOT_CMDLINE_MAX);
	/* The boot loader name after the command line is intact. */
	assert_string_equal(guest_str(f, info(f).boot_loader_name), "kvmbox");
}

static void test_multiboot__too_long_initrd_path_is_refused(void **state)
{
	struct fixture *f = *state;
	static char path[MULTIBOOT_MODSTR_MAX + 2];
	struct boot_request req = request("", path);

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	assert_load_fails_saying(f, &req, "--initrd: the path (4096 bytes)");
}

/* --- random mutations ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/*
 * Mutates valid a.out and ELF images (mostly in the headers, sometimes anywhere, sometimes
 * truncating) and parses and loads each into fake guest RAM. Under SANITIZE=1 any
 * out-of-bounds access fails the test; here we also check that whatever loads keeps to RAM.
 */
static void test_multiboot__random_mutations_never_crash(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("console=ttyS0", NULL);
	int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
	int loaded = 0, parsed = 0;

	assert_true(saved >= 0 && devnull >= 0);
	fflush(stderr);
	dup2(devnull, STDERR_FILENO); /* the loader logs one line per rejection */
	for (int iter = 0; iter < 20000; iter++) {
		struct multiboot_image mb;
		struct boot_entry entry;
		const char *why = NULL;
		int nmut = 1 + (int)(rng() % 8);
		uint8_t *copy;
		size_t len;

		if (iter & 1)
			build_elf();
		else
			build_aout();
		for (int m = 0; m < nmut; m++) {
			size_t span = rng() % 4 ? 0x300 : img_len; /* the headers live low */
			size_t pos = rng() % span;
			switch (rng() % 4) {
			case 0:
				img[pos] = (uint8_t)rng();
				break;
			case 1:
				img[pos] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 2:
				if (pos + 4 <= img_len)
					put32(pos, rng() % 2 ? 0xffffffff : rng());
				break;
			default:
				img[pos] = 0;
				break;
			}
		}
		/* Keep the header's checksum valid half the time, so parsing goes deeper. */
		if (rng() % 2) {
			int off = multiboot_find_header(img, img_len);
			if (off >= 0) {
				uint32_t magic, flags;
				memcpy(&magic, img + off, 4);
				memcpy(&flags, img + off + 4, 4);
				put32((size_t)off + H_CHECKSUM, -(magic + flags));
			}
		}
		len = rng() % 8 ? img_len : rng() % (img_len + 1);
		/* An exact-size heap copy, so ASan sees any read past the end of the file. */
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, img, len);
		(void)multiboot_detect(copy, len);
		(void)multiboot_find_header(copy, len);
		if (multiboot_parse(copy, len, &mb, &why) == 0) {
			struct boot_file k = {copy, len};
			parsed++;
			assert_true(mb.nsegments > 0 && mb.nsegments <= MULTIBOOT_MAX_SEGMENTS);
			for (int i = 0; i < mb.nsegments; i++) {
				assert_true(mb.segments[i].filesz <= mb.segments[i].memsz);
				assert_true(mb.segments[i].offset + mb.segments[i].filesz <= len);
				assert_true(mb.segments[i].paddr + mb.segments[i].memsz <=
					    0x100000000ULL);
			}
			if (multiboot_load(&f->mem, &req, &k, &entry) == 0) {
				loaded++;
				assert_int_equal(entry.rax, MULTIBOOT_BOOTLOADER_MAGIC);
				assert_true(entry.rip >= mb.start && entry.rip < mb.end);
			}
		} else {
			assert_non_null(why);
		}
		free(copy);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	/* The mutations should not all be trivially rejected. */
	print_message("random mutations: %d parsed, %d loaded of 20000\n", parsed, loaded);
	assert_true(parsed > 1000);
	assert_true(loaded > 500);
}

#define AOUT_TEST(f) cmocka_unit_test_setup(f, setup_aout)
#define ELF_TEST(f)  cmocka_unit_test_setup(f, setup_elf)
#define AOUT_RAM(f)  cmocka_unit_test_setup_teardown(f, setup_ram_aout, teardown_ram)
#define ELF_RAM(f)   cmocka_unit_test_setup_teardown(f, setup_ram_elf, teardown_ram)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_multiboot__detects_aout_and_elf_headers),
	    AOUT_TEST(test_multiboot__bad_checksum_is_refused),
	    AOUT_TEST(test_multiboot__valid_header_after_broken_one_is_used),
	    ELF_TEST(test_multiboot__unaligned_magic_is_not_found),
	    ELF_TEST(test_multiboot__header_beyond_8k_is_not_found),
	    AOUT_TEST(test_multiboot__aout_fields_past_8k_are_refused),
	    AOUT_TEST(test_multiboot__aout_parse_maps_file_offset_to_load_addr),
	    AOUT_TEST(test_multiboot__aout_load_end_zero_loads_to_end_of_file),
	    AOUT_TEST(test_multiboot__aout_header_addr_below_load_addr_is_refused),
	    AOUT_TEST(test_multiboot__aout_load_addr_before_file_start_is_refused),
	    AOUT_TEST(test_multiboot__aout_load_range_beyond_file_is_refused),
	    AOUT_TEST(test_multiboot__aout_load_end_below_load_addr_is_refused),
	    AOUT_TEST(test_multiboot__aout_bss_end_below_load_end_is_refused),
	    AOUT_TEST(test_multiboot__aout_entry_outside_image_is_refused),
	    AOUT_TEST(test_multiboot__aout_range_past_4g_is_refused),
	    AOUT_TEST(test_multiboot__unsupported_required_flags_are_refused),
	    AOUT_TEST(test_multiboot__segment_overlapping_reserved_low_memory_is_refused),
	    ELF_TEST(test_multiboot__elf_parse_translates_entry_to_physical),
	    ELF_TEST(test_multiboot__elf_entry_outside_image_is_refused),
	    ELF_TEST(test_multiboot__elf64_is_refused_with_advice),
	    ELF_TEST(test_multiboot__non_x86_or_non_executable_elf_is_refused),
	    ELF_TEST(test_multiboot__non_elf_without_kludge_is_refused),
	    ELF_TEST(test_multiboot__truncated_program_headers_are_refused),
	    ELF_TEST(test_multiboot__elf_segment_beyond_file_is_refused),
	    ELF_TEST(test_multiboot__elf_segment_past_4g_or_in_low_area_is_refused),
	    ELF_TEST(test_multiboot__elf_without_loadable_segments_is_refused),
	    ELF_TEST(test_multiboot__elf_with_too_many_segments_is_refused),
	    ELF_TEST(test_multiboot__elf_reads_unaligned_program_headers),
	    ELF_TEST(test_multiboot__aout_kludge_wins_over_elf_headers),
	    AOUT_RAM(test_multiboot__load_sets_entry_state),
	    AOUT_RAM(test_multiboot__load_writes_info_structure),
	    AOUT_RAM(test_multiboot__load_without_cmdline_passes_kernel_path),
	    AOUT_RAM(test_multiboot__load_passes_initrd_as_module_0),
	    AOUT_RAM(test_multiboot__module_after_low_kernel_starts_at_1m),
	    AOUT_RAM(test_multiboot__aout_load_copies_image_and_zeroes_bss),
	    AOUT_RAM(test_multiboot__aout_load_end_zero_copies_whole_file),
	    ELF_RAM(test_multiboot__elf_load_copies_segments_and_zeroes_bss),
	    AOUT_RAM(test_multiboot__segment_outside_ram_is_refused),
	    ELF_RAM(test_multiboot__elf_segment_outside_ram_is_refused),
	    AOUT_RAM(test_multiboot__corrupt_image_is_refused_by_load),
	    AOUT_RAM(test_multiboot__initrd_that_does_not_fit_is_refused),
	    AOUT_RAM(test_multiboot__missing_initrd_is_refused),
	    AOUT_RAM(test_multiboot__too_long_cmdline_is_refused),
	    AOUT_RAM(test_multiboot__too_long_initrd_path_is_refused),
	    AOUT_RAM(test_multiboot__random_mutations_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
