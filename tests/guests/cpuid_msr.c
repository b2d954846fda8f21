/*
 * cpuid_msr: the CPUID the guest sees (features the test expects, hypervisor leaves,
 * agreement across CPUs), the MSRs kvmbox sets at boot, the TSC across CPUs, and x87/SSE/AVX
 * register state surviving many exits to kvmbox.
 *
 * cmdline: expect=+name,-name,...  features that must be present (+) or absent (-); the test
 *          passes what it gave --cpu-features, and a mismatch must FAIL. Names as in kvmbox
 *          (Linux /proc/cpuinfo).
 *          host=pvm: a feature that should be absent but shows is a known kvm_pvm failure
 *          (its CPUID leaks host bits, e.g. XSAVE, whatever KVM_SET_CPUID2 said): XFAIL.
 */
#include "guest.h"

enum { EAX, EBX, ECX, EDX };
static const struct feature {
	const char *name;
	uint32_t leaf, sub;
	int reg, bit;
} features[] = {
    {"fpu", 1, 0, EDX, 0},
    {"tsc", 1, 0, EDX, 4},
    {"msr", 1, 0, EDX, 5},
    {"pae", 1, 0, EDX, 6},
    {"cx8", 1, 0, EDX, 8},
    {"apic", 1, 0, EDX, 9},
    {"sep", 1, 0, EDX, 11},
    {"mtrr", 1, 0, EDX, 12},
    {"pge", 1, 0, EDX, 13},
    {"cmov", 1, 0, EDX, 15},
    {"pat", 1, 0, EDX, 16},
    {"clflush", 1, 0, EDX, 19},
    {"mmx", 1, 0, EDX, 23},
    {"fxsr", 1, 0, EDX, 24},
    {"sse", 1, 0, EDX, 25},
    {"sse2", 1, 0, EDX, 26},
    {"ht", 1, 0, EDX, 28},
    {"pni", 1, 0, ECX, 0},
    {"sse3", 1, 0, ECX, 0},
    {"pclmulqdq", 1, 0, ECX, 1},
    {"ssse3", 1, 0, ECX, 9},
    {"fma", 1, 0, ECX, 12},
    {"cx16", 1, 0, ECX, 13},
    {"pcid", 1, 0, ECX, 17},
    {"sse4_1", 1, 0, ECX, 19},
    {"sse4_2", 1, 0, ECX, 20},
    {"x2apic", 1, 0, ECX, 21},
    {"movbe", 1, 0, ECX, 22},
    {"popcnt", 1, 0, ECX, 23},
    {"tsc_deadline_timer", 1, 0, ECX, 24},
    {"aes", 1, 0, ECX, 25},
    {"xsave", 1, 0, ECX, 26},
    {"avx", 1, 0, ECX, 28},
    {"f16c", 1, 0, ECX, 29},
    {"rdrand", 1, 0, ECX, 30},
    {"hypervisor", 1, 0, ECX, 31},
    {"fsgsbase", 7, 0, EBX, 0},
    {"bmi1", 7, 0, EBX, 3},
    {"avx2", 7, 0, EBX, 5},
    {"smep", 7, 0, EBX, 7},
    {"bmi2", 7, 0, EBX, 8},
    {"erms", 7, 0, EBX, 9},
    {"invpcid", 7, 0, EBX, 10},
    {"avx512f", 7, 0, EBX, 16},
    {"rdseed", 7, 0, EBX, 18},
    {"adx", 7, 0, EBX, 19},
    {"smap", 7, 0, EBX, 20},
    {"clflushopt", 7, 0, EBX, 23},
    {"clwb", 7, 0, EBX, 24},
    {"sha_ni", 7, 0, EBX, 29},
    {"umip", 7, 0, ECX, 2},
    {"pku", 7, 0, ECX, 3},
    {"la57", 7, 0, ECX, 16},
    {"rdpid", 7, 0, ECX, 22},
    {"fsrm", 7, 0, EDX, 4},
    {"arch_capabilities", 7, 0, EDX, 29},
    {"xsaveopt", 0xd, 1, EAX, 0},
    {"xsavec", 0xd, 1, EAX, 1},
    {"xgetbv1", 0xd, 1, EAX, 2},
    {"xsaves", 0xd, 1, EAX, 3},
    {"lahf_lm", 0x80000001, 0, ECX, 0},
    {"abm", 0x80000001, 0, ECX, 5},
    {"syscall", 0x80000001, 0, EDX, 11},
    {"nx", 0x80000001, 0, EDX, 20},
    {"pdpe1gb", 0x80000001, 0, EDX, 26},
    {"rdtscp", 0x80000001, 0, EDX, 27},
    {"lm", 0x80000001, 0, EDX, 29},
    {"invtsc", 0x80000007, 0, EDX, 8},
    {"xsaveerptr", 0x80000008, 0, EBX, 2},
};

static const char *const reg_names[] = {"EAX", "EBX", "ECX", "EDX"};

static bool feature_bit(const struct feature *f)
{
	uint32_t max = cpuid(f->leaf & 0x80000000, 0).a;
	struct cpuid c;
	uint32_t r;

	if (f->leaf > max)
		return false;
	c = cpuid(f->leaf, f->sub);
	r = f->reg == EAX ? c.a : f->reg == EBX ? c.b : f->reg == ECX ? c.c : c.d;
	return r >> f->bit & 1;
}

static void check_expectations(void)
{
	size_t len;
	const char *p = cmdline_get("expect", &len), *end;

	if (!p) {
		report_skip("no expect= list on the command line");
		return;
	}
	end = p + len;
	while (p < end) {
		const char *q = p;
		char name[32];
		size_t n;
		const struct feature *f = NULL;
		while (q < end && *q != ',')
			q++;
		n = (size_t)(q - p) - 1;
		if (n >= sizeof(name) || (*p != '+' && *p != '-')) {
			report(false, "expect= entries look like +name or -name");
			return;
		}
		memcpy(name, p + 1, n);
		name[n] = 0;
		for (size_t i = 0; i < ARRAY_SIZE(features); i++)
			if (!strcmp(features[i].name, name))
				f = &features[i];
		if (!f)
			report(false, "known feature name \"%s\"", name);
		else if (*p == '+')
			report(feature_bit(f), "CPUID %s present (leaf 0x%x.%u %s bit %d)", name,
			       f->leaf, f->sub, reg_names[f->reg], f->bit);
		else /* kvm_pvm shows host CPUID bits KVM_SET_CPUID2 cleared (XSAVE): XFAIL there */
			report_host(!feature_bit(f), "CPUID %s absent (leaf 0x%x.%u %s bit %d)",
				    name, f->leaf, f->sub, reg_names[f->reg], f->bit);
		p = q + 1;
	}
}

static void check_cpuid_basics(void)
{
	struct cpuid c = cpuid(0x40000000, 0);
	char sig[13];

	printf("cpuid_msr: CPUID\n");
	memcpy(sig, &c.b, 4);
	memcpy(sig + 4, &c.c, 4);
	memcpy(sig + 8, &c.d, 4);
	sig[12] = 0;
	report(cpuid(1, 0).c >> 31 & 1, "CPUID.1:ECX.hypervisor is set");
	report(!memcmp(sig, "KVMKVMKVM\0\0\0", 12) && c.a >= 0x40000001,
	       "leaf 0x40000000: \"KVMKVMKVM\" signature, max leaf 0x%x", c.a);
	report(cpuid(0x80000000, 0).a >= 0x80000008 &&
		   feature_bit(&(struct feature){"lm", 0x80000001, 0, EDX, 29}),
	       "extended leaves up to 0x%x, long mode advertised", cpuid(0x80000000, 0).a);
	check_expectations();
}

static void check_msrs(void)
{
	uint64_t t0, tsc, t1;

	printf("cpuid_msr: MSRs\n");
	report((rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
	       "EFER.LME and LMA (0x%lx)", rdmsr(MSR_EFER));
	report(rdmsr(MSR_APIC_BASE) == 0xfee00900, "IA32_APIC_BASE 0x%lx (want 0xfee00900)",
	       rdmsr(MSR_APIC_BASE));
	report(rdmsr(0x1a0) & 1, "IA32_MISC_ENABLE.FAST_STRING set by kvmbox (0x%lx)",
	       rdmsr(0x1a0));
	report(rdmsr(0x2ff) == 0x806, "MTRRdefType: enabled, default write-back (0x%lx)",
	       rdmsr(0x2ff));
	report(rdmsr(0x277) == 0x0007040600070406ull, "IA32_PAT has its reset value (0x%lx)",
	       rdmsr(0x277));
	report(rdmsr(0x174) == 0 && rdmsr(0x175) == 0 && rdmsr(0x176) == 0 &&
		   rdmsr(0xc0000081) == 0 && rdmsr(0xc0000082) == 0 && rdmsr(0xc0000084) == 0 &&
		   rdmsr(0xc0000102) == 0,
	       "SYSENTER_*, STAR, LSTAR, SFMASK, KERNEL_GS_BASE start at 0");
	wrmsr(0xc0000102, 0xffff888012345678ull);
	wrmsr(0xc0000082, 0xffffffff81000000ull);
	report(rdmsr(0xc0000102) == 0xffff888012345678ull &&
		   rdmsr(0xc0000082) == 0xffffffff81000000ull,
	       "KERNEL_GS_BASE and LSTAR keep what is written");
	wrmsr(0xc0000102, 0);
	wrmsr(0xc0000082, 0);
	t0 = rdtsc();
	tsc = rdmsr(MSR_TSC);
	t1 = rdtsc();
	report(t0 <= tsc && tsc <= t1, "IA32_TSC lies between two RDTSCs");
}

/* ---- vector registers across exits ---- */

void sse_load(const void *p);
void sse_store(void *p);
void avx_load(const void *p);
void avx_store(void *p);
void x87_load(const uint64_t *p); /* 8 doubles, as bit patterns */
void x87_store(uint64_t *p);
void fx_save(void *area);
void fx_restore(const void *area);

static uint8_t pattern[512] ALIGNED(64), back[512] ALIGNED(64);
static uint64_t x87_in[8], x87_out[8];
static uint8_t fx_area[512] ALIGNED(16), zeros[512] ALIGNED(16);

static uint64_t user_load(void *avx)
{
	if (avx)
		avx_load(pattern);
	else
		sse_load(pattern);
	x87_load(x87_in);
	return 0;
}

static uint64_t user_store(void *avx)
{
	if (avx)
		avx_store(back);
	else
		sse_store(back);
	x87_store(x87_out);
	return 0;
}

/* Exits to kvmbox of several kinds: PIO to userspace, MMIO, in-kernel PIO, serial. */
static void many_exits(int n)
{
	for (int i = 0; i < n; i++) {
		outb(0x80, (uint8_t)i);
		(void)inl(PM_TIMER_PORT);
		(void)apic_read(APIC_ID);
		(void)inb(0x61);
	}
	printf("  (%d rounds of exits done)\n", n);
}

static bool x87_ok(void)
{
	for (int i = 0; i < 8; i++)
		if (x87_out[7 - i] != x87_in[i])
			return false;
	return true;
}

static void set_osxsave(void *arg)
{
	write_cr4(read_cr4() | X86_CR4_OSXSAVE);
}

static void check_vector_state(void)
{
	bool xsave = cpuid(1, 0).c >> 26 & 1, avx = cpuid(1, 0).c >> 28 & 1;
	int v;

	printf("cpuid_msr: x87/SSE/AVX state across exits\n");
	for (int i = 0; i < 512; i++)
		pattern[i] = (uint8_t)(i * 37 + 11);
	for (int i = 0; i < 8; i++)
		x87_in[i] =
		    0x4000000000000000ull | (uint64_t)(i + 1) << 44 | 0x12345; /* normal doubles */

	/* SSE in ring 0 (KVM emulates the moves here). */
	sse_load(pattern);
	many_exits(50);
	sse_store(back);
	report(!memcmp(pattern, back, 256), "ring 0: xmm0-15 survive 200 exits");

	/* FXSAVE/FXRSTOR in ring 0 (emulated by KVM where ring 0 is emulated). */
	fx_save(fx_area);
	sse_load(zeros);
	fx_restore(fx_area);
	memset(back, 0, sizeof(back));
	sse_store(back);
	report(!memcmp(pattern, back, 256) && !memcmp(fx_area + 160, pattern, 256),
	       "ring 0: fxsave/fxrstor round trip of xmm0-15");

	/* x87 + SSE in ring 3, exits in ring 0 in between. */
	memset(back, 0, sizeof(back));
	run_user(user_load, NULL, false);
	many_exits(50);
	run_user(user_store, NULL, false);
	report(!memcmp(pattern, back, 256),
	       "ring 3: xmm0-15 survive 200 exits and two mode switches");
	report(x87_ok(), "ring 3: the x87 stack survives 200 exits and two mode switches");

	report(!(cpuid(1, 0).c >> 27 & 1), "CPUID.1:ECX.OSXSAVE is clear while CR4.OSXSAVE is");
	if (!xsave) {
		v = run_catching(set_osxsave, NULL);
		report(v == GP_VECTOR, "setting CR4.OSXSAVE raises #GP when CPUID hides XSAVE (%d)",
		       v);
		report_skip("AVX state: CPUID hides XSAVE (x87 and SSE checked only)");
		return;
	}
	write_cr4(read_cr4() | X86_CR4_OSXSAVE);
	report(cpuid(1, 0).c >> 27 & 1, "CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE");
	if (!avx) {
		report_skip("AVX state: CPUID has no AVX");
		return;
	}
	asm volatile("xsetbv" ::"c"(0), "a"(7), "d"(0)); /* XCR0 = x87 | SSE | AVX */
	memset(back, 0, sizeof(back));
	run_user(user_load, (void *)1, false);
	many_exits(50);
	run_user(user_store, (void *)1, false);
	report(!memcmp(pattern, back, 512),
	       "ring 3: ymm0-15 survive 200 exits and two mode switches");
}

/* ---- TSC across CPUs ---- */

#define ROUNDS	    2000
#define PINGPONG_MS 300 /* on a busy host every hand-off may wait for a time slice */
static volatile uint64_t tsc_slot, pingpong_deadline;
static volatile int turn, tsc_bad_ap, tsc_bad_bsp, handoffs, stop;
static volatile uint32_t ap_leaf1_c, ap_leaf1_d, ap_leaf7_b;

static inline uint64_t ordered_rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return lo | (uint64_t)hi << 32;
}

/*
 * Ping-pong in ring 3: each side reads the TSC after seeing the other's value, which must not
 * be later. Ends after ROUNDS or when CPU 0 sees the deadline pass.
 */
static uint64_t pingpong(void *arg)
{
	int me = (int)(uint64_t)arg;
	int bad = 0;

	for (int i = 0; i < ROUNDS && !stop; i++) {
		uint64_t t;
		while (turn != me && !stop) {
			pause();
			if (me == 0 && rdtsc() > pingpong_deadline)
				stop = 1;
		}
		if (stop)
			break;
		t = ordered_rdtsc();
		if (t < tsc_slot)
			bad++;
		tsc_slot = t;
		handoffs++;
		__atomic_store_n(&turn, 1 - me, __ATOMIC_RELEASE);
	}
	stop = 1;
	return (uint64_t)bad;
}

static void ap_main(struct percpu *c)
{
	if (c->index != 1)
		return;
	ap_leaf1_c = cpuid(1, 0).c;
	ap_leaf1_d = cpuid(1, 0).d;
	ap_leaf7_b = cpuid(7, 0).b;
	tsc_bad_ap = (int)run_user(pingpong, (void *)1, false);
}

static void check_tsc_smp(void)
{
	struct madt_info m;
	int up;

	printf("cpuid_msr: TSC and CPUID across CPUs\n");
	if (!madt_parse(&m) || m.ncpus < 2) {
		report_skip("TSC across CPUs: needs --cpus 2 or more");
		return;
	}
	turn = 0;
	tsc_slot = 0;
	up = smp_start(ap_main, &m);
	pingpong_deadline = rdtsc() + PINGPONG_MS * tsc_khz();
	tsc_bad_bsp = (int)run_user(pingpong, (void *)0, false);
	smp_wait_done(up - 1, 5000);
	report(
	    tsc_bad_ap == 0 && tsc_bad_bsp == 0 && handoffs >= 20,
	    "TSC never goes backwards across %d hand-offs between CPU 0 and 1 (backwards: %d, %d)",
	    handoffs, tsc_bad_bsp, tsc_bad_ap);
	report(ap_leaf1_c == (cpuid(1, 0).c & ~(1u << 27)) && ap_leaf1_d == cpuid(1, 0).d &&
		   ap_leaf7_b == cpuid(7, 0).b,
	       "CPU 1 sees the same feature bits as CPU 0");
}

int main(void)
{
	check_cpuid_basics();
	check_msrs();
	check_vector_state();
	check_tsc_smp();
	return 0;
}
