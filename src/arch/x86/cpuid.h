/*
 * The CPUID a vCPU sees: KVM's supported set, with per-vCPU APIC ids and topology, the KVM
 * paravirt leaves, and the user's --cpu-features changes. Pure functions on an entry array.
 */
#ifndef KVMBOX_ARCH_X86_CPUID_H
#define KVMBOX_ARCH_X86_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "config.h"

#define CPUID_MAX_ENTRIES 256

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

struct cpuid_feature {
	const char *name;
	uint32_t leaf;
	uint32_t subleaf;
	enum cpuid_reg reg;
	uint8_t bit;
};

struct cpuid_table {
	uint32_t nent;
	struct kvm_cpuid_entry2 entries[CPUID_MAX_ENTRIES];
};

/* KVM_GET_SUPPORTED_CPUID on /dev/kvm. Returns 0 or -errno. */
int cpuid_get_supported(int kvm_dev_fd, struct cpuid_table *t);

const struct cpuid_feature *cpuid_feature_find_n(const char *name, size_t len);
void cpuid_print_feature_names(void);

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf);
bool cpuid_feature_enabled(struct cpuid_table *t, const struct cpuid_feature *f);

/*
 * Turns KVM's supported CPUID into what vCPU `id` of `ncpus` sees. Returns 0, or -1 after
 * logging if a change names a leaf that does not exist.
 */
int cpuid_customize(struct cpuid_table *t, uint32_t id, uint32_t ncpus,
		    const struct cpu_feature_change *changes, int nchanges);

#endif
