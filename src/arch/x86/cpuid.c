#include "arch/x86/cpuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

/* Names as in Linux's /proc/cpuinfo (and QEMU's -cpu flags where they differ: pni=sse3). */
static const struct cpuid_feature features[] = {
    {"fpu", 1, 0, CPUID_EDX, 0},
    {"vme", 1, 0, CPUID_EDX, 1},
    {"de", 1, 0, CPUID_EDX, 2},
    {"pse", 1, 0, CPUID_EDX, 3},
    {"tsc", 1, 0, CPUID_EDX, 4},
    {"msr", 1, 0, CPUID_EDX, 5},
    {"pae", 1, 0, CPUID_EDX, 6},
    {"mce", 1, 0, CPUID_EDX, 7},
    {"cx8", 1, 0, CPUID_EDX, 8},
    {"apic", 1, 0, CPUID_EDX, 9},
    {"sep", 1, 0, CPUID_EDX, 11},
    {"mtrr", 1, 0, CPUID_EDX, 12},
    {"pge", 1, 0, CPUID_EDX, 13},
    {"mca", 1, 0, CPUID_EDX, 14},
    {"cmov", 1, 0, CPUID_EDX, 15},
    {"pat", 1, 0, CPUID_EDX, 16},
    {"pse36", 1, 0, CPUID_EDX, 17},
    {"clflush", 1, 0, CPUID_EDX, 19},
    {"mmx", 1, 0, CPUID_EDX, 23},
    {"fxsr", 1, 0, CPUID_EDX, 24},
    {"sse", 1, 0, CPUID_EDX, 25},
    {"sse2", 1, 0, CPUID_EDX, 26},
    {"ss", 1, 0, CPUID_EDX, 27},
    {"ht", 1, 0, CPUID_EDX, 28},
    {"pni", 1, 0, CPUID_ECX, 0},
    {"sse3", 1, 0, CPUID_ECX, 0},
    {"pclmulqdq", 1, 0, CPUID_ECX, 1},
    {"monitor", 1, 0, CPUID_ECX, 3},
    {"vmx", 1, 0, CPUID_ECX, 5},
    {"ssse3", 1, 0, CPUID_ECX, 9},
    {"fma", 1, 0, CPUID_ECX, 12},
    {"cx16", 1, 0, CPUID_ECX, 13},
    {"pdcm", 1, 0, CPUID_ECX, 15},
    {"pcid", 1, 0, CPUID_ECX, 17},
    {"sse4_1", 1, 0, CPUID_ECX, 19},
    {"sse4_2", 1, 0, CPUID_ECX, 20},
    {"x2apic", 1, 0, CPUID_ECX, 21},
    {"movbe", 1, 0, CPUID_ECX, 22},
    {"popcnt", 1, 0, CPUID_ECX, 23},
    {"tsc_deadline_timer", 1, 0, CPUID_ECX, 24},
    {"aes", 1, 0, CPUID_ECX, 25},
    {"xsave", 1, 0, CPUID_ECX, 26},
    {"avx", 1, 0, CPUID_ECX, 28},
    {"f16c", 1, 0, CPUID_ECX, 29},
    {"rdrand", 1, 0, CPUID_ECX, 30},
    {"hypervisor", 1, 0, CPUID_ECX, 31},
    {"fsgsbase", 7, 0, CPUID_EBX, 0},
    {"tsc_adjust", 7, 0, CPUID_EBX, 1},
    {"bmi1", 7, 0, CPUID_EBX, 3},
    {"hle", 7, 0, CPUID_EBX, 4},
    {"avx2", 7, 0, CPUID_EBX, 5},
    {"smep", 7, 0, CPUID_EBX, 7},
    {"bmi2", 7, 0, CPUID_EBX, 8},
    {"erms", 7, 0, CPUID_EBX, 9},
    {"invpcid", 7, 0, CPUID_EBX, 10},
    {"rtm", 7, 0, CPUID_EBX, 11},
    {"avx512f", 7, 0, CPUID_EBX, 16},
    {"avx512dq", 7, 0, CPUID_EBX, 17},
    {"rdseed", 7, 0, CPUID_EBX, 18},
    {"adx", 7, 0, CPUID_EBX, 19},
    {"smap", 7, 0, CPUID_EBX, 20},
    {"clflushopt", 7, 0, CPUID_EBX, 23},
    {"clwb", 7, 0, CPUID_EBX, 24},
    {"avx512cd", 7, 0, CPUID_EBX, 28},
    {"sha_ni", 7, 0, CPUID_EBX, 29},
    {"avx512bw", 7, 0, CPUID_EBX, 30},
    {"avx512vl", 7, 0, CPUID_EBX, 31},
    {"umip", 7, 0, CPUID_ECX, 2},
    {"pku", 7, 0, CPUID_ECX, 3},
    {"waitpkg", 7, 0, CPUID_ECX, 5},
    {"la57", 7, 0, CPUID_ECX, 16},
    {"rdpid", 7, 0, CPUID_ECX, 22},
    {"fsrm", 7, 0, CPUID_EDX, 4},
    {"serialize", 7, 0, CPUID_EDX, 14},
    {"arch_capabilities", 7, 0, CPUID_EDX, 29},
    {"xsaveopt", 0xd, 1, CPUID_EAX, 0},
    {"xsavec", 0xd, 1, CPUID_EAX, 1},
    {"xgetbv1", 0xd, 1, CPUID_EAX, 2},
    {"xsaves", 0xd, 1, CPUID_EAX, 3},
    {"lahf_lm", 0x80000001, 0, CPUID_ECX, 0},
    {"abm", 0x80000001, 0, CPUID_ECX, 5},
    {"3dnowprefetch", 0x80000001, 0, CPUID_ECX, 8},
    {"syscall", 0x80000001, 0, CPUID_EDX, 11},
    {"nx", 0x80000001, 0, CPUID_EDX, 20},
    {"pdpe1gb", 0x80000001, 0, CPUID_EDX, 26},
    {"rdtscp", 0x80000001, 0, CPUID_EDX, 27},
    {"lm", 0x80000001, 0, CPUID_EDX, 29},
    {"invtsc", 0x80000007, 0, CPUID_EDX, 8},
    {"xsaveerptr", 0x80000008, 0, CPUID_EBX, 2},
};

int cpuid_get_supported(int kvm_dev_fd, struct cpuid_table *t)
{
	union { /* room for the entries after KVM's header */
		struct kvm_cpuid2 hdr;
		uint8_t bytes[sizeof(struct kvm_cpuid2) +
			      CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2)];
	} c = {.hdr.nent = CPUID_MAX_ENTRIES};

	if (ioctl(kvm_dev_fd, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return -errno;
	t->nent = c.hdr.nent;
	memcpy(t->entries, c.hdr.entries, c.hdr.nent * sizeof(c.hdr.entries[0]));
	return 0;
}

const struct cpuid_feature *cpuid_feature_find_n(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (strlen(features[i].name) == len && !strncmp(features[i].name, name, len))
			return &features[i];
	return NULL;
}

void cpuid_print_feature_names(void)
{
	printf("CPU features for --cpu-features (+NAME adds, -NAME removes):\n");
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		printf("%s%s", features[i].name, (i + 1) % 8 ? " " : "\n");
	printf("\n");
}

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == leaf && (!indexed || e->index == subleaf))
			return e;
	}
	return NULL;
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg reg)
{
	switch (reg) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

bool cpuid_feature_enabled(struct cpuid_table *t, const struct cpuid_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, f->leaf, f->subleaf);
	return e && (*entry_reg(e, f->reg) >> f->bit & 1);
}

static uint32_t bits_for(uint32_t n)
{
	uint32_t b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

/* One socket, ncpus cores, one thread per core; APIC id == vCPU index. */
static void set_topology(struct cpuid_table *t, uint32_t id, uint32_t ncpus)
{
	uint32_t core_bits = bits_for(ncpus);

	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) | ((ncpus & 0xff) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: the logical count field is valid */
			else
				e->edx &= ~(1u << 28);
			break;
		case 4: /* deterministic cache parameters: cores per package - 1 */
			e->eax = (e->eax & 0x03ffffff) | ((((1u << core_bits) - 1) & 0x3f) << 26);
			/* threads sharing this cache - 1: L3 shared by all, others per core */
			e->eax &= ~(0xfffu << 14);
			if (((e->eax >> 5) & 7) == 3)
				e->eax |= (((1u << core_bits) - 1) & 0xfff) << 14;
			break;
		case 0xb:
		case 0x1f: /* extended topology: SMT level (1 thread), then core level */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008: /* AMD: NC = logical processors - 1 */
			e->ecx = (e->ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) | (core_bits << 12);
			break;
		}
	}
}

/* Bits of CPUID 0x40000001 EAX (Documentation/virt/kvm/x86/cpuid.rst). */
#define KVM_FEATURE_CLOCKSOURCE		   0
#define KVM_FEATURE_NOP_IO_DELAY	   1
#define KVM_FEATURE_CLOCKSOURCE2	   3
#define KVM_FEATURE_ASYNC_PF		   4
#define KVM_FEATURE_STEAL_TIME		   5
#define KVM_FEATURE_PV_EOI		   6
#define KVM_FEATURE_ASYNC_PF_INT	   14
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT 24
#define KVM_PV_FEATURES_OFFERED                                                                    \
	((1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |                      \
	 (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_ASYNC_PF) |                         \
	 (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) |                             \
	 (1u << KVM_FEATURE_ASYNC_PF_INT) | (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

static void set_kvm_leaves(struct cpuid_table *t)
{
	struct kvm_cpuid_entry2 *sig = cpuid_find(t, 0x40000000, 0);

	if (!sig)
		return;
	/* "KVMKVMKVM\0\0\0" tells the guest it may use the paravirt leaves (kvmclock, ...). */
	memcpy(&sig->ebx, "KVMK", 4);
	memcpy(&sig->ecx, "VMKV", 4);
	memcpy(&sig->edx, "M\0\0\0", 4);
	if (sig->eax < 0x40000001)
		sig->eax = 0x40000001;

	/*
	 * Offer the paravirt features QEMU enables by default and no more. The PV
	 * spinlock kick (PV_UNHALT), PV IPIs, PV TLB flush, poll control and PV
	 * sched-yield all move wake-ups into hypercalls; on nested shadow-paging
	 * hosts a lost kick hangs an SMP guest, and none of them is needed for
	 * correctness.
	 */
	struct kvm_cpuid_entry2 *pv = cpuid_find(t, 0x40000001, 0);
	if (pv)
		pv->eax &= KVM_PV_FEATURES_OFFERED;
}

int cpuid_customize(struct cpuid_table *t, uint32_t id, uint32_t ncpus,
		    const struct cpu_feature_change *changes, int nchanges)
{
	struct kvm_cpuid_entry2 *leaf1 = cpuid_find(t, 1, 0);

	set_topology(t, id, ncpus);
	set_kvm_leaves(t);
	if (leaf1)
		leaf1->ecx |= 1u << 31; /* hypervisor present */
	for (int i = 0; i < nchanges; i++) {
		const struct cpuid_feature *f =
		    cpuid_feature_find_n(changes[i].name, strlen(changes[i].name));
		struct kvm_cpuid_entry2 *e = f ? cpuid_find(t, f->leaf, f->subleaf) : NULL;
		if (!e) {
			if (!changes[i].add)
				continue; /* already absent */
			return log_errorx("--cpu-features +%s: this host's KVM has no CPUID leaf "
					  "%#x for it",
					  changes[i].name, f ? f->leaf : 0);
		}
		if (changes[i].add)
			*entry_reg(e, f->reg) |= 1u << f->bit;
		else
			*entry_reg(e, f->reg) &= ~(1u << f->bit);
	}
	/* Without XSAVE the OS cannot enable it: OSXSAVE must follow. */
	if (leaf1 && !(leaf1->ecx & (1u << 26)))
		leaf1->ecx &= ~(1u << 27);
	return 0;
}
