/*
 * One VM: memory, irqchip, devices and vCPUs, built in a fixed order by vm_create() and
 * torn down by vm_destroy(). A reboot destroys the VM and builds a fresh one.
 */
#ifndef KVMBOX_VM_H
#define KVMBOX_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpuid.h"
#include "backends/backends.h"
#include "boot/boot.h"
#include "bus.h"
#include "config.h"
#include "boot/firmware.h"
#include "devices/debug_exit.h"
#include "devices/post_port.h"
#include "devices/reset_control.h"
#include "devices/test_device.h"
#include "irq.h"
#include "kvm.h"
#include "memory.h"
#include "pci/pci.h"
#include "vcpu.h"

enum vm_stop_reason {
	VM_STOP_NONE,
	VM_STOP_POWEROFF,   /* guest powered off */
	VM_STOP_REBOOT,	    /* guest asked for a reset */
	VM_STOP_CRASH,	    /* triple fault, failed entry, unhandled internal error */
	VM_STOP_QUIT,	    /* the user quit from the console */
	VM_STOP_ERROR,	    /* kvmbox itself failed */
	VM_STOP_DEBUG_EXIT, /* the guest wrote the debug-exit port: exit with vm->exit_status */
};

struct serial;
struct rtc;
struct i8042;
struct acpi_pm;
struct fw_cfg;
struct virtio_blk;
struct virtio_rng;
struct virtio_net;
struct virtio_console;

struct vm {
	const struct vm_config *cfg;
	struct kvm *kvm;
	struct backends *backends; /* disks and taps, owned by the caller */
	struct guest_memory mem;
	struct bus pio;
	struct bus mmio;
	struct cpuid_table supported_cpuid;
	struct boot_entry entry;
	struct vcpu vcpus[CONFIG_MAX_CPUS];
	uint32_t nvcpus;

	struct irq_line irq_com1, irq_rtc, irq_sci;
	struct serial *serial;
	struct rtc *rtc;
	struct i8042 *i8042;
	struct acpi_pm *pm;
	struct fw_cfg *fw_cfg;
	struct reset_control reset_control;
	struct post_port post;
	struct debug_exit debug_exit;
	struct test_device *test_device;
	struct firmware firmware;
	bool has_pci; /* only when a PCI device is configured: enumeration costs boot time */
	struct pci_bus pci;
	struct irq_router router;
	struct virtio_blk *blks[CONFIG_MAX_DISKS];
	struct virtio_net *nets[CONFIG_MAX_NICS];
	struct virtio_rng *rng;
	struct virtio_console *vconsole;

	int stop_fd;	 /* eventfd, readable once a stop was requested */
	int stop_reason; /* enum vm_stop_reason, first request wins */
	int exit_status; /* for VM_STOP_DEBUG_EXIT */
};

/*
 * Builds the VM on the open backends (cfg's disks and taps, see backends/backends.h);
 * serial_out_fd receives the UART's output (-1 discards it).
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct kvm *kvm,
	      struct backends *backends, int serial_out_fd);
int vm_start(struct vm *vm);
/* Records why the VM stops (first caller wins) and kicks every vCPU out of KVM_RUN. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);
bool vm_stopping(const struct vm *vm);
/* Console input goes to the guest's console device (the UART, or hvc0 with --console
 * virtio). Returns the bytes taken; the space fd becomes readable when more fit. */
size_t vm_console_receive(struct vm *vm, const uint8_t *buf, size_t len);
int vm_console_space_fd(struct vm *vm);
/* Joins the vCPU threads after a stop was requested; returns the reason. */
enum vm_stop_reason vm_join(struct vm *vm);
void vm_destroy(struct vm *vm);

#endif
