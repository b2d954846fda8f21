"""End-to-end boots of the default Linux guest, driven over its serial console."""
import re
import time


from conftest import INIT_MARKER

GiB_KB = 1024 * 1024


def test_pvh_vmlinux_smp_memory_console_and_clock(boot, linux_args):
    g = boot(*linux_args("vmlinux", "--cpus", "4", "--mem", "1G"))
    g.wait_for(re.escape(INIT_MARKER), timeout=300)
    seconds = g.boot_seconds = time.monotonic() - g.started
    print(f"PVH vmlinux, 4 vCPUs: /init reached after {seconds:.1f} s")
    assert g.run("nproc") == "4"
    mem_kb = int(re.search(r"MemTotal:\s+(\d+) kB", g.run("cat /proc/meminfo")).group(1))
    assert abs(mem_kb - GiB_KB) <= 0.05 * GiB_KB, f"MemTotal {mem_kb} kB"
    # A command typed on stdin runs in the guest and its output comes back.
    assert g.run("echo $((6 * 7))") == "42"
    # The RTC carries the host's time: the guest's clock is within a minute of ours.
    guest_time = int(g.run("date +%s"))
    assert abs(guest_time - time.time()) < 60
    # All four vCPUs take part in the shutdown; power-off ends kvmbox with 0.
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_pvh_vmlinux_powers_off(boot, linux_args):
    g = boot(*linux_args("vmlinux"))
    g.wait_boot()
    assert g.run("cat /proc/cmdline") == (g.args[g.args.index("--cmdline") + 1])
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_bzimage_boots_and_powers_off(boot, linux_args):
    g = boot(*linux_args("bzImage"))
    seconds = g.wait_boot()
    print(f"bzImage: /init reached after {seconds:.1f} s")
    assert g.run("uname -m") == "x86_64"
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_reboot_boots_the_guest_again_by_default(boot, linux_args):
    g = boot(*linux_args("vmlinux"))
    g.wait_boot()
    g.send("reboot\n")
    first = g.text().index(INIT_MARKER)
    g.wait_for(re.escape(INIT_MARKER), start=first + len(INIT_MARKER))
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    assert g.text().count(INIT_MARKER) == 2


def test_reboot_exits_with_on_reboot_exit_and_no_acpi(boot, linux_args):
    """Without ACPI the kernel resets through the i8042; --on-reboot exit ends kvmbox."""
    g = boot(*linux_args("vmlinux", "--no-acpi", "--on-reboot", "exit"))
    g.wait_boot()
    assert g.run("nproc") == "1"
    g.send("reboot\n")
    assert g.wait_exit() == 0
    assert g.text().count(INIT_MARKER) == 1
