#include "boot/multiboot.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define PAGE_SIZE	 4096ULL
#define LIMIT_4G	 0x100000000ULL
#define AOUT_HEADER_SIZE 32 /* magic, flags, checksum and the five address fields */

_Static_assert(sizeof(struct multiboot_info) == 116, "multiboot_info layout");
_Static_assert(offsetof(struct multiboot_info, mmap_length) == 44, "multiboot_info layout");
_Static_assert(offsetof(struct multiboot_info, boot_loader_name) == 64, "multiboot_info layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_addr) == 88, "multiboot_info layout");
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "multiboot mmap entry layout");
_Static_assert(MULTIBOOT_INFO_ADDR + sizeof(struct multiboot_info) <= MULTIBOOT_MMAP_ADDR,
	       "info runs into the memory map");
_Static_assert(MULTIBOOT_MMAP_ADDR + E820_MAX_ENTRIES * sizeof(struct multiboot_mmap_entry) <=
		   MULTIBOOT_CMDLINE_ADDR,
	       "memory map runs into the strings");
_Static_assert(MULTIBOOT_CMDLINE_ADDR + MULTIBOOT_CMDLINE_MAX + 1 <= MULTIBOOT_LOADER_NAME_ADDR,
	       "command line runs into the boot loader name");
_Static_assert(MULTIBOOT_LOADER_NAME_ADDR + sizeof(MULTIBOOT_BOOT_LOADER_NAME) <=
		   MULTIBOOT_MODS_ADDR,
	       "boot loader name runs into the module list");
_Static_assert(MULTIBOOT_MODS_ADDR + sizeof(struct multiboot_module) <= MULTIBOOT_MODSTR_ADDR,
	       "module list runs into the module string");
_Static_assert(MULTIBOOT_MODSTR_ADDR + MULTIBOOT_MODSTR_MAX + 1 <= MULTIBOOT_AREA_END,
	       "module string runs past the area");
_Static_assert(MULTIBOOT_AREA_END <= BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX,
	       "multiboot area exceeds the command line area");

/* Guest-physical ranges no kernel byte may land in. */
static const struct {
	uint64_t start, end;
	const char *what;
} reserved[] = {
    {0, 0x1000, "the first page (real-mode IVT, kvmbox's GDT)"},
    {MULTIBOOT_INFO_ADDR, MULTIBOOT_AREA_END, "the multiboot information kvmbox writes"},
    {MEM_LOW_RAM_END, MEM_HIGH_START, "the BIOS area (ACPI and MP tables)"},
};

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int header_checksum_ok(const uint8_t *h)
{
	return (uint32_t)(get32(h) + get32(h + 4) + get32(h + 8)) == 0;
}

int multiboot_find_header(const uint8_t *buf, size_t len)
{
	size_t limit = len < MULTIBOOT_SEARCH ? len : MULTIBOOT_SEARCH;
	int first = -1;

	for (size_t off = 0; off + 12 <= limit; off += 4) {
		if (get32(buf + off) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if (header_checksum_ok(buf + off))
			return (int)off;
		if (first < 0)
			first = (int)off;
	}
	return first;
}

bool multiboot_detect(const uint8_t *buf, size_t len)
{
	int off = multiboot_find_header(buf, len);

	return off >= 0 && header_checksum_ok(buf + off);
}

/* Sets *why to a formatted reason kept in img; returns -1. */
static int fail(struct multiboot_image *img, const char **why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct multiboot_image *img, const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(img->why_buf, sizeof(img->why_buf), fmt, ap);
	va_end(ap);
	*why = img->why_buf;
	return -1;
}

/* Records [paddr, paddr + memsz) after checking it against 4 GiB and the reserved ranges. */
static int add_segment(struct multiboot_image *img, const char **why, uint64_t paddr,
		       uint64_t offset, uint64_t filesz, uint64_t memsz)
{
	uint64_t end = paddr + memsz; /* paddr < 2^32, memsz < 2^33: no overflow */

	if (memsz == 0)
		return 0;
	if (img->nsegments == MULTIBOOT_MAX_SEGMENTS)
		return fail(img, why, "more than %d loadable segments", MULTIBOOT_MAX_SEGMENTS);
	if (end > LIMIT_4G)
		return fail(img, why, "segment %#llx-%#llx runs past 4 GiB",
			    (unsigned long long)paddr, (unsigned long long)end);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (paddr < reserved[i].end && end > reserved[i].start)
			return fail(img, why,
				    "segment %#llx-%#llx overlaps %#llx-%#llx, %s; link the "
				    "kernel at 1 MiB or above",
				    (unsigned long long)paddr, (unsigned long long)end,
				    (unsigned long long)reserved[i].start,
				    (unsigned long long)reserved[i].end, reserved[i].what);
	}
	img->segments[img->nsegments++] = (struct multiboot_segment){
	    .paddr = paddr,
	    .offset = offset,
	    .filesz = filesz,
	    .memsz = memsz,
	};
	if (img->nsegments == 1 || paddr < img->start)
		img->start = paddr;
	if (end > img->end)
		img->end = end;
	return 0;
}

/* Spec 3.1.3: the header's own fields say where the file goes ("a.out kludge"). */
static int parse_aout(const uint8_t *buf, size_t len, struct multiboot_image *img, const char **why)
{
	const uint8_t *h = buf + img->header_offset;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
	uint64_t file_off, load_size, mem_size;

	if (img->header_offset + AOUT_HEADER_SIZE > len ||
	    img->header_offset + AOUT_HEADER_SIZE > MULTIBOOT_SEARCH)
		return fail(img, why,
			    "multiboot header with the a.out kludge (flags bit 16) is cut off: its "
			    "address fields must lie within the first 8 KiB of the file");
	header_addr = get32(h + 12);
	load_addr = get32(h + 16);
	load_end_addr = get32(h + 20);
	bss_end_addr = get32(h + 24);
	entry_addr = get32(h + 28);

	if (header_addr < load_addr)
		return fail(img, why,
			    "multiboot a.out kludge: header_addr %#x is below load_addr %#x",
			    header_addr, load_addr);
	if (header_addr - load_addr > img->header_offset)
		return fail(
		    img, why,
		    "multiboot a.out kludge: load_addr %#x would start %#x bytes before the "
		    "header, but the header is at file offset %#zx",
		    load_addr, header_addr - load_addr, img->header_offset);
	file_off = img->header_offset - (header_addr - load_addr);
	if (load_end_addr == 0) {
		load_size = len - file_off; /* to the end of the file */
	} else {
		if (load_end_addr < load_addr)
			return fail(
			    img, why,
			    "multiboot a.out kludge: load_end_addr %#x is below load_addr %#x",
			    load_end_addr, load_addr);
		load_size = load_end_addr - load_addr;
		if (file_off + load_size > len) /* each term < 2^32 */
			return fail(img, why,
				    "multiboot a.out kludge: load range %#x-%#x needs file bytes "
				    "%#llx-%#llx, but the file has %zu",
				    load_addr, load_end_addr, (unsigned long long)file_off,
				    (unsigned long long)(file_off + load_size), len);
	}
	mem_size = load_size;
	if (bss_end_addr != 0) {
		if (bss_end_addr < load_addr + load_size)
			return fail(
			    img, why,
			    "multiboot a.out kludge: bss_end_addr %#x is below the end of the "
			    "loaded image %#llx",
			    bss_end_addr, (unsigned long long)(load_addr + load_size));
		mem_size = bss_end_addr - load_addr;
	}
	if (entry_addr < load_addr || entry_addr - load_addr >= load_size)
		return fail(img, why,
			    "multiboot entry_addr %#x lies outside the loaded image %#x-%#llx",
			    entry_addr, load_addr, (unsigned long long)(load_addr + load_size));
	img->entry = entry_addr;
	return add_segment(img, why, load_addr, file_off, load_size, mem_size);
}

/* Without the kludge the file must be an ELF32 for i386; its PT_LOADs go to p_paddr. */
static int parse_elf(const uint8_t *buf, size_t len, struct multiboot_image *img, const char **why)
{
	Elf32_Ehdr eh;
	uint64_t table_end;
	bool entry_found = false;

	if (len < SELFMAG || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		*why = "multiboot kernel is not an ELF file and its header does not set the a.out "
		       "kludge (flags bit 16) with load addresses";
		return -1;
	}
	if (len > EI_CLASS && buf[EI_CLASS] == ELFCLASS64) {
		*why = "ELF64 multiboot kernel: multiboot enters in 32-bit mode, so kvmbox (like "
		       "QEMU) loads only ELF32 files; link it as elf32-i386 or use the a.out "
		       "kludge (header flags bit 16)";
		return -1;
	}
	if (len < sizeof(eh)) {
		*why = "truncated ELF header";
		return -1;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_386) {
		*why = "multiboot ELF kernel is not a 32-bit x86 (i386) ELF";
		return -1;
	}
	if (eh.e_type != ET_EXEC) {
		*why = "multiboot ELF kernel is not an executable (e_type ET_EXEC)";
		return -1;
	}
	table_end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0 || table_end > len) {
		*why = "truncated or corrupt ELF program headers";
		return -1;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || (uint64_t)ph.p_offset + ph.p_filesz > len)
			return fail(img, why,
				    "truncated ELF: segment %u (file bytes %#x-%#llx) lies beyond "
				    "the end of the file (%zu bytes) or is larger than in memory",
				    i, ph.p_offset, (unsigned long long)ph.p_offset + ph.p_filesz,
				    len);
		if (add_segment(img, why, ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz) < 0)
			return -1;
		/* e_entry is virtual: translate it through the segment holding it, as GRUB does. */
		if (!entry_found && eh.e_entry >= ph.p_vaddr &&
		    eh.e_entry - ph.p_vaddr < ph.p_filesz) {
			img->entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
			entry_found = true;
		}
	}
	if (img->nsegments == 0) {
		*why = "ELF file has no loadable segments";
		return -1;
	}
	if (!entry_found)
		return fail(img, why,
			    "ELF entry point %#x lies outside the code loaded from the file",
			    eh.e_entry);
	return 0;
}

int multiboot_parse(const uint8_t *buf, size_t len, struct multiboot_image *img, const char **why)
{
	int off = multiboot_find_header(buf, len);
	uint32_t flags, unsupported;

	memset(img, 0, sizeof(*img));
	if (off < 0) {
		*why = "no multiboot header (magic 0x1BADB002, 4-byte aligned, in the first 8 KiB)";
		return -1;
	}
	img->header_offset = (size_t)off;
	if (!header_checksum_ok(buf + off))
		return fail(
		    img, why,
		    "multiboot header checksum mismatch at offset %#x (magic + flags + "
		    "checksum = %#x, must be 0)",
		    (unsigned)off,
		    (uint32_t)(get32(buf + off) + get32(buf + off + 4) + get32(buf + off + 8)));
	flags = get32(buf + off + 4);
	img->header_flags = flags;
	unsupported = flags & MULTIBOOT_REQUIRED_MASK & ~MULTIBOOT_SUPPORTED_REQUIRED;
	if (unsupported)
		return fail(img, why,
			    "multiboot header requires features kvmbox does not provide (flags "
			    "%#x, unknown required bits %#x)",
			    flags, unsupported);
	img->aout_kludge = flags & MULTIBOOT_AOUT_KLUDGE;
	if (img->aout_kludge)
		return parse_aout(buf, len, img, why);
	return parse_elf(buf, len, img, why);
}

static int write_mmap(struct guest_memory *mem, struct multiboot_info *mbi)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, E820_MAX_ENTRIES);

	for (int i = 0; i < n; i++) {
		struct multiboot_mmap_entry e = {
		    .size = sizeof(e) - sizeof(e.size),
		    .base_addr = map[i].addr,
		    .length = map[i].size,
		    .type = map[i].type,
		};
		if (memory_write(mem, MULTIBOOT_MMAP_ADDR + i * sizeof(e), &e, sizeof(e)) < 0)
			return -1;
	}
	mbi->flags |= MULTIBOOT_INFO_MEM_MAP;
	mbi->mmap_addr = MULTIBOOT_MMAP_ADDR;
	mbi->mmap_length = (uint32_t)(n * sizeof(struct multiboot_mmap_entry));
	return 0;
}

/* "<kernel path> <cmdline>", or just the path, as QEMU passes it (length checked). */
static int write_cmdline(struct guest_memory *mem, const struct boot_request *req, size_t path_len,
			 size_t args_len)
{
	size_t total = path_len + (args_len ? 1 + args_len : 0);
	char *dst = gpa_to_host(mem, MULTIBOOT_CMDLINE_ADDR, total + 1);

	if (!dst)
		return -1;
	memcpy(dst, req->kernel_path, path_len);
	if (args_len) {
		dst[path_len] = ' ';
		memcpy(dst + path_len + 1, req->cmdline, args_len);
	}
	dst[total] = '\0';
	return 0;
}

/* Module 0 is the initrd, page aligned after the kernel (and never below 1 MiB). */
static int load_module(struct guest_memory *mem, const struct boot_request *req,
		       const struct multiboot_image *img, struct multiboot_info *mbi)
{
	struct boot_file initrd;
	struct multiboot_module mod = {0};
	uint64_t start = img->end > MEM_HIGH_START ? img->end : MEM_HIGH_START, end;
	int r = -1;

	mbi->flags |= MULTIBOOT_INFO_MODS;
	if (!req->initrd_path)
		return 0;
	if (boot_file_read("--initrd", req->initrd_path, mem->size, &initrd) < 0)
		return -1;
	start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (__builtin_add_overflow(start, (uint64_t)initrd.size, &end) ||
	    end > memory_low_end(mem) || !gpa_to_host(mem, start, initrd.size)) {
		log_errorx("--initrd %s: %zu bytes do not fit in guest memory after the kernel "
			   "(which ends at %#llx); raise --mem",
			   req->initrd_path, initrd.size, (unsigned long long)img->end);
		goto out;
	}
	if (memory_write(mem, start, initrd.data, initrd.size) < 0 ||
	    memory_write(mem, MULTIBOOT_MODSTR_ADDR, req->initrd_path,
			 strlen(req->initrd_path) + 1) < 0)
		goto out;
	mod.mod_start = (uint32_t)start;
	mod.mod_end = (uint32_t)end;
	mod.string = MULTIBOOT_MODSTR_ADDR;
	if (memory_write(mem, MULTIBOOT_MODS_ADDR, &mod, sizeof(mod)) < 0)
		goto out;
	mbi->mods_count = 1;
	mbi->mods_addr = MULTIBOOT_MODS_ADDR;
	r = 0;
out:
	boot_file_free(&initrd);
	return r;
}

int multiboot_load(struct guest_memory *mem, const struct boot_request *req,
		   const struct boot_file *kernel, struct boot_entry *entry)
{
	struct multiboot_image img;
	struct multiboot_info mbi = {0};
	const char *args = req->cmdline ? req->cmdline : "";
	size_t path_len = strlen(req->kernel_path), args_len = strlen(args), cmdline_len;
	const char *why;

	if (multiboot_parse(kernel->data, kernel->size, &img, &why) < 0)
		return log_errorx("--kernel %s: %s", req->kernel_path, why);
	cmdline_len = path_len + (args_len ? 1 + args_len : 0);
	if (cmdline_len > MULTIBOOT_CMDLINE_MAX)
		return log_errorx("--cmdline: the multiboot command line (kernel path, a space, "
				  "--cmdline) is %zu bytes; kvmbox passes at most %d",
				  cmdline_len, MULTIBOOT_CMDLINE_MAX);
	if (req->initrd_path && strlen(req->initrd_path) > MULTIBOOT_MODSTR_MAX)
		return log_errorx("--initrd: the path (%zu bytes) is passed as the module's "
				  "string, which kvmbox limits to %d bytes",
				  strlen(req->initrd_path), MULTIBOOT_MODSTR_MAX);

	for (int i = 0; i < img.nsegments; i++) {
		const struct multiboot_segment *s = &img.segments[i];
		if (!gpa_to_host(mem, s->paddr, s->memsz))
			return log_errorx("--kernel %s: segment %#llx-%#llx lies outside guest RAM "
					  "(RAM below 4 GiB ends at %#llx); raise --mem",
					  req->kernel_path, (unsigned long long)s->paddr,
					  (unsigned long long)(s->paddr + s->memsz),
					  (unsigned long long)memory_low_end(mem));
	}
	for (int i = 0; i < img.nsegments; i++) {
		const struct multiboot_segment *s = &img.segments[i];
		uint8_t *dst = gpa_to_host(mem, s->paddr, s->memsz);
		if (!dst)
			return -1;
		memcpy(dst, kernel->data + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}

	/*
	 * mem_lower agrees with the E820 map (conventional memory ends at the EBDA, 639 KiB, as
	 * int 12h reports on SeaBIOS); mem_upper counts from 1 MiB to the PCI hole.
	 */
	mbi.flags =
	    MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_BOOT_LOADER_NAME;
	mbi.mem_lower = MEM_LOW_RAM_END / 1024;
	mbi.mem_upper = (uint32_t)((memory_low_end(mem) - MEM_HIGH_START) / 1024);
	mbi.cmdline = MULTIBOOT_CMDLINE_ADDR;
	mbi.boot_loader_name = MULTIBOOT_LOADER_NAME_ADDR;
	if (write_cmdline(mem, req, path_len, args_len) < 0 ||
	    memory_write(mem, MULTIBOOT_LOADER_NAME_ADDR, MULTIBOOT_BOOT_LOADER_NAME,
			 sizeof(MULTIBOOT_BOOT_LOADER_NAME)) < 0 ||
	    write_mmap(mem, &mbi) < 0)
		return log_errorx("--kernel %s: guest RAM has no room for the multiboot "
				  "information at %#llx",
				  req->kernel_path, (unsigned long long)MULTIBOOT_INFO_ADDR);
	if (load_module(mem, req, &img, &mbi) < 0)
		return -1;
	if (memory_write(mem, MULTIBOOT_INFO_ADDR, &mbi, sizeof(mbi)) < 0)
		return log_errorx("--kernel %s: guest RAM has no room for the multiboot "
				  "information at %#llx",
				  req->kernel_path, (unsigned long long)MULTIBOOT_INFO_ADDR);
	*entry = (struct boot_entry){
	    .mode = BOOT_ENTRY_PROT32,
	    .rip = img.entry,
	    .rax = MULTIBOOT_BOOTLOADER_MAGIC,
	    .rbx = MULTIBOOT_INFO_ADDR,
	};
	return 0;
}
