/*
 * interrupts: the in-kernel LAPIC timer (one-shot, periodic, TSC-deadline), the PIT routed
 * through the IOAPIC as the MADT says, self-IPIs with IF/TPR masking, NMI through the ICR,
 * and HLT woken by a timer.
 *
 * Waits poll a counter in ring 3 with a TSC timeout (wait_until: cheap, and interrupts are
 * taken there even under kvm_pvm), so a missing interrupt gives a FAIL rather than a hang.
 *
 * cmdline: break=mask  arms the one-shot timer with its LVT masked, so it must FAIL.
 *          host=pvm    the ISR check is a known kvm_pvm failure (XFAIL); see README.md.
 */
#include "guest.h"

#define TIMER_VEC 0x40
#define PIT_VEC	  0x50
#define IPI_VEC	  0x60
#define PIT_HZ	  1193182

static volatile int timer_hits, timer_hits_user, pit_hits, ipi_hits, nmi_hits;
static volatile uint64_t timer_tsc;
static volatile bool timer_isr_set;
static bool break_mask;

static bool isr_bit(int vec)
{
	return apic_read(APIC_ISR + 0x10 * (uint32_t)(vec / 32)) >> (vec % 32) & 1;
}

static bool irr_bit(int vec)
{
	return apic_read(APIC_IRR + 0x10 * (uint32_t)(vec / 32)) >> (vec % 32) & 1;
}

static void timer_handler(struct trap_frame *f)
{
	timer_tsc = rdtsc();
	timer_hits++;
	if ((f->cs & 3) == 3)
		timer_hits_user++;
	timer_isr_set = isr_bit(TIMER_VEC);
	apic_eoi();
}

static void pit_handler(struct trap_frame *f)
{
	pit_hits++;
	apic_eoi();
}

static void ipi_handler(struct trap_frame *f)
{
	ipi_hits++;
	apic_eoi();
}

static void nmi_handler(struct trap_frame *f)
{
	nmi_hits++;
}

static uint64_t us_since(uint64_t t0, uint64_t t1)
{
	return (t1 - t0) * 1000 / tsc_khz();
}

static void lapic_timer_stop(void)
{
	apic_write(APIC_TIMER_ICR, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | TIMER_VEC);
}

static void lapic_checks(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE), t0, c0, c1;
	uint32_t ver = apic_read(APIC_VERSION);
	int n, user;

	printf("interrupts: local APIC\n");
	report((base & ~0xfffull) == LAPIC_BASE && (base & (1 << 11)) && (base & (1 << 8)),
	       "IA32_APIC_BASE: 0xfee00000, enabled, BSP (0x%lx)", base);
	report((ver & 0xff) >= 0x10 && ((ver >> 16) & 0xff) >= 4,
	       "LAPIC version register: integrated APIC 0x%x, %u LVT entries", ver & 0xff,
	       ((ver >> 16) & 0xff) + 1);
	report(apic_id() == 0, "BSP LAPIC ID is 0 (%u)", apic_id());

	/* One-shot, divide by 1: 5,000,000 bus cycles = 5 ms at KVM's 1 GHz APIC bus. */
	apic_write(APIC_TIMER_DCR, 0xb);
	apic_write(APIC_LVT_TIMER, (break_mask ? APIC_LVT_MASKED : 0) | TIMER_VEC);
	t0 = rdtsc();
	apic_write(APIC_TIMER_ICR, 5000000);
	c0 = apic_read(APIC_TIMER_CCR);
	c1 = apic_read(APIC_TIMER_CCR);
	report(c0 <= 5000000 && c0 > 0 && c1 < c0, "one-shot: current count runs down (%lu, %lu)",
	       c0, c1);
	n = wait_until(&timer_hits, 1, 200);
	report(n == 1, "one-shot: the timer interrupt arrived (%d)", n);
	if (n) {
		uint64_t us = us_since(t0, timer_tsc);
		report(us >= 4500 && us < 200000,
		       "one-shot: fired after %lu us (programmed 5000 us)", us);
	}
	report_host(timer_isr_set, "ISR bit of the vector is set while its handler runs");
	report(!isr_bit(TIMER_VEC), "ISR bit is clear after EOI");
	n = wait_until(&timer_hits, 2, 10);
	report(n == 1 && apic_read(APIC_TIMER_CCR) == 0,
	       "one-shot fires once and stops at count 0 (%d interrupts, count %u)", n,
	       apic_read(APIC_TIMER_CCR));

	/* Periodic, 1 ms. */
	timer_hits = timer_hits_user = 0;
	apic_write(APIC_LVT_TIMER, APIC_TIMER_PERIODIC | TIMER_VEC);
	t0 = rdtsc();
	apic_write(APIC_TIMER_ICR, 1000000);
	wait_until(&timer_hits, 1 << 30, 30);
	n = timer_hits;
	user = timer_hits_user;
	lapic_timer_stop();
	report(n >= 10 && n <= 45, "periodic 1 ms: %d interrupts in %lu us", n,
	       us_since(t0, rdtsc()));
	report(user >= 1, "timer interrupts arrive while running in ring 3 and return there (%d)",
	       user);

	/*
	 * A masked LVT does not interrupt. A periodic interrupt raised just before the stop may
	 * still be on its way (delivery lags on emulating hosts): let it land first.
	 */
	wait_until(&timer_hits, 1 << 30, 2);
	timer_hits = 0;
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | TIMER_VEC);
	apic_write(APIC_TIMER_ICR, 1000000);
	n = wait_until(&timer_hits, 1, 5);
	lapic_timer_stop();
	report(n == 0, "masked LVT timer: no interrupt (%d)", n);

	/* Ring 0 with IF=1: the interrupt arrives between emulated instructions. */
	timer_hits = 0;
	apic_write(APIC_LVT_TIMER, TIMER_VEC);
	apic_write(APIC_TIMER_ICR, 100000);
	sti();
	for (int i = 0; i < 20000 && !timer_hits; i++)
		pause();
	cli();
	report(timer_hits == 1, "interrupt taken while executing ring-0 code (%d)", timer_hits);
}

static void tsc_deadline_checks(void)
{
	uint64_t deadline;
	int n;

	if (!(cpuid(1, 0).c & (1u << 24))) {
		report_skip("TSC-deadline timer: CPUID.1:ECX[24] clear");
		return;
	}
	timer_hits = 0;
	apic_write(APIC_LVT_TIMER, APIC_TIMER_TSC_DEADLINE | TIMER_VEC);
	deadline = rdtsc() + 3 * tsc_khz();
	wrmsr(MSR_TSC_DEADLINE, deadline);
	n = wait_until(&timer_hits, 1, 200);
	report(n == 1 && timer_tsc >= deadline,
	       "TSC-deadline: one interrupt, not before the deadline (%d, %ld us after)", n,
	       n ? (int64_t)((timer_tsc - deadline) * 1000 / tsc_khz()) : 0);
	report(rdmsr(MSR_TSC_DEADLINE) == 0, "TSC-deadline MSR reads 0 after it fired");
	timer_hits = 0;
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + 2 * tsc_khz());
	wrmsr(MSR_TSC_DEADLINE, 0);
	n = wait_until(&timer_hits, 1, 5);
	report(n == 0, "TSC-deadline: writing 0 disarms it (%d)", n);
	lapic_timer_stop();
}

static void pit_start(uint16_t divisor)
{
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	outb(0x40, divisor & 0xff);
	outb(0x40, divisor >> 8);
}

static void pit_stop(void)
{
	outb(0x43, 0x30); /* channel 0, mode 0, no reload: one last edge, then quiet */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
}

static void pit_checks(void)
{
	struct madt_info m;
	uint32_t ver = ioapic_read(1);
	int pin, n;
	uint64_t t0;

	printf("interrupts: PIT through the IOAPIC\n");
	report(((ver >> 16) & 0xff) == 23, "IOAPIC has 24 redirection entries (version 0x%x)", ver);
	if (!madt_parse(&m))
		abort_test("MADT or MP table present");
	pin = m.irq0_gsi;
	report(pin == 2, "the MADT routes ISA IRQ0 to GSI %d", pin);
	ioapic_route(pin, PIT_VEC, apic_id());
	t0 = rdtsc();
	pit_start(PIT_HZ / 1000);
	n = wait_until(&pit_hits, 1 << 30, 30);
	n = pit_hits;
	report(n >= 10 && n <= 45, "PIT at 1 kHz on IOAPIC pin %d: %d interrupts in %lu us", pin, n,
	       us_since(t0, rdtsc()));
	if (n == 0) {
		/* Where do they go, then? Try the other likely pin. */
		int other = pin == 2 ? 0 : 2;
		ioapic_mask(pin);
		ioapic_route(other, PIT_VEC, apic_id());
		n = wait_until(&pit_hits, 5, 30);
		printf("  with IOAPIC pin %d routed instead: %d PIT interrupts\n", other, n);
		ioapic_mask(other);
	}
	ioapic_mask(pin);
	wait_until(&pit_hits, 1 << 30, 2); /* let anything already accepted drain */
	pit_hits = 0;
	n = wait_until(&pit_hits, 1, 10);
	report(n == 0, "masked IOAPIC pin: no more PIT interrupts (%d)", n);
	pit_stop();
}

/*
 * Opens an interrupt window in ring 0 for a bounded number of instructions. On a CPU the
 * interrupt is taken right after the instruction that follows STI; an emulating KVM (kvm_pvm)
 * may only look for events every hundred or so instructions.
 */
static void irq_window(volatile int *counter, int target)
{
	sti();
	for (int i = 0; i < 2000 && *counter < target; i++)
		pause();
	cli();
}

/* Ring-0 busy wait with IF=0, as long as irq_window() would have waited. */
static void no_irq_window(volatile int *counter, int target)
{
	for (int i = 0; i < 2000 && *counter < target; i++)
		pause();
}

static void ipi_checks(void)
{
	uint32_t self = apic_id();

	printf("interrupts: IPIs and NMI\n");
	cli();
	apic_send_ipi(self, APIC_DM_FIXED | IPI_VEC);
	no_irq_window(&ipi_hits, 1);
	report(ipi_hits == 0 && irr_bit(IPI_VEC), "self-IPI with IF=0 waits in IRR (%d delivered)",
	       ipi_hits);
	irq_window(&ipi_hits, 1);
	report(ipi_hits == 1 && !irr_bit(IPI_VEC), "the pending IPI is taken after STI (%d)",
	       ipi_hits);

	apic_write(APIC_TPR, 0x70); /* priority class 7 masks vectors 0x00-0x7f */
	apic_write(APIC_ICR_HI, 0);
	apic_write(APIC_ICR_LO, APIC_DEST_SELF | IPI_VEC);
	irq_window(&ipi_hits, 2);
	report(ipi_hits == 1, "TPR 0x70 holds back a vector 0x%x self-IPI (shorthand self; %d)",
	       IPI_VEC, ipi_hits);
	apic_write(APIC_TPR, 0);
	irq_window(&ipi_hits, 2);
	report(ipi_hits == 2, "lowering TPR delivers it (%d)", ipi_hits);

	apic_send_ipi(self, APIC_DM_NMI);
	no_irq_window(&nmi_hits, 1);
	report(nmi_hits == 1, "NMI through the ICR arrives even with IF=0 (%d)", nmi_hits);
}

static void hlt_checks(void)
{
	uint64_t t0;
	int before = timer_hits;

	printf("interrupts: HLT\n");
	apic_write(APIC_TIMER_DCR, 0xb);
	apic_write(APIC_LVT_TIMER, TIMER_VEC);
	cli();
	t0 = rdtsc();
	apic_write(APIC_TIMER_ICR, 3000000);
	safe_halt(); /* sti; hlt: woken by the timer 3 ms later */
	cli();
	report(timer_hits == before + 1 && us_since(t0, rdtsc()) >= 2700,
	       "sti; hlt wakes up on the LAPIC timer after %lu us", us_since(t0, rdtsc()));
	lapic_timer_stop();
}

int main(void)
{
	break_mask = cmdline_has("break=mask");
	set_handler(TIMER_VEC, timer_handler);
	set_handler(PIT_VEC, pit_handler);
	set_handler(IPI_VEC, ipi_handler);
	set_handler(NMI_VECTOR, nmi_handler);
	apic_enable();
	printf("interrupts: TSC %lu kHz\n", tsc_khz());
	lapic_checks();
	tsc_deadline_checks();
	pit_checks();
	ipi_checks();
	hlt_checks();
	return 0;
}
