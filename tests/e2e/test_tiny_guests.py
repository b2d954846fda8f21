"""Fast end-to-end checks with tiny PVH guests: exit paths, serial output, crash dumps."""
import subprocess

import tiny_elf
from conftest import KVMBOX, require_kvm


def run_tiny(tmp_path, image, *args, timeout=30):
    require_kvm()
    kernel = tmp_path / "tiny.elf"
    kernel.write_bytes(image)
    return subprocess.run([str(KVMBOX), "run", "--kernel", str(kernel), "--mem", "64M", *args],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def test_acpi_poweroff_exits_with_status_0_and_serial_output_reaches_stdout(tmp_path):
    r = run_tiny(tmp_path, tiny_elf.hello_poweroff("hello from a tiny guest\n"))
    assert r.returncode == 0, r.stderr
    assert b"hello from a tiny guest\n" in r.stdout


def test_triple_fault_exits_with_status_2_and_a_register_dump(tmp_path):
    r = run_tiny(tmp_path, tiny_elf.crash())
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert "shutdown (triple fault)" in err
    assert "RIP" in err and "CR0" in err and "code at RIP" in err
    assert b"about to triple fault" in r.stdout


def test_i8042_reset_with_on_reboot_exit_exits_0(tmp_path):
    r = run_tiny(tmp_path, tiny_elf.reset_via_i8042(), "--on-reboot", "exit", "--no-acpi")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(b"resetting") == 1


def test_reset_restarts_the_guest_by_default(tmp_path):
    """A guest that always resets boots again and again until we stop kvmbox."""
    require_kvm()
    kernel = tmp_path / "tiny.elf"
    kernel.write_bytes(tiny_elf.reset_via_i8042())
    p = subprocess.Popen([str(KVMBOX), "run", "--kernel", str(kernel), "--mem", "64M"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = b""
        while out.count(b"resetting") < 3:
            chunk = p.stdout.read1(4096)
            assert chunk, "kvmbox exited instead of restarting the guest"
            out += chunk
        p.terminate()
        # Tearing a VM down waits for the host KVM (an SRCU grace period), which can be
        # slow while other VMs keep the host CPUs busy.
        assert p.wait(60) == 128 + 15
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_serial_file_and_cpus_option(tmp_path):
    log = tmp_path / "console.log"
    r = run_tiny(tmp_path, tiny_elf.hello_poweroff("to a file\n"), "--serial", f"file:{log}",
                 "--cpus", "4")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    assert log.read_bytes() == b"to a file\n"
