/*
 * Entry points of the runtime: the 32-bit entry (multiboot, PVH), the 64-bit Linux-style
 * entry, and the AP start-up trampoline. Each records the state it was entered with in
 * entry_state, switches to our GDT and page tables, and calls C.
 */
#include "asm.h"

	.section .text.entry32, "ax"
	.code32
	.globl _start32
_start32:
	mov $bsp_kstack_top, %esp
	mov %eax, entry_state + ES_EAX
	mov %ebx, entry_state + ES_EBX
	pushfl
	popl entry_state + ES_RFLAGS
	cli
	movl $32, entry_state + ES_MODE
	mov %cr0, %eax
	mov %eax, entry_state + ES_CR0
	mov %cr3, %eax
	mov %eax, entry_state + ES_CR3
	mov %cr4, %eax
	mov %eax, entry_state + ES_CR4
	mov $MSR_EFER_NUM, %ecx
	rdmsr
	mov %eax, entry_state + ES_EFER
	mov %cs, entry_state + ES_CS
	mov %ds, entry_state + ES_DS
	mov %ss, entry_state + ES_SS
	mov %es, entry_state + ES_ES
	sgdt entry_state + ES_GDT
	/* Long mode: PAE, our page tables, EFER.LME, then paging on. */
	mov $CR4_VALUE, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER_NUM, %ecx
	rdmsr
	or $EFER_LME_BIT, %eax
	wrmsr
	mov $CR0_VALUE, %eax
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $KERNEL_CS, $long_entry

	.code64
long_entry:
	mov $KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea bsp_kstack_top(%rip), %rsp
	call rt_start_bsp
1:	hlt
	jmp 1b

/*
 * The Linux 64-bit boot protocol entry (startup_64): long mode, paging on, RSI = boot_params.
 * Only linked into images that ask for it (linux64.ld places it at load address + 0x200).
 */
	.section .text.entry64, "ax"
	.globl _start64
_start64:
	mov %rsi, entry_state + ES_RSI(%rip)
	mov %rax, entry_state + ES_EAX(%rip)
	mov %rbx, entry_state + ES_EBX(%rip)
	lea bsp_kstack_top(%rip), %rsp
	pushfq
	popq entry_state + ES_RFLAGS(%rip)
	cli
	movl $64, entry_state + ES_MODE(%rip)
	mov %cr0, %rax
	mov %rax, entry_state + ES_CR0(%rip)
	mov %cr3, %rax
	mov %rax, entry_state + ES_CR3(%rip)
	mov %cr4, %rax
	mov %rax, entry_state + ES_CR4(%rip)
	mov $MSR_EFER_NUM, %ecx
	rdmsr
	mov %eax, entry_state + ES_EFER(%rip)
	mov %cs, entry_state + ES_CS(%rip)
	mov %ds, entry_state + ES_DS(%rip)
	mov %ss, entry_state + ES_SS(%rip)
	mov %es, entry_state + ES_ES(%rip)
	sgdt entry_state + ES_GDT(%rip)
	lgdt gdt_desc(%rip)
	mov $CR4_VALUE, %eax
	mov %rax, %cr4
	lea pml4(%rip), %rax
	mov %rax, %cr3
	mov $CR0_VALUE, %eax
	mov %rax, %cr0
	pushq $KERNEL_CS
	lea long_entry(%rip), %rax
	pushq %rax
	lretq

/*
 * AP start-up: copied to AP_TRAMP_ADDR; an AP starts here in real mode at
 * (AP_TRAMP_ADDR >> 4):0 after INIT-SIPI-SIPI.
 */
	.section .text, "ax"
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl ap_gdt_desc - ap_tramp_start
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $KERNEL_CS32, $(AP_TRAMP_ADDR + ap_pm32 - ap_tramp_start)
	.code32
ap_pm32:
	mov $KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $CR4_VALUE, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER_NUM, %ecx
	rdmsr
	or $EFER_LME_BIT, %eax
	wrmsr
	mov $CR0_VALUE, %eax
	mov %eax, %cr0
	ljmp $KERNEL_CS, $ap_long_entry
	.align 4
ap_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:

	.code64
ap_long_entry:
	mov $KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	/* Take a ticket: it is this CPU's slot (the BSP is slot 0) and picks its stack. */
	mov $1, %eax
	lock xaddl %eax, ap_ticket(%rip)
	mov %eax, %edi
	lea 1(%rax), %rax
	shl $14, %rax /* KSTACK_SIZE */
	lea kstacks(%rip), %rsp
	add %rax, %rsp
	call rt_start_ap
1:	cli
	hlt
	jmp 1b

	.data
	.align 16
	.globl gdt, gdt_end, gdt_desc
gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff /* 0x10 kernel data */
	.quad 0x00cff2000000ffff /* 0x18 user data, DPL 3 */
	.quad 0x00affa000000ffff /* 0x20 user code, 64-bit, DPL 3 */
	.quad 0x00cf9a000000ffff /* 0x28 kernel code, 32-bit (AP start-up) */
	.quad 0, 0 /* 0x30, 0x38 */
	.fill 2 * MAX_CPUS, 8, 0 /* 0x40: a 16-byte TSS descriptor per CPU */
gdt_end:
	.align 8
	.word 0, 0, 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl ap_ticket
ap_ticket:
	.long 1

/*
 * Page tables: 0-4 GiB identity-mapped with 2 MiB pages, user-accessible and writable, and
 * a "test window" of 512 4-KiB pages at TEST_WINDOW (PML4 slot 1) that tests may remap.
 */
	.section .data.pagetables, "aw"
	.align 4096
	.globl pml4, test_pt, test_pd
pml4:
	.quad pdpt + 7
	.quad test_pdpt + 7
	.fill 510, 8, 0
pdpt:
	.quad pd + 0x0007, pd + 0x1007, pd + 0x2007, pd + 0x3007
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) | 0x87
	.set i, i + 1
	.endr
test_pdpt:
	.quad test_pd + 7
	.fill 511, 8, 0
test_pd:
	.quad test_pt + 7
	.fill 511, 8, 0
test_pt:
	.fill 512, 8, 0

	.bss
	.align 4096
	.globl kstacks, bsp_kstack_top
kstacks:
	.skip KSTACK_SIZE
bsp_kstack_top:
	.skip KSTACK_SIZE * (MAX_CPUS - 1)

	.section .note.GNU-stack, "", @progbits
