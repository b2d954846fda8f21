#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/entry.h"
#include "arch/x86/mptable.h"
#include "arch/x86/platform.h"
#include "devices/acpi_pm.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/rtc_cmos.h"
#include "devices/serial_16550.h"
#include "log.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include <linux/kvm.h>

static void vm_reset_cb(void *ctx)
{
	vm_request_stop(ctx, VM_STOP_REBOOT);
}

static void vm_poweroff_cb(void *ctx)
{
	vm_request_stop(ctx, VM_STOP_POWEROFF);
}

static void vm_debug_exit_cb(void *ctx, int status)
{
	struct vm *vm = ctx;

	/* Written before the stop is published; read after the vCPUs are joined. */
	__atomic_store_n(&vm->exit_status, status, __ATOMIC_SEQ_CST);
	vm_request_stop(vm, VM_STOP_DEBUG_EXIT);
}

static int pio_add(struct vm *vm, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		   const char *name)
{
	int r = bus_register(&vm->pio, base, len, fn, opaque, name);

	if (r < 0) {
		errno = -r;
		return log_error("registering %s at port %#llx", name, (unsigned long long)base);
	}
	return 0;
}

/* QEMU-compatible fw_cfg: what firmware and test guests ask the platform about. */
static int vm_create_fw_cfg(struct vm *vm)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(&vm->mem, map, E820_MAX_ENTRIES);
	struct fw_cfg *f = fw_cfg_create(&vm->mem);

	if (!f)
		return log_errorx("out of memory creating fw_cfg");
	vm->fw_cfg = f;
	if (fw_cfg_add_u64(f, FW_CFG_RAM_SIZE, vm->mem.size) < 0 ||
	    fw_cfg_add_u16(f, FW_CFG_NB_CPUS, (uint16_t)vm->cfg->cpus) < 0 ||
	    fw_cfg_add_u16(f, FW_CFG_MAX_CPUS, (uint16_t)vm->cfg->cpus) < 0 ||
	    fw_cfg_add_u16(f, FW_CFG_NOGRAPHIC, 1) < 0 ||
	    fw_cfg_add_file(f, "etc/e820", map, (size_t)n * sizeof(map[0])) < 0)
		return log_errorx("cannot fill fw_cfg");
	if (pio_add(vm, FW_CFG_PORT_SEL, FW_CFG_SEL_NR_PORTS, fw_cfg_io, f, "fw_cfg") < 0 ||
	    pio_add(vm, FW_CFG_PORT_DMA, FW_CFG_DMA_NR_PORTS, fw_cfg_dma_io, f, "fw_cfg-dma") < 0)
		return -1;
	return 0;
}

/*
 * Ports 0xcf8-0xcff: PCI configuration (dword address at 0xcf8, data at 0xcfc), except the
 * byte at 0xcf9, which is the reset control register on PIIX/ICH chipsets too.
 */
static void vm_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (offset == 1 && len == 1)
		reset_control_io(&vm->reset_control, 0, data, len, is_write);
	else
		pci_cfg_port_io(&vm->pci, offset, data, len, is_write);
}

static int vm_add_virtio(struct vm *vm, struct virtio_dev *v)
{
	int r = pci_bus_add(&vm->pci, &v->pci);

	if (r < 0)
		return log_errorx("%s: no PCI slot or MMIO space left (at most %d devices)",
				  v->name, PCI_MAX_SLOTS - 1);
	return 0;
}

/* The PCI host bridge and the virtio devices behind it. */
static int vm_create_pci(struct vm *vm, int console_out_fd)
{
	const struct vm_config *cfg = vm->cfg;
	struct irq_line intx;

	irq_line_init_kvm(&intx, &vm->kvm->vm_fd, 0);
	pci_bus_init(&vm->pci, PCI_MMIO32_BASE, PCI_MMIO32_END, &intx);
	irq_router_init(&vm->router, vm->kvm->vm_fd);
	if (pio_add(vm, PORT_PCI_CONFIG, PORT_PCI_CONFIG_LEN, vm_cf8_io, vm, "pci-config") < 0)
		return -1;
	if (bus_register(&vm->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, pci_ecam_io, &vm->pci,
			 "pci-ecam") < 0 ||
	    bus_register(&vm->mmio, PCI_MMIO32_BASE, PCI_MMIO32_END - PCI_MMIO32_BASE, pci_mmio_io,
			 &vm->pci, "pci-mmio") < 0)
		return log_errorx("cannot register the PCI windows");
	for (int i = 0; i < cfg->ndisks; i++) {
		vm->blks[i] = virtio_blk_create(&cfg->disks[i], &vm->backends->disks[i], cfg->cpus,
						&vm->mem, &vm->router);
		if (!vm->blks[i] || vm_add_virtio(vm, virtio_blk_dev(vm->blks[i])) < 0)
			return -1;
	}
	for (int i = 0; i < cfg->nnets; i++) {
		vm->nets[i] = virtio_net_create(&cfg->nets[i], vm->backends->taps[i], i, &vm->mem,
						&vm->router);
		if (!vm->nets[i] || vm_add_virtio(vm, virtio_net_dev(vm->nets[i])) < 0)
			return -1;
	}
	if (cfg->console == CONSOLE_VIRTIO) {
		vm->vconsole = virtio_console_create(console_out_fd, &vm->mem, &vm->router);
		if (!vm->vconsole)
			return log_errorx("cannot create virtio-console");
		if (vm_add_virtio(vm, virtio_console_dev(vm->vconsole)) < 0)
			return -1;
	}
	if (cfg->rng) {
		vm->rng = virtio_rng_create(&vm->mem, &vm->router);
		if (!vm->rng)
			return log_errorx("cannot create virtio-rng");
		if (vm_add_virtio(vm, virtio_rng_dev(vm->rng)) < 0)
			return -1;
	}
	return 0;
}

static int vm_create_devices(struct vm *vm, int serial_out_fd)
{
	int *vm_fd = &vm->kvm->vm_fd;
	uint64_t above_4g = vm->mem.size - memory_low_end(&vm->mem);

	irq_line_init_kvm(&vm->irq_com1, vm_fd, IRQ_COM1);
	irq_line_init_kvm(&vm->irq_rtc, vm_fd, IRQ_RTC);
	irq_line_init_kvm(&vm->irq_sci, vm_fd, ACPI_SCI_IRQ);
	vm->serial = serial_create(&vm->irq_com1, serial_out_fd);
	vm->rtc = rtc_create(&vm->irq_rtc, memory_low_end(&vm->mem), above_4g);
	vm->i8042 = i8042_create(vm_reset_cb, vm);
	vm->reset_control = (struct reset_control){.reset = vm_reset_cb, .ctx = vm};
	if (!vm->serial || !vm->rtc || !vm->i8042)
		return log_errorx("out of memory creating devices");
	if (pio_add(vm, PORT_COM1, 8, serial_io, vm->serial, "serial") < 0 ||
	    pio_add(vm, PORT_RTC, 2, rtc_io, vm->rtc, "rtc") < 0 ||
	    pio_add(vm, PORT_I8042_DATA, 1, i8042_data_io, vm->i8042, "i8042") < 0 ||
	    pio_add(vm, PORT_I8042_CMD, 1, i8042_cmd_io, vm->i8042, "i8042") < 0 ||
	    pio_add(vm, PORT_POST, 1, post_port_io, &vm->post, "post") < 0 ||
	    vm_create_fw_cfg(vm) < 0)
		return -1;
	if (vm->has_pci ? vm_create_pci(vm, serial_out_fd) < 0
			: pio_add(vm, PORT_RESET_CONTROL, 1, reset_control_io, &vm->reset_control,
				  "reset-control") < 0)
		return -1;
	if (vm->cfg->debug_exit) {
		vm->debug_exit = (struct debug_exit){.exit = vm_debug_exit_cb, .ctx = vm};
		if (pio_add(vm, PORT_DEBUG_EXIT, DEBUG_EXIT_LEN, debug_exit_io, &vm->debug_exit,
			    "debug-exit") < 0)
			return -1;
	}
	if (vm->cfg->test_device) {
		vm->test_device = malloc(sizeof(*vm->test_device));
		if (!vm->test_device)
			return log_errorx("out of memory creating devices");
		test_device_init(vm->test_device);
		if (pio_add(vm, TEST_DEVICE_PORT_BASE, TEST_DEVICE_PORT_LEN, test_device_pio,
			    vm->test_device, "test-device") < 0 ||
		    bus_register(&vm->mmio, TEST_DEVICE_MMIO_BASE, TEST_DEVICE_MMIO_LEN,
				 test_device_mmio, vm->test_device, "test-device") < 0)
			return log_errorx("cannot register the test device");
	}
	if (vm->cfg->acpi) {
		vm->pm = acpi_pm_create(&vm->irq_sci, vm_poweroff_cb, vm);
		if (!vm->pm)
			return log_errorx("out of memory creating devices");
		if (pio_add(vm, PORT_ACPI_PM_BASE, ACPI_PM_LEN, acpi_pm_io, vm->pm, "acpi-pm") < 0)
			return -1;
	}
	return 0;
}

static int vm_build_firmware_tables(struct vm *vm, uint64_t *rsdp)
{
	int r;

	*rsdp = 0;
	if (vm->cfg->acpi) {
		static const struct acpi_pci pci = {
		    .ecam_base = PCI_ECAM_BASE,
		    .mmio_base = (uint32_t)PCI_MMIO32_BASE,
		    .mmio_end = (uint32_t)PCI_MMIO32_END,
		    .intx_gsi = pci_intx_gsi,
		};
		struct acpi_config acfg = {.ncpus = vm->cfg->cpus,
					   .pci = vm->has_pci ? &pci : NULL};
		r = acpi_build(&vm->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE, &acfg, rsdp);
	} else {
		r = mptable_build(&vm->mem, MPTABLE_ADDR, MPTABLE_SIZE, vm->cfg->cpus);
	}
	if (r < 0) {
		errno = -r;
		return log_error("building %s tables", vm->cfg->acpi ? "ACPI" : "MP");
	}
	return 0;
}

/* The order matters: memory before the boot loader, irqchip before vCPUs and devices. */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct kvm *kvm,
	      struct backends *backends, int serial_out_fd)
{
	struct boot_request req = {
	    .kernel_path = cfg->kernel,
	    .initrd_path = cfg->initrd,
	    .cmdline = cfg->cmdline,
	};
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm = kvm;
	vm->backends = backends;
	vm->stop_fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	if (cfg->cpus > (uint32_t)kvm->max_vcpus)
		return log_errorx("--cpus %u: this host's KVM allows at most %d", cfg->cpus,
				  kvm->max_vcpus);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		return log_error("eventfd");
	r = memory_init(&vm->mem, cfg->mem_size);
	if (r < 0) {
		errno = -r;
		return log_error("--mem %lluM: allocating guest memory",
				 (unsigned long long)(cfg->mem_size / MiB));
	}
	vm->has_pci = cfg->ndisks || cfg->nnets || cfg->rng || cfg->console == CONSOLE_VIRTIO;
	if (vm->has_pci)
		memory_reserve_in_hole(&vm->mem, PCI_ECAM_BASE, PCI_ECAM_SIZE);
	if (cfg->firmware) {
		if (firmware_load(&vm->firmware, cfg->firmware) < 0)
			return -1;
		/* Below 1 MiB the guest sees the end of the image instead of RAM. */
		memory_carve_hole(&vm->mem, firmware_alias_start(&vm->firmware), MEM_HIGH_START);
	}
	if (kvm_create_vm(kvm) < 0)
		return -1;
	r = memory_register(&vm->mem, kvm->vm_fd);
	if (r < 0) {
		errno = -r;
		return log_error("KVM_SET_USER_MEMORY_REGION");
	}
	if (cfg->firmware) {
		/* The firmware brings its own tables and starts where the CPU resets. */
		if (!kvm_check_extension(kvm, KVM_CAP_READONLY_MEM))
			return log_errorx("--firmware: this host's KVM lacks read-only memory "
					  "(KVM_CAP_READONLY_MEM)");
		r = firmware_map(&vm->firmware, kvm->vm_fd, vm->mem.nregions);
		if (r < 0) {
			errno = -r;
			return log_error("--firmware %s: mapping it", cfg->firmware);
		}
		vm->entry.mode = BOOT_ENTRY_RESET;
	}
	if (kvm_create_irqchip(kvm) < 0) /* after the memslots: see kvm.h */
		return -1;
	if (!cfg->firmware) {
		if (vm_build_firmware_tables(vm, &req.rsdp_gpa) < 0)
			return -1;
		if (boot_load(&vm->mem, &req, &vm->entry) < 0)
			return -1;
	}
	if (x86_entry_setup_memory(&vm->mem, &vm->entry) < 0)
		return log_errorx("guest memory too small for the boot page tables");
	if (vm_create_devices(vm, serial_out_fd) < 0)
		return -1;
	r = cpuid_get_supported(kvm->dev_fd, &vm->supported_cpuid);
	if (r < 0) {
		errno = -r;
		return log_error("KVM_GET_SUPPORTED_CPUID");
	}
	for (uint32_t i = 0; i < cfg->cpus; i++) {
		vm->nvcpus = i + 1;
		if (vcpu_create(&vm->vcpus[i], vm, i) < 0)
			return -1;
	}
	return 0;
}

int vm_start(struct vm *vm)
{
	for (uint32_t i = 0; i < vm->nvcpus; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			vm_request_stop(vm, VM_STOP_ERROR);
			return -1;
		}
	}
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	int none = VM_STOP_NONE;
	uint64_t one = 1;

	if (!__atomic_compare_exchange_n(&vm->stop_reason, &none, (int)reason, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	serial_detach_output(vm->serial);
	virtio_console_detach_output(vm->vconsole);
	for (uint32_t i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_warn("waking the main loop");
}

size_t vm_console_receive(struct vm *vm, const uint8_t *buf, size_t len)
{
	if (vm->vconsole)
		return virtio_console_receive(vm->vconsole, buf, len);
	return serial_receive(vm->serial, buf, len);
}

int vm_console_space_fd(struct vm *vm)
{
	return vm->vconsole ? virtio_console_space_fd(vm->vconsole)
			    : serial_rx_space_fd(vm->serial);
}

bool vm_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_SEQ_CST) != VM_STOP_NONE;
}

enum vm_stop_reason vm_join(struct vm *vm)
{
	for (uint32_t i = 0; i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	return (enum vm_stop_reason)__atomic_load_n(&vm->stop_reason, __ATOMIC_SEQ_CST);
}

void vm_destroy(struct vm *vm)
{
	if (vm_stopping(vm) == false)
		vm_request_stop(vm, VM_STOP_QUIT);
	vm_join(vm);
	for (uint32_t i = 0; i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	/* Devices first: their I/O threads use guest memory and the irqchip. */
	for (int i = 0; i < CONFIG_MAX_DISKS; i++)
		virtio_blk_destroy(vm->blks[i]);
	for (int i = 0; i < CONFIG_MAX_NICS; i++)
		virtio_net_destroy(vm->nets[i]);
	virtio_console_destroy(vm->vconsole);
	virtio_rng_destroy(vm->rng);
	if (vm->has_pci) {
		pci_bus_destroy(&vm->pci);
		irq_router_destroy(&vm->router);
	}
	serial_destroy(vm->serial);
	rtc_destroy(vm->rtc);
	i8042_destroy(vm->i8042);
	acpi_pm_destroy(vm->pm);
	fw_cfg_destroy(vm->fw_cfg);
	if (vm->test_device) {
		test_device_destroy(vm->test_device);
		free(vm->test_device);
	}
	firmware_destroy(&vm->firmware);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->kvm)
		kvm_destroy_vm(vm->kvm);
	memory_destroy(&vm->mem);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	memset(vm, 0, sizeof(*vm));
	vm->stop_fd = -1;
}
