/*
 * The runtime every test guest links against: boot information, serial printf, report()
 * and the PASS/FAIL summary, exceptions, ring 3, LAPIC/IOAPIC, ACPI tables and SMP.
 *
 * Exit convention (as kvm-unit-tests): the guest writes 0 (all checks passed) or 1 (some
 * failed) to the debug-exit port, so kvmbox exits with status 1 for PASS and 3 for FAIL.
 * Every check prints one line "PASS: ...", "FAIL: ..." or "SKIP: ...", and the last line is
 * "SUMMARY: <n> checks, <f> failed, <s> skipped, <x> known host failures".
 *
 * Speed (see /work/shared/HOST.md): guest ring-0 code may be emulated instruction by
 * instruction; heavy loops belong in ring 3 (run_user).
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asm.h"
#include "x86.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NORETURN      __attribute__((noreturn))
#define PRINTF(f, a)  __attribute__((format(printf, f, a)))
#define ALIGNED(n)    __attribute__((aligned(n)))

/* ---- libc subset (lib.c) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *h, const char *n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF(3, 4);
uint64_t strtou64(const char *s, const char **end, int base);

/* ---- console and verdicts (rt.c) ---- */
int printf(const char *fmt, ...) PRINTF(1, 2);
void report(bool ok, const char *fmt, ...) PRINTF(2, 3);
void report_skip(const char *fmt, ...) PRINTF(1, 2);
/*
 * A check that the host's KVM itself is known to fail (kvm_pvm, see README.md): when the
 * command line says host=pvm a failure prints "XFAIL:" and is not counted; elsewhere, and
 * whenever it passes, it is an ordinary check.
 */
void report_host(bool ok, const char *fmt, ...) PRINTF(2, 3);
/* Prints the summary and exits through the debug-exit port (0 = all passed). */
NORETURN void exit_with_summary(void);
NORETURN void guest_exit(uint32_t code);
/* A failure that makes going on pointless: FAIL line, summary, exit. */
NORETURN void abort_test(const char *fmt, ...) PRINTF(1, 2);
int report_failures(void);

/* ---- boot information (bootinfo.c) ---- */
enum boot_proto { BOOT_UNKNOWN, BOOT_MULTIBOOT, BOOT_PVH, BOOT_LINUX64 };

/* What the entry code saw, before it changed anything (entry.S). */
struct entry_state {
	uint32_t mode; /* 32: multiboot/PVH entry, 64: Linux 64-bit entry */
	uint32_t pad;
	uint64_t eax, ebx, rsi, rflags, cr0, cr3, cr4, efer;
	uint16_t cs, ds, ss, es;
	uint16_t gdt_limit;
	uint64_t gdt_base;
} __attribute__((packed));
extern struct entry_state entry_state;

struct mem_range {
	uint64_t addr, len;
	uint32_t type;
};
#define MAX_MMAP 32

struct boot_info {
	enum boot_proto proto;
	const char *proto_name;
	const char *cmdline; /* never NULL */
	int nmmap;
	struct mem_range mmap[MAX_MMAP];
	bool have_module;
	uint64_t module_addr, module_size;
	uint64_t rsdp; /* 0 if the boot protocol does not say */
};
extern struct boot_info boot;

/* Value of "key=value" on the command line (NULL if absent); *len gets its length. */
const char *cmdline_get(const char *key, size_t *len);
/* Numeric value (decimal, 0x hex, K/M/G suffix) of key=; returns false if absent. */
bool cmdline_u64(const char *key, uint64_t *out);
/* Whether the whitespace-separated word appears on the command line. */
bool cmdline_has(const char *word);

/* ---- CPUs, traps, ring 3 (rt.c, trap.S) ---- */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rdx, rcx, rbx, rax;
	uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};

struct exc_info {
	uint64_t vector, error_code, rip, cs, rflags, rsp, cr2;
};

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

struct percpu {
	struct percpu *self;
	uint64_t catch_rsp, catch_rflags, user_rsp, user_rflags;
	uint32_t index; /* 0 = BSP, APs in start-up order */
	uint32_t apic_id;
	struct exc_info exc; /* the last exception taken under run_catching */
	uint64_t ustack_top;
	struct tss64 tss ALIGNED(16);
};

struct percpu *this_cpu(void);
extern struct percpu percpus[MAX_CPUS];

typedef void (*trap_handler_t)(struct trap_frame *f);
/* Handler for a vector (interrupts, NMI); NULL restores the default. */
void set_handler(int vector, trap_handler_t h);

/* Runs fn(arg); returns -1, or the vector of the exception that ended it (see this_cpu()->exc). */
int run_catching(void (*fn)(void *), void *arg);
/*
 * Runs fn(arg) in ring 3 (IOPL 3, interrupts on if irqs) on this CPU's user stack. On kvm_pvm
 * hosts ring 3 cannot do port I/O whatever IOPL says, and takes interrupts even with IF=0:
 * use it for computation and memory accesses only.
 */
uint64_t run_user(uint64_t (*fn)(void *), void *arg, bool irqs);

/* ---- memory ---- */
extern volatile uint64_t pml4[512];	  /* the CPU writes accessed/dirty bits: volatile */
extern volatile uint64_t test_pt[512];	  /* 4-KiB PTEs of the test window */
extern volatile uint64_t test_pd[512];	  /* the window's page directory: entry 0 is test_pt */
#define TEST_WINDOW 0x8000000000ul	  /* 512 GiB: PML4 slot 1, 2 MiB of 4-KiB pages */
extern char _image_start[], _image_end[]; /* from the linker script */

/* ---- LAPIC / IOAPIC (apic.c) ---- */
#define LAPIC_BASE		0xfee00000ul
#define IOAPIC_BASE		0xfec00000ul
#define APIC_ID			0x20
#define APIC_VERSION		0x30
#define APIC_TPR		0x80
#define APIC_EOI		0xb0
#define APIC_LDR		0xd0
#define APIC_SVR		0xf0
#define APIC_ISR		0x100
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_ICR_LO		0x300
#define APIC_ICR_HI		0x310
#define APIC_LVT_TIMER		0x320
#define APIC_LVT_LINT0		0x350
#define APIC_LVT_LINT1		0x360
#define APIC_LVT_ERROR		0x370
#define APIC_TIMER_ICR		0x380
#define APIC_TIMER_CCR		0x390
#define APIC_TIMER_DCR		0x3e0
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_TIMER_PERIODIC	(1u << 17)
#define APIC_TIMER_TSC_DEADLINE (2u << 17)
#define APIC_DM_FIXED		0x000
#define APIC_DM_NMI		0x400
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_ICR_BUSY		(1u << 12)
#define APIC_ASSERT		(1u << 14)
#define APIC_LEVEL_TRIG		(1u << 15)
#define APIC_DEST_SELF		(1u << 18)
#define APIC_DEST_ALL_BUT_SELF	(3u << 18)

uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t v);
void apic_eoi(void);
uint32_t apic_id(void);
void apic_enable(void); /* software-enable with SVR, spurious vector 0xff */
void apic_send_ipi(uint32_t dest_apic_id, uint32_t icr_lo);
uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t v);
/* Routes an IOAPIC pin to vector on dest (physical mode); edge, active high, unmasked. */
void ioapic_route(int pin, int vector, uint32_t dest);
void ioapic_mask(int pin);
void pic_disable(void);

/* ---- ACPI (acpi.c) ---- */
struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

struct madt_info {
	const char *source; /* "ACPI MADT" or "MP table" */
	int ncpus;
	uint8_t apic_ids[MAX_CPUS];
	uint32_t lapic_addr;
	uint32_t ioapic_addr;
	int irq0_gsi; /* ISA IRQ0 after interrupt source overrides */
};
/* The RSDP (boot-protocol pointer or scan of 0xE0000-0xFFFFF), or 0. */
uint64_t acpi_find_rsdp(void);
const struct acpi_header *acpi_find_table(const char *sig);
bool acpi_checksum_ok(const void *p, size_t len);
/* Parses the MADT; false if there is none. */
bool madt_parse(struct madt_info *m);

/* ---- SMP (smp.c) ---- */
/*
 * Starts every other CPU the MADT lists with INIT-SIPI-SIPI. Each AP sets itself up and runs
 * fn(its percpu), then idles with interrupts off. Returns the number of CPUs now running
 * (BSP included) after waiting for all of them to report in (or timing out).
 */
int smp_start(void (*fn)(struct percpu *c), const struct madt_info *m);
extern volatile int smp_cpus_done; /* APs that returned from fn */
/* Waits (HLT, bounded by a LAPIC timer tick) until n APs returned from fn; returns how many did. */
int smp_wait_done(int n, uint64_t timeout_ms);
void spin_lock(volatile int *l);
void spin_unlock(volatile int *l);

/* ---- time (rt.c) ---- */
uint64_t tsc_khz(void);	    /* calibrated once against the PIT */
void delay_us(uint64_t us); /* busy wait in ring 3 */
/*
 * Polls in ring 3 with interrupts on until *counter >= target or ms milliseconds passed;
 * returns the last value seen. Cheap, and bounded: a missing event is a FAIL, not a hang.
 */
int wait_until(volatile int *counter, int target, uint64_t ms);
#define PM_TIMER_PORT 0x608
#define PM_TIMER_HZ   3579545

/* ---- devices ---- */
#define COM1		  0x3f8
#define DEBUG_EXIT_PORT	  0xf4
#define TEST_DEV_MMIO	  0xfe000000ul
#define TEST_DEV_PORT	  0xe0
#define TEST_DEV_FIFO	  (TEST_DEV_PORT + 8)
#define TEST_DEV_COUNT	  0x800
#define TEST_DEV_LAST_LEN 0x808
#define TEST_DEV_LAST_OFF 0x810
#define TEST_DEV_LAST_VAL 0x818

/* Each guest provides this; the runtime prints a summary and exits when it returns. */
int main(void);

#endif
