/* /dev/kvm: opening it, checking what kvmbox relies on, creating the VM. */
#ifndef KVMBOX_KVM_H
#define KVMBOX_KVM_H

#include <stdbool.h>
#include <stddef.h>

struct kvm {
	int dev_fd; /* /dev/kvm */
	int vm_fd;
	size_t run_size; /* mmap size of struct kvm_run */
	int max_vcpus;
};

struct kvm_cap_req {
	int cap;
	const char *name;
	const char *why;
};

/* Capabilities kvmbox cannot run without. */
extern const struct kvm_cap_req kvm_required_caps[];
extern const size_t kvm_required_caps_count;

/* Opens path (usually /dev/kvm) and checks the API version. Returns 0 or -1 after logging a
 * message that says what is wrong and what to do. */
int kvm_open(struct kvm *kvm, const char *path);
/* Returns the name of the first missing required capability, or NULL. */
const char *kvm_missing_cap(const struct kvm *kvm);
int kvm_check_extension(const struct kvm *kvm, int cap);
/* Creates the VM (no irqchip yet: see kvm_create_irqchip). */
int kvm_create_vm(struct kvm *kvm);
/*
 * Creates the in-kernel irqchip (LAPICs, IOAPIC, PIC), its GSI routing and the PIT. Call it
 * after the memory slots are registered: with an irqchip present, some hosts' KVM (measured
 * on nested kvm_pvm) take 5-10 ms over the first KVM_SET_USER_MEMORY_REGION instead of 0.1.
 */
int kvm_create_irqchip(struct kvm *kvm);
/* Closes the VM (not /dev/kvm), e.g. before a reboot creates a fresh one. */
void kvm_destroy_vm(struct kvm *kvm);
void kvm_close(struct kvm *kvm);

#endif
