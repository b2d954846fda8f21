#!/usr/bin/python3
"""I/O figures of the default Linux guest, kvmbox beside QEMU (Debian's qemu-system-x86),
both with virtio-pci devices on the same kernel, same images, same commands:

  block:   sequential read and write (1 MiB requests) and 4 KiB random reads, O_DIRECT,
           queue depth 1, measured inside the guest by bench/tools/blkbench.c (a static
           binary on a second disk), and the same on the host against the image file;
  network: TCP throughput host -> guest and guest -> host through a tap in a network
           namespace this script creates (measured on the host side).

Usage: bench/io.py (Debian's python3: it reuses the e2e tests' guest driver, which needs pytest)
       bench/io.py [--runs N] [--guest DIR] [--block-mib N] [--net-mib N] [--skip-qemu]

QEMU cannot complete the int3/fwait that KVM's emulator rejects on nested shadow-paging
hosts, so there it cannot boot the default kernel. Without --guest this script builds a
variant with bench/patches/qemu-compare-int3-fwait.patch (guest/build-kernel.sh
EXTRA_PATCHES, cached) into build/guest-qemu/ and runs both VMMs on it.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import Guest, guest_cmdline  # noqa: E402

KVMBOX = ROOT / "build" / "kvmbox"
QEMU = "qemu-system-x86_64"
HOST_IP, GUEST_IP = "10.204.0.1", "10.204.0.2"
MiB = 1 << 20
INITRD = ROOT / "build" / "guest" / "initramfs.cpio"  # the default guest's (make guest)


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True,
                          **kw).stdout


def build_qemu_guest():
    out = ROOT / "build" / "guest-qemu"
    env = dict(os.environ,
               EXTRA_PATCHES=str(ROOT / "bench" / "patches" / "qemu-compare-int3-fwait.patch"))
    subprocess.run([str(ROOT / "guest" / "build-kernel.sh"), str(out)], check=True, env=env)
    return out


def make_images(tmp, block_mib):
    test = tmp / "test.img"
    with open(test, "wb") as f:
        for _ in range(block_mib * 2):
            f.write(os.urandom(MiB))
    tools = tmp / "tools"
    tools.mkdir()
    sh("gcc", "-static", "-O2", "-o", tools / "blkbench", ROOT / "bench/tools/blkbench.c")
    tools_img = tmp / "tools.ext4"
    sh("mkfs.ext4", "-q", "-F", "-d", tools, tools_img, "16M")
    return test, tools_img, tools / "blkbench"


def block_commands(block_mib):
    return {"seq read MB/s": f"read /dev/vda 1048576 {block_mib}",
            "seq write MB/s": f"write /dev/vda 1048576 {block_mib}",
            "4k rand read IOPS": "randread /dev/vda 4096 4"}


def parse(out, key):
    words = out.split()
    return float(words[words.index("MB/s") - 1] if "MB/s" in key else
                 words[words.index("IOPS") - 1])


def host_block(blkbench, test, block_mib):
    res = {}
    for key, cmd in block_commands(block_mib).items():
        mode, _, bs, mib = cmd.split()
        res[key] = parse(sh(blkbench, mode, test, bs, mib), key)
    return res


def vmm_argv(vmm, guest, test, tools, netns_tap):
    cmdline = guest_cmdline() + " console=ttyS0"
    if vmm == "kvmbox":
        return [str(KVMBOX), "run", "--kernel", guest / "vmlinux", "--initrd",
                INITRD, "--cmdline", cmdline, "--cpu-features=-cx16,-xsave",
                "--mem", "256M", "--disk", f"path={test}", "--disk", f"path={tools}",
                "--net", f"tap={netns_tap}"]
    return [QEMU, "-M", "pc", "-enable-kvm", "-cpu", "qemu64,-cx16,+xsaveerptr", "-m", "256",
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-kernel", guest / "vmlinux", "-initrd", INITRD,
            "-append", cmdline,
            "-drive", f"file={test},if=none,id=d0,format=raw",
            "-device", "virtio-blk-pci,drive=d0",
            "-drive", f"file={tools},if=none,id=d1,format=raw",
            "-device", "virtio-blk-pci,drive=d1",
            "-netdev", f"tap,id=n0,ifname={netns_tap},script=no,downscript=no,vhost=off",
            "-device", "virtio-net-pci,netdev=n0"]


def tcp_server(netns, port, send_bytes):
    """Host side of one TCP transfer; returns a thread whose result is seconds taken."""
    script = (
        "import socket,time,sys\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{HOST_IP}', {port})); s.listen(1); print('ready', flush=True)\n"
        "c,_=s.accept(); t=time.monotonic(); n=0\n"
        + (f"buf=bytes({MiB})\n"
           f"for _ in range({send_bytes // MiB}): c.sendall(buf)\n"
           "c.shutdown(socket.SHUT_WR); c.recv(1)\n" if send_bytes else
           "while True:\n"
           "    d=c.recv(1<<16)\n"
           "    if not d: break\n"
           "    n+=len(d)\n")
        + "print(time.monotonic()-t, n, flush=True)\n")
    p = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", script],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    result = {}

    def wait():
        out, _ = p.communicate(timeout=1800)
        result["seconds"], result["bytes"] = float(out.split()[0]), int(out.split()[1])
    t = threading.Thread(target=wait)
    t.start()
    return t, result


def run_vmm(vmm, guest, test, tools, netns, block_mib, net_mib):
    tap = "kbxbench0"
    g = Guest([], prefix=("ip", "netns", "exec", netns),
              program=[str(a) for a in vmm_argv(vmm, guest, test, tools, tap)])
    res = {}
    try:
        res["boot s"] = g.wait_boot()
        sh("ip", "-n", netns, "addr", "replace", f"{HOST_IP}/24", "dev", tap)
        sh("ip", "-n", netns, "link", "set", tap, "up")
        g.run(f"ip addr add {GUEST_IP}/24 dev eth0; ip link set eth0 up; mount /dev/vdb /mnt")
        for key, cmd in block_commands(block_mib).items():
            res[key] = parse(g.run(f"/mnt/blkbench {cmd}", timeout=1800), key)
        t, r = tcp_server(netns, 5201, net_mib * MiB)
        g.run(f"nc {HOST_IP} 5201 > /dev/null", timeout=1800)
        t.join()
        res["TCP host->guest MB/s"] = net_mib * MiB / r["seconds"] / 1e6
        t, r = tcp_server(netns, 5202, 0)
        g.run(f"head -c {net_mib * MiB} /dev/zero | nc {HOST_IP} 5202", timeout=1800)
        t.join()
        assert r["bytes"] == net_mib * MiB, r
        res["TCP guest->host MB/s"] = net_mib * MiB / r["seconds"] / 1e6
        g.send("poweroff\n")
        g.wait_exit(timeout=300)
    finally:
        g.kill()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1, help="runs per VMM, alternated")
    ap.add_argument("--guest", type=Path, help="directory with the vmlinux to boot")
    ap.add_argument("--block-mib", type=int, default=64)
    ap.add_argument("--net-mib", type=int, default=4)
    ap.add_argument("--skip-qemu", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/io.py: needs root (network namespace, tap devices)")
    guest = args.guest or (ROOT / "build" / "guest" if args.skip_qemu else build_qemu_guest())
    vmms = ["kvmbox"] + ([] if args.skip_qemu else ["qemu"])
    netns = f"kvmbox-bench-{os.getpid()}"
    sh("ip", "netns", "add", netns)
    results = {v: [] for v in vmms}
    with tempfile.TemporaryDirectory(prefix="kvmbox-bench-io-") as d:
        tmp = Path(d)
        test, tools, blkbench = make_images(tmp, args.block_mib)
        host = host_block(blkbench, test, args.block_mib)
        try:
            for i in range(args.runs):
                for v in vmms:
                    print(f"run {i + 1}/{args.runs}: {v}", file=sys.stderr, flush=True)
                    results[v].append(run_vmm(v, guest, test, tools, netns, args.block_mib,
                                              args.net_mib))
        finally:
            subprocess.run(["ip", "netns", "del", netns])
    keys = list(results["kvmbox"][0])
    print(f"\n| figure | host | kvmbox | {'QEMU | kvmbox/QEMU |' if 'qemu' in vmms else ''}")
    print("|---|---|---|" + ("---|---|" if "qemu" in vmms else ""))
    for k in keys:
        kv = statistics.median(r[k] for r in results["kvmbox"])
        h = f"{host[k]:.2f}" if k in host else ""
        row = f"| {k} | {h} | {kv:.2f} |"
        if "qemu" in vmms:
            q = statistics.median(r[k] for r in results["qemu"])
            row += f" {q:.2f} | {kv / q:.2f} |"
        print(row)


if __name__ == "__main__":
    main()
