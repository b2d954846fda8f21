/* Runtime core: CPU set-up (GDT/TSS/IDT), traps, ring 3, console, verdicts, time. */
#include "guest.h"

struct entry_state entry_state;
struct percpu percpus[MAX_CPUS];
static uint8_t trap_stacks[MAX_CPUS][TRAP_STACK_SIZE] ALIGNED(16);
static uint8_t user_stacks[MAX_CPUS][USTACK_SIZE] ALIGNED(16);

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
} __attribute__((packed));
static struct idt_entry idt[256] ALIGNED(16);
static trap_handler_t handlers[256];

extern char trap_stubs[];
extern char catch_landing[], user_landing[];
extern uint64_t gdt[];

_Static_assert(__builtin_offsetof(struct percpu, self) == PC_SELF, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, catch_rsp) == PC_CATCH_RSP, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, catch_rflags) == PC_CATCH_RFLAGS, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, user_rsp) == PC_USER_RSP, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, user_rflags) == PC_USER_RFLAGS, "percpu");
_Static_assert(__builtin_offsetof(struct entry_state, eax) == ES_EAX, "entry_state");
_Static_assert(__builtin_offsetof(struct entry_state, rsi) == ES_RSI, "entry_state");
_Static_assert(__builtin_offsetof(struct entry_state, efer) == ES_EFER, "entry_state");
_Static_assert(__builtin_offsetof(struct entry_state, cs) == ES_CS, "entry_state");
_Static_assert(__builtin_offsetof(struct entry_state, es) == ES_ES, "entry_state");
_Static_assert(__builtin_offsetof(struct entry_state, gdt_limit) == ES_GDT, "entry_state");

struct percpu *this_cpu(void)
{
	struct percpu *c;

	asm volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

static void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)trap_stubs + 16 * (uint64_t)v;
		idt[v] = (struct idt_entry){
		    .off0 = (uint16_t)a,
		    .sel = KERNEL_CS,
		    .type = v == USER_RETURN_VECTOR || v == BP_VECTOR ? 0xee : 0x8e,
		    .off1 = (uint16_t)(a >> 16),
		    .off2 = (uint32_t)(a >> 32),
		};
	}
}

/* Per-CPU state, TSS, GS base, IDT: everything a CPU needs before it may take a trap. */
static void cpu_init(uint32_t index)
{
	struct percpu *c = &percpus[index];
	uint64_t tss = (uint64_t)&c->tss;
	int slot = (TSS_SEL_BASE / 8) + 2 * (int)index;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};

	c->self = c;
	c->index = index;
	c->ustack_top = (uint64_t)user_stacks[index] + USTACK_SIZE;
	c->tss.rsp0 = (uint64_t)trap_stacks[index] + TRAP_STACK_SIZE;
	c->tss.iomap_base = sizeof(struct tss64); /* no I/O bitmap: IOPL decides */
	gdt[slot] = (sizeof(struct tss64) - 1) | (tss & 0xffffff) << 16 | 0x89ul << 40 |
		    (tss >> 24 & 0xff) << 56;
	gdt[slot + 1] = tss >> 32;
	asm volatile("ltr %w0" ::"r"(TSS_SEL_BASE + 16 * index));
	asm volatile("lidt %0" ::"m"(idtr));
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}

void set_handler(int vector, trap_handler_t h)
{
	handlers[vector] = h;
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "15",  "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void trap_handler(struct trap_frame *f)
{
	struct percpu *c = this_cpu();

	if (f->vector == USER_RETURN_VECTOR && (f->cs & 3) == 3 && c->user_rsp) {
		/* Back from run_user(): resume its caller in ring 0. */
		f->rax = f->rdi;
		f->rip = (uint64_t)user_landing;
		f->cs = KERNEL_CS;
		f->rsp = c->user_rsp;
		f->ss = KERNEL_DS;
		f->rflags = c->user_rflags;
		return;
	}
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (f->vector < 32 && c->catch_rsp) {
		c->exc = (struct exc_info){
		    .vector = f->vector,
		    .error_code = f->error_code,
		    .rip = f->rip,
		    .cs = f->cs,
		    .rflags = f->rflags,
		    .rsp = f->rsp,
		    .cr2 = f->vector == PF_VECTOR ? read_cr2() : 0,
		};
		f->rax = f->vector;
		f->rip = (uint64_t)catch_landing;
		f->cs = KERNEL_CS;
		f->rsp = c->catch_rsp;
		f->ss = KERNEL_DS;
		f->rflags = c->catch_rflags;
		return;
	}
	printf("unexpected %s (vector %lu) on CPU %u: error code 0x%lx, RIP 0x%lx, CS 0x%lx, "
	       "RSP 0x%lx, CR2 0x%lx\n",
	       f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "interrupt",
	       f->vector, c->index, f->error_code, f->rip, f->cs, f->rsp, read_cr2());
	abort_test("no unexpected exceptions or interrupts");
}

uint64_t run_user_asm(uint64_t (*fn)(void *), void *arg, uint64_t stack_top, uint64_t rflags);

uint64_t run_user(uint64_t (*fn)(void *), void *arg, bool irqs)
{
	return run_user_asm(fn, arg, this_cpu()->ustack_top,
			    0x2 | X86_EFLAGS_IOPL3 | (irqs ? X86_EFLAGS_IF : 0));
}

/* ---- console ---- */

static volatile int print_lock;

void spin_lock(volatile int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (*l)
			pause();
}

void spin_unlock(volatile int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void console_write(const char *s, size_t n)
{
	/* One string-I/O exit per line instead of one exit per byte. */
	uint64_t flags = read_rflags();

	cli();
	spin_lock(&print_lock);
	outsb(COM1, s, n);
	spin_unlock(&print_lock);
	if (flags & X86_EFLAGS_IF)
		sti();
}

static int vprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

static volatile int nr_checks, nr_failed, nr_skipped, nr_xfail;

static void vreport(const char *verdict, const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s: ", verdict);

	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	console_write(buf, (size_t)n);
}

void report(bool ok, const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&nr_checks, 1, __ATOMIC_SEQ_CST);
	if (!ok)
		__atomic_add_fetch(&nr_failed, 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	vreport(ok ? "PASS" : "FAIL", fmt, ap);
	va_end(ap);
}

void report_host(bool ok, const char *fmt, ...)
{
	va_list ap;
	bool known = !ok && cmdline_has("host=pvm");

	__atomic_add_fetch(&nr_checks, 1, __ATOMIC_SEQ_CST);
	if (known)
		__atomic_add_fetch(&nr_xfail, 1, __ATOMIC_SEQ_CST);
	else if (!ok)
		__atomic_add_fetch(&nr_failed, 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	vreport(ok ? "PASS" : known ? "XFAIL" : "FAIL", fmt, ap);
	va_end(ap);
}

void report_skip(const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&nr_skipped, 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	vreport("SKIP", fmt, ap);
	va_end(ap);
}

int report_failures(void)
{
	return nr_failed;
}

void guest_exit(uint32_t code)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = {0, 0};

	cli();
	outl(DEBUG_EXIT_PORT, code);
	/* No debug-exit port (kvmbox without --debug-exit): crash loudly instead of hanging. */
	printf("debug-exit port did not end the VM; forcing a triple fault\n");
	asm volatile("lidt %0; ud2" ::"m"(no_idt));
	for (;;)
		asm volatile("hlt");
}

void exit_with_summary(void)
{
	printf("SUMMARY: %d checks, %d failed, %d skipped, %d known host failures\n", nr_checks,
	       nr_failed, nr_skipped, nr_xfail);
	guest_exit(nr_failed ? 1 : 0);
}

void abort_test(const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&nr_checks, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&nr_failed, 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	vreport("FAIL", fmt, ap);
	va_end(ap);
	exit_with_summary();
}

/* ---- time ---- */

static uint64_t tsc_khz_cached;

/* TSC cycles in a 10 ms window of the ACPI PM timer (kvmbox's, host CLOCK_MONOTONIC). */
static uint64_t calibrate_pm_timer(void)
{
	const uint32_t ticks = PM_TIMER_HZ / 100;
	uint32_t start = inl(PM_TIMER_PORT), now;
	uint64_t t0 = rdtsc(), t1;

	if (start == 0xffffffff) /* no ACPI PM block (--no-acpi) */
		return 0;
	do {
		now = inl(PM_TIMER_PORT);
		t1 = rdtsc();
		if (t1 - t0 > (1ull << 32) && ((now - start) & 0xffffff) == 0)
			return 0; /* not counting */
	} while (((now - start) & 0xffffff) < ticks);
	return (t1 - t0) * PM_TIMER_HZ / (((now - start) & 0xffffff) * 1000ull);
}

/* TSC cycles in a 50 ms run of PIT channel 2 (mode 0, OUT2 seen in port 0x61). */
static uint64_t calibrate_pit(void)
{
	const uint32_t pit_hz = 1193182, count = pit_hz / 20;
	uint64_t t0, t1;

	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	t1 = rdtsc();
	return (t1 - t0) * pit_hz / (count * 1000ull);
}

/*
 * Ring 0: ring 3 cannot do port I/O on every host (kvm_pvm ignores IOPL in user mode). The PM
 * timer is preferred: on kvm_pvm, PIT channel 2 runs out early right after boot.
 */
uint64_t tsc_khz(void)
{
	if (!tsc_khz_cached)
		tsc_khz_cached = calibrate_pm_timer();
	if (!tsc_khz_cached)
		tsc_khz_cached = calibrate_pit();
	return tsc_khz_cached;
}

static uint64_t delay_user(void *arg)
{
	uint64_t end = rdtsc() + (uint64_t)arg;

	while (rdtsc() < end)
		pause();
	return 0;
}

/* Busy-waits in ring 3, where the loop runs natively. */
void delay_us(uint64_t us)
{
	run_user(delay_user, (void *)(us * tsc_khz() / 1000), false);
}

struct wait {
	volatile int *counter;
	int target;
	uint64_t deadline;
};

static uint64_t wait_user(void *arg)
{
	struct wait *w = arg;

	while (*w->counter < w->target && rdtsc() < w->deadline)
		pause();
	return (uint64_t)*w->counter;
}

int wait_until(volatile int *counter, int target, uint64_t ms)
{
	struct wait w = {counter, target, rdtsc() + ms * tsc_khz()};

	return (int)run_user(wait_user, &w, true);
}

/* ---- start-up ---- */

void bootinfo_init(void);

void rt_start_bsp(void)
{
	cpu_init(0);
	idt_init();
	pic_disable();
	bootinfo_init();
	printf("kvmbox test guest: boot protocol %s, cmdline \"%s\"\n", boot.proto_name,
	       boot.cmdline);
	main();
	exit_with_summary();
}

void smp_ap_main(struct percpu *c);

void rt_start_ap(uint32_t index)
{
	cpu_init(index);
	smp_ap_main(&percpus[index]);
}
