/* Bringing up the other CPUs with INIT-SIPI-SIPI through a real-mode trampoline. */
#include "guest.h"

#define WAKE_VECTOR 0xf0 /* APs nudge the BSP out of HLT */
#define TICK_VECTOR 0xf1 /* LAPIC timer: bounds each HLT while waiting */

extern char ap_tramp_start[], ap_tramp_end[];
extern volatile uint32_t ap_ticket;

static void (*ap_fn)(struct percpu *c);
static uint32_t bsp_apic_id;
static volatile int cpus_up;
volatile int smp_cpus_done;

static void eoi_handler(struct trap_frame *f)
{
	(void)f;
	apic_eoi();
}

void smp_ap_main(struct percpu *c)
{
	c->apic_id = apic_id();
	apic_enable();
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	apic_send_ipi(bsp_apic_id, WAKE_VECTOR);
	ap_fn(c);
	__atomic_add_fetch(&smp_cpus_done, 1, __ATOMIC_SEQ_CST);
	apic_send_ipi(bsp_apic_id, WAKE_VECTOR);
}

/* Sleeps until *counter reaches target or timeout_ms passes; returns the final value. */
static int wait_counter(volatile int *counter, int target, uint64_t timeout_ms)
{
	uint64_t deadline = rdtsc() + timeout_ms * tsc_khz();

	apic_write(APIC_TIMER_DCR, 0xb); /* divide by 1 */
	apic_write(APIC_LVT_TIMER, APIC_TIMER_PERIODIC | TICK_VECTOR);
	apic_write(APIC_TIMER_ICR, 1000000); /* ~1 ms at KVM's 1 GHz APIC bus */
	cli();
	while (*counter < target && rdtsc() < deadline) {
		safe_halt();
		cli();
	}
	apic_write(APIC_TIMER_ICR, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	return *counter;
}

int smp_start(void (*fn)(struct percpu *c), const struct madt_info *m)
{
	int expected = 0;

	tsc_khz(); /* calibrate before the APs add noise */
	ap_fn = fn;
	bsp_apic_id = apic_id();
	percpus[0].apic_id = bsp_apic_id;
	set_handler(WAKE_VECTOR, eoi_handler);
	set_handler(TICK_VECTOR, eoi_handler);
	apic_enable();
	memcpy((void *)AP_TRAMP_ADDR, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
	for (int i = 0; i < m->ncpus; i++) {
		uint32_t id = m->apic_ids[i];
		if (id == bsp_apic_id)
			continue;
		expected++;
		apic_send_ipi(id, APIC_DM_INIT | APIC_ASSERT);
		apic_send_ipi(id, APIC_DM_STARTUP | (AP_TRAMP_ADDR >> 12));
		apic_send_ipi(id, APIC_DM_STARTUP | (AP_TRAMP_ADDR >> 12));
	}
	return 1 + wait_counter(&cpus_up, expected, 2000);
}

int smp_wait_done(int n, uint64_t timeout_ms)
{
	return wait_counter(&smp_cpus_done, n, timeout_ms);
}
