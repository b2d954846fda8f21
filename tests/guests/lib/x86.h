/* Thin wrappers around x86 instructions and architectural constants for the test guests. */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdint.h>

#define X86_CR0_PE	   (1ul << 0)
#define X86_CR0_MP	   (1ul << 1)
#define X86_CR0_EM	   (1ul << 2)
#define X86_CR0_TS	   (1ul << 3)
#define X86_CR0_ET	   (1ul << 4)
#define X86_CR0_NE	   (1ul << 5)
#define X86_CR0_WP	   (1ul << 16)
#define X86_CR0_PG	   (1ul << 31)
#define X86_CR4_PAE	   (1ul << 5)
#define X86_CR4_OSFXSR	   (1ul << 9)
#define X86_CR4_OSXMMEXCPT (1ul << 10)
#define X86_CR4_OSXSAVE	   (1ul << 18)
#define X86_EFLAGS_IF	   (1ul << 9)
#define X86_EFLAGS_IOPL3   (3ul << 12)

#define MSR_EFER	 0xc0000080
#define MSR_FS_BASE	 0xc0000100
#define MSR_GS_BASE	 0xc0000101
#define MSR_APIC_BASE	 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_TSC		 0x10
#define EFER_LME	 (1ul << 8)
#define EFER_LMA	 (1ul << 10)

#define PTE_P	 (1ul << 0)
#define PTE_W	 (1ul << 1)
#define PTE_U	 (1ul << 2)
#define PTE_PS	 (1ul << 7)
#define PTE_ADDR 0x000ffffffffff000ul

/* Exception vectors. */
#define DE_VECTOR  0
#define DB_VECTOR  1
#define NMI_VECTOR 2
#define BP_VECTOR  3
#define UD_VECTOR  6
#define NM_VECTOR  7
#define DF_VECTOR  8
#define GP_VECTOR  13
#define PF_VECTOR  14
#define MF_VECTOR  16
#define XM_VECTOR  19

/* #PF error code bits. */
#define PFERR_PRESENT (1u << 0)
#define PFERR_WRITE   (1u << 1)
#define PFERR_USER    (1u << 2)

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outsb(uint16_t port, const void *buf, uint64_t n)
{
	asm volatile("cld; rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void insb(uint16_t port, void *buf, uint64_t n)
{
	asm volatile("cld; rep insb" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void outsw(uint16_t port, const void *buf, uint64_t n)
{
	asm volatile("cld; rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void insw(uint16_t port, void *buf, uint64_t n)
{
	asm volatile("cld; rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;
	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr4(void)
{
	uint64_t v;
	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline void write_cr0(uint64_t v)
{
	asm volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}
static inline void write_cr3(uint64_t v)
{
	asm volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}
static inline void write_cr4(uint64_t v)
{
	asm volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}
static inline void invlpg(const volatile void *va)
{
	asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

struct cpuid {
	uint32_t a, b, c, d;
};
static inline struct cpuid cpuid(uint32_t leaf, uint32_t sub)
{
	struct cpuid r;
	asm volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
	return r;
}

static inline uint64_t read_rflags(void)
{
	uint64_t f;
	asm volatile("pushfq; popq %0" : "=r"(f));
	return f;
}
static inline uint16_t read_cs(void)
{
	uint16_t v;
	asm volatile("mov %%cs, %0" : "=r"(v));
	return v;
}
static inline uint16_t read_ss(void)
{
	uint16_t v;
	asm volatile("mov %%ss, %0" : "=r"(v));
	return v;
}
static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}
static inline void sti(void)
{
	asm volatile("sti" ::: "memory");
}
/* Enables interrupts and halts in one step: the STI shadow covers the HLT. */
static inline void safe_halt(void)
{
	asm volatile("sti; hlt" ::: "memory");
}
static inline void pause(void)
{
	asm volatile("pause" ::: "memory");
}
static inline void barrier(void)
{
	asm volatile("" ::: "memory");
}

static inline uint8_t mmio_read8(uint64_t a)
{
	return *(volatile uint8_t *)a;
}
static inline uint16_t mmio_read16(uint64_t a)
{
	return *(volatile uint16_t *)a;
}
static inline uint32_t mmio_read32(uint64_t a)
{
	return *(volatile uint32_t *)a;
}
static inline uint64_t mmio_read64(uint64_t a)
{
	return *(volatile uint64_t *)a;
}
static inline void mmio_write8(uint64_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}
static inline void mmio_write16(uint64_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void mmio_write32(uint64_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline void mmio_write64(uint64_t a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}

#endif
