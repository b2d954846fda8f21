/*
 * Tests for the PVH loader (boot/pvh.c): small ELF64 images built here (two PT_LOADs and a
 * PT_NOTE holding a GNU note and the Xen PHYS32_ENTRY note), corrupted one field at a time,
 * and the real guest vmlinux named by KVMBOX_GUEST_VMLINUX (required: never skipped).
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_util.h"

#include "arch/x86/boot_params.h"
#include "arch/x86/platform.h"
#include "boot/boot.h"
#include "boot/pvh.h"
#include "memory.h"

#define ENV_VMLINUX "KVMBOX_GUEST_VMLINUX"

/* The test image: [ehdr | 3 phdrs | ... notes at 0x200 | seg A at 0x1000 | seg B at 0x2000] */
#define IMG_SIZE     0x2100
#define NOTE_OFF     0x200
#define SEG_A_OFF    0x1000
#define SEG_A_FILESZ 0x800
#define SEG_A_MEMSZ  0x1800 /* 4 KiB of bss */
#define SEG_A_PADDR  (16 * MiB)
#define SEG_B_OFF    0x2000
#define SEG_B_SIZE   0x100
#define SEG_B_PADDR  (16 * MiB + 0x2000)
#define KERNEL_END   (SEG_B_PADDR + SEG_B_SIZE)
#define ENTRY	     0x1000040
#define RSDP_GPA     0xe0000ULL

static _Alignas(8) uint8_t img[IMG_SIZE];
static size_t xen_note_off; /* where the Xen note's Elf64_Nhdr is */
static size_t notes_len;

static Elf64_Ehdr *eh(void)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *ph(int i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

static Elf64_Nhdr *xen_note(void)
{
	return (Elf64_Nhdr *)(img + xen_note_off);
}

/* Appends a note at off; returns the offset after it (name and desc padded to 4). */
static size_t put_note(size_t off, const char *name, uint32_t namesz, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = {.n_namesz = namesz, .n_descsz = descsz, .n_type = type};

	memcpy(img + off, &nh, sizeof(nh));
	off += sizeof(nh);
	memcpy(img + off, name, namesz);
	off += (namesz + 3) & ~3u;
	memcpy(img + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

static void build_image(uint32_t entry_descsz)
{
	uint8_t build_id[20];
	uint64_t entry = ENTRY;
	size_t off;

	memset(img, 0, sizeof(img));
	memcpy(eh()->e_ident, ELFMAG, SELFMAG);
	eh()->e_ident[EI_CLASS] = ELFCLASS64;
	eh()->e_ident[EI_DATA] = ELFDATA2LSB;
	eh()->e_ident[EI_VERSION] = EV_CURRENT;
	eh()->e_type = ET_EXEC;
	eh()->e_machine = EM_X86_64;
	eh()->e_version = EV_CURRENT;
	eh()->e_entry = 0xffffffff81000000ULL;
	eh()->e_phoff = sizeof(Elf64_Ehdr);
	eh()->e_ehsize = sizeof(Elf64_Ehdr);
	eh()->e_phentsize = sizeof(Elf64_Phdr);
	eh()->e_phnum = 3;

	/* A GNU build-id note first, so the loader has to walk past it. */
	for (size_t i = 0; i < sizeof(build_id); i++)
		build_id[i] = (uint8_t)(i + 1);
	off = put_note(NOTE_OFF, "GNU", 4, NT_GNU_BUILD_ID, build_id, sizeof(build_id));
	xen_note_off = off;
	off = put_note(off, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, &entry, entry_descsz);
	notes_len = off - NOTE_OFF;

	*ph(0) = (Elf64_Phdr){.p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_offset = SEG_A_OFF,
			      .p_vaddr = 0xffffffff81000000ULL,
			      .p_paddr = SEG_A_PADDR,
			      .p_filesz = SEG_A_FILESZ,
			      .p_memsz = SEG_A_MEMSZ,
			      .p_align = 0x1000};
	*ph(1) = (Elf64_Phdr){.p_type = PT_NOTE,
			      .p_flags = PF_R,
			      .p_offset = NOTE_OFF,
			      .p_filesz = notes_len,
			      .p_memsz = notes_len,
			      .p_align = 4};
	*ph(2) = (Elf64_Phdr){.p_type = PT_LOAD,
			      .p_flags = PF_R | PF_W,
			      .p_offset = SEG_B_OFF,
			      .p_vaddr = 0xffffffff81002000ULL,
			      .p_paddr = SEG_B_PADDR,
			      .p_filesz = SEG_B_SIZE,
			      .p_memsz = SEG_B_SIZE,
			      .p_align = 0x1000};
	for (size_t i = 0; i < SEG_A_FILESZ; i++)
		img[SEG_A_OFF + i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < SEG_B_SIZE; i++)
		img[SEG_B_OFF + i] = (uint8_t)(0xb0 ^ i);
}

static int setup_image(void **state)
{
	build_image(4);
	return 0;
}

/* pvh_parse rejects img[0..len) with a reason containing `why_part`. */
static void assert_rejected_len(size_t len, const char *why_part)
{
	struct pvh_info info;
	const char *why = NULL;

	if (pvh_parse(img, len, &info, &why) != -1)
		fail_msg("accepted, expected rejection with '%s'", why_part);
	test_assert_reason(why, why_part);
}

static void assert_rejected(const char *why_part)
{
	assert_rejected_len(IMG_SIZE, why_part);
}

/* --- pvh_parse ------------------------------------------------------------------------------ */

static void test_pvh__parse_finds_entry_after_another_note(void **state)
{
	struct pvh_info info;
	const char *why = NULL;

	assert_true(elf_detect(img, IMG_SIZE));
	assert_int_equal(pvh_parse(img, IMG_SIZE, &info, &why), 0);
	assert_int_equal(info.entry, ENTRY);
	assert_int_equal(info.kernel_end, KERNEL_END);
}

static void test_pvh__parse_accepts_8_byte_entry_desc(void **state)
{
	struct pvh_info info;
	const char *why;

	build_image(8);
	assert_int_equal(pvh_parse(img, IMG_SIZE, &info, &why), 0);
	assert_int_equal(info.entry, ENTRY);
}

static void test_pvh__parse_rejects_image_without_note(void **state)
{
	ph(1)->p_type = PT_NULL;
	assert_rejected("no PVH entry note");
}

static void test_pvh__parse_rejects_note_with_wrong_name_type_or_size(void **state)
{
	memcpy(img + xen_note_off + sizeof(Elf64_Nhdr), "Xeo", 4);
	assert_rejected("no PVH entry note");

	build_image(4);
	xen_note()->n_namesz = 3; /* "Xe" */
	assert_rejected("no PVH entry note");

	build_image(4);
	xen_note()->n_type = XEN_ELFNOTE_PHYS32_ENTRY - 1;
	assert_rejected("no PVH entry note");

	build_image(4);
	xen_note()->n_descsz = 2;
	assert_rejected("no PVH entry note");

	build_image(4);
	xen_note()->n_descsz = 16;
	ph(1)->p_filesz += 12;
	assert_rejected("no PVH entry note");
}

static void test_pvh__parse_rejects_note_running_past_segment_end(void **state)
{
	ph(1)->p_filesz = notes_len - 4; /* the entry itself is cut off */
	assert_rejected("no PVH entry note");

	build_image(4);
	xen_note()->n_descsz = 0xfffffff0; /* claims far more than the segment holds */
	assert_rejected("no PVH entry note");

	build_image(4);
	((Elf64_Nhdr *)(img + NOTE_OFF))->n_namesz = 0xffffffff; /* the GNU note before it */
	assert_rejected("no PVH entry note");
}

static void test_pvh__parse_rejects_note_segment_beyond_file(void **state)
{
	ph(1)->p_offset = IMG_SIZE - 8;
	assert_rejected("no PVH entry note");
	ph(1)->p_offset = UINT64_MAX - 8; /* offset + size wraps */
	assert_rejected("no PVH entry note");
}

static void test_pvh__parse_rejects_non_x86_64_elf(void **state)
{
	eh()->e_ident[EI_CLASS] = ELFCLASS32;
	assert_rejected("x86-64");
	build_image(4);
	eh()->e_ident[EI_DATA] = ELFDATA2MSB;
	assert_rejected("x86-64");
	build_image(4);
	eh()->e_machine = EM_386;
	assert_rejected("x86-64");
}

static void test_pvh__parse_rejects_truncated_or_foreign_header(void **state)
{
	assert_rejected_len(sizeof(Elf64_Ehdr) - 1, "truncated ELF header");
	assert_rejected_len(3, "truncated ELF header");
	img[0] = 'M';
	assert_false(elf_detect(img, IMG_SIZE));
	assert_rejected("truncated ELF header");
}

static void test_pvh__parse_rejects_program_headers_beyond_file(void **state)
{
	eh()->e_phoff = IMG_SIZE - sizeof(Elf64_Phdr);
	assert_rejected("program headers");
	build_image(4);
	eh()->e_phnum = 0xffff;
	assert_rejected("program headers");
	build_image(4);
	eh()->e_phoff = UINT64_MAX - 8;
	assert_rejected("program headers");
	build_image(4);
	eh()->e_phnum = 0;
	assert_rejected("program headers");
	build_image(4);
	eh()->e_phentsize = sizeof(Elf32_Phdr);
	assert_rejected("program headers");
	/* The table itself is cut off by a short file. */
	build_image(4);
	assert_rejected_len(sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr), "program headers");
}

static void test_pvh__parse_rejects_segment_beyond_file(void **state)
{
	ph(2)->p_filesz = SEG_B_SIZE + 1;
	ph(2)->p_memsz = SEG_B_SIZE + 1;
	assert_rejected("beyond the end of the file");
	build_image(4);
	ph(0)->p_offset = UINT64_MAX - 0x10;
	assert_rejected("beyond the end of the file");
	build_image(4);
	assert_rejected_len(IMG_SIZE - 1, "beyond the end of the file");
}

static void test_pvh__parse_rejects_filesz_larger_than_memsz(void **state)
{
	ph(0)->p_memsz = SEG_A_FILESZ - 1;
	assert_int_equal(pvh_parse(img, IMG_SIZE, &(struct pvh_info){0}, &(const char *){0}), -1);
}

static void test_pvh__parse_rejects_wrapping_physical_address(void **state)
{
	ph(0)->p_paddr = UINT64_MAX - 0x100;
	assert_rejected("wraps");
}

static void test_pvh__parse_rejects_image_without_loadable_segments(void **state)
{
	ph(0)->p_type = PT_NULL;
	ph(2)->p_type = PT_NULL;
	assert_rejected("no loadable segments");
}

/*
 * The ELF spec does not promise an aligned program header table, and the file is user
 * input: reading it must not depend on alignment. Parsed in a child process, because under
 * SANITIZE=1 a misaligned member load aborts (UBSan) and would take the other tests along.
 */
static void test_pvh__parse_reads_unaligned_program_headers(void **state)
{
	struct pvh_info info;
	const char *why;
	pid_t pid;
	int status;

	memmove(img + sizeof(Elf64_Ehdr) + 4, img + sizeof(Elf64_Ehdr), 3 * sizeof(Elf64_Phdr));
	eh()->e_phoff = sizeof(Elf64_Ehdr) + 4;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(pvh_parse(img, IMG_SIZE, &info, &why) == 0 && info.entry == ENTRY ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("pvh_parse died of signal %d on an unaligned program header table",
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* --- pvh_load into fake guest memory ------------------------------------------------------- */

struct fixture {
	struct guest_memory mem;
	char initrd_path[64];
};

static int setup_ram(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || memory_init(&f->mem, 64 * MiB))
		return -1;
	build_image(4);
	*state = f;
	return 0;
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
	    .kernel_path = "test-vmlinux",
	    .initrd_path = initrd,
	    .cmdline = cmdline,
	    .rsdp_gpa = RSDP_GPA,
	};
}

static int load_img(struct fixture *f, const struct boot_request *req, struct boot_entry *e)
{
	struct boot_file k = {img, IMG_SIZE};

	return pvh_load(&f->mem, req, &k, e);
}

static struct hvm_start_info start_info(struct fixture *f)
{
	struct hvm_start_info si;

	assert_int_equal(memory_read(&f->mem, BOOT_PARAMS_ADDR, &si, sizeof(si)), 0);
	return si;
}

static void test_pvh__load_copies_segments_and_zeroes_bss(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("console=ttyS0", NULL);
	struct boot_entry entry;
	const uint8_t *a = gpa_to_host(&f->mem, SEG_A_PADDR, SEG_A_MEMSZ);

	memset(gpa_to_host(&f->mem, SEG_A_PADDR, SEG_A_MEMSZ), 0xaa, SEG_A_MEMSZ);
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_int_equal(entry.mode, BOOT_ENTRY_PROT32);
	assert_int_equal(entry.rip, ENTRY);
	assert_int_equal(entry.rbx, BOOT_PARAMS_ADDR);
	assert_memory_equal(a, img + SEG_A_OFF, SEG_A_FILESZ);
	for (size_t i = SEG_A_FILESZ; i < SEG_A_MEMSZ; i++)
		assert_int_equal(a[i], 0);
	assert_memory_equal(gpa_to_host(&f->mem, SEG_B_PADDR, SEG_B_SIZE), img + SEG_B_OFF,
			    SEG_B_SIZE);
}

static void test_pvh__load_writes_start_info_cmdline_and_memmap(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("console=ttyS0 pci=off", NULL);
	struct boot_entry entry;
	struct hvm_start_info si;
	struct e820_entry map[E820_MAX_ENTRIES];
	int n;

	assert_int_equal(load_img(f, &req, &entry), 0);
	si = start_info(f);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.flags, 0);
	assert_int_equal(si.rsdp_paddr, RSDP_GPA);
	assert_string_equal(gpa_to_host(&f->mem, si.cmdline_paddr, 22), "console=ttyS0 pci=off");
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);

	n = e820_build(&f->mem, map, E820_MAX_ENTRIES);
	assert_int_equal(si.memmap_entries, n);
	for (int i = 0; i < n; i++) {
		struct hvm_memmap_table_entry e;

		assert_int_equal(
		    memory_read(&f->mem, si.memmap_paddr + i * sizeof(e), &e, sizeof(e)), 0);
		assert_int_equal(e.addr, map[i].addr);
		assert_int_equal(e.size, map[i].size);
		assert_int_equal(e.type, map[i].type);
		assert_int_equal(e.reserved, 0);
	}
}

static void test_pvh__load_lists_initrd_as_module_above_kernel(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes;
	size_t size = 300 * 1024 + 5;
	struct boot_request req = request("", write_initrd(f, size, &bytes));
	struct boot_entry entry;
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;

	assert_int_equal(load_img(f, &req, &entry), 0);
	si = start_info(f);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(memory_read(&f->mem, si.modlist_paddr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.size, size);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_int_equal(mod.paddr % 4096, 0);
	assert_true(mod.paddr >= KERNEL_END);
	assert_true(mod.paddr + size <= memory_low_end(&f->mem));
	assert_memory_equal(gpa_to_host(&f->mem, mod.paddr, size), bytes, size);
	/* The module list does not overlap start_info or the memory map. */
	assert_true(si.modlist_paddr >= BOOT_PARAMS_ADDR + sizeof(si));
	assert_true(si.modlist_paddr + sizeof(mod) <= si.memmap_paddr);
	free(bytes);
}

static void test_pvh__load_fails_when_initrd_does_not_fit(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes;
	struct boot_request req = request("", write_initrd(f, 4096, &bytes));
	struct boot_entry entry;

	/* 64 MiB of RAM, the kernel ends just above 16 MiB: 48 MiB cannot fit. */
	assert_int_equal(truncate(f->initrd_path, 48 * MiB), 0);
	assert_int_equal(load_img(f, &req, &entry), -1);
	free(bytes);
}

static void test_pvh__load_rejects_segment_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;

	ph(0)->p_paddr = 128 * MiB; /* beyond 64 MiB */
	assert_int_equal(load_img(f, &req, &entry), -1);
	ph(0)->p_paddr = 64 * MiB - 0x1000; /* bss runs past the end */
	assert_int_equal(load_img(f, &req, &entry), -1);
	ph(0)->p_paddr = BOOT_PARAMS_ADDR; /* below 1 MiB: where start_info lives */
	assert_int_equal(load_img(f, &req, &entry), -1);
}

static void test_pvh__load_limits_cmdline_to_2047_bytes(void **state)
{
	struct fixture *f = *state;
	char cmdline[2049];
	struct boot_request req = request(cmdline, NULL);
	struct boot_entry entry;

	memset(cmdline, 'x', 2048);
	cmdline[2048] = 0;
	assert_int_equal(load_img(f, &req, &entry), -1);
	cmdline[2047] = 0;
	assert_int_equal(load_img(f, &req, &entry), 0);
	assert_int_equal(strlen(gpa_to_host(&f->mem, BOOT_CMDLINE_ADDR, 2048)), 2047);
}

static void test_pvh__load_rejects_corrupt_image(void **state)
{
	struct fixture *f = *state;
	struct boot_request req = request("", NULL);
	struct boot_entry entry;

	ph(1)->p_type = PT_NULL;
	assert_int_equal(load_img(f, &req, &entry), -1);
}

/* --- the real guest vmlinux --------------------------------------------------------------- */

static void test_pvh__real_vmlinux_parses_and_loads(void **state)
{
	const char *path = getenv(ENV_VMLINUX);
	struct boot_file k;
	struct boot_request req = request("console=ttyS0", NULL);
	struct boot_entry entry;
	struct guest_memory mem;
	struct pvh_info info;
	const Elf64_Ehdr *e;
	const char *why = NULL;
	bool entry_in_segment = false;

	if (!path || !*path)
		fail_msg(ENV_VMLINUX " is not set: point it at the guest's vmlinux "
				     "(make guest writes build/guest/vmlinux)");
	if (boot_file_read("--kernel", path, 512 * MiB, &k) < 0)
		fail_msg(ENV_VMLINUX "=%s cannot be read", path);
	if (pvh_parse(k.data, k.size, &info, &why) != 0)
		fail_msg("%s: %s", path, why);
	e = (const Elf64_Ehdr *)k.data;
	for (int i = 0; i < e->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(k.data + e->e_phoff) + i;
		if (p->p_type == PT_LOAD && info.entry >= p->p_paddr &&
		    info.entry < p->p_paddr + p->p_filesz)
			entry_in_segment = true;
	}
	assert_true(entry_in_segment);
	assert_true(info.kernel_end > info.entry);

	req.kernel_path = path;
	assert_int_equal(memory_init(&mem, 256 * MiB), 0);
	assert_int_equal(pvh_load(&mem, &req, &k, &entry), 0);
	assert_int_equal(entry.rip, info.entry);
	for (int i = 0; i < e->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(k.data + e->e_phoff) + i;
		if (p->p_type == PT_LOAD)
			assert_memory_equal(gpa_to_host(&mem, p->p_paddr, p->p_filesz),
					    k.data + p->p_offset, p->p_filesz);
	}
	assert_int_equal(((struct hvm_start_info *)gpa_to_host(&mem, BOOT_PARAMS_ADDR, 56))->magic,
			 HVM_START_MAGIC);
	memory_destroy(&mem);
	boot_file_free(&k);
}

#define IMG_TEST(f) cmocka_unit_test_setup(f, setup_image)
#define RAM_TEST(f) cmocka_unit_test_setup_teardown(f, setup_ram, teardown_ram)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    IMG_TEST(test_pvh__parse_finds_entry_after_another_note),
	    IMG_TEST(test_pvh__parse_accepts_8_byte_entry_desc),
	    IMG_TEST(test_pvh__parse_rejects_image_without_note),
	    IMG_TEST(test_pvh__parse_rejects_note_with_wrong_name_type_or_size),
	    IMG_TEST(test_pvh__parse_rejects_note_running_past_segment_end),
	    IMG_TEST(test_pvh__parse_rejects_note_segment_beyond_file),
	    IMG_TEST(test_pvh__parse_rejects_non_x86_64_elf),
	    IMG_TEST(test_pvh__parse_rejects_truncated_or_foreign_header),
	    IMG_TEST(test_pvh__parse_rejects_program_headers_beyond_file),
	    IMG_TEST(test_pvh__parse_rejects_segment_beyond_file),
	    IMG_TEST(test_pvh__parse_rejects_filesz_larger_than_memsz),
	    IMG_TEST(test_pvh__parse_rejects_wrapping_physical_address),
	    IMG_TEST(test_pvh__parse_rejects_image_without_loadable_segments),
	    IMG_TEST(test_pvh__parse_reads_unaligned_program_headers),
	    RAM_TEST(test_pvh__load_copies_segments_and_zeroes_bss),
	    RAM_TEST(test_pvh__load_writes_start_info_cmdline_and_memmap),
	    RAM_TEST(test_pvh__load_lists_initrd_as_module_above_kernel),
	    RAM_TEST(test_pvh__load_fails_when_initrd_does_not_fit),
	    RAM_TEST(test_pvh__load_rejects_segment_outside_ram),
	    RAM_TEST(test_pvh__load_limits_cmdline_to_2047_bytes),
	    RAM_TEST(test_pvh__load_rejects_corrupt_image),
	    cmocka_unit_test(test_pvh__real_vmlinux_parses_and_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
