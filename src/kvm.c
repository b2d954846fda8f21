#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch/x86/platform.h"
#include "irq.h"
#include "log.h"

const struct kvm_cap_req kvm_required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel LAPIC/IOAPIC"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel PIT"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "VMX real mode"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID setup"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "SMP bring-up"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS", "exception injection"},
    {KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS", "interrupt lines"},
    {KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER", "LAPIC timer"},
};
const size_t kvm_required_caps_count = sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]);

int kvm_open(struct kvm *kvm, const char *path)
{
	int version;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->dev_fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return log_errorx("%s: no such device: load the kvm module (kvm_intel or "
					  "kvm_amd) or enable virtualization in the firmware",
					  path);
		if (e == EACCES || e == EPERM)
			return log_errorx("%s: permission denied: run as root or add your user "
					  "to the group that owns it (usually 'kvm')",
					  path);
		errno = e;
		return log_error("%s", path);
	}
	version = ioctl(kvm->dev_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_errorx("%s: KVM API version %d, kvmbox needs %d", path, version,
			   KVM_API_VERSION);
		kvm_close(kvm);
		return -1;
	}
	kvm->run_size = (size_t)ioctl(kvm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kvm->max_vcpus = kvm_check_extension(kvm, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = kvm_check_extension(kvm, KVM_CAP_NR_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = 4; /* the API's documented minimum guarantee */
	return 0;
}

int kvm_check_extension(const struct kvm *kvm, int cap)
{
	int r = ioctl(kvm->vm_fd >= 0 ? kvm->vm_fd : kvm->dev_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

const char *kvm_missing_cap(const struct kvm *kvm)
{
	for (size_t i = 0; i < kvm_required_caps_count; i++)
		if (kvm_check_extension(kvm, kvm_required_caps[i].cap) <= 0)
			return kvm_required_caps[i].name;
	return NULL;
}

int kvm_create_vm(struct kvm *kvm)
{
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	const char *missing = kvm_missing_cap(kvm);

	if (missing)
		return log_errorx("/dev/kvm lacks %s, which kvmbox needs; run 'kvmbox check'",
				  missing);
	kvm->vm_fd = ioctl(kvm->dev_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0)
		return log_error("KVM_CREATE_VM");
	/* Only VMX needs these areas; other hosts accept and ignore them. */
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return log_error("KVM_SET_TSS_ADDR");
	if (kvm_check_extension(kvm, KVM_CAP_SET_IDENTITY_MAP_ADDR) &&
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return log_error("KVM_SET_IDENTITY_MAP_ADDR");
	return 0;
}

int kvm_create_irqchip(struct kvm *kvm)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	int r;

	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return log_error("KVM_CREATE_IRQCHIP");
	r = irq_routing_init(kvm->vm_fd);
	if (r < 0) {
		errno = -r;
		return log_error("KVM_SET_GSI_ROUTING");
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return log_error("KVM_CREATE_PIT2");
	return 0;
}

void kvm_destroy_vm(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	kvm->vm_fd = -1;
}

void kvm_close(struct kvm *kvm)
{
	kvm_destroy_vm(kvm);
	if (kvm->dev_fd >= 0)
		close(kvm->dev_fd);
	kvm->vm_fd = kvm->dev_fd = -1;
}
