"""The command lines that run the same guest on kvmbox and on QEMU.

QEMU runs its smallest machine, microvm, without firmware (like kvmbox): `-bios` for a raw
firmware image, `-kernel` for PVH/multiboot ELFs and Linux, and, for Linux with disks and a
NIC, PCIe (`pcie=on`) so both VMMs give the guest virtio-pci devices with MSI-X.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KVMBOX = ROOT / "build" / "kvmbox"
QEMU = "qemu-system-x86_64"
# What this host's KVM can run in guest ring 0 (HOST.md): no CX16 (and no XSAVE for Linux).
KVMBOX_CPU = "--cpu-features=-cx16,-xsave"
QEMU_CPU = "qemu64,-cx16,+xsaveerptr"
QEMU_BASE = ["-enable-kvm", "-cpu", QEMU_CPU, "-nodefaults", "-no-user-config",
             "-display", "none"]


def qemu(machine, mem_mib, *args, serial=True):
    return [QEMU, "-M", machine, "-m", str(mem_mib), *QEMU_BASE,
            *(["-serial", "stdio"] if serial else []), *map(str, args)]


def kvmbox(mem_mib, *args):
    return [str(KVMBOX), "run", "--mem", f"{mem_mib}M", *map(str, args)]


def firmware_exit(vmm, image, mem_mib=64, serial=False):
    """A raw firmware image that exits through debug-exit at once (guests.exit_firmware),
    with its serial output on stdout if serial."""
    if vmm == "kvmbox":
        return kvmbox(mem_mib, "--firmware", image, "--debug-exit",
                      *([] if serial else ["--serial", "none"]))
    return qemu("microvm", mem_mib, "-bios", image, "-device",
                "isa-debug-exit,iobase=0xf4,iosize=4", serial=serial)


def tiny_kernel(vmm, kernel, mem_mib=128, disks=(), taps=()):
    """A PVH/multiboot ELF with the serial console, optionally with virtio disks and NICs."""
    if vmm == "kvmbox":
        extra = [a for d in disks for a in ("--disk", f"path={d}")]
        extra += [a for t in taps for a in ("--net", f"tap={t}")]
        return kvmbox(mem_mib, "--kernel", kernel, *extra)
    extra = []
    for i, d in enumerate(disks):
        extra += ["-drive", f"file={d},if=none,id=d{i},format=raw",
                  "-device", f"virtio-blk-device,drive=d{i}"]
    for i, t in enumerate(taps):
        extra += ["-netdev", f"tap,id=n{i},ifname={t},script=no,downscript=no,vhost=off",
                  "-device", f"virtio-net-device,netdev=n{i}"]
    return qemu("microvm", mem_mib, "-kernel", kernel, *extra)


def exitbench(vmm, kernel, n, tsc_khz):
    """tests/guests/exitbench.c against each VMM's userspace test device."""
    if vmm == "kvmbox":
        return kvmbox(128, "--kernel", kernel, "--test-device", "--debug-exit",
                      "--cmdline", f"n={n} tsc_khz={tsc_khz}")
    return qemu("microvm", 128, "-kernel", kernel, "-append",
                f"n={n} tsc_khz={tsc_khz} mmio=0xff000000", "-device", "pc-testdev",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4")


def pci_test_guest(vmm, kernel, cmdline, kvmbox_devices, qemu_devices):
    """A test guest (--kernel, debug-exit) with PCI devices; QEMU runs microvm with PCIe."""
    if vmm == "kvmbox":
        return kvmbox(128, "--kernel", kernel, "--debug-exit", *kvmbox_devices,
                      "--cmdline", cmdline)
    return qemu("microvm,pcie=on", 128, "-kernel", kernel, "-append", cmdline, *qemu_devices,
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4")


def vblkbench(vmm, kernel, disk, cmdline):
    """tests/guests/vblkbench.c: a virtio-blk PCI driver in guest ring 3, on one raw disk."""
    return pci_test_guest(vmm, kernel, cmdline, ["--disk", f"path={disk}"],
                          ["-drive", f"file={disk},if=none,id=d0,format=raw",
                           "-device", "virtio-blk-pci,drive=d0"])


def vnetbench(vmm, kernel, tap, cmdline):
    """tests/guests/vnetbench.c: a virtio-net PCI driver in guest ring 3, on a tap."""
    return pci_test_guest(vmm, kernel, cmdline, ["--net", f"tap={tap}"],
                          ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                           "-device", "virtio-net-pci,netdev=n0"])


def linux(vmm, guest_dir, cmdline, mem_mib=256, disks=(), tap=None):
    """The default guest (vmlinux through PVH, busybox initramfs) with virtio-pci devices."""
    vmlinux, initrd = guest_dir / "vmlinux", ROOT / "build" / "guest" / "initramfs.cpio"
    if vmm == "kvmbox":
        extra = [a for d in disks for a in ("--disk", f"path={d}")]
        extra += ["--net", f"tap={tap}"] if tap else []
        return kvmbox(mem_mib, "--kernel", vmlinux, "--initrd", initrd, "--cmdline", cmdline,
                      KVMBOX_CPU, *extra)
    extra = []
    for i, d in enumerate(disks):
        extra += ["-drive", f"file={d},if=none,id=d{i},format=raw",
                  "-device", f"virtio-blk-pci,drive=d{i}"]
    if tap:
        extra += ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                  "-device", "virtio-net-pci,netdev=n0"]
    return qemu("microvm,pcie=on" if extra else "microvm", mem_mib, "-kernel", vmlinux,
                "-initrd", initrd, "-append", cmdline, *extra)
