#include "boot/pvh.h"

#include <elf.h>
#include <string.h>

#include "arch/x86/boot_params.h"
#include "arch/x86/platform.h"
#include "log.h"

bool elf_detect(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG);
}

/* Bounds-checked view of the program header table. */
static Elf64_Phdr phdr_at(const uint8_t *buf, const Elf64_Ehdr *eh, int i)
{
	Elf64_Phdr ph; /* copied: e_phoff need not be aligned */

	memcpy(&ph, buf + eh->e_phoff + (size_t)i * sizeof(Elf64_Phdr), sizeof(ph));
	return ph;
}

static int find_pvh_note(const uint8_t *buf, size_t len, const Elf64_Phdr *ph, uint64_t *entry)
{
	uint64_t off = ph->p_offset, end;

	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > len)
		return -1;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len, next;
		memcpy(&nh, buf + off, sizeof(nh));
		name_len = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		next = off + sizeof(nh) + name_len + desc_len; /* each term < 2^34: no overflow */
		if (next > end)
			return -1;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(buf + off + sizeof(nh), "Xen", 4) &&
		    (nh.n_descsz == 4 || nh.n_descsz == 8)) {
			uint64_t v = 0;
			memcpy(&v, buf + off + sizeof(nh) + name_len, nh.n_descsz);
			*entry = v;
			return 0;
		}
		off = next;
	}
	return -1;
}

int pvh_parse(const uint8_t *buf, size_t len, struct pvh_info *info, const char **why)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	bool have_note = false, have_load = false;
	uint64_t table_end;

	memset(info, 0, sizeof(*info));
	if (len < sizeof(*eh) || !elf_detect(buf, len)) {
		*why = "truncated ELF header";
		return -1;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		*why = "not an x86-64 ELF64 kernel";
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    __builtin_add_overflow(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
				   &table_end) ||
	    table_end > len) {
		*why = "truncated or corrupt ELF program headers";
		return -1;
	}
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr phv = phdr_at(buf, eh, i), *ph = &phv;
		uint64_t end;
		if (ph->p_type == PT_NOTE && !have_note)
			have_note = find_pvh_note(buf, len, ph, &info->entry) == 0;
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz > ph->p_memsz) {
			*why = "corrupt ELF: a segment's file size exceeds its memory size";
			return -1;
		}
		if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > len) {
			*why = "truncated ELF: a segment lies beyond the end of the file";
			return -1;
		}
		if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &end)) {
			*why = "corrupt ELF: a segment's physical address wraps";
			return -1;
		}
		if (end > info->kernel_end)
			info->kernel_end = end;
		have_load = true;
	}
	if (!have_load) {
		*why = "ELF file has no loadable segments";
		return -1;
	}
	if (!have_note) {
		*why = "ELF kernel has no PVH entry note (build it with CONFIG_PVH=y, or use the "
		       "bzImage)";
		return -1;
	}
	return 0;
}

static int pvh_write_start_info(struct guest_memory *mem, const struct boot_request *req,
				uint64_t initrd_addr, uint64_t initrd_size)
{
	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = BOOT_CMDLINE_ADDR,
	    .rsdp_paddr = req->rsdp_gpa,
	    .memmap_paddr = BOOT_PVH_MEMMAP_ADDR,
	};
	struct hvm_modlist_entry mod = {.paddr = initrd_addr, .size = initrd_size};
	uint64_t mod_addr = BOOT_PARAMS_ADDR + sizeof(si);
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, E820_MAX_ENTRIES);

	for (int i = 0; i < n; i++) {
		struct hvm_memmap_table_entry e = {map[i].addr, map[i].size, map[i].type, 0};
		if (memory_write(mem, BOOT_PVH_MEMMAP_ADDR + i * sizeof(e), &e, sizeof(e)) < 0)
			return -1;
	}
	si.memmap_entries = (uint32_t)n;
	if (initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = mod_addr;
		if (memory_write(mem, mod_addr, &mod, sizeof(mod)) < 0)
			return -1;
	}
	return memory_write(mem, BOOT_PARAMS_ADDR, &si, sizeof(si));
}

int pvh_load(struct guest_memory *mem, const struct boot_request *req,
	     const struct boot_file *kernel, struct boot_entry *entry)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)kernel->data;
	struct pvh_info info;
	struct boot_file initrd = {0};
	uint64_t initrd_addr = 0;
	size_t cmdline_len = strlen(req->cmdline);
	const char *why;
	int r = -1;

	if (pvh_parse(kernel->data, kernel->size, &info, &why) < 0)
		return log_errorx("--kernel %s: %s", req->kernel_path, why);
	if (cmdline_len > PVH_CMDLINE_MAX)
		return log_errorx("--cmdline: %zu bytes, but the kernel accepts at most %d",
				  cmdline_len, PVH_CMDLINE_MAX);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr phv = phdr_at(kernel->data, eh, i), *ph = &phv;
		uint8_t *dst;
		if (ph->p_type != PT_LOAD)
			continue;
		dst = gpa_to_host(mem, ph->p_paddr, ph->p_memsz);
		if (ph->p_paddr < MEM_HIGH_START)
			return log_errorx("--kernel %s: segment at %#llx lies below 1 MiB, where "
					  "kvmbox keeps boot structures; link the kernel higher",
					  req->kernel_path, (unsigned long long)ph->p_paddr);
		if (!dst)
			return log_errorx("--kernel %s: segment at %#llx (%llu bytes) lies outside "
					  "guest RAM; raise --mem",
					  req->kernel_path, (unsigned long long)ph->p_paddr,
					  (unsigned long long)ph->p_memsz);
		memcpy(dst, kernel->data + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
	if (memory_write(mem, BOOT_CMDLINE_ADDR, req->cmdline, cmdline_len + 1) < 0)
		return -1;
	if (req->initrd_path) {
		if (boot_file_read("--initrd", req->initrd_path, mem->size, &initrd) < 0)
			return -1;
		initrd_addr = boot_place_initrd(initrd.size, info.kernel_end, memory_low_end(mem));
		if (!initrd_addr) {
			log_errorx("--initrd %s: %zu bytes do not fit in guest memory after the "
				   "kernel; raise --mem",
				   req->initrd_path, initrd.size);
			goto out;
		}
		if (memory_write(mem, initrd_addr, initrd.data, initrd.size) < 0)
			goto out;
	}
	if (pvh_write_start_info(mem, req, initrd_addr, initrd.size) < 0)
		goto out;
	*entry = (struct boot_entry){
	    .mode = BOOT_ENTRY_PROT32,
	    .rip = info.entry,
	    .rbx = BOOT_PARAMS_ADDR,
	};
	r = 0;
out:
	boot_file_free(&initrd);
	return r;
}
