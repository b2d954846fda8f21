/*
 * Loading and storing the vector and x87 registers as a block, for cpuid_msr's check that
 * they survive exits. The C code is built with -mgeneral-regs-only, so only these functions
 * touch them. Each takes a 16-byte aligned buffer in %rdi.
 */
	.text
	.code64

/* xmm0-15 <-> 256 bytes */
	.globl sse_load, sse_store
sse_load:
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu \r*16(%rdi), %xmm\r
	.endr
	ret
sse_store:
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu %xmm\r, \r*16(%rdi)
	.endr
	ret

/* ymm0-15 <-> 512 bytes (needs CR4.OSXSAVE and XCR0.AVX) */
	.globl avx_load, avx_store
avx_load:
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu \r*32(%rdi), %ymm\r
	.endr
	ret
avx_store:
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu %ymm\r, \r*32(%rdi)
	.endr
	ret

/* The x87 stack: push 8 doubles; pop them back (top first, so stored in reverse). */
	.globl x87_load, x87_store
x87_load:
	fninit
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7
	fldl \i*8(%rdi)
	.endr
	ret
x87_store:
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7
	fstpl \i*8(%rdi)
	.endr
	ret

/* FXSAVE/FXRSTOR of the 512-byte area at %rdi (16-byte aligned). */
	.globl fx_save, fx_restore
fx_save:
	fxsave64 (%rdi)
	ret
fx_restore:
	fxrstor64 (%rdi)
	ret

	.section .note.GNU-stack, "", @progbits
