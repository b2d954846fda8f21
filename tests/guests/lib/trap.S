/*
 * Interrupt entry stubs (one per vector, 16 bytes apart), the common trap path, and the two
 * ways of running a function under control: run_catching() (an exception ends the function
 * and returns its vector) and run_user() (the function runs in ring 3 and comes back through
 * the DPL-3 gate at USER_RETURN_VECTOR).
 */
#include "asm.h"

	.text
	.code64
	.align 16
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

/* Frame layout: struct trap_frame in guest.h. */
trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	mov %rsp, %rdi
	cld
	call trap_handler
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	add $16, %rsp
	iretq

/* int run_catching(void (*fn)(void *), void *arg): -1, or the vector of the exception. */
	.globl run_catching, catch_landing
run_catching:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %gs:PC_CATCH_RSP
	pushq %gs:PC_CATCH_RFLAGS
	pushfq
	popq %gs:PC_CATCH_RFLAGS
	sub $8, %rsp /* keep the call 16-byte aligned */
	mov %rsp, %gs:PC_CATCH_RSP
	mov %rdi, %rax
	mov %rsi, %rdi
	call *%rax
	mov $-1, %eax
catch_landing:
	add $8, %rsp
	popq %gs:PC_CATCH_RFLAGS
	popq %gs:PC_CATCH_RSP
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/*
 * uint64_t run_user_asm(uint64_t (*fn)(void *), void *arg, uint64_t stack_top, uint64_t rflags)
 */
	.globl run_user_asm, user_landing
run_user_asm:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %gs:PC_USER_RSP
	pushq %gs:PC_USER_RFLAGS
	pushfq
	popq %gs:PC_USER_RFLAGS
	sub $8, %rsp
	mov %rsp, %gs:PC_USER_RSP
	pushq $USER_DS
	pushq %rdx
	pushq %rcx
	pushq $USER_CS
	lea user_trampoline(%rip), %rax
	pushq %rax
	mov %rdi, %rax
	mov %rsi, %rdi
	iretq
user_landing:
	add $8, %rsp
	popq %gs:PC_USER_RFLAGS
	popq %gs:PC_USER_RSP
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* Ring 3: call fn(arg), then hand its result back through int $USER_RETURN_VECTOR. */
user_trampoline:
	call *%rax
	mov %rax, %rdi
	int $USER_RETURN_VECTOR
	ud2

	.section .note.GNU-stack, "", @progbits
