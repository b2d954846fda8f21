/* Constants shared by the runtime's assembly and C. */
#ifndef GUEST_ASM_H
#define GUEST_ASM_H

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS	  0x1b /* GDT entry 3, RPL 3 */
#define USER_CS	  0x23 /* GDT entry 4, RPL 3 */
/*
 * DPL-3 gate that ends run_user(). Not 0x80 or any other free vector: on kvm_pvm hosts an
 * `int n` from ring 3 raises #UD unless n is 3 or 4, so we use int $4 (#OF's vector).
 */
#define USER_RETURN_VECTOR 4
#define KERNEL_CS32	   0x28
#define TSS_SEL_BASE	   0x40 /* one 16-byte TSS descriptor per CPU from here */

#define MAX_CPUS	64
#define KSTACK_SIZE	0x4000 /* ring-0 stack of each CPU */
#define TRAP_STACK_SIZE 0x2000 /* TSS.RSP0: entered on interrupts from ring 3 */
#define USTACK_SIZE	0x4000 /* ring-3 stack of each CPU */

/* Where the AP start-up code is copied: free RAM below 1 MiB (SIPI vector 0x10). */
#define AP_TRAMP_ADDR 0x10000

/* Offsets in struct percpu (checked in rt.c). */
#define PC_SELF		0
#define PC_CATCH_RSP	8
#define PC_CATCH_RFLAGS 16
#define PC_USER_RSP	24
#define PC_USER_RFLAGS	32

/* Offsets in struct entry_state (checked in rt.c). */
#define ES_MODE	  0
#define ES_EAX	  8
#define ES_EBX	  16
#define ES_RSI	  24
#define ES_RFLAGS 32
#define ES_CR0	  40
#define ES_CR3	  48
#define ES_CR4	  56
#define ES_EFER	  64
#define ES_CS	  72
#define ES_DS	  74
#define ES_SS	  76
#define ES_ES	  78
#define ES_GDT	  80 /* 10 bytes: limit, base */

#define CR0_VALUE    0x80010033 /* PG | WP | NE | ET | MP | PE */
#define CR4_VALUE    0x620	/* OSXMMEXCPT | OSFXSR | PAE */
#define MSR_EFER_NUM 0xc0000080
#define EFER_LME_BIT 0x100

#endif
