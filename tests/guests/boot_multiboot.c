/*
 * boot_multiboot: the multiboot v1 entry state and information structure.
 *
 * cmdline (set by the test): mem=<--mem> [initrd_size=N initrd_fnv=0xHASH] [name=<kernel file
 * name>] The test also compares the "cmdline:" line printed here with what it passed. A wrong mem=
 * (or initrd_fnv=) must make the guest FAIL.
 */
#include "guest.h"

#define MB_MAGIC	0x2badb002
#define MBI_MEMORY	(1u << 0)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)
#define MBI_LOADER_NAME (1u << 9)

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
	uint32_t boot_loader_name;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
};

/* FNV-1a over the module, in ring 3 where it runs natively. */
struct span {
	const uint8_t *p;
	uint64_t n;
};
static uint64_t fnv1a(void *arg)
{
	struct span *s = arg;
	uint32_t h = 2166136261u;

	for (uint64_t i = 0; i < s->n; i++)
		h = (h ^ s->p[i]) * 16777619u;
	return h;
}

/* A flat 4 GiB segment of the given kind, as the multiboot spec requires at entry. */
static bool flat_segment(uint16_t sel, bool code)
{
	uint64_t d;
	uint32_t base, limit;

	if (!sel || (uint32_t)(sel | 7) > entry_state.gdt_limit)
		return false;
	d = *(const uint64_t *)(entry_state.gdt_base + (sel & ~7u));
	base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000));
	limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (d >> 55 & 1)
		limit = limit << 12 | 0xfff;
	return base == 0 && limit == 0xffffffff && (d >> 47 & 1) && (d >> 44 & 1) &&
	       (d >> 54 & 1) /* D/B: 32-bit */ && (bool)(d >> 43 & 1) == code &&
	       (d >> 41 & 1) /* readable code / writable data */;
}

static void check_mmap(const struct mb_info *mbi, uint64_t mem)
{
	uint64_t p = mbi->mmap_addr, end = (uint64_t)mbi->mmap_addr + mbi->mmap_length;
	uint64_t prev_end = 0, ram = 0, low_ram_end = 0, top = 0;
	bool sorted = true, sizes = true, image_in_ram = false;
	int n = 0;

	while (p < end) {
		const struct mb_mmap *e = (const struct mb_mmap *)p;
		printf("  mmap[%d]: 0x%lx-0x%lx type %u\n", n, e->addr, e->addr + e->len - 1,
		       e->type);
		sizes &= e->size == 20;
		sorted &= e->addr >= prev_end && e->len > 0;
		prev_end = e->addr + e->len;
		if (e->type == 1) {
			ram += e->len;
			if (e->addr == 0)
				low_ram_end = e->len;
			if (e->addr <= (uint64_t)_image_start &&
			    e->addr + e->len >= (uint64_t)_image_end)
				image_in_ram = true;
			if (e->addr + e->len > top)
				top = e->addr + e->len;
		}
		p += e->size + 4;
		n++;
	}
	report(n >= 3 && sizes, "mmap: %d entries, each with size field 20", n);
	report(sorted, "mmap: entries sorted and not overlapping");
	report(low_ram_end == (uint64_t)mbi->mem_lower * 1024,
	       "mmap: the RAM at 0 (%lu KiB) agrees with mem_lower", low_ram_end / 1024);
	report(image_in_ram, "mmap: the loaded image 0x%lx-0x%lx lies in RAM",
	       (uint64_t)_image_start, (uint64_t)_image_end);
	/* Total RAM = --mem minus the part of the first MiB that is not RAM. */
	report(ram == mem - (0x100000 - low_ram_end), "mmap: total RAM %lu KiB matches mem=%lu MiB",
	       ram / 1024, mem >> 20);
	report(mem <= (3ul << 30) ? top == mem : top == mem + (1ul << 30),
	       "mmap: RAM ends at 0x%lx", top);
}

static void check_module(const struct mb_info *mbi)
{
	uint64_t size, want_fnv;
	const struct mb_module *m;
	struct span s;
	uint64_t h;

	if (!cmdline_u64("initrd_size", &size)) {
		report(!(mbi->flags & MBI_MODS) || mbi->mods_count == 0,
		       "no --initrd: no modules (flags 0x%x, count %u)", mbi->flags,
		       mbi->mods_count);
		return;
	}
	cmdline_u64("initrd_fnv", &want_fnv);
	if (!(mbi->flags & MBI_MODS) || mbi->mods_count != 1) {
		report(false, "--initrd is module 0 (flags 0x%x, count %u)", mbi->flags,
		       mbi->mods_count);
		return;
	}
	m = (const struct mb_module *)(uint64_t)mbi->mods_addr;
	printf("  module 0: 0x%x-0x%x string \"%s\"\n", m->start, m->end,
	       m->string ? (const char *)(uint64_t)m->string : "");
	report(m->end - m->start == size, "module 0 is %u bytes (want %lu)", m->end - m->start,
	       size);
	report((m->start & 0xfff) == 0, "module 0 is page aligned (header flag 0 asked for it)");
	report(m->start >= (uint64_t)_image_end || m->end <= (uint64_t)_image_start,
	       "module 0 does not overlap the kernel");
	s = (struct span){(const uint8_t *)(uint64_t)m->start, m->end - m->start};
	h = run_user(fnv1a, &s, false);
	report(h == want_fnv, "module 0 bytes: FNV-1a 0x%lx (want 0x%lx)", h, want_fnv);
	report(m->string && strlen((const char *)(uint64_t)m->string) > 0,
	       "module 0 has a string (the --initrd path)");
}

int main(void)
{
	const struct mb_info *mbi = (const struct mb_info *)(uint64_t)(uint32_t)entry_state.ebx;
	uint64_t mem = 0, upper_want;
	const char *cl, *name;
	size_t name_len = 0;

	printf("boot_multiboot: entry EAX 0x%lx EBX 0x%lx EFLAGS 0x%lx CR0 0x%lx CS 0x%x DS 0x%x "
	       "SS 0x%x ES 0x%x\n",
	       entry_state.eax, entry_state.ebx, entry_state.rflags, entry_state.cr0,
	       entry_state.cs, entry_state.ds, entry_state.ss, entry_state.es);
	report(entry_state.mode == 32 && (uint32_t)entry_state.eax == MB_MAGIC,
	       "EAX holds the multiboot magic 0x2badb002 (0x%lx)", entry_state.eax);
	if ((uint32_t)entry_state.eax != MB_MAGIC)
		abort_test("entered through multiboot (booted as %s)", boot.proto_name);
	report((entry_state.cr0 & X86_CR0_PE) && !(entry_state.cr0 & X86_CR0_PG),
	       "32-bit protected mode with paging off (CR0 0x%lx)", entry_state.cr0);
	report(!(entry_state.rflags & X86_EFLAGS_IF) && !(entry_state.rflags & (1ul << 17)),
	       "EFLAGS.IF and EFLAGS.VM clear (0x%lx)", entry_state.rflags);
	report(flat_segment(entry_state.cs, true), "CS 0x%x is a flat 32-bit read/execute segment",
	       entry_state.cs);
	report(flat_segment(entry_state.ds, false) && flat_segment(entry_state.es, false) &&
		   flat_segment(entry_state.ss, false),
	       "DS, ES, SS are flat 32-bit read/write segments");
	report(!(entry_state.efer & EFER_LME), "EFER.LME clear (0x%lx)", entry_state.efer);

	printf("boot_multiboot: info at %p flags 0x%x mem_lower %u mem_upper %u\n", (void *)mbi,
	       mbi->flags, mbi->mem_lower, mbi->mem_upper);
	report((mbi->flags & (MBI_MEMORY | MBI_CMDLINE | MBI_MMAP)) ==
		   (MBI_MEMORY | MBI_CMDLINE | MBI_MMAP),
	       "info flags announce memory, cmdline and mmap (0x%x)", mbi->flags);
	report(mbi->mem_lower >= 630 && mbi->mem_lower <= 640,
	       "mem_lower is conventional memory: %u KiB", mbi->mem_lower);
	if (!cmdline_u64("mem", &mem))
		abort_test("the test passes mem=<size> on the command line");
	upper_want = ((mem < (3ul << 30) ? mem : (3ul << 30)) - 0x100000) / 1024;
	report(mbi->mem_upper == upper_want, "mem_upper %u KiB matches mem=%luM (want %lu)",
	       mbi->mem_upper, mem >> 20, upper_want);

	cl = (const char *)(uint64_t)mbi->cmdline;
	printf("cmdline: \"%s\"\n", cl);
	name = cmdline_get("name", &name_len);
	{
		const char *sp = cl;
		while (*sp && *sp != ' ')
			sp++;
		report(name && (size_t)(sp - cl) >= name_len &&
			   !strncmp(sp - name_len, name, name_len),
		       "cmdline starts with the kernel path (ends in name=)");
		/* The test passes mem= first; it also compares the whole line printed above. */
		report(sp[0] == ' ' && !strncmp(sp + 1, "mem=", 4),
		       "cmdline continues with one space and the --cmdline text");
	}
	if (mbi->flags & MBI_LOADER_NAME)
		printf("boot loader name: \"%s\"\n", (const char *)(uint64_t)mbi->boot_loader_name);
	check_mmap(mbi, mem);
	check_module(mbi);
	return 0;
}
