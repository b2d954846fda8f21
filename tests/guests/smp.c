/*
 * smp: INIT-SIPI-SIPI brings up every CPU the MADT lists; each reports its APIC ID three
 * ways (LAPIC ID register, CPUID leaf 1 EBX[31:24], CPUID leaf 0xB EDX), which must agree
 * with the MADT; then every CPU increments shared counters in ring 3 (natively) through a
 * spinlock (xchg), a lock cmpxchg loop and lock xadd, and the totals must be exact.
 *
 * cmdline: cpus=N (the --cpus the test passed; a wrong N must FAIL), iters=M (default 100000)
 */
#include "guest.h"

struct cpu_report {
	bool present;
	uint32_t lapic_id, cpuid1_id, cpuidb_id, cpuid1_count;
	uint64_t apic_base;
};

static struct cpu_report reports[MAX_CPUS];
static uint64_t iters = 100000;
static volatile int lock;
static volatile uint64_t locked_count, cas_count, xadd_count;
static volatile int start_flag, reports_done;

static uint64_t count_user(void *arg)
{
	/* Start together, so the CPUs really contend. */
	while (!start_flag)
		pause();
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t old;
		while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
			while (lock)
				pause();
		locked_count = locked_count + 1; /* plain load and store, protected by the lock */
		__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
		old = cas_count;
		while (!__atomic_compare_exchange_n(&cas_count, &old, old + 1, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		__atomic_fetch_add(&xadd_count, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static void fill_report(struct percpu *c)
{
	struct cpu_report *r = &reports[c->index];
	uint32_t max = cpuid(0, 0).a;

	r->lapic_id = apic_id();
	r->cpuid1_id = cpuid(1, 0).b >> 24;
	r->cpuid1_count = (cpuid(1, 0).b >> 16) & 0xff;
	r->cpuidb_id = max >= 0xb ? cpuid(0xb, 0).d : ~0u;
	r->apic_base = rdmsr(MSR_APIC_BASE);
	r->present = true;
	__atomic_add_fetch(&reports_done, 1, __ATOMIC_SEQ_CST);
}

static void ap_main(struct percpu *c)
{
	fill_report(c);
	run_user(count_user, NULL, false);
}

int main(void)
{
	struct madt_info m;
	uint64_t want_cpus = 0, t0;
	int up, done, ncpus;
	bool ids_ok = true, unique = true;

	cmdline_u64("iters", &iters);
	if (!cmdline_u64("cpus", &want_cpus))
		abort_test("the test passes cpus=<--cpus> on the command line");
	if (!madt_parse(&m))
		abort_test("MADT or MP table present");
	printf("smp: the %s lists %d CPUs:", m.source, m.ncpus);
	for (int i = 0; i < m.ncpus; i++)
		printf(" %u", m.apic_ids[i]);
	printf("\n");
	report((uint64_t)m.ncpus == want_cpus, "firmware tables list %d CPUs (want cpus=%lu)",
	       m.ncpus, want_cpus);
	fill_report(&percpus[0]);
	t0 = rdtsc();
	up = smp_start(ap_main, &m);
	report(up == m.ncpus, "INIT-SIPI-SIPI started %d of %d CPUs in %lu us", up, m.ncpus,
	       (rdtsc() - t0) * 1000 / tsc_khz());
	ncpus = up;
	report(wait_until(&reports_done, ncpus, 2000) == ncpus, "every CPU filled in its report");

	for (int i = 0; i < ncpus; i++) {
		struct cpu_report *r = &reports[i];
		bool in_madt = false;
		for (int j = 0; j < m.ncpus; j++)
			in_madt |= m.apic_ids[j] == r->lapic_id;
		for (int j = 0; j < i; j++)
			unique &= reports[j].lapic_id != r->lapic_id;
		printf(
		    "  cpu %d: LAPIC ID %u, CPUID.1 %u (count %u), CPUID.0xB %u, APIC_BASE 0x%lx\n",
		    i, r->lapic_id, r->cpuid1_id, r->cpuid1_count, r->cpuidb_id, r->apic_base);
		ids_ok &= r->present && in_madt && r->cpuid1_id == r->lapic_id &&
			  (r->cpuidb_id == ~0u || r->cpuidb_id == r->lapic_id);
	}
	report(ids_ok, "every CPU's LAPIC ID, CPUID.1 EBX[31:24] and CPUID.0xB EDX agree and are "
		       "in the firmware tables");
	report(unique, "APIC IDs are unique");
	{
		bool bsp_flag_ok = (reports[0].apic_base >> 8 & 1) == 1;
		for (int i = 1; i < ncpus; i++)
			bsp_flag_ok &= (reports[i].apic_base >> 8 & 1) == 0;
		report(bsp_flag_ok, "IA32_APIC_BASE.BSP is set on the BSP only");
	}
	report(ncpus == 1 || reports[0].cpuid1_count >= (uint32_t)ncpus,
	       "CPUID.1 EBX[23:16] counts at least %d logical CPUs (%u)", ncpus,
	       reports[0].cpuid1_count);

	t0 = rdtsc();
	start_flag = 1;
	run_user(count_user, NULL, false);
	done = smp_wait_done(ncpus - 1, 10000);
	printf("smp: %d CPUs x %lu increments in %lu us\n", ncpus, iters,
	       (rdtsc() - t0) * 1000 / tsc_khz());
	report(done == ncpus - 1, "all %d APs finished counting", done);
	report(locked_count == iters * (uint64_t)ncpus,
	       "spinlock-protected counter: %lu (want %lu)", locked_count, iters * (uint64_t)ncpus);
	report(cas_count == iters * (uint64_t)ncpus, "lock cmpxchg counter: %lu (want %lu)",
	       cas_count, iters * (uint64_t)ncpus);
	report(xadd_count == iters * (uint64_t)ncpus, "lock xadd counter: %lu (want %lu)",
	       xadd_count, iters * (uint64_t)ncpus);
	return 0;
}
