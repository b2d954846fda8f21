"""virtio devices with the default Linux guest: disks (root and data, read-only), entropy,
network through a tap in a network namespace, and hvc0.

Each boot costs ~40 s where the guest kernel is emulated, so one guest serves the tests of
a group (module-scoped fixtures) and the tests of a group run in file order.
"""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading

import pytest

from conftest import (CPU_FEATURES, GUEST_DIR, Guest, debugfs_cat, e2fsck_clean, guest_cmdline,
                      mkfs_ext4, require_kvm, sha256)

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    """A writable root filesystem (a copy of the default guest's), a data disk made on the
    host with a random payload, and a read-only disk."""
    d = tmp_path_factory.mktemp("disks")
    root = d / "root.ext4"
    shutil.copy(GUEST_DIR / "rootfs.ext4", root)
    tree = d / "tree"
    tree.mkdir()
    (tree / "payload.bin").write_bytes(os.urandom(3 * MiB + 512))
    data = d / "data.ext4"
    mkfs_ext4(data, "32M", tree)
    ro = d / "ro.img"
    ro.write_bytes(os.urandom(4 * MiB))
    return {"root": root, "data": data, "ro": ro, "payload": tree / "payload.bin",
            "ro_sha": sha256(ro)}


@pytest.fixture(scope="module")
def disk_guest(disks):
    """Root on /dev/vda, data on vdb, read-only vdc, plus virtio-rng; 2 vCPUs."""
    require_kvm()
    g = Guest(["--kernel", GUEST_DIR / "vmlinux", "--cpus", "2", "--mem", "256M",
               "--cmdline", guest_cmdline() + " root=/dev/vda rw",
               f"--cpu-features={CPU_FEATURES}",
               "--disk", f"path={disks['root']}",
               "--disk", f"path={disks['data']},serial=kvmbox-data",
               "--disk", f"path={disks['ro']},readonly=on,cache=none",
               "--rng"])
    g.wait_boot()
    yield g
    g.kill()


def test_root_filesystem_is_the_virtio_disk(disk_guest):
    assert re.search(r"^/dev/root on / type ext4 \(rw", disk_guest.run("mount"), re.M)
    assert disk_guest.run("ls /sys/block").split() == ["vda", "vdb", "vdc"]


def test_data_disk_made_on_host_reads_back_identical(disk_guest, disks):
    disk_guest.run("mount /dev/vdb /mnt")
    out = disk_guest.run("sha256sum /mnt/payload.bin")
    assert out.split()[0] == sha256(disks["payload"])


def test_disk_serial_is_visible(disk_guest):
    assert disk_guest.run("cat /sys/block/vdb/serial") == "kvmbox-data"


def test_read_only_disk_refuses_writes(disk_guest, disks):
    assert disk_guest.run("cat /sys/block/vdc/ro") == "1"
    out = disk_guest.run("dd if=/dev/zero of=/dev/vdc bs=4096 count=1 oflag=direct 2>&1; "
                         "echo status=$?")
    assert "status=0" not in out, out
    # Reads work (through O_DIRECT on the host: cache=none).
    out = disk_guest.run("dd if=/dev/vdc bs=1M count=4 2>/dev/null | sha256sum")
    assert out.split()[0] == disks["ro_sha"]


def test_hwrng_gives_random_bytes(disk_guest):
    out = disk_guest.run("cat /sys/class/misc/hw_random/rng_current; "
                         "head -c 64 /dev/hwrng | od -An -tx1 | tr -d ' \\n'")
    current, data = out.splitlines()
    assert current.startswith("virtio_rng")
    assert len(data) == 128 and data != "0" * 128


def test_every_kvmbox_thread_is_sandboxed_with_devices_running(disk_guest):
    """Main, vCPU and the virtio I/O threads (started by the guest's driver) are filtered."""
    names = {}
    for tid in os.listdir(f"/proc/{disk_guest.proc.pid}/task"):
        status = open(f"/proc/{disk_guest.proc.pid}/task/{tid}/status").read()
        name = re.search(r"^Name:\t(.*)$", status, re.M).group(1)
        names.setdefault(name, []).append(re.search(r"^Seccomp:\t(\d)", status, re.M).group(1))
    assert {"kvmbox", "vcpu0", "vcpu1", "virtio-blk", "virtio-rng"} <= set(names), names
    assert all(mode == "2" for modes in names.values() for mode in modes), names


def test_guest_writes_are_on_the_host_images_after_poweroff(disk_guest, disks):
    # Generated in the guest: typing a long payload through the emulated UART would be slow.
    # Typed alone after boot this takes ~8 s; in this sequence it took 130-150 s on the
    # nested test host (the guest's vCPU busy in emulated ring 0, writes trickling in as
    # 1 KiB journal commits) - not yet understood, hence the long timeout.
    line = "written by the guest\n"
    size = 300000
    disk_guest.run(f"yes written by the guest | head -c {size} > /mnt/from-guest.txt; "
                   f"cp /mnt/from-guest.txt /root/on-root.txt; sync; umount /mnt", timeout=900)
    disk_guest.send("poweroff\n")
    assert disk_guest.wait_exit() == 0
    expected = (line * (size // len(line) + 1))[:size].encode()
    assert debugfs_cat(disks["data"], "/from-guest.txt") == expected
    assert debugfs_cat(disks["root"], "/root/on-root.txt") == expected
    e2fsck_clean(disks["data"])
    e2fsck_clean(disks["root"])
    assert sha256(disks["ro"]) == disks["ro_sha"]


# --- network: a tap in a namespace of our own ---

NS_HOST_IP, GUEST_IP = "10.203.0.1", "10.203.0.2"


def ns_run(ns, *cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True,
                          **kw)


@pytest.fixture(scope="module")
def netns():
    name = f"kvmbox-e2e-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name])


@pytest.fixture(scope="module")
def net_guest(netns):
    """kvmbox creates the tap in the namespace; the console is hvc0 (virtio-console)."""
    require_kvm()
    g = Guest(["--kernel", GUEST_DIR / "vmlinux", "--initrd", GUEST_DIR / "initramfs.cpio",
               "--cmdline", guest_cmdline() + " console=hvc0", f"--cpu-features={CPU_FEATURES}",
               "--mem", "256M", "--net", "tap=kvmboxtap0,mac=52:54:00:ab:cd:ef",
               "--console", "virtio"],
              prefix=("ip", "netns", "exec", netns))
    g.wait_boot()
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{NS_HOST_IP}/24", "dev", "kvmboxtap0"],
                   check=True)
    g.run(f"ip addr add {GUEST_IP}/24 dev eth0; ip link set eth0 up")
    yield g
    g.kill()


def test_console_is_hvc0(net_guest):
    assert net_guest.run("tty") == "/dev/hvc0"
    assert net_guest.run("echo $((6 * 7))") == "42"


def test_nic_has_the_given_mac_and_link(net_guest, netns):
    assert net_guest.run("cat /sys/class/net/eth0/address") == "52:54:00:ab:cd:ef"
    assert net_guest.run("cat /sys/class/net/eth0/carrier") == "1"
    link = subprocess.run(["ip", "-n", netns, "link", "show", "kvmboxtap0"],
                          capture_output=True, text=True, check=True).stdout
    assert "UP" in link


def test_guest_and_host_ping_each_other(net_guest, netns):
    out = net_guest.run(f"ping -c 3 -W 10 {NS_HOST_IP}", timeout=120)
    assert "3 packets received" in out, out
    r = ns_run(netns, "ping", "-c", "3", "-W", "10", GUEST_IP, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def serve_once(netns, port, send=None):
    """A TCP server in the namespace for one connection: sends `send`, or receives and
    returns (bytes, sha256). Runs in a thread; returns (thread, result dict)."""
    result = {}
    script = (
        "import socket,sys,hashlib\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{NS_HOST_IP}', {port})); s.listen(1); print('ready', flush=True)\n"
        "c,_=s.accept()\n"
        + ("c.sendall(sys.stdin.buffer.read()); c.close()\n" if send is not None else
           "h=hashlib.sha256(); n=0\n"
           "while True:\n"
           "    d=c.recv(65536)\n"
           "    if not d: break\n"
           "    h.update(d); n+=len(d)\n"
           "print(n, h.hexdigest(), flush=True)\n"))
    p = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", script],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    assert p.stdout.readline().strip() == b"ready"

    def run():
        out, _ = p.communicate(send, timeout=900)
        result["out"] = out.decode().split()
    t = threading.Thread(target=run)
    t.start()
    return t, result


def test_tcp_10mib_host_to_guest_and_back(net_guest, netns):
    blob = os.urandom(10 * MiB)
    t, _ = serve_once(netns, 5001, send=blob)
    out = net_guest.run(f"nc {NS_HOST_IP} 5001 > /tmp/blob; wc -c < /tmp/blob; "
                        "sha256sum /tmp/blob", timeout=900)
    t.join()
    size, digest = out.split()[:2]
    assert int(size) == len(blob)
    assert digest == hashlib.sha256(blob).hexdigest()
    # Guest to host: the first MiB back (the guest's TCP stack runs in emulated ring 0
    # here; the other direction already moved 10 MiB).
    t, result = serve_once(netns, 5002)
    net_guest.run(f"head -c {MiB} /tmp/blob | nc {NS_HOST_IP} 5002", timeout=900)
    t.join()
    assert result["out"] == [str(MiB), hashlib.sha256(blob[:MiB]).hexdigest()]


def test_net_guest_powers_off(net_guest):
    net_guest.send("poweroff\n")
    assert net_guest.wait_exit() == 0


def test_intx_fallback_when_the_guest_disables_msi(boot, linux_args, tmp_path):
    """With pci=nomsi Linux drives the devices through INTx, routed as the DSDT's _PRT says
    (level-triggered IOAPIC pins 16-23)."""
    img = tmp_path / "ro.img"
    img.write_bytes(os.urandom(2 * MiB))
    args = linux_args("vmlinux", "--rng", "--disk", f"path={img},readonly=on")
    args[args.index("--cmdline") + 1] += " pci=nomsi"
    g = boot(*args)
    g.wait_boot()
    irqs = [line for line in g.run("cat /proc/interrupts").splitlines() if "virtio" in line]
    assert len(irqs) == 2 and all("IO-APIC" in line and "fasteoi" in line for line in irqs), \
        irqs
    out = g.run("dd if=/dev/vda bs=1M count=2 2>/dev/null | sha256sum; "
                "head -c 32 /dev/hwrng | wc -c")
    digest, count = out.split()[0], out.split()[-1]
    assert digest == sha256(img) and count == "32"
    g.send("poweroff\n")
    assert g.wait_exit() == 0
