/*
 * boot_reset_vector: a raw firmware image (--firmware) that starts where the CPU resets,
 * F000:FFF0 in real mode, and climbs to 32-bit protected mode and then 64-bit long mode,
 * checking CR0, EFER and CS at each step. Same output convention as the C guests
 * (PASS/FAIL lines, SUMMARY, exit through the debug-exit port).
 *
 * Built with -DBROKEN it expects EFER.LMA clear in long mode: that twin must FAIL.
 *
 * The 64 KiB image is linked at 0xF0000, where kvmbox also maps the end of the firmware
 * below 1 MiB; real-mode code addresses it as CS=0xF000 plus (label - BASE).
 */
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define BASE 0xf0000
#define CHECKS 0x600 /* RAM scratch: check and failure counters, reset-time EDX */
#define FAILS 0x604
#define RESET_EDX 0x608
#define STACK 0x7000
#define PML4 0x1000

/* Prints a string; real mode uses DS=CS and offsets, the other modes linear addresses. */
.macro PUTS16 text
	.pushsection .rodata, "a"
.Lstr\@: .asciz "\text"
	.popsection
	mov $(.Lstr\@ - BASE), %esi
	call puts16
.endm
.macro PUTS text, sfx
	.pushsection .rodata, "a"
.Lstr\@: .asciz "\text"
	.popsection
	mov $.Lstr\@, %esi
	call puts\sfx
.endm

/*
 * After a flag-setting instruction: jcc taken means the check passed. Prints
 * "PASS: msg" or "FAIL: msg" and counts.
 */
.macro CHECK16 jcc, msg
	\jcc 9998f
	incl %es:FAILS
	mov $(fail_str - BASE), %esi
	jmp 9999f
9998:	mov $(pass_str - BASE), %esi
9999:	call puts16
	incl %es:CHECKS
	PUTS16 "\msg\n"
.endm
.macro CHECK jcc, msg, sfx
	\jcc 9998f
	incl FAILS
	mov $fail_str, %esi
	jmp 9999f
9998:	mov $pass_str, %esi
9999:	call puts\sfx
	incl CHECKS
	PUTS "\msg\n", \sfx
.endm

/* puts: %esi = string; puthex: %eax = value (8 hex digits). Clobber eax, ebx, ecx, edx, esi. */
.macro PRINT_ROUTINES sfx
puts\sfx:
	mov $COM1, %dx
1:	movb (%esi), %al
	test %al, %al
	jz 2f
	outb %al, %dx
	inc %esi
	jmp 1b
2:	ret
puthex\sfx:
	mov %eax, %ebx
	mov $8, %ecx
	mov $COM1, %dx
3:	rol $4, %ebx
	mov %ebx, %eax
	and $0xf, %eax
	cmp $10, %eax
	jb 4f
	add $('a' - '0' - 10), %eax
4:	add $'0', %eax
	outb %al, %dx
	dec %ecx
	jnz 3b
	ret
.endm

	.section .text16, "ax"
	.code16
	PRINT_ROUTINES 16

start16:
	cli
	xor %ax, %ax
	mov %ax, %ss
	mov $STACK, %sp
	mov %ax, %es /* ES = 0: RAM scratch */
	mov %cs, %ax
	mov %ax, %ds /* DS = CS: strings */
	movl $0, %es:CHECKS
	movl $0, %es:FAILS
	PUTS16 "boot_reset_vector: real mode, EDX at reset 0x"
	mov %es:RESET_EDX, %eax
	call puthex16
	PUTS16 ", CR0 0x"
	mov %cr0, %eax
	call puthex16
	PUTS16 ", CS 0x"
	xor %eax, %eax
	mov %cs, %ax
	call puthex16
	PUTS16 "\n"

	mov %cr0, %eax
	test $1, %eax
	CHECK16 jz, "real mode: CR0.PE clear"
	mov %cr0, %eax
	test $0x80000000, %eax
	CHECK16 jz, "real mode: CR0.PG clear"
	mov %cs, %ax
	cmp $0xf000, %ax
	CHECK16 je, "real mode: CS is 0xF000 after the far jump from the reset vector"
	movl $0x12345678, %es:0x1000
	cmpl $0x12345678, %es:0x1000
	CHECK16 je, "real mode: RAM at 0x1000 keeps a store"
	/* The firmware is mapped read-only: a store to it must not stick. */
	movb %ds:(rom_byte - BASE), %al
	notb %ds:(rom_byte - BASE)
	cmpb %ds:(rom_byte - BASE), %al
	CHECK16 je, "real mode: a store to the firmware image is ignored (read-only)"

	/* To 32-bit protected mode. */
	lgdtl %cs:(gdt_desc - BASE)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $pm32

	.section .text32, "ax"
	.code32
	PRINT_ROUTINES 32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $STACK, %esp
	PUTS "boot_reset_vector: protected mode, CR0 0x", 32
	mov %cr0, %eax
	call puthex32
	PUTS ", CS 0x", 32
	xor %eax, %eax
	mov %cs, %ax
	call puthex32
	PUTS "\n", 32
	mov %cr0, %eax
	and $0x80000001, %eax
	cmp $1, %eax
	CHECK je, "protected mode: CR0.PE set, CR0.PG clear", 32
	mov %cs, %ax
	cmp $0x08, %ax
	CHECK je, "protected mode: CS is the 32-bit code selector 0x08", 32
	/* The same 16 bytes at the reset vector through both mappings of the image. */
	mov $0xfffffff0, %esi
	mov $0xffff0, %edi
	mov $4, %ecx
	repe cmpsl
	CHECK je, "protected mode: the image is at 0xFFFF0000 and mirrored at 0xF0000", 32

	/* Page tables: PML4 -> PDPT -> PD with one 2 MiB page at 0. */
	mov $PML4, %edi
	xor %eax, %eax
	mov $(3 * 1024), %ecx
	rep stosl
	movl $(PML4 + 0x1003), PML4
	movl $(PML4 + 0x2003), PML4 + 0x1000
	movl $0x83, PML4 + 0x2000
	mov $0x20, %eax /* CR4.PAE */
	mov %eax, %cr4
	mov $PML4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax /* EFER.LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x18, $lm64

	.section .text64, "ax"
	.code64
	PRINT_ROUTINES 64
lm64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $STACK, %esp
	PUTS "boot_reset_vector: long mode, CR0 0x", 64
	mov %cr0, %rax
	call puthex64
	PUTS ", EFER 0x", 64
	mov $0xc0000080, %ecx
	rdmsr
	call puthex64
	PUTS ", CS 0x", 64
	xor %eax, %eax
	mov %cs, %ax
	call puthex64
	PUTS "\n", 64
	mov $0xc0000080, %ecx
	rdmsr
	and $0x500, %eax
#ifdef BROKEN
	cmp $0x100, %eax /* deliberately wrong: expects LMA clear */
#else
	cmp $0x500, %eax
#endif
	CHECK je, "long mode: EFER.LME and EFER.LMA set", 64
	mov %cr0, %rax
	and $0x80000001, %eax
	cmp $0x80000001, %eax
	CHECK je, "long mode: CR0.PG and CR0.PE set", 64
	mov %cs, %ax
	cmp $0x18, %ax
	CHECK je, "long mode: CS is the 64-bit code selector 0x18", 64
	movabs $0x123456789abcdef0, %rax
	shr $36, %rax
	cmp $0x1234567, %rax
	CHECK je, "long mode: 64-bit registers and immediates work", 64

	/* SUMMARY: <checks> checks, <fails> failed, 0 skipped (two-digit decimal). */
	PUTS "SUMMARY: ", 64
	mov CHECKS, %eax
	call putdec64
	PUTS " checks, ", 64
	mov FAILS, %eax
	call putdec64
	PUTS " failed, 0 skipped, 0 known host failures\n", 64
	xor %eax, %eax
	cmpl $0, FAILS
	setne %al
	mov $DEBUG_EXIT, %dx
	outl %eax, %dx
	PUTS "debug-exit port did not end the VM\n", 64
1:	hlt
	jmp 1b

/* Decimal 0..99 of %eax. */
putdec64:
	mov $10, %ecx
	xor %edx, %edx
	div %ecx
	mov %edx, %ebx
	mov $COM1, %dx
	test %eax, %eax
	jz 1f
	add $'0', %eax
	outb %al, %dx
1:	mov %ebx, %eax
	add $'0', %eax
	outb %al, %dx
	ret

	.section .rodata, "a"
pass_str: .asciz "PASS: "
fail_str: .asciz "FAIL: "
rom_byte: .byte 0x5a
	.align 8
gdt:
	.quad 0
	/*
	 * Accessed bits preset: the CPU would otherwise write them into the read-only image
	 * (with them clear, kvm_pvm hangs inside KVM_RUN at the far jump to protected mode).
	 */
	.quad 0x00cf9b000000ffff /* 0x08: 32-bit code */
	.quad 0x00cf93000000ffff /* 0x10: data */
	.quad 0x00af9b000000ffff /* 0x18: 64-bit code */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

/* The reset vector: the CPU starts at F000:FFF0 (linear 0xFFFFFFF0, mirrored at 0xFFFF0). */
	.section .reset, "ax"
	.code16
reset:
	mov %edx, %ds:RESET_EDX /* DS base is 0 at reset */
	ljmp $0xf000, $(start16 - BASE)
	.fill 16 - (. - reset), 1, 0xf4

	.section .note.GNU-stack, "", @progbits
