"""The guests and host resources the benchmarks run on (made fresh in a temporary dir)."""
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import stamped_disk as stamped_disk_images  # noqa: E402
import tiny_elf  # noqa: E402

MiB = 1 << 20


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True,
                          **kw).stdout


def exit_firmware(path):
    """64 KiB raw firmware (QEMU wants a multiple of 64 KiB) whose first instructions, at the
    reset vector F000:FFF0, write "!" to COM1 (the first sign of the guest a VMM's user can
    see) and 0 to debug-exit (status 1 on both VMMs): mov al, '!'; mov dx, 0x3f8; out dx, al;
    mov al, 0; out 0xf4, al; hlt (looping). F000:FFF0 holds only a near jump to F000:FF00,
    where the rest is."""
    img = bytearray(64 * 1024)
    img[0xff00:0xff0c] = bytes([0xb0, 0x21, 0xba, 0xf8, 0x03, 0xee,  # "!" to 0x3f8
                                0xb0, 0x00, 0xe6, 0xf4,  # debug-exit
                                0xf4, 0xeb])  # hlt; jmp (offset below)
    img[0xff0c] = 0xfd  # jmp back to the hlt
    img[0xfff0:0xfff3] = bytes([0xe9, 0x0d, 0xff])  # jmp near 0xff00 (0xfff3 - 0xf3 = 0xff00)
    path.write_bytes(bytes(img))
    return path


def idle_kernel(path):
    """A PVH ELF that prints "ready" and halts with interrupts off: an idle guest."""
    path.write_bytes(tiny_elf.build(tiny_elf.serial_print("ready\n") + tiny_elf.halt_forever()))
    return path


def sparse_disk(path, mib):
    with open(path, "wb") as f:
        f.truncate(mib * MiB)
    return path


def stamped_disk(path, mib):
    """Every 4 KiB block starts with its index (tests/e2e/stamped_disk.py)."""
    return stamped_disk_images.make(path, mib)


def host_tsc_khz(tmp):
    exe = tmp / "tsc_khz"
    sh("gcc", "-O2", "-o", exe, ROOT / "bench" / "tools" / "tsc_khz.c")
    return int(sh(exe).strip())


def tap_echo(tmp):
    """bench/tools/tap_echo.c, built: the host end of tests/guests/vnetbench.c."""
    exe = tmp / "tap_echo"
    sh("gcc", "-O2", "-o", exe, ROOT / "bench" / "tools" / "tap_echo.c")
    return exe


@contextmanager
def echoing(ns, exe, tap):
    """tap_echo running on tap in namespace ns; yields a dict that gets its count ("echoed")
    once it stopped."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, str(exe), tap], stdout=subprocess.PIPE,
                         text=True)
    counts = {}
    try:
        assert p.stdout.readline().strip() == "ready", "tap_echo did not start"
        yield counts
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=10)
        words = out.split()
        if "echoed" in words:
            counts["echoed"] = int(words[words.index("echoed") - 1])


def qemu_capable_kernel():
    """The default guest kernel plus bench/patches/qemu-compare-int3-fwait.patch, which skips
    the int3 self test and fwait that QEMU cannot complete on nested shadow-paging hosts
    (kvmbox completes them itself). Both VMMs boot this one; guest/build-kernel.sh caches it."""
    out = ROOT / "build" / "guest-qemu"
    env = dict(os.environ,
               EXTRA_PATCHES=str(ROOT / "bench" / "patches" / "qemu-compare-int3-fwait.patch"))
    subprocess.run([str(ROOT / "guest" / "build-kernel.sh"), str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return out


@contextmanager
def netns(name, taps=()):
    """A network namespace of our own, optionally with persistent taps made in it."""
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        for t in taps:
            sh("ip", "-n", name, "tuntap", "add", "dev", t, "mode", "tap", "vnet_hdr")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
