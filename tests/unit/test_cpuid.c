/*
 * Tests for the CPUID a vCPU sees, on a fake KVM_GET_SUPPORTED_CPUID table: per-vCPU APIC ids
 * and topology (leaves 1, 4, 0xB, 0x80000008), the KVM signature leaves, and --cpu-features
 * changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

#define L1_EDX_HTT	  (1u << 28)
#define L1_ECX_CX16	  (1u << 13)
#define L1_ECX_XSAVE	  (1u << 26)
#define L1_ECX_OSXSAVE	  (1u << 27)
#define L1_ECX_HYPERVISOR (1u << 31)

static void add(struct cpuid_table *t, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t eax,
		uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	assert_true(t->nent < CPUID_MAX_ENTRIES);
	t->entries[t->nent++] = (struct kvm_cpuid_entry2){
	    .function = fn,
	    .index = idx,
	    .flags = flags,
	    .eax = eax,
	    .ebx = ebx,
	    .ecx = ecx,
	    .edx = edx,
	};
}

/* Leaf 4 EAX: cache level in bits 7:5, type in 4:0 (1 data, 2 instruction, 3 unified). */
static uint32_t cache_eax(uint32_t level, uint32_t type)
{
	return level << 5 | type;
}

/* Roughly what KVM reports on a modern Intel host. */
static void fake_host_cpuid(struct cpuid_table *t)
{
	memset(t, 0, sizeof(*t));
	add(t, 0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
	/* leaf 1: stepping etc., EBX = brand 0, CLFLUSH 8, count 0xff, APIC id 0xee garbage */
	add(t, 1, 0, 0, 0x000906ea, 0xeeff0800, 0x7ffafbff | L1_ECX_XSAVE | L1_ECX_CX16,
	    0xbfebfbff | L1_EDX_HTT);
	/* leaf 4: L1d, L1i, L2, L3 with garbage in the sharing/core fields */
	add(t, 4, 0, SIG, 0xfc004000 | cache_eax(1, 1), 0x01c0003f, 0x3f, 0);
	add(t, 4, 1, SIG, 0xfc004000 | cache_eax(1, 2), 0x01c0003f, 0x3f, 0);
	add(t, 4, 2, SIG, 0xfc004000 | cache_eax(2, 3), 0x00c0003f, 0x3ff, 0);
	add(t, 4, 3, SIG, 0xfc03c000 | cache_eax(3, 3), 0x03c0003f, 0x2fff, 4);
	add(t, 7, 0, SIG, 0, 0x029c6fbf, 0x40000000, 0xbc000400);
	add(t, 0xb, 0, SIG, 1, 2, 0x100, 0xee);
	add(t, 0xb, 1, SIG, 4, 12, 0x201, 0xee);
	add(t, 0xb, 2, SIG, 0, 0, 2, 0xee);
	add(t, 0xd, 0, SIG, 0x1f, 0x340, 0x340, 0);
	add(t, 0xd, 1, SIG, 0xf, 0, 0, 0);
	add(t, 0x40000000, 0, 0, 0x40000001, 0, 0, 0);
	add(t, 0x40000001, 0, 0, 0x01007afb, 0, 0, 0);
	add(t, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(t, 0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800);
	add(t, 0x80000008, 0, 0, 0x3027, 0, 0x0003ffff, 0);
}

static struct kvm_cpuid_entry2 *leaf(struct cpuid_table *t, uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, fn, idx);

	assert_non_null(e);
	return e;
}

static int setup(void **state)
{
	struct cpuid_table *t = malloc(sizeof(*t));

	if (!t)
		return -1;
	fake_host_cpuid(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static struct cpu_feature_change change(const char *name, bool add_it)
{
	struct cpu_feature_change c = {.add = add_it};

	strncpy(c.name, name, sizeof(c.name) - 1);
	return c;
}

/* --- feature names ------------------------------------------------------------------------ */

static void test_cpuid__feature_find_knows_names_and_their_bits(void **state)
{
	const struct cpuid_feature *f;

	f = cpuid_feature_find_n("cx16", 4);
	assert_non_null(f);
	assert_int_equal(f->leaf, 1);
	assert_int_equal(f->reg, CPUID_ECX);
	assert_int_equal(f->bit, 13);
	f = cpuid_feature_find_n("xsaveerptr", 10);
	assert_non_null(f);
	assert_int_equal(f->leaf, 0x80000008);
	assert_int_equal(f->reg, CPUID_EBX);
	assert_int_equal(f->bit, 2);
	f = cpuid_feature_find_n("xsaves", 6);
	assert_non_null(f);
	assert_int_equal(f->leaf, 0xd);
	assert_int_equal(f->subleaf, 1);
	/* pni is Linux's name for sse3; both work. */
	assert_ptr_not_equal(cpuid_feature_find_n("pni", 3), NULL);
	assert_int_equal(cpuid_feature_find_n("pni", 3)->bit, cpuid_feature_find_n("sse3", 4)->bit);
}

static void test_cpuid__feature_find_rejects_unknown_names_and_prefixes(void **state)
{
	assert_null(cpuid_feature_find_n("bogus", 5));
	assert_null(cpuid_feature_find_n("", 0));
	assert_null(cpuid_feature_find_n("cx", 2)); /* prefix of cx8 and cx16 */
	assert_null(cpuid_feature_find_n("cx16", 2));
	assert_null(cpuid_feature_find_n("cx166", 5)); /* cx16 is a prefix of it */
	assert_null(cpuid_feature_find_n("xsav", 4));
}

static void test_cpuid__feature_find_uses_only_len_bytes(void **state)
{
	const struct cpuid_feature *f = cpuid_feature_find_n("cx16,-xsave", 4);

	assert_non_null(f);
	assert_string_equal(f->name, "cx16");
	f = cpuid_feature_find_n("xsaveopt", 5);
	assert_non_null(f);
	assert_string_equal(f->name, "xsave");
}

/* --- topology ------------------------------------------------------------------------------ */

static void test_cpuid__leaf1_carries_apic_id_and_logical_count_per_vcpu(void **state)
{
	for (uint32_t id = 0; id < 4; id++) {
		struct cpuid_table *t = *state;
		struct kvm_cpuid_entry2 *l1;

		fake_host_cpuid(t);
		assert_int_equal(cpuid_customize(t, id, 4, NULL, 0), 0);
		l1 = leaf(t, 1, 0);
		assert_int_equal(l1->ebx >> 24, id);
		assert_int_equal((l1->ebx >> 16) & 0xff, 4);
		assert_int_equal(l1->ebx & 0xffff, 0x0800); /* CLFLUSH size kept */
		assert_true(l1->edx & L1_EDX_HTT);
		assert_int_equal(l1->eax, 0x000906ea);
	}
}

static void test_cpuid__leaf1_clears_htt_for_one_cpu(void **state)
{
	struct cpuid_table *t = *state;
	struct kvm_cpuid_entry2 *l1 = leaf(t, 1, 0);

	assert_int_equal(cpuid_customize(t, 0, 1, NULL, 0), 0);
	assert_int_equal(l1->ebx >> 24, 0);
	assert_int_equal((l1->ebx >> 16) & 0xff, 1);
	assert_false(l1->edx & L1_EDX_HTT);
}

static void test_cpuid__leaf1_apic_id_is_vcpu_63_of_64(void **state)
{
	struct cpuid_table *t = *state;
	struct kvm_cpuid_entry2 *l1 = leaf(t, 1, 0);

	assert_int_equal(cpuid_customize(t, 63, 64, NULL, 0), 0);
	assert_int_equal(l1->ebx >> 24, 63);
	assert_int_equal((l1->ebx >> 16) & 0xff, 64);
	assert_int_equal(leaf(t, 0xb, 0)->edx, 63);
}

struct topo_case {
	uint32_t ncpus;
	uint32_t core_shift;
};

static void test_cpuid__leaf_b_describes_one_thread_per_core_and_n_cores(void **state)
{
	static const struct topo_case cases[] = {{1, 0}, {2, 1}, {3, 2}, {4, 2}, {64, 6}};
	struct cpuid_table *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t n = cases[i].ncpus, id = n - 1;
		struct kvm_cpuid_entry2 *smt, *core, *end;

		fake_host_cpuid(t);
		assert_int_equal(cpuid_customize(t, id, n, NULL, 0), 0);
		smt = leaf(t, 0xb, 0);
		core = leaf(t, 0xb, 1);
		end = leaf(t, 0xb, 2);
		/* level 0: SMT (type 1), one thread, shift 0 */
		assert_int_equal(smt->eax & 0x1f, 0);
		assert_int_equal(smt->ebx & 0xffff, 1);
		assert_int_equal(smt->ecx & 0xff, 0);
		assert_int_equal((smt->ecx >> 8) & 0xff, 1);
		/* level 1: core (type 2), n logical processors, shift to the package id */
		assert_int_equal(core->eax & 0x1f, cases[i].core_shift);
		assert_int_equal(core->ebx & 0xffff, n);
		assert_int_equal(core->ecx & 0xff, 1);
		assert_int_equal((core->ecx >> 8) & 0xff, 2);
		/* level 2: invalid (type 0), terminates the enumeration */
		assert_int_equal(end->eax, 0);
		assert_int_equal(end->ebx, 0);
		assert_int_equal((end->ecx >> 8) & 0xff, 0);
		assert_int_equal(end->ecx & 0xff, 2);
		/* every level reports this vCPU's x2APIC id, and it fits the shift */
		assert_int_equal(smt->edx, id);
		assert_int_equal(core->edx, id);
		assert_int_equal(end->edx, id);
		assert_int_equal(id >> cases[i].core_shift, 0);
	}
}

static void test_cpuid__leaf4_reports_cores_and_l3_sharing(void **state)
{
	static const struct topo_case cases[] = {{1, 0}, {2, 1}, {3, 2}, {4, 2}, {64, 6}};
	struct cpuid_table *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static const uint32_t ebx[4] = {0x01c0003f, 0x01c0003f, 0x00c0003f, 0x03c0003f};
		uint32_t all = (1u << cases[i].core_shift) - 1;

		fake_host_cpuid(t);
		assert_int_equal(cpuid_customize(t, 0, cases[i].ncpus, NULL, 0), 0);
		for (uint32_t sub = 0; sub < 4; sub++) {
			struct kvm_cpuid_entry2 *c = leaf(t, 4, sub);
			uint32_t level = (c->eax >> 5) & 7;

			assert_int_equal(c->eax >> 26, all); /* cores per package - 1 */
			/* threads sharing this cache - 1: everyone for L3, one core below */
			assert_int_equal((c->eax >> 14) & 0xfff, level == 3 ? all : 0);
			assert_int_equal(c->eax & 0x3ff,
					 level == 1 ? cache_eax(1, sub + 1) : cache_eax(level, 3));
			assert_int_equal(c->ebx, ebx[sub]); /* geometry untouched */
		}
		assert_int_equal(leaf(t, 4, 2)->ecx, 0x3ff);
	}
}

static void test_cpuid__leaf_80000008_reports_core_count_and_apic_id_size(void **state)
{
	struct cpuid_table *t = *state;
	struct kvm_cpuid_entry2 *e = leaf(t, 0x80000008, 0);

	assert_int_equal(cpuid_customize(t, 1, 3, NULL, 0), 0);
	assert_int_equal(e->ecx & 0xff, 2);		     /* NC = logical processors - 1 */
	assert_int_equal((e->ecx >> 12) & 0xf, 2);	     /* ApicIdSize */
	assert_int_equal(e->ecx & 0xffff0f00u, 0x00030f00u); /* other bits kept */
	assert_int_equal(e->eax, 0x3027);
}

/* --- KVM leaves and the hypervisor bit ----------------------------------------------------- */

static void test_cpuid__sets_hypervisor_bit_and_kvm_signature(void **state)
{
	struct cpuid_table *t = *state;
	struct kvm_cpuid_entry2 *sig = leaf(t, 0x40000000, 0);
	char name[12];

	leaf(t, 1, 0)->ecx &= ~L1_ECX_HYPERVISOR;
	sig->eax = 0;
	assert_int_equal(cpuid_customize(t, 0, 1, NULL, 0), 0);
	assert_true(leaf(t, 1, 0)->ecx & L1_ECX_HYPERVISOR);
	memcpy(name, &sig->ebx, 4);
	memcpy(name + 4, &sig->ecx, 4);
	memcpy(name + 8, &sig->edx, 4);
	assert_memory_equal(name, "KVMKVMKVM\0\0\0", 12);
	assert_true(sig->eax >= 0x40000001);
	/*
	 * The fake host offers 0x01007afb: kvmbox keeps QEMU's default set (clocksource 1+2,
	 * no-IO-delay, async PF (+INT), steal time, PV EOI, stable bit) and drops PV_UNHALT,
	 * PV TLB flush, PV IPIs, poll control and sched-yield.
	 */
	assert_int_equal(leaf(t, 0x40000001, 0)->eax, 0x0100407b);
}

static void test_cpuid__keeps_higher_max_hypervisor_leaf(void **state)
{
	struct cpuid_table *t = *state;

	leaf(t, 0x40000000, 0)->eax = 0x40000010;
	assert_int_equal(cpuid_customize(t, 0, 1, NULL, 0), 0);
	assert_int_equal(leaf(t, 0x40000000, 0)->eax, 0x40000010);
}

static void test_cpuid__works_without_kvm_leaves(void **state)
{
	struct cpuid_table t = {0};

	add(&t, 1, 0, 0, 0, 0, 0, 0);
	assert_int_equal(cpuid_customize(&t, 0, 2, NULL, 0), 0);
	assert_true(t.entries[0].ecx & L1_ECX_HYPERVISOR);
	assert_null(cpuid_find(&t, 0x40000000, 0));
}

/* --- feature changes ----------------------------------------------------------------------- */

static void test_cpuid__minus_cx16_clears_only_that_bit(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c = change("cx16", false);
	uint32_t before = leaf(t, 1, 0)->ecx;

	assert_int_equal(cpuid_customize(t, 0, 1, &c, 1), 0);
	assert_int_equal(leaf(t, 1, 0)->ecx, (before & ~L1_ECX_CX16) | L1_ECX_HYPERVISOR);
	assert_false(cpuid_feature_enabled(t, cpuid_feature_find_n("cx16", 4)));
	assert_true(cpuid_feature_enabled(t, cpuid_feature_find_n("xsave", 5)));
}

static void test_cpuid__minus_xsave_also_clears_osxsave(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c = change("xsave", false);

	leaf(t, 1, 0)->ecx |= L1_ECX_OSXSAVE;
	assert_int_equal(cpuid_customize(t, 0, 1, &c, 1), 0);
	assert_false(leaf(t, 1, 0)->ecx & L1_ECX_XSAVE);
	assert_false(leaf(t, 1, 0)->ecx & L1_ECX_OSXSAVE);
}

static void test_cpuid__osxsave_stays_when_xsave_stays(void **state)
{
	struct cpuid_table *t = *state;

	leaf(t, 1, 0)->ecx |= L1_ECX_OSXSAVE;
	assert_int_equal(cpuid_customize(t, 0, 1, NULL, 0), 0);
	assert_true(leaf(t, 1, 0)->ecx & L1_ECX_OSXSAVE);
}

static void test_cpuid__plus_xsaveerptr_sets_80000008_ebx_bit2(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c = change("xsaveerptr", true);

	assert_int_equal(leaf(t, 0x80000008, 0)->ebx, 0);
	assert_int_equal(cpuid_customize(t, 0, 1, &c, 1), 0);
	assert_int_equal(leaf(t, 0x80000008, 0)->ebx, 1u << 2);
}

static void test_cpuid__subleaf_features_change_the_right_subleaf(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c = change("xsaves", false);

	assert_int_equal(cpuid_customize(t, 0, 1, &c, 1), 0);
	assert_int_equal(leaf(t, 0xd, 1)->eax, 0x7);
	assert_int_equal(leaf(t, 0xd, 0)->eax, 0x1f);
}

static void test_cpuid__changes_apply_in_order(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c[] = {change("cx16", false), change("cx16", true),
					 change("avx2", false)};

	assert_int_equal(cpuid_customize(t, 0, 1, c, 3), 0);
	assert_true(leaf(t, 1, 0)->ecx & L1_ECX_CX16);
	assert_false(leaf(t, 7, 0)->ebx & (1u << 5));
}

static void test_cpuid__removing_feature_of_absent_leaf_is_fine(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c = change("invtsc", false); /* leaf 0x80000007: absent */

	assert_null(cpuid_find(t, 0x80000007, 0));
	assert_int_equal(cpuid_customize(t, 0, 1, &c, 1), 0);
	assert_null(cpuid_find(t, 0x80000007, 0));
}

static void test_cpuid__adding_feature_of_absent_leaf_is_an_error(void **state)
{
	struct cpuid_table *t = *state;
	struct cpu_feature_change c = change("invtsc", true);

	assert_int_equal(cpuid_customize(t, 0, 1, &c, 1), -1);
}

static void test_cpuid__find_honours_significant_index(void **state)
{
	struct cpuid_table *t = *state;

	/* Indexed leaves match only their subleaf... */
	assert_int_equal(cpuid_find(t, 4, 3)->index, 3);
	assert_null(cpuid_find(t, 4, 4));
	assert_null(cpuid_find(t, 0xb, 3));
	/* ...others ignore it. */
	assert_ptr_equal(cpuid_find(t, 1, 5), cpuid_find(t, 1, 0));
	assert_null(cpuid_find(t, 0x12345, 0));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuid__feature_find_knows_names_and_their_bits),
	    cmocka_unit_test(test_cpuid__feature_find_rejects_unknown_names_and_prefixes),
	    cmocka_unit_test(test_cpuid__feature_find_uses_only_len_bytes),
	    T(test_cpuid__leaf1_carries_apic_id_and_logical_count_per_vcpu),
	    T(test_cpuid__leaf1_clears_htt_for_one_cpu),
	    T(test_cpuid__leaf1_apic_id_is_vcpu_63_of_64),
	    T(test_cpuid__leaf_b_describes_one_thread_per_core_and_n_cores),
	    T(test_cpuid__leaf4_reports_cores_and_l3_sharing),
	    T(test_cpuid__leaf_80000008_reports_core_count_and_apic_id_size),
	    T(test_cpuid__sets_hypervisor_bit_and_kvm_signature),
	    T(test_cpuid__keeps_higher_max_hypervisor_leaf),
	    cmocka_unit_test(test_cpuid__works_without_kvm_leaves),
	    T(test_cpuid__minus_cx16_clears_only_that_bit),
	    T(test_cpuid__minus_xsave_also_clears_osxsave),
	    T(test_cpuid__osxsave_stays_when_xsave_stays),
	    T(test_cpuid__plus_xsaveerptr_sets_80000008_ebx_bit2),
	    T(test_cpuid__subleaf_features_change_the_right_subleaf),
	    T(test_cpuid__changes_apply_in_order),
	    T(test_cpuid__removing_feature_of_absent_leaf_is_fine),
	    T(test_cpuid__adding_feature_of_absent_leaf_is_an_error),
	    T(test_cpuid__find_honours_significant_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
