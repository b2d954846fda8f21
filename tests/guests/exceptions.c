/*
 * exceptions: each fault is raised on purpose and must arrive with the right vector, error
 * code, RIP, CS and (for #PF) CR2, in ring 0 (where this host's KVM emulates the faulting
 * instruction) and in ring 3 (where it runs natively).
 *
 * cmdline: break=wp  leaves CR0.WP clear, so the write-protect checks must FAIL.
 */
#include "guest.h"

static uint8_t page_a[4096] ALIGNED(4096);
static uint8_t page_b[4096] ALIGNED(4096);
#define WIN(i) (TEST_WINDOW + 4096ul * (i))

static void map(int i, void *phys, uint64_t flags)
{
	test_pt[i] = flags ? ((uint64_t)phys & PTE_ADDR) | flags : 0;
	invlpg((void *)WIN(i));
}

/* Each raiser marks the faulting instruction with a global label so RIP can be checked. */
extern char de_insn[], ud_insn[], gp_nc_insn[], gp_sel_insn[], gp_msr_insn[], bp0_after[];
extern char bp3_after[], pf_insn[], ud3_insn[], hlt3_insn[], de3_insn[], db3_after[];

static void raise_de(void *arg)
{
	asm volatile("xor %%edx, %%edx; mov $1, %%eax; xor %%ecx, %%ecx\n"
		     "de_insn: div %%ecx" ::
			 : "rax", "rcx", "rdx");
}

static void raise_ud(void *arg)
{
	asm volatile("ud_insn: ud2");
}

static void raise_gp_noncanonical(void *arg)
{
	asm volatile("mov $0x8000000000000000, %%rax\n"
		     "gp_nc_insn: mov (%%rax), %%rax" ::
			 : "rax", "memory");
}

static void raise_gp_selector(void *arg)
{
	/* Selector 0x2000 (index 0x400) is past the GDT limit: #GP(0x2000). */
	asm volatile("mov $0x2000, %%eax\n"
		     "gp_sel_insn: mov %%eax, %%fs" ::
			 : "rax");
}

static void raise_gp_msr(void *arg)
{
	asm volatile("mov $0x12345678, %%ecx\n"
		     "gp_msr_insn: rdmsr" ::
			 : "rax", "rcx", "rdx");
}

static void raise_bp(void *arg)
{
	asm volatile("int3\nbp0_after:");
}

static void access_read(void *addr)
{
	asm volatile("pf_insn: mov (%0), %%rax" ::"r"(addr) : "rax", "memory");
}

static void access_write(void *addr)
{
	*(volatile uint8_t *)addr = 0x5a;
}

static void access_read8(void *addr)
{
	(void)*(volatile uint64_t *)addr;
}

/* ---- ring 3 ---- */

static uint64_t user_bp(void *arg)
{
	asm volatile("int3\nbp3_after:");
	return 0;
}

static uint64_t user_ud(void *arg)
{
	asm volatile("ud3_insn: ud2");
	return 0;
}

static uint64_t user_hlt(void *arg)
{
	asm volatile("hlt3_insn: hlt");
	return 0;
}

static uint64_t user_de(void *arg)
{
	asm volatile("xor %%edx, %%edx; mov $1, %%eax; xor %%ecx, %%ecx\n"
		     "de3_insn: div %%ecx" ::
			 : "rax", "rcx", "rdx");
	return 0;
}

static uint64_t user_read(void *addr)
{
	return *(volatile uint64_t *)addr;
}

static uint64_t user_write(void *addr)
{
	*(volatile uint8_t *)addr = 0xa5;
	return 0;
}

/* Sets TF: the #DB trap comes after the next instruction. */
static uint64_t user_single_step(void *arg)
{
	asm volatile("pushfq; orq $0x100, (%%rsp); popfq\n"
		     "nop\n"
		     "db3_after: nop\n"
		     "pushfq; andq $~0x100, (%%rsp); popfq" ::
			 : "memory", "cc");
	return 0;
}

struct user_call {
	uint64_t (*fn)(void *);
	void *arg;
};

static void in_user(void *p)
{
	struct user_call *c = p;

	run_user(c->fn, c->arg, false);
}

static int catch_user(uint64_t (*fn)(void *), void *arg)
{
	struct user_call c = {fn, arg};

	return run_catching(in_user, &c);
}

static void expect(int vector, int want, uint64_t want_err, void *want_rip, const char *what)
{
	struct exc_info *e = &this_cpu()->exc;
	bool ok = vector == want && e->error_code == want_err &&
		  (!want_rip || e->rip == (uint64_t)want_rip);

	report(ok, "%s: vector %d error code 0x%lx RIP 0x%lx (want %d, 0x%lx, %p)", what, vector,
	       vector >= 0 ? e->error_code : 0, vector >= 0 ? e->rip : 0, want, want_err, want_rip);
}

static void expect_pf(int vector, uint64_t want_err, uint64_t want_cr2, const char *what)
{
	struct exc_info *e = &this_cpu()->exc;
	bool ok = vector == PF_VECTOR && e->error_code == want_err && e->cr2 == want_cr2;

	report(ok, "%s: vector %d error code 0x%lx CR2 0x%lx (want 14, 0x%lx, 0x%lx)", what, vector,
	       vector >= 0 ? e->error_code : 0, vector >= 0 ? e->cr2 : 0, want_err, want_cr2);
}

/* A #PF handler that maps the page and lets the instruction run again. */
static volatile int demand_faults;
static void demand_pf(struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();

	demand_faults++;
	if (cr2 >= WIN(0) && cr2 < WIN(512) && !(test_pt[(cr2 - WIN(0)) / 4096] & PTE_P)) {
		test_pt[(cr2 - WIN(0)) / 4096] = (uint64_t)page_b | PTE_P | PTE_W | PTE_U;
		invlpg((void *)cr2);
		return;
	}
	printf("demand_pf: unexpected #PF at 0x%lx error 0x%lx RIP 0x%lx\n", cr2, f->error_code,
	       f->rip);
	abort_test("#PF handler can resume the faulting instruction");
}

static uint64_t user_sum(void *addr)
{
	return *(volatile uint64_t *)addr + *(volatile uint64_t *)((uint8_t *)addr + 8);
}

int main(void)
{
	bool break_wp = cmdline_has("break=wp");
	struct exc_info *e = &this_cpu()->exc;
	int v;

	printf("exceptions: ring-0 faults\n");
	expect(run_catching(raise_de, NULL), DE_VECTOR, 0, de_insn,
	       "#DE from div by zero (ring 0)");
	expect(run_catching(raise_ud, NULL), UD_VECTOR, 0, ud_insn, "#UD from ud2 (ring 0)");
	expect(run_catching(raise_gp_noncanonical, NULL), GP_VECTOR, 0, gp_nc_insn,
	       "#GP(0) from a non-canonical load (ring 0)");
	expect(run_catching(raise_gp_selector, NULL), GP_VECTOR, 0x2000, gp_sel_insn,
	       "#GP(0x2000) loading a selector past the GDT limit (ring 0)");
	expect(run_catching(raise_gp_msr, NULL), GP_VECTOR, 0, gp_msr_insn,
	       "#GP(0) from rdmsr of a nonexistent MSR (ring 0)");
	v = run_catching(raise_bp, NULL);
	expect(v, BP_VECTOR, 0, bp0_after,
	       "#BP from int3 (ring 0, RIP after int3; kvmbox completes it where KVM cannot)");

	printf("exceptions: page faults\n");
	memset(page_a, 0x11, sizeof(page_a));
	memset(page_b, 0x22, sizeof(page_b));
	if (break_wp)
		write_cr0(read_cr0() & ~X86_CR0_WP);
	map(0, NULL, 0);
	v = run_catching(access_read, (void *)WIN(0));
	expect_pf(v, 0, WIN(0), "#PF not-present read (ring 0)");
	report(v == PF_VECTOR && e->rip == (uint64_t)pf_insn,
	       "#PF RIP is the faulting load (0x%lx)", e->rip);
	map(1, page_a, PTE_P | PTE_U); /* read-only */
	v = run_catching(access_write, (void *)(WIN(1) + 0x123));
	expect_pf(v, PFERR_PRESENT | PFERR_WRITE, WIN(1) + 0x123,
		  "#PF write to a read-only page with CR0.WP (ring 0)");
	report(page_a[0x123] == 0x11, "the faulting write did not reach memory");
	map(2, page_a, PTE_P | PTE_W); /* supervisor-only */
	v = catch_user(user_read, (void *)(WIN(2) + 8));
	expect_pf(v, PFERR_PRESENT | PFERR_USER, WIN(2) + 8,
		  "#PF user read of a supervisor page (ring 3)");
	report(v == PF_VECTOR && (e->cs & 3) == 3, "ring-3 fault frame has CS.RPL 3 (CS 0x%lx)",
	       e->cs);
	v = catch_user(user_write, (void *)(WIN(1) + 16));
	expect_pf(v, PFERR_PRESENT | PFERR_WRITE | PFERR_USER, WIN(1) + 16,
		  "#PF user write to a read-only page (ring 3)");
	v = catch_user(user_read, (void *)(WIN(0) + 64));
	expect_pf(v, PFERR_USER, WIN(0) + 64, "#PF user read of a not-present page (ring 3)");
	/* An 8-byte load straddling into a not-present page faults on the second page. */
	map(3, page_a, PTE_P | PTE_W | PTE_U);
	map(4, NULL, 0);
	v = run_catching(access_read8, (void *)(WIN(4) - 4));
	expect_pf(v, 0, WIN(4), "#PF on the second page of a page-crossing load (ring 0)");
	v = catch_user(user_read, (void *)(WIN(4) - 4));
	expect_pf(v, PFERR_USER, WIN(4), "#PF on the second page of a page-crossing load (ring 3)");
	if (break_wp)
		write_cr0(read_cr0() | X86_CR0_WP);

	printf("exceptions: a #PF handler that maps the page and resumes\n");
	set_handler(PF_VECTOR, demand_pf);
	map(5, NULL, 0);
	map(6, NULL, 0);
	map(7, NULL, 0);
	{
		uint64_t v0 = *(volatile uint64_t *)WIN(5);
		int f0 = demand_faults;
		/* Two loads, the second straddling pages 6 and 7: two faults, then success. */
		uint64_t v3 = run_user(user_sum, (void *)(WIN(6) + 4088), false);
		int f3 = demand_faults - f0;

		report(v0 == 0x2222222222222222ul && f0 == 1,
		       "ring 0 load completes after the handler maps the page (value 0x%lx, "
		       "faults %d)",
		       v0, f0);
		report(v3 == 0x4444444444444444ul && f3 == 2,
		       "ring 3 loads complete after the handler maps two pages (sum 0x%lx, "
		       "faults %d)",
		       v3, f3);
	}
	set_handler(PF_VECTOR, NULL);

	printf("exceptions: ring-3 faults\n");
	v = catch_user(user_bp, NULL);
	expect(v, BP_VECTOR, 0, bp3_after, "#BP from int3 (ring 3, RIP after int3)");
	v = catch_user(user_ud, NULL);
	expect(v, UD_VECTOR, 0, ud3_insn, "#UD from ud2 (ring 3)");
	v = catch_user(user_hlt, NULL);
	expect(v, GP_VECTOR, 0, hlt3_insn, "#GP(0) from hlt (ring 3)");
	v = catch_user(user_de, NULL);
	expect(v, DE_VECTOR, 0, de3_insn, "#DE from div by zero (ring 3)");
	v = catch_user(user_single_step, NULL);
	expect(v, DB_VECTOR, 0, db3_after, "#DB single-step trap with RFLAGS.TF (ring 3)");
	return 0;
}
