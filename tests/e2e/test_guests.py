"""The bare-metal conformance guests (tests/guests/, built into build/guests/).

Each guest checks one area of the machine kvmbox presents and prints "PASS: ..." / "FAIL: ..."
lines and a SUMMARY; it exits through the debug-exit port with 0 (all passed: kvmbox status 1)
or 1 (something failed: status 3). Every guest is also run broken, or with expectations that
are wrong on purpose, and must then FAIL: that proves its checks can fail.

On kvm_pvm hosts (see /work/shared/HOST.md) the guests get "host=pvm" on their command line:
checks that this host's KVM itself is known to fail then print "XFAIL:" and do not count.
"""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import stamped_disk
from conftest import KVMBOX, ROOT, require_kvm

GUESTS_DIR = Path(os.environ.get("GUESTS_DIR", ROOT / "build" / "guests"))
PASS_STATUS = 1  # the guest wrote 0 to the debug-exit port
FAIL_STATUS = 3  # the guest wrote 1
TIMEOUT = 30  # generous; each guest takes well under a second here
HOST_ARGS = ["host=pvm"] if Path("/sys/module/kvm_pvm").exists() else []
SUMMARY_RE = re.compile(r"^SUMMARY: (\d+) checks, (\d+) failed, (\d+) skipped", re.M)


class Run:
    def __init__(self, name, args, proc, seconds):
        self.name = name
        self.args = args
        self.status = proc.returncode
        self.out = proc.stdout.decode(errors="replace")
        self.err = proc.stderr.decode(errors="replace")
        self.seconds = seconds

    def __str__(self):
        return (f"kvmbox run {' '.join(self.args)}\nexit status {self.status} after "
                f"{self.seconds:.2f} s\n--- console ---\n{self.out[-6000:]}\n--- stderr ---\n"
                f"{self.err[-3000:]}")

    def summary(self):
        m = SUMMARY_RE.search(self.out)
        return tuple(int(x) for x in m.groups()) if m else None


def guest_path(name):
    path = GUESTS_DIR / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build the guests with `make -C tests/guests`")
    return path


def run(name, *args, cmdline=None, timeout=TIMEOUT):
    """Boots one guest (--kernel, or --firmware for *.bin) and waits for kvmbox to exit."""
    require_kvm()
    flag = "--firmware" if name.endswith(".bin") else "--kernel"
    argv = [flag, str(guest_path(name)), "--debug-exit", *[str(a) for a in args]]
    if cmdline is not None:
        argv += ["--cmdline", " ".join([*cmdline, *HOST_ARGS])]
    start = time.monotonic()
    proc = subprocess.run([str(KVMBOX), "run", *argv], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)
    r = Run(name, argv, proc, time.monotonic() - start)
    print(f"{name} {' '.join(argv[2:])}: status {r.status}, {r.seconds:.2f} s")
    return r


def assert_pass(r, *checks):
    """All checks passed; each expected check text appears on a PASS line."""
    assert r.status == PASS_STATUS, f"guest did not PASS\n{r}"
    s = r.summary()
    assert s and s[0] > 0 and s[1] == 0, f"bad or missing SUMMARY\n{r}"
    assert not re.search(r"^FAIL: ", r.out, re.M), str(r)
    passed = [line for line in r.out.splitlines() if line.startswith(("PASS: ", "XFAIL: "))]
    for text in checks:
        assert any(text in line for line in passed), f"no PASS line with {text!r}\n{r}"
    for line in r.out.splitlines():
        if line.startswith("XFAIL: "):
            print(f"  known host failure: {line[7:]}")


def assert_fail(r, *checks):
    """The guest reported failure through the debug-exit port, on the expected checks."""
    assert r.status == FAIL_STATUS, f"guest did not FAIL\n{r}"
    s = r.summary()
    assert s and s[1] > 0, f"bad or missing SUMMARY\n{r}"
    failed = [line for line in r.out.splitlines() if line.startswith("FAIL: ")]
    for text in checks:
        assert any(text in line for line in failed), f"no FAIL line with {text!r}\n{r}"


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


@pytest.fixture
def module(tmp_path):
    """An initrd / multiboot module with known contents; returns (path, cmdline words)."""
    data = bytes((i * 131 + (i >> 8)) & 0xFF for i in range(70001))
    path = tmp_path / "module.bin"
    path.write_bytes(data)
    return path, [f"initrd_size={len(data)}", f"initrd_fnv=0x{fnv1a(data):x}"]


# ---- boot protocols ----

@pytest.mark.parametrize("mem", ["64M", "4G"])
def test_multiboot_entry_state_info_mmap_cmdline_and_module(module, mem):
    path, words = module
    size = int(mem[:-1]) << (20 if mem.endswith("M") else 30)
    cmdline = [f"mem={size}", *words, "name=boot_multiboot.elf"]
    r = run("boot_multiboot.elf", "--mem", mem, "--initrd", path, cmdline=cmdline)
    assert_pass(r, "EAX holds the multiboot magic", "32-bit protected mode with paging off",
                "CS 0x10 is a flat", "mem_upper", "mmap: total RAM", "module 0 bytes: FNV-1a",
                "module 0 is page aligned")
    kernel = guest_path("boot_multiboot.elf")
    assert f'cmdline: "{kernel} {" ".join(cmdline + HOST_ARGS)}"' in r.out, str(r)


def test_multiboot_guest_fails_on_wrong_memory_size(module):
    path, words = module
    r = run("boot_multiboot.elf", "--mem", "64M", "--initrd", path,
            cmdline=[f"mem={128 << 20}", *words, "name=boot_multiboot.elf"])
    assert_fail(r, "mem_upper", "mmap: total RAM")


def test_linux64_entry_state_zero_page_e820_and_initrd(module):
    path, words = module
    r = run("boot_linux64.bzImage", "--mem", "128M", "--initrd", path,
            cmdline=[f"mem={128 << 20}", *words])
    assert_pass(r, "protected mode with paging on", "long mode active",
                "CS is __BOOT_CS 0x10, a 64-bit code segment", "interrupts are off",
                "RSI points to the zero page at 0x7000", "identity-map the low 4 GiB",
                "\"HdrS\"", "cmd_line_ptr", "e820 RAM totals", "initrd bytes: FNV-1a")


def test_linux64_guest_fails_on_wrong_initrd_contents(module):
    path, words = module
    words = [w if not w.startswith("initrd_fnv=") else "initrd_fnv=0x1234" for w in words]
    r = run("boot_linux64.bzImage", "--mem", "128M", "--initrd", path,
            cmdline=[f"mem={128 << 20}", *words])
    assert_fail(r, "initrd bytes")


def test_reset_vector_firmware_climbs_from_real_to_long_mode():
    r = run("boot_reset_vector.bin", "--mem", "64M")
    assert_pass(r, "real mode: CR0.PE clear", "real mode: CS is 0xF000",
                "a store to the firmware image is ignored",
                "protected mode: CR0.PE set, CR0.PG clear",
                "the image is at 0xFFFF0000 and mirrored at 0xF0000",
                "long mode: EFER.LME and EFER.LMA set",
                "long mode: CS is the 64-bit code selector")


def test_reset_vector_broken_twin_fails():
    r = run("boot_reset_vector_broken.bin", "--mem", "64M")
    assert_fail(r, "long mode: EFER.LME and EFER.LMA set")


# ---- the CPU's view of memory, devices and events ----

def test_mem_access_registers_ram_mmio_pio_and_page_tables():
    r = run("mem_access.elf", "--mem", "64M", "--test-device", cmdline=[])
    assert_pass(r, "survives moves through all 15 GPRs",
                "page-crossing accesses over discontiguous physical pages",
                "MMIO 8-byte write at 0x145", "rep movsq RAM -> MMIO",
                "PIO 4-byte out to port 0xe4", "rep insb returns the 300 bytes in order",
                "rep outsb with DF=1", "rep insw", "remapped to page B + invlpg",
                "remapped to page A + CR3 reload", "a store sets the PTE's dirty bit")


def test_mem_access_fails_without_the_test_device():
    r = run("mem_access.elf", "--mem", "64M", cmdline=[])
    assert_fail(r, "MMIO 4-byte write at 0x110", "rep insb returns the 300 bytes")


def test_exceptions_vectors_error_codes_cr2_in_ring_0_and_3():
    r = run("exceptions.elf", "--mem", "64M", cmdline=[])
    assert_pass(r, "#DE from div by zero (ring 0)", "#UD from ud2 (ring 0)",
                "#GP(0) from a non-canonical load", "#GP(0x2000) loading a selector",
                "#BP from int3 (ring 0", "#PF not-present read (ring 0)",
                "#PF write to a read-only page with CR0.WP (ring 0)",
                "#PF user read of a supervisor page (ring 3)",
                "#PF on the second page of a page-crossing load (ring 0)",
                "ring 0 load completes after the handler maps the page",
                "#BP from int3 (ring 3", "#DB single-step trap")


def test_exceptions_guest_fails_without_cr0_wp():
    r = run("exceptions.elf", "--mem", "64M", cmdline=["break=wp"])
    assert_fail(r, "#PF write to a read-only page with CR0.WP")


def test_interrupts_lapic_timer_pit_ioapic_ipi_nmi_hlt():
    r = run("interrupts.elf", "--mem", "64M", cmdline=[])
    assert_pass(r, "one-shot: fired after", "periodic 1 ms", "TSC-deadline",
                "PIT at 1 kHz on IOAPIC pin 2", "self-IPI with IF=0 waits in IRR",
                "TPR 0x70 holds back", "NMI through the ICR",
                "sti; hlt wakes up on the LAPIC timer")


def test_interrupts_guest_fails_with_a_masked_timer():
    r = run("interrupts.elf", "--mem", "64M", cmdline=["break=mask"])
    assert_fail(r, "one-shot: the timer interrupt arrived")


@pytest.mark.parametrize("cpus", [1, 2, 4, 8])
def test_smp_brings_up_every_cpu_and_counts_exactly(cpus):
    r = run("smp.elf", "--mem", "64M", "--cpus", cpus, cmdline=[f"cpus={cpus}"])
    assert_pass(r, f"started {cpus} of {cpus} CPUs", "CPUID.0xB EDX agree",
                "APIC IDs are unique", "BSP is set on the BSP only",
                f"spinlock-protected counter: {100000 * cpus}",
                f"lock cmpxchg counter: {100000 * cpus}", f"lock xadd counter: {100000 * cpus}")


def test_smp_with_an_mp_table_instead_of_acpi():
    r = run("smp.elf", "--mem", "64M", "--cpus", 4, "--no-acpi", cmdline=["cpus=4"])
    assert_pass(r, "started 4 of 4 CPUs", "lock xadd counter: 400000")
    assert "the MP table lists 4 CPUs" in r.out, str(r)


def test_smp_guest_fails_on_wrong_cpu_count():
    r = run("smp.elf", "--mem", "64M", "--cpus", 2, cmdline=["cpus=3"])
    assert_fail(r, "firmware tables list 2 CPUs")


def test_cpuid_msr_default_features_msrs_vector_state_and_tsc():
    r = run("cpuid_msr.elf", "--mem", "64M", "--cpus", 2, cmdline=["expect=+hypervisor,+lm"])
    assert_pass(r, "hypervisor is set", "\"KVMKVMKVM\" signature", "MTRRdefType",
                "IA32_MISC_ENABLE.FAST_STRING", "xmm0-15 survive 200 exits",
                "fxsave/fxrstor round trip",
                "the x87 stack survives", "TSC never goes backwards",
                "CPU 1 sees the same feature bits")


def test_cpuid_msr_with_cpu_features_changed():
    features = "-cx16,-xsave,+xsaveerptr"
    r = run("cpuid_msr.elf", "--mem", "64M", "--cpus", 2, f"--cpu-features={features}",
            cmdline=[f"expect={features}"])
    assert_pass(r, "CPUID cx16 absent", "CPUID xsaveerptr present")
    assert "xsave absent" in r.out, str(r)


def test_cpuid_msr_guest_fails_on_mismatched_expectation():
    r = run("cpuid_msr.elf", "--mem", "64M", "--cpu-features=-cx16", cmdline=["expect=+cx16"])
    assert_fail(r, "CPUID cx16 present")


@pytest.mark.parametrize("mem,cpus", [("64M", 2), ("4G", 1)])
def test_fw_cfg_traditional_and_dma_interfaces(mem, cpus):
    size = int(mem[:-1]) << (20 if mem.endswith("M") else 30)
    r = run("fw_cfg.elf", "--mem", mem, "--cpus", cpus, cmdline=[f"mem={size}", f"cpus={cpus}"])
    assert_pass(r, "signature item reads \"QEMU\"", "ID: traditional and DMA", "NB_CPUS",
                "RAM_SIZE", "etc/e820", "DMA select+read of etc/e820",
                "DMA to an address outside RAM", "a selector with no item reads zeros")


def test_fw_cfg_guest_fails_on_wrong_cpu_count():
    r = run("fw_cfg.elf", "--mem", "64M", "--cpus", 2, cmdline=[f"mem={64 << 20}", "cpus=3"])
    assert_fail(r, "NB_CPUS")


# ---- reset ----

@pytest.mark.parametrize("method,extra,line", [
    ("cf9", [], "resetting via 0xcf9 (value 0x6)"),
    ("i8042", [], "resetting via i8042"),
    ("i8042", ["--no-acpi"], "resetting via i8042"),
])
def test_reset_with_on_reboot_exit_ends_kvmbox_with_status_0(method, extra, line):
    r = run("reset.elf", "--mem", "64M", "--on-reboot", "exit", *extra,
            cmdline=[f"method={method}"])
    assert r.status == 0, str(r)
    assert r.out.count(line) == 1, str(r)
    assert "SUMMARY" not in r.out and "FAIL" not in r.out, str(r)


def test_reset_control_without_rst_cpu_does_not_reset():
    """0xcf9 = 0x02 only selects a hard reset; without RST_CPU nothing happens."""
    r = run("reset.elf", "--mem", "64M", "--on-reboot", "exit", cmdline=["method=cf9", "value=0x02"])
    assert_fail(r, "the reset request ended the VM")


def start_reset_loop():
    """kvmbox running reset.elf with the default --on-reboot restart: it reboots for ever."""
    require_kvm()
    args = [str(KVMBOX), "run", "--kernel", str(guest_path("reset.elf")), "--mem", "64M",
            "--debug-exit", "--cmdline", "method=cf9"]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def read_until_resets(p, n):
    out, deadline = b"", time.monotonic() + TIMEOUT
    while out.count(b"resetting via 0xcf9") < n and time.monotonic() < deadline:
        chunk = p.stdout.read1(4096)
        assert chunk, f"kvmbox exited ({p.wait()}) instead of restarting the guest\n{out}"
        out += chunk
    return out


def test_reset_restarts_the_guest_by_default():
    p = start_reset_loop()
    try:
        out = read_until_resets(p, 3)
    finally:
        p.kill()
        p.wait()
    assert out.count(b"resetting via 0xcf9") >= 3
    assert b"FAIL" not in out


def test_sigterm_stops_kvmbox_even_while_the_guest_reboots():
    """SIGTERM must end kvmbox (status 128+15) even when it lands during a reboot."""
    for attempt in range(10):
        p = start_reset_loop()
        try:
            read_until_resets(p, 2)
            p.terminate()
            try:
                status = p.wait(5)
            except subprocess.TimeoutExpired:
                rest = p.stdout.read1(1 << 20)
                pytest.fail(f"attempt {attempt}: kvmbox still running 5 s after SIGTERM; the "
                            f"guest booted {rest.count(b'resetting')} more times (a SIGTERM "
                            f"read while the VM stops for a reboot is dropped)")
            assert status == 128 + 15, f"attempt {attempt}: exit status {status}"
        finally:
            p.kill()
            p.wait()


# ---- virtio-blk from a driver in ring 3 (also bench/'s block figures) ----

def vblkbench(*args, cmdline):
    return run("vblkbench.elf", *args, cmdline=cmdline, timeout=60)


def test_vblkbench_drives_virtio_blk_from_ring_3_and_every_read_is_the_right_block(tmp_path):
    image = stamped_disk.make(tmp_path / "disk.img", 8)
    r = vblkbench("--disk", f"path={image}",
                  cmdline=["ms=50", "qd=8", "stamped", f"sectors={8 << 11}"])
    assert_pass(r, "virtio-blk at 00:", "capacity 16384 sectors", "with an error status",
                "every read returned its blocks", "write sectors 0-7", "flush",
                "read back as written", "a read past the capacity fails")
    figures = re.findall(r"^vblkbench: (\S+) bs (\d+) qd (\d+) (\d+) requests", r.out, re.M)
    assert [(n, int(bs), int(qd)) for n, bs, qd, _ in figures] == [
        ("seq-read", 1 << 20, 1), ("rand-read", 4096, 1), ("rand-read", 4096, 8),
        ("seq-write", 1 << 20, 1), ("rand-write", 4096, 1), ("rand-write", 4096, 8)], r.out
    assert all(int(n) > 0 for *_, n in figures), r.out
    assert image.read_bytes()[:4096] == stamped_disk.written_pattern()
    # The random writes kept every block's stamp: each block still names itself.
    data = image.read_bytes()
    for block in range(0, len(data) // 4096):
        assert int.from_bytes(data[block * 4096:block * 4096 + 8], "little") == block


def test_vblkbench_read_only_disk_refuses_the_write(tmp_path):
    image = stamped_disk.make(tmp_path / "disk.img", 2)
    before = image.read_bytes()
    r = vblkbench("--disk", f"path={image},readonly=on", cmdline=["ms=20", "stamped"])
    assert_pass(r, "every read returned its blocks", "a write to the read-only disk fails")
    assert "seq-write" not in r.out
    assert image.read_bytes() == before


def test_vblkbench_fails_on_blocks_without_their_stamp(tmp_path):
    image = tmp_path / "zeros.img"
    image.write_bytes(bytes(2 << 20))  # every block says "0"
    r = vblkbench("--disk", f"path={image}", cmdline=["ms=20", "stamped"])
    assert_fail(r, "every read returned its blocks")


def test_vblkbench_fails_without_a_disk():
    assert_fail(vblkbench(cmdline=["ms=20"]), "a virtio device of type 2 on PCI bus 0")


# ---- virtio-net from a driver in ring 3 (also bench/'s network figures) ----

@pytest.fixture
def tap_ns(tmp_path):
    """A network namespace with an up tap; yields (namespace, tap, tap_echo executable)."""
    ns, tap = f"kvmbox-vnet-{os.getpid()}", "kbxvnet0"
    echo = tmp_path / "tap_echo"
    subprocess.run(["gcc", "-O2", "-o", echo, ROOT / "bench" / "tools" / "tap_echo.c"],
                   check=True)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr"],
                       check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", tap, "up"], check=True)
        yield ns, tap, echo
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def tap_rx_packets(ns, tap):
    """Frames the VMM wrote into the tap (the host's receive side)."""
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", tap], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


def vnetbench(ns, tap, cmdline):
    require_kvm()
    argv = ["--kernel", str(guest_path("vnetbench.elf")), "--debug-exit", "--net", f"tap={tap}",
            "--cmdline", " ".join(cmdline)]
    proc = subprocess.run(["ip", "netns", "exec", ns, str(KVMBOX), "run", *argv],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return Run("vnetbench.elf", argv, proc, 0)


def test_vnetbench_frames_reach_the_tap_and_every_echo_comes_back(tap_ns):
    ns, tap, echo = tap_ns
    before = tap_rx_packets(ns, tap)
    p = subprocess.Popen(["ip", "netns", "exec", ns, echo, tap], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        r = vnetbench(ns, tap, ["ms=100"])
    finally:
        p.terminate()
        echo_out = p.communicate(timeout=10)[0]
    assert_pass(r, "virtio-net at 00:", "MAC 52:54:00:12:34:56", "every one completed",
                "echoes came back in order")
    sent = int(re.search(r"^vnetbench: tx size 1514 (\d+) frames", r.out, re.M).group(1))
    trips = int(re.search(r"^vnetbench: rtt size 60 (\d+) round trips", r.out, re.M).group(1))
    assert sent > 0 and trips > 0, r.out
    # Every frame the guest saw completed is in the tap's counters (plus the echo requests).
    assert tap_rx_packets(ns, tap) - before >= sent + trips
    assert f" {trips} echoed" in echo_out, echo_out


def test_vnetbench_fails_when_no_echo_comes(tap_ns):
    ns, tap, _ = tap_ns
    assert_fail(vnetbench(ns, tap, ["ms=50", "only=rtt", "stall_ms=200"]), "rtt:")


def test_vnetbench_fails_without_a_nic():
    assert_fail(run("vnetbench.elf", cmdline=["ms=20"]), "a virtio device of type 1 on PCI")
