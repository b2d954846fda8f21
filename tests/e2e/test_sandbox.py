"""The seccomp sandbox (src/sandbox.h): every thread is filtered once the VM runs, and a
system call outside a thread's allow-list stops kvmbox with one line that names it.

Linux guests with disks, a NIC, entropy and reboots run under the sandbox in the other
suites (it is on by default); test_virtio.py also checks the I/O threads' filters.
"""
import re
import subprocess
import time

import tiny_elf
from conftest import KVMBOX, require_kvm

SIGSYS = 31


def run_probe(tmp_path, *extra):
    require_kvm()
    kernel = tmp_path / "probe.elf"
    kernel.write_bytes(tiny_elf.sandbox_probe_then_debug_exit())
    return subprocess.run([str(KVMBOX), "run", "--kernel", str(kernel), "--test-device",
                           "--debug-exit", "--serial", "none", *extra],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)


def test_forbidden_syscall_from_a_vcpu_thread_stops_kvmbox_with_one_line(tmp_path):
    r = run_probe(tmp_path)
    assert r.returncode == 128 + SIGSYS, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert re.match(r"kvmbox: sandbox: thread vcpu0 \(vcpu list\) made system call "
                    r"socket \(41\), which its allow-list forbids", lines[0]), lines[0]


def test_sandbox_off_lets_the_same_call_through(tmp_path):
    r = run_probe(tmp_path, "--sandbox", "off")
    # The guest wrote 0x10 | 0 (socket() succeeded): status (0x10 << 1) | 1.
    assert r.returncode == 33, (r.returncode, r.stderr)
    assert r.stderr == ""


def thread_filters(pid):
    """{thread name: Seccomp mode} for every thread of pid (2 = filtered)."""
    out = {}
    for status in (f"/proc/{pid}/task/{tid}/status"
                   for tid in subprocess.check_output(["ls", f"/proc/{pid}/task"],
                                                      text=True).split()):
        fields = dict(line.split(":\t", 1) for line in open(status).read().splitlines()
                      if ":\t" in line)
        out[fields["Name"].strip()] = int(fields["Seccomp"])
    return out


def test_every_thread_is_filtered_while_the_guest_runs(tmp_path):
    require_kvm()
    kernel = tmp_path / "halt.elf"
    kernel.write_bytes(tiny_elf.halt_with_cpus_waiting())
    p = subprocess.Popen([str(KVMBOX), "run", "--kernel", str(kernel), "--cpus", "3"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"halted\n"
        time.sleep(0.2)  # the main thread closes its sandbox right after the vCPUs start
        filters = thread_filters(p.pid)
    finally:
        p.kill()
        p.wait()
    # KVM may add a kernel worker of its own (kvm-nx-lpage-recovery); it inherits the filter.
    assert {"kvmbox", "vcpu0", "vcpu1", "vcpu2"} <= set(filters), filters
    assert all(mode == 2 for mode in filters.values()), filters
