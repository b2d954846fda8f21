"""The console on a real terminal (a pty): raw mode, Ctrl-A escapes, terminal restored."""
import os
import pty
import select
import subprocess
import termios
import time

import tiny_elf
from conftest import KVMBOX, require_kvm


def read_until(fd, needle, timeout=10):
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    assert needle in out, f"{needle!r} not seen in {out!r}"
    return out


def test_ctrl_a_h_helps_ctrl_a_x_quits_and_the_terminal_is_restored(tmp_path):
    require_kvm()
    kernel = tmp_path / "idle.elf"
    kernel.write_bytes(tiny_elf.build(tiny_elf.serial_print("ready\n") + tiny_elf.halt_forever()))
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([str(KVMBOX), "run", "--kernel", str(kernel), "--mem", "64M"],
                         stdin=slave, stdout=slave, stderr=slave)
    try:
        read_until(master, b"ready")
        during = termios.tcgetattr(slave)
        assert not during[3] & termios.ICANON and not during[3] & termios.ECHO, "not raw"
        os.write(master, b"\x01h")
        read_until(master, b"Ctrl-A x")
        os.write(master, b"\x01x")
        assert p.wait(10) == 0
        assert termios.tcgetattr(slave) == before
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)


def test_sigterm_stops_the_guest_and_restores_the_terminal(tmp_path):
    require_kvm()
    kernel = tmp_path / "idle.elf"
    kernel.write_bytes(tiny_elf.build(tiny_elf.serial_print("ready\n") + tiny_elf.halt_forever()))
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([str(KVMBOX), "run", "--kernel", str(kernel), "--mem", "64M",
                          "--cpus", "2"], stdin=slave, stdout=slave, stderr=slave)
    try:
        read_until(master, b"ready")
        p.terminate()
        assert p.wait(10) == 128 + 15
        assert termios.tcgetattr(slave) == before
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)
