/*
 * Tests for the bzImage loader (boot/bzimage.c) and initrd placement (boot/boot.c), on the
 * real guest kernel named by KVMBOX_GUEST_BZIMAGE and on corrupted copies of it. Without
 * that variable every test that needs the image fails and says so: these tests never skip.
 */
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

#include "arch/x86/boot_params.h"
#include "arch/x86/platform.h"
#include "boot/boot.h"
#include "boot/bzimage.h"
#include "memory.h"

#define ENV_BZIMAGE "KVMBOX_GUEST_BZIMAGE"
#define LOAD_ADDR   (16 * MiB)
#define RSDP_GPA    0xe0000ULL

/* --- the real image, read once ---------------------------------------------------------- */

static struct boot_file image;
static const char *image_path;

static const struct boot_file *real_image(void)
{
	if (image.data)
		return &image;
	image_path = getenv(ENV_BZIMAGE);
	if (!image_path || !*image_path)
		fail_msg(ENV_BZIMAGE " is not set: point it at the guest kernel's bzImage "
				     "(make guest writes build/guest/bzImage)");
	if (boot_file_read("--kernel", image_path, 512 * MiB, &image) < 0)
		fail_msg(ENV_BZIMAGE "=%s cannot be read", image_path);
	return &image;
}

/* A private copy of the image, to corrupt. */
static uint8_t *image_copy(void)
{
	const struct boot_file *img = real_image();
	uint8_t *p = malloc(img->size);

	assert_non_null(p);
	memcpy(p, img->data, img->size);
	return p;
}

/* The setup header inside a copy (packed: any alignment is fine). */
static struct setup_header *hdr_of(uint8_t *buf)
{
	return (struct setup_header *)(buf + SETUP_HDR_OFFSET);
}

/* bzimage_parse rejects buf[0..len) with a reason containing `why_part`. */
static void assert_rejected(const uint8_t *buf, size_t len, const char *why_part)
{
	struct bzimage_info info;
	const char *why = NULL;

	if (bzimage_parse(buf, len, &info, &why) != -1)
		fail_msg("accepted, expected rejection with '%s'", why_part);
	test_assert_reason(why, why_part);
}

/* --- temporary files --------------------------------------------------------------------- */

static char tmp_paths[4][TEST_TEMP_PATH_MAX];
static int ntmp;

static const char *tmp_file(const void *data, size_t len, off_t sparse_size)
{
	const char *path = test_write_temp_file(tmp_paths[ntmp++], data, len);

	if (sparse_size)
		assert_int_equal(truncate(path, sparse_size), 0);
	return path;
}

/* Deterministic "random" bytes (xorshift), so a failure can be reproduced. */
static uint8_t *random_bytes(size_t len)
{
	uint8_t *p = malloc(len);
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
	return p;
}

struct fixture {
	struct guest_memory mem;
};

static int setup_256m(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || memory_init(&f->mem, 256 * MiB))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	memory_destroy(&f->mem);
	free(f);
	while (ntmp > 0)
		unlink(tmp_paths[--ntmp]);
	return 0;
}

static struct boot_request request(const char *cmdline, const char *initrd)
{
	real_image(); /* sets image_path */
	return (struct boot_request){
	    .kernel_path = image_path,
	    .initrd_path = initrd,
	    .cmdline = cmdline,
	    .rsdp_gpa = RSDP_GPA,
	};
}

static struct boot_params *zero_page(struct guest_memory *mem)
{
	struct boot_params *bp = gpa_to_host(mem, BOOT_PARAMS_ADDR, sizeof(*bp));

	assert_non_null(bp);
	return bp;
}

/* --- parsing the real image -------------------------------------------------------------- */

static void test_bzimage__real_image_parses_with_expected_header(void **state)
{
	const struct boot_file *img = real_image();
	struct bzimage_info info;
	const char *why = NULL;

	assert_true(bzimage_detect(img->data, img->size));
	assert_int_equal(bzimage_parse(img->data, img->size, &info, &why), 0);
	assert_true(info.hdr.version >= 0x020c);
	assert_true(info.hdr.xloadflags & XLF_KERNEL_64);
	assert_true(info.hdr.loadflags & LOADFLAG_LOADED_HIGH);
	assert_int_equal(info.hdr.header, SETUP_HDR_MAGIC);
	assert_int_equal(info.load_addr, LOAD_ADDR);
	/* COMMAND_LINE_SIZE is 2048 with the NUL; the header gives it without. */
	assert_int_equal(info.hdr.cmdline_size, 2047);
	assert_int_equal(info.cmdline_max, 2047);
	assert_int_equal(info.setup_size % 512, 0);
	assert_int_equal(info.setup_size, (info.hdr.setup_sects + 1) * 512);
	assert_int_equal(info.payload_size, img->size - info.setup_size);
	assert_true((uint64_t)info.hdr.syssize * 16 <= info.payload_size);
	assert_true(info.hdr.init_size >= info.payload_size);
	/* Protocol 2.15+: the header runs up to kernel_info_offset, all of it ours. */
	assert_int_equal(info.hdr_len, sizeof(struct setup_header));
}

static void test_bzimage__rejects_truncated_copies(void **state)
{
	const struct boot_file *img = real_image();
	struct bzimage_info info;
	const char *why;
	size_t setup_size;

	assert_int_equal(bzimage_parse(img->data, img->size, &info, &why), 0);
	setup_size = info.setup_size;
	assert_rejected(img->data, 0, "not a bzImage");
	assert_rejected(img->data, 0x100, "not a bzImage");
	assert_rejected(img->data, SETUP_HDR_OFFSET + 10, "not a bzImage");
	assert_rejected(img->data, 0x206, "setup header is cut off");
	assert_rejected(img->data, 0x240, "setup header is cut off");
	assert_rejected(img->data, setup_size, "truncated");
	assert_rejected(img->data, setup_size + 1, "truncated");
	assert_rejected(img->data, img->size / 2, "truncated");
	assert_rejected(img->data, img->size - 1, "truncated");
}

static void test_bzimage__rejects_broken_magic(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();

	hdr_of(p)->boot_flag = 0;
	assert_false(bzimage_detect(p, img->size));
	assert_rejected(p, img->size, "not a bzImage");
	memcpy(p, img->data, img->size);
	p[SETUP_HDR_OFFSET + offsetof(struct setup_header, header) + 3] = 'Z'; /* "HdrZ" */
	assert_rejected(p, img->size, "HdrS");
	free(p);
}

static void test_bzimage__rejects_old_protocol(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();

	hdr_of(p)->version = 0x0200;
	assert_rejected(p, img->size, "2.12");
	hdr_of(p)->version = 0x020b;
	assert_rejected(p, img->size, "2.12");
	free(p);
}

static void test_bzimage__rejects_kernel_without_64bit_entry(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();

	hdr_of(p)->xloadflags &= ~XLF_KERNEL_64;
	assert_rejected(p, img->size, "64-bit");
	free(p);
}

static void test_bzimage__rejects_zimage_loaded_low(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();

	hdr_of(p)->loadflags &= ~LOADFLAG_LOADED_HIGH;
	assert_rejected(p, img->size, "loaded low");
	free(p);
}

static void test_bzimage__rejects_bad_alignment_and_pref_address(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();

	hdr_of(p)->kernel_alignment = 0x300000;
	assert_rejected(p, img->size, "power of two");
	memcpy(p, img->data, img->size);
	hdr_of(p)->pref_address = LOAD_ADDR + 0x1000; /* alignment is 2 MiB */
	assert_rejected(p, img->size, "aligned");
	memcpy(p, img->data, img->size);
	hdr_of(p)->pref_address = 4 * GiB;
	assert_rejected(p, img->size, "outside low RAM");
	free(p);
}

static void test_bzimage__rejects_init_size_smaller_than_payload(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();
	struct bzimage_info info;
	const char *why;

	assert_int_equal(bzimage_parse(img->data, img->size, &info, &why), 0);
	hdr_of(p)->init_size = (uint32_t)info.payload_size - 1;
	assert_rejected(p, img->size, "init_size");
	hdr_of(p)->init_size = (uint32_t)info.payload_size;
	assert_int_equal(bzimage_parse(p, img->size, &info, &why), 0);
	free(p);
}

static void test_bzimage__header_defaults_for_zero_fields(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();
	struct bzimage_info info;
	const char *why;

	hdr_of(p)->setup_sects = 0;  /* means 4 */
	hdr_of(p)->pref_address = 0; /* means 16 MiB */
	hdr_of(p)->cmdline_size = 0; /* means 255 */
	assert_int_equal(bzimage_parse(p, img->size, &info, &why), 0);
	assert_int_equal(info.setup_size, 5 * 512);
	assert_int_equal(info.payload_size, img->size - 5 * 512);
	assert_int_equal(info.load_addr, LOAD_ADDR);
	assert_int_equal(info.cmdline_max, 255);
	free(p);
}

/* --- loading into guest memory ----------------------------------------------------------- */

static void test_bzimage__load_fills_zero_page_cmdline_and_payload(void **state)
{
	struct fixture *f = *state;
	const struct boot_file *img = real_image();
	struct boot_request req = request("console=ttyS0 panic=-1", NULL);
	struct boot_entry entry;
	struct bzimage_info info;
	struct e820_entry map[E820_MAX_ENTRIES];
	struct boot_params *bp;
	const char *why;
	int n;

	assert_int_equal(bzimage_parse(img->data, img->size, &info, &why), 0);
	assert_int_equal(bzimage_load(&f->mem, &req, img, &entry), 0);
	assert_int_equal(entry.mode, BOOT_ENTRY_LONG64);
	assert_int_equal(entry.rip, LOAD_ADDR + 0x200);
	assert_int_equal(entry.rsi, BOOT_PARAMS_ADDR);

	bp = zero_page(&f->mem);
	assert_int_equal(bp->hdr.header, SETUP_HDR_MAGIC);
	assert_int_equal(bp->hdr.version, info.hdr.version);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & LOADFLAG_LOADED_HIGH);
	assert_true(bp->hdr.loadflags & LOADFLAG_CAN_USE_HEAP);
	assert_int_equal(bp->hdr.vid_mode, 0xffff);
	assert_int_equal(bp->acpi_rsdp_addr, RSDP_GPA);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_string_equal(
	    gpa_to_host(&f->mem, bp->hdr.cmd_line_ptr, sizeof("console=ttyS0 panic=-1")),
	    "console=ttyS0 panic=-1");

	n = e820_build(&f->mem, map, E820_MAX_ENTRIES);
	assert_int_equal(bp->e820_entries, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(bp->e820_table[i].addr, map[i].addr);
		assert_int_equal(bp->e820_table[i].size, map[i].size);
		assert_int_equal(bp->e820_table[i].type, map[i].type);
	}

	assert_memory_equal(gpa_to_host(&f->mem, LOAD_ADDR, info.payload_size),
			    img->data + info.setup_size, info.payload_size);
}

static void test_bzimage__load_places_initrd_above_kernel_page_aligned(void **state)
{
	struct fixture *f = *state;
	const struct boot_file *img = real_image();
	size_t size = 1 * MiB;
	uint8_t *bytes = random_bytes(size);
	struct boot_request req = request("console=ttyS0", tmp_file(bytes, size, 0));
	struct boot_entry entry;
	struct bzimage_info info;
	struct boot_params *bp;
	const char *why;
	uint64_t addr;

	assert_int_equal(bzimage_parse(img->data, img->size, &info, &why), 0);
	assert_int_equal(bzimage_load(&f->mem, &req, img, &entry), 0);
	bp = zero_page(&f->mem);
	addr = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	assert_int_equal(bp->hdr.ramdisk_size, size);
	assert_int_equal(bp->ext_ramdisk_size, 0);
	assert_int_equal(addr % 4096, 0);
	assert_true(addr >= LOAD_ADDR + info.hdr.init_size);
	assert_true(addr + size <= (uint64_t)info.hdr.initrd_addr_max + 1);
	assert_true(addr + size <= memory_low_end(&f->mem));
	/* As high as possible: less than a page left above it. */
	assert_true(memory_low_end(&f->mem) - (addr + size) < 4096);
	assert_memory_equal(gpa_to_host(&f->mem, addr, size), bytes, size);
	free(bytes);
}

static void test_bzimage__load_keeps_initrd_below_initrd_addr_max(void **state)
{
	struct fixture *f = *state;
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();
	struct boot_file copy = {p, img->size};
	uint8_t *bytes = random_bytes(64 * 1024);
	struct boot_request req = request("", tmp_file(bytes, 64 * 1024, 0));
	struct boot_entry entry;
	struct boot_params *bp;

	hdr_of(p)->initrd_addr_max = 64 * MiB - 1;
	assert_int_equal(bzimage_load(&f->mem, &req, &copy, &entry), 0);
	bp = zero_page(&f->mem);
	assert_true(bp->hdr.ramdisk_image + 64 * 1024 <= 64 * MiB);
	assert_true(bp->hdr.ramdisk_image >= 64 * MiB - 64 * 1024 - 4096);
	assert_memory_equal(gpa_to_host(&f->mem, bp->hdr.ramdisk_image, 64 * 1024), bytes,
			    64 * 1024);
	free(bytes);
	free(p);
}

static void test_bzimage__load_accepts_cmdline_of_cmdline_size(void **state)
{
	struct fixture *f = *state;
	char cmdline[2048];
	struct boot_request req = request(cmdline, NULL);
	struct boot_entry entry;

	memset(cmdline, 'a', 2047);
	cmdline[2047] = 0;
	assert_int_equal(bzimage_load(&f->mem, &req, real_image(), &entry), 0);
	assert_int_equal(strlen(gpa_to_host(&f->mem, BOOT_CMDLINE_ADDR, 2048)), 2047);
}

static void test_bzimage__load_rejects_cmdline_longer_than_cmdline_size(void **state)
{
	struct fixture *f = *state;
	char cmdline[2050];
	struct boot_request req = request(cmdline, NULL);
	struct boot_entry entry;

	memset(cmdline, 'a', 2049);
	cmdline[2049] = 0;
	assert_int_equal(bzimage_load(&f->mem, &req, real_image(), &entry), -1);
	cmdline[2048] = 0;
	assert_int_equal(bzimage_load(&f->mem, &req, real_image(), &entry), -1);
}

/* init_size decides: the kernel needs [16 MiB, 16 MiB + init_size) below the PCI hole. */
static void test_bzimage__load_needs_init_size_below_end_of_memory(void **state)
{
	const struct boot_file *img = real_image();
	uint8_t *p = image_copy();
	struct boot_file copy = {p, img->size};
	struct boot_request req = request("console=ttyS0", NULL);
	struct boot_entry entry;
	struct guest_memory mem;

	assert_int_equal(memory_init(&mem, 32 * MiB), 0);
	hdr_of(p)->init_size = 16 * MiB; /* ends exactly at the end of RAM */
	assert_int_equal(bzimage_load(&mem, &req, &copy, &entry), 0);
	hdr_of(p)->init_size = 16 * MiB + 4096;
	assert_int_equal(bzimage_load(&mem, &req, &copy, &entry), -1);
	memory_destroy(&mem);
	free(p);
}

/* In 64 MiB, the initrd gets [page-rounded kernel end, 64 MiB): a byte more fails. */
static void test_bzimage__load_fits_initrd_exactly_between_kernel_and_end_of_ram(void **state)
{
	const struct boot_file *img = real_image();
	struct bzimage_info info;
	struct boot_entry entry;
	struct boot_request fits, too_big;
	struct guest_memory mem;
	const char *why;
	uint64_t room;

	assert_int_equal(bzimage_parse(img->data, img->size, &info, &why), 0);
	room = 64 * MiB - ((info.load_addr + info.hdr.init_size + 4095) & ~4095ULL);
	assert_int_equal(memory_init(&mem, 64 * MiB), 0);
	fits = request("", tmp_file(NULL, 0, (off_t)room));
	too_big = request("", tmp_file(NULL, 0, (off_t)room + 1));
	assert_int_equal(bzimage_load(&mem, &fits, img, &entry), 0);
	assert_int_equal(zero_page(&mem)->hdr.ramdisk_image, 64 * MiB - room);
	assert_int_equal(bzimage_load(&mem, &too_big, img, &entry), -1);
	memory_destroy(&mem);
}

static void test_bzimage__load_fails_when_initrd_is_larger_than_memory(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("console=ttyS0", tmp_file(NULL, 0, 257 * MiB));
	struct boot_entry entry;

	assert_int_equal(bzimage_load(&f->mem, &req, real_image(), &entry), -1);
}

static void test_bzimage__load_fails_on_missing_initrd(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("console=ttyS0", "/nonexistent/initrd.gz");
	struct boot_entry entry;

	assert_int_equal(bzimage_load(&f->mem, &req, real_image(), &entry), -1);
}

static void test_bzimage__boot_load_detects_bzimage_in_file(void **state)
{
	struct fixture *f = *state;
	const struct boot_file *img = real_image();
	struct boot_request req = request("console=ttyS0", NULL);
	struct boot_entry entry;

	assert_int_equal(boot_load(&f->mem, &req, &entry), 0);
	assert_int_equal(entry.mode, BOOT_ENTRY_LONG64);
	assert_memory_equal(gpa_to_host(&f->mem, LOAD_ADDR, 4096),
			    img->data + (img->data[SETUP_HDR_OFFSET] + 1) * 512, 4096);
}

static void test_bzimage__boot_load_rejects_unknown_and_empty_files(void **state)
{
	struct fixture *f = *state;
	struct boot_entry entry;
	struct boot_request req = request("", NULL);

	const char *script = "#!/bin/sh\necho not a kernel\n";

	req.kernel_path = tmp_file(script, strlen(script), 0);
	assert_int_equal(boot_load(&f->mem, &req, &entry), -1);
	req.kernel_path = tmp_file(NULL, 0, 0);
	assert_int_equal(boot_load(&f->mem, &req, &entry), -1);
	req.kernel_path = "/nonexistent/bzImage";
	assert_int_equal(boot_load(&f->mem, &req, &entry), -1);
	req.kernel_path = "/tmp";
	assert_int_equal(boot_load(&f->mem, &req, &entry), -1);
}

/* --- boot_place_initrd ------------------------------------------------------------------- */

static void test_boot__place_initrd_rejects_empty_and_oversized(void **state)
{
	assert_int_equal(boot_place_initrd(0, 32 * MiB, 256 * MiB), 0);
	assert_int_equal(boot_place_initrd(256 * MiB + 1, 0, 256 * MiB), 0);
	assert_int_equal(boot_place_initrd(UINT64_MAX, 0, 256 * MiB), 0);
}

static void test_boot__place_initrd_goes_as_high_as_possible(void **state)
{
	assert_int_equal(boot_place_initrd(MiB, 32 * MiB, 256 * MiB), 255 * MiB);
	assert_int_equal(boot_place_initrd(1, 32 * MiB, 256 * MiB), 256 * MiB - 4096);
}

static void test_boot__place_initrd_exact_fit_and_one_byte_over(void **state)
{
	assert_int_equal(boot_place_initrd(224 * MiB, 32 * MiB, 256 * MiB), 32 * MiB);
	assert_int_equal(boot_place_initrd(224 * MiB + 1, 32 * MiB, 256 * MiB), 0);
}

static void test_boot__place_initrd_aligns_down_to_a_page(void **state)
{
	/* End not page aligned: the start is rounded down, the end stays below max_end. */
	uint64_t addr = boot_place_initrd(0x1000, 0, 0x10000800);

	assert_int_equal(addr, 0x0ffff000);
	addr = boot_place_initrd(0x1234, 0x100000, 0x200000);
	assert_int_equal(addr % 4096, 0);
	assert_true(addr + 0x1234 <= 0x200000);
	assert_true(0x200000 - (addr + 0x1234) < 4096);
}

static void test_boot__place_initrd_rounds_min_up_to_a_page(void **state)
{
	/* [0x1001, 0x3000): the only aligned start at or above min is 0x2000. */
	assert_int_equal(boot_place_initrd(0x1000, 0x1001, 0x3000), 0x2000);
	assert_int_equal(boot_place_initrd(0x1001, 0x1001, 0x3000), 0);
	assert_int_equal(boot_place_initrd(0x1000, 0x2000, 0x3000), 0x2000);
}

static void test_boot__place_initrd_never_returns_address_zero(void **state)
{
	assert_int_equal(boot_place_initrd(0x10000, 0, 0x10000), 0);
	assert_int_equal(boot_place_initrd(0x1000, 0x5000, 0x4000), 0); /* min above max */
}

#define IMG(f) cmocka_unit_test_setup_teardown(f, NULL, NULL)
#define RAM(f) cmocka_unit_test_setup_teardown(f, setup_256m, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    IMG(test_bzimage__real_image_parses_with_expected_header),
	    IMG(test_bzimage__rejects_truncated_copies),
	    IMG(test_bzimage__rejects_broken_magic),
	    IMG(test_bzimage__rejects_old_protocol),
	    IMG(test_bzimage__rejects_kernel_without_64bit_entry),
	    IMG(test_bzimage__rejects_zimage_loaded_low),
	    IMG(test_bzimage__rejects_bad_alignment_and_pref_address),
	    IMG(test_bzimage__rejects_init_size_smaller_than_payload),
	    IMG(test_bzimage__header_defaults_for_zero_fields),
	    RAM(test_bzimage__load_fills_zero_page_cmdline_and_payload),
	    RAM(test_bzimage__load_places_initrd_above_kernel_page_aligned),
	    RAM(test_bzimage__load_keeps_initrd_below_initrd_addr_max),
	    RAM(test_bzimage__load_accepts_cmdline_of_cmdline_size),
	    RAM(test_bzimage__load_rejects_cmdline_longer_than_cmdline_size),
	    RAM(test_bzimage__load_needs_init_size_below_end_of_memory),
	    RAM(test_bzimage__load_fits_initrd_exactly_between_kernel_and_end_of_ram),
	    RAM(test_bzimage__load_fails_when_initrd_is_larger_than_memory),
	    RAM(test_bzimage__load_fails_on_missing_initrd),
	    RAM(test_bzimage__boot_load_detects_bzimage_in_file),
	    RAM(test_bzimage__boot_load_rejects_unknown_and_empty_files),
	    cmocka_unit_test(test_boot__place_initrd_rejects_empty_and_oversized),
	    cmocka_unit_test(test_boot__place_initrd_goes_as_high_as_possible),
	    cmocka_unit_test(test_boot__place_initrd_exact_fit_and_one_byte_over),
	    cmocka_unit_test(test_boot__place_initrd_aligns_down_to_a_page),
	    cmocka_unit_test(test_boot__place_initrd_rounds_min_up_to_a_page),
	    cmocka_unit_test(test_boot__place_initrd_never_returns_address_zero),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	boot_file_free(&image);
	return r;
}
