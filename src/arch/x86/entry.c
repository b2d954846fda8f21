#include "arch/x86/entry.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "arch/x86/platform.h"

#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

#define PTE_PRESENT 0x1ULL
#define PTE_RW	    0x2ULL
#define PTE_PS	    0x80ULL /* 2 MiB page in a page directory entry */

/* Selectors the Linux boot protocol expects: __BOOT_CS 0x10, __BOOT_DS 0x18. */
#define GDT_CODE    2
#define GDT_DATA    3
#define GDT_TSS	    4
#define GDT_ENTRIES 5

/* Encodes a GDT descriptor from base, limit (in 4 KiB units with G=1) and access/flags. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

/* Access byte | flags nibble << 12: G, D/B, L. */
#define SEG_CODE64 0xa09b /* G, L, present, code exec/read, accessed */
#define SEG_CODE32 0xc09b /* G, D, present, code exec/read, accessed */
#define SEG_DATA   0xc093 /* G, B, present, data read/write, accessed */
#define SEG_TSS	   0x008b /* present, 32/64-bit TSS busy */

static struct kvm_segment segment_from_gdt(uint64_t desc, uint16_t index)
{
	return (struct kvm_segment){
	    .base = (uint32_t)(((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000)),
	    .limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000)),
	    .selector = (uint16_t)(index * 8),
	    .type = (desc >> 40) & 0xf,
	    .present = (desc >> 47) & 1,
	    .dpl = (desc >> 45) & 3,
	    .db = (desc >> 54) & 1,
	    .s = (desc >> 44) & 1,
	    .l = (desc >> 53) & 1,
	    .g = (desc >> 55) & 1,
	};
}

static void gdt_build(uint64_t gdt[GDT_ENTRIES], enum boot_entry_mode mode)
{
	memset(gdt, 0, GDT_ENTRIES * sizeof(uint64_t));
	gdt[GDT_CODE] = gdt_entry(mode == BOOT_ENTRY_LONG64 ? SEG_CODE64 : SEG_CODE32, 0, 0xfffff);
	gdt[GDT_DATA] = gdt_entry(SEG_DATA, 0, 0xfffff);
	gdt[GDT_TSS] = gdt_entry(SEG_TSS, 0, 0x67);
}

int x86_entry_setup_memory(struct guest_memory *mem, const struct boot_entry *entry)
{
	uint64_t gdt[GDT_ENTRIES];
	uint64_t *pml4, *pdpt, *pd;

	if (entry->mode == BOOT_ENTRY_RESET)
		return 0;
	gdt_build(gdt, entry->mode);
	if (memory_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)) < 0)
		return -EFAULT;
	if (entry->mode != BOOT_ENTRY_LONG64)
		return 0;
	/* PML4 -> one PDPT -> four page directories of 2 MiB pages: 0..4 GiB identity. */
	pml4 = gpa_to_host(mem, BOOT_PML4_ADDR, 6 * 4096);
	if (!pml4)
		return -EFAULT;
	memset(pml4, 0, 6 * 4096);
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = (BOOT_PML4_ADDR + 0x1000) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PML4_ADDR + 0x2000 + i * 0x1000) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

int x86_entry_set_vcpu(int vcpu_fd, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 2,
				.rip = entry->rip,
				.rax = entry->rax,
				.rsi = entry->rsi,
				.rbx = entry->rbx};
	uint64_t gdt[GDT_ENTRIES];
	struct kvm_segment code, data;

	if (entry->mode == BOOT_ENTRY_RESET)
		return 0; /* KVM creates vCPUs in the reset state */
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	gdt_build(gdt, entry->mode);
	code = segment_from_gdt(gdt[GDT_CODE], GDT_CODE);
	data = segment_from_gdt(gdt[GDT_DATA], GDT_DATA);
	/* Descriptor caches hold byte-granular limits. */
	code.limit = data.limit = 0xffffffff;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = segment_from_gdt(gdt[GDT_TSS], GDT_TSS);
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	if (entry->mode == BOOT_ENTRY_LONG64) {
		sregs.cr0 |= X86_CR0_PG;
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	} else {
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}
