#!/usr/bin/env python3
"""VM-core figures, kvmbox beside QEMU, runs alternated A B A B:

  1. exec -> first KVM_RUN of vCPU 0 (kvmbox reports it with -v; KVMBOX_EXEC_NS is the
     CLOCK_MONOTONIC time taken here right before exec), and exec -> first serial byte of a
     tiny guest for both VMMs;
  2. VMM memory overhead: RSS minus the guest RAM mapping, idle tiny guest, 1 vCPU, 128 MiB;
  3. Linux (the default guest) time from exec to its init marker.

Usage: bench/vm_core.py [--runs N] [--linux-runs N] [--skip-linux] [--guest DIR]
Needs: build/kvmbox, build/guest/ (make guest), qemu-system-x86_64.

QEMU cannot complete the int3/fwait that KVM's emulator rejects on nested shadow-paging
hosts, so there it cannot boot the default guest kernel: pass --guest with a kernel built
with EXTRA_PATCHES that skip those (guest/README.md) to compare both on the same kernel.
"""
import argparse
import os
import re
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import tiny_elf  # noqa: E402

KVMBOX = ROOT / "build" / "kvmbox"
GUEST = ROOT / "build" / "guest"
QEMU = "qemu-system-x86_64"
MARKER = b"kvmbox-guest: init reached"


def spawn(argv, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    env["KVMBOX_EXEC_NS"] = str(time.monotonic_ns())
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    return p, t0


def wait_output(p, needle, timeout):
    """Returns seconds until needle appears on stdout (from now), or None."""
    out = b""
    fd = p.stdout.fileno()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            out += chunk
            if needle in out:
                return time.monotonic()
    return None


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def kvmbox_tiny(kernel, mem="128M"):
    return [str(KVMBOX), "run", "-v", "--kernel", str(kernel), "--mem", mem]


def qemu_tiny(kernel, mem="128"):
    return [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", "qemu64,-cx16", "-m", mem,
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-kernel", str(kernel)]


def first_output(argv):
    p, t0 = spawn(argv)
    t = wait_output(p, b"ready", 20)
    first_run = None
    stop(p)
    m = re.search(rb"KVM_RUN ([0-9.]+) ms", p.stderr.read())
    if m:
        first_run = float(m.group(1))
    return (t - t0) * 1e3 if t else None, first_run


def overhead_kib(argv, guest_ram_bytes):
    """RSS of the VMM minus the RSS of the guest RAM mapping (found by its size)."""
    p, _ = spawn(argv)
    wait_output(p, b"ready", 20)
    time.sleep(0.5)
    total = guest = 0
    size = None
    with open(f"/proc/{p.pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                size = int(m.group(2), 16) - int(m.group(1), 16)
            elif line.startswith("Rss:"):
                kib = int(line.split()[1])
                total += kib
                if size == guest_ram_bytes:
                    guest += kib
    stop(p)
    return total - guest, total


def linux_boot(argv, timeout=300):
    p, t0 = spawn(argv)
    t = wait_output(p, MARKER, timeout)
    stop(p)
    return t - t0 if t else None


def cmdline():
    return (ROOT / "guest" / "cmdline").read_text().strip()


def summary(name, values, unit):
    v = [x for x in values if x is not None]
    if not v:
        return f"| {name} | (no data) | | | |"
    return (f"| {name} | {statistics.median(v):.2f} {unit} | {min(v):.2f} | {max(v):.2f} |"
            f" {len(v)} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--linux-runs", type=int, default=3)
    ap.add_argument("--skip-linux", action="store_true")
    ap.add_argument("--guest", type=Path, default=GUEST,
                    help="directory with vmlinux and initramfs.cpio (default build/guest)")
    args = ap.parse_args()
    guest = args.guest

    kernel = Path("/tmp/kvmbox-bench-idle.elf")
    kernel.write_bytes(tiny_elf.build(tiny_elf.serial_print("ready\n") +
                                      tiny_elf.halt_forever()))
    kb_out, kb_run, q_out = [], [], []
    for _ in range(args.runs):
        o, r = first_output(kvmbox_tiny(kernel))
        kb_out.append(o)
        kb_run.append(r)
        o, _ = first_output(qemu_tiny(kernel))
        q_out.append(o)
    kb_mem, q_mem = [], []
    for _ in range(3):
        kb_mem.append(overhead_kib(kvmbox_tiny(kernel), 128 << 20)[0] / 1024)
        q_mem.append(overhead_kib(qemu_tiny(kernel), 128 << 20)[0] / 1024)
    rows = [
        summary("kvmbox: exec -> first KVM_RUN", kb_run, "ms"),
        summary("kvmbox: exec -> first serial output", kb_out, "ms"),
        summary("QEMU microvm: exec -> first serial output", q_out, "ms"),
        summary("kvmbox: RSS without guest RAM", kb_mem, "MiB"),
        summary("QEMU microvm: RSS without guest RAM", q_mem, "MiB"),
    ]
    ratios = [("first serial output", kb_out, q_out), ("memory overhead", kb_mem, q_mem)]
    if not args.skip_linux:
        kb_boot, q_boot = [], []
        for _ in range(args.linux_runs):
            kb_boot.append(linux_boot([
                str(KVMBOX), "run", "--kernel", str(guest / "vmlinux"),
                "--initrd", str(guest / "initramfs.cpio"), "--cmdline", cmdline(),
                "--mem", "128M", "--cpu-features=-cx16,-xsave"]))
            q_boot.append(linux_boot([
                QEMU, "-M", "microvm", "-enable-kvm", "-cpu", "qemu64,-cx16,+xsaveerptr",
                "-m", "128", "-nodefaults", "-no-user-config", "-nographic",
                "-serial", "stdio", "-kernel", str(guest / "vmlinux"),
                "-initrd", str(guest / "initramfs.cpio"), "-append", cmdline()]))
        rows += [summary("kvmbox: Linux exec -> /init", kb_boot, "s"),
                 summary("QEMU microvm: Linux exec -> /init", q_boot, "s")]
        ratios.append(("Linux boot to /init", kb_boot, q_boot))
    print("| figure | median | min | max | runs |\n|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for name, a, b in ratios:
        a = [x for x in a if x is not None]
        b = [x for x in b if x is not None]
        if a and b:
            print(f"ratio kvmbox/QEMU, {name}: {statistics.median(a) / statistics.median(b):.2f}")


if __name__ == "__main__":
    main()
