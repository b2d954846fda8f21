/*
 * boot_linux64: the Linux 64-bit boot protocol entry state (Documentation/arch/x86/boot.rst,
 * "64-bit Boot Protocol"), seen by a fake bzImage entered at pref_address + 0x200.
 *
 * cmdline (set by the test): mem=<--mem> [initrd_size=N initrd_fnv=0xHASH]. A wrong mem= (or
 * initrd_fnv=) must make the guest FAIL.
 */
#include "guest.h"

#define BP(off, type) (*(const type *)(bp + (off)))

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

/* Walks the entry page tables (still intact at entry CR3) for one address. */
static uint64_t walk(uint64_t cr3, uint64_t va, bool *ok)
{
	uint64_t e = cr3 & PTE_ADDR;
	int shift = 39;

	*ok = false;
	for (int level = 4; level >= 1; level--, shift -= 9) {
		uint64_t pte = ((const uint64_t *)e)[(va >> shift) & 511];
		if (!(pte & PTE_P))
			return 0;
		if ((level == 2 || level == 3) && (pte & PTE_PS)) {
			*ok = true;
			return (pte & PTE_ADDR & ~((1ul << shift) - 1)) |
			       (va & ((1ul << shift) - 1));
		}
		e = pte & PTE_ADDR;
		if (level == 1) {
			*ok = true;
			return e | (va & 0xfff);
		}
	}
	return 0;
}

static void check_e820(const uint8_t *bp, uint64_t mem)
{
	int n = BP(0x1e8, uint8_t);
	uint64_t prev_end = 0, ram = 0, low = 0;
	bool sorted = true, image_in_ram = false;

	for (int i = 0; i < n && i < 128; i++) {
		const uint8_t *e = bp + 0x2d0 + 20 * i;
		uint64_t a = *(const uint64_t *)e, l = *(const uint64_t *)(e + 8);
		uint32_t t = *(const uint32_t *)(e + 16);
		printf("  e820[%d]: 0x%lx-0x%lx type %u\n", i, a, a + l - 1, t);
		sorted &= a >= prev_end && l > 0;
		prev_end = a + l;
		if (t == 1) {
			ram += l;
			if (a == 0)
				low = l;
			if (a <= (uint64_t)_image_start && a + l >= (uint64_t)_image_end)
				image_in_ram = true;
		}
	}
	report(n >= 2 && n <= 128, "e820_entries = %d", n);
	report(sorted, "e820 entries sorted and not overlapping");
	report(image_in_ram, "the kernel (0x%lx-0x%lx) lies in e820 RAM", (uint64_t)_image_start,
	       (uint64_t)_image_end);
	report(ram == mem - (0x100000 - low), "e820 RAM totals %lu KiB for mem=%luM", ram / 1024,
	       mem >> 20);
}

int main(void)
{
	const uint8_t *bp = (const uint8_t *)entry_state.rsi;
	uint64_t mem = 0, size, want_fnv = 0, gdt = entry_state.gdt_base, cs_desc;
	const char *cl;
	bool all_ident = true;

	printf(
	    "boot_linux64: entry RSI 0x%lx RFLAGS 0x%lx CR0 0x%lx CR3 0x%lx CR4 0x%lx EFER 0x%lx "
	    "CS 0x%x DS 0x%x SS 0x%x ES 0x%x\n",
	    entry_state.rsi, entry_state.rflags, entry_state.cr0, entry_state.cr3, entry_state.cr4,
	    entry_state.efer, entry_state.cs, entry_state.ds, entry_state.ss, entry_state.es);
	if (entry_state.mode != 64)
		abort_test("entered through the 64-bit entry point (booted as %s)",
			   boot.proto_name);
	report((entry_state.cr0 & (X86_CR0_PE | X86_CR0_PG)) == (X86_CR0_PE | X86_CR0_PG),
	       "protected mode with paging on (CR0 0x%lx)", entry_state.cr0);
	report((entry_state.efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA) &&
		   (entry_state.cr4 & X86_CR4_PAE),
	       "long mode active: EFER.LME+LMA, CR4.PAE");
	cs_desc = entry_state.cs + 7u <= entry_state.gdt_limit
		      ? *(const uint64_t *)(gdt + (entry_state.cs & ~7u))
		      : 0;
	report(entry_state.cs == 0x10 && (cs_desc >> 53 & 1) && !(cs_desc >> 54 & 1) &&
		   (cs_desc >> 43 & 1),
	       "CS is __BOOT_CS 0x10, a 64-bit code segment (L=1, D=0; descriptor 0x%lx)", cs_desc);
	report(entry_state.ds == 0x18 && entry_state.es == 0x18 && entry_state.ss == 0x18,
	       "DS, ES, SS are __BOOT_DS 0x18");
	report(!(entry_state.rflags & X86_EFLAGS_IF), "interrupts are off (RFLAGS 0x%lx)",
	       entry_state.rflags);
	report(entry_state.rsi == 0x7000, "RSI points to the zero page at 0x7000 (0x%lx)",
	       entry_state.rsi);
	{
		static const uint64_t probe[] = {0x0,	     0x7000,	 0x1000200,
						 0x3ffff000, 0x7fe00000, 0xbffff000,
						 0xfec00000, 0xfee00000, 0xfffff000};
		for (size_t i = 0; i < ARRAY_SIZE(probe); i++) {
			bool ok;
			uint64_t pa = walk(entry_state.cr3, probe[i], &ok);
			if (!ok || pa != probe[i]) {
				printf("  0x%lx -> %s0x%lx\n", probe[i], ok ? "" : "(not mapped) ",
				       pa);
				all_ident = false;
			}
		}
		report(all_ident, "entry page tables identity-map the low 4 GiB (%zu probes)",
		       ARRAY_SIZE(probe));
	}

	printf("boot_linux64: zero page\n");
	report(BP(0x1fe, uint16_t) == 0xaa55 && !memcmp(bp + 0x202, "HdrS", 4),
	       "zero page holds the setup header: boot_flag 0x%x, magic \"HdrS\"",
	       BP(0x1fe, uint16_t));
	report(BP(0x206, uint16_t) == 0x020f && BP(0x1f1, uint8_t) == 1 &&
		   BP(0x258, uint64_t) == 0x1000000 && BP(0x230, uint32_t) == 0x200000,
	       "header fields copied from the image (version 0x%x, setup_sects %u, pref_address "
	       "0x%lx)",
	       BP(0x206, uint16_t), BP(0x1f1, uint8_t), BP(0x258, uint64_t));
	report(BP(0x210, uint8_t) != 0, "type_of_loader is set (0x%x)", BP(0x210, uint8_t));
	report((BP(0x211, uint8_t) & 0x01) && (BP(0x211, uint8_t) & 0x80),
	       "loadflags: LOADED_HIGH and CAN_USE_HEAP (0x%x)", BP(0x211, uint8_t));
	cl = (const char *)(uint64_t)(BP(0x228, uint32_t) | (uint64_t)BP(0xc8, uint32_t) << 32);
	printf("cmdline: \"%s\"\n", cl ? cl : "");
	report(cl && !strncmp(cl, "mem=", 4), "cmd_line_ptr 0x%x points to the --cmdline text",
	       BP(0x228, uint32_t));
	{
		const char *rsdp = (const char *)BP(0x70, uint64_t);
		report(rsdp && !memcmp(rsdp, "RSD PTR ", 8) && acpi_checksum_ok(rsdp, 20),
		       "acpi_rsdp_addr 0x%lx points to a valid RSDP", (uint64_t)rsdp);
	}
	if (!cmdline_u64("mem", &mem))
		abort_test("the test passes mem=<size> on the command line");
	check_e820(bp, mem);
	if (cmdline_u64("initrd_size", &size)) {
		uint64_t a = BP(0x218, uint32_t) | (uint64_t)BP(0xc0, uint32_t) << 32;
		uint64_t n = BP(0x21c, uint32_t) | (uint64_t)BP(0xc4, uint32_t) << 32;
		struct span s = {(const uint8_t *)a, n};
		uint64_t h = n == size ? run_user(fnv1a, &s, false) : 0;
		cmdline_u64("initrd_fnv", &want_fnv);
		report(a && n == size, "ramdisk_image 0x%lx, ramdisk_size %lu (want %lu)", a, n,
		       size);
		report(h == want_fnv, "initrd bytes: FNV-1a 0x%lx (want 0x%lx)", h, want_fnv);
		report(a + n <= (uint64_t)BP(0x22c, uint32_t) + 1 &&
			   (a >= (uint64_t)_image_end || a + n <= (uint64_t)_image_start),
		       "initrd below initrd_addr_max and clear of the kernel");
	}
	return 0;
}
